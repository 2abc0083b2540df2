import { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { S3Client } from "@aws-sdk/client-s3";
import { optionalPositiveInteger, requireText, requireUrl } from "./config-checks.js";
import { ActuatorApiError } from "./define.js";
import type { AwsActuatorConfig } from "./types.js";

export interface AwsClients {
  readonly s3: S3Client;
  readonly ec2: EC2Client;
  readonly iam: IAMClient;
  readonly timeoutMs: number;
}

/**
 * Builds the three SDK v3 clients with static credentials (so every request is SigV4-signed with
 * them, never with ambient credentials), an optional endpoint override and request timeouts.
 * IAM is global: it signs for us-east-1 whatever `region` says. Throws VIGIL_BAD_CONFIG naming the field.
 */
export function createAwsClients(config: AwsActuatorConfig): AwsClients {
  const region = requireText("actuators.aws.region", config.region);
  const credentials = {
    accessKeyId: requireText("actuators.aws.credentials.accessKeyId", config.credentials?.accessKeyId),
    secretAccessKey: requireText("actuators.aws.credentials.secretAccessKey", config.credentials?.secretAccessKey),
    ...(config.credentials?.sessionToken === undefined ? {} : { sessionToken: config.credentials.sessionToken }),
  };
  optionalPositiveInteger("actuators.aws.maxAttempts", config.maxAttempts);
  optionalPositiveInteger("actuators.aws.timeoutMs", config.timeoutMs);
  const timeoutMs = config.timeoutMs ?? 10_000;
  const endpointFor = (service: "s3" | "ec2" | "iam"): { endpoint?: string } => {
    const value = config.endpoints?.[service] ?? config.endpoint;
    return value === undefined ? {} : { endpoint: requireUrl(config.endpoints?.[service] === undefined ? "actuators.aws.endpoint" : `actuators.aws.endpoints.${service}`, value) };
  };
  const common = {
    credentials,
    maxAttempts: config.maxAttempts ?? 3,
    requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs },
  };
  const s3Endpoint = endpointFor("s3");
  return {
    // A custom S3 endpoint has no per-bucket DNS names: address buckets in the path.
    s3: new S3Client({ ...common, region, ...s3Endpoint, forcePathStyle: s3Endpoint.endpoint !== undefined }),
    ec2: new EC2Client({ ...common, region, ...endpointFor("ec2") }),
    iam: new IAMClient({ ...common, region: "us-east-1", ...endpointFor("iam") }),
    timeoutMs,
  };
}

interface SdkError {
  readonly name?: string;
  readonly message?: string;
  readonly Code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly requestId?: string };
}

/** The AWS error code of an SDK error (`NoSuchEntity`, `OperationNotPermitted`, …), if it has one. */
export function awsErrorCode(error: unknown): string | undefined {
  const failure = error as SdkError | undefined;
  return failure?.Code ?? (failure?.$metadata?.httpStatusCode === undefined ? undefined : failure.name);
}

/** Turns an SDK error into an ActuatorApiError naming the operation, HTTP status, AWS error code and message. */
export function awsError(error: unknown, operation: string): ActuatorApiError {
  const failure = (error ?? {}) as SdkError;
  const status = failure.$metadata?.httpStatusCode;
  const code = awsErrorCode(error);
  if (status === undefined) {
    return new ActuatorApiError(`AWS ${operation} got no answer: ${failure.message ?? String(error)}`, { cause: error });
  }
  const requestId = failure.$metadata?.requestId;
  return new ActuatorApiError(`AWS ${operation} answered HTTP ${status}${code ? ` ${code}` : ""}: ${failure.message ?? "(no message)"}${requestId ? ` (request id ${requestId})` : ""}`, {
    status,
    ...(code ? { apiCode: code } : {}),
    cause: error,
  });
}

/** Runs one SDK call, mapping any failure through `awsError`. */
export async function awsCall<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw awsError(error, operation);
  }
}
