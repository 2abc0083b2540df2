/**
 * Decision-record throughput: durable decision rows/s appended in batches of 1, 100 and 1000.
 *
 *   npx tsx bench/store.ts [--quick] [--json] [--no-postgres]
 *
 * Subjects:
 * - `vigil-sqlite`: SqliteStorage.appendDecisions (mask, canonical JSON, SHA-256 chain, indexed
 *   columns, policy index) in a file with WAL + synchronous=FULL: every resolved call is on disk.
 * - `raw-sqlite` (the peer): better-sqlite3 inserting JSON.stringify(draft) into a one-index table
 *   with the same pragmas and one transaction per batch: the floor of durable SQLite writes.
 * - `vigil-sqlite, no mask`: the same typical drafts at batch 1000 in a store without a mask
 *   (the default configuration: decisionLog.mask is empty).
 * - `vigil-postgres`: PostgresStorage.appendDecisions on 127.0.0.1:5432 (skipped when unreachable
 *   or with --no-postgres).
 * The workload: realistic drafts (2 findings with traces, explanation, input, ~2 KB canonical).
 * Prints the side-by-side table (or one JSON BenchmarkResult with --json).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import postgres from "postgres";
import type { DecisionDraft, Storage } from "../src/core/index.js";
import { canonicalJson } from "../src/store/canonical-json.js";
import { verifyDecisionRecord } from "../src/store/chain.js";
import { createPostgresStorage } from "../src/store/postgres/index.js";
import { createSqliteStorage } from "../src/store/sqlite/index.js";
import { makeDraft } from "../src/store/storage-contract-fixtures.js";
import { formatResult } from "./harness/report.js";
import type { BenchmarkResult, Comparison, Measurement, TargetCheck } from "./harness/types.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const json = args.includes("--json");
const withPostgres = !args.includes("--no-postgres");
const postgresUrl = process.env["VIGIL_BENCH_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const log = (line: string) => process.stderr.write(`${line}\n`);

const batchSizes = [1, 100, 1000] as const;
/** Timed window per (subject, batch size). */
const windowMs = quick ? 500 : 2000;
const TARGET_ROWS_PER_SECOND = 50_000;

type Workload = "typical" | "small";
let nextIndex = 0;
/** `typical`: a deny with two findings (traces), three explanation steps; `small`: an allow with no findings (most decisions of a replay). */
function drafts(count: number, workload: Workload): DecisionDraft[] {
  return Array.from({ length: count }, () => {
    const index = nextIndex++;
    if (workload === "typical") return makeDraft(index, { input: { principal: { id: "user-1", roles: ["dev"] }, password: "hunter2", action: "s3:PutBucketPolicy" } });
    const draft = makeDraft(index, { policies: [], input: { principal: { id: "user-1" }, password: "hunter2", action: "s3:GetObject" } });
    return { ...draft, verdict: "allow", tier: "observe", risk: { score: 0, factors: [] }, explanation: { summary: "Allowed: no policy matched s3:GetObject.", steps: [] } };
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

/** CPU time (this process, all threads) per row, by "subject/batch": on a shared machine, wall time also counts waiting for a core. */
const cpuPerRow = new Map<string, number>();

/** Appends batches for `windowMs`; batches are built before each timed call. */
async function measure(subject: string, batchSize: number, append: (batch: DecisionDraft[]) => Promise<unknown>, workload: Workload = "typical"): Promise<Measurement> {
  for (let warm = 0; warm < 3; warm++) await append(drafts(batchSize, workload));
  const latencies: number[] = [];
  let rows = 0;
  let busyNs = 0n;
  let cpuMicros = 0;
  const deadline = process.hrtime.bigint() + BigInt(windowMs) * 1_000_000n;
  while (process.hrtime.bigint() < deadline) {
    const batch = drafts(batchSize, workload);
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    await append(batch);
    const elapsed = process.hrtime.bigint() - started;
    const used = process.cpuUsage(cpu);
    cpuMicros += used.user + used.system;
    busyNs += elapsed;
    latencies.push(Number(elapsed) / 1000);
    rows += batchSize;
  }
  latencies.sort((a, b) => a - b);
  const opsPerSecond = rows / (Number(busyNs) / 1e9);
  const group = workload === "typical" ? `batch ${batchSize}` : `small, batch ${batchSize}`;
  cpuPerRow.set(`${subject}/${group}`, cpuMicros / rows);
  log(`  ${subject.padEnd(15)} ${group.padStart(17)}: ${Math.round(opsPerSecond).toLocaleString("en-US")} rows/s (${rows} rows), ${(cpuMicros / rows).toFixed(1)} µs CPU/row`);
  return { group, subject, opsPerSecond, opsPerCpuSecond: rows / (cpuMicros / 1e6), unit: "rows", p50Micros: percentile(latencies, 0.5), p99Micros: percentile(latencies, 0.99), operations: rows };
}

function rawSqlite(path: string): { append: (batch: DecisionDraft[]) => Promise<void>; close: () => void } {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE IF NOT EXISTS decisions (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO decisions (id, body) VALUES (?, ?)");
  const write = db.transaction((batch: DecisionDraft[]) => {
    for (const draft of batch) insert.run(draft.id, JSON.stringify(draft));
  });
  return { append: async (batch) => write(batch), close: () => db.close() };
}

async function postgresReachable(): Promise<boolean> {
  const client = postgres(postgresUrl, { max: 1, connect_timeout: 3, onnotice: () => undefined });
  try {
    await client`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await client.end({ timeout: 2 });
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-store-"));
  const measurements: Measurement[] = [];
  const notes: string[] = [];
  const mask = { paths: ["/input/password"] };
  notes.push(`workload "batch N": deny decisions with 2 findings (traces), 3 explanation steps, input with one masked path; canonical body about ${canonicalJson(drafts(1, "typical")[0]).length} bytes`);
  notes.push(`workload "small": allow decisions without findings (most of a replay), input with one masked path; canonical body about ${canonicalJson(drafts(1, "small")[0]).length} bytes`);
  notes.push(`each figure: batches appended for ${windowMs} ms after 3 warm-up batches; rows/s = rows / time inside appendDecisions; p50/p99 are per call (one batch)`);
  notes.push(`files in ${tmpdir()} (same disk as the repository); figures taken on a shared 2-core machine, expect noise`);
  let verifyNote = "";
  try {
    log("sqlite (WAL, synchronous=FULL):");
    const vigil = createSqliteStorage({ path: join(dir, "vigil.db"), mask });
    await vigil.init();
    const raw = rawSqlite(join(dir, "raw.db"));
    for (const size of batchSizes) {
      measurements.push(await measure("vigil-sqlite", size, (batch) => vigil.appendDecisions(batch)));
      measurements.push(await measure("raw-sqlite", size, raw.append));
    }
    measurements.push(await measure("vigil-sqlite", 1000, (batch) => vigil.appendDecisions(batch), "small"));
    measurements.push(await measure("raw-sqlite", 1000, raw.append, "small"));
    // The default configuration has no mask (decisionLog.mask is empty): the same drafts, stored with their password field.
    const plain = createSqliteStorage({ path: join(dir, "vigil-no-mask.db") });
    await plain.init();
    measurements.push(await measure("vigil-sqlite, no mask", 1000, (batch) => plain.appendDecisions(batch)));
    const plainVerified = await verifyDecisionRecord(plain, { batchSize: 1000 });
    if (!plainVerified.ok) throw new Error(`the benchmark's no-mask chain failed verification: ${JSON.stringify(plainVerified.problem)}`);
    await plain.close();
    raw.close();
    const started = process.hrtime.bigint();
    const verified = await verifyDecisionRecord(vigil, { batchSize: 1000 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (!verified.ok) throw new Error(`the benchmark's own chain failed verification: ${JSON.stringify(verified.problem)}`);
    verifyNote = `verifyDecisionRecord (sqlite, batch 1000): ${Math.round(verified.checked / seconds).toLocaleString("en-US")} rows/s over ${verified.checked} rows, chain ok`;
    await vigil.close();

    if (withPostgres && (await postgresReachable())) {
      log("postgres:");
      const schema = `vigil_bench_${process.pid}`;
      const pg = createPostgresStorage({ url: postgresUrl, schema, mask });
      await pg.init();
      try {
        for (const size of batchSizes) measurements.push(await measure("vigil-postgres", size, (batch) => pg.appendDecisions(batch)));
        const result = await verifyDecisionRecord(pg, { batchSize: 1000 });
        if (!result.ok) throw new Error(`postgres chain failed verification: ${JSON.stringify(result.problem)}`);
      } finally {
        await pg.close();
        const admin = postgres(postgresUrl, { max: 1, onnotice: () => undefined });
        await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end({ timeout: 2 });
      }
      notes.push(`postgres: ${postgresUrl.replace(/\/\/[^@]*@/, "//")} (local server, default fsync/synchronous_commit settings)`);
    } else {
      notes.push(withPostgres ? `postgres: not reachable at ${postgresUrl}, not measured` : "postgres: skipped (--no-postgres)");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  notes.push(verifyNote);
  notes.push(`CPU per row (user+sys, this process) — what one free core would sustain if fsync waits overlap: ${[...cpuPerRow.entries()].map(([key, micros]) => `${key} ${micros.toFixed(1)} µs`).join(", ")}`);
  notes.push(`machine load average at the end: ${loadavg().map((value) => value.toFixed(1)).join(" / ")} (1/5/15 min) on ${cpus().length} cores`);

  const comparisons: Comparison[] = [...batchSizes.map((size) => `batch ${size}`), "small, batch 1000"].flatMap((group) => {
    const vigil = measurements.find((m) => m.group === group && m.subject === "vigil-sqlite");
    const raw = measurements.find((m) => m.group === group && m.subject === "raw-sqlite");
    const plain = measurements.find((m) => m.group === group && m.subject === "vigil-sqlite, no mask");
    return [
      ...(vigil && raw ? [{ group, subject: "vigil-sqlite", peer: "raw-sqlite", ratio: vigil.opsPerSecond / raw.opsPerSecond }] : []),
      ...(plain && raw ? [{ group, subject: "vigil-sqlite, no mask", peer: "raw-sqlite", ratio: plain.opsPerSecond / raw.opsPerSecond }] : []),
    ];
  });
  const targets: TargetCheck[] = ([["batch 1000", "vigil-sqlite"], ["small, batch 1000", "vigil-sqlite"], ["batch 1000", "vigil-sqlite, no mask"]] as const).map(([group, subject]) => {
    const measured = measurements.find((m) => m.group === group && m.subject === subject)?.opsPerSecond ?? 0;
    return {
      description: `durable decision rows/s, embedded SQLite store, ${group}${subject === "vigil-sqlite" ? "" : " (no mask, the default configuration)"} (task: >= 50k; ARCHITECTURE: ~50k)`,
      target: `>= ${TARGET_ROWS_PER_SECOND.toLocaleString("en-US")} rows/s`,
      actual: `${Math.round(measured).toLocaleString("en-US")} rows/s`,
      met: measured >= TARGET_ROWS_PER_SECOND,
    };
  });
  const result: BenchmarkResult = { name: "store", ok: true, measurements, comparisons, targets, notes };
  console.log(json ? JSON.stringify(result, null, 2) : formatResult(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
