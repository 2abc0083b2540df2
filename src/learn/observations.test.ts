import { describe, expect, it } from "vitest";
import type { PolicyMeta } from "../core/policy.js";
import type { TempStore } from "../act/test-support.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { createDecider } from "../decide/decider.js";
import { meta, violation, type ManualClock } from "../decide/test-support.js";
import { FEEDBACK_COLLECTION, OVERRIDES_COLLECTION } from "../review/context.js";
import { learningLabels } from "./keys.js";
import { recordFeedback } from "./feedback.js";
import { createLearner } from "./learner.js";
import { collectObservations } from "./observations.js";
import { defaultLearnerSettings } from "./types.js";
import { ctxFor, noisyMeta, recordDecision, useLearnStore } from "./test-support.js";

let store: TempStore;
let clock: ManualClock;
useLearnStore((options) => createSqliteStorage(options), (s, c) => { store = s; clock = c; });

const noisy: PolicyMeta = noisyMeta;

describe("collectObservations: who gave the feedback", () => {
  it("ignores Vigil's own identities whatever their case or spacing (review treats vigil:* that way)", async () => {
    const { storage } = store;
    const decision = await recordDecision(storage, ctxFor("p"), {}, noisy, { id: "d-1" });
    for (const id of ["Vigil:escalation", " vigil:learner", "VIGIL:bot"]) {
      await recordFeedback({ storage, clock }, { decisionId: decision.id, label: "false_positive" }, { id, roles: ["approver"] });
    }
    const collected = await collectObservations(storage, { ignoreActors: defaultLearnerSettings.ignoreActors });
    expect(collected.observations).toEqual([]);
    expect(collected.skipped["automation actor"]).toBe(3);
  });

  it("configuring other automation actors (ignoreActors) still leaves Vigil's own identities out: the agent never learns from itself", async () => {
    const { storage } = store;
    const agents = ["vigil:escalation", "vigil:learner", "Vigil:bot", "vigil:replay"];
    for (let i = 0; i < 12; i++) {
      const decision = await recordDecision(storage, ctxFor("night-owl", { id: `e-${i}`, now: clock.iso() }), { mode: "warn" }, noisy, { id: `d-${i}` });
      await recordFeedback({ storage, clock }, { decisionId: decision.id, label: "false_positive" }, { id: agents[i % agents.length] as string, roles: ["approver"] });
      await recordFeedback({ storage, clock }, { decisionId: decision.id, label: "false_positive" }, { id: "ci-bot", roles: ["approver"] });
    }
    const collected = await collectObservations(storage, { ignoreActors: ["ci-bot"] });
    expect(collected.observations).toEqual([]);
    expect(collected.skipped["automation actor"]).toBe(24);
    const { state } = await createLearner({ storage, clock, policy: () => noisy, settings: { ignoreActors: ["ci-bot"] } }).update();
    expect(state.feedbackUsed).toBe(0);
    expect(state.entries).toEqual([]);
  });

  it("one person is one reviewer whatever the case of their name: the latest label counts once, and the reviewer gate sees one person", async () => {
    const { storage } = store;
    for (let i = 0; i < 10; i++) {
      const decision = await recordDecision(storage, ctxFor("night-owl", { id: `e-${i}`, now: clock.iso() }), { mode: "warn" }, noisy, { id: `d-${i}` });
      await recordFeedback({ storage, clock }, { decisionId: decision.id, label: "false_positive" }, { id: "mallory", roles: ["approver"] });
      clock.advance(1000);
      await recordFeedback({ storage, clock }, { decisionId: decision.id, label: "false_positive" }, { id: "Mallory", roles: ["approver"] });
    }
    const collected = await collectObservations(storage, { ignoreActors: defaultLearnerSettings.ignoreActors });
    expect(collected.observations).toHaveLength(10);
    expect(collected.skipped["superseded by the same person's later label"]).toBe(10);
    const { state } = await createLearner({ storage, clock, policy: () => noisy }).update();
    const entry = state.entries.find((e) => e.scope === "entity" && e.key === "principal/night-owl");
    expect(entry?.held).toBe("not lowered: 1 reviewer lean false positive, 2 needed");
    expect(state.entries.every((e) => (e.riskDelta ?? 0) >= 0 && (e.tierShift ?? 0) >= 0)).toBe(true);
  });
});

describe("collectObservations: a person's labels given at the same instant", () => {
  it("the confirmation counts, whichever record is listed last (ids are random): no telling which came last must not lower enforcement", async () => {
    const { storage } = store;
    const decision = await recordDecision(storage, ctxFor("p"), {}, noisy, { id: "d-1" });
    const at = clock.iso();
    // Two dev.vigil.feedback events of one batch, recorded in the same millisecond; their ids sort either way.
    for (const [first, second] of [["event:soar:a", "event:soar:b"], ["event:soar:d", "event:soar:c"]] as const) {
      await storage.putDocs([
        { collection: FEEDBACK_COLLECTION, id: first, value: { id: first, decisionId: decision.id, label: "true_positive", by: "ann", at, via: "event" }, expectVersion: 0 },
        { collection: FEEDBACK_COLLECTION, id: second, value: { id: second, decisionId: decision.id, label: "false_positive", by: "ann", at, via: "event" }, expectVersion: 0 },
      ], at);
      const { observations } = await collectObservations(storage, {});
      expect(observations.map((o) => o.label)).toEqual(["true_positive"]);
    }
  });
});

describe("collectObservations: override- and review-made feedback", () => {
  it("an override's feedback is about the policy that person overrode, not another person's override of another policy of the decision", async () => {
    const { storage } = store;
    const other: PolicyMeta = meta("other", { tier: "notify", floor: "observe", ceiling: "approve" });
    const ctx = ctxFor("p");
    const draft = createDecider().decide(ctx, [violation({ policy: "noisy" }), violation({ policy: "other" })], { noisy: "rev-1", other: "rev-1" }, { id: "d-2", now: ctx.now, enforced: true, policy: (n) => (n === "noisy" ? noisy : other), labels: learningLabels(ctx) });
    const [decision] = await storage.appendDecisions([draft]);
    const at = clock.iso();
    await storage.putDocs([
      { collection: OVERRIDES_COLLECTION, id: "OV-1", value: { id: "OV-1", decisionId: decision?.id, policy: "noisy", scope: "once", reason: "x", by: "ann", at }, expectVersion: 0 },
      { collection: OVERRIDES_COLLECTION, id: "OV-2", value: { id: "OV-2", decisionId: decision?.id, policy: "other", scope: "once", reason: "y", by: "bob", at }, expectVersion: 0 },
      { collection: FEEDBACK_COLLECTION, id: "fb-1", value: { id: "fb-1", decisionId: decision?.id, label: "false_positive", by: "ann", at, via: "override" }, expectVersion: 0 },
      { collection: FEEDBACK_COLLECTION, id: "fb-2", value: { id: "fb-2", decisionId: decision?.id, label: "false_positive", by: "bob", at, via: "override" }, expectVersion: 0 },
    ], at);
    const { observations } = await collectObservations(storage, {});
    expect(observations.map((o) => `${o.by}:${o.policy}`).sort()).toEqual(["ann:noisy", "bob:other"]);
  });
});
