/**
 * The built-in actuators: one Actuator per action kind, for webhook, Slack, GitHub, Kubernetes,
 * AWS and Okta. The executor (src/act) chooses an actuator by `ActionPlan.actuator` and owns the
 * guardrails (kill switch, allowlists, blast radius, dry-run promotion, idempotency records);
 * actuators only validate, act (or preview), and record what undo needs.
 */
import { VigilError, systemClock } from "../../core/index.js";
import type { Actuator } from "../../core/index.js";
import { awsEc2StopInstancesSpec, awsIamDeactivateAccessKeySpec, awsS3BlockPublicAccessSpec, createAwsActuators } from "./aws.js";
import { sleepFor } from "./define.js";
import { createGitHubActuators, githubCheckRunSpec, githubCommitStatusSpec, githubPrCommentSpec } from "./github.js";
import { createKubernetesActuators, kubernetesAnnotateSpec, kubernetesCreateSpec, kubernetesDeletePodSpec, kubernetesDeleteSpec, kubernetesLabelSpec, kubernetesPatchSpec, kubernetesScaleToZeroSpec } from "./kubernetes.js";
import { createOktaActuators, oktaSuspendSpec, oktaUnsuspendSpec } from "./okta.js";
import { validateParams } from "./params.js";
import { createSlackActuator, slackMessageSpec } from "./slack.js";
import type { ActionKindSpec, ActuatorRuntime, BuiltinActuatorsConfig } from "./types.js";
import { createWebhookActuator, webhookPostSpec } from "./webhook.js";

export type * from "./types.js";
export { ActuatorApiError, defineActuator } from "./define.js";
export type { ActuatorOperations, OperationContext } from "./define.js";
export { validateParams } from "./params.js";
export {
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_IDEMPOTENCY_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  signWebhook,
  verifyWebhookSignature,
} from "./webhook-signature.js";
export type { WebhookVerification } from "./webhook-signature.js";
export { createWebhookActuator } from "./webhook.js";
export { createSlackActuator } from "./slack.js";
export { createGitHubActuators } from "./github.js";
export { createKubernetesActuators } from "./kubernetes.js";
export { createAwsActuators } from "./aws.js";
export { createOktaActuators } from "./okta.js";

/** Every built-in action kind with its params, undo and dry-run behaviour, in documentation order. */
export const builtinActionKinds: readonly ActionKindSpec[] = [
  webhookPostSpec,
  slackMessageSpec,
  githubCommitStatusSpec,
  githubCheckRunSpec,
  githubPrCommentSpec,
  kubernetesScaleToZeroSpec,
  kubernetesLabelSpec,
  kubernetesAnnotateSpec,
  kubernetesDeletePodSpec,
  kubernetesDeleteSpec,
  kubernetesPatchSpec,
  kubernetesCreateSpec,
  awsS3BlockPublicAccessSpec,
  awsEc2StopInstancesSpec,
  awsIamDeactivateAccessKeySpec,
  oktaSuspendSpec,
  oktaUnsuspendSpec,
];

/** The spec of one kind, or undefined when no built-in actuator offers it. */
export function describeActionKind(kind: string): ActionKindSpec | undefined {
  return builtinActionKinds.find((spec) => spec.kind === kind);
}

/**
 * Validates a planned action's params against its kind without any configuration (e.g. when a
 * policy is loaded). Throws VigilError(VIGIL_BAD_INPUT) naming the unknown kind or the param.
 */
export function validateBuiltinAction(kind: string, params: Readonly<Record<string, unknown>>): void {
  const spec = describeActionKind(kind);
  if (spec === undefined) {
    throw new VigilError("VIGIL_BAD_INPUT", `unknown action kind "${kind}"; built-in kinds: ${builtinActionKinds.map((item) => item.kind).join(", ")}`, { field: "actuator" });
  }
  validateParams(spec, params);
}

/**
 * Creates the built-in actuators for the configured providers (a provider without a config
 * section offers none). Validates the configuration and throws VigilError(VIGIL_BAD_CONFIG)
 * naming the field (`actuators.github.token`, …). Returned actuators never reject from `apply`
 * or `undo`: failures are ActionResults with status `failed`.
 */
export function createBuiltinActuators(config: BuiltinActuatorsConfig): Actuator[] {
  const runtime: ActuatorRuntime = { clock: config.clock ?? systemClock, sleep: config.sleep ?? sleepFor };
  return [
    ...(config.webhook ? [createWebhookActuator(config.webhook, runtime)] : []),
    ...(config.slack ? [createSlackActuator(config.slack, runtime)] : []),
    ...(config.github ? createGitHubActuators(config.github, runtime) : []),
    ...(config.kubernetes ? createKubernetesActuators(config.kubernetes, runtime) : []),
    ...(config.aws ? createAwsActuators(config.aws, runtime) : []),
    ...(config.okta ? createOktaActuators(config.okta, runtime) : []),
  ];
}
