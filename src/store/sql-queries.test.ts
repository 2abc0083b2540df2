import { describe, expect, it } from "vitest";
import { isVigilError } from "../core/index.js";
import { tiers } from "../core/index.js";
import type { DecisionDraft, Verdict } from "../core/index.js";
import { compileMask } from "./mask.js";
import { auditQuery, auditRow, decisionQuery, prepareDecisions, recordOutcome, tablesOf } from "./sql-queries.js";
import { sqliteDialect } from "./sqlite/sqlite-dialect.js";
import { makeDraft } from "./storage-contract-fixtures.js";

function refusal(fn: () => unknown): { code: string; message: string; field: unknown } {
  try {
    fn();
  } catch (error) {
    expect(isVigilError(error), String(error)).toBe(true);
    const vigil = error as { code: string; message: string; details: { field?: unknown } };
    return { code: vigil.code, message: vigil.message, field: vigil.details.field };
  }
  return expect.fail("expected prepareDecisions to throw");
}

describe("prepareDecisions", () => {
  it("refuses a draft without an event type naming the draft and its id (the column is NOT NULL)", () => {
    const bad = { ...makeDraft(2), eventType: undefined } as unknown as DecisionDraft;
    const refused = refusal(() => prepareDecisions([makeDraft(1), bad], undefined));
    expect(refused).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "drafts[1].eventType" });
    expect(refused.message).toContain("dec-000002");
  });

  it("names the draft and its id when its content cannot be canonicalized (circular), masked or not", () => {
    const input: Record<string, unknown> = { a: 1 };
    input["self"] = input;
    for (const mask of [undefined, compileMask({ paths: ["/input/a"] })]) {
      const refused = refusal(() => prepareDecisions([makeDraft(1), makeDraft(2, { input })], mask));
      expect(refused.code).toBe("VIGIL_BAD_INPUT");
      // Masked, the input's top object is a copy whose "self" is the original: the cycle closes one level further.
      expect(refused.field).toMatch(/^drafts\[1\]\.input\.self/);
      expect(refused.message).toContain("drafts[1]");
      expect(refused.message).toContain("dec-000002");
      expect(refused.message).toContain("circular reference at $.input.self");
      expect(refused.message.indexOf("dec-000002")).toBeLessThan(refused.message.indexOf("circular"));
    }
  });
});

describe("times without an offset", () => {
  /** Runs `fn` with the process in another time zone (Node reads TZ again when it changes). */
  function inZone<T>(zone: string, fn: () => T): T {
    const before = process.env["TZ"];
    process.env["TZ"] = zone;
    try {
      return fn();
    } finally {
      if (before === undefined) delete process.env["TZ"];
      else process.env["TZ"] = before;
    }
  }
  const tables = tablesOf(sqliteDialect);
  const midnightUtc = Date.UTC(2024, 0, 1);

  it("are UTC in every worker's time zone: the decision's index time, the since/until bounds and the audit time (Date.parse read them as local time)", () => {
    for (const zone of ["America/New_York", "Asia/Kolkata", "UTC"]) {
      inZone(zone, () => {
        expect(new Date(2024, 0, 1).getTimezoneOffset()).toBe(zone === "America/New_York" ? 300 : zone === "Asia/Kolkata" ? -330 : 0);
        expect(prepareDecisions([{ ...makeDraft(1), time: "2024-01-01T00:00:00" }], undefined)[0]?.timeMs).toBe(midnightUtc);
        expect(prepareDecisions([{ ...makeDraft(1), time: "2024-01-01T00:00:00.250" }], undefined)[0]?.timeMs).toBe(midnightUtc + 250);
        expect(prepareDecisions([{ ...makeDraft(1), time: "2024-01-01 00:00:00" }], undefined)[0]?.timeMs).toBe(midnightUtc);
        // With an offset, as before.
        expect(prepareDecisions([{ ...makeDraft(1), time: "2024-01-01T01:00:00+01:00" }], undefined)[0]?.timeMs).toBe(midnightUtc);
        expect(decisionQuery(tables, { since: "2024-01-01T00:00:00", until: "2024-01-02" }).params).toEqual([midnightUtc, midnightUtc + 86_400_000]);
        expect(auditQuery(tables, { since: "2024-01-01T00:00" }).params).toContain(midnightUtc);
        expect(auditRow({ at: "2024-01-01T00:00:00", actor: "a", action: "b" }, 0)[1]).toBe(midnightUtc);
      });
    }
  });

  it("refuses what is not an RFC 3339 date or date-time, naming the field (Date.parse took \"January 1, 2024\" as local midnight)", () => {
    for (const time of ["January 1, 2024", "1/1/2024", "2024-01-01T24:61:00Z", "2024-13-01", "", "2024-01-01T00:00:00 EST"]) {
      expect(refusal(() => prepareDecisions([{ ...makeDraft(1), time }], undefined))).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "drafts[0].time" });
      expect(refusal(() => decisionQuery(tables, { since: time }))).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "since" });
      expect(refusal(() => auditRow({ at: time, actor: "a", action: "b" }, 3))).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "entries[3].at" });
    }
  });
});

describe("recordOutcome (the verdict and tier columns)", () => {
  it("reads the top-level verdict and tier of a canonical body, past keys of the same name deeper in it and in strings", () => {
    for (const verdict of ["allow", "deny"] as const satisfies readonly Verdict[]) {
      for (const tier of tiers) {
        const base = makeDraft(7);
        // Decoys: an input and an explanation step with their own verdict and tier (sorted after the top-level keys' neighbours), and a string holding the key text.
        const draft: DecisionDraft = {
          ...base,
          verdict,
          tier,
          input: { verdict: "deny", tier: "remediate", zz: { tier: "notify", verdict: "allow" }, note: '"tier":"approve","verdict":"deny"}' },
          explanation: { ...base.explanation, steps: [...base.explanation.steps, { kind: "tier", text: "x", tier: "approve" }] },
          labels: { tier: "block", verdict: "allow" },
        };
        const [prepared] = prepareDecisions([draft], undefined);
        expect(recordOutcome(prepared!.body)).toEqual({ verdict, tier });
      }
    }
  });

  it("gives null for a body without those values (a body appendCanonicalDecisions took as given)", () => {
    expect(recordOutcome('{"id":"d1"}')).toEqual({ verdict: null, tier: null });
    expect(recordOutcome('{"tier":"Block","verdict":"maybe"}')).toEqual({ verdict: null, tier: null });
  });
});
