import type { Factor, Signal } from "../../core/entity.js";
import { round } from "../series.js";
import { withFields } from "../../core/objects.js";

/** Detector names as policies see them: `context.signals.<name>`. */
export type DetectorName = "spike" | "idle" | "oddHour" | "rare";

export const detectorNames: readonly DetectorName[] = ["spike", "idle", "oddHour", "rare"];

export function clamp01(value: number): number {
  return value <= 0 || Number.isNaN(value) ? 0 : value >= 1 ? 1 : value;
}

const notApplicableSignals = new Map<string, Map<string, Signal>>();

/**
 * The signal of a detector that did not apply to the event (score 0, confidence 0), so a policy
 * can always read `context.signals.<name>.score` without a missing-key error. Shared, frozen.
 */
export function notApplicable(detector: DetectorName, reason = "not applicable to this event"): Signal {
  let byReason = notApplicableSignals.get(detector);
  if (!byReason) notApplicableSignals.set(detector, (byReason = new Map()));
  let signal = byReason.get(reason);
  if (!signal) {
    signal = Object.freeze({ detector, score: 0, confidence: 0, factors: Object.freeze([]) as readonly Factor[], values: Object.freeze({ applicable: false, reason }) });
    byReason.set(reason, signal);
  }
  return signal;
}

/** Builds a signal with rounded numbers (stable JSON, small). */
export function signal(detector: DetectorName, score: number, confidence: number, factors: readonly Factor[], values: Record<string, unknown>): Signal {
  return {
    detector,
    score: round(clamp01(score)),
    confidence: round(clamp01(confidence)),
    factors: factors.map((factor) => withFields(factor, { contribution: round(factor.contribution) })),
    values: { applicable: true, ...values },
  };
}

/** Formats a number for explanations: 4 significant digits, no exponent for ordinary values. */
export function show(value: number): string {
  const rounded = round(value);
  return Math.abs(rounded) >= 1e6 || (Math.abs(rounded) < 1e-3 && rounded !== 0) ? rounded.toExponential(2) : String(rounded);
}
