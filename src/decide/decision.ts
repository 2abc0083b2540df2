/**
 * The first decision builder: findings → DecisionDraft (verdict, tier, risk, explanation).
 * Adaptive enforcement (enforcement.adaptive, minConfidence), guardrails and planned actions come
 * later in decide/; this version applies the static rules below.
 *
 * - verdict: `deny` iff some violation has mode `deny` and its policy is not in shadow mode.
 * - tier: per violation, the policy's `enforcement.tier` when given, else deny→block,
 *   warn→notify, audit→observe; clamped to the policy's floor/ceiling; shadow-mode policies →
 *   observe. An `error` finding → notify (someone must learn that a policy is broken). The
 *   decision's tier is the highest of these, `observe` when there are none.
 * - risk: additive factors, clamped to [0, 1]: one per violation (severity weight × mode weight),
 *   a small one per error, and one for the subject's recent violations when it has any.
 */
import type { Context } from "../core/context.js";
import type { DecisionDraft, Explanation, ExplanationStep, Risk, Verdict } from "../core/decision.js";
import type { Factor } from "../core/entity.js";
import type { Finding } from "../core/finding.js";
import { clampTier, tierRank, type PolicyMeta, type RuleMode, type Severity, type Tier } from "../core/policy.js";
import { explanationSteps } from "../policy/explain.js";

export interface BuildDecisionOptions {
  readonly id: string;
  /** RFC 3339 time of the decision, from the injected clock. */
  readonly now: string;
  /** False for admission dry-runs, shadow evaluation and replay. */
  readonly enforced: boolean;
  /** Metadata of a policy by name (e.g. `name => policySet.get(name)?.meta`), for enforcement settings. */
  readonly policy?: (name: string) => PolicyMeta | undefined;
  /** The input as it should be recorded (already masked by the caller). */
  readonly input?: unknown;
  readonly labels?: Readonly<Record<string, string>>;
}

export const severityWeight: Readonly<Record<Severity, number>> = { info: 0.02, low: 0.1, medium: 0.25, high: 0.45, critical: 0.7 };
export const modeWeight: Readonly<Record<RuleMode, number>> = { deny: 1, warn: 0.7, audit: 0.4 };
/** The weights of buildDecision's risk (decider's defaults: risk.ts defaultRiskWeights). */
const STATIC_WEIGHTS: FindingFactorWeights = { error: 0.05, historyPerLog2: 0.05, historyMax: 0.15 };

const defaultTier: Readonly<Record<RuleMode, Tier>> = { deny: "block", warn: "notify", audit: "observe" };

/** Risk figures are rounded to 4 decimals. */
export function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

function isShadow(meta: PolicyMeta | undefined): boolean {
  return meta?.enforcement?.mode === "shadow";
}

/** The tier one finding asks for, with the reason; undefined for passes and skips. */
export function findingTier(finding: Finding, meta: PolicyMeta | undefined): { tier: Tier; reason: string } | undefined {
  const id = `${finding.policy}/${finding.rule}`;
  if (finding.effect !== "violation" && finding.effect !== "error") return undefined;
  if (isShadow(meta)) return { tier: "observe", reason: `${id}: policy ${finding.policy} is in shadow mode (recorded, not enforced)` };
  if (finding.effect === "error") return { tier: "notify", reason: `${id} could not be evaluated: notify so the policy gets fixed` };
  const enforcement = meta?.enforcement;
  const base = enforcement?.tier ?? defaultTier[finding.mode];
  const tier = clampTier(base, enforcement?.floor ?? "observe", enforcement?.ceiling ?? "remediate");
  const why = enforcement?.tier !== undefined ? `enforcement.tier ${enforcement.tier}` : `${finding.mode} rule → ${base}`;
  return { tier, reason: `${id}: ${why}${tier === base ? "" : `, clamped to ${tier}`}` };
}

export interface FindingFactorWeights {
  /** Contribution of a policy that could not be evaluated. */
  readonly error: number;
  /** The subject's recent violations: this much per doubling of (1 + violations in 30 days)... */
  readonly historyPerLog2: number;
  /** ...and at most this much. */
  readonly historyMax: number;
}

/**
 * The risk factors of the findings themselves, in this order: one per violation (severity weight
 * × mode weight), one per error, then the subject's recent violations when some finding is a
 * violation. Both risk scores (scoreRisk here, scoreDecisionRisk in risk.ts) start from these.
 */
export function findingFactors(ctx: Context, findings: readonly Finding[], weights: FindingFactorWeights): { readonly factors: Factor[]; readonly violations: number } {
  const factors: Factor[] = [];
  let violations = 0;
  for (const f of findings) {
    if (f.effect === "violation") {
      violations++;
      factors.push({ name: `${f.policy}/${f.rule}`, contribution: round(severityWeight[f.severity] * modeWeight[f.mode]), detail: `${f.severity} ${f.mode} violation: ${f.message}` });
    } else if (f.effect === "error") {
      factors.push({ name: `${f.policy}/${f.rule} (error)`, contribution: round(weights.error), detail: "policy could not be evaluated" });
    }
  }
  const recent = ctx.history?.violations30d ?? 0;
  if (violations > 0 && recent > 0) {
    factors.push({ name: "history.violations30d", contribution: round(Math.min(weights.historyMax, weights.historyPerLog2 * Math.log2(1 + recent))), detail: `${recent} violation(s) in the last 30 days` });
  }
  return { factors, violations };
}

/** Severity-based risk with additive, named factors (contributions add up to the score before clamping). */
export function scoreRisk(ctx: Context, findings: readonly Finding[]): Risk {
  const { factors } = findingFactors(ctx, findings, STATIC_WEIGHTS);
  const sum = factors.reduce((total, f) => total + f.contribution, 0);
  return { score: round(Math.min(1, Math.max(0, sum))), factors };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** An exception or override that turned a violation into a pass (decider), for the summary. */
export interface SummaryExemption { readonly policy: string; readonly rule: string; readonly text: string }

/** The explanation's one-line summary. `exempted`: what exceptions/overrides let through (decider). */
/** The first finding of a list, and how many more (module level: no closure per summary). */
function first(list: readonly Finding[]): string {
  const f = list[0] as Finding;
  return `${f.policy}/${f.rule}: ${f.message}${list.length > 1 ? ` (and ${list.length - 1} more)` : ""}`;
}

export function summarize(verdict: Verdict, tier: Tier, findings: readonly Finding[], denying: readonly Finding[], evaluated: number, exempted: readonly SummaryExemption[] = []): string {
  const violations = findings.filter((f) => f.effect === "violation");
  const errors = findings.filter((f) => f.effect === "error");
  if (verdict === "deny") return `Denied (${tier}) by ${plural(denying.length, "deny violation")}: ${first(denying)}.`;
  if (violations.length > 0) return `Allowed (${tier}) with ${plural(violations.length, "violation")} that ${violations.length === 1 ? "does" : "do"} not deny: ${first(violations)}.`;
  if (errors.length > 0) return `Allowed (${tier}), but ${plural(errors.length, "policy error")}: ${first(errors)}.`;
  if (exempted.length === 0) exempted = policyExemptions(findings);
  if (exempted.length > 0) {
    const e = exempted[0] as SummaryExemption;
    // An override may record the allowed decision at a tier (notify): the summary says so, as others do.
    return `Allowed${tier === "observe" ? "" : ` (${tier})`}: ${e.policy}/${e.rule} ${e.text}${exempted.length > 1 ? ` (and ${exempted.length - 1} more)` : ""}.`;
  }
  return `Allowed: ${evaluated} ${evaluated === 1 ? "policy" : "policies"} evaluated, none violated.`;
}

/**
 * The exception a policy language applied itself (a Kyverno PolicyException): a skip finding
 * whose trace has an `exception` step named `PolicyException <namespace>/<name>`.
 */
function policyExceptionOf(finding: Finding): string | undefined {
  if (finding.effect !== "skip") return undefined;
  for (const step of finding.trace) if (step.kind === "exception" && step.expr.startsWith("PolicyException ")) return step.expr.slice("PolicyException ".length);
  return undefined;
}

function policyExemptions(findings: readonly Finding[]): SummaryExemption[] {
  const out: SummaryExemption[] = [];
  for (const f of findings) if (policyExceptionOf(f) !== undefined) out.push({ policy: f.policy, rule: f.rule, text: f.skipReason ?? f.message });
  return out;
}

/** Explanation steps of the findings: each violation's steps (policy/explain), a note per error, a step per rule a policy exception let through. */
export function findingSteps(findings: readonly Finding[]): ExplanationStep[] {
  const steps: ExplanationStep[] = [];
  for (const f of findings) {
    if (f.effect === "violation") steps.push(...explanationSteps(f));
    else if (f.effect === "error") steps.push({ kind: "note", text: `${f.policy}/${f.rule} could not be evaluated: ${f.error?.message ?? f.message}`, policy: f.policy, rule: f.rule });
    else if (f.effect === "skip") {
      const exception = policyExceptionOf(f);
      if (exception !== undefined) steps.push({ kind: "exception", text: `${f.policy}/${f.rule} ${f.skipReason ?? f.message}`, policy: f.policy, rule: f.rule, ref: exception });
    }
  }
  return steps;
}

/** The explanation step of one risk factor (`name: +0.45 (detail)`; negative contributions keep their sign). */
export function factorStep(factor: Factor): ExplanationStep {
  return { kind: "factor", text: `${factor.name}: ${factor.contribution >= 0 ? "+" : ""}${factor.contribution}${factor.detail === undefined ? "" : ` (${factor.detail})`}`, contribution: factor.contribution };
}

/** What a draft records besides its parts: the options' id, time, enforcement, input and labels. */
export type DraftOptions = Pick<BuildDecisionOptions, "id" | "now" | "enforced" | "input" | "labels">;

/** Assembles the draft (both builders end here): the event's id, type and subject, the parts, the options. */
export function assembleDraft(ctx: Context, parts: Pick<DecisionDraft, "verdict" | "tier" | "risk" | "findings" | "explanation" | "policyRevisions">, options: DraftOptions): DecisionDraft {
  return {
    id: options.id,
    eventId: ctx.event.id,
    eventType: ctx.event.type,
    time: options.now,
    verdict: parts.verdict,
    tier: parts.tier,
    risk: parts.risk,
    findings: parts.findings,
    actions: [],
    explanation: parts.explanation,
    policyRevisions: parts.policyRevisions,
    enforced: options.enforced,
    // Optional fields last: properties after a spread take V8's slow path (src/core/objects.ts).
    ...(ctx.event.subject === undefined ? {} : { subject: ctx.event.subject }),
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.labels === undefined ? {} : { labels: options.labels }),
  };
}

/** Builds the decision for one evaluation. Pure: same inputs, same draft. */
export function buildDecision(ctx: Context, findings: readonly Finding[], policyRevisions: Readonly<Record<string, string>>, options: BuildDecisionOptions): DecisionDraft {
  const meta = (name: string): PolicyMeta | undefined => options.policy?.(name);
  const denying = findings.filter((f) => f.effect === "violation" && f.mode === "deny" && !isShadow(meta(f.policy)));
  const verdict: Verdict = denying.length > 0 ? "deny" : "allow";
  let tier: Tier = "observe";
  const tierSteps: ExplanationStep[] = [];
  for (const f of findings) {
    const asked = findingTier(f, meta(f.policy));
    if (asked === undefined) continue;
    if (tierRank(asked.tier) > tierRank(tier)) tier = asked.tier;
    tierSteps.push({ kind: "tier", text: `${asked.tier}: ${asked.reason}`, policy: f.policy, rule: f.rule, tier: asked.tier });
  }
  const risk = scoreRisk(ctx, findings);
  const steps = findingSteps(findings);
  for (const factor of risk.factors) steps.push(factorStep(factor));
  steps.push(...tierSteps);
  const explanation: Explanation = { summary: summarize(verdict, tier, findings, denying, Object.keys(policyRevisions).length), steps };
  return assembleDraft(ctx, { verdict, tier, risk, findings, explanation, policyRevisions }, options);
}
