/**
 * Preview actuators for `vigil replay`: one per built-in action kind, validating params exactly as
 * the real actuator does and never calling out. Replayed decisions are not enforced, so every
 * action is a dry run; these make sure that stays true whatever is configured, and that every
 * kind can be planned (a replay shows what the agent would do even where no provider is set up).
 */
import type { Actuator } from "../core/action.js";
import { systemClock, type Clock } from "../core/ports.js";
import { builtinActionKinds, validateBuiltinAction } from "../act/actuators/index.js";

export function createPreviewActuators(clock: Clock = systemClock): Actuator[] {
  return builtinActionKinds.map((spec): Actuator => ({
    kind: spec.kind,
    description: `preview of ${spec.kind}: params validated, nothing sent`,
    validate: (params) => validateBuiltinAction(spec.kind, params),
    async apply(plan) {
      return { actionId: plan.id, status: "dry-run", at: clock.now().toISOString(), output: { preview: true, target: plan.target.id } };
    },
    async undo(plan) {
      return { actionId: plan.id, status: "skipped", at: clock.now().toISOString(), error: "a preview was never applied" };
    },
  }));
}
