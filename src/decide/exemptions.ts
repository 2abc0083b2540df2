/**
 * Exceptions and overrides, MATCHED here so that every path that decides — the event pipeline,
 * the admission webhook, replay, the background scan — applies them the same way (they all call
 * `applyExemptions`, directly or through the decider). Creating, revoking and listing them, with
 * justification, ticket, expiry and who, lives in src/review; the data reaches decide as values.
 *
 * An excepted or overridden violation becomes a `skip` finding whose `skipReason` names the
 * exception or override; its trace gains an `exception` step. Errors and passes are never touched.
 */
import type { Context } from "../core/context.js";
import type { Entity } from "../core/entity.js";
import type { Finding } from "../core/finding.js";
import { severities, type Tier } from "../core/policy.js";
import type { Override, PolicyException } from "../core/review.js";
import type { ConditionCache, ConditionOutcome, PolicyLookup } from "./conditions.js";
import { activationForPolicy, describeResult } from "./conditions.js";
import { tagMap } from "./risk.js";

export interface AppliedExemption {
  readonly kind: "exception" | "override";
  readonly id: string;
  readonly policy: string;
  readonly rule: string;
  /** The explanation line, e.g. "allowed by exception EX-12: SCC 2021/914 transfer, expires ...". */
  readonly text: string;
  /** Overrides: the tier the decision is recorded at instead (at least), when the override names one. */
  readonly tier?: Tier;
  /** Overrides of scope `once`: the caller marks them used after recording the decision. */
  readonly once?: boolean;
}

export interface ExemptionInput {
  readonly exceptions?: readonly PolicyException[];
  readonly overrides?: readonly Override[];
}

export interface ExemptionProblem {
  readonly id: string;
  readonly reason: string;
}

export interface ExemptionResult {
  readonly findings: readonly Finding[];
  readonly applied: readonly AppliedExemption[];
  /**
   * Exceptions whose `when` failed to evaluate or gave no boolean (they did not apply:
   * enforcement continues); `reason` completes "exception <id> not applied: …".
   */
  readonly problems: readonly ExemptionProblem[];
}

const globCache = new Map<string, RegExp>();

/** `*` matches any run of characters (including none); everything else is literal. */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes("*")) return pattern === value;
  let regex = globCache.get(pattern);
  if (regex === undefined) {
    regex = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s");
    if (globCache.size > 5000) globCache.clear();
    globCache.set(pattern, regex);
  }
  return regex.test(value);
}

function ms(time: string | undefined): number {
  return time === undefined ? Number.NaN : Date.parse(time);
}

/** True while the exception is in force at `now` (not revoked, not expired). */
export function exceptionActive(exception: PolicyException, now: string): boolean {
  const t = Date.parse(now);
  // A revocation time that does not parse counts as revoked (fail closed, like an unparsable expiry).
  if (exception.revokedAt !== undefined && !(ms(exception.revokedAt) > t)) return false;
  const expires = ms(exception.expiresAt);
  return Number.isFinite(expires) && expires > t;
}

/** How long a `once` override stored without `until` (before once overrides got one) stays usable: review's default maxOverrideDays. */
const ONCE_OVERRIDE_DEFAULT_MS = 7 * 86_400_000;

/**
 * True while the override can apply at `now`: confirmed, not yet revoked at `now`, and before its
 * `until` — for `once` also unused. A `once` override's `until` is its creation plus review's
 * `maxOverrideDays` (set when created); one stored without `until` ends 7 days after creation.
 * An `until` that does not parse counts as ended (fail closed).
 */
export function overrideActive(override: Override, now: string): boolean {
  const t = Date.parse(now);
  // Revoked from `revokedAt` on (a replay of events before it still sees the override); an unparsable time counts as revoked.
  if (override.revokedAt !== undefined && !(ms(override.revokedAt) > t)) return false;
  if (override.confirmationRequired === true && override.secondBy === undefined) return false;
  if (ms(override.at) > t) return false;
  if (override.scope === "once" && override.used === true) return false;
  const until = override.scope === "once" && override.until === undefined ? ms(override.at) + ONCE_OVERRIDE_DEFAULT_MS : ms(override.until);
  return Number.isFinite(until) && until > t;
}

function record(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function names(entity: Entity, id: string): boolean {
  return entity.id === id || `${entity.kind}/${entity.id}` === id;
}

/** The entity of the context with that id (or `kind/id`); the `resource` role first, then the others in order. */
function entityNamed(ctx: Context, id: string, skipPrincipal: boolean): Entity | undefined {
  const resource = ctx.entities["resource"];
  if (resource !== undefined && names(resource, id)) return resource;
  for (const role in ctx.entities) {
    if (role === "resource" || (skipPrincipal && role === "principal")) continue;
    const entity = ctx.entities[role];
    if (entity !== undefined && names(entity, id)) return entity;
  }
  return undefined;
}

/**
 * The entity a finding is about, whose labels / tags a `label:` / `tag:` selector reads:
 * - a finding that names its own resource (`finding.resource` set and not the event's subject):
 *   the context entity with that id or `kind/id` (none: nothing is read);
 * - otherwise the entity in role `resource`; without one, the entity (not the principal) whose id
 *   or `kind/id` is the event's subject.
 * The requester (role `principal`) is read only when a finding names it as its resource: a
 * requester's labels never exempt what it acts on. Undefined when there is no such entity.
 */
export function findingEntity(ctx: Context, finding: Finding): Entity | undefined {
  const subject = ctx.event.subject;
  if (finding.resource !== undefined && finding.resource !== subject) return entityNamed(ctx, finding.resource, false);
  const resource = ctx.entities["resource"];
  if (resource !== undefined) return resource;
  return subject === undefined ? undefined : entityNamed(ctx, subject, true);
}

/**
 * A subject selector: `label:key=value` / `tag:key=value` match when the entity the finding is
 * about (`findingEntity`) has that pair in its `attrs.labels` / `attrs.tags` (value may be a
 * glob); anything else is a glob over the event's subject and the finding's resource.
 */
export function subjectSelectorMatches(selector: string, ctx: Context, finding: Finding): boolean {
  const selectorMatch = /^(label|tag):([^=]+)=(.*)$/.exec(selector);
  if (selectorMatch !== null) {
    const field = selectorMatch[1] === "label" ? "labels" : "tags";
    const key = selectorMatch[2] as string;
    const wanted = selectorMatch[3] as string;
    const attrs = findingEntity(ctx, finding)?.attrs;
    const map = field === "tags" ? tagMap(attrs?.["tags"]) : record(attrs?.["labels"]);
    // Own keys only: "constructor" or "__proto__" is not a label every map has.
    const value = map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
    return value !== undefined && value !== null && globMatch(wanted, String(value));
  }
  const subject = ctx.event.subject;
  return (subject !== undefined && globMatch(selector, subject)) || (finding.resource !== undefined && globMatch(selector, finding.resource));
}

function describeException(exception: PolicyException): string {
  const why = exception.legalBasis ? `${exception.legalBasis} ${exception.justification}` : exception.justification;
  return `allowed by exception ${exception.id}: ${why}${exception.ticket ? ` (${exception.ticket})` : ""}, expires ${exception.expiresAt}`;
}

function describeOverride(override: Override): string {
  const scope = override.scope === "once" ? "once" : `until ${override.until ?? "?"}`;
  const who = override.secondBy ? `${override.by} and ${override.secondBy}` : override.by;
  return `allowed by override ${override.id} (${scope}) from ${who}: ${override.reason}`;
}

/**
 * Applies exceptions, then overrides, to the violations of one evaluation. Pure apart from the
 * condition cache; never throws. Exceptions and overrides not active at `ctx.now` are ignored,
 * so an expired exception stops applying on its own.
 */
export function applyExemptions(ctx: Context, findings: readonly Finding[], input: ExemptionInput, conditions: ConditionCache, policy?: PolicyLookup): ExemptionResult {
  const none: ExemptionResult = { findings, applied: [], problems: [] };
  // Most evaluations have no violation: decide that before looking at any exception.
  if ((input.exceptions === undefined || input.exceptions.length === 0) && (input.overrides === undefined || input.overrides.length === 0)) return none;
  if (!findings.some((f) => f.effect === "violation")) return none;
  const nowMs = Date.parse(ctx.now);
  const exceptions = input.exceptions === undefined || input.exceptions.length === 0 ? undefined : prepareExceptions(input.exceptions);
  const overrides = (input.overrides ?? []).filter((o) => overrideActive(o, ctx.now));
  if (exceptions === undefined && overrides.length === 0) return none;
  const applied: AppliedExemption[] = [];
  const problems: ExemptionProblem[] = [];
  const out: Finding[] = [];
  for (const finding of findings) {
    if (finding.effect !== "violation") { out.push(finding); continue; }
    const exception = exceptions === undefined ? undefined : candidates(exceptions, finding.policy)
      .find((p) => p.expiresMs > nowMs && p.revokedMs > nowMs && exceptionMatches(p.exception, ctx, finding, conditions, policy, problems))?.exception;
    if (exception !== undefined) {
      const text = describeException(exception);
      applied.push({ kind: "exception", id: exception.id, policy: finding.policy, rule: finding.rule, text });
      out.push(exempt(finding, text, exception.id));
      continue;
    }
    const override = overrides.find((o) => o.policy === finding.policy && (o.subject === undefined || o.subject === ctx.event.subject || o.subject === finding.resource)
      && (o.severity === undefined || severities.indexOf(finding.severity) <= severities.indexOf(o.severity)));
    if (override !== undefined) {
      const text = describeOverride(override);
      applied.push({ kind: "override", id: override.id, policy: finding.policy, rule: finding.rule, text, ...(override.tier ? { tier: override.tier } : {}), ...(override.scope === "once" ? { once: true } : {}) });
      out.push(exempt(finding, text, override.id));
      continue;
    }
    out.push(finding);
  }
  return { findings: out, applied, problems };
}

interface PreparedException {
  readonly exception: PolicyException;
  readonly index: number;
  /** NaN (never in force) when the expiry does not parse. */
  readonly expiresMs: number;
  /** Infinity when not revoked; -Infinity when the revocation time does not parse (revoked: fail closed). */
  readonly revokedMs: number;
}

interface PreparedExceptions {
  readonly byPolicy: ReadonlyMap<string, readonly PreparedException[]>;
  readonly globbed: readonly PreparedException[];
}

/** Per exception list (the same array is handed in on every decision while it is unchanged): parsed times and a policy index. */
const preparedLists = new WeakMap<readonly PolicyException[], PreparedExceptions>();

function prepareExceptions(list: readonly PolicyException[]): PreparedExceptions {
  const known = preparedLists.get(list);
  if (known !== undefined) return known;
  const byPolicy = new Map<string, PreparedException[]>();
  const globbed: PreparedException[] = [];
  list.forEach((exception, index) => {
    const prepared: PreparedException = { exception, index, expiresMs: ms(exception.expiresAt), revokedMs: revokedMs(exception.revokedAt) };
    if (exception.policies.some((p) => p.includes("*"))) { globbed.push(prepared); return; }
    for (const name of new Set(exception.policies)) byPolicy.set(name, [...(byPolicy.get(name) ?? []), prepared]);
  });
  const result = { byPolicy, globbed };
  preparedLists.set(list, result);
  return result;
}

function revokedMs(revokedAt: string | undefined): number {
  if (revokedAt === undefined) return Number.POSITIVE_INFINITY;
  const at = Date.parse(revokedAt);
  return Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at;
}

/** Exceptions whose policy patterns match, in list order. */
function candidates(prepared: PreparedExceptions, policy: string): readonly PreparedException[] {
  const exact = prepared.byPolicy.get(policy) ?? [];
  if (prepared.globbed.length === 0) return exact;
  const matched = prepared.globbed.filter((p) => p.exception.policies.some((pattern) => globMatch(pattern, policy)));
  if (matched.length === 0) return exact;
  return [...exact, ...matched].sort((a, b) => a.index - b.index);
}

function exempt(finding: Finding, text: string, id: string): Finding {
  return {
    ...finding,
    effect: "skip",
    skipReason: text,
    trace: [...finding.trace, { kind: "exception", expr: id, value: true }],
  };
}

function exceptionMatches(exception: PolicyException, ctx: Context, finding: Finding, conditions: ConditionCache, policy: PolicyLookup | undefined, problems: ExemptionProblem[]): boolean {
  if (!exception.policies.some((p) => globMatch(p, finding.policy))) return false;
  if (exception.rules !== undefined && exception.rules.length > 0 && !exception.rules.some((r) => globMatch(r, finding.rule))) return false;
  if (exception.subjects !== undefined && exception.subjects.length > 0 && !exception.subjects.some((s) => subjectSelectorMatches(s, ctx, finding))) return false;
  if (exception.when !== undefined && exception.when.trim() !== "") {
    const activation = activationForPolicy(policy?.(finding.policy), ctx, [exception.when]);
    const outcome = conditions.evaluate(exception.when, `exception ${exception.id} when`, activation);
    if (!outcome.ok) {
      if (!problems.some((p) => p.id === exception.id)) problems.push({ id: exception.id, reason: whenProblem(exception.when, outcome) });
      return false;
    }
    return outcome.value;
  }
  return true;
}

/**
 * Why a `when` did not apply. A non-boolean result (a `when` whose type only evaluation knows,
 * such as `resource.name`) gets its value and the fix, since the exception can then never apply.
 */
function whenProblem(when: string, outcome: Extract<ConditionOutcome, { ok: false }>): string {
  if (outcome.nonBoolean === undefined) return `its condition failed (${outcome.error})`;
  const value = outcome.nonBoolean.value;
  const example = (typeof value === "string" || typeof value === "number") && when.length <= 80 ? `write a comparison, e.g. ${when} == ${JSON.stringify(value)}` : "write a comparison that is true or false";
  return `its when condition gave ${describeResult(value)}, not true or false; ${example}`;
}
