import { describe, expect, it } from "vitest";
import { defaultLearnerSettings, type LearnedEntry, type LearnedState } from "../../learn/types.js";
import { formatState } from "./learn.js";

const entry = (id: string, bucket: string | undefined): LearnedEntry => ({
  id, policy: "p", rule: "r", scope: "entity", key: "principal/ana", ...(bucket === undefined ? {} : { bucket }),
  labels: { truePositive: 0, falsePositive: 4, incident: 0 }, effective: { truePositive: 0, falsePositive: 4, incident: 0 },
  reviewers: 2, entities: 1, reviewersLeaningFalse: 2, critical: false, mode: "deny", precision: { mean: 0.1, lower: 0.01, upper: 0.3 },
  riskDelta: -0.30000000000000004, citation: "4 false positives",
});

describe("vigil learn show", () => {
  it("names the context bucket of an entity lesson: the same principal's lessons in two buckets read differently", () => {
    const state: LearnedState = {
      schema: 1, version: 3, parent: 2, createdAt: "2026-01-01T00:00:00Z", createdBy: "vigil:learner", kind: "update", reason: "scheduled",
      settings: defaultLearnerSettings, feedbackUsed: 8, reviewers: 2,
      entries: [entry("L3-1", "development/low/normal"), entry("L3-2", "production/high/normal"), entry("L3-3", undefined)],
      calibration: {},
    };
    const lines = formatState(state).split("\n");
    const of = (id: string) => lines.find((line) => line.startsWith(id)) ?? "";
    expect(of("L3-1")).toMatch(/principal\/ana in development\/low\/normal {2}risk -0\.3$/);
    expect(of("L3-2")).toContain("principal/ana in production/high/normal");
    // Stored before buckets were kept: it applies in every bucket.
    expect(of("L3-3")).toContain("principal/ana in every bucket");
  });
});
