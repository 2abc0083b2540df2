/**
 * The executor: plans a decision's actions, applies them through the Actuator port within the
 * guardrails, records every one of them, and undoes them on request.
 *
 * Guardrails, in the order they are checked for each action:
 * 1. kill switch (persisted): when on, nothing is applied — every action is recorded `blocked`
 *    and the decision's explanation says so; such actions may be applied by a later re-run. Read
 *    before each action and again just before its actuator is called (after claim and budget);
 * 2. planning (plan.ts): unknown kind, invalid params, allowlist, protected target or object
 *    named in params (touched.ts) → `blocked`
 *    (allowlist and protected names/entities are judged again when a plan runs for real, and when
 *    an approved action runs: the guardrails may have changed since it was planned);
 *    dry-run (not promoted, shadow, not enforced) → actuator called with `dryRun: true`, and
 *    a plan that was to run because its policy was promoted dry-runs if it was demoted since;
 *    approve tier → `pending-approval`;
 * 3. idempotency: the action id comes from the idempotency key; an action already recorded is
 *    never applied again (at most once), whatever its outcome;
 * 4. blast radius: per-policy and global sliding-window budgets; past one → `pending-approval`.
 * Approval-required actions are left `pending-approval`: review/ queues them and calls
 * `runApproved` or `skipPending`.
 */
import type { ActionPlan, ActionResult, ActionStatus, Actuator } from "../core/action.js";
import type { Context } from "../core/context.js";
import type { DecisionDraft, ExplanationStep } from "../core/decision.js";
import type { Entity } from "../core/entity.js";
import { VigilError } from "../core/errors.js";
import type { Clock, Storage } from "../core/ports.js";
import { createConditionCache, metaOf, type PolicyLookup } from "../decide/conditions.js";
import type { CelEnvironment } from "../policy/cel/api.js";
import { defaultCelEnvironment } from "../policy/load.js";
import { requireRole, type Actor } from "./actor.js";
import { allowlistVerdict, globalBudget, policyBudget, protectionVerdict, validateGuardrails, type CurrentEntityLookup, type GuardrailConfig } from "./guardrails.js";
import { notPromotedReason, planActions, type PlanOutput, type PlannedAction } from "./plan.js";
import { ACTIONS_COLLECTION, isSettled, type ActionRecord, type BlockCause, type KillSwitchState, type PromotionState } from "./records.js";
import { budgetUsage, readKillSwitch, readPromotions, releaseBudget, reserveBudget, type BudgetScope } from "./state.js";
import { describeRecord } from "./describe.js";
import { currentTouchedProtection, touchedProtection } from "./touched.js";
import { demotePolicy, promotePolicy, setKillSwitch } from "./controls.js";
import { listDocsByTime, timeCursor } from "./time-page.js";

export interface ExecutorOptions {
  readonly storage: Storage;
  readonly clock: Clock;
  /** Actuators by kind (the built-ins from createBuiltinActuators, or your own). */
  readonly actuators: readonly Actuator[];
  readonly guardrails?: GuardrailConfig;
  /** The shared CEL environment (remediation targets and param templates). */
  readonly env?: CelEnvironment;
  /** Entities the context does not hold, for the protected-entity check at plan time and when a plan runs. */
  readonly entity?: (target: { readonly kind: string; readonly id: string }) => Entity | undefined;
  /**
   * The entity as it is now (the entity store), asked when a plan runs for real (an approval, an
   * action the ladder held, an action right after planning) for its target and each object its
   * params name: a label or tag that protects one since the plan was made blocks the action.
   * A rejection (storage down) fails the run before anything is sent.
   */
  readonly currentEntity?: CurrentEntityLookup;
}

export interface ActOutcome {
  /** The decision with `actions` set and one `action` explanation step per action. */
  readonly draft: DecisionDraft;
  readonly records: readonly ActionRecord[];
  /** The records waiting for a person (hand them to the review service's `enqueue`). */
  readonly pending: readonly ActionRecord[];
}

export interface ActionQuery {
  readonly decisionId?: string;
  readonly policy?: string;
  readonly status?: ActionStatus;
  readonly limit?: number;
  /** `actionCursor` of the last action of the previous page: the actions planned before it. */
  readonly after?: string;
}

/** The cursor that continues `listActions` after this action. */
export const actionCursor = (record: ActionRecord): string => timeCursor(record.createdAt, record.id);

export interface Executor {
  /** Plans a decision's actions (static guardrails judged, promotion state read); applies nothing. */
  plan(draft: DecisionDraft, ctx: Context, policy?: PolicyLookup, options?: { readonly targetsWhenSkipped?: (policy: string) => boolean }): Promise<PlanOutput>;
  /** Applies planned actions within the guardrails; records each one. Never rejects for an actuator failure. */
  apply(planned: readonly PlannedAction[]): Promise<ActionRecord[]>;
  /** plan + apply, and the decision updated with the plans and what happened to them. */
  act(draft: DecisionDraft, ctx: Context, policy?: PolicyLookup): Promise<ActOutcome>;
  /** Runs approved `pending-approval` actions (approver or admin). Throws VIGIL_KILL_SWITCH while the switch is on. */
  runApproved(actionIds: readonly string[], actor: Actor, reason?: string): Promise<ActionRecord[]>;
  /** Settles `pending-approval` actions without running them (denied, or a safe default that does not act). */
  skipPending(actionIds: readonly string[], actor: Actor, reason: string): Promise<ActionRecord[]>;
  /** Reverses an applied action through its actuator from the recorded undo data; records who. */
  undo(actionId: string, actor: Actor, reason?: string): Promise<ActionRecord>;
  getAction(id: string): Promise<ActionRecord | undefined>;
  /** Newest first (by createdAt, then id). Bad `after` → VIGIL_BAD_INPUT (field `cursor`). */
  listActions(query?: ActionQuery): Promise<ActionRecord[]>;
  readonly killSwitch: {
    state(): Promise<KillSwitchState>;
    /** Operator or admin. Persisted: survives restarts, shared by every worker on the store. */
    set(on: boolean, actor: Actor, reason?: string): Promise<KillSwitchState>;
  };
  /** Lets a policy's actions run for real (approver or admin). */
  promote(policy: string, actor: Actor, options?: { readonly reason?: string; readonly revision?: string }): Promise<PromotionState>;
  /** Back to dry-run. */
  demote(policy: string, actor: Actor, reason?: string): Promise<PromotionState>;
  promotion(policy: string): Promise<PromotionState | undefined>;
  /** Actions counted in the current windows: the policy's budget and the global one. */
  budgets(policy: string): Promise<{ id: string; used: number; max: number; windowMs: number }[]>;
}

/** How long an undo in progress keeps others from undoing the same action (longer than any actuator's retries). */
const UNDO_CLAIM_MS = 15 * 60_000;
/** Attempts, and the delay step between them, to record what an actuator did. */
const SETTLE_ATTEMPTS = 4;
const SETTLE_DELAY_MS = 50;

function killedReason(kill: KillSwitchState): string {
  return `kill switch is on (set by ${kill.by ?? "?"} at ${kill.at ?? "?"}${kill.reason ? `: ${kill.reason}` : ""}): not applied`;
}

function statusOf(result: ActionResult, dryRun: boolean): ActionStatus {
  if (result.status === "failed") return "failed";
  if (dryRun) return "dry-run";
  return result.status;
}

export function createExecutor(options: ExecutorOptions): Executor {
  const { storage, clock } = options;
  const guardrails = options.guardrails ?? {};
  validateGuardrails(guardrails);
  const actuators = new Map<string, Actuator>();
  for (const actuator of options.actuators) {
    if (actuators.has(actuator.kind)) throw new VigilError("VIGIL_BAD_CONFIG", `two actuators offer the kind ${actuator.kind}; keep one`, { field: "actuators" });
    actuators.set(actuator.kind, actuator);
  }
  const programs = createConditionCache(options.env ?? defaultCelEnvironment());
  const iso = (): string => clock.now().toISOString();

  const scopes = (policy: string): BudgetScope[] => [
    { id: `policy:${policy}`, label: `policy ${policy}`, limit: policyBudget(guardrails, policy) },
    { id: "global", label: "all policies", limit: globalBudget(guardrails) },
  ];

  /** Writes a record transition with optimistic concurrency; on conflict returns the current record instead. */
  async function write(record: ActionRecord, expectVersion: number, note?: { actor?: string; note?: string }): Promise<{ record: ActionRecord; version: number; won: boolean }> {
    const entry = { at: record.updatedAt, status: record.status, ...(note?.actor ? { actor: note.actor } : {}), ...(note?.note ? { note: note.note } : {}) };
    const next: ActionRecord = { ...record, history: [...record.history, entry] };
    try {
      await storage.putDocs([{ collection: ACTIONS_COLLECTION, id: record.id, value: next, expectVersion }], record.updatedAt);
      return { record: next, version: expectVersion + 1, won: true };
    } catch (error) {
      if (!(error instanceof VigilError) || error.code !== "VIGIL_CONFLICT") throw error;
      const current = await storage.getDoc<ActionRecord>(ACTIONS_COLLECTION, record.id);
      if (current === undefined) throw error;
      return { record: current.value, version: current.version, won: false };
    }
  }

  /**
   * Writes what an actuator did (its result and undo data, or an undo's outcome). Retried on a
   * storage error: losing this write leaves an applied action `planned` with no undo data, or an
   * undone one `applied` to be reversed again. A conflict is settled by `write` (the current record).
   */
  async function settle(record: ActionRecord, expectVersion: number, note?: { actor?: string; note?: string }): Promise<ActionRecord> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await write(record, expectVersion, note)).record;
      } catch (error) {
        if (attempt >= SETTLE_ATTEMPTS) {
          const result = record.status === "undone" ? record.undoResult : record.result;
          throw new VigilError(
            "VIGIL_STORAGE",
            `action ${record.id} is ${record.status} but its record could not be written after ${attempt} attempts (${error instanceof Error ? error.message : String(error)}); what the actuator answered: ${JSON.stringify(result) ?? "nothing"}`,
            { field: "actions" },
            error,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, SETTLE_DELAY_MS * attempt));
      }
    }
  }

  async function callApply(actuator: Actuator | undefined, plan: ActionPlan, dryRun: boolean): Promise<ActionResult> {
    if (actuator === undefined) return { actionId: plan.id, status: "failed", at: iso(), error: `no actuator is configured for ${plan.actuator}` };
    try {
      return await actuator.apply(plan, { dryRun });
    } catch (error) {
      return { actionId: plan.id, status: "failed", at: iso(), error: `actuator ${plan.actuator} threw: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  /**
   * The static guardrails judged again when a plan runs for real: a plan judged earlier (a pending
   * approval, an action the ladder held) may target what is protected, or use a kind the allowlist
   * drops, since. Only adds blocks: the labels the plan was judged with are not at hand, the
   * entities' labels now (currentEntity) are.
   */
  async function staticBlock(plan: ActionPlan): Promise<{ cause: BlockCause; reason: string } | undefined> {
    const denied = allowlistVerdict(guardrails, plan.policy, plan.actuator);
    if (denied !== undefined) return { cause: "allowlist", reason: denied };
    const current = options.currentEntity;
    const action = { kind: plan.actuator, params: plan.params, actuator: actuators.get(plan.actuator) };
    const guarded = protectionVerdict(guardrails, plan.target, options.entity?.(plan.target))
      ?? touchedProtection(guardrails, action, [], options.entity)
      ?? (current === undefined ? undefined : protectionVerdict(guardrails, plan.target, await current(plan.target)) ?? await currentTouchedProtection(guardrails, action, current));
    return guarded === undefined ? undefined : { cause: "protected", reason: `${guarded}: never acted on` };
  }

  /** A plan that runs for real because its policy was promoted, as a dry-run when the policy was demoted since it was planned. */
  async function recheckPromotion(p: PlannedAction): Promise<PlannedAction> {
    if (p.promoted !== true || (p.disposition !== "apply" && p.disposition !== "approval")) return p;
    if ((await readPromotions(storage, [p.plan.policy])).get(p.plan.policy)?.promoted === true) return p;
    const { requiresApproval: _approval, ...plan } = p.plan;
    const { promoted: _promoted, ...rest } = p;
    return { ...rest, disposition: "dry-run", plan: { ...plan, dryRun: true, reason: `${notPromotedReason(p.plan.policy)} (demoted since the action was planned)` } };
  }

  async function applyOne(planned: PlannedAction): Promise<ActionRecord> {
    const existing = await storage.getDoc<ActionRecord>(ACTIONS_COLLECTION, planned.plan.id);
    if (existing !== undefined && isSettled(existing.value)) return existing.value;
    const block = planned.disposition === "apply" || planned.disposition === "approval" ? await staticBlock(planned.plan) : undefined;
    const p = block !== undefined ? { ...planned, disposition: "blocked" as const, blockedBy: block.cause, plan: { ...planned.plan, reason: block.reason } } : await recheckPromotion(planned);
    const at = iso();
    const base: ActionRecord = {
      id: p.plan.id, decisionId: p.plan.decisionId, policy: p.plan.policy, actuator: p.plan.actuator, status: "planned", plan: p.plan, tier: p.tier,
      ...(p.promoted === true ? { promoted: true as const } : {}),
      createdAt: existing?.value.createdAt ?? at, updatedAt: at, history: existing?.value.history ?? [],
    };
    let version = existing?.version ?? 0;
    // Read for every action, not once per batch: a switch turned on while a batch runs stops the rest.
    const kill = await readKillSwitch(storage);
    if (kill.on) {
      // Tried again under the same switch (a ladder tick every few seconds): nothing to record, and a
      // rewrite per try would grow the record's history for as long as the switch stays on.
      if (existing?.value.blockedBy === "kill-switch" && existing.value.reason === killedReason(kill)) return existing.value;
      return (await write({ ...base, status: "blocked", blockedBy: "kill-switch", reason: killedReason(kill) }, version)).record;
    }
    if (p.disposition === "blocked") return (await write({ ...base, status: "blocked", ...(p.blockedBy ? { blockedBy: p.blockedBy } : {}), reason: p.plan.reason ?? "blocked" }, version)).record;
    if (p.disposition === "approval") return (await write({ ...base, status: "pending-approval", reason: p.plan.reason ?? "needs approval" }, version)).record;
    // Claim the action before touching the actuator: whoever wins the versioned write applies it.
    const claim = await write({ ...base, status: "planned", ...(p.plan.reason ? { reason: p.plan.reason } : {}) }, version);
    if (!claim.won) return claim.record;
    version = claim.version;
    const actuator = actuators.get(p.plan.actuator);
    if (p.disposition === "dry-run") {
      const result = await callApply(actuator, p.plan, true);
      return settle({ ...claim.record, status: statusOf(result, true), result, updatedAt: iso() }, version);
    }
    const nowMs = clock.now().getTime();
    let budget: Awaited<ReturnType<typeof reserveBudget>>;
    try {
      budget = await reserveBudget(storage, scopes(p.plan.policy), nowMs, at);
    } catch (error) {
      // The claim must not stay `planned` (settled: never retried, and read as "being applied").
      const reason = `blast-radius budget could not be reserved (${error instanceof Error ? error.message : String(error)}): nothing was sent`;
      return (await write({ ...claim.record, status: "failed", reason, updatedAt: iso() }, version)).record;
    }
    if (!budget.ok) {
      const plan: ActionPlan = { ...p.plan, requiresApproval: true, reason: budget.reason };
      return (await write({ ...claim.record, plan, status: "pending-approval", reason: budget.reason, updatedAt: iso() }, version)).record;
    }
    // Read again after the last storage round trip before the actuator: a switch turned on while the
    // action was claimed and its budget reserved stops it (the record stays re-runnable).
    const late = await readKillSwitch(storage);
    if (late.on) {
      // Not run: its slot goes back, or the re-run once the switch is off would count twice.
      await releaseBudget(storage, scopes(p.plan.policy), nowMs, iso());
      return (await write({ ...claim.record, status: "blocked", blockedBy: "kill-switch", reason: killedReason(late), updatedAt: iso() }, version)).record;
    }
    const result = await callApply(actuator, p.plan, false);
    return settle({ ...claim.record, status: statusOf(result, false), result, updatedAt: iso() }, version);
  }

  async function loadRecord(id: string): Promise<{ record: ActionRecord; version: number }> {
    const doc = await storage.getDoc<ActionRecord>(ACTIONS_COLLECTION, id);
    if (doc === undefined) throw new VigilError("VIGIL_NOT_FOUND", `action ${id} does not exist; list actions with GET /v1/actions (each decision's actions are in GET /v1/decisions/{id})`, { field: "actionId" });
    return { record: doc.value, version: doc.version };
  }

  const executor: Executor = {
    async plan(draft, ctx, policy, planOptions = {}) {
      const names = [...new Set(draft.findings.filter((f) => f.effect === "violation" && (metaOf(policy?.(f.policy))?.remediation ?? f.remediation ?? []).length > 0).map((f) => f.policy))];
      if (names.length === 0) return { planned: [], notPlanned: [] };
      const promotions = await readPromotions(storage, names);
      return planActions({
        draft, ctx, policy, guardrails, actuators, programs, entity: options.entity,
        promoted: (name) => promotions.get(name)?.promoted === true,
        targetsWhenSkipped: planOptions.targetsWhenSkipped,
      });
    },

    async apply(planned) {
      if (planned.length === 0) return [];
      const records: ActionRecord[] = [];
      for (const p of planned) records.push(await applyOne(p));
      return records;
    },

    async act(draft, ctx, policy) {
      const { planned, notPlanned } = await executor.plan(draft, ctx, policy);
      const records = await executor.apply(planned);
      const steps: ExplanationStep[] = [];
      for (const item of notPlanned) steps.push({ kind: "action", text: `${item.action} not planned: ${item.reason}`, policy: item.policy });
      const killed = records.filter((r) => r.blockedBy === "kill-switch").length;
      if (killed > 0) {
        // The switch is read per action: one turned on while the batch ran stops only the rest.
        const applied = records.filter((r) => r.status === "applied").length;
        steps.push({ kind: "action", text: `kill switch is on: ${killed} action(s) recorded as blocked, ${applied === 0 ? "none applied" : `${applied} applied before it was turned on`}` });
      }
      for (const record of records) steps.push({ kind: "action", text: describeRecord(record), policy: record.policy, ref: record.id });
      const actions = records.map((r) => r.plan);
      const updated: DecisionDraft = actions.length === 0 && steps.length === 0 ? draft : { ...draft, actions, explanation: { ...draft.explanation, steps: [...draft.explanation.steps, ...steps] } };
      return { draft: updated, records, pending: records.filter((r) => r.status === "pending-approval") };
    },

    async runApproved(actionIds, actor, reason) {
      requireRole(actor, ["approver"], "run approved actions");
      const killedError = (kill: KillSwitchState): VigilError =>
        new VigilError("VIGIL_KILL_SWITCH", `the kill switch is on (set by ${kill.by ?? "?"}${kill.reason ? `: ${kill.reason}` : ""}); nothing runs until an operator turns it off`, { field: "killSwitch" });
      const refuseWhileKilled = async (): Promise<void> => {
        const kill = await readKillSwitch(storage);
        if (kill.on) throw killedError(kill);
      };
      if (actionIds.length === 0) await refuseWhileKilled();
      const out: ActionRecord[] = [];
      for (const id of actionIds) {
        // Checked before each action: a switch turned on while approved actions run stops the rest.
        await refuseWhileKilled();
        const { record, version } = await loadRecord(id);
        if (record.status !== "pending-approval") { out.push(record); continue; }
        const at = iso();
        const block = await staticBlock(record.plan);
        if (block !== undefined) {
          out.push((await write({ ...record, status: "blocked", blockedBy: block.cause, reason: block.reason, updatedAt: at }, version, { actor: actor.id, note: `approved, but ${block.reason}` })).record);
          continue;
        }
        // A plan that was to run because its policy was promoted only dry-runs when the policy was demoted since.
        const demoted = record.promoted === true && !record.plan.dryRun && (await readPromotions(storage, [record.policy])).get(record.policy)?.promoted !== true;
        const plan: ActionPlan = demoted ? { ...record.plan, dryRun: true, reason: `${notPromotedReason(record.policy)} (demoted since the action was planned)` } : record.plan;
        const { promoted: _promoted, ...unpromoted } = record;
        const approved: ActionRecord = { ...(demoted ? { ...unpromoted, plan, reason: plan.reason ?? "" } : record), approvedBy: actor.id, approvedAt: at, updatedAt: at, status: "planned" };
        const claim = await write(approved, version, { actor: actor.id, note: `approved${reason ? `: ${reason}` : ""}` });
        if (!claim.won) { out.push(claim.record); continue; }
        const reservedAt = clock.now().getTime();
        if (!plan.dryRun) {
          try {
            await reserveBudget(storage, scopes(record.policy), reservedAt, at, true);
          } catch (error) {
            // As in apply: the claim must not stay `planned` (settled, never run, read as "being applied").
            const failure = `blast-radius budget could not be reserved (${error instanceof Error ? error.message : String(error)}): nothing was sent`;
            out.push((await write({ ...claim.record, status: "failed", reason: failure, updatedAt: iso() }, claim.version)).record);
            continue;
          }
        }
        // Read again just before the actuator: a switch turned on since the check above puts the
        // action back to pending approval (approved again once the switch is off) and stops the rest.
        const late = await readKillSwitch(storage);
        if (late.on) {
          if (!plan.dryRun) await releaseBudget(storage, scopes(record.policy), reservedAt, iso());
          // Back as it was before the approval (its plan and promotion too: a plan turned into a dry
          // run because of a demotion is judged again when approved again), with the history kept.
          await write({ ...record, history: claim.record.history, updatedAt: iso() }, claim.version, { actor: actor.id, note: `not run: ${killedReason(late)}` });
          throw killedError(late);
        }
        const result = await callApply(actuators.get(record.actuator), plan, plan.dryRun);
        out.push(await settle({ ...claim.record, status: statusOf(result, plan.dryRun), result, updatedAt: iso() }, claim.version));
      }
      return out;
    },

    async skipPending(actionIds, actor, reason) {
      requireRole(actor, ["approver"], "settle pending actions");
      if (typeof reason !== "string" || reason.trim() === "") throw new VigilError("VIGIL_BAD_INPUT", "reason is required when settling pending actions without running them", { field: "reason" });
      const out: ActionRecord[] = [];
      for (const id of actionIds) {
        const { record, version } = await loadRecord(id);
        if (record.status !== "pending-approval") { out.push(record); continue; }
        out.push((await write({ ...record, status: "skipped", reason, updatedAt: iso() }, version, { actor: actor.id, note: reason })).record);
      }
      return out;
    },

    async undo(actionId, actor, reason) {
      requireRole(actor, ["operator", "approver"], `undo action ${actionId}`);
      const { record, version } = await loadRecord(actionId);
      if (record.status !== "applied" || record.result === undefined) {
        throw new VigilError("VIGIL_CONFLICT", `action ${actionId} is ${record.status}; only applied actions can be undone`, { field: "actionId" });
      }
      if (record.result.undo === undefined) throw new VigilError("VIGIL_CONFLICT", `action ${actionId} (${record.actuator}) recorded no undo data: it is not reversible`, { field: "actionId" });
      const actuator = actuators.get(record.result.undo.actuator) ?? actuators.get(record.actuator);
      if (actuator === undefined) throw new VigilError("VIGIL_ACTUATOR", `no actuator is configured for ${record.actuator}; cannot undo ${actionId}`, { field: "actuator" });
      // Claim the undo before touching the actuator (as apply claims the action): of two concurrent
      // undos only one reverses the action. A claim older than UNDO_CLAIM_MS (a crashed worker) lapses.
      if (record.undoStartedAt !== undefined && Date.parse(record.undoStartedAt) + UNDO_CLAIM_MS > clock.now().getTime()) {
        throw new VigilError("VIGIL_CONFLICT", `action ${actionId} is being undone by ${record.undoStartedBy ?? "?"} since ${record.undoStartedAt}; look at it again when that is finished`, { field: "actionId" });
      }
      const startedAt = iso();
      const claimed: ActionRecord = { ...record, undoStartedBy: actor.id, undoStartedAt: startedAt };
      try {
        await storage.putDocs([{ collection: ACTIONS_COLLECTION, id: actionId, value: claimed, expectVersion: version }], startedAt);
      } catch (error) {
        if (error instanceof VigilError && error.code === "VIGIL_CONFLICT") throw new VigilError("VIGIL_CONFLICT", `action ${actionId} changed while its undo started (undone by someone else meanwhile?); look at it again`, { field: "actionId" });
        throw error;
      }
      let undoResult: ActionResult;
      try {
        undoResult = await actuator.undo(record.plan, record.result);
      } catch (error) {
        undoResult = { actionId, status: "failed", at: iso(), error: error instanceof Error ? error.message : String(error) };
      }
      const at = iso();
      const done = undoResult.status === "undone";
      const { undoStartedBy: _by, undoStartedAt: _at, ...settled } = record;
      const next: ActionRecord = { ...settled, undoResult, updatedAt: at, ...(done ? { status: "undone" as const, undoneBy: actor.id, undoneAt: at } : {}) };
      const saved = await settle(next, version + 1, { actor: actor.id, note: `undo ${undoResult.status}${reason ? `: ${reason}` : ""}` });
      await storage.appendAudit([{ at, actor: actor.id, action: "action.undo", target: actionId, detail: { status: undoResult.status, ...(reason ? { reason } : {}), ...(undoResult.error ? { error: undoResult.error } : {}) } }]);
      if (!done) throw new VigilError("VIGIL_ACTUATOR", `undo of ${actionId} ${undoResult.status}: ${undoResult.error ?? "no reason given"}`, { field: "actionId" });
      return saved;
    },

    async getAction(id) {
      return (await storage.getDoc<ActionRecord>(ACTIONS_COLLECTION, id))?.value;
    },

    async listActions(query = {}) {
      const where: Record<string, string> = {};
      if (query.decisionId !== undefined) where["decisionId"] = query.decisionId;
      if (query.policy !== undefined) where["policy"] = query.policy;
      if (query.status !== undefined) where["status"] = query.status;
      // Ordered by createdAt, which never changes, so paging skips nothing; act-<hash> ids say nothing of time.
      return listDocsByTime<ActionRecord>(storage, ACTIONS_COLLECTION, {
        where, order: "newest", timeOf: (doc) => doc.value.createdAt, cursorField: "cursor",
        ...(query.limit === undefined ? {} : { limit: query.limit }), ...(query.after === undefined ? {} : { after: query.after }),
      });
    },

    killSwitch: {
      state: () => readKillSwitch(storage),
      set: (on, actor, reason) => setKillSwitch(storage, on, actor, iso(), reason),
    },

    promote: (policy, actor, promoteOptions = {}) => promotePolicy(storage, policy, actor, iso(), promoteOptions),

    demote: (policy, actor, reason) => demotePolicy(storage, policy, actor, iso(), reason),

    async promotion(policy) {
      return (await readPromotions(storage, [policy])).get(policy);
    },

    budgets: (policy) => budgetUsage(storage, scopes(policy), clock.now().getTime()),
  };
  return executor;
}

