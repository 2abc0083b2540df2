/**
 * The public surface of the act stage: the executor (plan, apply within guardrails, undo, kill
 * switch, promotion) and its records. The built-in actuators are in ./actuators.
 */
export { createExecutor, type Executor, type ExecutorOptions, type ActOutcome, type ActionQuery } from "./executor.js";
export { planActions, renderParams, type PlannedAction, type PlanInput, type PlanOutput, type Disposition } from "./plan.js";
export {
  validateGuardrails, allowlistVerdict, protectionVerdict, policyBudget, globalBudget, defaultBudgets, defaultNotificationKinds, PROTECTED_LABEL,
  type GuardrailConfig, type BudgetLimit, type ProtectedSpec,
} from "./guardrails.js";
export {
  ACTIONS_COLLECTION, ACT_STATE_COLLECTION, PROMOTIONS_COLLECTION, BUDGET_COLLECTION, idempotencyKey, actionIdOf,
  type ActionRecord, type ActionHistoryEntry, type KillSwitchState, type PromotionState, type BlockCause,
} from "./records.js";
export { requireRole, type Actor, type Role } from "./actor.js";
export { describeRecord } from "./describe.js";
