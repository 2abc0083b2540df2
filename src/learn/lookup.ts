/**
 * Learned state → what decide reads on the hot path. For one decision, `forContext(ctx)` returns
 * a `LearnedAdjustments` (decide's interface) that answers, per violated (policy, rule), the most
 * specific lesson: the entity's in this bucket, else the peer group's in this bucket, else the bucket's. A
 * specific slice with enough evidence that shows the rule is right ("hold") stops the search, so
 * a bucket-wide lesson never lowers an entity whose own findings were confirmed; a specific slice
 * whose lowering was held back (one reviewer, no agreement) does not stop it.
 */
import type { Context } from "../core/context.js";
import type { LearnedAdjustment, LearnedAdjustments } from "../decide/learned.js";
import { learningKeys, type LearningKeys } from "./keys.js";
import type { LearnedEntry, LearnedState } from "./types.js";

export interface LearnedLookup {
  /** Entries in the state that change something. */
  readonly active: number;
  /** Adjustments for one decision; undefined when the state has nothing to say (pass nothing to decide). */
  forContext(ctx: Context): LearnedAdjustments | undefined;
  /** The same, from keys already computed (e.g. read back from a recorded decision). */
  forKeys(keys: LearningKeys): LearnedAdjustments | undefined;
  /** The entry that decides (policy, rule) for these keys, with the scope it came from. */
  entryFor(policy: string, rule: string, keys: LearningKeys): LearnedEntry | undefined;
}

const changes = (entry: LearnedEntry): boolean => (entry.riskDelta ?? 0) !== 0 || (entry.tierShift ?? 0) !== 0;

function toAdjustment(entry: LearnedEntry): LearnedAdjustment {
  return {
    id: entry.id, policy: entry.policy, rule: entry.rule,
    ...(entry.riskDelta !== undefined && entry.riskDelta !== 0 ? { riskDelta: entry.riskDelta } : {}),
    ...(entry.tierShift !== undefined && entry.tierShift !== 0 ? { tierShift: entry.tierShift } : {}),
    citation: entry.citation,
  };
}

/** Indexes a learned state (undefined or empty: a lookup that never adjusts). */
export function createLearnedLookup(state: LearnedState | undefined): LearnedLookup {
  const byKey = new Map<string, LearnedEntry>();
  const adjustments = new Map<LearnedEntry, LearnedAdjustment>();
  const policies = new Set<string>();
  let active = 0;
  for (const entry of state?.entries ?? []) {
    // An entity lesson is filed under its bucket too (one stored without one applies in every bucket).
    byKey.set(`${entry.policy}\u0000${entry.rule}\u0000${entry.scope}\u0000${entry.key}${entry.scope === "entity" && entry.bucket !== undefined ? `\u0000${entry.bucket}` : ""}`, entry);
    if (changes(entry)) {
      active++;
      policies.add(entry.policy);
      adjustments.set(entry, toAdjustment(entry));
    }
  }

  function entryFor(policy: string, rule: string, keys: LearningKeys): LearnedEntry | undefined {
    if (!policies.has(policy)) return undefined;
    const candidates = [
      keys.entity === undefined ? undefined : byKey.get(`${policy}\u0000${rule}\u0000entity\u0000${keys.entity}\u0000${keys.bucket}`) ?? byKey.get(`${policy}\u0000${rule}\u0000entity\u0000${keys.entity}`),
      keys.peer === undefined ? undefined : byKey.get(`${policy}\u0000${rule}\u0000peer\u0000${keys.peer}@${keys.bucket}`),
      byKey.get(`${policy}\u0000${rule}\u0000bucket\u0000${keys.bucket}`),
    ];
    for (const entry of candidates) {
      if (entry === undefined || entry.held !== undefined) continue;
      return changes(entry) ? entry : undefined;
    }
    return undefined;
  }

  function forKeys(keys: LearningKeys): LearnedAdjustments | undefined {
    if (active === 0) return undefined;
    return {
      find(policy, rule) {
        const entry = entryFor(policy, rule, keys);
        return entry === undefined ? undefined : adjustments.get(entry);
      },
    };
  }

  return {
    active,
    forContext: (ctx) => (active === 0 ? undefined : forKeys(learningKeys(ctx))),
    forKeys,
    entryFor,
  };
}
