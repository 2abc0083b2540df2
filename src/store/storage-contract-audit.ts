import { describe, expect, it } from "vitest";
import type { ContractContext } from "./storage-contract-support.js";
import { expectVigilError } from "./storage-contract-support.js";
import { noise } from "./storage-contract-fixtures.js";

/** The audit-trail part of the storage contract (see storage-contract.ts). */
export function auditContract({ storage }: ContractContext): void {
  describe("audit trail", () => {
    it("appends entries and lists them oldest first by actor, since and limit", async () => {
      await storage().appendAudit([
        { at: "2024-01-01T10:00:00Z", actor: "alice", action: "review.approve", target: "review/r1", detail: { reason: "ticket OPS-1", n: 1 } },
        { at: "2024-01-01T11:00:00Z", actor: "bob", action: "killswitch.on" },
      ]);
      await storage().appendAudit([{ at: "2024-01-01T12:00:00+01:00", actor: "alice", action: "exception.create", target: "exception/e1" }]);
      const all = await storage().listAudit({});
      expect(all).toEqual([
        { at: "2024-01-01T10:00:00Z", actor: "alice", action: "review.approve", target: "review/r1", detail: { reason: "ticket OPS-1", n: 1 } },
        { at: "2024-01-01T11:00:00Z", actor: "bob", action: "killswitch.on" },
        { at: "2024-01-01T12:00:00+01:00", actor: "alice", action: "exception.create", target: "exception/e1" },
      ]);
      expect((await storage().listAudit({ actor: "alice" })).map((entry) => entry.action)).toEqual(["review.approve", "exception.create"]);
      // 12:00+01:00 is 11:00Z: `since` compares instants.
      expect((await storage().listAudit({ since: "2024-01-01T10:30:00Z" })).map((entry) => entry.action)).toEqual(["killswitch.on", "exception.create"]);
      expect((await storage().listAudit({ limit: 1 })).map((entry) => entry.action)).toEqual(["review.approve"]);
    });

    it("stores actor, action and target a text column cannot hold as they are (NUL, lone surrogates)", async () => {
      const entry = { at: "2024-01-01T10:00:00Z", actor: "token:a\u0000b", action: "review.approve\ud800", target: "review/\udc00" };
      await storage().appendAudit([entry]);
      expect(await storage().listAudit({ actor: "token:a\u0000b" })).toEqual([entry]);
    });

    it("stores and finds by an actor longer than an index entry can be, and keeps apart actors sharing a long start", async () => {
      // PostgreSQL refused the row ("index row size 4024 exceeds btree version 4 maximum 2704 for index audit_actor"); SQLite kept it.
      const long = `sso:${noise(4000, 7)}`;
      await storage().appendAudit([
        { at: "2024-01-01T10:00:00Z", actor: long, action: "review.approve" },
        { at: "2024-01-01T10:00:01Z", actor: `${long}-2`, action: "review.reject" },
      ]);
      expect((await storage().listAudit({ actor: long })).map((entry) => [entry.actor === long, entry.action])).toEqual([[true, "review.approve"]]);
      expect((await storage().listAudit({ actor: `${long}-2` })).map((entry) => entry.action)).toEqual(["review.reject"]);
    });

    it("rejects an entry without a valid time or actor", async () => {
      await expectVigilError(storage().appendAudit([{ at: "yesterday", actor: "a", action: "x" }]), "VIGIL_BAD_INPUT", "entries[0].at");
      await expectVigilError(storage().appendAudit([{ at: "2024-01-01T00:00:00Z", actor: "", action: "x" }]), "VIGIL_BAD_INPUT", "entries[0].actor");
    });
  });
}
