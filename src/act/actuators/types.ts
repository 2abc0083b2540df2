import type { Clock } from "../../core/index.js";

/** The JSON type a parameter must have. `string[]` is a non-empty array of non-empty strings. */
export type ParamType = "string" | "integer" | "boolean" | "object" | "array" | "string[]" | "string-map";

/** One parameter of an action kind: used to validate plans and to write the docs. */
export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  readonly required: boolean;
  readonly description: string;
  /** Allowed values (strings only). */
  readonly enum?: readonly string[];
  /** For strings: a regular expression the whole value must match. */
  readonly pattern?: RegExp;
  /** For integers: inclusive bounds. */
  readonly min?: number;
  readonly max?: number;
  /** Value used when the param is absent (documented; the actuator applies it). */
  readonly default?: string | number | boolean;
  /** For `string-map`: values may be `null` (meaning "remove this key"). */
  readonly nullableValues?: boolean;
}

/** Which remote system an action kind talks to; one configuration section each. */
export type ActuatorProvider = "webhook" | "slack" | "github" | "kubernetes" | "aws" | "okta";

/** Everything a reader (docs/actuators.md) needs to know about one action kind. */
export interface ActionKindSpec {
  /** The `ActionPlan.actuator` value, e.g. `aws.s3.block-public-access`. */
  readonly kind: string;
  readonly provider: ActuatorProvider;
  /** One line: what the action does. */
  readonly summary: string;
  readonly params: readonly ParamSpec[];
  /** False when `undo` cannot reverse it (a sent message, a deleted pod). */
  readonly reversible: boolean;
  /** One line: what `undo` does (or why it cannot). */
  readonly undo: string;
  /** One line: what `apply` with `dryRun: true` does (never a mutating request). */
  readonly dryRun: string;
}

/**
 * What every actuator shares: the clock for `ActionResult.at` and webhook timestamps, and the
 * sleep used between retries (tests inject one that does not wait).
 */
export interface ActuatorRuntime {
  readonly clock: Clock;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Retry and timeout settings of the HTTP-based actuators (webhook, slack, okta). */
export interface HttpClientConfig {
  /** Per attempt, in milliseconds. Default 10000. */
  readonly timeoutMs?: number;
  /** Attempts in total, including the first. Default 3. */
  readonly maxAttempts?: number;
  /** First backoff delay; doubles per attempt up to 30 s. Default 500. */
  readonly baseDelayMs?: number;
}

/** One receiver of the generic webhook actuator. */
export interface WebhookEndpointConfig {
  readonly url: string;
  /** HMAC-SHA256 key for `X-Vigil-Signature-256`. */
  readonly secret: string;
  /** Extra headers sent with every request (e.g. a static bearer token of the receiver). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface WebhookActuatorConfig extends HttpClientConfig {
  /** Named receivers; params choose one with `endpoint` (default `default`). */
  readonly endpoints: Readonly<Record<string, WebhookEndpointConfig>>;
}

export interface SlackActuatorConfig extends HttpClientConfig {
  /** Named incoming-webhook URLs (they are secrets); params choose one with `webhook`. */
  readonly webhooks: Readonly<Record<string, string>>;
}

export interface GitHubActuatorConfig {
  /** A token (PAT, GitHub App installation token); sent as `Authorization: token …`. */
  readonly token: string;
  /** REST API root. Default `https://api.github.com`; GHES: `https://HOST/api/v3`. */
  readonly baseUrl?: string;
  readonly timeoutMs?: number;
  /** Prefix of the User-Agent header. Default `vigil`. */
  readonly userAgent?: string;
  /** Attempts in total per request, including the first (rate limits, 5xx, no answer). Default 3. */
  readonly maxAttempts?: number;
  /** First backoff delay after a 5xx or no answer; doubles per attempt up to 30 s. Default 1000. */
  readonly baseDelayMs?: number;
}

export interface KubernetesActuatorConfig {
  /** API server URL, e.g. `https://10.0.0.1:6443`. */
  readonly server: string;
  /** Bearer token (a ServiceAccount token). */
  readonly token: string;
  /** PEM of the cluster CA, base64-encoded as in a kubeconfig. */
  readonly caData?: string;
  readonly skipTlsVerify?: boolean;
  readonly timeoutMs?: number;
}

export interface AwsActuatorConfig {
  /** Region of S3 and EC2 calls (IAM is global and always signs for us-east-1). */
  readonly region: string;
  readonly credentials: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** One endpoint for every service (LocalStack, a test server), or one per service. */
  readonly endpoint?: string;
  readonly endpoints?: { readonly s3?: string; readonly ec2?: string; readonly iam?: string };
  /** Per request. Default 10000. */
  readonly timeoutMs?: number;
  /** SDK attempts in total (the SDK retries throttling and 5xx). Default 3. */
  readonly maxAttempts?: number;
}

export interface OktaActuatorConfig extends HttpClientConfig {
  /** Org URL, e.g. `https://example.okta.com`. */
  readonly orgUrl: string;
  /** API token; sent as `Authorization: SSWS <token>`. */
  readonly token: string;
}

/** Configuration of `createBuiltinActuators`: a section per provider; absent sections offer no actuators. */
export interface BuiltinActuatorsConfig {
  readonly webhook?: WebhookActuatorConfig;
  readonly slack?: SlackActuatorConfig;
  readonly github?: GitHubActuatorConfig;
  readonly kubernetes?: KubernetesActuatorConfig;
  readonly aws?: AwsActuatorConfig;
  readonly okta?: OktaActuatorConfig;
  readonly clock?: ActuatorRuntime["clock"];
  readonly sleep?: ActuatorRuntime["sleep"];
}
