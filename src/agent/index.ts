/**
 * The composition root (ARCHITECTURE.md): adapters chosen from configuration, stages wired into
 * the pipeline, the runtime services (tokens, feedback, ingest) the server and the CLI use.
 * Stages never import this folder (.dependency-cruiser.cjs).
 */
export { createAgent, type Agent, type AgentOptions, type AgentRole, type PolicyState, type PromotionResult } from "./runtime.js";
export { openStorage, openBus, maskConfigOf } from "./adapters.js";
export { createEvaluator, type Evaluator, type DecideOptions, type LookupSources } from "./evaluator.js";
export { createRegistryClient } from "../context/kubernetes/registry-client.js";
export { openImageRegistry } from "./image-registry.js";
export { watchKubernetesCluster } from "../context/kubernetes/cluster-cache.js";
export { createCleanupSweep, cleanupEvent, type CleanupSweep, type CleanupRun, type CleanupSweepOptions } from "./cleanup.js";
export { loadPolicySet, builtinPolicies, createPolicyCatalog, PROMOTION_COLLECTION, type PolicyCatalog, type PolicySummary, type Promotion } from "./policies.js";
export { createPipeline, type Pipeline, type PipelineOptions, type DecideEventOptions, type EnforceStep, type Exemptions, type DecisionLearning } from "./pipeline.js";
export { createIngestor, encodeBatch, decodeBatch, EVENTS_SUBJECT, WORKER_GROUP, type Ingestor, type AcceptResult, type IngestStats } from "./ingest.js";
export { createWorker, type Worker } from "./worker.js";
export { createTokenService, parseRoles, roleAllows, roles, tokenIdOf, TOKEN_COLLECTION, type Role, type Principal, type TokenInfo, type TokenService } from "./tokens.js";
export { createStorageDeliveryIdStore, DELIVERY_COLLECTION } from "./delivery-ids.js";
export { createFeedbackService, FEEDBACK_COLLECTION, type FeedbackService, type FeedbackServiceOptions, type FeedbackRequest } from "./feedback.js";
export { startLearning, learnerSettingsFrom, type Learning, type LearningOptions, type LearningTickResult } from "./learning.js";
export { createManualClock, createEventClock, clockFromConfig, type ManualClock, type EventClock } from "./clock.js";
export { resolvePackSettings, discoverPackSettings, readPackSettings, mergeSection, PACK_SECTIONS, type PackSection, type EffectiveSettings, type PackSettingsFile } from "./pack-settings.js";
export { createPackRuntime, type PackRuntime, type PackRuntimeOptions } from "./pack-runtime.js";
export { importSetup, parseSetup, type Setup, type SetupEntity, type SetupException, type SetupImportResult } from "./setup.js";
export { createMetrics, type Metrics } from "./metrics.js";
export { createBulkDecisionRecorder, createWorkerDecisionRecorder, workerCanRecord, type BulkDecisionRecorder, type WorkerDecisionRecorder } from "./record-worker.js";
export { createDecisionRecorder, type DecisionRecorder } from "./decision-recorder.js";
export { decisionIdFor } from "./decision-id.js";
export { bootstrapAdminToken, type AdminBootstrap } from "./bootstrap.js";
export { loadExemptions } from "./exemptions.js";
export { createReplaySession, type ReplaySession, type ReplaySessionOptions, type ReplayStats } from "./replay.js";
export { createPreviewActuators } from "./preview-actuators.js";
export { replayDecisionIdFor } from "./decision-id.js";
