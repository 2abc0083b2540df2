import { expect } from "vitest";
import { isVigilError } from "../core/index.js";
import type { DecisionRecordRow, Storage } from "../core/index.js";
import { chainRecords, GENESIS_HEAD, verifyDecisionRecord } from "./chain.js";
import { oldestDenied } from "./storage-contract-fixtures.js";
import { prepareDecisions } from "./sql-queries.js";
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

/**
 * The decisions table rows (migration 1's columns, in order) and the chain head of a record
 * holding `oldestDenied(30, 5)` (the first with a NUL in its input), as the store writes them:
 * what an old-version store held.
 */
export function oldRecord(): { readonly rows: unknown[][]; readonly head: { readonly seq: number; readonly hash: string } } {
  // The oldest deny's input holds a NUL and a lone surrogate (escaped in the body): PostgreSQL's json ->> fails on such a body.
  const drafts = oldestDenied(30, 5).map((draft, index) => (index === 0 ? { ...draft, input: { note: "a\u0000b\ud800" } } : draft));
  const prepared = prepareDecisions(drafts, undefined);
  const chained = chainRecords(GENESIS_HEAD, prepared);
  const rows = chained.map((row, index) => {
    const entry = prepared[index]!;
    return [row.seq, row.id, entry.eventId, entry.eventType, entry.subject ?? null, entry.timeMs, row.body, row.prevHash, row.hash];
  });
  const last = chained.at(-1)!;
  return { rows, head: { seq: last.seq, hash: last.hash } };
}

/**
 * After the migration that indexes verdict and tier, on a store holding `oldestDenied(30, 5)`
 * recorded before it (`oldRecord`): the record is byte for byte as written and verifies, and the filters page through the old decisions (the same checks for SQLite and
 * PostgreSQL).
 */
export async function expectMigratedVerdictIndex(migrated: Storage): Promise<void> {
  const before: DecisionRecordRow[] = oldRecord().rows.map(([seq, id, , , , , body, prevHash, hash]) => ({ seq, id, body, prevHash, hash }) as DecisionRecordRow);
  expect(await migrated.scanDecisionRecord(0, 100)).toEqual(before);
  expect(await verifyDecisionRecord(migrated)).toMatchObject({ ok: true, checked: 30 });
  const seqs = async (query: Parameters<Storage["listDecisions"]>[0]) => (await migrated.listDecisions(query)).map((decision) => decision.seq);
  expect(await seqs({ verdict: "deny", newestFirst: true, limit: 3 })).toEqual([5, 4, 3]);
  expect(await seqs({ verdict: "deny", newestFirst: true, limit: 3, beforeSeq: 3 })).toEqual([2, 1]);
  expect(await seqs({ tier: "observe", newestFirst: true, limit: 2 })).toEqual([30, 29]);
}
