import type { Factor, Signal } from "../../core/entity.js";
import { seenLookup, seenMissingBound, seenTotal, type ActivityHolder, type ActivityLayout } from "../activity.js";
import { fnv1a32 } from "../hash.js";
import { seenDimensions, type RareSettings, type SeenDimension } from "../settings.js";
import { round } from "../series.js";
import { isoFromMinutes } from "../time.js";
import { clamp01, notApplicable, signal } from "./signal.js";

export interface RareInput {
  readonly own: ActivityHolder | undefined;
  readonly peer: ActivityHolder | undefined;
  readonly peerKey: string;
  readonly layout: ActivityLayout;
  /** The event's values per dimension. */
  readonly seen: Partial<Record<SeenDimension, string>>;
}

/**
 * Rare or first-seen values (service, region, country, ASN, IP, device) for the principal.
 * Per dimension: first seen adds `weights[dim]`; seen but below `rareShare` of the dimension's
 * observations adds half of it, scaled by how rare; each is multiplied by the dimension's
 * confidence (observations / fullConfidenceObservations, so everything being new to a new
 * principal means little) and by `peerDiscount` when the peer group knows the value from others
 * (it saw it more often than the principal did). Score =
 * the sum, clamped to 1; each dimension is a factor. Pure and deterministic.
 */
export function detectRare(input: RareInput, settings: RareSettings): Signal {
  if (!settings.enabled) return notApplicable("rare", "disabled");
  const dimensions = seenDimensions.filter((dimension) => input.seen[dimension] !== undefined);
  if (dimensions.length === 0) return notApplicable("rare", "no service, region, geo, network or device values in this event");
  const factors: Factor[] = [];
  const firstSeen: string[] = [];
  const rare: string[] = [];
  const seen: Record<string, unknown> = {};
  let total = 0;
  let confidenceSum = 0;
  for (const dimension of dimensions) {
    const value = input.seen[dimension] as string;
    const hash = fnv1a32(value);
    const observations = seenTotal(input.own, input.layout, dimension);
    const entry = seenLookup(input.own, input.layout, dimension, hash);
    const confidence = clamp01(observations / settings.fullConfidenceObservations);
    confidenceSum += confidence;
    // Judged by what the value surely was seen: a value that took an evicted one's place holds that
    // one's count too (space-saving), so after one event it would read as a habit.
    const count = entry ? entry.count - entry.inherited : 0;
    const share = entry && observations > 0 ? count / observations : 0;
    // A value missing from a full set may have been evicted: then it is new, or was seen at most `bound` times.
    const bound = entry ? (entry.inherited > 0 ? entry.count : 0) : seenMissingBound(input.own, input.layout, dimension);
    seen[dimension] = entry ? { value, count, share: round(share), firstSeen: isoFromMinutes(entry.firstSeenMinutes), ...(bound > 0 ? { atMost: bound } : {}) } : { value, count: 0, share: 0, ...(bound > 0 ? { atMost: bound } : {}) };
    let contribution = 0;
    let detail = "";
    if (!entry) {
      if (observations === 0) continue;
      firstSeen.push(dimension);
      contribution = settings.weights[dimension] * confidence;
      detail = bound > 0
        ? `${dimension} ${value} is not among the ${input.layout.sizes[dimension]} ${dimension} values kept for this principal: new, or seen at most ${bound} time(s) in ${observations} observations`
        : `${dimension} ${value} never seen for this principal (${observations} earlier observations)`;
    } else if (share < settings.rareShare) {
      rare.push(dimension);
      contribution = settings.weights[dimension] * 0.5 * (1 - share / settings.rareShare) * confidence;
      detail = `${dimension} ${value} seen ${count} time(s)${bound > 0 ? ` (at most ${bound}: it took the place of a value evicted from the set)` : ""} in ${observations} observations`;
    }
    if (contribution <= 0) continue;
    // The peer group learns every event of its members, this principal's too: it "knows" a value only
    // when it surely saw it more often than the principal could have (someone else used it).
    const peerEntry = seenLookup(input.peer, input.layout, dimension, hash);
    if (peerEntry && peerEntry.count - peerEntry.inherited > (entry?.count ?? 0)) {
      contribution *= settings.peerDiscount;
      detail += `; known to ${input.peerKey.replace(/^peer:/, "")}`;
    }
    total += contribution;
    factors.push({ name: `${firstSeen.includes(dimension) ? "first-seen" : "rare"} ${dimension}`, contribution, detail });
  }
  return signal("rare", total, confidenceSum / dimensions.length, factors, { firstSeen, rare, seen });
}
