/**
 * Publish mode (the api role) against the machine's NATS JetStream (127.0.0.1:4222, or
 * VIGIL_TEST_NATS_URL): a request may hold more than one bus message can carry.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createNatsBus } from "../bus/index.js";
import { parseConfig } from "../config.js";
import type { Event } from "../core/event.js";
import type { Bus, Storage } from "../core/ports.js";
import { openStorage } from "./adapters.js";
import { createManualClock } from "./clock.js";
import { batchMessages, createIngestor, decodeBatch, EVENTS_SUBJECT } from "./ingest.js";
import type { Pipeline } from "./pipeline.js";

const servers = process.env["VIGIL_TEST_NATS_URL"] ?? "nats://127.0.0.1:4222";
const stream = `VIGIL_TEST_PUBLISH_${process.pid}_${Date.now().toString(36)}`;
const clock = createManualClock("2025-03-03T10:00:00Z");
const unused: Pipeline = {
  processBatch: async () => { throw new Error("publish mode processes nothing"); },
  decideEvent: async () => { throw new Error("publish mode decides nothing"); },
  flushContext: async () => undefined,
  exceptionsFor: async () => ({ applied: [], problems: [] }),
};

let storage: Storage;
let bus: Bus;
beforeEach(async () => {
  storage = await openStorage(parseConfig({ store: { path: ":memory:" } }));
  bus = createNatsBus({ servers, stream, storage: "memory" });
  await bus.init();
});
afterEach(async () => {
  await bus.close();
  await storage.close();
  const admin = await connect({ servers });
  await (await jetstreamManager(admin)).streams.delete(stream).catch(() => undefined);
  await admin.close();
});

describe("ingest in publish mode on NATS", () => {
  it("splits an accepted request larger than the server's max_payload into messages that fit, so no event waits for the sweep", async () => {
    const errors: string[] = [];
    const ingestor = createIngestor({ storage, pipeline: unused, clock, capacity: 10_000, batchSize: 256, mode: "publish", bus, onError: (message, error) => errors.push(`${message}: ${String(error)}`) });
    await ingestor.start();
    // 400 events of ~4 KB: about 1.7 MB as one message, past NATS's default max_payload of 1 MB.
    const events: Event[] = Array.from({ length: 400 }, (_unused, i) => ({ specversion: "1.0", id: `big-${i}`, source: "/t", type: "com.example.t", data: { blob: "x".repeat(4_000), i } }));
    const received: string[] = [];
    const sizes: number[] = [];
    const stop = await bus.subscribe(EVENTS_SUBJECT, "publish-test", async (message) => {
      sizes.push(message.data.length);
      for (const stored of decodeBatch(message.data)) received.push(stored.event.id);
    });
    try {
      const accepted = await ingestor.accept(events);
      expect(accepted.stored).toHaveLength(400);
      for (let waited = 0; received.length < 400 && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(errors).toEqual([]);
      expect(received.sort()).toEqual(events.map((e) => e.id).sort());
      expect(sizes.length).toBeGreaterThan(1);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(bus.maxMessageBytes ?? Number.POSITIVE_INFINITY);
    } finally {
      await stop();
      await ingestor.stop();
    }
  });

  it("cuts a batch in order into messages under the limit; an event larger than a message goes alone", () => {
    const stored = (i: number, size: number) => ({ seq: i + 1, receivedAt: "2025-03-03T10:00:00Z", event: { specversion: "1.0", id: `e-${i}`, source: "/t", type: "t", data: "y".repeat(size) } as Event });
    const batch = [stored(0, 100), stored(1, 100), stored(2, 5_000), stored(3, 100), stored(4, 100), stored(5, 100)];
    const messages = batchMessages(batch, 1_000);
    expect(messages.map((m) => decodeBatch(m.data).map((e) => e.event.id))).toEqual([["e-0", "e-1"], ["e-2"], ["e-3", "e-4", "e-5"]]);
    expect(messages.map((m) => m.count)).toEqual([2, 1, 3]);
    for (const message of messages) if (message.count > 1) expect(message.data.length).toBeLessThanOrEqual(1_000);
    expect(batchMessages(batch, undefined)).toHaveLength(1);
  });
});

