/**
 * A learned tier shift and adaptive rules (src/decide/tiers.ts): when an adaptive rule decides a
 * finding's tier, a lesson may still move it, but only within the floor..ceiling the policy
 * declares; a policy that declares neither keeps the adaptive rule's tier.
 */
import { describe, expect, it } from "vitest";
import type { EnforcementSpec } from "../../src/core/policy.js";
import { createDecider } from "../../src/decide/decider.js";
import { learnedFromList } from "../../src/decide/learned.js";
import { context, meta, violation } from "../../src/decide/test-support.js";

function decide(enforcement: EnforcementSpec, tierShift: number) {
  const policy = meta("p", enforcement);
  const learned = learnedFromList([{ policy: "p", tierShift, citation: "9 of 10 similar findings were marked false positive" }]);
  return createDecider().decide(context({ x: 1 }), [violation({ mode: "warn" })], { p: "rev-1" }, { id: "d", now: "2026-01-01T00:00:00Z", enforced: true, policy: () => policy, learned });
}

describe("learned tier shift after an adaptive rule", () => {
  it("moves within the declared range and says so", () => {
    const draft = decide({ tier: "notify", floor: "observe", ceiling: "approve", adaptive: [{ when: "true", tier: "notify", reason: "known location" }] }, -1);
    expect(draft.tier).toBe("observe");
    expect(draft.explanation.steps.find((s) => s.kind === "tier")?.text).toContain("learned shift -1: moved to observe within range observe..approve");
    expect(draft.verdict).toBe("allow");
  });

  it("stops at the floor and the ceiling", () => {
    expect(decide({ tier: "notify", floor: "notify", ceiling: "approve", adaptive: [{ when: "true", tier: "notify" }] }, -2).tier).toBe("notify");
    expect(decide({ tier: "notify", floor: "observe", ceiling: "approve", adaptive: [{ when: "true", tier: "approve" }] }, 2).tier).toBe("approve");
  });

  it("a policy that declares no range keeps the adaptive rule's tier", () => {
    const draft = decide({ tier: "notify", adaptive: [{ when: "true", tier: "approve" }] }, -2);
    expect(draft.tier).toBe("approve");
    expect(draft.explanation.steps.find((s) => s.kind === "tier")?.text).toContain("but range approve..approve keeps approve");
  });
});
