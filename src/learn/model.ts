/**
 * The learner's model: per (policy, rule, slice) Beta posteriors of precision from labelled
 * observations, turned into learned entries (risk and tier adjustments with citations) and
 * per-entity / per-peer detector thresholds. Pure: same observations, settings and time, same result.
 *
 * Safety (INVARIANTS):
 * - one reviewer counts for at most `maxPerReviewer` labels per slice, and lowering needs
 *   `minReviewers` (critical rules: `criticalMinReviewers`) distinct reviewers leaning false
 *   positive, holding at least `agreement` of the capped weight: a flood of labels from one person
 *   never lowers anything;
 * - lessons only produce `riskDelta` and `tierShift`; decide clamps every tier to the policy's
 *   floor..ceiling and never changes a verdict, so learning cannot create exceptions or disable a
 *   policy; for critical rules the shift is at most one step and, when the policy is known, never
 *   reaches `observe`;
 * - there is no slice wider than a context bucket.
 */
import { clampTier, tierRank, type PolicyMeta, type RuleMode } from "../core/policy.js";
import { findingTier } from "../decide/decision.js";
import { defaultContextSettings, type ContextSettings } from "../context/settings.js";
import type { DetectorCalibration, DetectorThresholds } from "../context/calibration.js";
import { betaSummary } from "./beta.js";
import type { LearnedEntry, LearnerSettings, Observation, SliceScope, SliceStats } from "./types.js";

interface ReviewerTally { tp: number; fp: number; incident: number; rawTp: number; rawFp: number; rawIncident: number }

interface Slice {
  readonly policy: string;
  readonly rule: string;
  readonly scope: SliceScope;
  readonly key: string;
  /** An entity slice's context bucket: an entity's lesson applies only in the bucket it was learned in. */
  readonly bucket?: string;
  critical: boolean;
  /** The mode of the latest labelled finding (a rule edited from deny to warn starts lower now). */
  mode: RuleMode;
  modeAt: number;
  readonly entities: Set<string>;
  /** Entities with a finding labelled false positive: a peer or bucket lesson needs several. */
  readonly falseEntities: Set<string>;
  readonly byReviewer: Map<string, ReviewerTally>;
}

export interface ModelOptions {
  readonly settings: LearnerSettings;
  /** Evaluation time (decay of old labels). */
  readonly now: string;
  /** Entry ids are `L<version>-<n>`. */
  readonly version: number;
  /** Policies by name, to keep critical rules above observe. */
  readonly policy?: (name: string) => PolicyMeta | undefined;
  /** The detector settings thresholds are calibrated from (default: context defaults). */
  readonly detectors?: ContextSettings["detectors"];
}

export interface ModelResult {
  readonly entries: LearnedEntry[];
  readonly calibration: DetectorCalibration;
  readonly reviewers: number;
}

const round = (value: number, step = 1e-4): number => Math.round(value / step) * step;
const round4 = (value: number): number => Math.round(value * 10_000) / 10_000;

function weightOf(observation: Observation, settings: LearnerSettings, nowMs: number): number {
  if (!(settings.halfLifeDays > 0)) return 1;
  const ageDays = Math.max(0, (nowMs - Date.parse(observation.at)) / 86_400_000);
  return Number.isFinite(ageDays) ? 0.5 ** (ageDays / settings.halfLifeDays) : 1;
}

/** Adds an observation to its slice; `counted` (already counted in this slice) only marks the slice critical. */
function add(slices: Map<string, Slice>, observation: Observation, scope: SliceScope, key: string, weight: number, counted = false, bucket?: string): void {
  const id = `${observation.policy}\u0000${observation.rule}\u0000${scope}\u0000${key}\u0000${bucket ?? ""}`;
  let slice = slices.get(id);
  const at = Date.parse(observation.at);
  if (slice === undefined) slices.set(id, (slice = { policy: observation.policy, rule: observation.rule, scope, key, ...(bucket === undefined ? {} : { bucket }), critical: false, mode: observation.mode, modeAt: at, entities: new Set(), falseEntities: new Set(), byReviewer: new Map() }));
  // As last seen, whatever order the records come in (feedback is listed by random id).
  else if (at >= slice.modeAt || Number.isNaN(slice.modeAt)) { slice.mode = observation.mode; slice.modeAt = at; }
  if (observation.severity === "critical") slice.critical = true;
  if (counted) return;
  const entity = observation.entity ?? observation.decisionId;
  slice.entities.add(entity);
  if (observation.label === "false_positive") slice.falseEntities.add(entity);
  let tally = slice.byReviewer.get(observation.by);
  if (tally === undefined) slice.byReviewer.set(observation.by, (tally = { tp: 0, fp: 0, incident: 0, rawTp: 0, rawFp: 0, rawIncident: 0 }));
  if (observation.label === "false_positive") { tally.fp += weight; tally.rawFp++; }
  else { tally.tp += weight; tally.rawTp++; }
  if (observation.label === "incident") { tally.incident += weight; tally.rawIncident++; }
}

/** Slice statistics with the per-reviewer cap applied. */
export function sliceStats(slice: Pick<Slice, "policy" | "rule" | "scope" | "key" | "bucket" | "critical" | "mode" | "entities" | "falseEntities" | "byReviewer">, settings: LearnerSettings): SliceStats & { readonly falseShare: number; readonly falseEntities: number } {
  let tp = 0, fp = 0, incident = 0, rawTp = 0, rawFp = 0, rawIncident = 0, leaning = 0, falseWeight = 0, weight = 0;
  for (const tally of slice.byReviewer.values()) {
    const total = tally.tp + tally.fp;
    if (total <= 0) continue;
    const scale = total > settings.maxPerReviewer ? settings.maxPerReviewer / total : 1;
    tp += tally.tp * scale;
    fp += tally.fp * scale;
    incident += tally.incident * scale;
    weight += total * scale;
    if (tally.fp > tally.tp) { leaning++; falseWeight += total * scale; }
    rawTp += tally.rawTp - tally.rawIncident;
    rawFp += tally.rawFp;
    rawIncident += tally.rawIncident;
  }
  const posterior = betaSummary(settings.prior.alpha + tp, settings.prior.beta + fp, settings.credible);
  return {
    policy: slice.policy, rule: slice.rule, scope: slice.scope, key: slice.key, ...(slice.bucket === undefined ? {} : { bucket: slice.bucket }),
    labels: { truePositive: rawTp, falsePositive: rawFp, incident: rawIncident },
    effective: { truePositive: round4(tp), falsePositive: round4(fp), incident: round4(incident) },
    reviewers: slice.byReviewer.size,
    entities: slice.entities.size,
    reviewersLeaningFalse: leaning,
    critical: slice.critical,
    mode: slice.mode,
    precision: { mean: round4(posterior.mean), lower: round4(posterior.lower), upper: round4(posterior.upper) },
    falseShare: weight > 0 ? falseWeight / weight : 0,
    falseEntities: slice.falseEntities.size,
  };
}

function where(stats: Pick<SliceStats, "scope" | "key">): string {
  if (stats.scope === "entity") return `for ${stats.key}`;
  if (stats.scope === "peer") {
    const at = stats.key.lastIndexOf("@");
    return `in peer group ${stats.key.slice(0, at).replace(/^peer:/, "")} (${stats.key.slice(at + 1)})`;
  }
  return `in ${stats.key}`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * The lowest shift that keeps a critical rule's tier above observe, when its policy is known;
 * never above 0 (a rule that already starts at observe is not shifted, never raised). The shift
 * also applies after an adaptive rule chose the tier (within a declared floor), so the lowest tier
 * an adaptive rule can choose counts as a start too.
 */
function criticalShiftLimit(policy: PolicyMeta | undefined, stats: SliceStats): number {
  if (policy === undefined) return -1;
  const start = findingTier({ policy: stats.policy, rule: stats.rule, revision: "", language: policy.language, effect: "violation", mode: stats.mode, severity: "critical", message: "", trace: [] }, policy);
  if (start === undefined) return -1;
  let lowest = start.tier;
  const floor = policy.enforcement?.floor;
  // Without a declared floor a shift cannot take an adaptive rule's tier lower (decide keeps it).
  if (floor !== undefined) {
    for (const rule of policy.enforcement?.adaptive ?? []) {
      const tier = clampTier(rule.tier, floor, policy.enforcement?.ceiling ?? "remediate");
      if (tierRank(tier) < tierRank(lowest)) lowest = tier;
    }
  }
  return Math.min(0, Math.max(-1, tierRank("notify") - tierRank(lowest)));
}

/** The lesson of one slice, or undefined when the slice has too little evidence to say anything. */
export function lessonOf(stats: SliceStats & { readonly falseShare: number; readonly falseEntities: number }, settings: LearnerSettings, policy: PolicyMeta | undefined): Omit<LearnedEntry, "id"> | undefined {
  const { effective, labels, precision } = stats;
  const evidence = effective.truePositive + effective.falsePositive;
  const { falseShare, falseEntities, ...base } = stats;
  const total = labels.truePositive + labels.falsePositive + labels.incident;
  const similar = `${plural(total, "similar finding")} ${where(stats)}`;
  if (effective.incident >= settings.raiseOnIncidents) {
    const riskDelta = round(Math.min(settings.maxRiskDelta, 0.05 * effective.incident), 0.05);
    return { ...base, riskDelta, tierShift: 1, citation: `${labels.incident} of ${similar} were confirmed incidents` };
  }
  if (evidence < settings.minEvidence) return undefined;
  if (precision.mean < settings.lowerRiskBelow) {
    const need = stats.critical ? settings.criticalMinReviewers : settings.minReviewers;
    const ruling = `${labels.falsePositive} of ${similar} were marked false positive`;
    if (stats.reviewersLeaningFalse < need) {
      return { ...base, citation: ruling, held: `not lowered: ${plural(stats.reviewersLeaningFalse, "reviewer")} lean false positive, ${need} needed${stats.critical ? " for a critical rule" : ""}` };
    }
    // Entities whose own findings were marked false positive: another entity's confirmed finding does not make one noisy entity a bucket's lesson.
    if (stats.scope !== "entity" && falseEntities < settings.minEntities) {
      return { ...base, citation: ruling, held: `not lowered for the ${stats.scope === "peer" ? "peer group" : "bucket"}: the false-positive findings are about ${falseEntities} ${falseEntities === 1 ? "entity" : "entities"}, ${settings.minEntities} needed (an entity's own lesson applies to it)` };
    }
    if (falseShare < settings.agreement) {
      return { ...base, citation: ruling, held: `not lowered: reviewers disagree (${Math.round(falseShare * 100)}% of the weight leans false positive, ${Math.round(settings.agreement * 100)}% needed)` };
    }
    const riskDelta = -round(Math.min(settings.maxRiskDelta, settings.maxRiskDelta * (1 - precision.mean / settings.lowerRiskBelow) + 0.05), 0.05);
    let tierShift = 0;
    if (precision.upper < settings.lowerTierBelow) tierShift = precision.upper < settings.lowerTierBelow / 3 ? -2 : -1;
    if (stats.critical) tierShift = Math.max(tierShift, criticalShiftLimit(policy, stats));
    return { ...base, ...(riskDelta !== 0 ? { riskDelta } : {}), ...(tierShift !== 0 ? { tierShift } : {}), citation: `${ruling} by ${plural(stats.reviewersLeaningFalse, "reviewer")}` };
  }
  if (precision.lower > 0.8) {
    return { ...base, riskDelta: 0.1, citation: `${labels.truePositive + labels.incident} of ${similar} were confirmed` };
  }
  return { ...base, citation: `${labels.truePositive + labels.incident} of ${similar} were confirmed: nothing to change` };
}

function thresholdsFor(detector: string, stats: SliceStats, settings: LearnerSettings, detectors: ContextSettings["detectors"]): DetectorThresholds | undefined {
  const strong = stats.precision.upper < settings.lowerTierBelow;
  const reason = `${stats.labels.falsePositive} of ${stats.labels.truePositive + stats.labels.falsePositive + stats.labels.incident} ${detector} findings ${where(stats)} were marked false positive`;
  if (detector === "spike") return { spike: { zThreshold: round4(detectors.spike.zThreshold * (strong ? 2 : 1.5)), minRatio: round4(detectors.spike.minRatio * (strong ? 1.5 : 1.25)) }, reason };
  if (detector === "oddHour") return { oddHour: { ratioThreshold: round4(detectors.oddHour.ratioThreshold * (strong ? 0.25 : 0.5)) }, reason };
  return undefined;
}

/** Runs the model over observations. Pure. */
export function learnModel(observations: readonly Observation[], options: ModelOptions): ModelResult {
  const { settings } = options;
  const nowMs = Date.parse(options.now);
  const slices = new Map<string, Slice>();
  const detectorSlices = new Map<string, Slice>();
  const reviewers = new Set<string>();
  // A label is about a decision: it counts once per detector slice, not once per rule the decision violated.
  const pooledLabels = new Set<string>();
  for (const observation of observations) {
    const weight = weightOf(observation, settings, nowMs);
    reviewers.add(observation.by);
    // An entity's lesson is kept per context bucket, as a peer group's is: none is wider than a bucket.
    if (observation.entity !== undefined) add(slices, observation, "entity", observation.entity, weight, false, observation.bucket);
    if (observation.peer !== undefined) add(slices, observation, "peer", `${observation.peer}@${observation.bucket}`, weight);
    add(slices, observation, "bucket", observation.bucket, weight);
    if (!settings.calibrateDetectors) continue;
    for (const [detector, owner] of Object.entries(observation.detectors)) {
      // Detector slices pool every policy whose finding the detector's signal accompanied.
      const pooled = { ...observation, policy: `detector:${detector}`, rule: "*" };
      const label = `${observation.decisionId}\u0000${observation.by}\u0000${detector}`;
      const counted = pooledLabels.has(label);
      pooledLabels.add(label);
      add(detectorSlices, pooled, "entity", owner, counted ? 0 : weight, counted, observation.bucket);
      if (detector === "oddHour" && observation.peer !== undefined) add(detectorSlices, pooled, "peer", `${observation.peer}@${observation.bucket}`, counted ? 0 : weight, counted);
    }
  }

  const entries: LearnedEntry[] = [];
  const ordered = [...slices.values()].sort((a, b) => a.policy.localeCompare(b.policy) || a.rule.localeCompare(b.rule) || a.scope.localeCompare(b.scope) || a.key.localeCompare(b.key) || (a.bucket ?? "").localeCompare(b.bucket ?? ""));
  for (const slice of ordered) {
    const lesson = lessonOf(sliceStats(slice, settings), settings, options.policy?.(slice.policy));
    if (lesson !== undefined) entries.push({ id: `L${options.version}-${entries.length + 1}`, ...lesson });
  }

  const detectors = options.detectors ?? defaultContextSettings.detectors;
  const entities: Record<string, DetectorThresholds> = {};
  const peers: Record<string, DetectorThresholds> = {};
  for (const slice of detectorSlices.values()) {
    const stats = sliceStats(slice, settings);
    const lesson = lessonOf(stats, settings, undefined);
    if (lesson === undefined || lesson.held !== undefined || !(lesson.riskDelta !== undefined && lesson.riskDelta < 0)) continue;
    const detector = slice.policy.slice("detector:".length);
    const thresholds = thresholdsFor(detector, stats, settings, detectors);
    if (thresholds === undefined) continue;
    // Thresholds stay within the bucket they were learned in (`entity@bucket`, `peer@bucket`): no slice is wider than a bucket.
    const target = slice.scope === "entity" ? entities : peers;
    const key = slice.scope === "entity" && slice.bucket !== undefined ? `${slice.key}@${slice.bucket}` : slice.key;
    const previous = target[key];
    target[key] = previous === undefined ? thresholds : { ...previous, ...thresholds, reason: [previous.reason, thresholds.reason].filter(Boolean).join("; ") };
  }
  return {
    entries,
    calibration: { ...(Object.keys(entities).length > 0 ? { entities } : {}), ...(Object.keys(peers).length > 0 ? { peers } : {}) },
    reviewers: reviewers.size,
  };
}
