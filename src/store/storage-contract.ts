import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Storage } from "../core/index.js";
import { canonicalJson } from "./canonical-json.js";
import { GENESIS_HASH, hashRecord, verifyDecisionRecord } from "./chain.js";
import type { MaskConfig } from "./mask.js";
import { auditContract } from "./storage-contract-audit.js";
import { decisionContract } from "./storage-contract-decisions.js";
import type { ContractContext } from "./storage-contract-support.js";
import { expectVigilError } from "./storage-contract-support.js";
import { makeDraft, makeEvent, noise } from "./storage-contract-fixtures.js";

/**
 * Opens the storage under test. Each harness owns one fresh location (file, schema); `open`
 * may be called again after `close()` and must reach the same data (durability).
 */
export interface StorageHarness {
  open(options?: { readonly mask?: MaskConfig }): Promise<Storage>;
  dispose(): Promise<void>;
}

/**
 * The one Storage contract every adapter runs (store/sqlite, store/postgres). Call it at the top
 * level of the adapter's test file with a harness factory.
 */
export function storageContract(name: string, createHarness: () => Promise<StorageHarness>): void {
  describe(`Storage contract: ${name}`, () => {
    let harness: StorageHarness;
    let current: Storage;
    const opened: Storage[] = [];

    const open = async (options?: { readonly mask?: MaskConfig }): Promise<Storage> => {
      const storage = await harness.open(options);
      opened.push(storage);
      await storage.init();
      return storage;
    };
    const context: ContractContext = { storage: () => current, reopen: open };

    beforeEach(async () => {
      harness = await createHarness();
      current = await open();
    });

    afterEach(async () => {
      for (const storage of opened.splice(0)) await storage.close();
      await harness.dispose();
    });

    describe("events", () => {
      it("stores new events with increasing seq and reports (source/id) duplicates", async () => {
        const storage = current;
        const first = await storage.appendEvents([makeEvent(1), makeEvent(2)], "2024-01-01T00:00:00.000Z");
        expect(first.duplicates).toEqual([]);
        expect(first.stored.map((stored) => stored.event.id)).toEqual(["evt-1", "evt-2"]);
        expect(first.stored[1]!.seq).toBeGreaterThan(first.stored[0]!.seq);
        expect(first.stored[0]!.receivedAt).toBe("2024-01-01T00:00:00.000Z");

        const again = await storage.appendEvents([makeEvent(2), makeEvent(3), makeEvent(3)], "2024-01-01T00:00:01.000Z");
        expect(again.stored.map((stored) => stored.event.id)).toEqual(["evt-3"]);
        expect(again.duplicates).toEqual(["aws.cloudtrail/123456789012/evt-2", "aws.cloudtrail/123456789012/evt-3"]);
        expect(await storage.countEvents()).toBe(3);
      });

      it("keeps the first copy of an event repeated in one batch, under the seq the store reads back", async () => {
        const result = await current.appendEvents([makeEvent(4, { data: { copy: "first" } }), makeEvent(5), makeEvent(4, { data: { copy: "second" } })], "2024-01-01T00:00:00Z");
        expect(result.duplicates).toEqual(["aws.cloudtrail/123456789012/evt-4"]);
        const listed = await current.listEvents({});
        expect(listed.map((s) => [s.event.id, s.seq, (s.event.data as { copy?: string }).copy])).toEqual(result.stored.map((s) => [s.event.id, s.seq, (s.event.data as { copy?: string }).copy]));
        expect(listed.map((s) => (s.event.data as { copy?: string }).copy)).toEqual(["first", undefined]);
      });

      it("treats the same id from another source as a new event", async () => {
        const result = await current.appendEvents([makeEvent(1), makeEvent(1, { source: "okta" })], "2024-01-01T00:00:00Z");
        expect(result.stored).toHaveLength(2);
        expect(result.duplicates).toEqual([]);
      });

      it("tells apart (source, id) pairs whose source/id text is the same: each event keeps its own seq and content", async () => {
        await current.appendEvents([makeEvent(1, { source: "/a/b", id: "c" })], "2024-01-01T00:00:00Z");
        const result = await current.appendEvents([makeEvent(2, { source: "/a/b", id: "c" }), makeEvent(3, { source: "/a", id: "b/c" })], "2024-01-01T00:00:01Z");
        expect(result.duplicates).toEqual(["/a/b/c"]);
        expect(result.stored.map((s) => [s.event.source, s.event.id])).toEqual([["/a", "b/c"]]);
        const listed = await current.listEvents({});
        expect(listed.map((s) => [s.event.source, s.event.id, s.seq])).toEqual([["/a/b", "c", listed[0]?.seq], ["/a", "b/c", result.stored[0]?.seq]]);
      });

      it("round-trips the whole CloudEvent, extensions included", async () => {
        const event = makeEvent(7, { traceparent: "00-abc-def-01", data: { nested: { list: [1, "two", null, true] }, unicode: "café ✓" } });
        await current.appendEvents([event], "2024-01-01T00:00:00Z");
        const [listed] = await current.listEvents({});
        expect(listed?.event).toEqual(event);
      });

      it("rejects an event without id/source/type with VIGIL_BAD_EVENT and stores nothing", async () => {
        const bad = { ...makeEvent(2), id: "" };
        await expectVigilError(current.appendEvents([makeEvent(1), bad], "2024-01-01T00:00:00Z"), "VIGIL_BAD_EVENT", "events[1].id");
        expect(await current.countEvents()).toBe(0);
      });

      it("refuses an event whose id, source or type a UTF-8 text column cannot hold (lone surrogate, NUL) with VIGIL_BAD_EVENT naming it", async () => {
        // Stored, "e-\ud800" read back as "e-\ufffd": the event was stored yet reported a duplicate, and "e-\udbff" became its duplicate.
        await expectVigilError(current.appendEvents([makeEvent(1), makeEvent(2, { id: "e-\ud800" })], "2024-01-01T00:00:00Z"), "VIGIL_BAD_EVENT", "events[1].id");
        await expectVigilError(current.appendEvents([makeEvent(3, { source: "src\u0000" })], "2024-01-01T00:00:00Z"), "VIGIL_BAD_EVENT", "events[0].source");
        await expectVigilError(current.appendEvents([makeEvent(4, { type: "\udc00x" })], "2024-01-01T00:00:00Z"), "VIGIL_BAD_EVENT", "events[0].type");
        expect(await current.countEvents()).toBe(0);
        // In the data (stored as JSON text) both are fine.
        const event = makeEvent(5, { id: "e-\u{1F600}", data: { note: "a\u0000b\ud800" } });
        const result = await current.appendEvents([event], "2024-01-01T00:00:00Z");
        expect(result).toMatchObject({ duplicates: [] });
        expect((await current.listEvents({}))[0]?.event).toEqual(event);
        // An id, source or type too long for an index entry (PostgreSQL refused the row, SQLite took it): refused alike, naming it.
        await expectVigilError(current.appendEvents([makeEvent(6, { id: noise(3000) })], "2024-01-01T00:00:00Z"), "VIGIL_BAD_EVENT", "events[0].id");
        await expectVigilError(current.appendEvents([makeEvent(7, { type: noise(3000) })], "2024-01-01T00:00:00Z"), "VIGIL_BAD_EVENT", "events[0].type");
        // Listing by such a type finds nothing, as on SQLite (PostgreSQL failed the query on the NUL).
        expect(await current.listEvents({ type: "t\u0000" })).toEqual([]);
      });

      it("lists pending events oldest first until they are marked processed", async () => {
        const { stored } = await current.appendEvents([1, 2, 3, 4].map((index) => makeEvent(index)), "2024-01-01T00:00:00Z");
        expect((await current.pendingEvents(10)).map((event) => event.event.id)).toEqual(["evt-1", "evt-2", "evt-3", "evt-4"]);
        expect((await current.pendingEvents(2)).map((event) => event.event.id)).toEqual(["evt-1", "evt-2"]);
        await current.markProcessed([stored[0]!.seq, stored[2]!.seq], "2024-01-01T00:01:00Z");
        expect((await current.pendingEvents(10)).map((event) => event.event.id)).toEqual(["evt-2", "evt-4"]);
        const processed = (await current.listEvents({})).filter((event) => event.processedAt !== undefined);
        expect(processed.map((event) => [event.event.id, event.processedAt])).toEqual([["evt-1", "2024-01-01T00:01:00Z"], ["evt-3", "2024-01-01T00:01:00Z"]]);
        expect([...(await current.processedAmong([stored[0]!.seq, stored[1]!.seq, stored[2]!.seq, stored[3]!.seq + 100]))].sort((a, b) => a - b)).toEqual([stored[0]!.seq, stored[2]!.seq]);
        expect((await current.processedAmong([])).size).toBe(0);
        // Marking again keeps the first processing time.
        await current.markProcessed([stored[0]!.seq], "2024-01-01T00:02:00Z");
        expect((await current.listEvents({ limit: 1 }))[0]?.processedAt).toBe("2024-01-01T00:01:00Z");
      });

      it("claims pending events for one owner at a time until the claim lapses", async () => {
        const { stored } = await current.appendEvents([1, 2, 3, 4].map((index) => makeEvent(index)), "2024-01-01T00:00:00Z");
        const [a, b, c, d] = stored.map((event) => event.seq) as [number, number, number, number];
        const sorted = (set: ReadonlySet<number>) => [...set].sort((x, y) => x - y);
        await current.markProcessed([d], "2024-01-01T00:01:00Z");
        // A processed event and an unknown seq are never claimed.
        expect(sorted(await current.claimEvents([a, b, d, d + 100], "w1", 1_000, 61_000))).toEqual([a, b]);
        // Another owner gets only what w1 does not hold; w1 renews its own claims.
        const other = await open();
        expect(sorted(await other.claimEvents([a, b, c], "w2", 2_000, 62_000))).toEqual([c]);
        expect(sorted(await current.claimEvents([a, b, c], "w1", 3_000, 63_000))).toEqual([a, b]);
        expect(sorted(await other.claimEvents([a], "w2", 4_000, 64_000))).toEqual([]);
        // Lapsed (now at or past the claim's end): free again.
        expect(sorted(await other.claimEvents([b], "w2", 62_999, 122_999))).toEqual([]);
        expect(sorted(await other.claimEvents([b], "w2", 63_000, 123_000))).toEqual([b]);
        // Claims do not hide events from pendingEvents (the sweep still sees them) nor change processing.
        expect((await current.pendingEvents(10)).map((event) => event.seq)).toEqual([a, b, c]);
        await current.markProcessed([a, b, c], "2024-01-01T00:02:00Z");
        expect((await current.claimEvents([a, b, c], "w3", 200_000, 260_000)).size).toBe(0);
        expect((await current.claimEvents([], "w3", 200_000, 260_000)).size).toBe(0);
      });

      it("gives each pending event to one of several owners claiming at once", { timeout: 60_000 }, async () => {
        const { stored } = await current.appendEvents(Array.from({ length: 60 }, (_unused, index) => makeEvent(index)), "2024-01-01T00:00:00Z");
        const seqs = stored.map((event) => event.seq);
        const others = [await open(), await open()];
        const claims = await Promise.all([current, ...others].flatMap((target, index) => [0, 1].map((round) => target.claimEvents(round === 0 ? seqs : [...seqs].reverse(), `w${index}-${round}`, 1_000, 61_000))));
        const all = claims.flatMap((set) => [...set]);
        expect(all.length).toBe(seqs.length);
        expect(new Set(all).size).toBe(seqs.length);
      });

      it("appends decisions and marks their events processed in one transaction: both or neither", async () => {
        const { stored } = await current.appendEvents([1, 2, 3].map((index) => makeEvent(index)), "2024-01-01T00:00:00Z");
        await current.appendDecisions([makeDraft(1)], { markProcessed: { seqs: [stored[0]!.seq], at: "2024-01-01T00:01:00Z" } });
        expect((await current.pendingEvents(10)).map((event) => event.event.id)).toEqual(["evt-2", "evt-3"]);
        // A conflicting batch rolls back: no decision, no mark.
        await expectVigilError(current.appendDecisions([makeDraft(2), makeDraft(1)], { markProcessed: { seqs: [stored[1]!.seq], at: "2024-01-01T00:02:00Z" } }), "VIGIL_CONFLICT", '"dec-000001"');
        expect((await current.pendingEvents(10)).map((event) => event.event.id)).toEqual(["evt-2", "evt-3"]);
        expect(await current.getDecision("dec-000002")).toBeUndefined();
        // No drafts (every decision of a batch processed twice already recorded): the marks alone.
        expect(await current.appendDecisions([], { markProcessed: { seqs: [stored[1]!.seq, stored[2]!.seq], at: "2024-01-01T00:03:00Z" } })).toEqual([]);
        expect(await current.pendingEvents(10)).toEqual([]);
        expect((await current.listEvents({})).map((event) => event.processedAt)).toEqual(["2024-01-01T00:01:00Z", "2024-01-01T00:03:00Z", "2024-01-01T00:03:00Z"]);
      });

      it("lists events by afterSeq, type and limit", async () => {
        await current.appendEvents([makeEvent(1), makeEvent(2, { type: "com.okta.system.log" }), makeEvent(3), makeEvent(4)], "2024-01-01T00:00:00Z");
        const all = await current.listEvents({});
        expect(all.map((event) => event.event.id)).toEqual(["evt-1", "evt-2", "evt-3", "evt-4"]);
        expect((await current.listEvents({ afterSeq: all[1]!.seq })).map((event) => event.event.id)).toEqual(["evt-3", "evt-4"]);
        expect((await current.listEvents({ type: "com.okta.system.log" })).map((event) => event.event.id)).toEqual(["evt-2"]);
        expect((await current.listEvents({ type: "com.amazonaws.cloudtrail", limit: 2 })).map((event) => event.event.id)).toEqual(["evt-1", "evt-3"]);
      });
    });

    decisionContract(context);

    describe("documents", () => {
      it("puts, gets and versions documents", async () => {
        await current.putDocs([{ collection: "entities", id: "user:alice", value: { team: "payments", level: 3 } }], "2024-01-01T00:00:00Z");
        const first = await current.getDoc<{ team: string }>("entities", "user:alice");
        expect(first).toEqual({ collection: "entities", id: "user:alice", value: { team: "payments", level: 3 }, version: 1, updatedAt: "2024-01-01T00:00:00Z" });
        await current.putDocs([{ collection: "entities", id: "user:alice", value: { team: "platform" } }], "2024-01-02T00:00:00Z");
        expect(await current.getDoc("entities", "user:alice")).toMatchObject({ value: { team: "platform" }, version: 2, updatedAt: "2024-01-02T00:00:00Z" });
        expect(await current.getDoc("entities", "user:bob")).toBeUndefined();
        expect(await current.getDoc("other", "user:alice")).toBeUndefined();
      });

      it("stores any JSON value and refuses undefined", async () => {
        await current.putDocs([{ collection: "c", id: "s", value: "text" }, { collection: "c", id: "n", value: 0 }, { collection: "c", id: "a", value: [1, { b: null }] }], "t");
        expect((await current.getDocs("c", ["s", "n", "a"])).map((doc) => doc.value)).toEqual(["text", 0, [1, { b: null }]]);
        await expectVigilError(current.putDocs([{ collection: "c", id: "u", value: undefined }], "t"), "VIGIL_BAD_INPUT", "c/u");
      });

      it("reads a document back with its keys in the order written, at every depth (what a policy iterating entity attrs sees)", async () => {
        // PostgreSQL's jsonb sorted keys (shorter first, then bytewise): an entity's labels came back
        // reordered there only, so CEL keys()/map iteration and printed documents differed by store.
        const value = { zeta: 1, b: { "app.kubernetes.io/name": "web", app: "x", "10": true, "2": false }, alpha: [{ zz: 1, a: 2 }], "": null, aa: "v" };
        const written = JSON.stringify(value);
        await current.putDocs([{ collection: "entities", id: "k8s:web", value }, { collection: "entities", id: "k8s:db", value: { y: 1, x: 2 }, expectVersion: 0 }], "t");
        expect(JSON.stringify((await current.getDoc("entities", "k8s:web"))?.value)).toBe(written);
        expect(JSON.stringify((await current.getDocs("entities", ["k8s:web"]))[0]?.value)).toBe(written);
        expect((await current.listDocs("entities", { where: { zeta: 1 } })).map((doc) => JSON.stringify(doc.value))).toEqual([written]);
        await current.putDocs([{ collection: "entities", id: "k8s:db", value: { y: 3, x: 4 }, expectVersion: 1 }], "t2");
        expect(JSON.stringify((await current.getDoc("entities", "k8s:db"))?.value)).toBe('{"y":3,"x":4}');
      });

      it("stores and finds strings JSONB cannot hold as they are (NUL, lone surrogates), in values and keys", async () => {
        // PostgreSQL's JSONB refused them ("unsupported Unicode escape sequence"): a review, feedback or exception whose text held one failed there only.
        const value = { why: "a\u0000b", odd: "x\ud800y\udc00", pair: "\u{1F600}", "k\u0000ey": 1, pua: "\ue000", puaHex: "\ue000d800", slash: "\\u0000", list: ["\udbff"] };
        await current.putDocs([{ collection: "feedback", id: "f1", value }, { collection: "feedback", id: "f2", value: { why: "a\ufffdb" } }], "t");
        expect((await current.getDoc("feedback", "f1"))?.value).toEqual(value);
        expect((await current.getDocs("feedback", ["f1"]))[0]?.value).toEqual(value);
        expect((await current.listDocs("feedback", { where: { why: "a\u0000b" } })).map((doc) => doc.id)).toEqual(["f1"]);
        expect((await current.listDocs("feedback", { where: { odd: "x\ud800y\udc00" } })).map((doc) => doc.id)).toEqual(["f1"]);
        expect((await current.listDocs("feedback", { where: { why: "a\ufffdb" } })).map((doc) => doc.id)).toEqual(["f2"]);
        expect((await current.listDocs("feedback", { where: { puaHex: "\ue000d800" } })).map((doc) => doc.id)).toEqual(["f1"]);
        await current.putDocs([{ collection: "feedback", id: "f1", value: { ...value, why: "c\u0000" }, expectVersion: 1 }], "t2");
        expect((await current.listDocs("feedback"))[0]?.value).toEqual({ ...value, why: "c\u0000" });
      });

      it("keeps document ids and collections a text column cannot hold (NUL, lone surrogates) apart and reads them back as they are", async () => {
        // An entity key comes from event data: with a NUL, PostgreSQL failed the batch; "u\ud800" and "u\udfff" were one row there, and read back as "u\ufffd" on both stores.
        const ids = ["u\u0000a", "u\ud800", "u\udfff", "u\ue000d800", "u\ue000", "u\u{1F600}", "u-plain"];
        await current.putDocs(ids.map((id, index) => ({ collection: "entities", id, value: { index } })), "t");
        await current.putDocs([{ collection: "c\u0000", id: "x", value: 1 }], "t");
        for (const [index, id] of ids.entries()) expect(await current.getDoc("entities", id)).toMatchObject({ id, value: { index } });
        expect((await current.getDocs("entities", [...ids].reverse())).map((doc) => doc.id)).toEqual([...ids].reverse());
        const listed = (await current.listDocs("entities")).map((doc) => doc.id);
        expect([...listed].sort()).toEqual([...ids].sort());
        const page = await current.listDocs("entities", { afterId: listed[2]!, limit: 2 });
        expect(page.map((doc) => doc.id)).toEqual(listed.slice(3, 5));
        expect((await current.listDocs("entities", { idPrefix: "u\u0000" })).map((doc) => doc.id)).toEqual(["u\u0000a"]);
        expect((await current.getDoc("c\u0000", "x"))?.collection).toBe("c\u0000");
        await current.putDocs([{ collection: "entities", id: "u\ud800", value: { index: 9 }, expectVersion: 1 }], "t2");
        expect(await current.getDoc("entities", "u\ud800")).toMatchObject({ value: { index: 9 }, version: 2 });
        expect(await current.getDoc("entities", "u\udfff")).toMatchObject({ value: { index: 2 }, version: 1 });
        expect(await current.deleteDoc("entities", "u\u0000a")).toBe(true);
        expect(await current.getDoc("entities", "u\u0000a")).toBeUndefined();
      });

      it("gets several documents in the order asked, skipping missing ones", async () => {
        await current.putDocs(["a", "b", "c"].map((id) => ({ collection: "baselines", id, value: { id } })), "t");
        expect((await current.getDocs("baselines", ["c", "missing", "a", "c"])).map((doc) => doc.id)).toEqual(["c", "a"]);
        expect(await current.getDocs("baselines", [])).toEqual([]);
      });

      it("enforces expectVersion: 0 = must not exist, n = must be at version n", async () => {
        await current.putDocs([{ collection: "reviews", id: "r1", value: { state: "pending" }, expectVersion: 0 }], "t1");
        await expectVigilError(current.putDocs([{ collection: "reviews", id: "r1", value: { state: "x" }, expectVersion: 0 }], "t2"), "VIGIL_CONFLICT", "reviews/r1");
        await expectVigilError(current.putDocs([{ collection: "reviews", id: "r1", value: { state: "x" }, expectVersion: 2 }], "t2"), "VIGIL_CONFLICT", "version 1");
        await expectVigilError(current.putDocs([{ collection: "reviews", id: "r9", value: {}, expectVersion: 1 }], "t2"), "VIGIL_CONFLICT", "does not exist");
        await current.putDocs([{ collection: "reviews", id: "r1", value: { state: "approved" }, expectVersion: 1 }], "t3");
        expect(await current.getDoc("reviews", "r1")).toMatchObject({ value: { state: "approved" }, version: 2 });
      });

      it("writes a batch atomically: one conflict rolls back every document in it", async () => {
        await current.putDocs([{ collection: "c", id: "x", value: 1 }], "t1");
        await expectVigilError(current.putDocs([
          { collection: "c", id: "new", value: "n" },
          { collection: "c", id: "x", value: 2 },
          { collection: "c", id: "x", value: 3, expectVersion: 1 },
        ], "t2"), "VIGIL_CONFLICT");
        expect(await current.getDoc("c", "new")).toBeUndefined();
        expect(await current.getDoc("c", "x")).toMatchObject({ value: 1, version: 1 });
      });

      it("applies repeated puts of one document in a batch in order", async () => {
        await current.putDocs([{ collection: "c", id: "x", value: 1 }, { collection: "c", id: "x", value: 2 }], "t");
        expect(await current.getDoc("c", "x")).toMatchObject({ value: 2, version: 2 });
      });

      it("writes overlapping batches from two instances at once, in opposite orders, without failing either", { timeout: 60_000 }, async () => {
        // Entity and baseline flushes of two workers: on PostgreSQL each batch locked its rows in the order given, so two batches in opposite orders deadlocked ("deadlock detected", VIGIL_STORAGE).
        const other = await open();
        const ids = Array.from({ length: 40 }, (_unused, index) => `entity-${index}`);
        const writer = async (target: typeof other, order: readonly string[], round: number) => {
          for (let step = 0; step < 15; step++) await target.putDocs(order.map((id) => ({ collection: "baselines", id, value: { round, step } })), `t${step}`);
        };
        const results = await Promise.allSettled([writer(current, ids, 1), writer(other, [...ids].reverse(), 2), writer(current, ids, 3), writer(other, [...ids].reverse(), 4)]);
        expect(results.filter((result) => result.status === "rejected").map((result) => String((result as PromiseRejectedResult).reason))).toEqual([]);
        expect((await current.getDoc("baselines", "entity-0"))?.version).toBe(60);
      });

      it("deletes documents", async () => {
        await current.putDocs([{ collection: "c", id: "x", value: 1 }], "t");
        expect(await current.deleteDoc("c", "x")).toBe(true);
        expect(await current.deleteDoc("c", "x")).toBe(false);
        expect(await current.getDoc("c", "x")).toBeUndefined();
        await current.putDocs([{ collection: "c", id: "x", value: 5, expectVersion: 0 }], "t");
        expect(await current.getDoc("c", "x")).toMatchObject({ value: 5, version: 1 });
      });

      it("keeps document ids longer than an index entry can be (PostgreSQL refused them past its B-tree limit), whole, found by get, list, prefix and version, apart when they share a long start", async () => {
        const base = `entity:${noise(3000, 7)}`;
        const ids = [`${base}-a`, `${base}-b`, `${base}-é\u{1F600}${noise(500, 9)}`, `${"\u{1F600}".repeat(300)}x`, "short"];
        await current.putDocs(ids.map((id, index) => ({ collection: "entities", id, value: { index } })), "t");
        for (const [index, id] of ids.entries()) expect(await current.getDoc("entities", id)).toMatchObject({ id, value: { index }, version: 1 });
        expect((await current.getDocs("entities", [...ids].reverse())).map((doc) => doc.id)).toEqual([...ids].reverse());
        const listed = (await current.listDocs("entities")).map((doc) => doc.id);
        expect([...listed].sort()).toEqual([...ids].sort());
        // Pages by afterId cover every document once, in the listing's order.
        const paged: string[] = [];
        for (let page = await current.listDocs("entities", { limit: 2 }); page.length > 0; page = await current.listDocs("entities", { limit: 2, afterId: paged.at(-1)! })) paged.push(...page.map((doc) => doc.id));
        expect(paged).toEqual(listed);
        // A prefix longer than the indexed start still tells the long ids apart.
        expect((await current.listDocs("entities", { idPrefix: `${base}-` })).map((doc) => doc.id).sort()).toEqual(ids.slice(0, 3).sort());
        expect((await current.listDocs("entities", { idPrefix: `${base}-b` })).map((doc) => doc.id)).toEqual([`${base}-b`]);
        expect((await current.listDocs("entities", { idPrefix: "\u{1F600}".repeat(300) })).map((doc) => doc.id)).toEqual([ids[3]]);
        await current.putDocs([{ collection: "entities", id: `${base}-a`, value: { index: 10 }, expectVersion: 1 }], "t2");
        await expectVigilError(current.putDocs([{ collection: "entities", id: `${base}-b`, value: {}, expectVersion: 0 }], "t3"), "VIGIL_CONFLICT", "version 1");
        await current.putDocs([{ collection: "entities", id: `${base}-b`, value: { index: 11 } }], "t3");
        expect(await current.getDoc("entities", `${base}-a`)).toMatchObject({ value: { index: 10 }, version: 2 });
        expect(await current.getDoc("entities", `${base}-b`)).toMatchObject({ value: { index: 11 }, version: 2 });
        expect(await current.getDoc("entities", ids[2]!)).toMatchObject({ value: { index: 2 }, version: 1 });
        expect(await current.deleteDoc("entities", `${base}-a`)).toBe(true);
        expect(await current.getDoc("entities", `${base}-a`)).toBeUndefined();
        expect(await current.getDoc("entities", `${base}-b`)).toMatchObject({ version: 2 });
      });

      it("lists by id order with idPrefix, afterId and limit", async () => {
        const ids = ["user:bob", "user:alice", "team:pay", "user:carol", "user", "userx"];
        await current.putDocs(ids.map((id) => ({ collection: "entities", id, value: { id } })), "t");
        await current.putDocs([{ collection: "other", id: "user:zed", value: {} }], "t");
        expect((await current.listDocs("entities")).map((doc) => doc.id)).toEqual(["team:pay", "user", "user:alice", "user:bob", "user:carol", "userx"]);
        expect((await current.listDocs("entities", { idPrefix: "user:" })).map((doc) => doc.id)).toEqual(["user:alice", "user:bob", "user:carol"]);
        expect((await current.listDocs("entities", { idPrefix: "user:", afterId: "user:alice", limit: 1 })).map((doc) => doc.id)).toEqual(["user:bob"]);
        expect((await current.listDocs("entities", { idPrefix: "%_" })).map((doc) => doc.id)).toEqual([]);
      });

      it("filters by top-level fields exactly (strings, numbers, booleans, null)", async () => {
        await current.putDocs([
          { collection: "e", id: "1", value: { team: "pay", level: 1, active: true, owner: null, tags: ["pay"] } },
          { collection: "e", id: "2", value: { team: "pay", level: 2, active: false } },
          { collection: "e", id: "3", value: { team: "ops", level: "1", active: 1, owner: "x" } },
          { collection: "e", id: "4", value: "not an object" },
        ], "t");
        const ids = async (where: Record<string, string | number | boolean | null>) => (await current.listDocs("e", { where })).map((doc) => doc.id);
        expect(await ids({ team: "pay" })).toEqual(["1", "2"]);
        expect(await ids({ team: "pay", level: 2 })).toEqual(["2"]);
        expect(await ids({ level: 1 })).toEqual(["1"]);
        expect(await ids({ level: "1" })).toEqual(["3"]);
        expect(await ids({ active: true })).toEqual(["1"]);
        expect(await ids({ active: false })).toEqual(["2"]);
        expect(await ids({ owner: null })).toEqual(["1"]);
        expect(await ids({ tags: "pay" })).toEqual([]);
        expect(await ids({ "odd key": "x" })).toEqual([]);
        // SQLite's JSON path ends at a NUL ("bad JSON path", VIGIL_STORAGE) where PostgreSQL took the key: refused alike, naming it.
        await expectVigilError(current.listDocs("e", { where: { "a\u0000b": 1 } }), "VIGIL_BAD_INPUT", "where-field");
      });
    });

    auditContract(context);

    describe("durability and lifecycle", () => {
      it("keeps everything across close and reopen, and the chain continues", async () => {
        await current.appendEvents([makeEvent(1), makeEvent(2)], "2024-01-01T00:00:00Z");
        const [, second] = await current.appendDecisions([makeDraft(1), makeDraft(2)]);
        await current.putDocs([{ collection: "c", id: "x", value: { v: 1 } }], "t");
        await current.appendAudit([{ at: "2024-01-01T00:00:00Z", actor: "a", action: "x" }]);
        await current.close();

        const reopened = await open();
        expect(await reopened.countEvents()).toBe(2);
        expect((await reopened.appendEvents([makeEvent(2)], "t")).duplicates).toHaveLength(1);
        expect(await reopened.getDecision("dec-000002")).toEqual(second);
        expect(await reopened.getDoc("c", "x")).toMatchObject({ value: { v: 1 }, version: 1 });
        expect(await reopened.listAudit({})).toHaveLength(1);
        const [third] = await reopened.appendDecisions([makeDraft(3)]);
        expect(third).toMatchObject({ seq: 3, prevHash: second!.hash });
        expect(await verifyDecisionRecord(reopened)).toMatchObject({ ok: true, checked: 3 });
      });

      it("initializes idempotently", async () => {
        await current.init();
        const other = await open();
        await other.init();
        expect(await other.countEvents()).toBe(0);
      });

      it("refuses calls after close with VIGIL_STORAGE", async () => {
        await current.close();
        await expectVigilError(current.countEvents(), "VIGIL_STORAGE", "after close()");
      });

      it("verifies a clean chain and reports its head", async () => {
        const decisions = await current.appendDecisions(Array.from({ length: 25 }, (_unused, index) => makeDraft(index + 1)));
        const result = await verifyDecisionRecord(current, { batchSize: 7 });
        expect(result).toEqual({ ok: true, checked: 25, head: { seq: 25, hash: decisions[24]!.hash } });
        const rows = await current.scanDecisionRecord(0, 1);
        expect(rows[0]).toEqual({ seq: 1, id: "dec-000001", body: canonicalJson(makeDraft(1)), prevHash: GENESIS_HASH, hash: hashRecord(GENESIS_HASH, canonicalJson(makeDraft(1))) });
      });
    });
  });
}
