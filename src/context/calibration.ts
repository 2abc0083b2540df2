/**
 * Per-entity and per-peer-group detector thresholds (detector calibration, e.g. from the learner,
 * src/learn): a resource whose spend spikes are routinely marked false positive gets a higher
 * spike `zThreshold`, a principal who works nights a lower oddHour `ratioThreshold`.
 *
 * Applied to a built context: the spike and oddHour scores are recomputed from the values the
 * detector already reported (`z`, `ratio`, `observed`, `expected`) with the calibrated thresholds,
 * so no baseline is read again and the result equals what the detector would have scored with
 * those settings. Spike: every role in `values.byRole` is rescored under its own entity's
 * thresholds and the strongest is chosen again as the detector chooses (highest score, then
 * confidence, then first), so a calibration that lowers one role lets another role's spike show. Entity overrides win over peer-group overrides, which win over the stage's
 * settings. The calibrated signal says so in a factor (`calibrated threshold`), so explanations
 * show that a learned threshold was used and why.
 */
import type { Context } from "../core/context.js";
import type { Factor, Signal } from "../core/entity.js";
import { VigilError } from "../core/errors.js";
import { copyContext } from "./built-state.js";
import { show } from "./detectors/signal.js";
import { round } from "./series.js";
import type { ContextSettings } from "./settings.js";

/** Threshold overrides for one entity or peer group. Absent fields keep the stage's settings. */
export interface DetectorThresholds {
  readonly spike?: { readonly zThreshold?: number; readonly minRatio?: number; readonly minDelta?: number };
  readonly oddHour?: { readonly ratioThreshold?: number };
  /** Why (shown in the calibrated signal's factor), e.g. "9 of 10 spikes of this resource were marked false positive". */
  readonly reason?: string;
}

export interface DetectorCalibration {
  /** By entity key `kind/id` (`resource/i-0abc`, `principal/arn:aws:iam::1:user/ana`). */
  readonly entities?: Readonly<Record<string, DetectorThresholds>>;
  /** By peer-group key (`peer:team/payments`, `peer:all/principal`). */
  readonly peers?: Readonly<Record<string, DetectorThresholds>>;
}

const positive = (value: unknown): boolean => typeof value === "number" && Number.isFinite(value) && value > 0;

/** Checks a calibration; throws VigilError(VIGIL_BAD_CONFIG) naming the entry and field. */
export function validateCalibration(calibration: DetectorCalibration): void {
  for (const [group, entries] of [["entities", calibration.entities], ["peers", calibration.peers]] as const) {
    for (const [key, thresholds] of Object.entries(entries ?? {})) {
      const where = `calibration.${group}["${key}"]`;
      const spike = thresholds.spike ?? {};
      for (const field of ["zThreshold", "minRatio"] as const) {
        if (spike[field] !== undefined && !positive(spike[field])) throw new VigilError("VIGIL_BAD_CONFIG", `${where}.spike.${field} must be a positive number, got ${String(spike[field])}`, { field: `${where}.spike.${field}` });
      }
      if (spike.minDelta !== undefined && !(typeof spike.minDelta === "number" && Number.isFinite(spike.minDelta) && spike.minDelta >= 0)) {
        throw new VigilError("VIGIL_BAD_CONFIG", `${where}.spike.minDelta must be a number ≥ 0, got ${String(spike.minDelta)}`, { field: `${where}.spike.minDelta` });
      }
      const ratio = thresholds.oddHour?.ratioThreshold;
      if (ratio !== undefined && !positive(ratio)) throw new VigilError("VIGIL_BAD_CONFIG", `${where}.oddHour.ratioThreshold must be a positive number, got ${String(ratio)}`, { field: `${where}.oddHour.ratioThreshold` });
    }
  }
}

const num = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined);

function pick(calibration: DetectorCalibration, entity: string | undefined, peer: string | undefined): DetectorThresholds | undefined {
  const own = entity === undefined ? undefined : calibration.entities?.[entity];
  const group = peer === undefined ? undefined : calibration.peers?.[peer];
  if (own === undefined) return group;
  if (group === undefined) return own;
  return {
    spike: { ...group.spike, ...own.spike },
    oddHour: { ...group.oddHour, ...own.oddHour },
    ...(own.reason ?? group.reason ? { reason: own.reason ?? group.reason } : {}),
  };
}

/** A zero-contribution factor that says a calibrated threshold was used, and why. */
function calibratedNote(detector: string, detail: string): Factor {
  return { name: "calibrated threshold", contribution: 0, detail: `${detector}: ${detail}` };
}

function recalibrateSpike(signal: Signal, thresholds: NonNullable<DetectorThresholds["spike"]>, base: ContextSettings["detectors"]["spike"], reason: string | undefined): Signal {
  const values = signal.values ?? {};
  const z = num(values["z"]);
  const ratio = num(values["ratio"]);
  const observed = num(values["observed"]);
  const expected = num(values["expected"]);
  if (z === undefined || ratio === undefined || observed === undefined || expected === undefined) return signal;
  const zThreshold = thresholds.zThreshold ?? base.zThreshold;
  const minRatio = thresholds.minRatio ?? base.minRatio;
  const minDelta = thresholds.minDelta ?? base.minDelta;
  const gated = z <= 0 || ratio < minRatio || observed - expected < minDelta;
  const score = round(gated ? 0 : Math.min(1, (0.5 * z) / zThreshold));
  if (score === signal.score) return signal;
  const note = calibratedNote("spike", `zThreshold ${zThreshold}, minRatio ${minRatio}, minDelta ${minDelta} for ${String(values["entity"] ?? "this entity")}${reason ? ` (${reason})` : ""}`);
  // A spike the stage's thresholds gated has no factor: build it from the values, as the detector would.
  const main = signal.factors[0] ?? spikeFactor(values, observed, expected, ratio, z);
  const factors: Factor[] = score > 0 ? [{ ...main, contribution: score }, note] : [note];
  return { ...signal, score, factors, values: { ...values, calibrated: { zThreshold, minRatio, minDelta } } };
}

interface RoleSpike {
  readonly role: string;
  /** Learning series (too little history): score 0, confidence 0, no values, as in the detector. */
  readonly learning: boolean;
  readonly score: number;
  readonly confidence: number;
  readonly values: Record<string, unknown>;
  readonly factor?: Factor;
  readonly calibrated?: { readonly zThreshold: number; readonly minRatio: number; readonly minDelta: number; readonly note: Factor };
}

/**
 * Rescores every role of `values.byRole` under its entity's thresholds. Undefined when byRole
 * lacks what that needs (a signal from before byRole carried `entity`): the caller then rescores
 * the reported role only.
 */
function recalibrateSpikeRoles(signal: Signal, calibration: DetectorCalibration, base: ContextSettings["detectors"]["spike"]): Signal | undefined {
  const values = signal.values ?? {};
  const byRole = values["byRole"];
  if (byRole === null || typeof byRole !== "object" || Array.isArray(byRole)) return undefined;
  const roles: RoleSpike[] = [];
  let changed = false;
  for (const [role, raw] of Object.entries(byRole as Record<string, unknown>)) {
    if (raw === null || typeof raw !== "object") return undefined;
    const entry = raw as Record<string, unknown>;
    if (entry["learning"] === true) {
      roles.push({ role, learning: true, score: 0, confidence: 0, values: {} });
      continue;
    }
    const entity = entry["entity"];
    const [z, ratio, observed, expected, score, confidence] = [entry["z"], entry["ratio"], entry["observed"], entry["expected"], entry["score"], entry["confidence"]].map(num);
    if (typeof entity !== "string" || z === undefined || ratio === undefined || observed === undefined || expected === undefined || score === undefined || confidence === undefined) return undefined;
    const roleValues = { role, entity, series: entry["series"], observed, expected, ratio, z, slot: entry["slot"], baseline: entry["baseline"] };
    const thresholds = pick(calibration, entity, undefined);
    const own = role === values["role"] && values["entity"] === entity ? signal.factors[0] : undefined;
    const factorOf = (contribution: number): Factor | undefined => (contribution > 0 ? { ...(own ?? spikeFactor(roleValues, observed, expected, ratio, z)), contribution } : undefined);
    if (thresholds?.spike === undefined) {
      roles.push({ role, learning: false, score, confidence, values: roleValues, ...(score > 0 ? { factor: factorOf(score) as Factor } : {}) });
      continue;
    }
    const zThreshold = thresholds.spike.zThreshold ?? base.zThreshold;
    const minRatio = thresholds.spike.minRatio ?? base.minRatio;
    const minDelta = thresholds.spike.minDelta ?? base.minDelta;
    const gated = z <= 0 || ratio < minRatio || observed - expected < minDelta;
    const rescored = round(gated ? 0 : Math.min(1, (0.5 * z) / zThreshold));
    if (rescored === score) {
      roles.push({ role, learning: false, score, confidence, values: roleValues, ...(score > 0 ? { factor: factorOf(score) as Factor } : {}) });
      continue;
    }
    changed = true;
    const note = calibratedNote("spike", `zThreshold ${zThreshold}, minRatio ${minRatio}, minDelta ${minDelta} for ${entity}${thresholds.reason ? ` (${thresholds.reason})` : ""}`);
    roles.push({ role, learning: false, score: rescored, confidence, values: roleValues, ...(rescored > 0 ? { factor: factorOf(rescored) as Factor } : {}), calibrated: { zThreshold, minRatio, minDelta, note } });
  }
  if (!changed) return signal;
  // The detector's choice: highest score, then highest confidence, then the first role.
  let best: RoleSpike | undefined;
  for (const candidate of roles) {
    if (candidate.learning) {
      best ??= candidate;
      continue;
    }
    if (!best || candidate.score > best.score || (candidate.score === best.score && candidate.confidence > best.confidence)) best = candidate;
  }
  if (best === undefined) return signal;
  const nextByRole: Record<string, unknown> = { ...(byRole as Record<string, unknown>) };
  for (const entry of roles) {
    if (entry.calibrated === undefined) continue;
    const { zThreshold, minRatio, minDelta } = entry.calibrated;
    nextByRole[entry.role] = { ...(nextByRole[entry.role] as Record<string, unknown>), score: entry.score, calibrated: { zThreshold, minRatio, minDelta } };
  }
  // The chosen role's factor, then a note for every role whose threshold was calibrated.
  const notes = roles.flatMap((entry) => (entry.calibrated ? [entry.calibrated.note] : []));
  const factors: Factor[] = [...(best.factor ? [best.factor] : []), ...notes];
  const chosen = best.calibrated ? { ...best.values, calibrated: { zThreshold: best.calibrated.zThreshold, minRatio: best.calibrated.minRatio, minDelta: best.calibrated.minDelta } } : best.values;
  return { ...signal, score: best.score, confidence: best.confidence, factors, values: { applicable: true, ...chosen, byRole: nextByRole } };
}

function spikeFactor(values: Readonly<Record<string, unknown>>, observed: number, expected: number, ratio: number, z: number): Factor {
  const series = String(values["series"] ?? "series");
  return {
    name: `${String(values["role"] ?? "entity")} ${series} spike`,
    contribution: 0,
    detail: `${series} of ${String(values["entity"] ?? "this entity")} is ${show(observed)} against ${show(expected)} expected for ${String(values["slot"] ?? "this period")} (×${show(ratio)}, robust z ${show(z)})`,
  };
}

function recalibrateOddHour(signal: Signal, ratioThreshold: number, base: ContextSettings["detectors"]["oddHour"], reason: string | undefined): Signal {
  const values = signal.values ?? {};
  const ratio = num(values["ratio"]);
  if (ratio === undefined) return signal;
  const raw = round(ratio >= ratioThreshold ? 0 : Math.max(0, Math.min(1, 1 - ratio / ratioThreshold)));
  const onCall = values["onCall"] === true;
  const score = round(onCall ? raw * base.onCallFactor : raw);
  if (score === signal.score) return signal;
  const note = calibratedNote("oddHour", `ratioThreshold ${ratioThreshold} for this principal${reason ? ` (${reason})` : ""}`);
  const factors: Factor[] = signal.factors.filter((f) => f.name !== "unusual hour of week" && f.name !== "on call");
  if (raw > 0) {
    factors.push({ name: "unusual hour of week", contribution: raw, detail: `${String(values["hourOfWeek"] ?? "this hour")} has ${ratio}× the activity of an average hour` });
    if (onCall) factors.push({ name: "on call", contribution: round(score - raw), detail: "on call at this time per the onCall schedule" });
  }
  factors.push(note);
  return { ...signal, score, factors, values: { ...values, calibrated: { ratioThreshold } } };
}

/**
 * The context with spike and oddHour signals rescored under the calibrated thresholds of the
 * entities involved (spike: each role's entity in `values.byRole`, else `values.entity`; oddHour: the
 * principal, then its peer group `values.peer`). Returns `ctx` itself when nothing applies; else a
 * copy made with `copyContext`, so `ContextStage.observe` still accepts it. Pure; never throws.
 */
export function applyDetectorCalibration(ctx: Context, calibration: DetectorCalibration | undefined, settings: ContextSettings["detectors"]): Context {
  if (calibration === undefined || (calibration.entities === undefined && calibration.peers === undefined)) return ctx;
  let signals: Record<string, Signal> | undefined;
  const spike = ctx.signals["spike"];
  if (spike !== undefined && spike.values?.["applicable"] !== false) {
    const entity = spike.values?.["entity"];
    const thresholds = pick(calibration, typeof entity === "string" ? entity : undefined, undefined);
    const next = recalibrateSpikeRoles(spike, calibration, settings.spike) ?? (thresholds?.spike !== undefined ? recalibrateSpike(spike, thresholds.spike, settings.spike, thresholds.reason) : spike);
    if (next !== spike) (signals ??= { ...ctx.signals })["spike"] = next;
  }
  const oddHour = ctx.signals["oddHour"];
  if (oddHour !== undefined && oddHour.values?.["applicable"] !== false) {
    const principal = ctx.entities["principal"];
    const peer = oddHour.values?.["peer"];
    const thresholds = pick(calibration, principal ? `${principal.kind}/${principal.id}` : undefined, typeof peer === "string" ? peer : undefined);
    const ratioThreshold = thresholds?.oddHour?.ratioThreshold;
    const next = ratioThreshold !== undefined ? recalibrateOddHour(oddHour, ratioThreshold, settings.oddHour, thresholds?.reason) : oddHour;
    if (next !== oddHour) (signals ??= { ...ctx.signals })["oddHour"] = next;
  }
  return signals === undefined ? ctx : copyContext(ctx, { ...ctx, signals });
}
