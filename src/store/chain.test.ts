import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { DecisionRecordRow } from "../core/index.js";
import { canonicalJson, chainRecords, GENESIS_HASH, GENESIS_HEAD, hashRecord, verifyDecisionRecord } from "./chain.js";

function makeRows(count: number): DecisionRecordRow[] {
  return chainRecords(GENESIS_HEAD, Array.from({ length: count }, (_unused, index) => {
    const id = `d${index + 1}`;
    return { id, body: canonicalJson({ id, verdict: index % 2 === 0 ? "allow" : "deny", n: index + 1 }) };
  }));
}

/** A record source over an array, ordered by seq like the adapters' scan. */
function source(rows: readonly DecisionRecordRow[]) {
  return {
    reads: 0,
    async scanDecisionRecord(afterSeq: number, limit: number): Promise<DecisionRecordRow[]> {
      this.reads += 1;
      return rows.filter((row) => row.seq > afterSeq).sort((a, b) => a.seq - b.seq).slice(0, limit);
    },
  };
}

const at = (rows: DecisionRecordRow[], seq: number) => rows.findIndex((row) => row.seq === seq);

function replace(rows: DecisionRecordRow[], seq: number, change: Partial<DecisionRecordRow>): DecisionRecordRow[] {
  return rows.map((row) => (row.seq === seq ? { ...row, ...change } : row));
}

describe("hashRecord / chainRecords", () => {
  it("hashes UTF-8(prevHash) followed by UTF-8(body) with SHA-256", () => {
    const body = '{"id":"x","note":"caf\u00e9"}';
    const expected = createHash("sha256").update(Buffer.concat([Buffer.from(GENESIS_HASH, "ascii"), Buffer.from(body, "utf8")])).digest("hex");
    expect(hashRecord(GENESIS_HASH, body)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it("links each record to the previous hash, starting from 64 zeros", () => {
    const rows = makeRows(3);
    expect(rows.map((row) => row.seq)).toEqual([1, 2, 3]);
    expect(rows[0]?.prevHash).toBe("0".repeat(64));
    expect(rows[1]?.prevHash).toBe(rows[0]?.hash);
    expect(rows[2]?.prevHash).toBe(rows[1]?.hash);
    const continued = chainRecords({ seq: 3, hash: rows[2]!.hash }, [{ id: "d4", body: "{}" }]);
    expect(continued[0]).toMatchObject({ seq: 4, prevHash: rows[2]!.hash, hash: hashRecord(rows[2]!.hash, "{}") });
  });
});

describe("verifyDecisionRecord", () => {
  it("accepts a clean chain in any batch size and returns its head", async () => {
    const rows = makeRows(25);
    for (const batchSize of [1, 3, 7, 25, 1000]) {
      const result = await verifyDecisionRecord(source(rows), { batchSize });
      expect(result).toEqual({ ok: true, checked: 25, head: { seq: 25, hash: rows[24]!.hash } });
    }
  });

  it("accepts an empty record", async () => {
    expect(await verifyDecisionRecord(source([]))).toEqual({ ok: true, checked: 0, head: GENESIS_HEAD });
  });

  it("reports a changed body as modified, by id", async () => {
    const rows = makeRows(10);
    const tampered = replace(rows, 4, { body: rows[at(rows, 4)]!.body.replace('"deny"', '"allow"') });
    const result = await verifyDecisionRecord(source(tampered), { batchSize: 3 });
    expect(result.ok).toBe(false);
    expect(result.checked).toBe(3);
    expect(result.problem).toMatchObject({ seq: 4, id: "d4", kind: "modified" });
  });

  it("reports a changed hash or prevHash column as modified", async () => {
    const rows = makeRows(5);
    expect((await verifyDecisionRecord(source(replace(rows, 2, { hash: "f".repeat(64) })))).problem).toMatchObject({ seq: 2, id: "d2", kind: "modified" });
    expect((await verifyDecisionRecord(source(replace(rows, 3, { prevHash: "e".repeat(64) })))).problem).toMatchObject({ seq: 3, id: "d3", kind: "modified" });
  });

  it("reports an id column that differs from the hashed body as modified", async () => {
    const result = await verifyDecisionRecord(source(replace(makeRows(5), 2, { id: "someone-else" })));
    expect(result.problem).toMatchObject({ seq: 2, id: "someone-else", kind: "modified" });
    expect(result.problem?.detail).toContain('"d2"');
  });

  it("reports a body that is not JSON as modified", async () => {
    const rows = makeRows(2);
    const body = "not json";
    const broken = [rows[0]!, { ...rows[1]!, body, hash: hashRecord(rows[1]!.prevHash, body) }];
    expect((await verifyDecisionRecord(source(broken))).problem).toMatchObject({ seq: 2, kind: "modified" });
  });

  it("reports a seq gap as deleted, naming the record after the gap", async () => {
    const rows = makeRows(10).filter((row) => row.seq !== 5);
    const result = await verifyDecisionRecord(source(rows), { batchSize: 4 });
    expect(result).toMatchObject({ ok: false, checked: 4, head: { seq: 4 } });
    expect(result.problem).toMatchObject({ seq: 6, id: "d6", kind: "deleted" });
    expect(result.problem?.detail).toContain("seq 5 is missing");
  });

  it("reports a seq gap whose record still links to the one before it as a changed seq, not a deletion", async () => {
    // Nothing is missing from the chain: d6's prevHash is d5's hash, only its seq column says 7 (was "seq 6 is missing before seq 7").
    const rows = makeRows(8).map((row) => (row.seq >= 6 ? { ...row, seq: row.seq + 1 } : row));
    const result = await verifyDecisionRecord(source(rows));
    expect(result.problem).toMatchObject({ seq: 7, id: "d6", kind: "modified" });
    expect(result.problem?.detail).toContain("links to seq 5 (id d5)");
    expect(result.problem?.detail).not.toContain("missing");
  });

  it("reports several deleted records and a deleted first record", async () => {
    const rows = makeRows(10);
    const many = await verifyDecisionRecord(source(rows.filter((row) => row.seq < 3 || row.seq > 6)));
    expect(many.problem).toMatchObject({ seq: 7, id: "d7", kind: "deleted" });
    expect(many.problem?.detail).toContain("seq 3..6 (4 records)");
    const first = await verifyDecisionRecord(source(rows.slice(1)));
    expect(first.problem).toMatchObject({ seq: 2, id: "d2", kind: "deleted" });
    expect(first.checked).toBe(0);
  });

  it("reports a deletion hidden by renumbering as deleted (broken link)", async () => {
    const rows = makeRows(8).filter((row) => row.seq !== 3).map((row) => (row.seq > 3 ? { ...row, seq: row.seq - 1 } : row));
    const result = await verifyDecisionRecord(source(rows));
    expect(result.problem).toMatchObject({ seq: 3, id: "d4", kind: "deleted" });
    expect(result.problem?.detail).toContain("does not link to seq 2 (id d2)");
  });

  it("reports a record rewritten and re-hashed by its successor's broken link", async () => {
    const rows = makeRows(6);
    const body = rows[2]!.body.replace('"allow"', '"deny"');
    const tampered = replace(rows, 3, { body, hash: hashRecord(rows[2]!.prevHash, body) });
    const result = await verifyDecisionRecord(source(tampered));
    expect(result.checked).toBe(3);
    expect(result.problem).toMatchObject({ seq: 4, id: "d4", kind: "deleted" });
    expect(result.problem?.detail).toContain("rewritten and re-hashed");
  });

  it("reports a record inserted into the chain (the rest renumbered) as the modified record, not its successor as deleted", async () => {
    // The inserted record links to its predecessor and hashes correctly; the record it displaced
    // still chains after that same predecessor. Reported was "seq 4 (d3) deleted", though nothing was.
    const rows = makeRows(6);
    const insert = (after: number, id: string): DecisionRecordRow[] => {
      const prevHash = after === 0 ? GENESIS_HASH : rows[at(rows, after)]!.hash;
      const body = canonicalJson({ id, verdict: "allow", n: 0 });
      const forged = { seq: after + 1, id, body, prevHash, hash: hashRecord(prevHash, body) };
      return [...rows.filter((row) => row.seq <= after), forged, ...rows.filter((row) => row.seq > after).map((row) => ({ ...row, seq: row.seq + 1 }))];
    };
    for (const batchSize of [1, 2, 1000]) {
      const result = await verifyDecisionRecord(source(insert(2, "forged")), { batchSize });
      expect(result).toMatchObject({ ok: false, checked: 2, head: { seq: 2, hash: rows[1]!.hash }, problem: { seq: 3, id: "forged", kind: "modified" } });
      expect(result.problem?.detail).toContain("inserted");
      expect(result.problem?.detail).toContain("seq 4 (id d3)");
    }
    const first = await verifyDecisionRecord(source(insert(0, "forged-first")));
    expect(first).toMatchObject({ ok: false, checked: 0, head: GENESIS_HEAD, problem: { seq: 1, id: "forged-first", kind: "modified" } });
    // After a checkpoint: a record inserted right after it is found; the checkpoint itself is trusted.
    const afterCheckpoint = await verifyDecisionRecord(source(insert(2, "forged")), { start: { seq: 2, hash: rows[1]!.hash } });
    expect(afterCheckpoint).toMatchObject({ ok: false, checked: 0, head: { seq: 2, hash: rows[1]!.hash }, problem: { seq: 3, id: "forged", kind: "modified" } });
  });

  it("reports two swapped records as reordered", async () => {
    const rows = makeRows(8);
    const swapped = rows.map((row) => (row.seq === 4 ? { ...row, seq: 5 } : row.seq === 5 ? { ...row, seq: 4 } : row));
    const result = await verifyDecisionRecord(source(swapped));
    expect(result.checked).toBe(3);
    expect(result.problem).toMatchObject({ seq: 4, id: "d5", kind: "reordered" });
    expect(result.problem?.detail).toContain("seq 5 (id d4)");
  });

  it("reports a record moved to the end as reordered at the first displaced position, naming the moved record", async () => {
    const rows = makeRows(8).map((row) => (row.seq === 3 ? { ...row, seq: 100 } : row));
    const result = await verifyDecisionRecord(source(rows), { batchSize: 2 });
    expect(result.problem).toMatchObject({ seq: 4, id: "d4", kind: "reordered" });
    expect(result.problem?.detail).toContain("seq 100 (id d3)");
  });

  it("reports reordered when the displaced record's successor is missing too", async () => {
    // d3 moved to the end and d4 deleted: at seq 5, d5 links to nothing, but d3 (which follows seq 2) is stored later.
    const rows = makeRows(8).filter((row) => row.seq !== 4).map((row) => (row.seq === 3 ? { ...row, seq: 100 } : row));
    const result = await verifyDecisionRecord(source(rows));
    expect(result.problem).toMatchObject({ seq: 100, id: "d3", kind: "reordered" });
    expect(result.problem?.detail).toContain("chains directly after seq 2 (id d2)");
  });

  it("finds a reorder across a batch boundary", async () => {
    const rows = makeRows(9);
    const swapped = rows.map((row) => (row.seq === 6 ? { ...row, seq: 7 } : row.seq === 7 ? { ...row, seq: 6 } : row));
    const result = await verifyDecisionRecord(source(swapped), { batchSize: 3, lookahead: 5 });
    expect(result.problem).toMatchObject({ seq: 6, id: "d7", kind: "reordered" });
  });

  it("falls back to deleted when the missing link is beyond the lookahead", async () => {
    const rows = makeRows(20).map((row) => (row.seq === 3 ? { ...row, seq: 100 } : row));
    const result = await verifyDecisionRecord(source(rows), { lookahead: 5 });
    expect(result.problem).toMatchObject({ seq: 4, id: "d4", kind: "deleted" });
  });

  it("reports the FIRST problem when there are several", async () => {
    const rows = makeRows(10);
    const tampered = replace(rows, 7, { body: "{}" }).filter((row) => row.seq !== 3);
    expect((await verifyDecisionRecord(source(tampered))).problem).toMatchObject({ seq: 4, kind: "deleted" });
    const tampered2 = replace(rows, 2, { body: "{}" }).filter((row) => row.seq !== 5);
    expect((await verifyDecisionRecord(source(tampered2))).problem).toMatchObject({ seq: 2, kind: "modified" });
  });

  it("detects a truncated tail only against an expected head", async () => {
    const rows = makeRows(10);
    const head = { seq: 10, hash: rows[9]!.hash };
    expect((await verifyDecisionRecord(source(rows.slice(0, 7)))).ok).toBe(true);
    const result = await verifyDecisionRecord(source(rows.slice(0, 7)), { expectedHead: head });
    expect(result.problem).toMatchObject({ seq: 7, id: "d7", kind: "deleted" });
    expect(result.problem?.detail).toContain("3 record(s) at the end are missing");
    expect((await verifyDecisionRecord(source([]), { expectedHead: head })).problem).toMatchObject({ seq: 0, id: "", kind: "deleted" });
    expect((await verifyDecisionRecord(source(rows), { expectedHead: head })).ok).toBe(true);
  });

  it("detects a wholly re-hashed chain against an expected head", async () => {
    const rows = makeRows(6);
    const head = { seq: 6, hash: rows[5]!.hash };
    const rewritten = chainRecords(GENESIS_HEAD, rows.map((row) => ({ id: row.id, body: row.seq === 2 ? row.body.replace('"deny"', '"allow"') : row.body })));
    expect((await verifyDecisionRecord(source(rewritten))).ok).toBe(true);
    expect((await verifyDecisionRecord(source(rewritten), { expectedHead: head })).problem).toMatchObject({ seq: 6, id: "d6", kind: "modified" });
  });

  it("verifies only the suffix after a trusted checkpoint", async () => {
    const rows = makeRows(10);
    const tamperedEarly = replace(rows, 2, { body: "{}" });
    const store = source(tamperedEarly);
    const result = await verifyDecisionRecord(store, { start: { seq: 5, hash: rows[4]!.hash }, batchSize: 2 });
    expect(result).toEqual({ ok: true, checked: 5, head: { seq: 10, hash: rows[9]!.hash } });
    const wrongCheckpoint = await verifyDecisionRecord(source(rows), { start: { seq: 5, hash: "a".repeat(64) } });
    // The stored checkpoint record has another hash: named itself (was "seq 6 deleted", the record after it).
    expect(wrongCheckpoint.problem).toMatchObject({ seq: 5, id: "d5", kind: "modified" });
  });

  it("checks the checkpoint record itself: missing is deleted, another hash or a changed body is modified, naming it", async () => {
    const rows = makeRows(10);
    const start = { seq: 10, hash: rows[9]!.hash };
    const withHead = (stored: DecisionRecordRow[], head: { seq: number; hash: string }) => Object.assign(source(stored), { readChainHead: async () => head });
    expect(await verifyDecisionRecord(withHead(rows, start), { start })).toEqual({ ok: true, checked: 0, head: start });
    // Records down to below the checkpoint deleted and chain_head moved back with them: the checkpoint is gone (was "seq 10 (id ) is stored past the store's chain_head").
    const truncated = await verifyDecisionRecord(withHead(rows.slice(0, 6), { seq: 6, hash: rows[5]!.hash }), { start });
    expect(truncated).toMatchObject({ ok: false, checked: 0, problem: { seq: 10, id: "", kind: "deleted" } });
    expect(truncated.problem?.detail).toContain("checkpoint");
    // The checkpoint record rewritten and re-hashed, nothing after it: was ok without a chain_head.
    const rewritten = chainRecords({ seq: 9, hash: rows[8]!.hash }, [{ id: "d10", body: canonicalJson({ id: "d10", verdict: "allow", n: 99 }) }]);
    const swapped = [...rows.slice(0, 9), ...rewritten];
    expect(await verifyDecisionRecord(source(swapped), { start })).toMatchObject({ ok: false, problem: { seq: 10, id: "d10", kind: "modified" } });
    // Its body changed under the same hash.
    expect(await verifyDecisionRecord(source(replace(rows, 10, { body: "{}" })), { start })).toMatchObject({ ok: false, problem: { seq: 10, id: "d10", kind: "modified" } });
    // A checkpoint before later records is checked as well, and named when the next link breaks.
    expect((await verifyDecisionRecord(source(rows.filter((row) => row.seq !== 5)), { start: { seq: 5, hash: rows[4]!.hash } })).problem).toMatchObject({ seq: 5, kind: "deleted" });
  });

  it("checks the chain against the store's own chain_head: a truncated tail, a rewound or altered head, rows past the head", async () => {
    const rows = makeRows(10);
    const withHead = (stored: DecisionRecordRow[], head: () => { seq: number; hash: string }) => Object.assign(source(stored), { readChainHead: async () => head() });
    const real = { seq: 10, hash: rows[9]!.hash };
    expect(await verifyDecisionRecord(withHead(rows, () => real))).toEqual({ ok: true, checked: 10, head: real });
    // Tail deleted, chain_head left where it was: the store itself says 3 records are missing.
    const truncated = await verifyDecisionRecord(withHead(rows.slice(0, 7), () => real), { batchSize: 3 });
    expect(truncated).toMatchObject({ ok: false, checked: 7, head: { seq: 7 } });
    expect(truncated.problem).toMatchObject({ seq: 7, id: "d7", kind: "deleted" });
    expect(truncated.problem?.detail).toContain("chain_head");
    expect(truncated.problem?.detail).toContain("3 record(s) at the end are missing");
    // chain_head moved back below stored records (the next append would collide), or rows added without moving it.
    const rewound = await verifyDecisionRecord(withHead(rows, () => ({ seq: 8, hash: rows[7]!.hash })));
    expect(rewound.problem).toMatchObject({ seq: 9, id: "d9", kind: "modified" });
    expect(rewound.problem?.detail).toContain("chain_head");
    // The head's hash differs from the record at its seq: the chain was re-hashed, or the head altered.
    const rehashed = await verifyDecisionRecord(withHead(rows, () => ({ seq: 6, hash: "c".repeat(64) })));
    expect(rehashed.problem).toMatchObject({ seq: 6, id: "d6", kind: "modified" });
    const lastAltered = await verifyDecisionRecord(withHead(rows, () => ({ seq: 10, hash: "c".repeat(64) })));
    expect(lastAltered.problem).toMatchObject({ seq: 10, id: "d10", kind: "modified" });
  });

  it("accepts records appended while it verifies (chain_head read before and after the scan)", async () => {
    const rows = makeRows(10);
    let reads = 0;
    // The head is at seq 6 when verification starts; records 7..10 are committed during the scan, the head moving with them.
    const store = Object.assign(source(rows), { readChainHead: async () => (reads++ === 0 ? { seq: 6, hash: rows[5]!.hash } : { seq: 10, hash: rows[9]!.hash }) });
    expect(await verifyDecisionRecord(store, { batchSize: 4 })).toMatchObject({ ok: true, checked: 10 });
    expect(reads).toBe(2);
  });

  it("compares a checkpoint at the expected head's seq with it (no record after the checkpoint to compare)", async () => {
    const rows = makeRows(6);
    const head = { seq: 6, hash: rows[5]!.hash };
    expect((await verifyDecisionRecord(source(rows), { start: head, expectedHead: head })).ok).toBe(true);
    const other = await verifyDecisionRecord(source(rows), { start: { seq: 6, hash: "d".repeat(64) }, expectedHead: head });
    expect(other).toMatchObject({ ok: false, problem: { seq: 6, kind: "modified" } });
  });

  it("checks an expected head below the checkpoint against the record still stored at its seq (was silently skipped)", async () => {
    const rows = makeRows(10);
    const start = { seq: 8, hash: rows[7]!.hash };
    const noted = { seq: 4, hash: rows[3]!.hash };
    expect(await verifyDecisionRecord(source(rows), { start, expectedHead: noted })).toEqual({ ok: true, checked: 2, head: { seq: 10, hash: rows[9]!.hash } });
    // The noted head was re-hashed since (the rewrite re-hashed everything up to the checkpoint too, which is then trusted as given).
    const rewritten = await verifyDecisionRecord(source(rows), { start, expectedHead: { seq: 4, hash: "e".repeat(64) } });
    expect(rewritten).toMatchObject({ ok: false, checked: 0, problem: { seq: 4, id: "d4", kind: "modified" } });
    expect(rewritten.problem?.detail).toContain("expected head");
    // Its record has a body that no longer matches its hash.
    expect((await verifyDecisionRecord(source(replace(rows, 4, { body: "{}" })), { start, expectedHead: noted })).problem).toMatchObject({ seq: 4, id: "d4", kind: "modified" });
    // Its record is gone: named, not passed over.
    const gone = await verifyDecisionRecord(source(rows.filter((row) => row.seq !== 4)), { start, expectedHead: noted });
    expect(gone).toMatchObject({ ok: false, problem: { seq: 4, kind: "deleted" } });
    expect(gone.problem?.detail).toContain("expected head seq 4");
    // Seq 0 is the genesis head: only its hash can be compared.
    expect((await verifyDecisionRecord(source(rows), { start, expectedHead: { seq: 0, hash: GENESIS_HASH } })).ok).toBe(true);
    expect((await verifyDecisionRecord(source(rows), { start, expectedHead: { seq: 0, hash: "f".repeat(64) } })).problem).toMatchObject({ seq: 0, kind: "modified" });
  });

  it("reads in batches of batchSize", async () => {
    const store = source(makeRows(10));
    await verifyDecisionRecord(store, { batchSize: 4 });
    expect(store.reads).toBe(3);
  });
});

describe("hashRecord", () => {
  it("is SHA-256 of prevHash then body as UTF-8 (one-shot and streaming agree), a fixed vector included", () => {
    const prev = "ab".repeat(32);
    for (const body of ['{"a":1}', '{"text":"é ü 中文 😀","lone":"\\ud800"}', "", "x".repeat(100_000)]) {
      expect(hashRecord(prev, body)).toBe(createHash("sha256").update(prev, "utf8").update(body, "utf8").digest("hex"));
    }
    expect(hashRecord(GENESIS_HASH, '{"id":"d1"}')).toBe(createHash("sha256").update(`${"0".repeat(64)}{"id":"d1"}`).digest("hex"));
    expect(hashRecord(GENESIS_HASH, "")).toBe("60e05bd1b195af2f94112fa7197a5c88289058840ce7c6df9693756bc6250f55");
  });
});
