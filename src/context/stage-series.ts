/**
 * Which series of an event the context stage learns and judges (metric samples, spend rows), and
 * the spike signal built from them.
 */
import type { Signal } from "../core/entity.js";
import { MAX_SERIES_PER_ENTITY, type EntityBaseline } from "./baseline.js";
import { notApplicable } from "./detectors/signal.js";
import { detectSpike, type SpikeCandidate } from "./detectors/spike.js";
import type { ResolvedEvent } from "./resolve.js";
import type { SpikeSettings } from "./settings.js";

/**
 * A charge for more than a day (a monthly fee, a hosted zone, a subscription) is not an amount per
 * hour or day: summed into the period it starts in, it made the 1st of every month a spike (never
 * learned: the 1st falls on another weekday each month). Such rows feed no spend series.
 */
export const longCharge = (periodHours: number): boolean => periodHours > 25; // a 25-hour day (local-time periods, DST) is a day
/** A charge period of a day or more is learned per day of week: a 23-hour day (local-time periods, DST begins) is a day too. */
export const dailyCharge = (periodHours: number): boolean => periodHours >= 23;
export const longChargeReason = "charge period longer than a day (a monthly or one-time charge): not compared with hourly or daily spend";

const seriesFullReason = `this entity already has ${MAX_SERIES_PER_ENTITY} series (the most kept per entity): this one is not tracked`;

/** Whether the event's series is missing because its entity has no room for another one. */
function seriesFull(resolved: ResolvedEvent, baselineMap: ReadonlyMap<string, EntityBaseline>): boolean {
  const { metric, spend } = resolved.observation;
  const roles = metric ? ["resource"] : spend ? spendRoles(Object.keys(resolved.entities)) : [];
  return roles.some((role) => {
    const baseline = baselineMap.get(role);
    return baseline !== undefined && baseline.seriesCount >= MAX_SERIES_PER_ENTITY && !baseline.findSeries(metric ? metric.name : "cost");
  });
}

/** Units that say a utilisation is a ratio (0..1), not percent. */
export const ratioUnits: ReadonlySet<string> = new Set(["1", "ratio", "fraction", "10^2.%"]);

export const spendRoles = (roles: readonly string[]): string[] => roles.filter((role) => role === "resource" || role === "account" || role === "service" || role.startsWith("tag:"));

function spikeCandidates(resolved: ResolvedEvent, baselineMap: ReadonlyMap<string, EntityBaseline>): SpikeCandidate[] {
  const { observation } = resolved;
  const candidates: SpikeCandidate[] = [];
  if (observation.metric) {
    const baseline = baselineMap.get("resource");
    const series = baseline?.findSeries(observation.metric.name);
    if (baseline && series) candidates.push({ role: "resource", entity: baseline.key, series, value: observation.metric.value });
  }
  if (observation.spend && !longCharge(observation.spend.periodHours)) {
    for (const role of spendRoles(Object.keys(resolved.entities))) {
      const baseline = baselineMap.get(role);
      const series = baseline?.findSeries("cost");
      if (baseline && series) candidates.push({ role, entity: baseline.key, series, value: observation.spend.amount });
    }
  }
  return candidates;
}

/** The spike signal of an event: the detector's over its series, or why there is none. */
export function spikeSignal(resolved: ResolvedEvent, baselineMap: ReadonlyMap<string, EntityBaseline>, timeMs: number, settings: SpikeSettings, spreadAlpha: number): Signal {
  const { observation } = resolved;
  const spike = spikeCandidates(resolved, baselineMap);
  if (spike.length > 0) return detectSpike(spike, timeMs, settings, spreadAlpha);
  if (observation.spend && longCharge(observation.spend.periodHours)) return notApplicable("spike", longChargeReason);
  if (observation.metric || observation.spend) return notApplicable("spike", seriesFull(resolved, baselineMap) ? seriesFullReason : "no baseline yet for this series");
  return notApplicable("spike");
}
