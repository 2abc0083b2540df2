import { describe, expect, it } from "vitest";
import type { PolicyMeta } from "../core/policy.js";
import type { TempStore } from "../act/test-support.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { createDecider } from "../decide/decider.js";
import { meta, type ManualClock } from "../decide/test-support.js";
import { FEEDBACK_COLLECTION } from "../review/context.js";
import { recordFeedback } from "./feedback.js";
import { createLearner } from "./learner.js";
import { HEAD_ID, LEARN_COLLECTION, loadLearnedState, versionId } from "./state-store.js";
import { ctxFor, labelled, noisyMeta, recordDecision, reviewers, useLearnStore } from "./test-support.js";

let store: TempStore;
let clock: ManualClock;
useLearnStore((options) => createSqliteStorage(options), (s, c) => { store = s; clock = c; });

const noisy: PolicyMeta = noisyMeta;
/** A critical policy that blocks and may go down to observe (floor observe) — the flood target. */
const critical: PolicyMeta = meta("root-guard", { tier: "block", floor: "observe", ceiling: "remediate" });
const lookup = (name: string): PolicyMeta | undefined => (name === noisy.name ? noisy : name === critical.name ? critical : undefined);

describe("learner: precision per slice", () => {
  it("lowers risk and tier for an entity whose findings several reviewers marked false positive, with a citation", async () => {
    const { storage } = store;
    await labelled(storage, clock, noisy, { principal: "night-owl", count: 14, label: "false_positive", by: reviewers.slice(0, 3), prefix: "fp", finding: { mode: "warn" } });
    await labelled(storage, clock, noisy, { principal: "night-owl", count: 1, label: "true_positive", by: reviewers.slice(3), prefix: "tp", finding: { mode: "warn" } });
    const learner = createLearner({ storage, clock, policy: lookup });
    await learner.start();
    const { state } = await learner.update();
    const entry = state.entries.find((e) => e.scope === "entity" && e.key === "principal/night-owl");
    expect(entry).toBeDefined();
    expect(entry?.labels).toEqual({ truePositive: 1, falsePositive: 14, incident: 0 });
    expect(entry?.riskDelta).toBeLessThan(0);
    expect(entry?.tierShift).toBe(-1);
    expect(entry?.citation).toBe("14 of 15 similar findings for principal/night-owl were marked false positive by 3 reviewers");

    const decider = createDecider();
    const ctx = ctxFor("night-owl", { id: "next" });
    const learned = learner.lookupFor(ctx);
    const draft = decider.decide(ctx, [{ policy: "noisy", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "warn", severity: "high", message: "m", trace: [] }], { noisy: "rev-1" }, { id: "d", now: clock.iso(), enforced: true, policy: lookup, ...(learned ? { learned } : {}) });
    expect(draft.tier).toBe("observe");
    const step = draft.explanation.steps.find((s) => s.kind === "learning");
    expect(step?.text).toContain("14 of 15 similar findings for principal/night-owl were marked false positive");
    expect(step?.ref).toBe(entry?.id);

    // Another principal in the same (unknown) bucket is not affected by the entity lesson alone.
    const other = decider.decide(ctxFor("someone-else"), [{ policy: "noisy", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "warn", severity: "high", message: "m", trace: [] }], { noisy: "rev-1" }, { id: "d2", now: clock.iso(), enforced: true, policy: lookup, ...(learner.lookupFor(ctxFor("someone-else")) ? { learned: learner.lookupFor(ctxFor("someone-else")) as never } : {}) });
    expect(other.tier).toBe("notify");
  });

  it("keeps a bucket-wide lesson from lowering an entity whose own findings were confirmed", async () => {
    const { storage } = store;
    for (const who of ["a", "b", "c"]) await labelled(storage, clock, noisy, { principal: who, count: 6, label: "false_positive", by: reviewers, prefix: `fp-${who}`, environment: "dev" });
    await labelled(storage, clock, noisy, { principal: "attacker-target", count: 6, label: "true_positive", by: reviewers, prefix: "tp", environment: "dev" });
    const learner = createLearner({ storage, clock, policy: lookup });
    const { state } = await learner.update();
    const bucket = state.entries.find((e) => e.scope === "bucket" && e.key === "development/any/normal");
    expect(bucket?.riskDelta).toBeLessThan(0);
    const confirmed = state.entries.find((e) => e.scope === "entity" && e.key === "principal/attacker-target");
    expect(confirmed?.riskDelta ?? 0).toBeGreaterThanOrEqual(0);
    expect(learner.lookupFor(ctxFor("attacker-target", { environment: "dev" }))?.find("noisy", "r", "development/any/normal")).toBeUndefined();
    expect(learner.lookupFor(ctxFor("newcomer", { environment: "dev" }))?.find("noisy", "r", "development/any/normal")?.id).toBe(bucket?.id);
    // ...and never in production: no slice is wider than a bucket.
    expect(learner.lookupFor(ctxFor("newcomer", { environment: "prod" }))?.find("noisy", "r", "production/any/normal")).toBeUndefined();
  });

  it("keeps an entity's lesson in the bucket it was learned in: false positives in development do not lower the same principal in production", async () => {
    const { storage } = store;
    await labelled(storage, clock, noisy, { principal: "deployer", count: 12, label: "false_positive", by: reviewers.slice(0, 3), prefix: "dev", environment: "dev", finding: { mode: "warn" } });
    await labelled(storage, clock, noisy, { principal: "deployer", count: 6, label: "true_positive", by: reviewers, prefix: "prod", environment: "prod", finding: { mode: "warn" } });
    const learner = createLearner({ storage, clock, policy: lookup });
    const { state } = await learner.update();
    const entity = state.entries.filter((e) => e.scope === "entity" && e.key === "principal/deployer");
    expect(entity.map((e) => [e.bucket, (e.riskDelta ?? 0) < 0])).toEqual([["development/any/normal", true], ["production/any/normal", false]]);
    expect(learner.lookupFor(ctxFor("deployer", { environment: "dev" }))?.find("noisy", "r", "development/any/normal")?.riskDelta).toBeLessThan(0);
    // The development lesson does not cross into production, where the same principal's findings were confirmed.
    expect(learner.lookupFor(ctxFor("deployer", { environment: "prod" }))?.find("noisy", "r", "production/any/normal")?.riskDelta ?? 0).toBeGreaterThanOrEqual(0);
    // Nor into a bucket where nothing was learned about it.
    expect(learner.lookupFor(ctxFor("deployer", { environment: "staging" }))?.find("noisy", "r", "staging/any/normal")).toBeUndefined();
  });

  it("raises the tier of a slice with confirmed incidents (within the ceiling, which decide enforces)", async () => {
    const { storage } = store;
    await labelled(storage, clock, noisy, { principal: "svc", count: 3, label: "incident", by: reviewers.slice(0, 1), prefix: "inc" });
    const learner = createLearner({ storage, clock, policy: lookup });
    const { state } = await learner.update();
    const entry = state.entries.find((e) => e.scope === "entity" && e.key === "principal/svc");
    expect(entry?.tierShift).toBe(1);
    expect(entry?.citation).toBe("3 of 3 similar findings for principal/svc were confirmed incidents");
    const ctx = ctxFor("svc");
    const draft = createDecider().decide(ctx, [{ policy: "noisy", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "warn", severity: "high", message: "m", trace: [] }], {}, { id: "d", now: clock.iso(), enforced: true, policy: lookup, learned: learner.lookupFor(ctx) as never });
    expect(draft.tier).toBe("approve"); // notify + 1, ceiling approve
  });
});

describe("learner: detector calibration", () => {
  it("learns a higher spike threshold for a resource whose spikes are marked false positive, and applies it to later contexts", async () => {
    const { storage } = store;
    const spend = meta("spend-spike", { tier: "notify", floor: "observe", ceiling: "approve" });
    const spike = { detector: "spike", score: 0.75, confidence: 1, factors: [{ name: "resource cost spike", contribution: 0.75 }], values: { applicable: true, entity: "resource/batch-1", observed: 90, expected: 30, ratio: 3, z: 4.5 } };
    for (let i = 0; i < 12; i++) {
      const ctx = { ...ctxFor("batch-1", { id: `s-${i}`, now: clock.iso() }), entities: { resource: { kind: "resource", id: "batch-1", attrs: {} } }, signals: { spike } };
      const decision = await recordDecision(storage, ctx, {}, spend, { id: `spike-${i}` });
      await recordFeedback({ storage, clock }, { decisionId: decision.id, label: "false_positive" }, reviewers[i % 3] as never);
    }
    const learner = createLearner({ storage, clock });
    const { state } = await learner.update();
    expect(state.calibration.entities?.["resource/batch-1@any/any/normal"]).toEqual({ spike: { zThreshold: 6, minRatio: 2.25 }, reason: "12 of 12 spike findings for resource/batch-1 were marked false positive" });
    const next = { ...ctxFor("batch-1"), entities: { resource: { kind: "resource", id: "batch-1", attrs: {} } }, signals: { spike } };
    const calibrated = learner.calibrate(next);
    expect(calibrated.signals["spike"]?.score).toBe(0.375); // 0.5 × z 4.5 / learned zThreshold 6 (was 0.75 at 3)
    expect(learner.calibrate({ ...next, entities: { resource: { kind: "resource", id: "other", attrs: {} } }, signals: { spike: { ...spike, values: { ...spike.values, entity: "resource/other" } } } }).signals["spike"]?.score).toBe(0.75);
    expect(calibrated.event).toBe(next.event);
  });
});

describe("learner: safety", () => {
  it("a flood of false-positive labels from one user on a critical policy does not switch its enforcement off", async () => {
    const { storage } = store;
    const mallory = { id: "mallory", roles: ["approver"] };
    await labelled(storage, clock, critical, { principal: "root", count: 60, label: "false_positive", by: [mallory], prefix: "flood", finding: { severity: "critical" } });
    // The same person labelling the same decision again and again counts once.
    const [first] = await storage.listDecisions({ limit: 1 });
    for (let i = 0; i < 20; i++) await recordFeedback({ storage, clock }, { decisionId: first?.id as string, label: "false_positive" }, mallory);
    const learner = createLearner({ storage, clock, policy: lookup });
    const { state, skipped } = await learner.update();
    expect(skipped["superseded by the same person's later label"]).toBe(20);
    expect(state.entries.every((e) => (e.riskDelta ?? 0) >= 0 && (e.tierShift ?? 0) >= 0)).toBe(true);
    const held = state.entries.find((e) => e.scope === "entity" && e.key === "principal/root");
    expect(held?.held).toBe("not lowered: 1 reviewer lean false positive, 3 needed for a critical rule");
    expect(held?.effective.falsePositive).toBe(5); // capped at maxPerReviewer
    const ctx = ctxFor("root");
    const learned = learner.lookupFor(ctx);
    const draft = createDecider().decide(ctx, [{ policy: "root-guard", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "deny", severity: "critical", message: "m", trace: [] }], {}, { id: "d", now: clock.iso(), enforced: true, policy: lookup, ...(learned ? { learned } : {}) });
    expect(draft.tier).toBe("block");
    expect(draft.verdict).toBe("deny");
  });

  it("with enough reviewers a critical rule is lowered at most one step and never to observe", async () => {
    const { storage } = store;
    await labelled(storage, clock, critical, { principal: "root", count: 40, label: "false_positive", by: reviewers, prefix: "many", finding: { severity: "critical" } });
    const learner = createLearner({ storage, clock, policy: lookup });
    const { state } = await learner.update();
    const entry = state.entries.find((e) => e.scope === "entity" && e.key === "principal/root");
    expect(entry?.tierShift).toBe(-1);
    const ctx = ctxFor("root");
    const draft = createDecider().decide(ctx, [{ policy: "root-guard", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "deny", severity: "critical", message: "m", trace: [] }], {}, { id: "d", now: clock.iso(), enforced: true, policy: lookup, learned: learner.lookupFor(ctx) as never });
    expect(draft.tier).toBe("approve");
    expect(draft.verdict).toBe("deny"); // learning never changes the verdict
  });

  it("never lowers below the policy's floor (decide clamps the learned shift)", async () => {
    const { storage } = store;
    const floored = meta("floored", { tier: "approve", floor: "approve", ceiling: "block" });
    await labelled(storage, clock, floored, { principal: "x", count: 30, label: "false_positive", by: reviewers, prefix: "f" });
    const learner = createLearner({ storage, clock });
    const { state } = await learner.update();
    expect(state.entries.find((e) => e.key === "principal/x")?.tierShift).toBeLessThan(0);
    const ctx = ctxFor("x");
    const draft = createDecider().decide(ctx, [{ policy: "floored", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "deny", severity: "high", message: "m", trace: [] }], {}, { id: "d", now: clock.iso(), enforced: true, policy: () => floored, learned: learner.lookupFor(ctx) as never });
    expect(draft.tier).toBe("approve");
    expect(draft.findings[0]?.effect).toBe("violation"); // no exception created
  });

  it("feedback on an unknown decision, with an unknown label or without the approver role changes nothing", async () => {
    const { storage } = store;
    const decision = await recordDecision(storage, ctxFor("p"), {}, noisy, { id: "known" });
    await expect(recordFeedback({ storage, clock }, { decisionId: "nope", label: "false_positive" }, reviewers[0] as never)).rejects.toMatchObject({ code: "VIGIL_NOT_FOUND", details: { field: "decisionId" } });
    await expect(recordFeedback({ storage, clock }, { decisionId: decision.id, label: "meh" }, reviewers[0] as never)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "label" } });
    await expect(recordFeedback({ storage, clock }, { decisionId: decision.id, label: "false_positive" }, { id: "vic", roles: ["viewer"] })).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    expect(await storage.listDocs(FEEDBACK_COLLECTION)).toEqual([]);
    const saved = await recordFeedback({ storage, clock }, { decisionId: decision.id, label: "true_positive", reason: "real" }, reviewers[0] as never);
    expect(saved).toMatchObject({ decisionId: "known", label: "true_positive", by: "ann", via: "api", reason: "real" });
    expect((await storage.listAudit({ limit: 5 })).map((a) => a.action)).toContain("feedback.record");
  });
});

describe("learned state: versions, reset, corruption", () => {
  it("each update is a new version with its parent; reset ignores older feedback; history lists them", async () => {
    const { storage } = store;
    await labelled(storage, clock, noisy, { principal: "n", count: 10, label: "false_positive", by: reviewers, prefix: "a" });
    const learner = createLearner({ storage, clock, policy: lookup });
    expect((await learner.start()).status).toBe("none");
    const first = (await learner.update()).state;
    expect([first.version, first.parent]).toEqual([1, null]);
    clock.advance(60_000);
    const second = (await learner.update()).state;
    expect([second.version, second.parent]).toEqual([2, 1]);
    await expect(learner.reset({ id: "otto", roles: ["operator"] })).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    clock.advance(60_000);
    const reset = await learner.reset(reviewers[0] as never, "new detector settings");
    expect([reset.version, reset.parent, reset.kind, reset.entries.length]).toEqual([3, 2, "reset", 0]);
    clock.advance(60_000);
    const after = (await learner.update()).state;
    expect(after.entries).toEqual([]); // the old feedback is before the reset
    expect(after.feedbackSince).toBe(reset.feedbackSince);
    expect((await learner.history()).map((v) => [v.version, v.kind, v.checksumOk])).toEqual([[4, "update", true], [3, "reset", true], [2, "update", true], [1, "update", true]]);
  });

  it("detects a corrupted stored state at start, reports it and falls back to the declared tiers", async () => {
    const { storage } = store;
    await labelled(storage, clock, noisy, { principal: "n", count: 10, label: "false_positive", by: reviewers, prefix: "a" });
    const learner = createLearner({ storage, clock, policy: lookup });
    const { state } = await learner.update();
    expect(state.entries.some((e) => e.tierShift === -1)).toBe(true);

    // Someone edits the stored version: the checksum no longer matches.
    const doc = await storage.getDoc<{ state: { entries: { tierShift?: number }[] }; checksum: string }>(LEARN_COLLECTION, versionId(state.version));
    const tampered = structuredClone(doc?.value) as { state: { entries: { tierShift?: number }[] }; checksum: string };
    for (const entry of tampered.state.entries) entry.tierShift = -2;
    await storage.putDocs([{ collection: LEARN_COLLECTION, id: versionId(state.version), value: tampered }], clock.iso());

    const problems: string[] = [];
    const restarted = createLearner({ storage, clock, policy: lookup, onProblem: (m) => problems.push(m) });
    const loaded = await restarted.start();
    expect(loaded.status).toBe("corrupt");
    expect(problems[0]).toMatch(/learned state is corrupt, running on the policies' declared tiers.*fails its checksum/);
    expect(restarted.current()).toBeUndefined();
    const ctx = ctxFor("n");
    expect(restarted.lookupFor(ctx)).toBeUndefined();
    const draft = createDecider().decide(ctx, [{ policy: "noisy", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "warn", severity: "high", message: "m", trace: [] }], {}, { id: "d", now: clock.iso(), enforced: true, policy: lookup });
    expect(draft.tier).toBe("notify"); // declared tier

    // The next update recovers: a new verified version whose parent is the corrupt head.
    const recovered = (await restarted.update()).state;
    expect([recovered.version, recovered.parent]).toEqual([2, 1]);
    expect((await loadLearnedState(storage)).status).toBe("ok");
  });

  it("detects a missing version document and a malformed head", async () => {
    const { storage } = store;
    await storage.putDocs([{ collection: LEARN_COLLECTION, id: HEAD_ID, value: { version: 7, checksum: "abc", at: clock.iso() } }], clock.iso());
    expect(await loadLearnedState(storage)).toMatchObject({ status: "corrupt", problem: "version 7 named by the head is missing" });
    await storage.putDocs([{ collection: LEARN_COLLECTION, id: HEAD_ID, value: { nothing: true } }], clock.iso());
    expect(await loadLearnedState(storage)).toMatchObject({ status: "corrupt", problem: "the head document is malformed (no version or checksum)" });
    const learner = createLearner({ storage, clock });
    expect((await learner.start()).status).toBe("corrupt");
    expect(learner.lookupFor(ctxFor("n"))).toBeUndefined();
  });
});
