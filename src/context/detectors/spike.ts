import type { Factor, Signal } from "../../core/entity.js";
import type { SpikeSettings } from "../settings.js";
import { expectedLog, fromLog, periodStartHour, periodValue, round, seriesCount, seriesHistoryWeeks, slotLabel, spreadLog, toLog, type SeriesState } from "../series.js";
import { clamp01, notApplicable, show, signal } from "./signal.js";

/** One series to judge: an entity's spend or metric series and the record's value. */
export interface SpikeCandidate {
  /** Role of the entity in the event (`resource`, `account`, `service`, `tag:team`). */
  readonly role: string;
  /** Entity key, for the explanation. */
  readonly entity: string;
  readonly series: SeriesState;
  readonly value: number;
}

const sourceConfidence = { slot: 1, "hour-of-day": 0.6, level: 0.3 } as const;

/**
 * Spend / usage spike against the seasonal baseline: the period's value (for spend, the open
 * period's running total including this record) is compared, in log space, with the same
 * hour-of-week (hourly data) or day-of-week (daily data) slot, using the robust residual
 * spread. Score 0.5 at `zThreshold`, 1 at twice that; 0 unless the value is also at least
 * `minRatio` × expected and `minDelta` above it. The signal reports the strongest candidate.
 * Pure and deterministic.
 */
export function detectSpike(candidates: readonly SpikeCandidate[], timeMs: number, settings: SpikeSettings, spreadAlpha: number): Signal {
  if (!settings.enabled) return notApplicable("spike", "disabled");
  if (candidates.length === 0) return notApplicable("spike");
  let best: { score: number; confidence: number; factor: Factor | undefined; values: Record<string, unknown> } | undefined;
  const byRole: Record<string, unknown> = {};
  for (const candidate of candidates) {
    const { series } = candidate;
    if (seriesCount(series) < settings.minSamples) {
      byRole[candidate.role] = { series: series.name, learning: true, periods: seriesCount(series) };
      best ??= { score: 0, confidence: 0, factor: undefined, values: {} };
      continue;
    }
    const hour = periodStartHour(series, timeMs);
    const observed = periodValue(series, timeMs, candidate.value);
    const expectation = expectedLog(series, hour);
    const spread = spreadLog(series, settings.minSpread, spreadAlpha);
    const z = (toLog(series, observed) - expectation.value) / spread;
    const expected = fromLog(series, expectation.value);
    const ratio = (observed + settings.floor) / (expected + settings.floor);
    const gated = z <= 0 || ratio < settings.minRatio || observed - expected < settings.minDelta;
    const score = gated ? 0 : clamp01((0.5 * z) / settings.zThreshold);
    const confidence = clamp01(seriesHistoryWeeks(series) / settings.fullConfidenceWeeks) * sourceConfidence[expectation.source];
    const slot = slotLabel(series, hour);
    const values = { role: candidate.role, entity: candidate.entity, series: series.name, observed: round(observed), expected: round(expected), ratio: round(ratio), z: round(z), slot, baseline: expectation.source };
    // Everything a calibration needs to rescore this role as the detector would (calibration.ts).
    byRole[candidate.role] = { series: series.name, entity: candidate.entity, observed: round(observed), expected: round(expected), ratio: round(ratio), z: round(z), score: round(score), confidence: round(confidence), slot, baseline: expectation.source };
    const factor: Factor | undefined = score > 0
      ? { name: `${candidate.role} ${series.name} spike`, contribution: score, detail: `${series.name} of ${candidate.entity} is ${show(observed)} against ${show(expected)} expected for ${slot} (×${show(ratio)}, robust z ${show(z)})` }
      : undefined;
    if (!best || score > best.score || (score === best.score && confidence > best.confidence)) best = { score, confidence, factor, values };
  }
  const chosen = best ?? { score: 0, confidence: 0, factor: undefined, values: {} };
  return signal("spike", chosen.score, chosen.confidence, chosen.factor ? [chosen.factor] : [], { ...chosen.values, byRole });
}
