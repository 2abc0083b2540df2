/**
 * What the review modules share: storage, clock, executor, notifier, policy lookup and settings.
 */
import { VigilError } from "../core/errors.js";
import { isVigilIdentity } from "../core/identity.js";
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

/**
 * The agent never edits its own exceptions, nor stands in for a person's judgement: an actor of
 * Vigil's own (`vigil:*`, e.g. vigil:learner, vigil:escalation) may not create, import or revoke
 * an exception, nor create, confirm or revoke an override, nor approve a review (it may apply a
 * policy's declared safe default, which its author decided). VIGIL_FORBIDDEN naming what was refused.
 */
export function refuseAgent(actor: { readonly id: string }, what: string): void {
  if (isVigilIdentity(actor.id)) {
    throw new VigilError("VIGIL_FORBIDDEN", `${actor.id} may not ${what}: Vigil never edits its own exceptions or overrides nor approves a review; a person does (the learner proposes exceptions, which a person accepts)`, { field: "actor.id" });
  }
}

export interface ReviewSettings {
  /** Two-person rule: which severities need a second, different approver, and whether approvals (not only overrides) need one. */
  readonly twoPersonRule?: { readonly severities?: readonly Severity[]; readonly approvals?: boolean };
  /** Longest exception allowed, in days (default 90). */
  readonly maxExceptionDays?: number;
  /** Longest override window, in days (default 7); also how long an unused `once` override stays usable after its creation. */
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

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})$/;

/**
 * Milliseconds of an RFC 3339 time that carries its offset (`Z`, `+02:00`); NaN for anything else.
 * `Date.parse` alone reads `2025-06-30T00:00:00` in the server's time zone (and `Feb 30` as 2 March):
 * an expiry must mean the same instant on every machine.
 */
export function instantMs(text: string): number {
  const match = RFC3339.exec(text);
  if (match === null) return Number.NaN;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return Number.NaN;
  return Date.parse(text);
}
