/**
 * What the review modules share: storage, clock, executor, notifier, policy lookup and settings.
 */
import type { Clock, Storage } from "../core/ports.js";
import type { Severity } from "../core/policy.js";
import type { Executor } from "../act/executor.js";
import type { ConditionCache, PolicyLookup } from "../decide/conditions.js";
import type { Notifier } from "./notifier.js";

export const REVIEWS_COLLECTION = "reviews";
export const EXCEPTIONS_COLLECTION = "exceptions";
export const OVERRIDES_COLLECTION = "overrides";
export const FEEDBACK_COLLECTION = "feedback";

/** Who acts when nobody answered: the escalation ladder's safe default. */
export const ESCALATION_ACTOR = { id: "vigil:escalation", roles: ["approver"] } as const;

export interface ReviewSettings {
  /** Two-person rule: which severities need a second, different approver, and whether approvals (not only overrides) need one. */
  readonly twoPersonRule?: { readonly severities?: readonly Severity[]; readonly approvals?: boolean };
  /** Longest exception allowed, in days (default 90). */
  readonly maxExceptionDays?: number;
  /** Longest override window, in days (default 7). */
  readonly maxOverrideDays?: number;
  /** Who is told about a new review of a policy without an escalation ladder. */
  readonly defaultNotify?: readonly string[];
}

export interface ReviewDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly executor: Executor;
  readonly notifier: Notifier;
  readonly policy: PolicyLookup | undefined;
  readonly conditions: ConditionCache;
  readonly settings: ReviewSettings;
}

export function nowIso(deps: Pick<ReviewDeps, "clock">): string {
  return deps.clock.now().toISOString();
}

export function twoPersonSeverities(settings: ReviewSettings): readonly Severity[] {
  if (settings.twoPersonRule === undefined) return [];
  return settings.twoPersonRule.severities ?? ["high", "critical"];
}

/**
 * Whether two actor ids name the same person for the two-person rule: compared without case and
 * surrounding spaces (token names keep the case they were given: `Ann` and `ann` are one person).
 */
export function samePerson(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
