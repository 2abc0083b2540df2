import { describe, expect, it } from "vitest";
import type { DeliveryIdStore } from "./github.js";

/**
 * The one contract every {@link DeliveryIdStore} runs (the bounded memory store here, a
 * storage-backed one in the runtime). Call it at the top level of the implementation's test file
 * with a factory that returns a fresh, empty store.
 */
export function deliveryIdStoreContract(name: string, create: () => DeliveryIdStore | Promise<DeliveryIdStore>): void {
  describe(`DeliveryIdStore contract: ${name}`, () => {
    it("remembers a new id once and reports the second sighting as a replay", async () => {
      const store = await create();
      expect(await store.remember("72d3162e-cc78-11e3-81ab-4c9367dc0958")).toBe(true);
      expect(await store.remember("72d3162e-cc78-11e3-81ab-4c9367dc0958")).toBe(false);
      expect(await store.remember("72d3162e-cc78-11e3-81ab-4c9367dc0959")).toBe(true);
    });

    it("accepts an id again after forget(), and forgetting an unknown id is harmless", async () => {
      const store = await create();
      await store.remember("a");
      await store.forget("a");
      await store.forget("never-seen");
      expect(await store.remember("a")).toBe(true);
      expect(await store.remember("a")).toBe(false);
    });

    it("lets exactly one of several concurrent remember() calls for an id win", async () => {
      const store = await create();
      const wins = await Promise.all(Array.from({ length: 8 }, () => store.remember("same")));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it("keeps ids independent", async () => {
      const store = await create();
      const ids = Array.from({ length: 50 }, (_, i) => `delivery-${i}`);
      for (const id of ids) expect(await store.remember(id)).toBe(true);
      for (const id of ids) expect(await store.remember(id)).toBe(false);
    });
  });
}
