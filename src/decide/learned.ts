/**
 * Learned adjustments as data. The learner (issue 6) produces them per (policy, rule, context
 * bucket) from feedback; decide only reads them. An adjustment moves risk (`riskDelta`) and/or
 * the tier (`tierShift`, always clamped to the policy's floor..ceiling) and carries the sentence
 * the explanation cites, e.g. "risk lowered by 0.2: 14 of 15 similar findings were marked false
 * positive". Safety lives in decide, not in the learner: a tier never leaves the policy's range,
 * an adjustment never turns a violation into a skip, never changes the verdict, and never takes a
 * critical finding to observe (tiers.ts).
 */
import { VigilError } from "../core/errors.js";

export interface LearnedAdjustment {
  /** Stable id of the learned state entry (cited as `ref` in the explanation). */
  readonly id?: string;
  readonly policy: string;
  /** Rule name; absent or `*` = every rule of the policy. */
  readonly rule?: string;
  /** Context bucket (see `contextBucket`); absent or `*` = every bucket. */
  readonly bucket?: string;
  /** Added to the risk score as a `learned.<policy>/<rule>` factor; in [-1, 1]. */
  readonly riskDelta?: number;
  /** Tier steps up (+) or down (−), clamped to floor..ceiling; an integer in [-2, 2]. */
  readonly tierShift?: number;
  /** Plain-language reason, shown as the factor's detail and as a `learning` step. */
  readonly citation: string;
}

/** Where decide finds adjustments: the most specific match for (policy, rule, bucket), or none. */
export interface LearnedAdjustments {
  find(policy: string, rule: string, bucket: string): LearnedAdjustment | undefined;
}

/** An adjustment matched to a finding. */
export interface AppliedAdjustment {
  readonly policy: string;
  readonly rule: string;
  readonly bucket: string;
  readonly adjustment: LearnedAdjustment;
}

export const noLearning: LearnedAdjustments = { find: () => undefined };

/** Checks one adjustment; throws VigilError(VIGIL_LEARNED_STATE) naming the field. */
export function validateAdjustment(adjustment: LearnedAdjustment, index = 0): void {
  const where = `learned[${index}]`;
  if (typeof adjustment.policy !== "string" || adjustment.policy === "") throw new VigilError("VIGIL_LEARNED_STATE", `${where}.policy must name a policy`, { field: `${where}.policy` });
  if (typeof adjustment.citation !== "string" || adjustment.citation.trim() === "") throw new VigilError("VIGIL_LEARNED_STATE", `${where}.citation must say why (it is shown in explanations)`, { field: `${where}.citation` });
  const delta = adjustment.riskDelta;
  if (delta !== undefined && (typeof delta !== "number" || !Number.isFinite(delta) || delta < -1 || delta > 1)) {
    throw new VigilError("VIGIL_LEARNED_STATE", `${where}.riskDelta must be a number in [-1, 1], got ${String(delta)}`, { field: `${where}.riskDelta` });
  }
  const shift = adjustment.tierShift;
  if (shift !== undefined && (!Number.isInteger(shift) || shift < -2 || shift > 2)) {
    throw new VigilError("VIGIL_LEARNED_STATE", `${where}.tierShift must be an integer in [-2, 2], got ${String(shift)}`, { field: `${where}.tierShift` });
  }
}

/**
 * Indexes a list of adjustments. Lookup prefers, in order: exact rule and bucket, exact rule
 * with any bucket, any rule with the exact bucket, any rule and bucket. Validates every entry.
 */
export function learnedFromList(list: readonly LearnedAdjustment[]): LearnedAdjustments {
  const byKey = new Map<string, LearnedAdjustment>();
  list.forEach((adjustment, index) => {
    validateAdjustment(adjustment, index);
    byKey.set(key(adjustment.policy, adjustment.rule ?? "*", adjustment.bucket ?? "*"), adjustment);
  });
  return {
    find(policy, rule, bucket) {
      return byKey.get(key(policy, rule, bucket)) ?? byKey.get(key(policy, rule, "*")) ?? byKey.get(key(policy, "*", bucket)) ?? byKey.get(key(policy, "*", "*"));
    },
  };
}

function key(policy: string, rule: string, bucket: string): string {
  return `${policy}\u0000${rule}\u0000${bucket}`;
}
