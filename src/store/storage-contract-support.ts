import { expect } from "vitest";
import { isVigilError } from "../core/index.js";
import type { Storage } from "../core/index.js";
import type { MaskConfig } from "./mask.js";
import { noise } from "./storage-contract-fixtures.js";

/** Context handed to the parts of the suite. */
export interface ContractContext {
  /** The storage opened (and initialized) for this test. */
  readonly storage: () => Storage;
  /** Opens another (initialized) instance on the same data; closed after the test. */
  readonly reopen: (options?: { readonly mask?: MaskConfig }) => Promise<Storage>;
}

export async function expectVigilError(promise: Promise<unknown>, code: string, messagePart?: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(isVigilError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    if (messagePart !== undefined) expect((error as Error).message).toContain(messagePart);
    return;
  }
  expect.fail(`expected VigilError ${code}, but the call resolved`);
}


/**
 * After migration 4 on a store holding `long` (an id past the key length) and `user:bob`, both
 * stored at version 3 before the migration: each is found, listed by prefix and updated as new
 * documents are (the same checks for SQLite and PostgreSQL).
 */
export async function expectMigratedLongIds(migrated: Storage, long: string): Promise<void> {
  expect(await migrated.getDoc("entities", long)).toMatchObject({ id: long, value: { n: 1 }, version: 3 });
  expect(await migrated.getDoc("entities", "user:bob")).toMatchObject({ value: { n: 2 } });
  expect((await migrated.listDocs("entities", { idPrefix: `${"\u{1F600}".repeat(200)}${noise(100, 3)}` })).map((doc) => doc.id)).toEqual([long]);
  await migrated.putDocs([{ collection: "entities", id: long, value: { n: 3 }, expectVersion: 3 }], "t2");
  expect((await migrated.listDocs("entities")).map((doc) => [doc.id === long ? "long" : doc.id, doc.version])).toEqual([["user:bob", 3], ["long", 4]]);
}
