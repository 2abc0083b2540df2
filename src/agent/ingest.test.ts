import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

/**
 * A pipeline that records batches and marks them processed; it fails the next `failNext` batches
 * (storage down), and every batch holding one of `bad` (an event it cannot decide).
 */
function recordingPipeline(storage: Storage, bad: ReadonlySet<string> = new Set()): Pipeline & { batches: string[][]; failNext: number; attempts: number } {
  const pipeline = {
    batches: [] as string[][],
    failNext: 0,
    attempts: 0,
    async processBatch(events: readonly StoredEvent[]) {
      pipeline.attempts++;
      if (pipeline.failNext > 0) {
        pipeline.failNext--;
        throw new Error("storage is down");
      }
      const ids = events.map((e) => e.event.id);
      if (ids.some((id) => bad.has(id))) throw new Error(`cannot decide ${ids.filter((id) => bad.has(id)).join(", ")}`);
      pipeline.batches.push(ids);
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

  it("refuses a request larger than the whole queue as bad input naming the capacity (a 429 would never clear), storing nothing of it", async () => {
    const pipeline = recordingPipeline(storage);
    const ingestor = createIngestor({ storage, pipeline, clock, capacity: 3, batchSize: 10, mode: "local" });
    const error = await ingestor.accept([event("a"), event("b"), event("c"), event("d")]).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "events" } });
    expect((error as Error).message).toMatch(/4 events.*ingest queue holds at most 3.*ingest\.queueCapacity/);
    expect(await storage.countEvents()).toBe(0);
    expect((await ingestor.accept([event("a"), event("b"), event("c")])).stored).toHaveLength(3);
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
    // Retried one event at a time after the failure (to find an event at fault), in order.
    expect(pipeline.batches.flat()).toEqual(["x", "y"]);
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
    expect(() => decodeBatch(new TextEncoder().encode("nope"))).toThrow(/bus message is not JSON/);
    expect(() => decodeBatch(new TextEncoder().encode('[{"seq":1,"receivedAt":"2025-01-01T00:00:00Z","event":{"id":"x","source":"/s","type":"t"}},{"seq":"2"}]'))).toThrow(/\[1\]\.seq/);
    expect(() => decodeBatch(new TextEncoder().encode('[{"seq":1,"receivedAt":"2025-01-01T00:00:00Z","event":{"id":"x","type":"t"}}]'))).toThrow(/\[0\]\.event: expected a CloudEvent/);
    expect(() => decodeBatch(new TextEncoder().encode('[{"seq":1,"event":{"id":"x","source":"/s","type":"t"}}]'))).toThrow(/\[0\]\.receivedAt/);
  });
});

describe("ingestor: failing batches", () => {
  it("does not retry a failed batch each time new events arrive: it waits the retry delay", async () => {
    const pipeline = recordingPipeline(storage, new Set(["a"]));
    const errors: string[] = [];
    const ingestor = createIngestor({ storage, pipeline, clock, capacity: 100, batchSize: 10, mode: "local", retryDelayMs: 2_000, onError: (message) => errors.push(message) });
    await ingestor.start();
    await ingestor.accept([event("a")]);
    for (let index = 0; index < 10; index++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await ingestor.accept([event(`n-${index}`)]);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    // One attempt, then the loop waits 2 s whatever arrives meanwhile.
    expect(pipeline.attempts).toBe(1);
    expect(errors).toHaveLength(1);
    await ingestor.stop();
  });

  it("leaves an event that keeps failing pending, reports it, and decides the events around it", async () => {
    const pipeline = recordingPipeline(storage, new Set(["bad"]));
    const errors: string[] = [];
    const ingestor = createIngestor({ storage, pipeline, clock, capacity: 4, batchSize: 10, mode: "local", retryDelayMs: 1, maxAttempts: 3, onError: (message) => errors.push(message) });
    await ingestor.start();
    await ingestor.accept([event("good-1"), event("bad"), event("good-2")]);
    await ingestor.idle();
    expect(pipeline.batches.flat()).toEqual(["good-1", "good-2"]);
    expect((await storage.pendingEvents(10)).map((e) => e.event.id)).toEqual(["bad"]);
    expect(errors.some((message) => message.includes("/t/bad") && message.includes("pending"))).toBe(true);
    // The queue is free again: a full request is accepted, not refused with 429.
    await ingestor.accept([event("n-1"), event("n-2"), event("n-3"), event("n-4")]);
    await ingestor.idle();
    expect(pipeline.batches.flat()).toEqual(["good-1", "good-2", "n-1", "n-2", "n-3", "n-4"]);
    expect(ingestor.stats()).toMatchObject({ queued: 0, processed: 6 });
    await ingestor.stop();
  });

  it("recovery at start is not stuck behind a pending event that keeps failing", async () => {
    await storage.appendEvents([event("old-1"), event("old-bad"), event("old-2")], clock.now().toISOString());
    const pipeline = recordingPipeline(storage, new Set(["old-bad"]));
    const ingestor = createIngestor({ storage, pipeline, clock, capacity: 100, batchSize: 2, mode: "local", retryDelayMs: 1, maxAttempts: 2 });
    await ingestor.accept([event("new-1")]);
    await ingestor.start();
    await ingestor.idle();
    expect(pipeline.batches.flat()).toEqual(["old-1", "old-2", "new-1"]);
    expect((await storage.pendingEvents(10)).map((e) => e.event.id)).toEqual(["old-bad"]);
    await ingestor.stop();
  });

  it("keeps retrying (does not set an event aside) while the store itself does not answer", async () => {
    const pipeline = recordingPipeline(storage, new Set(["x"]));
    // Once started, reads fail as well: the store is down, not the event at fault.
    let down = false;
    const flaky = {
      appendEvents: storage.appendEvents.bind(storage),
      pendingEvents: async (limit: number) => {
        if (down) throw new Error("database is down");
        return storage.pendingEvents(limit);
      },
    } as unknown as Storage;
    const errors: string[] = [];
    const ingestor = createIngestor({ storage: flaky, pipeline, clock, capacity: 100, batchSize: 10, mode: "local", retryDelayMs: 1, maxAttempts: 2, onError: (message) => errors.push(message) });
    await ingestor.start();
    await ingestor.idle();
    down = true;
    await ingestor.accept([event("x")]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pipeline.attempts).toBeGreaterThan(2);
    expect(errors.some((message) => message.includes("stays pending in storage"))).toBe(false);
    expect(ingestor.stats().queued).toBe(1);
    await ingestor.stop();
  });
});

describe("ingestor: recovery", () => {
  it("retries reading the pending events when the first read fails, instead of leaving them to the next start", async () => {
    await storage.appendEvents([event("old-1"), event("old-2")], clock.now().toISOString());
    const pipeline = recordingPipeline(storage);
    let reads = 0;
    const flaky = {
      appendEvents: storage.appendEvents.bind(storage),
      pendingEvents: async (limit: number) => {
        if (reads++ === 0) throw new Error("connection reset");
        return storage.pendingEvents(limit);
      },
    } as unknown as Storage;
    const errors: string[] = [];
    const ingestor = createIngestor({ storage: flaky, pipeline, clock, capacity: 100, batchSize: 10, mode: "local", retryDelayMs: 1, onError: (message) => errors.push(message) });
    await ingestor.start();
    await ingestor.accept([event("new-1")]);
    await ingestor.idle();
    expect(pipeline.batches.flat()).toEqual(["old-1", "old-2", "new-1"]);
    expect(await storage.pendingEvents(10)).toEqual([]);
    expect(errors).toHaveLength(1);
    await ingestor.stop();
  });
});

describe("ingestor: recovery and accepts at the same time", () => {
  it("decides an event once when recovery reads it from storage before its accept has queued it", async () => {
    // A store on the network (PostgreSQL) commits the insert and answers a moment later: in between,
    // the recovery's read of the pending events already sees the new event.
    const dir = mkdtempSync(join(tmpdir(), "vigil-ingest-"));
    const file = await openStorage(parseConfig({ store: { path: join(dir, "vigil.db") } }));
    try {
      await file.appendEvents([event("old-1")], clock.now().toISOString());
      let committed: () => void = () => undefined;
      const insertCommitted = new Promise<void>((resolve) => (committed = resolve));
      const networked = {
        appendEvents: async (events: readonly Event[], at: string) => {
          const result = await file.appendEvents(events, at);
          committed();
          await new Promise((resolve) => setTimeout(resolve, 30));
          return result;
        },
        pendingEvents: (limit: number) => file.pendingEvents(limit),
        markProcessed: (seqs: readonly number[], at: string) => file.markProcessed(seqs, at),
      } as unknown as Storage;
      const pipeline = recordingPipeline(networked);
      const ingestor = createIngestor({ storage: networked, pipeline, clock, capacity: 100, batchSize: 10, mode: "local" });
      const accepted = ingestor.accept([event("new-1")]);
      await insertCommitted;
      await ingestor.start();
      await accepted;
      await ingestor.idle();
      await new Promise((resolve) => setTimeout(resolve, 20));
      await ingestor.idle();
      expect(pipeline.batches.flat().sort()).toEqual(["new-1", "old-1"]);
      expect(await file.pendingEvents(10)).toEqual([]);
      await ingestor.stop();
    } finally {
      await file.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
