/**
 * The decider: findings + context → DecisionDraft, with exceptions and overrides applied, a
 * context-aware risk score, adaptive tiers and an explanation of every step. With no context
 * (no signals, entities, history, learning; normal posture) and no enforcement settings it gives
 * buildDecision's verdict, tier, risk and summary.
 */
import type { Context } from "../core/context.js";
import type { DecisionDraft, Explanation, ExplanationStep, Verdict } from "../core/decision.js";
import type { Finding } from "../core/finding.js";
import { tierRank, type PolicyMeta, type Tier } from "../core/policy.js";
import type { Override, PolicyException } from "../core/review.js";
import type { CelEnvironment } from "../policy/cel/api.js";
import { defaultCelEnvironment } from "../policy/load.js";
import { activationForPolicy, createConditionCache, metaOf, type ConditionCache, type PolicyLookup } from "./conditions.js";
import { assembleDraft, factorStep, findingSteps, summarize } from "./decision.js";
import { applyExemptions } from "./exemptions.js";
import { learnedFromList, noLearning, type AppliedAdjustment, type LearnedAdjustment, type LearnedAdjustments } from "./learned.js";
import { checkDeciderSettings } from "./settings.js";
import { contextBucket, riskWeights, round, scoreDecisionRisk, signalConfidence, type RiskWeights } from "./risk.js";
import { adaptiveFindingTier, defaultTierSettings, type TierInput, type TierSettings } from "./tiers.js";

export interface DeciderOptions {
  /** The shared CEL environment the policies were compiled with (adaptive rules and exception `when`). */
  readonly env?: CelEnvironment;
  readonly weights?: Partial<RiskWeights>;
  readonly tiers?: Partial<TierSettings>;
}

export interface DecideOptions {
  readonly id: string;
  /** RFC 3339 time of the decision, from the injected clock. */
  readonly now: string;
  /** False for admission dry-runs, shadow evaluation and replay. */
  readonly enforced: boolean;
  /** A policy by name: `(name) => policySet.get(name)` (compiled: adaptive rules see its variables) or its meta. */
  readonly policy?: PolicyLookup;
  /** Exceptions in force (the decider ignores expired and revoked ones). */
  readonly exceptions?: readonly PolicyException[];
  /** Overrides (the decider ignores used, expired, revoked and unconfirmed ones). */
  readonly overrides?: readonly Override[];
  /** Learned adjustments (issue 6), as a lookup or a list. */
  readonly learned?: LearnedAdjustments | readonly LearnedAdjustment[];
  /** The input as it should be recorded (already masked by the caller). */
  readonly input?: unknown;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface Decider {
  /** Builds the decision for one evaluation. Never throws for bad conditions: they become explanation notes. */
  decide(ctx: Context, findings: readonly Finding[], policyRevisions: Readonly<Record<string, string>>, options: DecideOptions): DecisionDraft;
  /** Compiled adaptive-rule and exception conditions (each source compiled once). */
  readonly conditions: ConditionCache;
  readonly weights: RiskWeights;
  readonly tierSettings: TierSettings;
}

/** What the decider applied, read back from a draft's explanation steps (`ref` fields). */
export interface AppliedRefs {
  readonly exceptions: readonly string[];
  readonly overrides: readonly string[];
  readonly learned: readonly string[];
}

/** Ids of the exceptions, overrides and learned entries a draft applied (e.g. to mark `once` overrides used). */
export function appliedRefs(draft: Pick<DecisionDraft, "explanation">): AppliedRefs {
  const steps = draft.explanation.steps;
  return { exceptions: refsOf(steps, "exception"), overrides: refsOf(steps, "override"), learned: refsOf(steps, "learning") };
}

/** Distinct `ref`s of the steps of one kind, in order (module level: no closure per draft). */
function refsOf(steps: readonly ExplanationStep[], kind: string): string[] {
  return [...new Set(steps.filter((s) => s.kind === kind && s.ref !== undefined).map((s) => s.ref as string))];
}

/** Whether the policy runs in shadow mode (recorded at observe, never enforced). */
function inShadow(lookup: PolicyLookup | undefined, name: string): boolean {
  return metaFor(lookup, name)?.enforcement?.mode === "shadow";
}

/** The meta of a policy by name through the caller's lookup. */
function metaFor(lookup: PolicyLookup | undefined, name: string): PolicyMeta | undefined {
  return metaOf(lookup?.(name));
}

/** The evaluator of one finding's adaptive rules (`adaptiveFindingTier`'s `adaptive`). */
function adaptiveFor(conditions: ConditionCache, lookup: PolicyLookup | undefined, ctx: Context, policy: string): TierInput["adaptive"] {
  return (rule, index) => conditions.evaluate(rule.when, `policy ${policy} spec.enforcement.adaptive[${index}].when`, activationForPolicy(lookup?.(policy), ctx, [rule.when]));
}

function asLookup(learned: DecideOptions["learned"]): LearnedAdjustments {
  if (learned === undefined) return noLearning;
  return Array.isArray(learned) ? learnedFromList(learned as readonly LearnedAdjustment[]) : (learned as LearnedAdjustments);
}

function learningText(applied: AppliedAdjustment): string {
  const a = applied.adjustment;
  const parts: string[] = [];
  if (a.riskDelta !== undefined && a.riskDelta !== 0) parts.push(`risk ${a.riskDelta > 0 ? "raised" : "lowered"} by ${round(Math.abs(a.riskDelta))}`);
  if (a.tierShift !== undefined && a.tierShift !== 0) parts.push(`tier shifted ${a.tierShift > 0 ? "+" : ""}${a.tierShift} (within floor..ceiling)`);
  return `${applied.policy}/${applied.rule} [${applied.bucket}]: ${parts.join(", ") || "no change"}: ${a.citation}`;
}

/** Throws VigilError(VIGIL_BAD_CONFIG) naming `decide.<key>` for settings it cannot use (see settings.ts). */
export function createDecider(options: DeciderOptions = {}): Decider {
  checkDeciderSettings(options as Readonly<Record<string, unknown>>);
  const conditions = createConditionCache(options.env ?? defaultCelEnvironment());
  const weights = riskWeights(options.weights);
  const tierSettings: TierSettings = { ...defaultTierSettings, ...options.tiers };

  return {
    conditions,
    weights,
    tierSettings,
    decide(ctx, rawFindings, policyRevisions, decideOptions) {
      const lookup = decideOptions.policy;
      const exemption = applyExemptions(ctx, rawFindings, decideOptions, conditions, lookup);
      const findings = exemption.findings;
      // A policy tried in shadow mode is recorded, never enforced: its violations add nothing to the
      // risk that moves the enforced policies' tiers (nor do lessons learned about them).
      const enforcing = findings.some((f) => f.effect === "violation" && inShadow(lookup, f.policy)) ? findings.filter((f) => f.effect !== "violation" || !inShadow(lookup, f.policy)) : findings;

      const learnedSource = asLookup(decideOptions.learned);
      const learned: AppliedAdjustment[] = [];
      const learnedByFinding = new Map<string, AppliedAdjustment>();
      if (learnedSource !== noLearning) {
        const bucket = contextBucket(ctx);
        for (const f of enforcing) {
          if (f.effect !== "violation") continue;
          const key = `${f.policy}/${f.rule}`;
          if (learnedByFinding.has(key)) continue;
          const adjustment = learnedSource.find(f.policy, f.rule, bucket);
          if (adjustment === undefined) continue;
          const applied = { policy: f.policy, rule: f.rule, bucket, adjustment };
          learned.push(applied);
          learnedByFinding.set(key, applied);
        }
      }

      const risk = scoreDecisionRisk(ctx, enforcing, weights, learned);
      // Without learned risk factors: a critical rule is kept above observe when only learning would take it there.
      const unlearnedRisk = learned.length === 0 ? risk.score : scoreDecisionRisk(ctx, enforcing, weights).score;
      const confidence = risk.factors.length === 0 ? undefined : signalConfidence(ctx, weights.signalMinScore);
      const denying = findings.filter((f) => f.effect === "violation" && f.mode === "deny" && metaFor(lookup, f.policy)?.enforcement?.mode !== "shadow");
      const verdict: Verdict = denying.length > 0 ? "deny" : "allow";

      let tier: Tier = "observe";
      const tierSteps: ExplanationStep[] = [];
      for (const f of findings) {
        if (f.effect !== "violation" && f.effect !== "error") continue;
        const policyMeta = metaFor(lookup, f.policy);
        const choice = adaptiveFindingTier(f, policyMeta, {
          risk: risk.score,
          unlearnedRisk,
          confidence,
          posture: ctx.posture.level,
          learned: learnedByFinding.get(`${f.policy}/${f.rule}`),
          settings: tierSettings,
          adaptive: adaptiveFor(conditions, lookup, ctx, f.policy),
        });
        if (choice === undefined) continue;
        if (tierRank(choice.tier) > tierRank(tier)) tier = choice.tier;
        tierSteps.push({ kind: "tier", text: choice.text, policy: f.policy, rule: f.rule, tier: choice.tier });
      }
      for (const applied of exemption.applied) {
        if (applied.tier !== undefined && tierRank(applied.tier) > tierRank(tier)) {
          tier = applied.tier;
          tierSteps.push({ kind: "tier", text: `${applied.tier}: override ${applied.id} records ${applied.policy}/${applied.rule} at ${applied.tier}`, policy: applied.policy, rule: applied.rule, tier: applied.tier, ref: applied.id });
        }
      }

      const steps = findingSteps(findings);
      for (const applied of exemption.applied) steps.push({ kind: applied.kind, text: `${applied.policy}/${applied.rule} ${applied.text}`, policy: applied.policy, rule: applied.rule, ref: applied.id });
      for (const problem of exemption.problems) steps.push({ kind: "note", text: `exception ${problem.id} not applied: ${problem.reason}`, ref: problem.id });
      for (const factor of risk.factors) steps.push(factorStep(factor));
      for (const applied of learned) steps.push({ kind: "learning", text: learningText(applied), policy: applied.policy, rule: applied.rule, ...(applied.adjustment.id ? { ref: applied.adjustment.id } : {}) });
      steps.push(...tierSteps);
      if (!decideOptions.enforced) steps.push({ kind: "note", text: "not enforced (dry run, shadow evaluation or replay): recorded only" });

      const explanation: Explanation = { summary: summarize(verdict, tier, findings, denying, Object.keys(policyRevisions).length, exemption.applied), steps };
      return assembleDraft(ctx, { verdict, tier, risk, findings, explanation, policyRevisions }, decideOptions);
    },
  };
}
