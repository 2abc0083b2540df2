import { activityAt, seenDistinct, type ActivityLayout } from "./activity.js";
import type { EntityBaseline } from "./baseline.js";
import { seriesSummary } from "./series.js";
import { seenDimensions } from "./settings.js";
import { HOURS_PER_WEEK, hourOfWeek, isoFromMinutes, toMinutes } from "./time.js";
import { round } from "./series.js";

/**
 * The JSON-safe summary of an entity's baseline that policies see as `context.features.<role>`:
 * `{ events, firstSeen, lastSeen, hourShare?, activityEvents?, distinct?, peer?, series? }`.
 * Small by construction: counts and a few numbers, never the raw histograms.
 */
export function baselineFeatures(baseline: EntityBaseline, layout: ActivityLayout, timeMs: number, halfLifeMinutes: number, peerKey?: string): Record<string, unknown> {
  const features: Record<string, unknown> = {
    events: baseline.events,
    firstSeen: baseline.firstSeen > 0 ? isoFromMinutes(baseline.firstSeen) : null,
    lastSeen: baseline.lastSeen > 0 ? isoFromMinutes(baseline.lastSeen) : null,
  };
  if (baseline.actOffset >= 0) {
    const activity = activityAt(baseline, toMinutes(timeMs), hourOfWeek(timeMs), halfLifeMinutes);
    features["activityEvents"] = round(activity.events);
    features["hourShare"] = round(activity.share * HOURS_PER_WEEK);
    const distinct: Record<string, number> = {};
    for (const dimension of seenDimensions) distinct[dimension] = seenDistinct(baseline, layout, dimension);
    features["distinct"] = distinct;
  }
  if (peerKey) features["peer"] = peerKey;
  if (baseline.seriesCount > 0) {
    const series: Record<string, unknown> = {};
    for (const item of baseline.allSeries()) series[item.name] = seriesSummary(item, timeMs);
    features["series"] = series;
  }
  return features;
}
