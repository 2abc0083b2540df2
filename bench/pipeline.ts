/**
 * Pipeline benchmark (`npm run bench:pipeline`, or `npx tsx bench/pipeline.ts [--quick] [--json] [--decide-only | --pipeline-only]`;
 * the last two run one part, for profiling with `node --cpu-prof`):
 * the agent's own path, in-process, on one thread — accept (events appended to the durable SQLite
 * store, synchronous=FULL) → context (entities, baselines, the four detectors) → evaluate (50
 * native policies, indexed) → decide (exceptions/overrides, risk, adaptive tier, explanation) →
 * act (executor; these policies plan no actions) → record (hash-chained decision record, one
 * transaction per batch) → observe → markProcessed.
 *
 * 1. Throughput: CloudTrail events from 5,000 principals (realistic repeats), ingested in batches
 *    of 1,000 as the HTTP API would; events/s wall-clock and per CPU-second (the "one core"
 *    figure on a shared machine), side by side with the floor of the same durable work (append
 *    the events and a same-sized decision record without deciding anything).
 * 2. Memory per tracked entity: 100,000 distinct principals through the same pipeline, retained
 *    heap + typed-array backing stores after GC, divided by the entities the context stage tracks
 *    (the method of bench/context.ts, but across the whole agent).
 * Figures depend on the machine (a shared 2-core machine here): read them as orders of magnitude.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createAgent, createManualClock, decisionIdFor, type Agent } from "../src/agent.js";
import { parseConfig } from "../src/config.js";
import { verifyDecisionRecord } from "../src/store/chain.js";
import type { DecisionDraft } from "../src/core/decision.js";
import type { Event } from "../src/core/event.js";
import { cloudTrail, writePolicies } from "./harness/cloudtrail-workload.js";
import type { BenchmarkResult, Measurement, TargetCheck } from "./harness/types.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const json = process.argv.includes("--json");
const quick = process.argv.includes("--quick");
/** Only the decide-path measurement (for profiling with --cpu-prof). */
const decideOnlyFlag = process.argv.includes("--decide-only");
/** Only the durable pipeline and its floor (for profiling with --cpu-prof). */
const pipelineOnlyFlag = process.argv.includes("--pipeline-only");
const log = (line: string): void => {
  if (json) process.stderr.write(`${line}\n`);
  else console.log(line);
};

const THROUGHPUT_EVENTS = quick ? 20_000 : 100_000;
const PRINCIPALS = 5_000;
const MEMORY_ENTITIES = quick ? 20_000 : 100_000;
const BATCH = 1_000;
const TARGET_EVENTS_PER_SECOND = 20_000;
const TARGET_BYTES = 2_048;
const start = Date.parse("2025-01-06T00:00:00Z");

function heapBytes(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

async function openAgent(dir: string, file: string, maxEntities: number): Promise<Agent> {
  const config = parseConfig({
    policies: [join(dir, "policies.yaml")],
    store: { path: file === ":memory:" ? file : join(dir, file) },
    ingest: { queueCapacity: 1_000_000, batchSize: 1_000, contextFlushEvents: 1_000_000 },
    context: { cache: { maxEntities } },
    log: { level: "silent" },
  });
  return createAgent(config, { clock: createManualClock(start + 30 * 86_400_000), onProblem: (message) => log(`  problem: ${message}`) });
}

/** Feeds events through agent.ingest in batches of BATCH (persist, then the ingest loop decides them) and waits until all are decided. */
async function feed(agent: Agent, count: number, make: (index: number) => Event): Promise<{ seconds: number; cpuSeconds: number; last: Event | undefined }> {
  const began = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let last: Event | undefined;
  for (let offset = 0; offset < count; offset += BATCH) {
    const batch: Event[] = [];
    for (let i = offset; i < Math.min(count, offset + BATCH); i++) batch.push(make(i));
    last = batch.at(-1) ?? last;
    await agent.ingest(batch);
    // Keep the queue short, as the HTTP API's backpressure would.
    if (agent.ingestor.stats().queued > 4 * BATCH) await agent.ingestor.idle();
  }
  await agent.ingestor.idle();
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, last };
}

/** The same pipeline on a SQLite :memory: store (canonical JSON, hashing and SQL, no fsync), and the decide path alone (context, evaluate, decide, observe; no storage writes). */
async function breakdown(dir: string, onlyDecidePath = false): Promise<Measurement[]> {
  const make = (i: number): Event => cloudTrail(i % PRINCIPALS, Math.floor(i / PRINCIPALS), start + i * 250);
  const group = "50 policies + detectors";
  const measured: Measurement[] = [];
  if (!onlyDecidePath) {
  const memoryAgent = await openAgent(dir, ":memory:", 200_000);
  await memoryAgent.start();
  await feed(memoryAgent, PRINCIPALS * 2, (i) => make(i));
  const inMemory = await feed(memoryAgent, THROUGHPUT_EVENTS, (i) => make(PRINCIPALS * 2 + i));
  await memoryAgent.close();
  const noDisk: Measurement = { group, subject: "pipeline, SQLite :memory: (no fsync)", unit: "events", opsPerSecond: THROUGHPUT_EVENTS / inMemory.seconds, opsPerCpuSecond: THROUGHPUT_EVENTS / inMemory.cpuSeconds, operations: THROUGHPUT_EVENTS };
  log(`  same pipeline on SQLite :memory: (no fsync): ${noDisk.opsPerSecond.toFixed(0)} events/s wall, ${noDisk.opsPerCpuSecond?.toFixed(0)} per CPU-second`);
  measured.push(noDisk);
  }

  const agent = await openAgent(dir, "decide-only.db", 200_000);
  const step = async (event: Event): Promise<void> => {
    const { draft, ctx } = await agent.pipeline.decideEvent(event);
    agent.context.observe(event, ctx, draft.findings);
  };
  for (let i = 0; i < PRINCIPALS * 2; i++) await step(make(i));
  const began = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < THROUGHPUT_EVENTS; i++) await step(make(PRINCIPALS * 2 + i));
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  const used = process.cpuUsage(cpu);
  await agent.close();
  const decideOnly: Measurement = { group, subject: "decide path only (context, evaluate, decide, observe)", unit: "events", opsPerSecond: THROUGHPUT_EVENTS / seconds, opsPerCpuSecond: THROUGHPUT_EVENTS / ((used.user + used.system) / 1e6), operations: THROUGHPUT_EVENTS };
  log(`  decide path only, no storage writes: ${decideOnly.opsPerSecond.toFixed(0)} events/s wall, ${decideOnly.opsPerCpuSecond?.toFixed(0)} per CPU-second`);
  return [...measured, decideOnly];
}

async function throughput(dir: string): Promise<{ pipeline: Measurement; floor: Measurement; violations: number; checked: boolean }> {
  const agent = await openAgent(dir, "throughput.db", 200_000);
  await agent.start();
  const make = (i: number): Event => cloudTrail(i % PRINCIPALS, Math.floor(i / PRINCIPALS), start + i * 250);
  log(`  warm-up: ${PRINCIPALS * 2} events`);
  await feed(agent, PRINCIPALS * 2, (i) => make(i));
  const offset = PRINCIPALS * 2;
  const timed = await feed(agent, THROUGHPUT_EVENTS, (i) => make(offset + i));
  await agent.pipeline.flushContext();
  const decisions = await agent.storage.listDecisions({ newestFirst: true, limit: 2_000 });
  const violations = decisions.filter((d) => d.findings.some((f) => f.effect === "violation")).length;
  // Correctness: every event decided once, under its deterministic id, and the chain verifies.
  // (The last event fed, not make() called again: event ids come from a counter, so a second call makes a new event.)
  const lastEvent = timed.last;
  const lastDecided = lastEvent !== undefined && (await agent.storage.getDecision(decisionIdFor(lastEvent))) !== undefined;
  const nothingPending = (await agent.storage.pendingEvents(1)).length === 0;
  const events = await agent.storage.countEvents();
  const chain = await verifyDecisionRecord(agent.storage, { batchSize: 1000 });
  const checked = lastDecided && nothingPending && chain.ok && chain.checked === events && events === PRINCIPALS * 2 + THROUGHPUT_EVENTS;
  if (!checked) log(`  check failed: last event decided ${lastDecided}, nothing pending ${nothingPending}, ${events} events stored, chain ${chain.ok ? "ok" : JSON.stringify(chain.problem)} with ${chain.checked} decisions`);
  await agent.close();
  const pipeline: Measurement = { group: "50 policies + detectors", subject: "vigil pipeline", unit: "events", opsPerSecond: THROUGHPUT_EVENTS / timed.seconds, opsPerCpuSecond: THROUGHPUT_EVENTS / timed.cpuSeconds, operations: THROUGHPUT_EVENTS };
  log(`  pipeline: ${pipeline.opsPerSecond.toFixed(0)} events/s wall, ${pipeline.opsPerCpuSecond?.toFixed(0)} events per CPU-second (${THROUGHPUT_EVENTS} events, ${(violations / decisions.length * 100).toFixed(1)}% with violations)`);

  // The floor: the same durable writes (events, then one decision row per event and the processed marks) without deciding.
  const floorAgent = await openAgent(dir, "floor.db", 1_000);
  const template = decisions[0] as DecisionDraft;
  const began = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let offset2 = 0; offset2 < THROUGHPUT_EVENTS; offset2 += BATCH) {
    const batch: Event[] = [];
    for (let i = offset2; i < Math.min(THROUGHPUT_EVENTS, offset2 + BATCH); i++) batch.push(make(offset + i));
    const stored = await floorAgent.storage.appendEvents(batch, new Date(start).toISOString());
    // As the pipeline writes a batch without feedback events: decisions and processed marks in one transaction.
    await floorAgent.storage.appendDecisions(stored.stored.map((s) => ({ ...template, id: decisionIdFor(s.event), eventId: s.event.id, input: s.event.data })), { markProcessed: { seqs: stored.stored.map((s) => s.seq), at: new Date(start).toISOString() } });
  }
  const floorSeconds = Number(process.hrtime.bigint() - began) / 1e9;
  const floorCpu = process.cpuUsage(cpu);
  await floorAgent.close();
  const floor: Measurement = { group: "50 policies + detectors", subject: "durable floor (store only)", unit: "events", opsPerSecond: THROUGHPUT_EVENTS / floorSeconds, opsPerCpuSecond: THROUGHPUT_EVENTS / ((floorCpu.user + floorCpu.system) / 1e6), operations: THROUGHPUT_EVENTS };
  log(`  durable floor (append events + decision rows + mark processed, no deciding): ${floor.opsPerSecond.toFixed(0)} events/s wall, ${floor.opsPerCpuSecond?.toFixed(0)} per CPU-second`);
  return { pipeline, floor, violations, checked };
}

async function memory(dir: string): Promise<{ bytesPerEntity: number; entities: number; baselines: number }> {
  const agent = await openAgent(dir, "memory.db", MEMORY_ENTITIES * 2);
  await agent.start();
  await feed(agent, 100, (i) => cloudTrail(1_000_000 + i, 0, start + i)); // warm code paths and caches of fixed size
  const before = heapBytes();
  // Each principal once: its own baseline and entity record, a peer group of 500 shared.
  await feed(agent, MEMORY_ENTITIES, (i) => cloudTrail(i, 0, start + 86_400_000 + i * 10));
  const after = heapBytes();
  const stats = agent.context.stats();
  await agent.close();
  const entities = stats.cachedEntities;
  const bytesPerEntity = (after - before) / MEMORY_ENTITIES;
  log(`  memory: ${bytesPerEntity.toFixed(0)} bytes per tracked principal (${MEMORY_ENTITIES} principals; context tracks ${entities} entity records, ${stats.cachedBaselines} baselines incl. peer groups)`);
  return { bytesPerEntity, entities, baselines: stats.cachedBaselines };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-pipeline-"));
  try {
    writePolicies(dir);
    log(`pipeline: ${THROUGHPUT_EVENTS} CloudTrail events from ${PRINCIPALS} principals, 50 policies, SQLite (WAL, synchronous=FULL), batches of ${BATCH}`);
    if (decideOnlyFlag) {
      await breakdown(dir, true);
      return;
    }
    const t = await throughput(dir);
    if (pipelineOnlyFlag) return;
    const parts = await breakdown(dir);
    const m = await memory(dir);
    const targets: TargetCheck[] = [
      { description: "pipeline events/s on one core (per CPU-second), durable SQLite", target: `≥ ${TARGET_EVENTS_PER_SECOND}`, actual: (t.pipeline.opsPerCpuSecond ?? 0).toFixed(0), met: (t.pipeline.opsPerCpuSecond ?? 0) >= TARGET_EVENTS_PER_SECOND },
      { description: `memory per tracked entity (${MEMORY_ENTITIES} entities)`, target: `≤ ${TARGET_BYTES} bytes`, actual: `${m.bytesPerEntity.toFixed(0)} bytes`, met: m.bytesPerEntity <= TARGET_BYTES },
    ];
    for (const target of targets) log(`  target ${target.description}: ${target.actual} (${target.target}) ${target.met ? "met" : "[NOT MET]"}`);
    const result: BenchmarkResult = {
      name: "pipeline",
      ok: t.checked,
      measurements: [t.pipeline, t.floor, ...parts],
      comparisons: [{ group: t.pipeline.group, subject: t.pipeline.subject, peer: t.floor.subject, ratio: (t.pipeline.opsPerCpuSecond ?? t.pipeline.opsPerSecond) / (t.floor.opsPerCpuSecond ?? t.floor.opsPerSecond) }],
      targets,
      notes: [
        `in-process, one thread: accept (durable append) → context → evaluate → decide → act → record (hash chain) → observe → markProcessed`,
        `${THROUGHPUT_EVENTS} timed events after ${PRINCIPALS * 2} warm-up events; ${t.violations} of the last 2000 decisions had violations`,
        `memory: ${MEMORY_ENTITIES} distinct principals, retained heap + array buffers after GC; ${m.entities} entity records and ${m.baselines} baselines tracked`,
        "shared 2-core machine: figures are orders of magnitude",
      ],
      ...(t.checked ? {} : { failure: "not every event was decided once under its deterministic id, or the decision chain did not verify" }),
    };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!t.checked) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
