import { describe, expect, it } from "vitest";
import { isVigilError } from "../../core/index.js";
import { busContract, eventually } from "../bus-contract.js";
import { createMemoryBus } from "./index.js";

busContract("memory", async () => ({
  create: ({ ackWaitMs, concurrency }) => createMemoryBus({ ackWaitMs, ...(concurrency === undefined ? {} : { concurrency }) }),
  dispose: async () => undefined,
}));

describe("memory bus specifics", () => {
  it("applies backpressure instead of dropping when too many messages wait for acks", async () => {
    const bus = createMemoryBus({ maxRetained: 3 });
    await bus.init();
    for (const index of [1, 2, 3]) await bus.publish("q.items", new Uint8Array([index]));
    try {
      await bus.publish("q.items", new Uint8Array([4]));
      expect.fail("the fourth publish resolved");
    } catch (error) {
      expect(isVigilError(error) && error.code).toBe("VIGIL_BACKPRESSURE");
    }
    const seen: number[] = [];
    await bus.subscribe("q.items", "drain", async (message) => {
      seen.push(message.data[0]!);
      await message.ack();
    });
    await eventually(() => seen.length === 3, "the drain");
    await bus.publish("q.items", new Uint8Array([4]));
    await eventually(() => seen.length === 4, "the fourth message once there is room");
    expect(seen).toEqual([1, 2, 3, 4]);
    await bus.close();
  });

  it("runs up to `concurrency` handlers of one subscription at once", async () => {
    const bus = createMemoryBus({ concurrency: 3 });
    await bus.init();
    let running = 0;
    let peak = 0;
    let done = 0;
    await bus.subscribe("c.jobs", "g", async (message) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 30));
      running -= 1;
      done += 1;
      await message.ack();
    });
    for (let index = 0; index < 9; index++) await bus.publish("c.jobs", new Uint8Array([index]));
    await eventually(() => done === 9, "nine jobs");
    expect(peak).toBe(3);
    await bus.close();
  });

  it("does not share the publisher's buffer", async () => {
    const bus = createMemoryBus();
    await bus.init();
    const data = new Uint8Array([1, 2, 3]);
    let received: Uint8Array | undefined;
    await bus.publish("copy.test", data);
    data[0] = 99;
    await bus.subscribe("copy.test", "g", async (message) => {
      received = message.data;
      await message.ack();
    });
    await eventually(() => received !== undefined, "delivery");
    expect([...received!]).toEqual([1, 2, 3]);
    await bus.close();
  });
});
