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
