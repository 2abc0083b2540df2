/**
 * The public surface of the decide stage: risk, adaptive tiers, exceptions/overrides matching,
 * learned adjustments and explanations. The act and review stages, the agent and the CLI import
 * from here.
 */
export { buildDecision, findingTier, scoreRisk, severityWeight, modeWeight, type BuildDecisionOptions } from "./decision.js";
export { decisionOutput, type DecisionOutput } from "./output.js";
export { createDecider, appliedRefs, type Decider, type DeciderOptions, type DecideOptions, type AppliedRefs } from "./decider.js";
export {
  scoreDecisionRisk, riskWeights, defaultRiskWeights, contextBucket, contextEnvironment, entityEnvironment, assetCriticality, signalConfidence,
  type RiskWeights, type Criticality, type EnvironmentClass,
} from "./risk.js";
export { adaptiveFindingTier, defaultTierSettings, type TierSettings, type TierInput, type TierChoice } from "./tiers.js";
export {
  applyExemptions, exceptionActive, overrideActive, globMatch, subjectSelectorMatches, findingEntity,
  type AppliedExemption, type ExemptionInput, type ExemptionResult,
} from "./exemptions.js";
export { learnedFromList, validateAdjustment, noLearning, type LearnedAdjustment, type LearnedAdjustments, type AppliedAdjustment } from "./learned.js";
export {
  createConditionCache, policyVariables, activationForPolicy, metaOf,
  type ConditionCache, type ConditionOutcome, type PolicyHandle, type PolicyLookup,
} from "./conditions.js";
