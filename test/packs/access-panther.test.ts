/**
 * The access pack against real labelled data: the CloudTrail and Okta test events of Panther's
 * detection rules (test/fixtures/panther-analysis-rules, Apache-2.0, see SOURCE). For the
 * behaviours the pack covers (docs/packs/access.md lists the Panther rules of each), precision and
 * recall of the pack's rules against Panther's ExpectedResult labels, per behaviour and overall.
 *
 * Floors (docs/packs/access.md#measured-on-panthers-labelled-events): overall precision ≥ 0.85 and
 * recall ≥ 0.90; every behaviour recall ≥ 0.60 and precision ≥ 0.70. The disagreements known today
 * are labels that depend on state one event does not carry (a user created minutes earlier), on a
 * rule-specific exclusion (service-linked roles), or on counting a failed grant as an alert; the
 * floors leave room for one or two such cases more, and catch a behaviour that stops working.
 */
import { describe, expect, it } from "vitest";
import { accessBehaviours, apiCasing, measurePanther, readPantherCases, type PantherMeasurement } from "./access-support.js";

let measured: PantherMeasurement | undefined;
async function measurement(): Promise<PantherMeasurement> {
  measured ??= await measurePanther();
  return measured;
}

describe("access pack on Panther's labelled CloudTrail and Okta tests", () => {
  it("every mapped Panther rule has tests in the fixtures, with both labels across each behaviour", () => {
    const cases = readPantherCases();
    expect(cases.length).toBe(475 + 88);
    for (const behaviour of accessBehaviours) {
      const mine = cases.filter((c) => behaviour.panther.some((p) => p.rule === c.rule));
      for (const p of behaviour.panther) expect(mine.some((c) => c.rule === p.rule), p.rule).toBe(true);
      expect(mine.some((c) => c.expected), behaviour.name).toBe(true);
    }
  });

  it("meets the documented precision and recall floors, overall and per behaviour", { timeout: 60_000 }, async () => {
    const m = await measurement();
    const cases = readPantherCases().filter((c) => accessBehaviours.some((b) => b.panther.some((p) => p.rule === c.rule)));
    expect(m.overall.cases).toBe(cases.length);
    expect(m.overall.tp + m.overall.fn).toBe(cases.filter((c) => c.expected).length);
    expect(m.overall.precision).toBeGreaterThanOrEqual(0.85);
    expect(m.overall.recall).toBeGreaterThanOrEqual(0.9);
    for (const b of m.behaviours) {
      expect(b.recall, b.name).toBeGreaterThanOrEqual(0.6);
      if (b.tp + b.fp > 0) expect(b.precision, b.name).toBeGreaterThanOrEqual(0.7);
    }
    // Every mistake is listed with its rule and test name, so a regression names the case.
    expect(m.mistakes.length).toBe(m.overall.fp + m.overall.fn);
  });

  it("never breaks: no error finding on any of the 563 logs, and no mapped log is rejected by the adapters", { timeout: 60_000 }, async () => {
    const m = await measurement();
    expect(m.errors).toEqual([]);
    expect(m.rejected).toEqual([]);
    // The pack stays quiet on most of the other rules' logs: what it raises there are the same
    // behaviours (sign-ins without MFA, admin policies) labelled for other rules.
    expect(m.otherAlerts.logs).toBeGreaterThan(400);
    expect(m.otherAlerts.alerted / m.otherAlerts.logs).toBeLessThan(0.05);
  });

  it("reads the fields as the APIs name them: without restoring Panther's lower-cased keys, Okta recall drops", { timeout: 60_000 }, async () => {
    const m = await measurement();
    expect(m.renamed).toBeGreaterThan(40);
    const raw = await measurePanther({ normalize: false });
    expect(raw.overall.recall).toBeLessThan(m.overall.recall);
    const okta = (x: PantherMeasurement) => x.behaviours.filter((b) => b.name.startsWith("Okta")).reduce((n, b) => n + b.tp, 0);
    expect(okta(raw)).toBeLessThan(okta(m));
  });

  it("restores only the known top-level field names and leaves everything else alone", () => {
    const { log, renamed } = apiCasing({ eventtype: "user.session.start", debugcontext: { debugData: { x: 1 } }, actor: { id: "a" }, custom: 1 }, "okta");
    expect(renamed).toBe(true);
    expect(log).toEqual({ eventType: "user.session.start", debugContext: { debugData: { x: 1 } }, actor: { id: "a" }, custom: 1 });
    const same = { eventName: "GetUser", eventSource: "iam.amazonaws.com" };
    expect(apiCasing(same, "cloudtrail")).toEqual({ log: same, renamed: false });
    // Both spellings present: the API's wins, the other is kept as is.
    expect(apiCasing({ eventname: "a", eventName: "b" }, "cloudtrail").log).toEqual({ eventname: "a", eventName: "b" });
  });
});
