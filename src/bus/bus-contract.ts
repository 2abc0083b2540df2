import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isVigilError } from "../core/index.js";
import type { Bus, BusMessage } from "../core/index.js";

/** Creates buses under test. Each harness owns one fresh namespace (a stream); buses it creates share it. */
export interface BusHarness {
  /** A new, not yet initialized bus on the harness's namespace; `concurrency`: handlers at once per subscription (default 1). */
  create(options: { readonly ackWaitMs: number; readonly concurrency?: number }): Bus;
  dispose(): Promise<void>;
}

/** Ack wait used by the suite: long enough for a loaded machine, short enough to keep redelivery tests quick. */
const ACK_WAIT_MS = 700;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (message: BusMessage) => decoder.decode(message.data);

/** Polls until `condition` holds (deliveries are asynchronous); fails with `what` after `timeoutMs`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The one Bus contract every adapter runs (bus/memory, bus/nats). Call it at the top level of
 * the adapter's test file.
 */
export function busContract(name: string, createHarness: () => Promise<BusHarness>): void {
  describe(`Bus contract: ${name}`, () => {
    let harness: BusHarness;
    let buses: Bus[];
    let bus: Bus;
    const open = async (concurrency?: number): Promise<Bus> => {
      const created = harness.create({ ackWaitMs: ACK_WAIT_MS, ...(concurrency === undefined ? {} : { concurrency }) });
      buses.push(created);
      await created.init();
      return created;
    };

    beforeEach(async () => {
      harness = await createHarness();
      buses = [];
      bus = await open();
    });

    afterEach(async () => {
      for (const created of buses) await created.close();
      await harness.dispose();
    });

    it("delivers what was published, bytes intact, and an acked message is not delivered again", async () => {
      const seen: BusMessage[] = [];
      await bus.subscribe("orders.created", "workers", async (message) => {
        seen.push(message);
        await message.ack();
      });
      const binary = new Uint8Array([0, 255, 128, 10, 13]);
      await bus.publish("orders.created", encoder.encode("one"));
      await bus.publish("orders.created", binary);
      await eventually(() => seen.length === 2, "two deliveries");
      expect(seen.map((message) => message.subject)).toEqual(["orders.created", "orders.created"]);
      expect(text(seen[0]!)).toBe("one");
      expect([...seen[1]!.data]).toEqual([...binary]);
      expect(seen.map((message) => message.redelivered)).toEqual([0, 0]);
      await pause(ACK_WAIT_MS * 2);
      expect(seen).toHaveLength(2);
    });

    it("keeps messages published before the group's first subscriber", async () => {
      for (const index of [1, 2, 3]) await bus.publish("jobs.new", encoder.encode(`job-${index}`));
      const seen: string[] = [];
      await bus.subscribe("jobs.new", "late", async (message) => {
        seen.push(text(message));
        await message.ack();
      });
      await eventually(() => seen.length === 3, "three retained messages");
      expect(seen).toEqual(["job-1", "job-2", "job-3"]);
    });

    it("gives each message to one member of a group (competing consumers)", async () => {
      const byWorker: string[][] = [[], []];
      for (const worker of [0, 1]) {
        await bus.subscribe("work.items", "pool", async (message) => {
          byWorker[worker]!.push(text(message));
          await pause(15);
          await message.ack();
        });
      }
      const sent = Array.from({ length: 20 }, (_unused, index) => `item-${index}`);
      for (const item of sent) await bus.publish("work.items", encoder.encode(item));
      await eventually(() => byWorker[0]!.length + byWorker[1]!.length >= 20, "20 deliveries");
      await pause(100);
      expect([...byWorker[0]!, ...byWorker[1]!].sort()).toEqual([...sent].sort());
      expect(byWorker[0]!.length).toBeGreaterThan(0);
      expect(byWorker[1]!.length).toBeGreaterThan(0);
    });

    it("gives every group its own copy", async () => {
      const audit: string[] = [];
      const decide: string[] = [];
      await bus.subscribe("events.in", "audit", async (message) => {
        audit.push(text(message));
        await message.ack();
      });
      await bus.subscribe("events.in", "decide", async (message) => {
        decide.push(text(message));
        await message.ack();
      });
      for (const value of ["a", "b", "c"]) await bus.publish("events.in", encoder.encode(value));
      await eventually(() => audit.length === 3 && decide.length === 3, "both groups");
      expect(audit).toEqual(["a", "b", "c"]);
      expect(decide).toEqual(["a", "b", "c"]);
    });

    it("matches * and > in subscriptions", async () => {
      const one: string[] = [];
      const rest: string[] = [];
      await bus.subscribe("orders.*", "one-token", async (message) => {
        one.push(message.subject);
        await message.ack();
      });
      await bus.subscribe("orders.>", "any-depth", async (message) => {
        rest.push(message.subject);
        await message.ack();
      });
      for (const subject of ["orders.a", "orders.b.c", "payments.a"]) await bus.publish(subject, encoder.encode(subject));
      await eventually(() => one.length === 1 && rest.length === 2, "wildcard deliveries");
      await pause(100);
      expect(one).toEqual(["orders.a"]);
      expect(rest.sort()).toEqual(["orders.a", "orders.b.c"]);
    });

    it("redelivers a message that was not acked within the ack wait", async () => {
      const deliveries: number[] = [];
      await bus.subscribe("retry.me", "slow", async (message) => {
        deliveries.push(message.redelivered);
        if (message.redelivered >= 1) await message.ack();
      });
      await bus.publish("retry.me", encoder.encode("x"));
      await eventually(() => deliveries.length >= 2, "a redelivery after the ack wait");
      expect(deliveries.slice(0, 2)).toEqual([0, 1]);
      await pause(ACK_WAIT_MS * 2);
      expect(deliveries).toHaveLength(2);
    });

    it("does not redeliver a message whose handler is still running past the ack wait", { timeout: 20_000 }, async () => {
      // A batch that takes longer than the ack wait (slow storage, an actuator) must not be handed
      // to another member meanwhile: both would decide it.
      const seen: string[] = [];
      let finished = false;
      for (const member of ["a", "b"]) {
        await bus.subscribe("slow.batch", "deciders", async (message) => {
          seen.push(`${member}:${message.redelivered}`);
          await pause(ACK_WAIT_MS * 3);
          await message.ack();
          finished = true;
        });
      }
      await bus.publish("slow.batch", encoder.encode("batch"));
      await eventually(() => finished, "the slow handler to finish", ACK_WAIT_MS * 10);
      await pause(ACK_WAIT_MS * 2);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatch(/:0$/);
    });

    it("handles each message once while a member's handlers are all busy past the ack wait (concurrency 2, a second member joining)", { timeout: 20_000 }, async () => {
      // NATS pulled a message ahead for a member running two slow handlers; waiting unseen, it
      // missed the ack wait, went to the other member, and the first handled it too, twice.
      // (Memory buses created apart share nothing: there the busy member handles all three.)
      const busy = await open(2);
      const other = await open(2);
      const seen: string[] = [];
      const acked = new Set<string>();
      const handler = (member: string) => async (message: BusMessage) => {
        seen.push(`${text(message)}:${message.redelivered}`);
        await pause(member === "busy" ? ACK_WAIT_MS * 3 : 10);
        await message.ack();
        acked.add(text(message));
      };
      await busy.subscribe("slow.many", "deciders", handler("busy"));
      for (const n of ["1", "2", "3"]) await busy.publish("slow.many", encoder.encode(n));
      await eventually(() => seen.length >= 2, "the busy member to start two handlers");
      await other.subscribe("slow.many", "deciders", handler("other"));
      await eventually(() => acked.size === 3, "every message to be handled", ACK_WAIT_MS * 15);
      await pause(ACK_WAIT_MS * 2);
      expect([...seen].sort()).toEqual(["1:0", "2:0", "3:0"]);
    });

    it("redelivers after nak, at once or after the asked delay", async () => {
      const deliveries: { redelivered: number; at: number }[] = [];
      await bus.subscribe("nak.now", "g", async (message) => {
        deliveries.push({ redelivered: message.redelivered, at: Date.now() });
        if (message.redelivered === 0) await message.nak();
        else await message.ack();
      });
      await bus.publish("nak.now", encoder.encode("x"));
      await eventually(() => deliveries.length === 2, "a redelivery after nak", ACK_WAIT_MS / 2 + 2000);
      expect(deliveries.map((delivery) => delivery.redelivered)).toEqual([0, 1]);

      const delayed: number[] = [];
      let firstAt = 0;
      await bus.subscribe("nak.later", "g", async (message) => {
        delayed.push(Date.now());
        if (message.redelivered === 0) {
          firstAt = Date.now();
          await message.nak(400);
        } else {
          await message.ack();
        }
      });
      await bus.publish("nak.later", encoder.encode("y"));
      await eventually(() => delayed.length === 2, "a delayed redelivery");
      expect(delayed[1]! - firstAt).toBeGreaterThanOrEqual(300);
    });

    it("redelivers when the handler throws", async () => {
      const attempts: number[] = [];
      await bus.subscribe("flaky.job", "g", async (message) => {
        attempts.push(message.redelivered);
        if (attempts.length === 1) throw new Error("transient");
        await message.ack();
      });
      await bus.publish("flaky.job", encoder.encode("x"));
      await eventually(() => attempts.length === 2, "a redelivery after a throw");
      expect(attempts).toEqual([0, 1]);
    });

    it("backs off between redeliveries of a handler that keeps throwing", async () => {
      // A batch that fails (storage down, a bad event) must not spin: every redelivery runs the
      // whole batch again and logs a line.
      const attempts: number[] = [];
      await bus.subscribe("always.fails", "g", async (message) => {
        attempts.push(message.redelivered);
        throw new Error("storage is down");
      });
      await bus.publish("always.fails", encoder.encode("x"));
      await pause(1_200);
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts.length).toBeLessThanOrEqual(8);
      expect(attempts.slice(0, 2)).toEqual([0, 1]);
    });

    it("keeps the group's position across unsubscribe: a later member gets only what is left", async () => {
      const first: string[] = [];
      const stop = await bus.subscribe("feed.items", "durable", async (message) => {
        first.push(text(message));
        await message.ack();
      });
      await bus.publish("feed.items", encoder.encode("before"));
      await eventually(() => first.length === 1, "the first delivery");
      await stop();
      await bus.publish("feed.items", encoder.encode("after"));
      await pause(100);
      expect(first).toEqual(["before"]);
      const second: string[] = [];
      await bus.subscribe("feed.items", "durable", async (message) => {
        second.push(text(message));
        await message.ack();
      });
      await eventually(() => second.length === 1, "the message published while nobody listened");
      await pause(100);
      expect(second).toEqual(["after"]);
    });

    it("lets a handler unsubscribe its own subscription and await it (it waits for the others' handlers, not its own): the handler goes on to ack, and the group's next member gets what follows", async () => {
      const events: string[] = [];
      let stop: (() => Promise<void>) | undefined;
      stop = await bus.subscribe("self.stop", "quitters", async (message) => {
        events.push(`got:${text(message)}`);
        await Promise.race([stop!().then(() => "unsubscribed"), pause(5_000).then(() => "deadlocked")]).then((outcome) => events.push(outcome));
        await message.ack();
        events.push("acked");
      });
      await bus.publish("self.stop", encoder.encode("m1"));
      await eventually(() => events.includes("acked"), "the handler to finish");
      expect(events).toEqual(["got:m1", "unsubscribed", "acked"]);
      const next: string[] = [];
      await bus.subscribe("self.stop", "quitters", async (message) => {
        next.push(`${text(message)}:${message.redelivered}`);
        await message.ack();
      });
      await bus.publish("self.stop", encoder.encode("m2"));
      await eventually(() => next.length === 1, "the next member's delivery");
      await pause(ACK_WAIT_MS + 200);
      // m1 was acked by the handler that unsubscribed: not redelivered; the stopped member got nothing more.
      expect(next).toEqual(["m2:0"]);
      expect(events).toEqual(["got:m1", "unsubscribed", "acked"]);
      // Unsubscribing again, from outside, is a no-op.
      await stop();
    });

    it("lets a handler close its bus and await it (a shutdown triggered by a message) without waiting for itself", async () => {
      const closer = await open();
      const events: string[] = [];
      await closer.subscribe("self.close", "closers", async (message) => {
        events.push(`got:${text(message)}`);
        await message.ack();
        events.push(await Promise.race([closer.close().then(() => "closed"), pause(5_000).then(() => "deadlocked")]));
      });
      await closer.publish("self.close", encoder.encode("shutdown"));
      await eventually(() => events.length === 2, "the handler to finish", 8_000);
      expect(events).toEqual(["got:shutdown", "closed"]);
      await expect(closer.publish("self.close", encoder.encode("late"))).rejects.toThrow(/after close/);
    });

    it("hands an un-acked message of a stopped member to another member", async () => {
      const got: string[] = [];
      const stop = await bus.subscribe("handoff.job", "team", async (message) => {
        got.push(`quitter:${text(message)}`);
      });
      await bus.publish("handoff.job", encoder.encode("j1"));
      await eventually(() => got.length === 1, "the first delivery");
      await stop();
      await bus.subscribe("handoff.job", "team", async (message) => {
        got.push(`stayer:${text(message)}:${message.redelivered}`);
        await message.ack();
      });
      await eventually(() => got.length === 2, "the handoff", ACK_WAIT_MS + 5000);
      expect(got).toEqual(["quitter:j1", "stayer:j1:1"]);
    });

    it("rejects invalid subjects and groups with VIGIL_BAD_INPUT", async () => {
      const codes: unknown[] = [];
      for (const attempt of [
        () => bus.publish("orders.*", encoder.encode("x")),
        () => bus.publish("", encoder.encode("x")),
        () => bus.subscribe("a..b", "g", async () => undefined),
        () => bus.subscribe("orders", "bad group", async () => undefined),
      ]) {
        try {
          await attempt();
          codes.push("resolved");
        } catch (error) {
          codes.push(isVigilError(error) ? error.code : String(error));
        }
      }
      expect(codes).toEqual(["VIGIL_BAD_INPUT", "VIGIL_BAD_INPUT", "VIGIL_BAD_INPUT", "VIGIL_BAD_INPUT"]);
    });

    it("closes cleanly: waits for running handlers, then refuses publish", async () => {
      let finished = false;
      let started = false;
      await bus.subscribe("close.test", "g", async (message) => {
        started = true;
        await pause(150);
        await message.ack();
        finished = true;
      });
      await bus.publish("close.test", encoder.encode("x"));
      await eventually(() => started, "the handler to start");
      await bus.close();
      expect(finished).toBe(true);
      await bus.close();
      try {
        await bus.publish("close.test", encoder.encode("y"));
        expect.fail("publish after close resolved");
      } catch (error) {
        expect(isVigilError(error) && error.code).toBe("VIGIL_STORAGE");
      }
    });
  });
}
