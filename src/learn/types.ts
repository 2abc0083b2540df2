/**
 * The learner's data: labelled observations (feedback joined with the decisions it is about),
 * settings, slices with their precision posteriors, learned entries and the versioned state.
 */
import type { FeedbackLabel } from "../core/feedback.js";
import type { RuleMode, Severity } from "../core/policy.js";
import type { DetectorCalibration } from "../context/calibration.js";

/**
 * Where a lesson applies, most specific first: one entity (the principal, else the resource or the
 * event subject), a peer group within a context bucket, or a whole context bucket
 * (`<environment>/<criticality>/<posture>`, decide's `contextBucket`). There is no scope wider
 * than a bucket: a lesson learned in development never lowers risk in production.
 */
export type SliceScope = "entity" | "peer" | "bucket";

export const sliceScopes: readonly SliceScope[] = ["entity", "peer", "bucket"];

/** One violation finding of a decision with one person's label on that decision. */
export interface Observation {
  readonly feedbackId: string;
  readonly decisionId: string;
  readonly policy: string;
  readonly rule: string;
  readonly severity: Severity;
  /** The rule's mode (deny | warn | audit): with the policy's enforcement it gives the start tier. */
  readonly mode: RuleMode;
  readonly label: FeedbackLabel;
  readonly by: string;
  /** When the label was given (RFC 3339). */
  readonly at: string;
  readonly via: string;
  /** The decision's context keys (see `learningKeys`). */
  readonly bucket: string;
  readonly entity?: string;
  readonly peer?: string;
  /** Detectors that fired for the decision, with the entity each scored (`spike` → `resource/i-1`). */
  readonly detectors: Readonly<Record<string, string>>;
}

export interface LearnerSettings {
  /** Beta prior of a rule's precision (pseudo-counts of true and false positives). Default 1 / 1 (uniform). */
  readonly prior: { readonly alpha: number; readonly beta: number };
  /** Width of the credible interval used for decisions (default 0.9). */
  readonly credible: number;
  /** Most labels one reviewer counts for in one slice (default 5): one person cannot outvote the rest by volume. */
  readonly maxPerReviewer: number;
  /** Distinct reviewers leaning false positive needed before risk or tier is lowered (default 2). */
  readonly minReviewers: number;
  /** The same for rules with critical findings (default 3). */
  readonly criticalMinReviewers: number;
  /** Share of the (capped) reviewer weight that must lean false positive before lowering (default 0.7). */
  readonly agreement: number;
  /** Distinct entities a peer-group or bucket lesson needs before it lowers anything (default 2): one noisy entity gets its own lesson, not the bucket's. */
  readonly minEntities: number;
  /** Effective (capped, decayed) labels a slice needs before it says anything (default 4). */
  readonly minEvidence: number;
  /** Lower the tier one step when the upper credible bound of precision is below this (default 0.3). */
  readonly lowerTierBelow: number;
  /** Lower risk (not the tier) when the mean precision is below this (default 0.5). */
  readonly lowerRiskBelow: number;
  /** Confirmed incidents (effective) that move a slice's tier one step up (default 2). */
  readonly raiseOnIncidents: number;
  /** Largest risk change a lesson makes (default 0.3). */
  readonly maxRiskDelta: number;
  /** Labels lose half their weight after this many days (default 90; 0 = never). */
  readonly halfLifeDays: number;
  /** Learn per-entity and per-peer detector thresholds (default true). */
  readonly calibrateDetectors: boolean;
  /** Feedback given by these actors is ignored (automation; default `vigil:*`, which is ignored whatever this lists). */
  readonly ignoreActors: readonly string[];
}

export const defaultLearnerSettings: LearnerSettings = {
  prior: { alpha: 1, beta: 1 },
  credible: 0.9,
  maxPerReviewer: 5,
  minReviewers: 2,
  criticalMinReviewers: 3,
  agreement: 0.7,
  minEntities: 2,
  minEvidence: 4,
  lowerTierBelow: 0.3,
  lowerRiskBelow: 0.5,
  raiseOnIncidents: 2,
  maxRiskDelta: 0.3,
  halfLifeDays: 90,
  calibrateDetectors: true,
  ignoreActors: ["vigil:*"],
};

/** Evidence of one slice, as `vigil learn show` prints it. */
export interface SliceStats {
  readonly policy: string;
  readonly rule: string;
  readonly scope: SliceScope;
  /** The entity key, `peer@bucket`, or the bucket. */
  readonly key: string;
  /**
   * An entity lesson's context bucket: it applies to the entity in that bucket only (a lesson
   * learned in development never lowers the same principal in production). Absent on entity
   * lessons stored before it was kept, which apply to the entity in every bucket.
   */
  readonly bucket?: string;
  /** Raw label counts (what people said). */
  readonly labels: { readonly truePositive: number; readonly falsePositive: number; readonly incident: number };
  /** Capped, decayed counts the posterior uses. */
  readonly effective: { readonly truePositive: number; readonly falsePositive: number; readonly incident: number };
  readonly reviewers: number;
  /** Distinct entities the labelled findings were about. */
  readonly entities: number;
  /** Reviewers whose own labels lean false positive. */
  readonly reviewersLeaningFalse: number;
  readonly critical: boolean;
  /** The rule's mode as last seen (deny | warn | audit). */
  readonly mode: RuleMode;
  /** Beta posterior of precision: mean and credible bounds. */
  readonly precision: { readonly mean: number; readonly lower: number; readonly upper: number };
}

/** A learned entry: a slice's lesson (or an explicit "hold": enough evidence, nothing to change). */
export interface LearnedEntry extends SliceStats {
  /** Stable id, cited as `ref` in explanations: `L<version>-<n>`. */
  readonly id: string;
  readonly riskDelta?: number;
  readonly tierShift?: number;
  /** Why, in plain words; shown in explanations. */
  readonly citation: string;
  /** Why nothing was lowered although precision is low (one reviewer, no agreement...). */
  readonly held?: string;
}

/** The learned state: one immutable version, chained to its parent. */
export interface LearnedState {
  readonly schema: 1;
  readonly version: number;
  /** The version this one replaced; null for the first. */
  readonly parent: number | null;
  readonly createdAt: string;
  readonly createdBy: string;
  /** update | reset */
  readonly kind: "update" | "reset";
  readonly reason: string;
  /** Feedback given before this time is not used (set by a reset, inherited by later updates). */
  readonly feedbackSince?: string;
  readonly settings: LearnerSettings;
  readonly feedbackUsed: number;
  readonly reviewers: number;
  readonly entries: readonly LearnedEntry[];
  readonly calibration: DetectorCalibration;
}
