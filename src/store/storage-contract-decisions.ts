import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json.js";
import { GENESIS_HASH, hashRecord, verifyDecisionRecord } from "./chain.js";
import type { ContractContext } from "./storage-contract-support.js";
import { expectVigilError } from "./storage-contract-support.js";
import { makeDraft, noise, oldestDenied } from "./storage-contract-fixtures.js";
import { prepareDecisions } from "./sql-queries.js";

const ids = (decisions: readonly { readonly id: string }[]) => decisions.map((decision) => decision.id);

/** The decision-record part of the storage contract (see storage-contract.ts). */
export function decisionContract({ storage, reopen }: ContractContext): void {
  describe("decision record", () => {
    it("assigns seq from 1, links prevHash from 64 zeros, hashes prevHash + canonical JSON", async () => {
      const drafts = [makeDraft(1), makeDraft(2), makeDraft(3)];
      const decisions = await storage().appendDecisions(drafts);
      expect(decisions.map((decision) => decision.seq)).toEqual([1, 2, 3]);
      let prevHash = GENESIS_HASH;
      decisions.forEach((decision, index) => {
        expect(decision.prevHash).toBe(prevHash);
        expect(decision.hash).toBe(hashRecord(prevHash, canonicalJson(drafts[index])));
        expect(decision).toMatchObject(drafts[index]!);
        prevHash = decision.hash;
      });
      const more = await storage().appendDecisions([makeDraft(4)]);
      expect(more[0]).toMatchObject({ seq: 4, prevHash: decisions[2]!.hash });
    });

    it("stores the canonical body exactly as hashed", async () => {
      await storage().appendDecisions([makeDraft(1), makeDraft(2)]);
      const rows = await storage().scanDecisionRecord(0, 10);
      expect(rows.map((row) => row.seq)).toEqual([1, 2]);
      expect(rows[1]).toEqual({ seq: 2, id: "dec-000002", body: canonicalJson(makeDraft(2)), prevHash: rows[0]!.hash, hash: hashRecord(rows[0]!.hash, canonicalJson(makeDraft(2))) });
      expect(await storage().scanDecisionRecord(1, 10)).toHaveLength(1);
      expect(await storage().scanDecisionRecord(0, 1)).toHaveLength(1);
    });

    it("gets a decision by id as it was returned by append", async () => {
      const [, second] = await storage().appendDecisions([makeDraft(1), makeDraft(2)]);
      expect(await storage().getDecision("dec-000002")).toEqual(second);
      expect(await storage().getDecision("nope")).toBeUndefined();
    });

    it("appends nothing for an empty batch", async () => {
      expect(await storage().appendDecisions([])).toEqual([]);
      expect(await storage().scanDecisionRecord(0, 10)).toEqual([]);
    });

    it("refuses an id already recorded with VIGIL_CONFLICT naming it, and leaves the chain unchanged", async () => {
      await storage().appendDecisions([makeDraft(1), makeDraft(2)]);
      await expectVigilError(storage().appendDecisions([makeDraft(3), makeDraft(2)]), "VIGIL_CONFLICT", '"dec-000002"');
      expect(await storage().getDecision("dec-000003")).toBeUndefined();
      const [next] = await storage().appendDecisions([makeDraft(3)]);
      expect(next?.seq).toBe(3);
      expect(await verifyDecisionRecord(storage())).toMatchObject({ ok: true, checked: 3 });
    });

    it("refuses an id repeated within one batch", async () => {
      await expectVigilError(storage().appendDecisions([makeDraft(1), makeDraft(1)]), "VIGIL_CONFLICT", "twice");
      expect(await storage().scanDecisionRecord(0, 10)).toEqual([]);
    });

    it("reads a body back byte for byte whatever its key order, repeated keys or spacing, so verify re-hashes what was hashed (bodies are text, never jsonb)", async () => {
      // A worker's body in another key order, with a key repeated, as a JSON parser would have taken it: jsonb would sort and de-duplicate it, and verify would report it modified.
      const [prepared] = prepareDecisions([makeDraft(1)], undefined).map(({ draft: _draft, ...canonical }) => canonical);
      const body = `{"z":1, "id":"dec-000001","a":{"y":2,"x":[{"b":1,"a":2}]},"a":3,"\\u00e9":"\\u0000"}`;
      const [row] = await storage().appendCanonicalDecisions([{ ...prepared!, body }]);
      expect(row?.hash).toBe(hashRecord(GENESIS_HASH, body));
      const reopened = await reopen();
      expect((await reopened.scanDecisionRecord(0, 1))[0]?.body).toBe(body);
      expect(await verifyDecisionRecord(reopened)).toMatchObject({ ok: true, checked: 1 });
    });

    it("refuses a prepared body holding a raw NUL or a lone surrogate, naming it, and writes nothing (a lone surrogate was stored and read back as U+FFFD, so verify called an untouched record modified; PostgreSQL failed on a NUL with its own error)", async () => {
      const [prepared] = prepareDecisions([makeDraft(1)], undefined).map(({ draft: _draft, ...canonical }) => canonical);
      for (const [text, what] of [["a\ud800b", "lone surrogate"], ["a\u0000b", "NUL"]] as const) {
        const body = `${prepared!.body.slice(0, -1)},"x":"${text}"}`;
        const refused: unknown = await storage().appendCanonicalDecisions([{ ...prepared!, body }]).then(() => undefined, (error: unknown) => error);
        expect(refused, what).toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "decisions[0].body" } });
        expect((refused as Error).message).toContain(what);
      }
      expect(await storage().scanDecisionRecord(0, 10)).toEqual([]);
      await storage().appendCanonicalDecisions([prepared!]);
      expect(await verifyDecisionRecord(storage())).toMatchObject({ ok: true, checked: 1 });
    });

    it("appends decisions prepared elsewhere (appendCanonicalDecisions) into the same chain, indexed as appendDecisions indexes them", async () => {
      const [first] = await storage().appendDecisions([makeDraft(1)]);
      const drafts = [makeDraft(2, { policies: ["p-canon"], subject: "arn:aws:iam::1:user/canon" }), makeDraft(3)];
      const prepared = prepareDecisions(drafts, undefined).map(({ draft: _draft, ...canonical }) => canonical);
      const rows = await storage().appendCanonicalDecisions(prepared);
      expect(rows.map((row) => row.seq)).toEqual([2, 3]);
      expect(rows[0]).toEqual({ seq: 2, id: "dec-000002", body: canonicalJson(drafts[0]), prevHash: first!.hash, hash: hashRecord(first!.hash, canonicalJson(drafts[0])) });
      expect(await storage().getDecision("dec-000002")).toEqual({ ...drafts[0], seq: 2, prevHash: first!.hash, hash: rows[0]!.hash });
      expect(ids(await storage().listDecisions({ policy: "p-canon" }))).toEqual(["dec-000002"]);
      expect(ids(await storage().listDecisions({ subject: "arn:aws:iam::1:user/canon" }))).toEqual(["dec-000002"]);
      const [fourth] = await storage().appendDecisions([makeDraft(4)]);
      expect(fourth).toMatchObject({ seq: 4, prevHash: rows[1]!.hash });
      expect(await verifyDecisionRecord(storage())).toMatchObject({ ok: true, checked: 4 });
      expect(await storage().appendCanonicalDecisions([])).toEqual([]);
      // A policy named twice in one prepared decision is indexed once (it failed the batch: a primary-key violation on decision_policies, VIGIL_STORAGE).
      const [fifth] = prepareDecisions([makeDraft(5, { policies: ["p-twice"] })], undefined).map(({ draft: _draft, ...canonical }) => canonical);
      await storage().appendCanonicalDecisions([{ ...fifth!, policies: ["p-twice", "p-twice"] }]);
      expect(ids(await storage().listDecisions({ policy: "p-twice" }))).toEqual(["dec-000005"]);
    });

    it("refuses a prepared decision that is not one, or whose id is taken, naming the entry, and appends nothing of its batch", async () => {
      const [one, two] = prepareDecisions([makeDraft(1), makeDraft(2)], undefined).map(({ draft: _draft, ...canonical }) => canonical);
      await expectVigilError(storage().appendCanonicalDecisions([one!, { ...two!, body: "not json" }]), "VIGIL_BAD_INPUT", "decisions[1].body");
      await expectVigilError(storage().appendCanonicalDecisions([{ ...one!, timeMs: Number.NaN }]), "VIGIL_BAD_INPUT", "decisions[0].timeMs");
      // SQLite stored these and PostgreSQL's BIGINT refused them (VIGIL_STORAGE): refused alike, naming the field.
      await expectVigilError(storage().appendCanonicalDecisions([{ ...one!, timeMs: 1.5 }]), "VIGIL_BAD_INPUT", "decisions[0].timeMs");
      await expectVigilError(storage().appendCanonicalDecisions([one!, { ...two!, timeMs: 1e20 }]), "VIGIL_BAD_INPUT", "decisions[1].timeMs");
      await expectVigilError(storage().appendCanonicalDecisions([one!, one!]), "VIGIL_CONFLICT", "twice");
      expect(await storage().scanDecisionRecord(0, 10)).toEqual([]);
      await storage().appendCanonicalDecisions([one!]);
      await expectVigilError(storage().appendCanonicalDecisions([two!, one!]), "VIGIL_CONFLICT", '"dec-000001"');
      expect(ids(await storage().listDecisions({}))).toEqual(["dec-000001"]);
    });

    it("refuses a decision id a UTF-8 text column cannot hold (lone surrogate, NUL), naming the field; verify stays clean", async () => {
      // Stored, "dec-\ud800" read back as "dec-\ufffd" while the hashed body kept "\ud800": audit verify then called it modified.
      await expectVigilError(storage().appendDecisions([makeDraft(1), { ...makeDraft(2), id: "dec-\ud800" }]), "VIGIL_BAD_INPUT", "drafts[1].id");
      await expectVigilError(storage().appendDecisions([{ ...makeDraft(3), id: "dec-\u0000-3" }]), "VIGIL_BAD_INPUT", "drafts[0].id");
      const [canonical] = prepareDecisions([makeDraft(4)], undefined).map(({ draft: _draft, ...rest }) => rest);
      await expectVigilError(storage().appendCanonicalDecisions([{ ...canonical!, id: "dec-\udc00" }]), "VIGIL_BAD_INPUT", "decisions[0].id");
      expect(await storage().scanDecisionRecord(0, 10)).toEqual([]);
      // A paired surrogate (an emoji) is text like any other.
      await storage().appendDecisions([{ ...makeDraft(5), id: "dec-\u{1F600}" }]);
      expect((await storage().getDecision("dec-\u{1F600}"))?.id).toBe("dec-\u{1F600}");
      expect(await verifyDecisionRecord(storage())).toMatchObject({ ok: true, checked: 1 });
      // Looking one up is not an error: no such id can be recorded (PostgreSQL failed the query on the NUL, VIGIL_STORAGE; SQLite answered undefined).
      expect(await storage().getDecision("dec-\u0000-3")).toBeUndefined();
      expect(await storage().getDecision("dec-\ud800")).toBeUndefined();
    });

    it("records a decision whose event id, type or subject holds a lone surrogate or NUL, finds it by them, and verifies", async () => {
      const odd = { ...makeDraft(1, { eventId: "e-\ud800\u0000", subject: "sub-\udfff" }), eventType: "t\u0000" };
      await storage().appendDecisions([odd, makeDraft(2, { eventId: "e-\ud801", subject: "sub-\udffe" }), makeDraft(3, { subject: "sub-\ue000dfff" })]);
      expect(ids(await storage().listDecisions({ subject: "sub-\ue000dfff" }))).toEqual(["dec-000003"]);
      expect(ids(await storage().listDecisions({ eventId: "e-\ud800\u0000" }))).toEqual(["dec-000001"]);
      expect(ids(await storage().listDecisions({ subject: "sub-\udfff" }))).toEqual(["dec-000001"]);
      expect((await storage().getDecision("dec-000001"))?.subject).toBe("sub-\udfff");
      expect(await verifyDecisionRecord(storage())).toMatchObject({ ok: true, checked: 3 });
    });

    it("records a decision whose subject, event id or policy is longer than an index entry can be, and finds it by them", async () => {
      // PostgreSQL refused the row ("index row requires 10024 bytes, maximum size is 8191"; past ~2.7 KB "exceeds btree maximum"): such a decision could not be recorded there.
      const long = (tag: string) => `${tag}-${noise(6000, tag.charCodeAt(0))}-é`;
      await storage().appendDecisions([makeDraft(1, { subject: long("s"), eventId: long("e"), policies: [long("p")] }), makeDraft(2, { subject: `${long("s")}-other` })]);
      expect(ids(await storage().listDecisions({ subject: long("s") }))).toEqual(["dec-000001"]);
      expect(ids(await storage().listDecisions({ eventId: long("e") }))).toEqual(["dec-000001"]);
      expect(ids(await storage().listDecisions({ policy: long("p") }))).toEqual(["dec-000001"]);
      expect(ids(await storage().listDecisions({ subject: `${long("s")}-other` }))).toEqual(["dec-000002"]);
      expect((await storage().getDecision("dec-000001"))?.subject).toBe(long("s"));
      expect(await verifyDecisionRecord(storage())).toMatchObject({ ok: true, checked: 2 });
      // The id is the record's key: one too long to index is refused on both stores, naming it.
      await expectVigilError(storage().appendDecisions([{ ...makeDraft(3), id: long("d") }]), "VIGIL_BAD_INPUT", "drafts[0].id");
    });

    it("refuses a draft whose time is not a timestamp with VIGIL_BAD_INPUT", async () => {
      await expectVigilError(storage().appendDecisions([makeDraft(1, { time: "noon" })]), "VIGIL_BAD_INPUT", "drafts[0].time");
    });

    it("queries by afterSeq, limit and newestFirst", async () => {
      await storage().appendDecisions([1, 2, 3, 4, 5].map((index) => makeDraft(index)));
      expect(ids(await storage().listDecisions({}))).toEqual(["dec-000001", "dec-000002", "dec-000003", "dec-000004", "dec-000005"]);
      expect(ids(await storage().listDecisions({ afterSeq: 3 }))).toEqual(["dec-000004", "dec-000005"]);
      expect(ids(await storage().listDecisions({ afterSeq: 1, limit: 2 }))).toEqual(["dec-000002", "dec-000003"]);
      expect(ids(await storage().listDecisions({ newestFirst: true, limit: 2 }))).toEqual(["dec-000005", "dec-000004"]);
      expect(ids(await storage().listDecisions({ newestFirst: true, afterSeq: 3 }))).toEqual(["dec-000005", "dec-000004"]);
      await expectVigilError(storage().listDecisions({ limit: -1 }), "VIGIL_BAD_INPUT", "limit");
      // A cursor or limit that is not a whole number: SQLite answered (seq > 1.5), PostgreSQL failed the query (VIGIL_STORAGE); refused alike, naming it.
      await expectVigilError(storage().listDecisions({ afterSeq: 1.5 }), "VIGIL_BAD_INPUT", "afterSeq");
      await expectVigilError(storage().listDecisions({ afterSeq: Number.NaN }), "VIGIL_BAD_INPUT", "afterSeq");
      await expectVigilError(storage().listDecisions({ limit: 2 ** 63 }), "VIGIL_BAD_INPUT", "limit");
      await expectVigilError(storage().scanDecisionRecord(0.5, 10), "VIGIL_BAD_INPUT", "afterSeq");
      await expectVigilError(storage().listEvents({ afterSeq: 1.5 }), "VIGIL_BAD_INPUT", "afterSeq");
    });

    it("filters by verdict and tier in the query: a page holds up to limit matches, newest first, and beforeSeq reaches the older ones", async () => {
      // 30 decisions, only the oldest 5 denied (block): the newest 3 are allows, so filtering a read page found none.
      await storage().appendDecisions(oldestDenied(30, 5));
      const firstPage = await storage().listDecisions({ verdict: "deny", newestFirst: true, limit: 3 });
      expect(ids(firstPage)).toEqual(["dec-000005", "dec-000004", "dec-000003"]);
      expect(ids(await storage().listDecisions({ verdict: "deny", newestFirst: true, limit: 3, beforeSeq: firstPage.at(-1)!.seq }))).toEqual(["dec-000002", "dec-000001"]);
      expect(ids(await storage().listDecisions({ tier: "block", newestFirst: true, limit: 3, beforeSeq: 3 }))).toEqual(["dec-000002", "dec-000001"]);
      expect(ids(await storage().listDecisions({ verdict: "deny", afterSeq: 3 }))).toEqual(["dec-000004", "dec-000005"]);
      expect(ids(await storage().listDecisions({ verdict: "allow", tier: "observe", newestFirst: true, limit: 2 }))).toEqual(["dec-000030", "dec-000029"]);
      expect(await storage().listDecisions({ verdict: "deny", tier: "observe" })).toEqual([]);
      expect(ids(await storage().listDecisions({ newestFirst: true, beforeSeq: 28, afterSeq: 25 }))).toEqual(["dec-000027", "dec-000026"]);
      await expectVigilError(storage().listDecisions({ verdict: "maybe" as "deny" }), "VIGIL_BAD_INPUT", "verdict");
      await expectVigilError(storage().listDecisions({ tier: "Block" as "block" }), "VIGIL_BAD_INPUT", "tier");
      await expectVigilError(storage().listDecisions({ beforeSeq: 2.5 }), "VIGIL_BAD_INPUT", "beforeSeq");
    });

    it("queries by eventId, subject and policy", async () => {
      await storage().appendDecisions([
        makeDraft(1, { eventId: "e-a", subject: "alice", policies: ["p1"] }),
        makeDraft(2, { eventId: "e-b", subject: "bob", policies: ["p1", "p2"] }),
        makeDraft(3, { eventId: "e-a", subject: "bob", policies: [] }),
        makeDraft(4, { eventId: "e-c", subject: "alice", policies: ["p2", "p2"] }),
      ]);
      expect(ids(await storage().listDecisions({ eventId: "e-a" }))).toEqual(["dec-000001", "dec-000003"]);
      expect(ids(await storage().listDecisions({ subject: "bob" }))).toEqual(["dec-000002", "dec-000003"]);
      expect(ids(await storage().listDecisions({ policy: "p2" }))).toEqual(["dec-000002", "dec-000004"]);
      expect(ids(await storage().listDecisions({ policy: "p1", subject: "bob" }))).toEqual(["dec-000002"]);
      expect(ids(await storage().listDecisions({ policy: "nope" }))).toEqual([]);
    });

    it("queries by time: since inclusive, until exclusive, compared as instants", async () => {
      await storage().appendDecisions([
        makeDraft(1, { time: "2024-03-01T10:00:00Z" }),
        makeDraft(2, { time: "2024-03-01T11:00:00Z" }),
        makeDraft(3, { time: "2024-03-01T13:30:00+02:00" }),
        makeDraft(4, { time: "2024-03-01T12:00:00.500Z" }),
      ]);
      expect(ids(await storage().listDecisions({ since: "2024-03-01T11:00:00Z" }))).toEqual(["dec-000002", "dec-000003", "dec-000004"]);
      // 13:30+02:00 is 11:30Z: excluded by until 11:30Z, included by until 11:31Z.
      expect(ids(await storage().listDecisions({ until: "2024-03-01T11:30:00Z" }))).toEqual(["dec-000001", "dec-000002"]);
      expect(ids(await storage().listDecisions({ until: "2024-03-01T11:31:00Z" }))).toEqual(["dec-000001", "dec-000002", "dec-000003"]);
      expect(ids(await storage().listDecisions({ since: "2024-03-01T11:00:00Z", until: "2024-03-01T12:00:00.500Z", newestFirst: true }))).toEqual(["dec-000003", "dec-000002"]);
      await expectVigilError(storage().listDecisions({ since: "last week" }), "VIGIL_BAD_INPUT", "since");
    });

    it("masks configured input paths before hashing and storing, without touching the caller's draft", async () => {
      const masked = await reopen({ mask: { paths: ["/input/password", { path: "input.headers.authorization", mode: "redact" }] } });
      const draft = makeDraft(1, { input: { user: "bob", password: "hunter2", headers: { authorization: "Bearer secret-token" } } });
      const [decision] = await masked.appendDecisions([draft]);
      expect((draft.input as { password: string }).password).toBe("hunter2");
      expect(decision?.input).toEqual({ user: "bob", headers: { authorization: "**REDACTED**" } });
      expect(decision?.masking).toEqual({ erased: ["/input/password"], redacted: ["/input/headers/authorization"] });
      const [row] = await masked.scanDecisionRecord(0, 1);
      expect(row?.body).not.toContain("hunter2");
      expect(row?.body).not.toContain("secret-token");
      expect(row?.hash).toBe(hashRecord(GENESIS_HASH, row!.body));
      expect(await masked.getDecision(draft.id)).toEqual(decision);
      expect(await verifyDecisionRecord(masked)).toMatchObject({ ok: true, checked: 1 });
    });

    it("keeps one chain when one instance appends concurrently", async () => {
      const batches = Array.from({ length: 8 }, (_unused, batch) => Array.from({ length: 5 }, (_unused2, index) => makeDraft(batch * 5 + index + 1)));
      const results = await Promise.all(batches.map((batch) => storage().appendDecisions(batch)));
      const seqs = results.flat().map((decision) => decision.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 40 }, (_unused, index) => index + 1));
      for (const result of results) expect(result.map((decision) => decision.seq)).toEqual(result.map((_decision, index) => result[0]!.seq + index));
      expect(await verifyDecisionRecord(storage(), { batchSize: 9 })).toMatchObject({ ok: true, checked: 40 });
    });

    it("keeps one chain when two instances on the same data append concurrently", async () => {
      const other = await reopen();
      const writer = async (target: typeof other, offset: number) => {
        for (let batch = 0; batch < 10; batch++) {
          await target.appendDecisions(Array.from({ length: 4 }, (_unused, index) => makeDraft(offset + batch * 4 + index)));
        }
      };
      await Promise.all([writer(storage(), 1000), writer(other, 2000)]);
      const result = await verifyDecisionRecord(storage(), { batchSize: 16 });
      expect(result).toMatchObject({ ok: true, checked: 80 });
      expect((await storage().listDecisions({})).length).toBe(80);
    });
  });
}
