import { describe, expect, it } from "vitest";
import { meta } from "../decide/test-support.js";
import { learnModel } from "./model.js";
import { defaultLearnerSettings, type Observation } from "./types.js";

const NOW = "2026-01-10T12:00:00.000Z";

function observation(i: number, over: Partial<Observation> = {}): Observation {
  return {
    feedbackId: `fb-${i}`, decisionId: `d-${i}`, policy: "p", rule: "r", severity: "high", mode: "warn",
    label: "false_positive", by: ["ann", "bob", "cai", "dee"][i % 4] as string, at: NOW, via: "api",
    bucket: "production/high/normal", entity: "principal/x", detectors: {}, ...over,
  };
}

describe("learnModel: critical rules", () => {
  it("a false-positive lesson never raises the tier of a critical rule that starts at observe", () => {
    const audit = meta("p", { floor: "observe", ceiling: "remediate" });
    const observations = Array.from({ length: 40 }, (_, i) => observation(i, { severity: "critical", mode: "audit" }));
    const { entries } = learnModel(observations, { settings: defaultLearnerSettings, now: NOW, version: 1, policy: () => audit });
    const entry = entries.find((e) => e.scope === "entity");
    expect(entry?.riskDelta).toBeLessThan(0);
    expect(entry?.tierShift ?? 0).toBeLessThanOrEqual(0);
    expect(entries.every((e) => (e.tierShift ?? 0) <= 0)).toBe(true);
  });

  it("a critical rule starting at notify is not shifted at all (it would reach observe)", () => {
    const warn = meta("p", { tier: "notify", floor: "observe", ceiling: "remediate" });
    const observations = Array.from({ length: 40 }, (_, i) => observation(i, { severity: "critical", mode: "warn" }));
    const { entries } = learnModel(observations, { settings: defaultLearnerSettings, now: NOW, version: 1, policy: () => warn });
    expect(entries.find((e) => e.scope === "entity")?.tierShift).toBeUndefined();
  });
});

describe("learnModel: critical rules under adaptive enforcement", () => {
  it("a critical rule an adaptive rule may put at notify is not shifted (the shift applies after the adaptive tier)", () => {
    const adaptive = meta("p", { floor: "observe", ceiling: "remediate", adaptive: [{ when: "input.env == 'dev'", tier: "notify", reason: "development" }] });
    const observations = Array.from({ length: 40 }, (_, i) => observation(i, { severity: "critical", mode: "deny" }));
    const { entries } = learnModel(observations, { settings: defaultLearnerSettings, now: NOW, version: 1, policy: () => adaptive });
    const entry = entries.find((e) => e.scope === "entity");
    expect(entry?.riskDelta).toBeLessThan(0);
    expect(entry?.tierShift).toBeUndefined();
    // Without the adaptive rule it starts at block and may go one step down.
    const plain = learnModel(observations, { settings: defaultLearnerSettings, now: NOW, version: 1, policy: () => meta("p", { floor: "observe", ceiling: "remediate" }) });
    expect(plain.entries.find((e) => e.scope === "entity")?.tierShift).toBe(-1);
  });
});

describe("learnModel: the rule's mode as last seen", () => {
  // A critical rule edited from deny (starts at block) to warn (starts at notify): its slice goes by
  // the mode its latest labelled finding had, whatever order the feedback records are read in.
  const byMode = meta("p", { floor: "observe", ceiling: "remediate" });
  const old = Array.from({ length: 20 }, (_, i) => observation(i, { severity: "critical", mode: "deny", at: "2025-12-20T12:00:00.000Z" }));
  const recent = Array.from({ length: 20 }, (_, i) => observation(100 + i, { severity: "critical", mode: "warn", at: "2026-01-09T12:00:00.000Z" }));

  for (const [order, observations] of [["older first", [...old, ...recent]], ["newer first", [...recent, ...old]]] as const) {
    it(`a critical rule now starting at notify is never shifted to observe (${order})`, () => {
      const { entries } = learnModel(observations, { settings: defaultLearnerSettings, now: NOW, version: 1, policy: () => byMode });
      const entry = entries.find((e) => e.scope === "entity");
      expect(entry?.mode).toBe("warn");
      expect(entry?.riskDelta).toBeLessThan(0);
      expect(entry?.tierShift).toBeUndefined();
    });
  }
});

describe("learnModel: detector calibration", () => {
  it("counts one label on a decision once per detector slice, however many rules the decision violated", () => {
    // Two decisions, each violating three rules with the spike detector fired: two labels, not six.
    const observations = ["ann", "bob"].flatMap((by, i) => ["r1", "r2", "r3"].map((rule) => observation(i, { by, rule, detectors: { spike: "resource/batch-1" } })));
    const { calibration } = learnModel(observations, { settings: defaultLearnerSettings, now: NOW, version: 1 });
    expect(calibration.entities?.["resource/batch-1@production/high/normal"]).toBeUndefined();

    // Four decisions labelled by two reviewers are enough evidence; the reason counts decisions.
    const more = ["ann", "bob", "ann", "bob"].flatMap((by, i) => ["r1", "r2"].map((rule) => observation(i, { by, rule, detectors: { spike: "resource/batch-1" } })));
    const calibrated = learnModel(more, { settings: defaultLearnerSettings, now: NOW, version: 1 }).calibration.entities?.["resource/batch-1@production/high/normal"];
    expect(calibrated?.reason).toBe("4 of 4 spike findings for resource/batch-1 were marked false positive");
  });
});

describe("learnModel: detector calibration of critical findings", () => {
  it("a decision's critical finding still makes its detector slice critical when a lesser finding of it came first", () => {
    const observations = ["ann", "bob", "ann", "bob", "cai", "dee"].flatMap((by, i) => [
      observation(i, { by, rule: "r1", detectors: { spike: "resource/batch-1" } }),
      observation(i, { by, rule: "r2", severity: "critical", detectors: { spike: "resource/batch-1" } }),
    ]);
    // Only two reviewers lean false positive on the first four decisions: a critical slice needs three.
    const { calibration } = learnModel(observations.slice(0, 8), { settings: defaultLearnerSettings, now: NOW, version: 1 });
    expect(calibration.entities?.["resource/batch-1@production/high/normal"]).toBeUndefined();
    expect(learnModel(observations, { settings: defaultLearnerSettings, now: NOW, version: 1 }).calibration.entities?.["resource/batch-1@production/high/normal"]?.reason).toBe("6 of 6 spike findings for resource/batch-1 were marked false positive");
  });
});

describe("learnModel: one noisy entity does not lower its bucket", () => {
  it("a bucket lesson needs false-positive findings about minEntities entities, not one noisy entity and another's confirmed finding", () => {
    const noisy = Array.from({ length: 12 }, (_, i) => observation(i, { entity: "principal/noisy", by: ["ann", "bob", "cai"][i % 3] as string }));
    const confirmed = observation(100, { entity: "principal/other", label: "true_positive", by: "ann" });
    const { entries } = learnModel([...noisy, confirmed], { settings: defaultLearnerSettings, now: NOW, version: 1 });
    // The noisy entity gets its own lesson...
    expect(entries.find((e) => e.scope === "entity" && e.key === "principal/noisy")?.riskDelta).toBeLessThan(0);
    // ...its bucket does not: the other entity's only finding was confirmed.
    const bucket = entries.find((e) => e.scope === "bucket");
    expect(bucket?.riskDelta).toBeUndefined();
    expect(bucket?.tierShift).toBeUndefined();
    expect(bucket?.held).toBe("not lowered for the bucket: the false-positive findings are about 1 entity, 2 needed (an entity's own lesson applies to it)");
    // A second entity with false-positive findings of its own lets the bucket lesson through.
    const second = Array.from({ length: 2 }, (_, i) => observation(200 + i, { entity: "principal/second", by: ["ann", "bob"][i] as string }));
    expect(learnModel([...noisy, confirmed, ...second], { settings: defaultLearnerSettings, now: NOW, version: 1 }).entries.find((e) => e.scope === "bucket")?.riskDelta).toBeLessThan(0);
  });
});
