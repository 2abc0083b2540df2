/**
 * The sources stage: pure library functions that turn wire formats into CloudEvents 1.0
 * (`Event` from core). The HTTP server and the CLI call these; nothing here does network I/O
 * or keeps global state. See docs/events.md for every format and its mapping.
 */

export {
  describeResult,
  type FieldProblem,
  type IngestFailure,
  type IngestResult,
  type IngestSuccess,
  type ItemPosition,
} from "./results.js";
export { canonicalJson, contentId, createContentIdAllocator, isRfc3339, normalizeTimestamp, type ContentIdAllocator } from "./values.js";

// CloudEvents: JSON format, batch, HTTP binding.
export {
  CLOUDEVENTS_BATCH_JSON,
  CLOUDEVENTS_JSON,
  isJsonMediaType,
  parseCloudEvent,
  parseCloudEventBatch,
  type CloudEventOptions,
} from "./cloudevents.js";
export {
  decodeHeaderValue,
  parseBinaryCloudEvent,
  parseHttpCloudEvents,
  type HttpCloudEventsRequest,
  type HttpCloudEventsResult,
  type HttpContentMode,
} from "./http-binding.js";
export type { HeaderBag } from "./headers.js";
export { isKnownEventType, validateEventData } from "./event-data.js";

// Streams and files.
export { readJsonLines, readLines, type JsonLinesOptions, type LineConverter, type LineOfText, type TextChunks } from "./json-lines.js";
export {
  classifyDocument,
  classifyItem,
  detectFormat,
  ingestStream,
  ingestText,
  type IngestFormat,
  type IngestOptions,
  type IngestOutcome,
  type ItemKind,
} from "./ingest.js";
export { CsvParser, parseCsv, parseCsvStream, type CsvField, type CsvRecord } from "./csv.js";

// Upstream systems.
export {
  createMemoryDeliveryIdStore,
  githubPayloadToEvent,
  githubSource,
  githubSubject,
  receiveGithubWebhook,
  signGithubPayload,
  verifyGithubSignature,
  type DeliveryIdStore,
  type GithubWebhookConfig,
  type GithubWebhookRequest,
  type GithubWebhookResult,
  type MemoryDeliveryIdStoreOptions,
} from "./github.js";
export {
  CLOUDTRAIL_DETAIL_TYPE,
  EVENTBRIDGE_TYPE,
  cloudTrailFileToEvents,
  cloudTrailPrincipal,
  cloudTrailRecordToEvent,
  cloudTrailSource,
  eventBridgeToEvent,
  validateCloudTrailRecord,
  type CloudTrailOptions,
} from "./cloudtrail.js";
export { oktaEventHookToEvents, oktaEventToEvent, oktaLogToEvents, OKTA_EVENT_HOOK_TYPE, validateOktaEvent, type OktaOptions } from "./okta.js";
export {
  FOCUS_1_0_COLUMNS,
  FOCUS_1_0_REQUIRED_COLUMNS,
  FocusCsvReader,
  focusCsvToEvents,
  focusRowToEvent,
  focusRowsToEvents,
  readFocusCsv,
  validateFocusRow,
  type FocusOptions,
} from "./focus.js";
export {
  kubernetesManifestsToEvents,
  kubernetesObjectsToEvents,
  kubernetesSubject,
  readKubernetesManifestDirectory,
  validateKubernetesObject,
  type KubernetesOptions,
} from "./kubernetes.js";
export {
  ADMISSION_API_VERSIONS,
  ADMISSION_OPERATIONS,
  admissionReviewToEvent,
  admissionSubject,
  validateAdmissionReview,
  type AdmissionOptions,
} from "./admission.js";
export {
  TERRAFORM_PLAN_MAJOR_VERSIONS,
  looksLikeTerraformPlan,
  terraformPlanTextToEvent,
  terraformPlanToEvent,
  validateTerraformPlan,
  type TerraformPlanOptions,
} from "./terraform.js";
export {
  FEEDBACK_LABELS,
  POSTURE_LEVELS,
  createVigilEvent,
  isVigilDataType,
  validateDataflow,
  validateDependencyChange,
  validateFeedback,
  validateMetric,
  validatePosture,
  validateResource,
  type VigilDataType,
  type VigilEventOptions,
} from "./vigil-data.js";
