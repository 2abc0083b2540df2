import { VigilError } from "../core/errors.js";
import type { Storage } from "../core/ports.js";

export const COUNTERS_COLLECTION = "review-counters";

/**
 * The next readable id with a prefix (`EX-1`, `EX-2`, ...; `RV-…`, `OV-…`), from a versioned
 * counter document: unique across workers sharing the store.
 */
export async function nextId(storage: Storage, prefix: string, at: string): Promise<string> {
  for (let attempt = 0; attempt < 16; attempt++) {
    const doc = await storage.getDoc<{ next: number }>(COUNTERS_COLLECTION, prefix);
    const next = doc?.value.next ?? 1;
    try {
      await storage.putDocs([{ collection: COUNTERS_COLLECTION, id: prefix, value: { next: next + 1 }, expectVersion: doc?.version ?? 0 }], at);
      return `${prefix}-${next}`;
    } catch (error) {
      if (error instanceof VigilError && error.code === "VIGIL_CONFLICT") continue;
      throw error;
    }
  }
  throw new VigilError("VIGIL_CONFLICT", `could not allocate a ${prefix} id: too many concurrent writers; retry`, { field: "id" });
}

/**
 * Stores a new document under the next free readable id of `prefix`: an id already taken (an
 * exception imported from another store's setup under `EX-2`) is skipped, not failed on. Throws
 * VIGIL_CONFLICT after `maxAttempts` taken ids in a row.
 */
export async function putWithNextId<T>(storage: Storage, collection: string, prefix: string, at: string, build: (id: string) => T, maxAttempts = 10_000): Promise<T> {
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const id = await nextId(storage, prefix, at);
    if ((await storage.getDoc(collection, id)) !== undefined) continue;
    const value = build(id);
    try {
      await storage.putDocs([{ collection, id, value, expectVersion: 0 }], at);
      return value;
    } catch (error) {
      // Taken between the read and the write (another worker imported it): the next id.
      if (error instanceof VigilError && error.code === "VIGIL_CONFLICT") continue;
      throw error;
    }
  }
  throw new VigilError("VIGIL_CONFLICT", `could not find a free ${prefix} id in ${collection} after ${maxAttempts} taken ones; retry`, { field: "id" });
}
