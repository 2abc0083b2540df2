/**
 * A CloudEvents 1.0 event (structured-mode JSON shape). `data` is the upstream system's own
 * record, unchanged. See shared design EVENTS.md for the types Vigil understands.
 */
export interface Event<Data = unknown> {
  readonly specversion: "1.0";
  /** Unique per `source`; the idempotency key of ingestion. */
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  /** RFC 3339 timestamp. */
  readonly time?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  readonly data?: Data;
  /** CloudEvents extension attributes (lower-case alphanumeric names). */
  readonly [extension: string]: unknown;
}

/** The well-known event types (EVENTS.md). Unknown types are accepted too. */
export const EventTypes = {
  cloudTrail: "com.amazonaws.cloudtrail",
  oktaSystemLog: "com.okta.system.log",
  githubPrefix: "com.github.",
  dependencyChange: "dev.vigil.dependency.change",
  admissionReview: "io.k8s.admission.review",
  kubernetesResource: "io.k8s.resource",
  focusCost: "org.finops.focus.cost",
  metric: "dev.vigil.metric",
  resource: "dev.vigil.resource",
  dataflow: "dev.vigil.dataflow",
  /** A Terraform plan as `terraform show -json <planfile>` prints it (src/sources/terraform.ts). */
  terraformPlan: "com.hashicorp.terraform.plan",
  posture: "dev.vigil.posture",
  /** An object a Kyverno cleanup policy selected at a scheduled run (src/agent/cleanup.ts). */
  cleanupCandidate: "dev.vigil.cleanup.candidate",
  /** A request (AdmissionReview) or an existing object that triggers Kyverno mutate-existing rules (mutate.targets), evaluated asynchronously. */
  mutateExistingTrigger: "dev.vigil.mutate.existing",
  /** A request (AdmissionReview) that triggers Kyverno generate rules or GeneratingPolicies, evaluated asynchronously: the generated objects are created as actions. */
  generateTrigger: "dev.vigil.generate",
  feedback: "dev.vigil.feedback",
  /** A direct authorization / decide request (`POST /v1/decide`, `vigil eval`). */
  decideRequest: "dev.vigil.decide",
} as const;
