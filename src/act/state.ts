/**
 * The executor's persisted state: the global kill switch, per-policy promotion out of dry-run,
 * and the sliding-window blast-radius budgets. All of it lives in Storage documents, so it
 * survives a restart and is shared by every worker on the same store.
 */
import { VigilError } from "../core/errors.js";
import type { Storage } from "../core/ports.js";
import type { BudgetLimit } from "./guardrails.js";
import { ACT_STATE_COLLECTION, BUDGET_COLLECTION, KILL_SWITCH_ID, PROMOTIONS_COLLECTION, type KillSwitchState, type PromotionState } from "./records.js";

export async function readKillSwitch(storage: Storage): Promise<KillSwitchState> {
  const doc = await storage.getDoc<KillSwitchState>(ACT_STATE_COLLECTION, KILL_SWITCH_ID);
  return doc?.value ?? { on: false };
}

export async function writeKillSwitch(storage: Storage, state: KillSwitchState, at: string): Promise<void> {
  await storage.putDocs([{ collection: ACT_STATE_COLLECTION, id: KILL_SWITCH_ID, value: state }], at);
}

export async function readPromotions(storage: Storage, policies: readonly string[]): Promise<Map<string, PromotionState>> {
  const unique = [...new Set(policies)];
  if (unique.length === 0) return new Map();
  const docs = await storage.getDocs<PromotionState>(PROMOTIONS_COLLECTION, unique);
  return new Map(docs.map((d) => [d.id, d.value]));
}

export async function writePromotion(storage: Storage, state: PromotionState): Promise<void> {
  await storage.putDocs([{ collection: PROMOTIONS_COLLECTION, id: state.policy, value: state }], state.at);
}

interface BudgetDoc {
  /** Times (epoch ms) of the actions counted in the window, oldest first. */
  readonly times: readonly number[];
}

export interface BudgetScope {
  /** Document id: `global` or `policy:<name>`. */
  readonly id: string;
  readonly label: string;
  readonly limit: BudgetLimit;
}

export type BudgetOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const MAX_ATTEMPTS = 8;

/** A budget window as a person reads it: whole minutes in minutes (`60 min`), anything else in seconds (`30 s`, `90.5 s`). */
function windowText(windowMs: number): string {
  return windowMs % 60_000 === 0 ? `${windowMs / 60_000} min` : `${windowMs / 1000} s`;
}

/**
 * Takes one slot in every scope at `nowMs`, atomically (one versioned transaction), unless a scope
 * is full — then nothing is taken and the reason names the scope. `force` takes the slots even
 * past the limit (approved actions count, but are not held back).
 */
export async function reserveBudget(storage: Storage, scopes: readonly BudgetScope[], nowMs: number, at: string, force = false): Promise<BudgetOutcome> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const docs = await storage.getDocs<BudgetDoc>(BUDGET_COLLECTION, scopes.map((s) => s.id));
    const byId = new Map(docs.map((d) => [d.id, d]));
    const writes: { collection: string; id: string; value: BudgetDoc; expectVersion: number }[] = [];
    for (const scope of scopes) {
      const doc = byId.get(scope.id);
      const recent = (doc?.value.times ?? []).filter((t) => t > nowMs - scope.limit.windowMs);
      if (!force && recent.length >= scope.limit.max) {
        return { ok: false, reason: `blast radius: ${scope.label} already ran ${recent.length} action(s) in the last ${windowText(scope.limit.windowMs)} (budget ${scope.limit.max}); a person must approve more` };
      }
      writes.push({ collection: BUDGET_COLLECTION, id: scope.id, value: { times: [...recent, nowMs] }, expectVersion: doc?.version ?? 0 });
    }
    try {
      await storage.putDocs(writes, at);
      return { ok: true };
    } catch (error) {
      if (error instanceof VigilError && error.code === "VIGIL_CONFLICT") continue;
      throw error;
    }
  }
  throw new VigilError("VIGIL_CONFLICT", "blast-radius budget: too many concurrent writers; retry the action", { field: "budget" });
}

/**
 * Gives back the slot `reserveBudget` took at `nowMs` in every scope (one versioned transaction),
 * for an action stopped before its actuator was called (a kill switch turned on meanwhile): run
 * again later, it reserves anew and must count once.
 */
export async function releaseBudget(storage: Storage, scopes: readonly BudgetScope[], nowMs: number, at: string): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const docs = await storage.getDocs<BudgetDoc>(BUDGET_COLLECTION, scopes.map((s) => s.id));
    const writes = docs.flatMap((doc) => {
      const index = doc.value.times.lastIndexOf(nowMs);
      return index < 0 ? [] : [{ collection: BUDGET_COLLECTION, id: doc.id, value: { times: doc.value.times.filter((_, i) => i !== index) }, expectVersion: doc.version }];
    });
    if (writes.length === 0) return;
    try {
      await storage.putDocs(writes, at);
      return;
    } catch (error) {
      if (error instanceof VigilError && error.code === "VIGIL_CONFLICT") continue;
      throw error;
    }
  }
  throw new VigilError("VIGIL_CONFLICT", "blast-radius budget: too many concurrent writers; the slot of an action that did not run was not given back", { field: "budget" });
}

/** Counts in the window per scope, for status pages. */
export async function budgetUsage(storage: Storage, scopes: readonly BudgetScope[], nowMs: number): Promise<{ id: string; used: number; max: number; windowMs: number }[]> {
  const docs = await storage.getDocs<BudgetDoc>(BUDGET_COLLECTION, scopes.map((s) => s.id));
  const byId = new Map(docs.map((d) => [d.id, d.value]));
  return scopes.map((s) => ({ id: s.id, used: (byId.get(s.id)?.times ?? []).filter((t) => t > nowMs - s.limit.windowMs).length, max: s.limit.max, windowMs: s.limit.windowMs }));
}
