import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMemoryBus } from "../bus/index.js";
import { parseConfig } from "../config.js";
import { createContextStage, type ContextStage } from "../context/index.js";
import type { Event } from "../core/event.js";
import type { Bus, Storage, StoredEvent } from "../core/ports.js";
import { createDecider } from "../decide/index.js";
import { openStorage } from "./adapters.js";
import { createManualClock } from "./clock.js";
import { createFeedbackService } from "./feedback.js";
import { encodeBatch, EVENTS_SUBJECT } from "./ingest.js";
import { createPipeline } from "./pipeline.js";
import { createPolicyCatalog, loadPolicySet } from "./policies.js";
import { createWorker, type Worker } from "./worker.js";

const event = (id: string): Event => ({ specversion: "1.0", id, source: "/t", type: "com.example.unknown", subject: "widget", data: { n: 1 } });

let storage: Storage;
let bus: Bus;
let worker: Worker | undefined;
const clock = createManualClock("2025-03-03T10:00:00Z");
/** Event ids in the order the context stage observed them. */
let observed: string[];
let problems: string[];

beforeEach(async () => {
  storage = await openStorage(parseConfig({ store: { path: ":memory:" } }));
  bus = createMemoryBus({ ackWaitMs: 60_000 });
  observed = [];
  problems = [];
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await bus.close();
  await storage.close();
});

/** `before`: awaited before each batch goes to the pipeline (after the worker took it), to hold a worker mid-batch. */
async function createTestWorker(options: { readonly before?: () => Promise<void>; readonly prefix?: string } = {}): Promise<Worker> {
  const real = createContextStage({ storage, clock, settings: parseConfig({}).context as never });
  const context: ContextStage = {
    ...real,
    observe: (observedEvent, ctx, findings) => {
      observed.push(`${options.prefix ?? ""}${observedEvent.id}`);
      real.observe(observedEvent, ctx, findings);
    },
  };
  const { policySet, load, env } = loadPolicySet([]);
  const catalog = createPolicyCatalog({ policySet, env, loadErrors: load.errors, storage, clock });
  await catalog.refresh();
  const pipeline = createPipeline({ storage, context, catalog, decider: createDecider({ env }), clock, feedback: createFeedbackService(storage, clock) });
  const held: typeof pipeline = options.before === undefined ? pipeline : { ...pipeline, processBatch: async (events) => { await options.before?.(); return pipeline.processBatch(events); } };
  return createWorker({ bus, storage, pipeline: held, clock, batchSize: 100, sweepIntervalMs: 3_600_000, staleAfterMs: 60_000, claimMs: 30_000, onError: (message) => problems.push(message) });
}

async function startWorker(): Promise<Worker> {
  const created = await createTestWorker();
  await created.start();
  worker = created;
  return created;
}

async function accept(ids: readonly string[]): Promise<readonly StoredEvent[]> {
  return (await storage.appendEvents(ids.map(event), clock.now().toISOString())).stored;
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("scale-out worker", () => {
  it("a batch delivered again after it was recorded is acked without being decided or observed again", async () => {
    const w = await startWorker();
    const stored = await accept(["a-1", "a-2", "a-3"]);
    await bus.publish(EVENTS_SUBJECT, encodeBatch(stored));
    await until(() => w.stats().events === 3, "the first delivery");
    await bus.publish(EVENTS_SUBJECT, encodeBatch(stored));
    await until(() => w.stats().alreadyProcessed === 3, "the second delivery");
    expect(w.stats()).toMatchObject({ events: 3, batches: 1, alreadyProcessed: 3, failures: 0 });
    expect(observed).toEqual(["a-1", "a-2", "a-3"]);
    expect(await storage.listDecisions({})).toHaveLength(3);
  });

  it("a queued batch whose events the sweep already decided decides only the rest", async () => {
    const w = await startWorker();
    const stale = await accept(["s-1", "s-2"]);
    clock.advance(61_000);
    expect(await w.sweep()).toBe(2);
    const fresh = await accept(["s-3"]);
    // The api process published all three together; the sweep took the two stale ones first.
    await bus.publish(EVENTS_SUBJECT, encodeBatch([...stale, ...fresh]));
    await until(() => w.stats().events === 3, "the bus batch");
    expect(w.stats()).toMatchObject({ swept: 2, alreadyProcessed: 2, events: 3 });
    expect(observed).toEqual(["s-1", "s-2", "s-3"]);
    expect(await storage.pendingEvents(10)).toEqual([]);
  });

  it("two workers sweeping the same pending events at once: one decides and observes them, the other leaves them (claimed)", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => { entered = resolve; });
    const first = await createTestWorker({ prefix: "A:", before: async () => { entered(); await gate; } });
    const second = await createTestWorker({ prefix: "B:" });
    await accept(["r-1", "r-2"]);
    clock.advance(61_000);
    const firstSweep = first.sweep();
    await inside; // A took the events and is deciding them
    expect(await second.sweep()).toBe(0);
    expect(second.stats()).toMatchObject({ events: 0, claimedElsewhere: 2, alreadyProcessed: 0 });
    release();
    expect(await firstSweep).toBe(2);
    expect(observed).toEqual(["A:r-1", "A:r-2"]);
    expect(await storage.pendingEvents(10)).toEqual([]);
    // Recorded: a later delivery to B counts them as processed, not claimed.
    await second.start();
    worker = second;
    await bus.publish(EVENTS_SUBJECT, encodeBatch(await storage.listEvents({})));
    await until(() => second.stats().alreadyProcessed === 2, "the delivery after the record");
    expect(observed).toEqual(["A:r-1", "A:r-2"]);
  });

  it("a worker whose batch failed leaves its claim to lapse; then another worker's sweep decides the events", async () => {
    let fail = true;
    const first = await createTestWorker({ prefix: "A:", before: async () => { if (fail) throw new Error("store down"); } });
    const second = await createTestWorker({ prefix: "B:" });
    await accept(["f-1"]);
    clock.advance(61_000);
    await expect(first.sweep()).rejects.toThrow("store down");
    fail = false;
    expect(await second.sweep()).toBe(0);
    clock.advance(30_000); // claimMs
    expect(await second.sweep()).toBe(1);
    expect(observed).toEqual(["B:f-1"]);
  });

  it("an undecodable bus message is acked and reported, not redelivered forever; the sweep decides its events", async () => {
    const w = await startWorker();
    await accept(["u-1"]);
    await bus.publish(EVENTS_SUBJECT, new TextEncoder().encode("[{\"seq\":\"one\"}]"));
    await bus.publish(EVENTS_SUBJECT, new TextEncoder().encode("not json"));
    await until(() => w.stats().undecodable === 2, "both messages");
    expect(problems.filter((message) => message.includes("not a batch of stored events"))).toHaveLength(2);
    expect(w.stats()).toMatchObject({ failures: 0, events: 0 });
    clock.advance(61_000);
    expect(await w.sweep()).toBe(1);
    expect(observed).toEqual(["u-1"]);
  });
});
