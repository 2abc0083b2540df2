/**
 * `vigil replay` throughput: 100k CloudEvents (JSON Lines) → decisions (JSON Lines), with and
 * without decision logging, against the floor of parsing and printing the same lines.
 *
 *   npx tsx bench/replay.ts [--quick] [--json] [--events 100000] [--seed 7]
 *
 * Workload: the `vigil simulate` scenarios (access: CloudTrail + Okta System Log; cost; residency;
 * supply-chain), seeded, in time order, repeated with fresh event ids until there are `--events`
 * lines; policies: every pack under packs/ (what `vigil replay` loads by default).
 * Subjects, each with its own record file:
 * - `replay --no-context --record`: the stateless replay command itself (src/cli/commands/replay.ts:
 *   createEvaluator → decideEvent → storage.appendDecisions in batches of 1000 → JSON Lines out)
 *   with an embedded SQLite record (WAL, synchronous=FULL), run in this process through the
 *   command's `run`. This is the "replay with decision logging" of issue 2 and the figure its
 *   target applies to;
 * - `replay --no-context`: the same without --record;
 * - `replay --record` (with context, the command's default since the agent pipeline runs in
 *   replay mode: baselines, enrichments, tiers, planned actions on a throwaway store) and
 *   `replay` with context: reported separately, no target (`--no-context-runs` skips them);
 * - `parse+stringify` (the peer): read the file, JSON.parse each line, JSON.stringify it, write it.
 * Rates are events per wall-clock second of the whole command (policy loading and opening the
 * store included) and per CPU-second of this process over the same span (GC threads included).
 * The record is verified (`verifyDecisionRecord`) and counted after the run.
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { PassThrough } from "node:stream";
import { parseCommandArgs, type CliIo } from "../src/cli/command.js";
import { defaultRecordThread } from "../src/agent/record-worker.js";
import { replayCommand } from "../src/cli/commands/replay.js";
import type { Event } from "../src/core/event.js";
import { verifyDecisionRecord } from "../src/store/chain.js";
import { createSqliteStorage } from "../src/store/sqlite/index.js";
import { scenarios } from "../src/sources/simulate/index.js";
import { formatResult } from "./harness/report.js";
import type { BenchmarkResult, Comparison, Measurement, TargetCheck } from "./harness/types.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const json = args.includes("--json");
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const eventCount = Number(option("--events") ?? (quick ? 20_000 : 100_000));
const contextRuns = !args.includes("--no-context-runs");
const seed = Number(option("--seed") ?? 7);
const TARGET_EVENTS_PER_SECOND = 30_000;
const log = (line: string) => process.stderr.write(`${line}\n`);

/** The simulated organisation's stream (every scenario, merged in time order), cycled with fresh ids up to `count` events. */
function generateEvents(count: number): { lines: string[]; types: Map<string, number>; distinct: number } {
  const start = new Date("2026-01-05T00:00:00Z");
  const base: Event[] = [];
  for (const scenario of scenarios) for (const event of scenario.generate({ seed, days: 28, start })) base.push(event);
  base.sort((a, b) => (a.time ?? "").localeCompare(b.time ?? ""));
  const lines: string[] = [];
  const types = new Map<string, number>();
  for (let round = 0; lines.length < count; round++) {
    for (const event of base) {
      if (lines.length >= count) break;
      const copy = round === 0 ? event : { ...event, id: `${event.id}.r${round}` };
      lines.push(JSON.stringify(copy));
      types.set(event.type, (types.get(event.type) ?? 0) + 1);
    }
  }
  return { lines, types, distinct: base.length };
}

interface Run { readonly wallSeconds: number; readonly cpuSeconds: number; readonly summary: string }

/** A CliIo for the command: stdin unused (the events come from a file), stderr captured, no TTY. */
function benchIo(cwd: string, storePath: string): { io: CliIo; stderr: () => string } {
  let captured = "";
  const stderr = new PassThrough();
  stderr.on("data", (chunk: Buffer) => { captured += chunk.toString("utf8"); });
  const io: CliIo = {
    stdout: new PassThrough().resume(),
    stderr,
    stdin: new PassThrough(),
    env: { VIGIL_STORE_PATH: storePath },
    cwd,
  };
  return { io, stderr: () => captured };
}

/** `recordThread`: where `--no-context --record` appends (`--record-thread`); the command's default when absent. */
async function runReplay(dir: string, eventsFile: string, record: boolean, context: boolean, recordThread?: "worker" | "caller"): Promise<Run> {
  const name = `${context ? "context" : "stateless"}${record ? "-recorded" : ""}${recordThread ? `-${recordThread}` : ""}`;
  const outFile = join(dir, `decisions-${name}.jsonl`);
  const storePath = join(dir, `record-${context ? "context" : "stateless"}${recordThread ? `-${recordThread}` : ""}.db`);
  const { io, stderr } = benchIo(dir, storePath);
  const parsed = parseCommandArgs(replayCommand, [eventsFile, "--out", outFile, "-p", resolve("packs"), ...(record ? ["--record"] : []), ...(context ? [] : ["--no-context"]), ...(recordThread ? ["--record-thread", recordThread] : [])]);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const code = await replayCommand.run(parsed, io);
  const wallSeconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  if (code !== 0) throw new Error(`vigil replay exited with ${code}: ${stderr()}`);
  const summary = stderr().split("\n").filter((line) => line.startsWith("replay:")).at(-1) ?? "";
  const lines = readFileSync(outFile, "utf8").split("\n").filter((line) => line !== "").length;
  if (lines !== eventCount) throw new Error(`vigil replay wrote ${lines} decisions for ${eventCount} events: ${stderr()}`);
  return { wallSeconds, cpuSeconds: (used.user + used.system) / 1e6, summary };
}

/** The floor: the same file, each line parsed and printed again, written to a file. */
async function runFloor(dir: string, eventsFile: string): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const out = createWriteStream(join(dir, "floor.jsonl"));
  let rest = "";
  let buffer = "";
  let count = 0;
  for await (const chunk of createReadStream(eventsFile, { encoding: "utf8" })) {
    const text = rest + (chunk as string);
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") continue;
      buffer += `${JSON.stringify(JSON.parse(line) as unknown)}\n`;
      count++;
    }
    if (buffer.length > 1 << 16) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  if (rest !== "") { buffer += `${JSON.stringify(JSON.parse(rest) as unknown)}\n`; count++; }
  out.end(buffer);
  await once(out, "finish");
  const wallSeconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  if (count !== eventCount) throw new Error(`floor read ${count} events of ${eventCount}`);
  return { wallSeconds, cpuSeconds: (used.user + used.system) / 1e6, summary: "" };
}

function measurement(subject: string, run: Run): Measurement {
  return { group: `${eventCount.toLocaleString("en-US")} events`, subject, unit: "events", opsPerSecond: eventCount / run.wallSeconds, opsPerCpuSecond: eventCount / run.cpuSeconds, operations: eventCount };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-replay-"));
  const notes: string[] = [];
  try {
    log(`replay: generating ${eventCount} events...`);
    const generated = generateEvents(eventCount);
    const eventsFile = join(dir, "events.jsonl");
    writeFileSync(eventsFile, `${generated.lines.join("\n")}\n`);
    const bytes = generated.lines.reduce((sum, line) => sum + line.length + 1, 0);
    notes.push(`workload: ${eventCount} CloudEvents (${(bytes / eventCount).toFixed(0)} bytes/line on average) from the simulate scenarios (seed ${seed}, 28 days, ${generated.distinct} distinct events, cycled with fresh ids): ${[...generated.types].sort((a, b) => b[1] - a[1]).map(([type, n]) => `${type} ${n}`).join(", ")}`);
    notes.push("policies: every pack under packs/ (the replay default); decisions not enforced, labels {source: replay}");

    log("replay: parse+stringify floor...");
    const floor = await runFloor(dir, eventsFile);
    log("replay: vigil replay --no-context (no record)...");
    const plain = await runReplay(dir, eventsFile, false, false);
    log(`replay: vigil replay --no-context --record (default: ${defaultRecordThread()} thread on ${availableParallelism()} cores)...`);
    const recorded = await runReplay(dir, eventsFile, true, false);
    await verifyRecord(join(dir, "record-stateless.db"), "--no-context --record", notes);
    const other = defaultRecordThread() === "worker" ? "caller" : "worker";
    log(`replay: vigil replay --no-context --record --record-thread ${other}...`);
    const recordedOther = await runReplay(dir, eventsFile, true, false, other);
    await verifyRecord(join(dir, `record-stateless-${other}.db`), `--no-context --record --record-thread ${other}`, notes);
    let contextPlain: Run | undefined;
    let contextRecorded: Run | undefined;
    if (contextRuns) {
      log("replay: vigil replay with context (no record)...");
      contextPlain = await runReplay(dir, eventsFile, false, true);
      log("replay: vigil replay with context --record...");
      contextRecorded = await runReplay(dir, eventsFile, true, true);
      await verifyRecord(join(dir, "record-context.db"), "--record (with context)", notes);
    }
    const runs: [string, Run | undefined][] = [["replay --no-context --record", recorded], [`--record-thread ${other}`, recordedOther], ["replay --no-context", plain], ["replay --record (context)", contextRecorded], ["replay (context)", contextPlain], ["parse+stringify", floor]];
    notes.push(`command summaries (their events/s exclude policy loading): ${runs.filter(([, run]) => run?.summary).map(([name, run]) => `${name}: ${run!.summary.split("\n")[0]}`).join(" | ")}`);
    notes.push(`CPU / wall time of the whole command: ${runs.filter(([, run]) => run).map(([name, run]) => `${name} ${run!.cpuSeconds.toFixed(2)} / ${run!.wallSeconds.toFixed(2)} s`).join("; ")}`);
    notes.push(`the target applies to \`replay --no-context --record\` (stateless decision logging, issue 2); it appends from a worker thread from two cores up (its own store connection: hashing and the fsync'ed inserts off the deciding thread, which writes the canonical JSON; CPU of both threads counted) and on the deciding thread on one core (this machine: ${availableParallelism()} cores, default ${defaultRecordThread()}); the \`--record-thread ${other}\` row is the other mode; the context rows are the agent pipeline in replay mode (baselines, enrichments, tiers, planned actions on a throwaway store), reported for reference`);
    notes.push(`machine load average at the end: ${loadavg().map((value) => value.toFixed(1)).join(" / ")} (1/5/15 min) on ${cpus().length} cores; shared machine, expect noise`);

    const measurements = runs.filter(([, run]) => run !== undefined).map(([name, run]) => measurement(name, run!));
    const group = measurements[0]!.group;
    const comparisons: Comparison[] = runs.filter(([name, run]) => run !== undefined && name !== "parse+stringify")
      .map(([name, run]) => ({ group, subject: name, peer: "parse+stringify", ratio: (eventCount / run!.cpuSeconds) / (eventCount / floor.cpuSeconds) }));
    const perCpu = eventCount / recorded.cpuSeconds;
    const perCpuOther = eventCount / recordedOther.cpuSeconds;
    const targets: TargetCheck[] = [{
      description: `vigil replay --no-context of ${eventCount.toLocaleString("en-US")} events with decision logging (issue 2)`,
      target: `>= ${TARGET_EVENTS_PER_SECOND.toLocaleString("en-US")} events/s on one core`,
      actual: `${Math.round(perCpu).toLocaleString("en-US")}/CPU-s (wall ${Math.round(eventCount / recorded.wallSeconds).toLocaleString("en-US")}/s); --record-thread ${other} ${Math.round(perCpuOther).toLocaleString("en-US")}/CPU-s (wall ${Math.round(eventCount / recordedOther.wallSeconds).toLocaleString("en-US")}/s)`,
      met: Math.max(perCpu, perCpuOther) >= TARGET_EVENTS_PER_SECOND,
    }];
    const result: BenchmarkResult = { name: "replay", ok: true, measurements, comparisons, targets, notes };
    console.log(json ? JSON.stringify(result, null, 2) : formatResult(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The record a run wrote must hold one decision per event and verify. */
async function verifyRecord(path: string, name: string, notes: string[]): Promise<void> {
  const storage = createSqliteStorage({ path });
  await storage.init();
  const verified = await verifyDecisionRecord(storage, { batchSize: 1000 });
  await storage.close();
  if (!verified.ok || verified.checked !== eventCount) throw new Error(`the chain recorded by replay ${name} did not verify: ${JSON.stringify(verified)}`);
  notes.push(`replay ${name}: the record holds ${verified.checked} decisions and its hash chain verifies (verifyDecisionRecord)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
