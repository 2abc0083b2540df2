import type { Factor, Signal } from "../../core/entity.js";
import type { VigilError } from "../../core/errors.js";
import { idleRingWindow, readIdleDay, type IdleRing } from "../idle-days.js";
import { scheduleTouchesDay, type CompiledSchedule } from "../schedule.js";
import type { IdleSettings } from "../settings.js";
import { round } from "../series.js";
import { toDays } from "../time.js";
import { notApplicable, show, signal } from "./signal.js";

/**
 * Idle: sustained low utilisation over the last `days` complete UTC days. A day with CPU
 * samples is idle when its mean CPU ≤ cpuMean, its max CPU ≤ cpuMax and (when network samples
 * exist) its mean network ≤ networkMean. Score = idle days / days with samples; confidence =
 * coverage of the window (and of network data). With a `schedule` attribute only samples taken
 * inside the schedule's windows were recorded (observe), and coverage is counted against the
 * days the schedule had a window: a batch resource quiet outside its schedule is not idle.
 * Pure and deterministic.
 */
export function detectIdle(ring: IdleRing | undefined, timeMs: number, settings: IdleSettings, schedule: CompiledSchedule | VigilError | undefined): Signal {
  if (!settings.enabled) return notApplicable("idle", "disabled");
  if (!ring) return notApplicable("idle", "no CPU or network samples for this resource");
  const factors: Factor[] = [];
  const usableSchedule = schedule && !(schedule instanceof Error) ? schedule : undefined;
  if (schedule instanceof Error) factors.push({ name: "schedule ignored", contribution: 0, detail: schedule.message });
  const window = Math.min(settings.days, idleRingWindow(ring));
  const today = toDays(timeMs);
  let covered = 0;
  let idleDays = 0;
  let expectedDays = 0;
  let withNetwork = 0;
  let cpuSum = 0;
  let cpuMax = 0;
  let networkSum = 0;
  for (let day = today - window; day < today; day++) {
    if (usableSchedule && !scheduleTouchesDay(usableSchedule, day)) continue;
    expectedDays++;
    const stats = readIdleDay(ring, day);
    if (!stats || stats.cpuMean === undefined || stats.cpuMax === undefined) continue;
    covered++;
    cpuSum += stats.cpuMean;
    cpuMax = Math.max(cpuMax, stats.cpuMax);
    const networkOk = stats.networkMean === undefined || stats.networkMean <= settings.networkMean;
    if (stats.networkMean !== undefined) {
      withNetwork++;
      networkSum += stats.networkMean;
    }
    if (stats.cpuMean <= settings.cpuMean && stats.cpuMax <= settings.cpuMax && networkOk) idleDays++;
  }
  const values: Record<string, unknown> = {
    windowDays: window,
    daysWithSamples: covered,
    idleDays,
    meanCpu: covered > 0 ? round(cpuSum / covered) : null,
    maxCpu: covered > 0 ? round(cpuMax) : null,
    meanNetwork: withNetwork > 0 ? round(networkSum / withNetwork) : null,
    scheduled: usableSchedule !== undefined,
  };
  if (usableSchedule) {
    values["scheduledDays"] = expectedDays;
    factors.push({ name: "schedule", contribution: 0, detail: `only samples inside the schedule (${usableSchedule.description}) count; ${expectedDays} of the last ${window} days had a scheduled window` });
  }
  if (expectedDays === 0) return signal("idle", 0, 0, factors, { ...values, reason: "no scheduled window in the look-back period" });
  const coverage = covered / expectedDays;
  const confidence = coverage * (0.5 + 0.5 * (covered > 0 ? withNetwork / covered : 0));
  // A schedule with fewer windows than minDays in the look-back asks for all of them instead.
  const needed = usableSchedule ? Math.min(settings.minDays, expectedDays) : settings.minDays;
  if (covered < needed) return signal("idle", 0, confidence, factors, { ...values, reason: `only ${covered} day(s) with CPU samples; ${needed} needed` });
  const score = idleDays / covered;
  if (score > 0) {
    factors.unshift({
      name: "sustained low utilisation",
      contribution: score,
      detail: `${idleDays} of ${covered} days with samples were idle (mean CPU ${show(cpuSum / covered)}%, max ${show(cpuMax)}%${withNetwork > 0 ? `, mean network ${show(networkSum / withNetwork)}` : ", no network samples"}) over the last ${window} days`,
    });
  }
  return signal("idle", score, confidence, factors, values);
}
