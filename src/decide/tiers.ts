/**
 * Adaptive enforcement: the tier one finding asks for, and why.
 *
 * For a violation of a policy in `enforce` mode:
 * 1. start: `enforcement.tier`, else by rule mode (deny→block, warn→notify, audit→observe),
 *    clamped to the declared floor/ceiling — exactly buildDecision's tier.
 * 2. adaptive rules: every `when` is evaluated on the policy's activation; when one or more hold,
 *    the strictest of their tiers is used, clamped to the declared floor/ceiling. Only a learned
 *    `tierShift` moves it further, and only within the declared floor..ceiling (a policy that
 *    declares neither keeps the adaptive rule's tier): the author said what to do in that situation.
 * 3. otherwise the tier moves within the policy's range — `floor` (default: the start tier) to
 *    `ceiling` (default: the start tier), so a policy opts in by declaring them:
 *    risk ≥ raiseAt → one step up; risk < lowerAt → one step down; a learned `tierShift` adds its
 *    steps; posture `incident` → at least one step up (after the learned shift: a negative shift
 *    learned in calm times does not cancel it); posture `freeze` → the ceiling.
 *    Learning never takes a critical finding to observe: when only the learned risk factors (of any
 *    rule) or the learned shift bring it there, it stays at notify (also after an adaptive rule).
 * 4. confidence: when the policy sets `minConfidence` and the detector evidence's confidence is
 *    below it, an acting tier (block, remediate) becomes `approve` — a person decides — unless
 *    the declared floor is higher.
 * Shadow-mode policies → observe; `error` findings → notify.
 */
import type { Finding } from "../core/finding.js";
import type { PostureLevel } from "../core/entity.js";
import { clampTier, tierRank, tiers, type AdaptiveRule, type PolicyMeta, type Tier } from "../core/policy.js";
import { findingTier } from "./decision.js";
import type { ConditionOutcome } from "./conditions.js";
import type { AppliedAdjustment } from "./learned.js";

export interface TierSettings {
  /** Risk at or above which the tier moves one step up (within the range). Default 0.75. */
  readonly raiseAt: number;
  /** Risk below which the tier moves one step down (within the range). Default 0.2. */
  readonly lowerAt: number;
}

export const defaultTierSettings: TierSettings = { raiseAt: 0.75, lowerAt: 0.2 };

export interface TierInput {
  readonly risk: number;
  /** Confidence of the detector evidence (lowest among fired signals); undefined when none fired. */
  readonly confidence?: { readonly confidence: number; readonly detector: string } | undefined;
  readonly posture: PostureLevel;
  readonly learned?: AppliedAdjustment | undefined;
  /**
   * The risk without any learned risk factor (of any rule of the decision); defaults to `risk`.
   * Used to keep a critical finding above observe when only learning would take it there.
   */
  readonly unlearnedRisk?: number;
  /** Evaluates an adaptive rule's `when` (index into enforcement.adaptive) for this finding. */
  readonly adaptive: (rule: AdaptiveRule, index: number) => ConditionOutcome;
  readonly settings: TierSettings;
}

export interface TierChoice {
  readonly tier: Tier;
  /** Explanation line, `<tier>: <policy>/<rule>: <why>`. */
  readonly text: string;
  /** Set when the tier came from a low-confidence hand-off to a person. */
  readonly lowConfidence?: boolean;
  /** Set when an adaptive rule decided. */
  readonly adaptiveIndex?: number;
}

function stepTier(tier: Tier, steps: number): Tier {
  const rank = Math.min(tiers.length - 1, Math.max(0, tierRank(tier) + steps));
  return tiers[rank] as Tier;
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** Step 3: the risk step, a learned shift and posture, within lo..hi. */
function rangeTier(start: Tier, lo: Tier, hi: Tier, risk: number, shift: number, posture: PostureLevel, settings: TierSettings): { moved: Tier; steps: number; why: string[] } {
  let steps = 0;
  const why: string[] = [];
  if (risk >= settings.raiseAt) { steps = 1; why.push(`risk ${round(risk)} ≥ ${settings.raiseAt}`); }
  else if (risk < settings.lowerAt) { steps = -1; why.push(`risk ${round(risk)} < ${settings.lowerAt}`); }
  if (shift !== 0) { steps += shift; why.push(`learned shift ${shift > 0 ? "+" : ""}${shift}`); }
  // After the learned shift: what was learned in calm times does not cancel an incident's step up.
  if (posture === "incident" && steps < 1) { steps = 1; why.push("posture incident"); }
  let moved = clampTier(stepTier(start, steps), lo, hi);
  if (posture === "freeze") { moved = hi; why.push("posture freeze → ceiling"); }
  return { moved, steps, why };
}

/** The tier a finding asks for under adaptive enforcement; undefined for passes and skips. Never throws. */
export function adaptiveFindingTier(finding: Finding, meta: PolicyMeta | undefined, input: TierInput): TierChoice | undefined {
  const basic = findingTier(finding, meta);
  if (basic === undefined) return undefined;
  if (finding.effect !== "violation" || meta?.enforcement?.mode === "shadow") return { tier: basic.tier, text: `${basic.tier}: ${basic.reason}` };
  const enforcement = meta?.enforcement;
  const floor = enforcement?.floor;
  const ceiling = enforcement?.ceiling;
  const start = basic.tier;
  const extras: string[] = [];
  let tier = start;
  let adaptiveIndex: number | undefined;
  const critical = finding.severity === "critical";
  const criticalKept = "a critical rule is not lowered to observe by learning: kept at notify";

  const adaptive = enforcement?.adaptive ?? [];
  let matched: { rule: AdaptiveRule; index: number } | undefined;
  adaptive.forEach((rule, index) => {
    const outcome = input.adaptive(rule, index);
    if (!outcome.ok) { extras.push(`adaptive rule ${index + 1} not applied (${outcome.error})`); return; }
    if (outcome.value && (matched === undefined || tierRank(rule.tier) > tierRank(matched.rule.tier))) matched = { rule, index };
  });
  if (matched !== undefined) {
    const { rule, index } = matched;
    tier = clampTier(rule.tier, floor ?? "observe", ceiling ?? "remediate");
    adaptiveIndex = index;
    extras.push(`adaptive rule \`${rule.when}\` held${rule.reason ? ` (${rule.reason})` : ""} → ${rule.tier}${tier === rule.tier ? "" : `, clamped to ${tier}`}`);
    // Learning (issue 6) may still move it, but only within the range the policy declares.
    const shift = input.learned?.adjustment.tierShift ?? 0;
    const chosen = tier;
    if (shift !== 0) {
      const moved = clampTier(stepTier(tier, shift), floor ?? tier, ceiling ?? tier);
      extras.push(moved === tier ? `learned shift ${shift > 0 ? "+" : ""}${shift}, but range ${floor ?? tier}..${ceiling ?? tier} keeps ${tier}` : `learned shift ${shift > 0 ? "+" : ""}${shift}: moved to ${moved} within range ${floor ?? tier}..${ceiling ?? tier}`);
      tier = moved;
    }
    // A critical rule is never lowered to observe by learning (the learner's promise, kept here whatever the policy's range).
    if (critical && tier === "observe" && tierRank(chosen) > tierRank("observe")) {
      tier = "notify";
      extras.push(criticalKept);
    }
  } else {
    const lo = floor ?? start;
    const hi = ceiling ?? start;
    const range = `range ${lo}..${hi}`;
    const shift = input.learned?.adjustment.tierShift ?? 0;
    const ranged = rangeTier(start, lo, hi, input.risk, shift, input.posture, input.settings);
    const { moved, steps, why } = ranged;
    if (why.length > 0) {
      if (moved !== start) extras.push(`${why.join(", ")}: moved to ${moved} within ${range}`);
      else if ((floor !== undefined || ceiling !== undefined) && (steps !== 0 || input.posture === "freeze")) extras.push(`${why.join(", ")}, but ${range} keeps ${start}`);
      // A risk step and a learned shift the other way: both happened, and a reader must see why neither moved it.
      else if (floor !== undefined || ceiling !== undefined) extras.push(`${why.join(", ")}: no net step, stays ${start} within ${range}`);
    }
    tier = moved;
    // Learning (a learned risk factor of any rule, or this rule's shift) may move a critical rule down, but never to observe:
    // when the same range, thresholds and posture without learning keep it above observe, it stays at notify.
    if (critical && tier === "observe" && (shift < 0 || (input.unlearnedRisk ?? input.risk) > input.risk)) {
      const unlearned = rangeTier(start, lo, hi, input.unlearnedRisk ?? input.risk, 0, input.posture, input.settings).moved;
      if (tierRank(unlearned) > tierRank("observe")) {
        tier = "notify";
        extras.push(criticalKept);
      }
    }
  }

  let lowConfidence = false;
  const min = enforcement?.minConfidence;
  if (min !== undefined && input.confidence !== undefined && input.confidence.confidence < min && tierRank(tier) > tierRank("approve")) {
    const handed = clampTier("approve", floor ?? "observe", "remediate");
    if (handed !== tier) {
      // A floor above approve: no hand-off to a person, the floor's tier instead (the step says which).
      extras.push(`confidence ${round(input.confidence.confidence)} (${input.confidence.detector}) < minConfidence ${min}: ${handed === "approve" ? "ask a person (approve)" : `floor ${handed}`} instead of ${tier}`);
      tier = handed;
      lowConfidence = handed === "approve";
    } else {
      extras.push(`confidence ${round(input.confidence.confidence)} < minConfidence ${min}, but floor ${floor ?? "observe"} keeps ${tier}`);
    }
  }
  return {
    tier,
    text: `${tier}: ${basic.reason}${extras.length > 0 ? `; ${extras.join("; ")}` : ""}`,
    ...(lowConfidence ? { lowConfidence } : {}),
    ...(adaptiveIndex === undefined ? {} : { adaptiveIndex }),
  };
}
