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
