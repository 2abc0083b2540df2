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
    if (shift !== 0) {
      const moved = clampTier(stepTier(tier, shift), floor ?? tier, ceiling ?? tier);
      extras.push(moved === tier ? `learned shift ${shift > 0 ? "+" : ""}${shift}, but range ${floor ?? tier}..${ceiling ?? tier} keeps ${tier}` : `learned shift ${shift > 0 ? "+" : ""}${shift}: moved to ${moved} within range ${floor ?? tier}..${ceiling ?? tier}`);
      tier = moved;
    }
  } else {
    const lo = floor ?? start;
    const hi = ceiling ?? start;
    const range = `range ${lo}..${hi}`;
    let steps = 0;
    const why: string[] = [];
    if (input.risk >= input.settings.raiseAt) { steps = 1; why.push(`risk ${round(input.risk)} ≥ ${input.settings.raiseAt}`); }
    else if (input.risk < input.settings.lowerAt) { steps = -1; why.push(`risk ${round(input.risk)} < ${input.settings.lowerAt}`); }
    const shift = input.learned?.adjustment.tierShift ?? 0;
    if (shift !== 0) { steps += shift; why.push(`learned shift ${shift > 0 ? "+" : ""}${shift}`); }
    // After the learned shift: what was learned in calm times does not cancel an incident's step up.
    if (input.posture === "incident" && steps < 1) { steps = 1; why.push("posture incident"); }
    let moved = clampTier(stepTier(start, steps), lo, hi);
    if (input.posture === "freeze") { moved = hi; why.push("posture freeze → ceiling"); }
    if (why.length > 0) {
      if (moved !== start) extras.push(`${why.join(", ")}: moved to ${moved} within ${range}`);
      else if ((floor !== undefined || ceiling !== undefined) && (steps !== 0 || input.posture === "freeze")) extras.push(`${why.join(", ")}, but ${range} keeps ${start}`);
    }
    tier = moved;
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
