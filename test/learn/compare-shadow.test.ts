import { afterEach, describe, expect, it } from "vitest";
import type { Event } from "../../src/core/event.js";
import { createDecider } from "../../src/decide/decider.js";
import { context, meta, violation } from "../../src/decide/test-support.js";
import { checkFpBudget, compareReplay, createReplaySide, isAlert, parseFpBudget } from "../../src/learn/compare.js";
import { recordFeedback } from "../../src/learn/feedback.js";
import { formatShadowReport, shadowReport } from "../../src/learn/shadow.js";
import { loadPolicyText } from "../../src/policy/load.js";
import { createPolicySet } from "../../src/policy/policy-set.js";
import { approvers, createHarness, shadowGuardPolicy, type Harness } from "./support.js";

function policySet(threshold: number) {
  const { policies, errors } = loadPolicyText(`apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: big-spend }
spec:
  on: [dev.vigil.decide]
  rules:
    - name: over-limit
      condition: input.amount > ${threshold}.0
      message: "spent {{ input.amount }}"
      severity: medium
      effect: warn
`);
  if (errors.length > 0) throw errors[0];
  return createPolicySet(policies);
}

function event(id: number, amount: number, truth: "violation" | "benign"): Event {
  return { specversion: "1.0", id: `e${id}`, source: "t", type: "dev.vigil.decide", time: `2026-01-05T0${id % 10}:00:00Z`, data: { amount }, vigiltruth: truth };
}

// Amounts 100..1000; real problems are those above 700.
const events = Array.from({ length: 10 }, (_, i) => event(i, (i + 1) * 100, (i + 1) * 100 > 700 ? "violation" : "benign"));

describe("replay compare", () => {
  const decider = createDecider();
  const old = createReplaySide({ policySet: policySet(250), decider });
  const proposed = createReplaySide({ policySet: policySet(650), decider });

  it("reports per-event differences in verdict and tier, counts, and figures against ground truth", async () => {
    const report = await compareReplay(events, old, proposed);
    expect(report.events).toBe(10);
    // Old alerts on 300..1000 (8), new on 700..1000 (4): 4 alerts removed, all benign.
    expect([report.changed, report.tierChanged, report.alertsRemoved, report.alertsAdded]).toEqual([4, 4, 4, 0]);
    expect(report.transitions).toEqual({ "notify→observe": 4 });
    expect(report.differences.map((d) => [d.eventId, d.label, d.before.tier, d.after.tier, d.before.violations.join()])).toEqual([
      ["e2", "benign", "notify", "observe", "big-spend/over-limit"],
      ["e3", "benign", "notify", "observe", "big-spend/over-limit"],
      ["e4", "benign", "notify", "observe", "big-spend/over-limit"],
      ["e5", "benign", "notify", "observe", "big-spend/over-limit"],
    ]);
    expect(report.before).toMatchObject({ alerts: 8, truePositives: 3, falsePositives: 5, falseNegatives: 0, trueNegatives: 2, precision: 0.375, recall: 1, falsePositiveRate: 0.7143 });
    expect(report.after).toMatchObject({ alerts: 4, truePositives: 3, falsePositives: 1, falseNegatives: 0, trueNegatives: 6, precision: 0.75, recall: 1, falsePositiveRate: 0.1429 });
    expect(checkFpBudget(report, parseFpBudget("1"))).toMatchObject({ ok: true });
    expect(checkFpBudget(report, parseFpBudget("0"))).toEqual({ ok: false, message: "false positives: 1 (budget 0; 5 before) — OVER BUDGET" });
    expect(checkFpBudget(report, parseFpBudget("10%"))).toMatchObject({ ok: false });
    expect(checkFpBudget(report, parseFpBudget("15%"))).toMatchObject({ ok: true });
  });

  it("a false-positive rate exactly at a decimal percentage budget is within it (7 of 1000 benign events, --fp-budget 0.7%)", async () => {
    // 1000 benign events, the 7 largest above the proposed threshold: 0.7% of them alert.
    const benign = Array.from({ length: 1000 }, (_, i) => event(i, i < 7 ? 900 : 100, "benign"));
    const report = await compareReplay(benign, old, proposed);
    expect([report.after.falsePositives, report.after.trueNegatives]).toEqual([7, 993]);
    for (const [budget, rate] of [["0.7%", "0.7%"], ["1.4%", "0.7%"], ["0.70%", "0.7%"]] as const) {
      expect(checkFpBudget(report, parseFpBudget(budget))).toEqual({ ok: true, message: `false-positive rate: ${rate} of 1000 labelled benign events (budget ${budget.replace("0.70", "0.7")}; 7 before) — within budget` });
    }
    expect(checkFpBudget(report, parseFpBudget("0.6%"))).toMatchObject({ ok: false });
    expect(checkFpBudget(report, parseFpBudget("0.69%"))).toMatchObject({ ok: false });
  });

  it("an unlabelled replay cannot check a budget, and bad budgets are rejected with the field", async () => {
    const unlabelled = events.map(({ vigiltruth: _, ...e }) => e as Event);
    const report = await compareReplay(unlabelled, old, proposed);
    expect(report.after.labelled).toBe(0);
    expect(() => checkFpBudget(report, { count: 3 })).toThrow(/needs labelled events/);
    expect(() => parseFpBudget("lots")).toThrow(/--fp-budget must be a whole number/);
    expect(() => parseFpBudget("150%")).toThrow(/--fp-budget/);
  });

  it("labels can come from elsewhere (feedback), and only violations at notify or above are alerts", async () => {
    const report = await compareReplay(events, old, proposed, { label: (e) => (e.id === "e9" ? "violation" : undefined) });
    expect(report.before.labelled).toBe(1);
    expect(isAlert({ tier: "observe", findings: [] })).toBe(false);
  });

  it("a violation at observe is no alert because another policy could not be evaluated (its error asks for notify)", () => {
    const metas = { quiet: meta("quiet", { tier: "observe" }), broken: meta("broken", { tier: "observe" }) };
    const decide = (findings: Parameters<ReturnType<typeof createDecider>["decide"]>[1]) => createDecider().decide(context({}), findings, {}, { id: "d", now: "2026-01-01T00:00:00Z", enforced: false, policy: (n) => metas[n as keyof typeof metas] });
    const observed = violation({ policy: "quiet", rule: "r", mode: "warn" });
    const failed = violation({ policy: "broken", rule: "x", effect: "error" });
    const both = decide([observed, failed]);
    expect(both.tier).toBe("notify");
    expect(isAlert(both)).toBe(false);
    expect(isAlert(decide([failed]))).toBe(false);
    expect(isAlert(decide([violation({ policy: "loud", rule: "r", mode: "warn" }), failed]))).toBe(true);
  });
});

describe("shadow mode figures", () => {
  let h: Harness;
  afterEach(async () => {
    await h.dispose();
  });

  it("counts the decisions a shadow policy would have changed and how people labelled them", async () => {
    h = await createHarness(shadowGuardPolicy);
    const decisions = [];
    for (const who of ["ana", "bo", "cy", "di"]) decisions.push(await h.record({ action: "delete", who }, { subject: who }));
    await h.record({ action: "read", who: "ana" });
    expect(decisions.every((d) => d.verdict === "allow" && d.tier === "observe")).toBe(true);
    const deps = { storage: h.store.storage, clock: h.clock };
    await recordFeedback(deps, { decisionId: decisions[0]?.id as string, label: "false_positive" }, approvers[0] as never);
    await recordFeedback(deps, { decisionId: decisions[1]?.id as string, label: "true_positive" }, approvers[1] as never);
    await recordFeedback(deps, { decisionId: decisions[2]?.id as string, label: "incident" }, approvers[1] as never);
    const meta = h.set.get("new-guard")?.meta;
    const report = await shadowReport(h.store.storage, "new-guard", { ...(meta ? { policy: meta } : {}) });
    expect(report).toMatchObject({
      policy: "new-guard", declaredMode: "shadow", decisions: 4, violations: 4, wouldChange: 4, wouldDeny: 4, wouldRaiseTier: 4,
      labelled: { falsePositive: 1, truePositive: 1, incident: 1, unlabelled: 1 },
      byRule: { "no-delete": { violations: 4, wouldChange: 4, falsePositive: 1, truePositive: 2 } },
    });
    expect(report.examples[0]).toMatchObject({ recorded: { verdict: "allow", tier: "observe" }, enforced: { verdict: "deny", tier: "block" }, label: "false_positive" });
    expect(formatShadowReport(report)).toContain("enforced, it would have changed 4 decision(s): 4 allowed → denied, 4 at a stronger tier");
    // Decisions of another revision are not counted as this revision's figures.
    const other = await shadowReport(h.store.storage, "new-guard", { ...(meta ? { policy: { ...meta, revision: "changed" } } : {}) });
    expect([other.decisions, other.otherRevisions]).toEqual([0, 4]);
    // limit keeps the newest decisions: the last two (cy, di), not the first two.
    const newest = await shadowReport(h.store.storage, "new-guard", { ...(meta ? { policy: meta } : {}), limit: 2 });
    expect(newest.decisions).toBe(2);
    expect(newest.labelled).toEqual({ falsePositive: 0, truePositive: 0, incident: 1, unlabelled: 1 });
  });

  it("of labels given at the same instant (one batch of feedback events, no order between them), the confirmation is the one shown, as the learner reads them", async () => {
    h = await createHarness(shadowGuardPolicy);
    const decision = await h.record({ action: "delete", who: "ana" }, { subject: "ana" });
    const at = h.clock.iso();
    await h.store.storage.putDocs([
      { collection: "feedback", id: "event:soar:a", value: { id: "event:soar:a", decisionId: decision.id, label: "false_positive", by: "ann", at, via: "event" }, expectVersion: 0 },
      { collection: "feedback", id: "event:soar:b", value: { id: "event:soar:b", decisionId: decision.id, label: "true_positive", by: "bob", at, via: "event" }, expectVersion: 0 },
    ], at);
    const meta = h.set.get("new-guard")?.meta;
    const report = await shadowReport(h.store.storage, "new-guard", { ...(meta ? { policy: meta } : {}) });
    expect(report.labelled).toEqual({ falsePositive: 0, truePositive: 1, incident: 0, unlabelled: 0 });
    expect(report.examples[0]?.label).toBe("true_positive");
  });
});
