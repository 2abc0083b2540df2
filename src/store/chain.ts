import * as crypto from "node:crypto";
import type { DecisionRecordRow, Storage } from "../core/index.js";

export { canonicalJson } from "./canonical-json.js";

/**
 * The decision record's hash chain.
 *
 * Byte layout: `hash = lowercase hex( SHA-256( UTF-8(prevHash) ‖ UTF-8(body) ) )` where
 * `prevHash` is the previous record's hash as 64 lowercase hex characters (the genesis record
 * uses 64 zeros) and `body` is the canonical JSON of the (masked) DecisionDraft exactly as
 * stored. No separator: `prevHash` always has exactly 64 characters, so the split is
 * unambiguous. `seq` is not hashed; its order is fixed by the `prevHash` links.
 */
export const GENESIS_HASH = "0".repeat(64);

export interface ChainHead {
  /** Seq of the last record (0 before the first). */
  readonly seq: number;
  readonly hash: string;
}

export const GENESIS_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** `crypto.hash` (one-shot, Node >= 20.12): about a quarter cheaper than a Hash object per record. */
const oneShot: ((algorithm: string, data: string, encoding: "hex") => string) | undefined = typeof crypto.hash === "function" ? crypto.hash : undefined;

/** SHA-256 hex of `prevHash` followed by `body` (both UTF-8). */
export function hashRecord(prevHash: string, body: string): string {
  // Hashing the concatenation is the same byte stream as two updates: UTF-8 of a concatenation is the concatenation of the UTF-8.
  if (oneShot !== undefined) return oneShot("sha256", prevHash + body, "hex");
  return crypto.createHash("sha256").update(prevHash, "utf8").update(body, "utf8").digest("hex");
}

/** Chains bodies after `head`: seq head.seq+1, +2, ...; each prevHash is the hash before it. */
export function chainRecords(head: ChainHead, records: readonly { readonly id: string; readonly body: string }[]): DecisionRecordRow[] {
  const rows: DecisionRecordRow[] = [];
  let prevHash = head.hash;
  let seq = head.seq;
  for (const record of records) {
    seq += 1;
    const hash = hashRecord(prevHash, record.body);
    rows.push({ seq, id: record.id, body: record.body, prevHash, hash });
    prevHash = hash;
  }
  return rows;
}

/**
 * - `modified`: a record's hash does not match its body and prevHash (or its id column does not
 *   match the hashed body; or an anchored record's hash changed; or the store's chain_head is
 *   below the last record or has another hash than the record at its seq; or its seq skips
 *   numbers although it links to the record before; or it was inserted: the record after it
 *   links to the record before it).
 * - `deleted`: a seq gap, a prevHash link that points at no record (records removed and the
 *   rest renumbered, or the previous record rewritten and re-hashed), or a chain that ends
 *   before the expected head or the store's chain_head.
 * - `reordered`: records exist but not in chain order (a record's prevHash is the hash of a
 *   record stored after it).
 */
export type ChainProblemKind = "modified" | "deleted" | "reordered";

export interface ChainProblem {
  /** Seq of the stored record at which the problem was found. */
  readonly seq: number;
  /** Id of that record ("" when the record itself is missing and no neighbour exists). */
  readonly id: string;
  readonly kind: ChainProblemKind;
  /** One sentence naming what does not match. */
  readonly detail: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** Records verified before the first problem (all of them when ok). */
  readonly checked: number;
  /** Last verified record: note it somewhere else and pass it back as `expectedHead` to detect truncation and rewrites later. */
  readonly head: ChainHead;
  readonly problem?: ChainProblem;
}

export interface VerifyOptions {
  /** Rows read per `scanDecisionRecord` call. Default 1000. */
  readonly batchSize?: number;
  /** Rows read ahead, when a link breaks, to tell `reordered` from `deleted`. Default 10,000. */
  readonly lookahead?: number;
  /** Verify only records after this trusted checkpoint (seq and hash of a record verified earlier). */
  readonly start?: ChainHead;
  /**
   * A head noted earlier: the chain must reach it, with this hash at that seq. Below `start`, the
   * record at its seq is read and compared on its own (it must be stored, with that hash).
   */
  readonly expectedHead?: ChainHead;
}

/**
 * What verification reads: the rows in seq order and, when the store offers it, its own chain
 * head (the `chain_head` row appenders move with each batch). A record ending before the head
 * (tail deleted), a head below stored records (moved back, or rows added behind the store's
 * back) or a head whose hash is not the record's at that seq is a problem too.
 */
export interface RecordSource extends Pick<Storage, "scanDecisionRecord"> {
  /** The store's chain head; `null` when the store has none (its chain_head row was deleted). */
  readChainHead?(): Promise<ChainHead | null>;
}

/**
 * Re-hashes the decision record in seq order and reports the FIRST problem, with the record's
 * seq and id and the kind (modified | deleted | reordered). Reads in batches; memory stays
 * bounded by `batchSize` + `lookahead`. Throws only when the storage itself fails.
 */
export async function verifyDecisionRecord(storage: RecordSource, options: VerifyOptions = {}): Promise<VerifyResult> {
  const batchSize = Math.max(1, options.batchSize ?? 1000);
  const lookahead = Math.max(1, options.lookahead ?? 10_000);
  const expectedHead = options.expectedHead;
  let prev: ChainHead = options.start ?? GENESIS_HEAD;
  let prevId = "";
  // The head before `prev` once `prev` is a record scanned here (the checkpoint itself is trusted):
  // what the record after an inserted one links to.
  let beforePrev: { readonly head: ChainHead; readonly id: string } | undefined;
  let checked = 0;
  let cursor = prev.seq;
  const fail = (problem: ChainProblem): VerifyResult => ({ ok: false, checked, head: prev, problem });
  // Read before the scan: every record up to it is committed, so the scan must reach it (appends
  // during the scan only move the head forward, which the second read below allows for).
  const storeHead = storage.readChainHead === undefined ? undefined : await storage.readChainHead();
  if (options.start !== undefined && options.start.seq > 0) {
    // The checkpoint is a record too: it must still be stored, with the hash noted for it.
    const start = options.start;
    const row = (await storage.scanDecisionRecord(start.seq - 1, 1))[0];
    if (row === undefined || row.seq !== start.seq) {
      return fail({ seq: start.seq, id: "", kind: "deleted", detail: `the checkpoint seq ${start.seq} is not in the record${row === undefined ? "" : ` (the next stored record is seq ${row.seq}, id ${row.id})`}: it was deleted, with what followed it or not` });
    }
    const own = checkRow(row);
    if (own !== undefined) return fail(own);
    if (row.hash !== start.hash) {
      return fail({ seq: row.seq, id: row.id, kind: "modified", detail: `the checkpoint seq ${row.seq} (id ${row.id}) has hash ${row.hash}, but the checkpoint was noted with ${start.hash}: the record was rewritten and re-hashed` });
    }
    prevId = row.id;
    // The scan starts after the checkpoint and never reaches an expected head below it: compare
    // that head with its record here (records are never removed, so it must still be stored).
    if (expectedHead !== undefined && expectedHead.seq < start.seq) {
      const problem = await checkHeadBelowStart(storage, expectedHead, start);
      if (problem !== undefined) return fail(problem);
    }
  }

  for (;;) {
    const rows = await storage.scanDecisionRecord(cursor, batchSize);
    if (rows.length === 0) break;
    for (const row of rows) {
      cursor = Math.max(cursor, row.seq);
      const own = checkRow(row);
      if (own !== undefined) return fail(own);
      const expectedSeq = prev.seq + 1;
      if (row.seq < expectedSeq) {
        return fail({ seq: row.seq, id: row.id, kind: "reordered", detail: `seq ${row.seq} (id ${row.id}) is returned after seq ${prev.seq}: the record is out of seq order` });
      }
      if (row.seq === expectedSeq && row.prevHash !== prev.hash && beforePrev !== undefined && row.prevHash === beforePrev.head.hash) {
        // `prev` verified on its own, but the chain goes around it: the first problem is `prev`.
        const before = beforePrev.head.seq === 0 ? "the genesis hash" : `seq ${beforePrev.head.seq} (id ${beforePrev.id})`;
        return {
          ok: false, checked: checked - 1, head: beforePrev.head,
          problem: { seq: prev.seq, id: prevId, kind: "modified", detail: `seq ${prev.seq} (id ${prevId}) is not in the chain as written: seq ${row.seq} (id ${row.id}) links to ${before}, as seq ${prev.seq} does; seq ${prev.seq} was inserted (the records after it renumbered), or two writers appended after ${before} without holding the chain head lock` },
        };
      }
      if (row.seq > expectedSeq || row.prevHash !== prev.hash) {
        return fail(await classifyBreak(storage, row, prev, prevId, lookahead, batchSize));
      }
      if (expectedHead !== undefined && row.seq === expectedHead.seq && row.hash !== expectedHead.hash) {
        return fail({ seq: row.seq, id: row.id, kind: "modified", detail: `seq ${row.seq} (id ${row.id}) has hash ${row.hash}, but the expected head noted earlier has ${expectedHead.hash}: the chain was rewritten and re-hashed from here or before` });
      }
      if (storeHead !== undefined && storeHead !== null && row.seq === storeHead.seq && row.hash !== storeHead.hash) {
        return fail({ seq: row.seq, id: row.id, kind: "modified", detail: `seq ${row.seq} (id ${row.id}) has hash ${row.hash}, but the store's chain_head says ${storeHead.hash}: the chain was rewritten and re-hashed from here or before, or chain_head was altered` });
      }
      beforePrev = { head: prev, id: prevId };
      prev = { seq: row.seq, hash: row.hash };
      prevId = row.id;
      checked += 1;
    }
    if (rows.length < batchSize) break;
  }

  if (expectedHead !== undefined && prev.seq < expectedHead.seq) {
    const where = prev.seq === 0 ? "the record is empty" : `the chain ends at seq ${prev.seq} (id ${prevId})`;
    return fail({ seq: prev.seq, id: prevId, kind: "deleted", detail: `${where}, but the expected head is seq ${expectedHead.seq}: ${expectedHead.seq - prev.seq} record(s) at the end are missing` });
  }
  if (expectedHead !== undefined && prev.seq === expectedHead.seq && prev.hash !== expectedHead.hash) {
    // Only when the chain ends at the checkpoint (`start`) itself: a scanned record was compared above.
    return fail({ seq: prev.seq, id: prevId, kind: "modified", detail: `the checkpoint at seq ${prev.seq} has hash ${prev.hash}, but the expected head noted for that seq has ${expectedHead.hash}` });
  }
  if (storeHead !== undefined) {
    const problem = await checkStoreHead(storage, storeHead, prev, prevId);
    if (problem !== undefined) return fail(problem);
  }
  return { ok: true, checked, head: prev };
}

/**
 * An expected head noted before the checkpoint `start`: the record at its seq must be stored, be
 * consistent in itself, and carry the noted hash. (What lies between it and the checkpoint is
 * trusted with the checkpoint, as `start` means.)
 */
async function checkHeadBelowStart(storage: RecordSource, expected: ChainHead, start: ChainHead): Promise<ChainProblem | undefined> {
  if (expected.seq === 0) {
    if (expected.hash === GENESIS_HASH) return undefined;
    return { seq: 0, id: "", kind: "modified", detail: `the expected head is seq 0 with hash ${expected.hash}, but seq 0 is the empty chain, whose hash is ${GENESIS_HASH}: the head was not noted from this record` };
  }
  const row = (await storage.scanDecisionRecord(expected.seq - 1, 1))[0];
  if (row === undefined || row.seq !== expected.seq) {
    return { seq: expected.seq, id: "", kind: "deleted", detail: `the expected head seq ${expected.seq} (below the checkpoint seq ${start.seq}) is not in the record${row === undefined ? "" : ` (the next stored record is seq ${row.seq}, id ${row.id})`}: it was deleted, so the expected head cannot be confirmed` };
  }
  const own = checkRow(row);
  if (own !== undefined) return own;
  if (row.hash !== expected.hash) {
    return { seq: row.seq, id: row.id, kind: "modified", detail: `seq ${row.seq} (id ${row.id}) has hash ${row.hash}, but the expected head noted earlier has ${expected.hash}: the chain was rewritten and re-hashed from there or before (and the checkpoint seq ${start.seq} was noted after the rewrite)` };
  }
  return undefined;
}

/** After a clean scan ending at `last`: the store's chain_head, read before (`before`) and again now, must agree with it. */
async function checkStoreHead(storage: RecordSource, before: ChainHead | null, last: ChainHead, lastId: string): Promise<ChainProblem | undefined> {
  const missing: ChainProblem = { seq: last.seq, id: lastId, kind: "modified", detail: "the store's chain_head row is missing: the database was altered outside Vigil" };
  if (before === null) return missing;
  if (last.seq < before.seq) {
    const where = last.seq === 0 ? "the record is empty" : `the chain ends at seq ${last.seq} (id ${lastId})`;
    return { seq: last.seq, id: lastId, kind: "deleted", detail: `${where}, but the store's chain_head is at seq ${before.seq}: ${before.seq - last.seq} record(s) at the end are missing` };
  }
  const after = await storage.readChainHead?.();
  if (after === undefined || after === null) return missing;
  if (last.seq > after.seq) {
    const next = (await storage.scanDecisionRecord(after.seq, 1))[0];
    const seq = next?.seq ?? last.seq;
    const id = next?.id ?? lastId;
    return { seq, id, kind: "modified", detail: `seq ${seq} (id ${id}) is stored past the store's chain_head (seq ${after.seq}): chain_head was moved back, or records were added without moving it` };
  }
  if (last.seq === after.seq && last.hash !== after.hash) {
    return { seq: last.seq, id: lastId, kind: "modified", detail: `seq ${last.seq} (id ${lastId}) has hash ${last.hash}, but the store's chain_head says ${after.hash}: the chain was rewritten and re-hashed, or chain_head was altered` };
  }
  return undefined;
}

/** Checks what a row can prove on its own: its hash covers its body and prevHash, and its id column is the hashed id. */
function checkRow(row: DecisionRecordRow): ChainProblem | undefined {
  const recomputed = hashRecord(row.prevHash, row.body);
  if (recomputed !== row.hash) {
    return { seq: row.seq, id: row.id, kind: "modified", detail: `seq ${row.seq} (id ${row.id}): stored hash ${row.hash} does not match the hash of its body and prevHash (${recomputed}); the record was changed after it was written` };
  }
  let bodyId: unknown;
  try {
    bodyId = (JSON.parse(row.body) as { id?: unknown }).id;
  } catch {
    return { seq: row.seq, id: row.id, kind: "modified", detail: `seq ${row.seq} (id ${row.id}): the body is not valid JSON` };
  }
  if (bodyId !== row.id) {
    return { seq: row.seq, id: row.id, kind: "modified", detail: `seq ${row.seq}: the id column says ${JSON.stringify(row.id)} but the hashed body says ${JSON.stringify(bodyId)}` };
  }
  return undefined;
}

/**
 * A row does not follow its predecessor (seq gap or prevHash mismatch). Reads ahead to decide
 * whether the missing link exists elsewhere (reordered) or not at all (deleted).
 */
async function classifyBreak(storage: RecordSource, row: DecisionRecordRow, prev: ChainHead, prevId: string, lookahead: number, batchSize: number): Promise<ChainProblem> {
  const after = prev.seq === 0 ? "the genesis hash" : `seq ${prev.seq} (id ${prevId})`;
  if (row.prevHash === prev.hash) {
    // Only a seq gap: the chain itself is whole (nothing between them was hashed), the seq column was changed.
    return { seq: row.seq, id: row.id, kind: "modified", detail: `seq ${row.seq} (id ${row.id}) links to ${after}, so the chain is whole between them, but its seq skips ${row.seq - prev.seq - 1}: the seq column was changed` };
  }
  let cursor = row.seq;
  let read = 0;
  while (read < lookahead) {
    const ahead = await storage.scanDecisionRecord(cursor, Math.min(batchSize, lookahead - read));
    if (ahead.length === 0) break;
    for (const other of ahead) {
      cursor = Math.max(cursor, other.seq);
      if (other.hash === row.prevHash) {
        return { seq: row.seq, id: row.id, kind: "reordered", detail: `seq ${row.seq} (id ${row.id}) chains after seq ${other.seq} (id ${other.id}), which is stored later: records are out of chain order` };
      }
      if (other.prevHash === prev.hash) {
        return { seq: other.seq, id: other.id, kind: "reordered", detail: `seq ${other.seq} (id ${other.id}) chains directly after ${after} but is stored later: records are out of chain order` };
      }
    }
    read += ahead.length;
  }
  if (row.seq > prev.seq + 1) {
    const first = prev.seq + 1;
    const last = row.seq - 1;
    const range = first === last ? `seq ${first} is` : `seq ${first}..${last} (${last - first + 1} records) are`;
    return { seq: row.seq, id: row.id, kind: "deleted", detail: `${range} missing before seq ${row.seq} (id ${row.id})` };
  }
  return { seq: row.seq, id: row.id, kind: "deleted", detail: `seq ${row.seq} (id ${row.id}) does not link to ${after}: a record between them is missing (deleted and the rest renumbered), or seq ${prev.seq} was rewritten and re-hashed` };
}
