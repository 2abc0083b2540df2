/**
 * A DeliveryIdStore (GitHub webhook replay protection) backed by Storage: one document per
 * delivery id in `webhooks.deliveries`, created with `expectVersion: 0`, so check-and-record is
 * one atomic insert — across processes and workers sharing the store, not just in memory.
 */
import { isVigilError } from "../core/errors.js";
import type { Clock, Storage } from "../core/ports.js";
import type { DeliveryIdStore } from "../sources/github.js";

export const DELIVERY_COLLECTION = "webhooks.deliveries";

export function createStorageDeliveryIdStore(storage: Storage, clock: Clock, provider = "github"): DeliveryIdStore {
  const idOf = (id: string): string => `${provider}:${id}`;
  return {
    async remember(id) {
      const at = clock.now().toISOString();
      try {
        await storage.putDocs([{ collection: DELIVERY_COLLECTION, id: idOf(id), value: { provider, id, at }, expectVersion: 0 }], at);
        return true;
      } catch (error) {
        if (isVigilError(error) && error.code === "VIGIL_CONFLICT") return false;
        throw error;
      }
    },
    async forget(id) {
      await storage.deleteDoc(DELIVERY_COLLECTION, idOf(id));
    },
  };
}
