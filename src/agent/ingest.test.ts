import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import type { Event } from "../core/event.js";
import type { Storage, StoredEvent } from "../core/ports.js";
import { openStorage } from "./adapters.js";
import { createManualClock } from "./clock.js";
import { createIngestor, decodeBatch, encodeBatch } from "./ingest.js";
import type { Pipeline } from "./pipeline.js";

const clock = createManualClock("2025-03-03T10:00:00Z");
const event = (id: string): Event => ({ specversion: "1.0", id, source: "/t", type: "com.example.t" });

/** A pipeline that records batches, marks them processed, and fails when told to. */
function recordingPipeline(storage: Storage): Pipeline & { batches: string[][]; failNext: number } {
  const pipeline = {
    batches: [] as string[][],
    failNext: 0,
    async processBatch(events: readonly StoredEvent[]) {
      if (pipeline.failNext > 0) {
        pipeline.failNext--;
        throw new Error("storage is down");
      }
      pipeline.batches.push(events.map((e) => e.event.id));
      await storage.markProcessed(events.map((e) => e.seq), clock.now().toISOString());
      return [];
    },
    decideEvent: async () => { throw new Error("not used"); },
    flushContext: async () => undefined,
    exceptionsFor: async () => { throw new Error("not used"); },
  };
  return pipeline;
}

let storage: Storage;
beforeEach(async () => {
  storage = await openStorage(parseConfig({ store: { path: ":memory:" } }));
});
afterEach(async () => {
  await storage.close();
});

describe("ingestor", () => {
  it("refuses a request that does not fit (VIGIL_BACKPRESSURE) before storing anything of it", async () => {
    const pipeline = recordingPipeline(storage);
    const ingestor = createIngestor({ storage, pipeline, clock, capacity: 3, batchSize: 10, mode: "local" });
    await ingestor.accept([event("a"), event("b")]);
    await expect(ingestor.accept([event("c"), event("d")])).rejects.toMatchObject({ code: "VIGIL_BACKPRESSURE" });
    expect(await storage.countEvents()).toBe(2);
    expect((await ingestor.accept([event("a")])).duplicates).toEqual(["/t/a"]);
    await ingestor.start();
    await ingestor.idle();
    expect(pipeline.batches).toEqual([["a", "b"]]);
    await ingestor.accept([event("c"), event("d")]);
    await ingestor.idle();
    expect(pipeline.batches.flat()).toEqual(["a", "b", "c", "d"]);
    await ingestor.stop();
  });

  it("processes events left pending by an earlier process first, then the queue, each once", async () => {
    await storage.appendEvents([event("old-1"), event("old-2"), event("old-3")], clock.now().toISOString());
    const pipeline = recordingPipeline(storage);
    const ingestor = createIngestor({ storage, pipeline, clock, capacity: 100, batchSize: 2, mode: "local" });
    await ingestor.accept([event("new-1")]);
    await ingestor.start();
    await ingestor.idle();
    expect(pipeline.batches.flat()).toEqual(["old-1", "old-2", "old-3", "new-1"]);
    expect(await storage.pendingEvents(10)).toEqual([]);
    await ingestor.stop();
  });

  it("keeps a batch that failed and retries it; nothing is dropped", async () => {
    const pipeline = recordingPipeline(storage);
    pipeline.failNext = 2;
    const errors: string[] = [];
    const ingestor = createIngestor({ storage, pipeline, clock, capacity: 100, batchSize: 10, mode: "local", retryDelayMs: 1, onError: (message) => errors.push(message) });
    await ingestor.start();
    await ingestor.accept([event("x"), event("y")]);
    await ingestor.idle();
    expect(pipeline.batches).toEqual([["x", "y"]]);
    expect(errors).toHaveLength(2);
    expect(ingestor.stats()).toMatchObject({ processed: 2, failures: 2, queued: 0 });
    await ingestor.stop();
  });

  it("in publish mode hands each accepted batch to the bus and processes nothing itself", async () => {
    const published: Uint8Array[] = [];
    const bus = { kind: "test", init: async () => {}, close: async () => {}, publish: async (_subject: string, data: Uint8Array) => { published.push(data); }, subscribe: async () => async () => {} };
    const pipeline = recordingPipeline(storage);
    const ingestor = createIngestor({ storage, pipeline, clock, capacity: 100, batchSize: 10, mode: "publish", bus });
    await ingestor.start();
    await ingestor.accept([event("p-1"), event("p-2")]);
    expect(published).toHaveLength(1);
    expect(decodeBatch(published[0] as Uint8Array).map((e) => e.event.id)).toEqual(["p-1", "p-2"]);
    expect(pipeline.batches).toEqual([]);
    expect(decodeBatch(encodeBatch([]))).toEqual([]);
    expect(() => decodeBatch(new TextEncoder().encode("{}"))).toThrow(/not a batch/);
  });
});
