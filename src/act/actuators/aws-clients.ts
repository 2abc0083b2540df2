import type { EC2Client } from "@aws-sdk/client-ec2";
import type { IAMClient } from "@aws-sdk/client-iam";
import type { S3Client } from "@aws-sdk/client-s3";
import { optionalPositiveInteger, requireText, requireUrl } from "./config-checks.js";
import { ActuatorApiError } from "./define.js";
import type { AwsActuatorConfig } from "./types.js";

/** The SDK modules and their clients, loaded on first use (the SDK takes ~0.6 s to import). */
export interface AwsSdk {
  readonly s3: S3Client;
  readonly ec2: EC2Client;
  readonly iam: IAMClient;
  readonly S3: typeof import("@aws-sdk/client-s3");
  readonly EC2: typeof import("@aws-sdk/client-ec2");
  readonly IAM: typeof import("@aws-sdk/client-iam");
}

export interface AwsClients {
  readonly timeoutMs: number;
  /** The configured region (actuators.aws.region). */
  readonly region: string;
  /** Imports the SDK and builds the three clients once; later calls return the same clients. */
  sdk(): Promise<AwsSdk>;
  /**
   * An EC2 client for `region` (EC2 is regional: an instance exists in one region only), signed for
   * it; the configured region's is `sdk().ec2`. Built once per region.
   */
  ec2In(region: string): Promise<EC2Client>;
}

/**
 * Builds the three SDK v3 clients with static credentials (so every request is SigV4-signed with
 * them, never with ambient credentials), an optional endpoint override and request timeouts.
 * IAM is global: it signs for us-east-1 whatever `region` says (in the China and GovCloud partitions,
 * for the configured region). Throws VIGIL_BAD_CONFIG naming the field.
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
  const ec2Endpoint = endpointFor("ec2");
  const iamEndpoint = endpointFor("iam");
  let loading: Promise<AwsSdk> | undefined;
  const load = async (): Promise<AwsSdk> => {
    const [S3, EC2, IAM] = await Promise.all([import("@aws-sdk/client-s3"), import("@aws-sdk/client-ec2"), import("@aws-sdk/client-iam")]);
    return {
      S3,
      EC2,
      IAM,
      // A custom S3 endpoint has no per-bucket DNS names: address buckets in the path. Bucket names
      // are global but each bucket lives in one region: a bucket outside `region` answers 301
      // PermanentRedirect naming its region (x-amz-bucket-region), which the client then follows.
      s3: new S3.S3Client({ ...common, region, ...s3Endpoint, forcePathStyle: s3Endpoint.endpoint !== undefined, followRegionRedirects: true }),
      ec2: new EC2.EC2Client({ ...common, region, ...ec2Endpoint }),
      iam: new IAM.IAMClient({ ...common, region: iamRegion(region), ...iamEndpoint }),
    };
  };
  const sdk = (): Promise<AwsSdk> => (loading ??= load());
  const ec2Clients = new Map<string, EC2Client>();
  return {
    timeoutMs,
    region,
    sdk,
    async ec2In(wanted) {
      const loaded = await sdk();
      if (wanted === region) return loaded.ec2;
      let client = ec2Clients.get(wanted);
      if (client === undefined) {
        // Without an endpoint override the SDK sends to ec2.<wanted>.amazonaws.com; with one
        // (LocalStack, a test server) to that endpoint, signed for `wanted`.
        client = new loaded.EC2.EC2Client({ ...common, region: wanted, ...ec2Endpoint });
        ec2Clients.set(wanted, client);
      }
      return client;
    },
  };
}

/**
 * The region IAM is signed for: IAM is global within a partition. In the aws partition it is
 * us-east-1 whatever `region` says; China (cn-*) and GovCloud (us-gov-*) have their own IAM
 * endpoints, signed for the configured region (iam.cn-north-1.amazonaws.com.cn, iam.us-gov.amazonaws.com).
 */
function iamRegion(region: string): string {
  return region.startsWith("cn-") || region.startsWith("us-gov-") ? region : "us-east-1";
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
