/** Planning without storage: which entity a target is, and the protection judged on it. */
import { describe, expect, it } from "vitest";
import type { Actuator } from "../core/action.js";
import type { Entity } from "../core/entity.js";
import { createConditionCache } from "../decide/conditions.js";
import { createDecider } from "../decide/decider.js";
import { context, manualClock } from "../decide/test-support.js";
import { defaultCelEnvironment, loadPolicyText } from "../policy/load.js";
import { createPolicySet } from "../policy/policy-set.js";
import { planActions, type PlanOutput } from "./plan.js";
import { createFakeActuators, scaleDownPolicy as scaleDown } from "./test-support.js";

function plan(policy: string, entities: Record<string, Entity>): PlanOutput {
  const { policies, errors } = loadPolicyText(policy);
  expect(errors).toEqual([]);
  const set = createPolicySet(policies);
  const clock = manualClock("2025-02-03T10:00:00.000Z");
  const ctx = context({ idle: true }, { now: clock.iso(), subject: "shop/web", entities });
  const { findings, policyRevisions } = set.evaluate(ctx);
  const draft = createDecider().decide(ctx, findings, policyRevisions, { id: "d-1", now: clock.iso(), enforced: true, policy: (name) => set.get(name) });
  const actuators = new Map<string, Actuator>(createFakeActuators(clock).actuators.map((a) => [a.kind, a]));
  return planActions({ draft, ctx, policy: (name) => set.get(name), guardrails: { requirePromotion: false }, actuators, promoted: () => true, programs: createConditionCache(defaultCelEnvironment()) });
}

describe("planActions: protected targets", () => {
  // The Service and the Deployment share the id shop/web; only the Deployment is protected.
  const entities: Record<string, Entity> = {
    resource: { kind: "k8s.Service", id: "shop/web", attrs: {} },
    workload: { kind: "k8s.Deployment", id: "shop/web", attrs: { labels: { "vigil.dev/protected": "true" } } },
  };

  it("a target given as a bare id, which two entities of the event have, is protected when either is: the kind was only guessed (the first entity's)", () => {
    const { planned } = plan(scaleDown('"shop/web"'), entities);
    expect(planned.map((p) => [p.plan.target, p.disposition, p.blockedBy])).toEqual([[{ kind: "k8s.Service", id: "shop/web" }, "blocked", "protected"]]);
    expect(planned[0]?.plan.reason).toBe("target shop/web is protected (label vigil.dev/protected=true): never acted on");
  });

  it("a target that names its kind is judged on that entity only", () => {
    const { planned } = plan(scaleDown('{"kind": "k8s.Service", "id": "shop/web"}'), entities);
    expect(planned.map((p) => [p.plan.target, p.disposition])).toEqual([[{ kind: "k8s.Service", id: "shop/web" }, "apply"]]);
  });
});
