/**
 * How the executor keeps what it did: one Storage document per action (collection `actions`,
 * id = the action id derived from the idempotency key), its state (kill switch, promotions)
 * and its blast-radius budgets. Every transition is a versioned put, so two workers never both
 * apply the same action.
 */
import { createHash } from "node:crypto";
import type { ActionPlan, ActionResult, ActionStatus } from "../core/action.js";
import type { Tier } from "../core/policy.js";

export const ACTIONS_COLLECTION = "actions";
export const ACT_STATE_COLLECTION = "act-state";
export const PROMOTIONS_COLLECTION = "act-promotions";
export const BUDGET_COLLECTION = "act-budget";
export const KILL_SWITCH_ID = "kill-switch";

/** Why an action did not run as planned. */
export type BlockCause = "kill-switch" | "protected" | "allowlist" | "invalid" | "no-actuator" | "template";

export interface ActionHistoryEntry {
  readonly at: string;
  readonly status: ActionStatus;
  readonly actor?: string;
  readonly note?: string;
}

/** One action as recorded: its plan, where it stands, its result and what undo needs (in `result.undo`). */
export interface ActionRecord {
  readonly id: string;
  readonly decisionId: string;
  readonly policy: string;
  readonly actuator: string;
  readonly status: ActionStatus;
  readonly plan: ActionPlan;
  /** The tier of the finding that asked for the action. */
  readonly tier: Tier;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Why it is blocked, pending, dry-run or skipped. */
  readonly reason?: string;
  readonly blockedBy?: BlockCause;
  readonly result?: ActionResult;
  readonly undoResult?: ActionResult;
  /**
   * Set when the plan runs for real only because its policy was promoted: an approved action checks
   * the promotion again when it runs (approved after a demotion, it only dry-runs).
   */
  readonly promoted?: true;
  readonly approvedBy?: string;
  readonly approvedAt?: string;
  readonly undoneBy?: string;
  readonly undoneAt?: string;
  /** Set while an undo is in progress (its claim); absent once the undo is recorded. */
  readonly undoStartedBy?: string;
  readonly undoStartedAt?: string;
  readonly history: readonly ActionHistoryEntry[];
}

export interface KillSwitchState {
  readonly on: boolean;
  readonly by?: string;
  readonly at?: string;
  readonly reason?: string;
}

export interface PromotionState {
  readonly policy: string;
  readonly promoted: boolean;
  readonly by: string;
  readonly at: string;
  readonly reason?: string;
  /** Revision of the policy when it was promoted (informational). */
  readonly revision?: string;
}

/** `sha256(decisionId, policy, actuator, target)`: the same decision/policy/target/action always gets the same key. */
export function idempotencyKey(decisionId: string, policy: string, actuator: string, target: { readonly kind: string; readonly id: string }): string {
  return createHash("sha256").update([decisionId, policy, actuator, target.kind, target.id].join("\u0000")).digest("hex");
}

/** The action id of an idempotency key: stable, short, and unique in practice. */
export function actionIdOf(key: string): string {
  return `act-${key.slice(0, 24)}`;
}

/** True for statuses after which the executor never calls the actuator's `apply` again. */
export function isSettled(record: ActionRecord): boolean {
  return !(record.status === "blocked" && record.blockedBy === "kill-switch");
}
