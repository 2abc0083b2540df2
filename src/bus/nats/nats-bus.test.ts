import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isVigilError } from "../../core/index.js";
import { busContract, eventually } from "../bus-contract.js";
import { consumerName, createNatsBus } from "./index.js";

/** Tests run against the machine's NATS with JetStream (RULES: 127.0.0.1:4222), one fresh stream per test, deleted after. */
const servers = process.env["VIGIL_TEST_NATS_URL"] ?? "nats://127.0.0.1:4222";
let counter = 0;
const uniqueStream = () => `VIGIL_TEST_${process.pid}_${Date.now().toString(36)}_${counter++}`;

let admin: NatsConnection;
beforeAll(async () => {
  admin = await connect({ servers, name: "vigil-test-admin" });
});
afterAll(async () => {
  await admin.close();
});

const deleteStream = async (stream: string) => {
  const manager = await jetstreamManager(admin);
  await manager.streams.delete(stream).catch(() => undefined);
};

busContract("nats", async () => {
  const stream = uniqueStream();
  return {
    create: ({ ackWaitMs }) => createNatsBus({ servers, stream, ackWaitMs, storage: "memory" }),
    dispose: () => deleteStream(stream),
  };
});

describe("nats bus specifics", () => {
  it("resolves publish once the stream has stored the message", async () => {
    const stream = uniqueStream();
    const bus = createNatsBus({ servers, stream });
    try {
      await bus.init();
      await bus.publish("events.ingested", new TextEncoder().encode("{}"));
      await bus.publish("events.ingested", new TextEncoder().encode("{}"));
      const info = await (await jetstreamManager(admin)).streams.info(stream);
      expect(info.state.messages).toBe(2);
      expect(info.config.subjects).toEqual([`${stream}.>`]);
      expect(info.config.storage).toBe("file");
    } finally {
      await bus.close();
      await deleteStream(stream);
    }
  });

  it("keeps messages and un-acked work across a restart of the bus", async () => {
    const stream = uniqueStream();
    const first = createNatsBus({ servers, stream, ackWaitMs: 500 });
    const second = createNatsBus({ servers, stream, ackWaitMs: 500 });
    try {
      await first.init();
      const seenByFirst: string[] = [];
      await first.subscribe("jobs.run", "runners", async (message) => {
        seenByFirst.push(new TextDecoder().decode(message.data)); // crashes before ack
      });
      await first.publish("jobs.run", new TextEncoder().encode("job-1"));
      await eventually(() => seenByFirst.length >= 1, "the first delivery");
      await first.close();
      await second.init();
      await second.publish("jobs.run", new TextEncoder().encode("job-2"));
      const seenBySecond: string[] = [];
      await second.subscribe("jobs.run", "runners", async (message) => {
        seenBySecond.push(new TextDecoder().decode(message.data));
        await message.ack();
      });
      await eventually(() => seenBySecond.length === 2, "both jobs after the restart");
      expect(seenBySecond.sort()).toEqual(["job-1", "job-2"]);
    } finally {
      await first.close();
      await second.close();
      await deleteStream(stream);
    }
  });

  it("names one durable consumer per (group, subject)", () => {
    const names = [consumerName("g", "a.b"), consumerName("g", "a.*"), consumerName("g", "a.>"), consumerName("h", "a.b"), consumerName("g_a", "b")];
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(consumerName("g", "a.b")).toBe(consumerName("g", "a.b"));
  });

  it("validates its configuration with VIGIL_BAD_CONFIG", () => {
    expect(() => createNatsBus({ servers, stream: "bad.name" })).toThrow(/bus\.nats\.stream/);
    expect(() => createNatsBus({ servers: [], stream: "ok" })).toThrow(/bus\.nats\.servers/);
    expect(() => createNatsBus({ servers, stream: "ok", subjectPrefix: "a.*" })).toThrow(/subjectPrefix/);
  });

  it("reports an unreachable server as VIGIL_STORAGE naming servers and stream", async () => {
    const bus = createNatsBus({ servers: "nats://127.0.0.1:1", stream: "nowhere", connection: { timeout: 1000, reconnect: false } });
    try {
      await bus.init();
      expect.fail("init resolved");
    } catch (error) {
      expect(isVigilError(error) && error.code).toBe("VIGIL_STORAGE");
      expect(String(error)).toContain("nats://127.0.0.1:1");
      expect(String(error)).toContain("stream nowhere");
    }
    await bus.close();
  });
});
