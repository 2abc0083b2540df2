/**
 * Guardrail configuration and the static checks (no storage): the per-policy action allowlist,
 * protected entities, and which action kinds only notify. The stateful guardrails — kill switch,
 * promotion, blast-radius budgets — live in the executor and state.ts.
 */
import { entityKey, type Entity } from "../core/entity.js";
import { VigilError } from "../core/errors.js";
import { globMatch } from "../decide/exemptions.js";
import { tagMap } from "../decide/risk.js";
import { didYouMean } from "../policy/vigil/suggest.js";

export interface BudgetLimit {
  /** Actions applied (not dry-run) in the window before further ones need approval. */
  readonly max: number;
  /** Sliding window length in milliseconds. */
  readonly windowMs: number;
}

export interface ProtectedSpec {
  /** Entity labels or tags (`attrs.labels`, `attrs.tags`) that protect; value `*` = any value. Keys and values match ignoring case. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Globs over the target id (`arn:aws:s3:::payroll-*`, `prod/*`), matched ignoring case, also against the target entity's id and `kind/id` key, and over the ids of the objects the action's params name (touched.ts). */
  readonly names?: readonly string[];
}

export interface GuardrailConfig {
  /**
   * Per-policy action allowlist: policy name (glob) → action kinds (globs) it may run. When set,
   * an action not allowed by an entry matching its policy is blocked. Absent = every kind.
   */
  readonly allow?: Readonly<Record<string, readonly string[]>>;
  /** Never acted on. Default: label or tag `vigil.dev/protected=true` (kept when only `names` is given; `labels: {}` drops it). */
  readonly protected?: ProtectedSpec;
  /** Budgets; past one, further actions need approval. Defaults: 10/hour per policy, 50/hour in total. */
  readonly blastRadius?: {
    readonly perPolicy?: BudgetLimit;
    readonly global?: BudgetLimit;
    /** Per-policy budgets by exact policy name, replacing `perPolicy` for that policy. */
    readonly policies?: Readonly<Record<string, BudgetLimit>>;
  };
  /**
   * New policies act in dry-run until a person promotes them (default true). With false, only
   * policies that declare `enforcement.dryRun: true` wait for promotion.
   */
  readonly requirePromotion?: boolean;
  /** Kinds that only notify: they run at notify/approve/block tiers; other kinds only at remediate (approve: after approval). */
  readonly notificationKinds?: readonly string[];
}

export const PROTECTED_LABEL = "vigil.dev/protected";

export const defaultNotificationKinds: readonly string[] = ["webhook.post", "slack.message", "github.commit-status", "github.check-run", "github.pr-comment"];

export const defaultBudgets = {
  perPolicy: { max: 10, windowMs: 60 * 60 * 1000 },
  global: { max: 50, windowMs: 60 * 60 * 1000 },
} as const;

/** Checks a guardrail configuration; throws VigilError(VIGIL_BAD_CONFIG) naming the field. */
export function validateGuardrails(config: GuardrailConfig): void {
  const map = (value: unknown, field: string, what: string): void => {
    if (value !== undefined && record(value) === undefined) throw new VigilError("VIGIL_BAD_CONFIG", `${field} must be a map of ${what}, got ${JSON.stringify(value) ?? String(value)}`, { field });
  };
  /** Keys a section does not have (a misspelling, or a setting that does not exist) would be silently ignored. */
  const known = (value: unknown, field: string, keys: readonly string[]): void => {
    const entries = record(value);
    if (entries === undefined) return;
    for (const key of Object.keys(entries)) {
      if (!keys.includes(key)) throw new VigilError("VIGIL_BAD_CONFIG", `${field}.${key} is not a setting${didYouMean(key, keys)}; ${field} takes ${keys.join(", ")}`, { field: `${field}.${key}` });
    }
  };
  const limit = (value: BudgetLimit | undefined, field: string): void => {
    if (value === undefined) return;
    map(value, field, "max and windowMs");
    known(value, field, ["max", "windowMs"]);
    // The value as written (JSON): a quoted "5" must not read as the number 5 in the message.
    const shown = (v: unknown): string => JSON.stringify(v) ?? String(v);
    if (!Number.isInteger(value.max) || value.max < 0) throw new VigilError("VIGIL_BAD_CONFIG", `${field}.max must be a whole number ≥ 0 (unquoted, e.g. 10), got ${shown(value.max)}`, { field: `${field}.max` });
    if (!Number.isFinite(value.windowMs) || value.windowMs <= 0) throw new VigilError("VIGIL_BAD_CONFIG", `${field}.windowMs must be a positive number of milliseconds (unquoted, e.g. 3600000 for an hour), got ${shown(value.windowMs)}`, { field: `${field}.windowMs` });
  };
  known(config, "guardrails", ["allow", "protected", "blastRadius", "requirePromotion", "notificationKinds"]);
  map(config.allow, "guardrails.allow", "policy names (globs) to action kinds");
  map(config.blastRadius, "guardrails.blastRadius", "budgets (perPolicy, global, policies)");
  known(config.blastRadius, "guardrails.blastRadius", ["perPolicy", "global", "policies"]);
  map(config.blastRadius?.policies, "guardrails.blastRadius.policies", "policy names to budgets");
  limit(config.blastRadius?.perPolicy, "guardrails.blastRadius.perPolicy");
  limit(config.blastRadius?.global, "guardrails.blastRadius.global");
  for (const [name, value] of Object.entries(config.blastRadius?.policies ?? {})) limit(value, `guardrails.blastRadius.policies.${name}`);
  for (const [policy, kinds] of Object.entries(config.allow ?? {})) {
    if (!Array.isArray(kinds) || kinds.some((k) => typeof k !== "string" || k === "")) {
      throw new VigilError("VIGIL_BAD_CONFIG", `guardrails.allow.${policy} must be a list of action kinds (globs allowed), e.g. [aws.s3.block-public-access]`, { field: `guardrails.allow.${policy}` });
    }
  }
  // The protected spec is matched as strings at plan time: a YAML `true` or a single string
  // instead of a list would throw there, or be read character by character.
  map(config.protected, "guardrails.protected", "labels and names");
  known(config.protected, "guardrails.protected", ["labels", "names"]);
  map(config.protected?.labels, "guardrails.protected.labels", "label or tag keys to values (globs, `*` = any value)");
  for (const [key, value] of Object.entries(config.protected?.labels ?? {})) {
    if (typeof value !== "string") throw new VigilError("VIGIL_BAD_CONFIG", `guardrails.protected.labels.${key} must be a string (a glob; quote it in YAML: "true"), got ${JSON.stringify(value) ?? String(value)}`, { field: `guardrails.protected.labels.${key}` });
  }
  const names: unknown = config.protected?.names;
  if (names !== undefined) {
    if (!Array.isArray(names)) throw new VigilError("VIGIL_BAD_CONFIG", `guardrails.protected.names must be a list of globs over target ids, e.g. ["prod/*"], got ${JSON.stringify(names) ?? String(names)}`, { field: "guardrails.protected.names" });
    names.forEach((name: unknown, i) => {
      if (typeof name !== "string" || name === "") throw new VigilError("VIGIL_BAD_CONFIG", `guardrails.protected.names[${i}] must be a glob over target ids, got ${JSON.stringify(name) ?? String(name)}`, { field: `guardrails.protected.names[${i}]` });
    });
  }
  const kinds: unknown = config.notificationKinds;
  if (kinds !== undefined && (!Array.isArray(kinds) || kinds.some((k) => typeof k !== "string" || k === ""))) {
    throw new VigilError("VIGIL_BAD_CONFIG", `guardrails.notificationKinds must be a list of action kinds, e.g. [webhook.post, slack.message], got ${JSON.stringify(kinds) ?? String(kinds)}`, { field: "guardrails.notificationKinds" });
  }
  const promotion: unknown = config.requirePromotion;
  if (promotion !== undefined && typeof promotion !== "boolean") {
    throw new VigilError("VIGIL_BAD_CONFIG", `guardrails.requirePromotion must be true or false, got ${JSON.stringify(promotion) ?? String(promotion)}`, { field: "guardrails.requirePromotion" });
  }
}

/** Undefined when allowed; otherwise why not. */
export function allowlistVerdict(config: GuardrailConfig, policy: string, kind: string): string | undefined {
  if (config.allow === undefined) return undefined;
  for (const [pattern, kinds] of Object.entries(config.allow)) {
    if (globMatch(pattern, policy) && kinds.some((k) => globMatch(k, kind))) return undefined;
  }
  return `action ${kind} is not in the allowlist of policy ${policy} (guardrails.allow)`;
}

function record(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * The entity a target, or an object named in params, is now (e.g. read from the entity store), by
 * its kind and id: its labels and tags may protect it since its action was planned.
 */
export type CurrentEntityLookup = (target: { readonly kind: string; readonly id: string }) => Promise<Entity | undefined>;

/**
 * Undefined when the target may be acted on; otherwise why it is protected. `targetLabels` are
 * the target object's labels as a policy read them (a target with no entity), checked like an
 * entity's labels.
 */
export function protectionVerdict(config: GuardrailConfig, target: { readonly kind: string; readonly id: string }, entity: Entity | undefined, targetLabels?: Readonly<Record<string, string>>): string | undefined {
  // A policy may name the same entity by its id (`admin-ops`) or its key (`iam-user/admin-ops`):
  // a name protects whichever spelling it was written for.
  const known = target.kind !== "" && target.kind !== "subject";
  const why = protectionCause(config, [target.id, ...(known ? [entityKey(target)] : [])], entity, targetLabels);
  return why === undefined ? undefined : `target ${target.id} is protected (${why})`;
}

/**
 * Why an object is protected (`name matches …`, `tag …=…`), or undefined: a name glob matching one
 * of its `spellings` (or its entity's id or `kind/id` key), or a protected label or tag of its
 * entity, or of `labels` (the object's labels as a policy read them).
 */
export function protectionCause(config: GuardrailConfig, spellings: readonly string[], entity: Entity | undefined, labels?: Readonly<Record<string, string>>): string | undefined {
  // The default label stays unless `labels` is given (`labels: {}` turns it off): protecting some
  // names must not unprotect what carries vigil.dev/protected=true.
  const spec = { names: config.protected?.names ?? [], labels: config.protected?.labels ?? { [PROTECTED_LABEL]: "true" } };
  // Case is ignored throughout (fail safe): IAM user names and e-mail logins are case-insensitive,
  // and tag keys and values are free text (`Protected=True`, `TRUE`).
  const matches = (pattern: string, value: string): boolean => globMatch(pattern.toLowerCase(), value.toLowerCase());
  const all = new Set([...spellings, ...(entity ? [entity.id, entityKey(entity)] : [])]);
  for (const pattern of spec.names) {
    for (const spelling of all) if (matches(pattern, spelling)) return `name matches ${pattern}`;
  }
  const sources: [string, Readonly<Record<string, unknown>> | undefined][] = [
    ["label", entity ? record(entity.attrs["labels"]) : undefined],
    ["tag", entity ? tagMap(entity.attrs["tags"]) : undefined],
    ["label", labels],
  ];
  for (const [field, values] of sources) {
    if (values === undefined) continue;
    for (const [wantedKey, wanted] of Object.entries(spec.labels)) {
      for (const [key, value] of Object.entries(values)) {
        if (key.toLowerCase() !== wantedKey.toLowerCase() || value === undefined || value === null) continue;
        if (matches(wanted, String(value))) return `${field} ${key}=${String(value)}`;
      }
    }
  }
  return undefined;
}

/** The budget that applies to a policy. */
export function policyBudget(config: GuardrailConfig, policy: string): BudgetLimit {
  // Own keys only: a policy named `constructor` must not read Object's function (no max: unlimited).
  const policies = config.blastRadius?.policies;
  const own = policies !== undefined && Object.hasOwn(policies, policy) ? policies[policy] : undefined;
  return own ?? config.blastRadius?.perPolicy ?? defaultBudgets.perPolicy;
}

export function globalBudget(config: GuardrailConfig): BudgetLimit {
  return config.blastRadius?.global ?? defaultBudgets.global;
}
