/**
 * Listing a document collection in time order with a cursor, through a storage port that orders
 * by id only (core/ports.ts DocQuery): the actions, ladder marks, reviews and feedback lists.
 *
 * Ids do not follow time (`act-<hash>`, `lad-<hash>`, `fb-<uuid>`, `RV-10` before `RV-2`), so a
 * page cut by id is not the newest (or oldest) records. The port cannot order by a field, so every
 * matching id is read once per page, in bounded chunks, keeping only the best `limit` records in
 * memory: the cost is a read of the matching documents per page (the `where` filter narrows it),
 * not more memory than a chunk plus the page.
 */
import { VigilError } from "../core/errors.js";
import type { Storage, StoredDoc } from "../core/ports.js";

export type TimeOrder = "newest" | "oldest";

export interface TimePageQuery<T> {
  readonly where?: Readonly<Record<string, string>>;
  /** `newest`: latest time first; `oldest`: earliest first. Ties go by id, in the same direction. */
  readonly order: TimeOrder;
  /** The time a record is ordered by, as stored (RFC 3339). It must not change while a record lives, or paging may skip it. */
  readonly timeOf: (doc: StoredDoc<T>) => string;
  readonly limit?: number;
  /** A cursor from `timeCursor` of the last record of the previous page: records strictly after it. */
  readonly after?: string;
  /** The query field the cursor came in, named in the error for a bad one. */
  readonly cursorField?: string;
}

interface Key {
  readonly ms: number;
  readonly id: string;
}

const CHUNK = 500;

/** The cursor that continues a listing after a record with this time and id. */
export function timeCursor(time: string, id: string): string {
  return Buffer.from(JSON.stringify([time, id]), "utf8").toString("base64url");
}

function readCursor(cursor: string, field: string): Key {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== "string" || typeof parsed[1] !== "string" || Number.isNaN(Date.parse(parsed[0]))) {
    throw new VigilError("VIGIL_BAD_INPUT", `${field} ${JSON.stringify(cursor)} is not a cursor of this listing: pass the nextCursor of the previous page unchanged, or leave ${field} out for the first page`, { field });
  }
  return { ms: Date.parse(parsed[0]), id: parsed[1] };
}

/** A stored time that does not parse sorts as the oldest, so the order stays total and nothing is dropped. */
function keyOf(time: string, id: string): Key {
  const ms = Date.parse(time);
  return { ms: Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms, id };
}

function compareKeys(a: Key, b: Key, order: TimeOrder): number {
  const sign = order === "newest" ? -1 : 1;
  if (a.ms !== b.ms) return a.ms < b.ms ? -sign : sign;
  return a.id === b.id ? 0 : a.id < b.id ? -sign : sign;
}

/**
 * The matching documents' values in time order, at most `limit`, after the cursor. Reads the whole
 * filtered collection (see the file comment for why and the cost). Throws VIGIL_BAD_INPUT naming
 * `cursorField` for a cursor this listing did not give.
 */
export async function listDocsByTime<T>(storage: Storage, collection: string, query: TimePageQuery<T>): Promise<T[]> {
  const after = query.after === undefined ? undefined : readCursor(query.after, query.cursorField ?? "cursor");
  const limit = query.limit ?? Number.POSITIVE_INFINITY;
  const kept: { key: Key; value: T }[] = [];
  const byKey = (a: { key: Key }, b: { key: Key }) => compareKeys(a.key, b.key, query.order);
  let afterId: string | undefined;
  for (;;) {
    const chunk = await storage.listDocs<T>(collection, { ...(query.where ? { where: query.where } : {}), limit: CHUNK, ...(afterId === undefined ? {} : { afterId }) });
    for (const doc of chunk) {
      const key = keyOf(query.timeOf(doc), doc.id);
      if (after === undefined || compareKeys(key, after, query.order) > 0) kept.push({ key, value: doc.value });
    }
    // INVARIANT: `kept` holds the best `limit` records seen so far; trimming at twice the limit keeps sorting rare.
    if (kept.length > 2 * limit) kept.sort(byKey).splice(limit);
    if (chunk.length < CHUNK) break;
    afterId = chunk[chunk.length - 1]!.id;
  }
  return kept.sort(byKey).slice(0, limit).map((entry) => entry.value);
}

/** A comparator in the order `listDocsByTime` gives, to merge lists it returned. */
export function byTime<T>(order: TimeOrder, timeOf: (item: T) => string, idOf: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => compareKeys(keyOf(timeOf(a), idOf(a)), keyOf(timeOf(b), idOf(b)), order);
}

/**
 * A route's page: asked for `limit + 1` records, it returns `limit` and the cursor after the last
 * one when a further record exists (no cursor on the last page).
 */
export function pageOf<T>(items: readonly T[], limit: number, cursorOf: (item: T) => string): { readonly items: T[]; readonly nextCursor?: string } {
  const page = items.slice(0, limit);
  const last = page.at(-1);
  return items.length > limit && last !== undefined ? { items: page, nextCursor: cursorOf(last) } : { items: page };
}
