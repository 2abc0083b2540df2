/**
 * The context stage (docs/context.md): entity resolution, the entity store, online baselines,
 * detectors and posture. The pipeline uses `createContextStage`; the rest is exported for the
 * server (posture / entity APIs), packs (settings) and tests.
 */
export { createContextStage, BASELINE_COLLECTION, type ContextEnricher, type ContextExtras, type ContextStage, type ContextStageOptions, type ContextStats, type EntityView } from "./stage.js";
export { defaultContextSettings, resolveContextSettings, seenDimensions, type ContextSettings, type ContextSettingsInput, type SeenDimension } from "./settings.js";
export { resolveEvent, type Observation, type ResolvedEvent } from "./resolve.js";
export { ENTITY_COLLECTION, type EntityUpdate, type RecentFinding } from "./entity-store.js";
export { POSTURE_COLLECTION, postureRank, validatePostureInput, type PostureInput } from "./posture.js";
export { compileSchedule, type CompiledSchedule } from "./schedule.js";
export { detectorNames, type DetectorName } from "./detectors/signal.js";
export { applyDetectorCalibration, validateCalibration, type DetectorCalibration, type DetectorThresholds } from "./calibration.js";
