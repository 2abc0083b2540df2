/**
 * The public surface of the learn stage (docs/learning.md): feedback, the learner (precision per
 * slice, learned state with versions and checksums, detector calibration), replay comparison,
 * shadow-mode figures and policy proposals. The agent, the CLI and benchmarks import from here.
 */
export { recordFeedback, parseFeedbackEvent, type FeedbackRequest, type FeedbackEvent } from "./feedback.js";
export { createLearner, LEARNER_ACTOR, type Learner, type LearnerOptions, type UpdateResult } from "./learner.js";
export { checkLearnerSettings } from "./settings.js";
export { learningKeys, learningLabels, decisionKeys, LEARN_LABELS, type LearningKeys } from "./keys.js";
export { createLearnedLookup, type LearnedLookup } from "./lookup.js";
export { learnModel, lessonOf, sliceStats, type ModelOptions, type ModelResult } from "./model.js";
export { collectObservations, listAll, type Collected, type CollectOptions } from "./observations.js";
export {
  loadLearnedState, saveLearnedState, listVersions, getVersion, stateChecksum, canonicalJson, validateState, versionId,
  LEARN_COLLECTION, HEAD_ID, type LoadedState, type StateHead, type VersionSummary,
} from "./state-store.js";
export { betaCdf, betaQuantile, betaSummary, type BetaSummary } from "./beta.js";
export { defaultLearnerSettings, sliceScopes, type LearnedState, type LearnedEntry, type LearnerSettings, type Observation, type SliceScope, type SliceStats } from "./types.js";
export { compareReplay, createReplaySide, checkFpBudget, parseFpBudget, isAlert, truthLabel, eventTime, FiguresTally, type ReplaySide, type ReplaySideOptions, type CompareReport, type CompareOptions, type EventDifference, type SideFigures, type FpBudget, type BudgetCheck, type Label } from "./compare.js";
export { shadowReport, formatShadowReport, type ShadowReport, type ShadowOptions, type ShadowExample } from "./shadow.js";
export { mineProposals, listProposals, getProposal, acceptProposal, rejectProposal, PROPOSALS_COLLECTION, type Proposal, type ProposalStatus, type MineOptions } from "./proposals.js";
export { unifiedDiff } from "./text-diff.js";
