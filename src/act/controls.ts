/**
 * What people switch on the executor (executor.ts): the kill switch and a policy's promotion out
 * of dry-run. Each checks the actor's role, writes the state (state.ts) and the audit trail.
 */
import { VigilError } from "../core/errors.js";
import { isVigilIdentity } from "../core/identity.js";
import type { Storage } from "../core/ports.js";
import { requireRole, type Actor } from "./actor.js";
import type { KillSwitchState, PromotionState } from "./records.js";
import { writeKillSwitch, writePromotion } from "./state.js";

/**
 * Operator or admin; off only by a person (an identity of Vigil's own may stop actions, never let
 * them run again). Persisted: survives restarts, shared by every worker on the store.
 */
export async function setKillSwitch(storage: Storage, on: boolean, actor: Actor, at: string, reason?: string): Promise<KillSwitchState> {
  requireRole(actor, ["operator"], `turn the kill switch ${on ? "on" : "off"}`);
  if (!on && isVigilIdentity(actor.id)) {
    throw new VigilError("VIGIL_FORBIDDEN", `${actor.id} may not turn the kill switch off: Vigil never lifts the switch that stops its own actions; a person with the operator or admin role does`, { field: "actor.id" });
  }
  const state: KillSwitchState = { on, by: actor.id, at, ...(reason ? { reason } : {}) };
  await writeKillSwitch(storage, state, at);
  await storage.appendAudit([{ at, actor: actor.id, action: on ? "killswitch.on" : "killswitch.off", ...(reason ? { detail: { reason } } : {}) }]);
  return state;
}

/** Lets a policy's actions run for real: a person with the approver or admin role, never an identity of Vigil's own. */
export async function promotePolicy(storage: Storage, policy: string, actor: Actor, at: string, options: { readonly reason?: string; readonly revision?: string }): Promise<PromotionState> {
  requireRole(actor, ["approver"], `promote policy ${policy}`);
  // Humans stay in charge: an identity of Vigil's own (vigil:learner, vigil:escalation...) never takes a policy out of dry-run, whatever its roles.
  if (isVigilIdentity(actor.id)) {
    throw new VigilError("VIGIL_FORBIDDEN", `${actor.id} may not promote policy ${String(policy)}: Vigil never takes its own policies out of dry-run; a person with the approver or admin role does`, { field: "actor.id" });
  }
  if (typeof policy !== "string" || policy === "") throw new VigilError("VIGIL_BAD_INPUT", "policy must name the policy to promote", { field: "policy" });
  const state: PromotionState = { policy, promoted: true, by: actor.id, at, ...(options.reason ? { reason: options.reason } : {}), ...(options.revision ? { revision: options.revision } : {}) };
  await writePromotion(storage, state);
  await storage.appendAudit([{ at, actor: actor.id, action: "policy.promote", target: policy, ...(options.reason ? { detail: { reason: options.reason } } : {}) }]);
  return state;
}

/** Back to dry-run (approver or admin). */
export async function demotePolicy(storage: Storage, policy: string, actor: Actor, at: string, reason?: string): Promise<PromotionState> {
  requireRole(actor, ["approver"], `demote policy ${policy}`);
  if (typeof policy !== "string" || policy === "") throw new VigilError("VIGIL_BAD_INPUT", "policy must name the policy to demote", { field: "policy" });
  const state: PromotionState = { policy, promoted: false, by: actor.id, at, ...(reason ? { reason } : {}) };
  await writePromotion(storage, state);
  await storage.appendAudit([{ at, actor: actor.id, action: "policy.demote", target: policy, ...(reason ? { detail: { reason } } : {}) }]);
  return state;
}
