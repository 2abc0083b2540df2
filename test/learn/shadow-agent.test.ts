import { afterEach, describe, expect, it } from "vitest";
import { recordFeedback } from "../../src/learn/feedback.js";
import { shadowReport } from "../../src/learn/shadow.js";
import { approvers, createHarness, shadowGuardPolicy, type Harness } from "./support.js";

describe("shadow mode figures: whose labels count", () => {
  let h: Harness;
  afterEach(async () => {
    await h.dispose();
  });

  it("labels by Vigil's own identities (vigil:*) are not counted as people's labels", async () => {
    h = await createHarness(shadowGuardPolicy);
    const decisions = [];
    for (const who of ["ana", "bo"]) decisions.push(await h.record({ action: "delete", who }, { subject: who }));
    const deps = { storage: h.store.storage, clock: h.clock };
    await recordFeedback(deps, { decisionId: decisions[0]?.id as string, label: "false_positive" }, approvers[0] as never);
    h.clock.advance(60_000);
    // Later labels by automation: they neither replace the person's label nor label the other decision.
    await recordFeedback(deps, { decisionId: decisions[0]?.id as string, label: "true_positive" }, { id: "vigil:escalation", roles: ["approver"] });
    await recordFeedback(deps, { decisionId: decisions[1]?.id as string, label: "true_positive" }, { id: "Vigil:learner", roles: ["approver"] });
    const meta = h.set.get("new-guard")?.meta;
    const report = await shadowReport(h.store.storage, "new-guard", { ...(meta ? { policy: meta } : {}) });
    expect(report.labelled).toEqual({ falsePositive: 1, truePositive: 0, incident: 0, unlabelled: 1 });
    expect(report.byRule["no-delete"]).toEqual({ violations: 2, wouldChange: 2, falsePositive: 1, truePositive: 0 });
    // Listing other automation (learn.settings.ignoreActors) does not bring Vigil's own labels back.
    const configured = await shadowReport(h.store.storage, "new-guard", { ...(meta ? { policy: meta } : {}), ignoreActors: ["ci-bot"] });
    expect(configured.labelled).toEqual(report.labelled);
  });
});
