/** Enforcement tiers, weakest first. A decision's tier says what Vigil does about a finding. */
export type Tier = "observe" | "notify" | "approve" | "block" | "remediate";

export const tiers: readonly Tier[] = ["observe", "notify", "approve", "block", "remediate"];

/** Position of a tier in `tiers` (observe = 0 ... remediate = 4). */
export function tierRank(tier: Tier): number {
  return tiers.indexOf(tier);
}

export function clampTier(tier: Tier, floor: Tier, ceiling: Tier): Tier {
  const rank = Math.min(Math.max(tierRank(tier), tierRank(floor)), tierRank(ceiling));
  return tiers[rank] as Tier;
}

/** What a rule asks for when it is violated (Kyverno: Enforce = deny, Audit = warn). */
export type RuleMode = "deny" | "warn" | "audit";

export type Severity = "info" | "low" | "medium" | "high" | "critical";

export const severities: readonly Severity[] = ["info", "low", "medium", "high", "critical"];

export type PolicyLanguage = "vigil" | "kyverno" | "vap" | "kyverno-cel" | "cedar";

/** An adaptive enforcement rule: when the CEL condition holds, use this tier (within floor/ceiling). */
export interface AdaptiveRule {
  readonly when: string;
  readonly tier: Tier;
  readonly reason?: string;
}

/** How a policy's violations are enforced (issue: adaptive enforcement). */
export interface EnforcementSpec {
  /** Tier when nothing else applies. Defaults from the rule mode: deny→block, warn→notify, audit→observe. */
  readonly tier?: Tier;
  readonly floor?: Tier;
  readonly ceiling?: Tier;
  readonly adaptive?: readonly AdaptiveRule[];
  /** Below this confidence (0..1) the agent asks a person (`approve`) instead of acting. */
  readonly minConfidence?: number;
  /** `shadow`: evaluated and recorded, never enforced. */
  readonly mode?: "enforce" | "shadow";
  /** Actions are planned and recorded but not applied until a person promotes the policy. */
  readonly dryRun?: boolean;
  /** Tier applied when an escalation ladder runs out without an answer. */
  readonly safeDefault?: Tier;
}

/** A reference to an action the agent runtime may take for a violation. */
export interface RemediationRef {
  /** Actuator kind, e.g. `aws.s3.block-public-access`, `kubernetes.scale-to-zero`, `webhook`. */
  readonly action: string;
  /** Parameters; string values may hold `{{ cel }}` templates rendered against the finding's context. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Target entity expression (CEL); defaults to the event's subject. */
  readonly target?: string;
  /**
   * The target object's labels as the policy read them, when the target is not the event's
   * subject and so has no entity in the context (a Kyverno mutate-existing target): the
   * executor's protection guardrail (`act.protected` labels) reads them.
   */
  readonly targetLabels?: Readonly<Record<string, string>>;
}

export interface EscalationLevel {
  readonly notify: readonly string[];
  /** ISO-8601 duration (`PT30M`) or Go-style (`30m`, `4h`). */
  readonly after: string;
}

/** What every compiled policy tells about itself. */
export interface PolicyMeta {
  readonly name: string;
  readonly language: PolicyLanguage;
  /** Content hash of the policy source: changes whenever the policy changes. */
  readonly revision: string;
  readonly description?: string;
  readonly owner?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Where it came from: `file.yaml` (document index) — for error messages. */
  readonly source?: string;
  /** Event types this policy applies to (globs allowed); empty = all. */
  readonly on: readonly string[];
  readonly enforcement?: EnforcementSpec;
  readonly remediation?: readonly RemediationRef[];
  readonly escalation?: readonly EscalationLevel[];
  /**
   * Kubernetes admission: what an evaluation error of this policy answers — `Fail` denies the
   * request, `Ignore` allows it with a warning (Kyverno and VAP `spec.failurePolicy`). Absent: the
   * webhook's `admission.failurePolicy` decides.
   */
  readonly failurePolicy?: "Fail" | "Ignore";
}

export interface IndexKey {
  /** Dotted path from the evaluation root, e.g. `resource.kind`, `input.action`. */
  readonly path: string;
  /** The policy can match only when the value at path is one of these (strings, numbers, booleans). */
  readonly values: readonly (string | number | boolean)[];
  /**
   * Set when an absent value does not rule the policy out: its `match` is not true then, but may
   * fail with an error the policy reports (an operand before this constraint, or the path's own
   * `a["b"]` step on a list, can fail otherwise, and CEL's `&&` raises its first error). Only a
   * present value outside `values` rules the policy out. Unset: absent rules it out as well.
   */
  readonly absentUndecided?: boolean;
}

export interface EvaluateOptions {
  /** Include `pass` findings and full traces (explain mode). */
  readonly includePasses?: boolean;
  /** Cost budget override for this evaluation (CEL steps). */
  readonly costLimit?: number;
}
