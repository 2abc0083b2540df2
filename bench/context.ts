/**
 * Context stage benchmark (`npx tsx bench/context.ts [--quick] [--json]`):
 * - memory per tracked entity with 100,000 entities (heap + typed-array backing stores, after
 *   GC), for three kinds: CloudTrail principals (activity histogram + seen-sets + peer group),
 *   metric resources (2 hour-of-week series + idle days) and FOCUS cost resources;
 *   side by side with a naive representation (arrays, Maps of strings) of the same principals;
 * - build + observe throughput on one core with a warm cache (CloudTrail and metric events);
 * - flush throughput (dirty baselines written through putDocs) to an in-memory store and SQLite.
 * Figures depend on the machine (a shared 2-core machine here): read them as orders of magnitude.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { EventTypes, type Event } from "../src/core/event.js";
import { createContextStage, type ContextStage } from "../src/context/stage.js";
import { createManualClock, createMemoryDocStorage } from "../src/context/test-support.js";
import { createSqliteStorage } from "../src/store/sqlite/index.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const json = process.argv.includes("--json");
const quick = process.argv.includes("--quick");
const ENTITIES = quick ? 20_000 : 100_000;
const TARGET_BYTES = 2048;
const log = (line: string): void => {
  if (json) process.stderr.write(`${line}\n`);
  else console.log(line);
};

const start = Date.parse("2025-01-06T00:00:00Z");
const regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"];
const services = ["s3.amazonaws.com", "ec2.amazonaws.com", "iam.amazonaws.com", "sts.amazonaws.com", "kms.amazonaws.com", "lambda.amazonaws.com"];
const agents = ["aws-cli/2.15.0 Python/3.11", "Boto3/1.34.0 Python/3.12", "[S3Console/0.4]", "terraform/1.7.0"];
let sequence = 0;

function cloudTrail(user: number, index: number, timeMs: number): Event {
  sequence++;
  return {
    specversion: "1.0",
    id: `ct-${sequence}`,
    source: "/aws/cloudtrail",
    type: EventTypes.cloudTrail,
    data: {
      eventVersion: "1.08",
      eventTime: new Date(timeMs).toISOString(),
      eventSource: services[(user + index) % services.length],
      eventName: "GetObject",
      awsRegion: regions[(user * 7 + index) % regions.length],
      sourceIPAddress: `10.${(user >> 8) & 255}.${user & 255}.${index % 4}`,
      userAgent: agents[(user + index) % agents.length],
      userIdentity: { type: "AssumedRole", arn: `arn:aws:sts::123456789012:assumed-role/role-${user % 500}/user-${user}`, accountId: "123456789012" },
      requestParameters: { bucketName: `bucket-${user % 200}` },
      recipientAccountId: "123456789012",
    },
  };
}

function metric(resource: number, name: string, value: number, timeMs: number): Event {
  sequence++;
  return { specversion: "1.0", id: `m-${sequence}`, source: "/metrics", type: EventTypes.metric, data: { resource: `i-${resource.toString(16).padStart(12, "0")}`, metric: name, value, unit: "Percent", ts: new Date(timeMs).toISOString() } };
}

function costRow(resource: number, hour: number, cost: number): Event {
  sequence++;
  const periodStart = new Date(start + hour * 3_600_000).toISOString();
  const periodEnd = new Date(start + (hour + 1) * 3_600_000).toISOString();
  return {
    specversion: "1.0",
    id: `c-${sequence}`,
    source: "/focus",
    type: EventTypes.focusCost,
    data: { ResourceId: `arn:aws:ec2:us-east-1:123456789012:instance/i-${resource}`, SubAccountId: "123456789012", BillingAccountId: "999", ServiceName: "Amazon Elastic Compute Cloud", ChargePeriodStart: periodStart, ChargePeriodEnd: periodEnd, BilledCost: cost },
  };
}

function heapBytes(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

async function step(stage: ContextStage, event: Event): Promise<void> {
  stage.observe(event, await stage.build(event));
}

async function measureMemory(label: string, feed: (stage: ContextStage, entity: number) => Promise<void>): Promise<{ label: string; bytesPerEntity: number; baselines: number; records: number }> {
  const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start), settings: { cache: { maxEntities: ENTITIES * 2 } } });
  await step(stage, cloudTrail(0, 0, start)); // warm code paths and the posture load
  const before = heapBytes();
  for (let entity = 1; entity <= ENTITIES; entity++) await feed(stage, entity);
  const after = heapBytes();
  const stats = stage.stats();
  const result = { label, bytesPerEntity: (after - before) / ENTITIES, baselines: stats.cachedBaselines, records: stats.cachedEntities };
  log(`  ${label}: ${result.bytesPerEntity.toFixed(0)} bytes per entity (${result.baselines} baselines, ${result.records} entity records cached)`);
  // Keep the stage alive until measured.
  if (stage.stats().cachedBaselines < 0) throw new Error("unreachable");
  return result;
}

/** The same principals in a straightforward representation, for the side-by-side figure. */
function measureNaive(): number {
  const before = heapBytes();
  const entities = new Map<string, { events: number; firstSeen: number; hist: number[]; seen: Map<string, Map<string, { count: number; first: number }>> }>();
  for (let user = 1; user <= ENTITIES; user++) {
    for (let index = 0; index < 3; index++) {
      const event = cloudTrail(user, index, start + user * 1000 + index * 3_600_000);
      const data = event.data as Record<string, unknown>;
      const key = `principal/${(data["userIdentity"] as Record<string, string>)["arn"]}`;
      let state = entities.get(key);
      if (!state) entities.set(key, (state = { events: 0, firstSeen: Date.now(), hist: new Array<number>(168).fill(0), seen: new Map() }));
      state.events++;
      state.hist[index] = (state.hist[index] ?? 0) + 1;
      for (const [dimension, value] of [["service", data["eventSource"]], ["region", data["awsRegion"]], ["ip", data["sourceIPAddress"]], ["device", data["userAgent"]]] as const) {
        let set = state.seen.get(dimension);
        if (!set) state.seen.set(dimension, (set = new Map()));
        const entry = set.get(String(value));
        if (entry) entry.count++;
        else set.set(String(value), { count: 1, first: start });
      }
    }
  }
  const bytes = (heapBytes() - before) / ENTITIES;
  if (entities.size === 0) throw new Error("unreachable");
  log(`  naive principals (number[168] + Map<string, ...> seen-sets): ${bytes.toFixed(0)} bytes per entity`);
  return bytes;
}

async function throughput(label: string, warmEntities: number, events: number, make: (index: number) => Event): Promise<number> {
  const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
  for (let index = 0; index < warmEntities; index++) await step(stage, make(index));
  const began = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let index = 0; index < events; index++) await step(stage, make(warmEntities + index));
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  // On a shared machine wall time includes waiting for a core; CPU time is what one core spends.
  const rate = events / cpuSeconds;
  log(`  ${label}: ${Math.round(rate).toLocaleString("en-US")} events per CPU-second (${Math.round(events / seconds).toLocaleString("en-US")}/s wall; build + observe, ${events.toLocaleString("en-US")} events, warm cache)`);
  return rate;
}

async function flushRate(label: string, makeStorage: () => Promise<{ storage: Parameters<typeof createContextStage>[0]["storage"]; close: () => Promise<void> }>, entities: number): Promise<number> {
  const { storage, close } = await makeStorage();
  const stage = createContextStage({ storage, clock: createManualClock(start) });
  for (let user = 0; user < entities; user++) await step(stage, cloudTrail(user, 0, start + user * 1000));
  const dirty = stage.stats().dirtyBaselines + stage.stats().dirtyEntities;
  const began = process.hrtime.bigint();
  await stage.flush();
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  await close();
  const rate = dirty / seconds;
  log(`  flush to ${label}: ${Math.round(rate).toLocaleString("en-US")} documents/s (${dirty.toLocaleString("en-US")} dirty documents)`);
  return rate;
}

async function main(): Promise<void> {
  log(`context stage benchmark (${quick ? "quick, " : ""}${ENTITIES.toLocaleString("en-US")} entities; shared 2-core machine, figures are indicative)`);
  log("memory per tracked entity:");
  const principals = await measureMemory("CloudTrail principals (3 events each: activity, 4 seen dimensions, peer group)", async (stage, user) => {
    for (let index = 0; index < 3; index++) await step(stage, cloudTrail(user, index, start + user * 1000 + index * 3_600_000));
  });
  const resources = await measureMemory("metric resources (CPU + network, 2 hour-of-week series, 14 idle days)", async (stage, resource) => {
    for (let index = 0; index < 3; index++) {
      const timeMs = start + index * 86_400_000 + resource * 10;
      await step(stage, metric(resource, "CPUUtilization", 2 + index, timeMs));
      await step(stage, metric(resource, "NetworkIn", 1000 * index, timeMs));
    }
  });
  const costs = await measureMemory("FOCUS cost resources (hourly spend series)", async (stage, resource) => {
    for (let hour = 0; hour < 3; hour++) await step(stage, costRow(resource, hour, 1 + hour));
  });
  const naive = measureNaive();
  log(`  side by side: Vigil principals use ${(principals.bytesPerEntity / naive).toFixed(2)}× the memory of the naive representation`);
  log("throughput (one core):");
  const ctRate = await throughput("CloudTrail", 10_000, quick ? 50_000 : 200_000, (index) => cloudTrail(index % 10_000, index, start + index * 500));
  const metricRate = await throughput("metrics", 5_000, quick ? 50_000 : 200_000, (index) => metric(index % 5_000, index % 2 === 0 ? "CPUUtilization" : "NetworkIn", index % 7, start + index * 60_000));
  const flushEntities = quick ? 5_000 : 20_000;
  const memoryFlush = await flushRate("in-memory store", async () => ({ storage: createMemoryDocStorage(), close: async () => {} }), flushEntities);
  const folder = mkdtempSync(join(tmpdir(), "vigil-context-bench-"));
  const sqliteFlush = await flushRate("SQLite (WAL, synchronous=FULL)", async () => {
    const storage = createSqliteStorage({ path: join(folder, "bench.db") });
    await storage.init();
    return { storage, close: async () => storage.close() };
  }, flushEntities);
  rmSync(folder, { recursive: true, force: true });

  const worst = Math.max(principals.bytesPerEntity, resources.bytesPerEntity, costs.bytesPerEntity);
  const result = {
    name: "context",
    ok: true,
    measurements: [
      { group: "build+observe", subject: "cloudtrail", opsPerSecond: ctRate, unit: "events" },
      { group: "build+observe", subject: "metrics", opsPerSecond: metricRate, unit: "events" },
      { group: "flush", subject: "memory", opsPerSecond: memoryFlush, unit: "documents" },
      { group: "flush", subject: "sqlite", opsPerSecond: sqliteFlush, unit: "documents" },
    ],
    comparisons: [{ group: "memory per principal", subject: "vigil", peer: "naive", ratio: principals.bytesPerEntity / naive }],
    targets: [
      { description: `memory per tracked entity (${ENTITIES.toLocaleString("en-US")} entities, worst kind)`, target: `≤ ${TARGET_BYTES} bytes`, actual: `${worst.toFixed(0)} bytes`, met: worst <= TARGET_BYTES },
      { description: "context build+observe, one core (CloudTrail), events per CPU-second", target: "≥ 20,000 events/s (whole pipeline)", actual: `${Math.round(ctRate)} events/s`, met: ctRate >= 20_000 },
    ],
    notes: [principals, resources, costs].map((item) => `${item.label}: ${item.bytesPerEntity.toFixed(0)} bytes/entity`),
  };
  log(`memory target ≤ ${TARGET_BYTES} bytes per entity: ${worst <= TARGET_BYTES ? "met" : "MISSED"} (worst ${worst.toFixed(0)})`);
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
