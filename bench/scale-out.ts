/**
 * Scale-out benchmark (`npm run bench -- scale-out`, or `npx tsx bench/scale-out.ts [--quick]
 * [--json] [--events 30000] [--workers 1,2]`): the workload of bench/pipeline.ts (50 native
 * policies, CloudTrail events from 5,000 principals, the detectors) through the scaled-out
 * deployment on this machine's PostgreSQL and NATS JetStream (127.0.0.1; VIGIL_TEST_POSTGRES_URL
 * and VIGIL_TEST_NATS_URL override, as for the tests):
 *
 * - an api agent in this process persists each batch of 1,000 events to PostgreSQL and publishes
 *   it on the bus (what `POST /v1/events` does in `vigil serve --role api`);
 * - N worker agents, each a child process (`vigil serve --role worker` without the HTTP server),
 *   take the batches from the JetStream consumer and run context → evaluate → decide → act →
 *   record (one hash chain in PostgreSQL) → markProcessed;
 * - the run ends when nothing is pending; every event must have one decision and the chain must
 *   verify (the exit code is 1 otherwise).
 *
 * Rates: events per wall-clock second from the first batch to the last decision, and per
 * CPU-second of everything that worked for it: this process, the workers, and the PostgreSQL and
 * NATS server processes (their CPU read from /proc before and after). The peer, in the same run:
 * the same events through one process with the embedded SQLite store (`vigil serve`, role all).
 * No target: the issues set none for the scaled-out mode; what a second machine adds cannot be
 * measured on one 2-core machine, where workers share the cores with the servers.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent, createManualClock, type Agent } from "../src/agent.js";
import { parseConfig, type VigilConfig } from "../src/config.js";
import type { Event } from "../src/core/event.js";
import { verifyDecisionRecord } from "../src/store/chain.js";
import { cloudTrail, writePolicies } from "./harness/cloudtrail-workload.js";
import { nodeArgsFor, runningAs } from "./harness/paths.js";
import { formatResult } from "./harness/report.js";
import type { BenchmarkResult, Comparison, Measurement } from "./harness/types.js";

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const quick = args.includes("--quick");
const json = args.includes("--json");
const log = (line: string): void => { process.stderr.write(`${line}\n`); };

const PRINCIPALS = 5_000;
const BATCH = 1_000;
const CLIENTS = 4;
const start = Date.parse("2025-01-06T00:00:00Z");
const pgUrl = process.env["VIGIL_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const natsUrl = process.env["VIGIL_TEST_NATS_URL"] ?? "nats://127.0.0.1:4222";
const clockAt = start + 30 * 86_400_000;
const make = (i: number): Event => cloudTrail(i % PRINCIPALS, Math.floor(i / PRINCIPALS), start + i * 250);

type ToChild = { readonly type: "sample" } | { readonly type: "stop" };
type FromChild = { readonly type: "ready" } | { readonly type: "sample"; readonly cpuMicros: number } | { readonly type: "stopped"; readonly cpuMicros: number; readonly events: number } | { readonly type: "failed"; readonly message: string };

const cpuMicros = (): number => {
  const used = process.cpuUsage();
  return used.user + used.system;
};

/** A worker process: a worker-role agent on the configuration it is given; reports its CPU when told to stop. */
async function child(): Promise<void> {
  const config = parseConfig(JSON.parse(process.env["VIGIL_BENCH_CONFIG"] ?? "{}") as Record<string, unknown>);
  let agent: Agent;
  try {
    agent = await createAgent(config, { role: "worker", clock: createManualClock(clockAt), onProblem: (message) => log(`  worker ${process.pid} problem: ${message}`) });
    await agent.start();
  } catch (error) {
    process.send?.({ type: "failed", message: error instanceof Error ? error.message : String(error) } satisfies FromChild);
    process.exit(1);
  }
  process.on("message", (message: ToChild) => {
    if (message.type === "sample") {
      process.send?.({ type: "sample", cpuMicros: cpuMicros() } satisfies FromChild);
      return;
    }
    const events = agent.worker?.stats().events ?? 0;
    const used = cpuMicros();
    void agent.close().finally(() => {
      process.send?.({ type: "stopped", cpuMicros: used, events } satisfies FromChild, () => process.exit(0));
    });
  });
  process.send?.({ type: "ready" } satisfies FromChild);
}

/** CPU ticks (user + system, own and reaped children's) of the processes named `names`, from /proc. */
function serverTicks(names: readonly string[]): number {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    if (!names.includes(stat.slice(open + 1, close))) continue;
    const fields = stat.slice(close + 2).split(" ");
    // After "pid (comm) ": state is field 3, so utime (14), stime (15), cutime (16), cstime (17) sit at 11..14.
    for (let i = 11; i <= 14; i++) ticks += Number(fields[i]);
  }
  return ticks;
}
const TICKS_PER_SECOND = 100;

interface Run {
  /** Wall seconds of the warm-up: one event for each of the 5,000 principals, all unknown to the store (a cold cache). */
  readonly coldSeconds: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly serverCpuSeconds: number;
  readonly checked: boolean;
  readonly perWorker: readonly number[];
}

function startWorker(config: Record<string, unknown>): Promise<ChildProcess> {
  // This file again, run as this process runs (compiled, or through tsx), as a worker.
  const argv = nodeArgsFor("bench/scale-out.ts");
  // VIGIL_BENCH_WORKER_NODE_ARGS: node options for the workers only (e.g. "--cpu-prof --cpu-prof-dir=prof" to profile them).
  const extra = (process.env["VIGIL_BENCH_WORKER_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "");
  const worker = fork(argv.at(-1) as string, ["--child"], { execArgv: [...extra, ...argv.slice(0, -1)], env: { ...process.env, VIGIL_BENCH_CONFIG: JSON.stringify(config) }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    worker.once("message", (message: FromChild) => {
      if (message.type === "ready") resolve(worker);
      else reject(new Error(message.type === "failed" ? message.message : `unexpected ${message.type}`));
    });
    worker.once("exit", (code) => reject(new Error(`worker exited (code ${code}) before it was ready`)));
  });
}

/** The worker's CPU so far, in microseconds. */
function sampleWorker(worker: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    worker.once("message", (message: FromChild) => {
      if (message.type === "sample") resolve(message.cpuMicros);
      else reject(new Error(`unexpected ${message.type}`));
    });
    worker.send({ type: "sample" } satisfies ToChild);
  });
}

function stopWorker(worker: ChildProcess): Promise<{ cpuMicros: number; events: number }> {
  return new Promise((resolve, reject) => {
    worker.once("message", (message: FromChild) => {
      if (message.type === "stopped") resolve({ cpuMicros: message.cpuMicros, events: message.events });
      else reject(new Error(`unexpected ${message.type}`));
    });
    worker.send({ type: "stop" } satisfies ToChild);
  });
}

async function waitUntilDecided(agent: Agent): Promise<void> {
  for (;;) {
    if ((await agent.storage.pendingEvents(1)).length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Feeds events `from` .. `from + count` through `agent.ingest` in batches of BATCH from CLIENTS
 * senders at once (as several HTTP clients would; one at a time, the api's store and bus round
 * trips would set the pace), then waits until every one is decided.
 */
async function feed(agent: Agent, from: number, count: number, waitDecided: () => Promise<void>): Promise<void> {
  let next = from;
  const sender = async (): Promise<void> => {
    while (next < from + count) {
      const offset = next;
      next += BATCH;
      const batch: Event[] = [];
      for (let i = offset; i < Math.min(from + count, offset + BATCH); i++) batch.push(make(i));
      const accepted = await agent.ingest(batch);
      if (accepted.stored.length !== batch.length) throw new Error(`ingest stored ${accepted.stored.length} of ${batch.length} events (duplicates: ${accepted.duplicates.length})`);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, sender));
  await waitDecided();
}

async function scaledOut(policies: string, workers: number, warm: number, events: number): Promise<Run> {
  const suffix = `${process.pid}_${Date.now().toString(36)}_${workers}`;
  const plain = {
    policies: [policies],
    store: { kind: "postgres", url: pgUrl, schema: `vigil_bench_${suffix}` },
    bus: { kind: "nats", servers: [natsUrl], stream: `VIGIL_BENCH_${suffix}` },
    ingest: { batchSize: BATCH },
    log: { level: "silent" },
  };
  const config: VigilConfig = parseConfig(plain);
  const api = await createAgent(config, { role: "api", clock: createManualClock(clockAt), onProblem: (message) => log(`  api problem: ${message}`) });
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(plain)));
  try {
    const cold = process.hrtime.bigint();
    await feed(api, 0, warm, () => waitUntilDecided(api));
    const coldSeconds = Number(process.hrtime.bigint() - cold) / 1e9;
    const workers0 = await Promise.all(children.map(sampleWorker));
    const servers0 = serverTicks(["postgres", "nats-server"]);
    const cpu0 = cpuMicros();
    const began = process.hrtime.bigint();
    await feed(api, warm, events, () => waitUntilDecided(api));
    const seconds = Number(process.hrtime.bigint() - began) / 1e9;
    const ownCpu = (cpuMicros() - cpu0) / 1e6;
    const serverCpuSeconds = (serverTicks(["postgres", "nats-server"]) - servers0) / TICKS_PER_SECOND;
    const stopped = await Promise.all(children.map(stopWorker));
    const workerCpu = stopped.reduce((sum, s, i) => sum + (s.cpuMicros - (workers0[i] ?? 0)), 0) / 1e6;
    const chain = await verifyDecisionRecord(api.storage, { batchSize: 1000 });
    const stored = await api.storage.countEvents();
    const checked = chain.ok && chain.checked === warm + events && stored === warm + events;
    if (!checked) log(`  check failed: ${stored} events stored, chain ${chain.ok ? "ok" : JSON.stringify(chain.problem)} with ${chain.checked} decisions (expected ${warm + events})`);
    return { coldSeconds, seconds, cpuSeconds: ownCpu + workerCpu + serverCpuSeconds, serverCpuSeconds, checked, perWorker: stopped.map((s) => s.events) };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
    await api.close();
    await dropSchemaAndStream(`vigil_bench_${suffix}`, `VIGIL_BENCH_${suffix}`);
  }
}

async function dropSchemaAndStream(schema: string, stream: string): Promise<void> {
  const { default: postgres } = await import("postgres");
  const admin = postgres(pgUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  const { connect } = await import("@nats-io/transport-node");
  const { jetstreamManager } = await import("@nats-io/jetstream");
  const nats = await connect({ servers: natsUrl });
  await (await jetstreamManager(nats)).streams.delete(stream).catch(() => undefined);
  await nats.close();
}

/** The peer: one process, embedded SQLite (WAL, synchronous=FULL), the in-process bus and ingest loop. */
async function embedded(policies: string, dir: string, warm: number, events: number): Promise<Run> {
  const config = parseConfig({ policies: [policies], store: { path: join(dir, "embedded.db") }, ingest: { batchSize: BATCH, queueCapacity: 1_000_000 }, log: { level: "silent" } });
  const agent = await createAgent(config, { clock: createManualClock(clockAt), onProblem: (message) => log(`  problem: ${message}`) });
  await agent.start();
  try {
    const cold = process.hrtime.bigint();
    await feed(agent, 0, warm, () => agent.ingestor.idle());
    const coldSeconds = Number(process.hrtime.bigint() - cold) / 1e9;
    const cpu0 = cpuMicros();
    const began = process.hrtime.bigint();
    await feed(agent, warm, events, () => agent.ingestor.idle());
    const seconds = Number(process.hrtime.bigint() - began) / 1e9;
    const cpuSeconds = (cpuMicros() - cpu0) / 1e6;
    const chain = await verifyDecisionRecord(agent.storage, { batchSize: 1000 });
    const checked = chain.ok && chain.checked === warm + events;
    return { coldSeconds, seconds, cpuSeconds, serverCpuSeconds: 0, checked, perWorker: [] };
  } finally {
    await agent.close();
  }
}

async function main(): Promise<void> {
  const events = Number(option("--events") ?? (quick ? 10_000 : 30_000));
  const workerCounts = (option("--workers") ?? "1,2").split(",").map(Number);
  const warm = PRINCIPALS;
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-scale-out-"));
  try {
    writePolicies(dir);
    const policies = join(dir, "policies.yaml");
    log(`scale-out: ${events.toLocaleString("en-US")} CloudTrail events (after ${warm.toLocaleString("en-US")} warm-up) from ${PRINCIPALS} principals, 50 policies, batches of ${BATCH} from ${CLIENTS} senders at once; ${runningAs}`);
    const group = "50 policies + detectors";
    const measurements: Measurement[] = [];
    const comparisons: Comparison[] = [];
    const notes: string[] = [];
    let ok = true;
    log("  embedded (one process, SQLite)...");
    const peer = await embedded(policies, dir, warm, events);
    ok &&= peer.checked;
    const peerSubject = "one process, embedded SQLite";
    measurements.push({ group, subject: peerSubject, unit: "events", opsPerSecond: events / peer.seconds, opsPerCpuSecond: events / peer.cpuSeconds, operations: events });
    log(`  embedded: ${Math.round(events / peer.seconds)} events/s wall, ${Math.round(events / peer.cpuSeconds)} per CPU-s; cold (first sight of ${warm} principals) ${Math.round(warm / peer.coldSeconds)} events/s wall`);
    notes.push(`cold, the warm-up (one event for each of ${warm.toLocaleString("en-US")} principals the store does not know yet, as after a restart or for new principals): embedded ${Math.round(warm / peer.coldSeconds).toLocaleString("en-US")} events/s wall`);
    for (const workers of workerCounts) {
      log(`  api + ${workers} worker process(es), PostgreSQL + NATS JetStream...`);
      const run = await scaledOut(policies, workers, warm, events);
      ok &&= run.checked;
      const subject = `api + ${workers} worker${workers === 1 ? "" : "s"}, PostgreSQL + NATS`;
      measurements.push({ group, subject, unit: "events", opsPerSecond: events / run.seconds, opsPerCpuSecond: events / run.cpuSeconds, operations: events });
      comparisons.push({ group, subject, peer: peerSubject, ratio: (events / run.seconds) / (events / peer.seconds) });
      notes.push(`api + ${workers} worker(s): cold ${Math.round(warm / run.coldSeconds).toLocaleString("en-US")} events/s wall; timed ${run.seconds.toFixed(1)} s wall; CPU ${run.cpuSeconds.toFixed(1)} s in all, of which PostgreSQL and NATS ${run.serverCpuSeconds.toFixed(1)} s; events decided per worker ${run.perWorker.join(", ")} (warm-up included)`);
      log(`  api + ${workers} worker(s): ${Math.round(events / run.seconds)} events/s wall, ${Math.round(events / run.cpuSeconds)} per CPU-s (servers ${run.serverCpuSeconds.toFixed(1)} of ${run.cpuSeconds.toFixed(1)} CPU-s); cold ${Math.round(warm / run.coldSeconds)} events/s wall`);
    }
    notes.push("ratios are wall-clock rates against the embedded process; CPU-seconds count this process, the worker processes and the PostgreSQL and NATS server processes (from /proc)");
    notes.push("one 2-core machine: the workers, PostgreSQL and NATS share the cores, so more workers cannot show what more machines would add");
    const result: BenchmarkResult = {
      name: "scale-out",
      ok,
      measurements,
      comparisons,
      targets: [],
      notes,
      ...(ok ? {} : { failure: "not every event was decided once, or the decision chain did not verify" }),
    };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(formatResult(result));
    if (!ok) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args.includes("--child")) await child();
else await main();
