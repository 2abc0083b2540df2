/**
 * Preview actuators: one per built-in action kind, validating params exactly as the real actuator
 * does and never calling out; `apply` records a dry run. `vigil replay` uses them for every kind
 * (replayed decisions are not enforced, and a replay shows what the agent would do even where no
 * provider is set up); the agent uses them for the kinds `actuators.preview` names that no
 * configured provider offers (demos without cloud accounts).
 */
import type { Actuator } from "../core/action.js";
import { systemClock, type Clock } from "../core/ports.js";
import { builtinActionKinds, validateBuiltinAction } from "../act/actuators/index.js";

export function createPreviewActuators(clock: Clock = systemClock, note = "previewed: params validated, nothing sent"): Actuator[] {
  return builtinActionKinds.map((spec): Actuator => ({
    kind: spec.kind,
    description: `preview of ${spec.kind}: params validated, nothing sent`,
    validate: (params) => validateBuiltinAction(spec.kind, params),
    async apply(plan) {
      return { actionId: plan.id, status: "dry-run", at: clock.now().toISOString(), output: { preview: true, note, target: plan.target.id } };
    },
    async undo(plan) {
      return { actionId: plan.id, status: "skipped", at: clock.now().toISOString(), error: "a preview was never applied" };
    },
  }));
}
