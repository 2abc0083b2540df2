import { createConnection, createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isVigilError } from "../../core/index.js";
import type { VigilError } from "../../core/index.js";
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
    create: ({ ackWaitMs, concurrency }) => createNatsBus({ servers, stream, ackWaitMs, storage: "memory", ...(concurrency === undefined ? {} : { concurrency }) }),
    dispose: () => deleteStream(stream),
  };
});

/** A TCP proxy to the NATS server whose connections can be cut, and new ones refused, to play a network outage. */
async function outageProxy(): Promise<{ url: string; cut(ms: number): Promise<void>; close(): Promise<void> }> {
  const [host, port] = new URL(servers.split(",")[0]!.replace(/^nats:/, "http:")).host.split(":");
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection(Number(port ?? 4222), host ?? "127.0.0.1");
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", end);
      socket.on("close", end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `nats://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async cut(ms) {
      refusing = true;
      for (const socket of [...sockets]) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, ms));
      refusing = false;
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of [...sockets]) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

describe("nats bus across connection loss", () => {
  it("keeps publishing and delivering after an outage longer than the client's default reconnect attempts", { timeout: 30_000 }, async () => {
    const stream = uniqueStream();
    const proxy = await outageProxy();
    const errors: VigilError[] = [];
    // 100 ms between attempts: the client's default of 10 attempts gave up after about a second, and the bus stayed dead.
    const bus = createNatsBus({ servers: proxy.url, stream, ackWaitMs: 2000, storage: "memory", connection: { reconnectTimeWait: 100 }, onError: (error) => errors.push(error) });
    try {
      await bus.init();
      const seen: string[] = [];
      await bus.subscribe("jobs.run", "runners", async (message) => {
        seen.push(new TextDecoder().decode(message.data));
        await message.ack();
      });
      await bus.publish("jobs.run", new TextEncoder().encode("before"));
      await eventually(() => seen.length === 1, "the delivery before the outage");
      await proxy.cut(2500);
      let published = false;
      for (let attempt = 0; attempt < 100 && !published; attempt++) {
        try {
          await bus.publish("jobs.run", new TextEncoder().encode("after"));
          published = true;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      expect(published).toBe(true);
      await eventually(() => seen.includes("after"), "the delivery after the outage", 15_000);
      expect(errors).toEqual([]);
    } finally {
      await bus.close();
      await proxy.close();
      await deleteStream(stream);
    }
  });

  it("reports a subscription that stops because the connection is closed for good", { timeout: 30_000 }, async () => {
    const stream = uniqueStream();
    const proxy = await outageProxy();
    const errors: VigilError[] = [];
    const bus = createNatsBus({ servers: proxy.url, stream, storage: "memory", connection: { reconnectTimeWait: 100, maxReconnectAttempts: 2 }, onError: (error) => errors.push(error) });
    try {
      await bus.init();
      await bus.subscribe("jobs.run", "runners", async (message) => {
        await message.ack();
      });
      await proxy.cut(2000);
      await eventually(() => errors.length > 0, "the subscription's stop to be reported");
      expect(errors[0]?.message).toMatch(/subscription to jobs\.run as group runners .*stopped/);
    } finally {
      await bus.close();
      await proxy.close();
      await deleteStream(stream);
    }
  });
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

  it("refuses a message larger than the server's max_payload naming its size, the limit and what to change", async () => {
    const stream = uniqueStream();
    const bus = createNatsBus({ servers, stream, storage: "memory" });
    try {
      await bus.init();
      const limit = admin.info!.max_payload;
      // It failed with the client's "'payload' max_payload size exceeded": no size, no limit, no fix.
      const refused: unknown = await bus.publish("events", new Uint8Array(limit + 1)).then(() => undefined, (error: unknown) => error);
      expect(refused).toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "data" } });
      expect(String(refused)).toContain(`${limit + 1} bytes`);
      expect(String(refused)).toContain(`max_payload of ${limit} bytes`);
      expect(String(refused)).toMatch(/publish smaller messages .* or raise max_payload/);
      await bus.publish("events", new Uint8Array(Math.floor(limit / 2)));
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

  it("refuses at init a stream that does not capture the bus's subjects, naming the prefix and the stream's subjects", async () => {
    const stream = uniqueStream();
    const first = createNatsBus({ servers, stream, subjectPrefix: "first", storage: "memory" });
    const other = createNatsBus({ servers, stream, subjectPrefix: "second", storage: "memory" });
    const narrower = createNatsBus({ servers, stream, subjectPrefix: "first.sub", storage: "memory" });
    try {
      await first.init();
      // It initialized, then every publish failed with "jetstream is not enabled" and every subscribe with "consumer filter subject is not a valid subset".
      try {
        await other.init();
        expect.fail("init resolved");
      } catch (error) {
        expect(isVigilError(error) && error.code).toBe("VIGIL_BAD_CONFIG");
        expect(isVigilError(error) && error.details.field).toBe("subjectPrefix");
        expect(String(error)).toContain("first.>");
        expect(String(error)).toContain("second.>");
      }
      await narrower.init();
      const seen: string[] = [];
      await narrower.subscribe("jobs", "g", async (message) => {
        seen.push(message.subject);
        await message.ack();
      });
      await narrower.publish("jobs", new TextEncoder().encode("x"));
      await eventually(() => seen.length === 1, "a delivery under a prefix the stream captures");
      expect(seen).toEqual(["jobs"]);
    } finally {
      await first.close();
      await other.close();
      await narrower.close();
      await deleteStream(stream);
    }
  });

  it("keeps the groups of two prefixes sharing one stream apart: the same group and subject under each gets its own messages", async () => {
    const stream = uniqueStream();
    // The stream captures first.>, so a bus with prefix first.sub may share it (see the test above).
    const first = createNatsBus({ servers, stream, subjectPrefix: "first", storage: "memory" });
    const narrower = createNatsBus({ servers, stream, subjectPrefix: "first.sub", storage: "memory" });
    try {
      await first.init();
      await narrower.init();
      const seen: { first: string[]; narrower: string[] } = { first: [], narrower: [] };
      await first.subscribe("jobs", "g", async (message) => {
        seen.first.push(new TextDecoder().decode(message.data));
        await message.ack();
      });
      // Same group and subject: one consumer name, so its subscribe re-filtered the first bus's
      // consumer to first.sub.jobs, and both buses competed for what that filter takes.
      await narrower.subscribe("jobs", "g", async (message) => {
        seen.narrower.push(new TextDecoder().decode(message.data));
        await message.ack();
      });
      for (let index = 0; index < 4; index++) await first.publish("jobs", new TextEncoder().encode(`first-${index}`));
      await narrower.publish("jobs", new TextEncoder().encode("narrower"));
      await eventually(() => seen.first.length === 4 && seen.narrower.length === 1, "each bus's own messages", 5_000);
      expect(seen).toEqual({ first: ["first-0", "first-1", "first-2", "first-3"], narrower: ["narrower"] });
    } finally {
      await first.close();
      await narrower.close();
      await deleteStream(stream);
    }
  });

  it("names one durable consumer per (group, subject)", () => {
    expect(consumerName("g", "a.b", "p")).not.toBe(consumerName("g", "a.b"));
    expect(consumerName("g", "a.b", "p")).not.toBe(consumerName("g", "a.b", "q"));
    const names = [consumerName("g", "a.b"), consumerName("g", "a.*"), consumerName("g", "a.>"), consumerName("h", "a.b"), consumerName("g_a", "b")];
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(consumerName("g", "a.b")).toBe(consumerName("g", "a.b"));
  });

  it("validates its configuration with VIGIL_BAD_CONFIG", () => {
    expect(() => createNatsBus({ servers, stream: "bad.name" })).toThrow(/bus\.stream/);
    expect(() => createNatsBus({ servers: [], stream: "ok" })).toThrow(/bus\.servers/);
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

describe("nats bus settings errors", () => {
  it("name the vigil.yaml keys (bus.stream, bus.servers), not keys vigil.yaml does not have", () => {
    const fieldOf = (make: () => unknown): unknown => {
      try {
        make();
        return undefined;
      } catch (error) {
        return isVigilError(error) ? error.details.field : String(error);
      }
    };
    expect(fieldOf(() => createNatsBus({ servers: [], stream: "VIGIL_EVENTS" }))).toBe("bus.servers");
    expect(fieldOf(() => createNatsBus({ servers: ["nats://127.0.0.1:4222"], stream: "bad stream" }))).toBe("bus.stream");
  });
});
