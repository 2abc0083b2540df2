import type { PublicAccessBlockConfiguration } from "@aws-sdk/client-s3";
import type { ActionPlan, Actuator } from "../../core/index.js";
import { awsCall, awsErrorCode, createAwsClients } from "./aws-clients.js";
import type { AwsClients } from "./aws-clients.js";
import { ActuatorApiError, defineActuator, withTimeout } from "./define.js";
import type { OperationContext } from "./define.js";
import { read } from "./params.js";
import type { ActionKindSpec, ActuatorRuntime, AwsActuatorConfig } from "./types.js";

const FLAGS = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"] as const;
const flagParam = (flag: (typeof FLAGS)[number]) => `${flag.charAt(0).toLowerCase()}${flag.slice(1)}`;

export const awsS3BlockPublicAccessSpec: ActionKindSpec = {
  kind: "aws.s3.block-public-access",
  provider: "aws",
  summary: "Turn on the bucket's S3 Block Public Access settings (PutPublicAccessBlock), all four by default.",
  params: [
    { name: "bucket", type: "string", required: true, pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, description: "bucket name" },
    { name: "expectedBucketOwner", type: "string", required: false, pattern: /^\d{12}$/, description: "account id the bucket must belong to (S3 refuses otherwise)" },
    ...FLAGS.map((flag) => ({ name: flagParam(flag), type: "boolean" as const, required: false, default: true, description: `turn ${flag} on; false leaves it as it is (a block already on is never turned off)` })),
  ],
  reversible: true,
  undo: "puts back the configuration read with GetPublicAccessBlock before the action, or deletes it (DeletePublicAccessBlock) when there was none; a configuration changed since the action is not overwritten (the undo fails saying so)",
  dryRun: "reads the current configuration (GetPublicAccessBlock) and returns the one it would put",
};

export const awsEc2StopInstancesSpec: ActionKindSpec = {
  kind: "aws.ec2.stop-instances",
  provider: "aws",
  summary: "Stop EC2 instances (StopInstances).",
  params: [
    { name: "instanceIds", type: "string[]", required: true, pattern: /^i-[0-9a-f]{8,17}$/, description: "instance ids" },
    { name: "hibernate", type: "boolean", required: false, default: false, description: "hibernate instead of stop (the instance must be enabled for hibernation)" },
    { name: "force", type: "boolean", required: false, default: false, description: "force the stop (no file-system flush)" },
    { name: "region", type: "string", required: false, pattern: /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, description: "the instances' region, e.g. us-west-2 (default: the region of a target ARN arn:aws:ec2:<region>:…:instance/i-…, else actuators.aws.region); when unset, planning fills it from the target entity's region attribute" },
  ],
  reversible: true,
  undo: "starts (StartInstances) the instances that were running or pending before the stop (read with DescribeInstances just before it), in the same region",
  dryRun: "reads the instances (DescribeInstances) and lists which ones it would stop",
};

export const awsIamDeactivateAccessKeySpec: ActionKindSpec = {
  kind: "aws.iam.deactivate-access-key",
  provider: "aws",
  summary: "Make an IAM user's access key Inactive (UpdateAccessKey Status=Inactive).",
  params: [
    { name: "userName", type: "string", required: true, pattern: /^[\w+=,.@-]{1,64}$/, description: "IAM user name" },
    { name: "accessKeyId", type: "string", required: true, pattern: /^[A-Z0-9]{16,128}$/, description: "access key id (AKIA…)" },
  ],
  reversible: true,
  undo: "sets the key back to the status read before the action (UpdateAccessKey Status=Active for a key that was active)",
  dryRun: "reads the user's keys (ListAccessKeys) and reports the key's current status",
};

/** Options for `client.send`: the per-request abort (caller signal + timeout). */
const sendOptions = (clients: AwsClients, context: OperationContext) => ({ abortSignal: withTimeout(clients.timeoutMs, context.signal) });

function s3Actuator(clients: AwsClients, runtime: ActuatorRuntime): Actuator {
  const bucketOf = (plan: ActionPlan) => {
    const owner = read.optionalString(plan.params, "expectedBucketOwner");
    return { Bucket: read.string(plan.params, "bucket"), ...(owner === undefined ? {} : { ExpectedBucketOwner: owner }) };
  };
  /**
   * The configuration to put: each flag on when its param is true (the default) or it is on already.
   * A param set to false leaves the flag as it is: blocking public access never turns a block off
   * (PutPublicAccessBlock replaces the whole configuration, so a false would).
   */
  const wanted = (plan: ActionPlan, previous: PublicAccessBlockConfiguration | null): PublicAccessBlockConfiguration =>
    Object.fromEntries(FLAGS.map((flag) => [flag, read.boolean(plan.params, flagParam(flag), true) || previous?.[flag] === true])) as PublicAccessBlockConfiguration;
  /** The current configuration, or null when the bucket has none (NoSuchPublicAccessBlockConfiguration). */
  const current = async (bucket: ReturnType<typeof bucketOf>, context: OperationContext): Promise<PublicAccessBlockConfiguration | null> => {
    try {
      const sdk = await clients.sdk();
      const answer = await sdk.s3.send(new sdk.S3.GetPublicAccessBlockCommand(bucket), sendOptions(clients, context));
      return answer.PublicAccessBlockConfiguration ?? null;
    } catch (error) {
      if (awsErrorCode(error) === "NoSuchPublicAccessBlockConfiguration") return null;
      return awsCall("S3 GetPublicAccessBlock", () => Promise.reject(error));
    }
  };
  const put = (bucket: ReturnType<typeof bucketOf>, configuration: PublicAccessBlockConfiguration, context: OperationContext) =>
    awsCall("S3 PutPublicAccessBlock", async () => {
      const sdk = await clients.sdk();
      return sdk.s3.send(new sdk.S3.PutPublicAccessBlockCommand({ ...bucket, PublicAccessBlockConfiguration: configuration }), sendOptions(clients, context));
    });

  return defineActuator(awsS3BlockPublicAccessSpec, runtime, {
    async preview(plan, context) {
      const currentConfiguration = await current(bucketOf(plan), context);
      return { bucket: read.string(plan.params, "bucket"), currentConfiguration, wouldPut: wanted(plan, currentConfiguration) };
    },
    async apply(plan, context) {
      const previous = await current(bucketOf(plan), context);
      const configuration = wanted(plan, previous);
      const bucket = read.string(plan.params, "bucket");
      if (previous !== null && FLAGS.every((flag) => (previous[flag] ?? false) === configuration[flag])) {
        return { output: { bucket, configuration, previousConfiguration: previous, changed: false }, undo: { ...bucketOf(plan), previousConfiguration: previous, changed: false } };
      }
      const answer = await put(bucketOf(plan), configuration, context);
      return {
        output: { bucket, configuration, previousConfiguration: previous, changed: true, requestId: answer.$metadata.requestId ?? null },
        undo: { ...bucketOf(plan), previousConfiguration: previous, configuration, changed: true },
      };
    },
    async revert(_plan, undo, context) {
      const bucket = { Bucket: String(undo["Bucket"]), ...(typeof undo["ExpectedBucketOwner"] === "string" ? { ExpectedBucketOwner: undo["ExpectedBucketOwner"] } : {}) };
      const previous = undo["previousConfiguration"] as PublicAccessBlockConfiguration | null;
      if (undo["changed"] === false) return { bucket: bucket.Bucket, restored: previous, changed: false, note: "the action changed nothing" };
      // Changed since (by a person, another tool): that configuration is newer than the action and
      // may block more; undo does not overwrite it. Undo data without `configuration` is not checked.
      const left = undo["configuration"] as PublicAccessBlockConfiguration | undefined;
      if (left !== undefined) {
        const now = await current(bucket, context);
        const same = (a: PublicAccessBlockConfiguration, b: PublicAccessBlockConfiguration): boolean => FLAGS.every((flag) => (a[flag] ?? false) === (b[flag] ?? false));
        // Already as before the action (an earlier undo whose answer was lost): nothing to send.
        if (now === null ? previous === null : previous !== null && same(now, previous)) return { bucket: bucket.Bucket, restored: previous, changed: false, note: "already as before the action" };
        if (now === null) throw new ActuatorApiError(`bucket ${bucket.Bucket} has no public access block since the action (deleted since): nothing was restored, so that change is not overwritten`);
        const differ = FLAGS.filter((flag) => (now[flag] ?? false) !== (left[flag] ?? false));
        if (differ.length > 0) {
          throw new ActuatorApiError(`bucket ${bucket.Bucket}'s public access block was changed since the action (${differ.join(", ")} differ from what it put): nothing was restored, so that change is not overwritten`);
        }
      }
      if (previous === null) {
        await awsCall("S3 DeletePublicAccessBlock", async () => {
          const sdk = await clients.sdk();
          return sdk.s3.send(new sdk.S3.DeletePublicAccessBlockCommand(bucket), sendOptions(clients, context));
        });
        return { bucket: bucket.Bucket, restored: null, deleted: true };
      }
      await put(bucket, previous, context);
      return { bucket: bucket.Bucket, restored: previous, deleted: false };
    },
  });
}

/** The region of an EC2 ARN (`arn:aws:ec2:us-west-2:123456789012:instance/i-…`, any partition), if `id` is one. */
function regionOfArn(id: string): string | undefined {
  return /^arn:aws(?:-[a-z]+)*:ec2:([a-z]{2}(?:-[a-z]+)+-\d{1,2}):\d{12}:instance\/i-[0-9a-f]{8,17}$/.exec(id)?.[1];
}

function ec2Actuator(clients: AwsClients, runtime: ActuatorRuntime): Actuator {
  /**
   * Where the instances live: params.region, else the region of a target ARN, else the configured
   * region. EC2 is regional: asked in another region, it answers InvalidInstanceID.NotFound.
   */
  const regionOf = (plan: ActionPlan): string => read.optionalString(plan.params, "region") ?? regionOfArn(plan.target.id) ?? clients.region;
  /** awsCall, with a hint on InvalidInstanceID.NotFound: the instance may be in another region. */
  const ec2Call = async <T>(operation: string, region: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await awsCall(`${operation} (${region})`, run);
    } catch (error) {
      if (error instanceof ActuatorApiError && error.apiCode === "InvalidInstanceID.NotFound") {
        throw new ActuatorApiError(`${error.message} (asked in ${region}: an instance in another region needs params.region or a target ARN naming it)`, { ...(error.status === undefined ? {} : { status: error.status }), apiCode: error.apiCode, cause: error.cause });
      }
      throw error;
    }
  };
  const ec2For = async (region: string) => {
    const sdk = await clients.sdk();
    return { EC2: sdk.EC2, ec2: await clients.ec2In(region) };
  };
  /** The instances' states (DescribeInstances), and those a stop would stop (running or pending). */
  const describe = async (InstanceIds: string[], region: string, context: OperationContext) => {
    const answer = await ec2Call("EC2 DescribeInstances", region, async () => {
      const { EC2, ec2 } = await ec2For(region);
      return ec2.send(new EC2.DescribeInstancesCommand({ InstanceIds }), sendOptions(clients, context));
    });
    const instances = (answer.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []).map((instance) => ({ instanceId: instance.InstanceId, state: instance.State?.Name }));
    return { instances, running: instances.filter((instance) => instance.state === "running" || instance.state === "pending").map((instance) => instance.instanceId ?? "") };
  };
  return defineActuator(awsEc2StopInstancesSpec, runtime, {
    async preview(plan, context) {
      const region = regionOf(plan);
      const { instances, running } = await describe(read.strings(plan.params, "instanceIds"), region, context);
      return { region, instances, wouldStop: running };
    },
    async apply(plan, context) {
      const InstanceIds = read.strings(plan.params, "instanceIds");
      const region = regionOf(plan);
      // Undo data is read before the stop: the SDK retries a StopInstances whose answer was lost
      // (a 5xx, a timeout), and the retry's answer gives the first attempt's effect (stopping) as
      // the previous state, so the answer alone would leave a stopped instance out of undo.
      const before = await describe(InstanceIds, region, context);
      const answer = await ec2Call("EC2 StopInstances", region, async () => {
        const { EC2: sdk, ec2 } = await ec2For(region);
        return ec2.send(
          new sdk.StopInstancesCommand({ InstanceIds, Hibernate: read.boolean(plan.params, "hibernate", false), Force: read.boolean(plan.params, "force", false) }),
          sendOptions(clients, context),
        );
      });
      const stopping = (answer.StoppingInstances ?? []).map((change) => ({ instanceId: change.InstanceId ?? "", previousState: change.PreviousState?.Name ?? "unknown", currentState: change.CurrentState?.Name ?? "unknown" }));
      const wereRunning = [...new Set([...before.running, ...stopping.filter((change) => change.previousState === "running" || change.previousState === "pending").map((change) => change.instanceId)])];
      const undo = { instanceIds: wereRunning, ...(region === clients.region ? {} : { region }) };
      return { output: { region, instances: stopping, requestId: answer.$metadata.requestId ?? null }, undo };
    },
    async revert(plan, undo, context) {
      const InstanceIds = (undo["instanceIds"] as string[] | undefined) ?? [];
      if (InstanceIds.length === 0) return { started: [], note: "no instance was running before the stop" };
      // The region the stop ran in (undo data of older actions has none: as at apply time).
      const region = typeof undo["region"] === "string" ? undo["region"] : regionOf(plan);
      const answer = await ec2Call("EC2 StartInstances", region, async () => {
        const { EC2, ec2 } = await ec2For(region);
        return ec2.send(new EC2.StartInstancesCommand({ InstanceIds }), sendOptions(clients, context));
      });
      return { started: (answer.StartingInstances ?? []).map((change) => ({ instanceId: change.InstanceId, currentState: change.CurrentState?.Name })) };
    },
  });
}

function iamActuator(clients: AwsClients, runtime: ActuatorRuntime): Actuator {
  const keyStatus = async (userName: string, accessKeyId: string, context: OperationContext): Promise<string> => {
    const answer = await awsCall("IAM ListAccessKeys", async () => {
      const sdk = await clients.sdk();
      return sdk.iam.send(new sdk.IAM.ListAccessKeysCommand({ UserName: userName }), sendOptions(clients, context));
    });
    const key = (answer.AccessKeyMetadata ?? []).find((metadata) => metadata.AccessKeyId === accessKeyId);
    if (key?.Status === undefined) throw new ActuatorApiError(`IAM user ${userName} has no access key ${accessKeyId} (ListAccessKeys)`, { apiCode: "NoSuchEntity" });
    return key.Status;
  };
  const update = (userName: string, accessKeyId: string, status: "Active" | "Inactive", context: OperationContext) =>
    awsCall("IAM UpdateAccessKey", async () => {
      const sdk = await clients.sdk();
      return sdk.iam.send(new sdk.IAM.UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: status }), sendOptions(clients, context));
    });

  return defineActuator(awsIamDeactivateAccessKeySpec, runtime, {
    async preview(plan, context) {
      const userName = read.string(plan.params, "userName");
      const accessKeyId = read.string(plan.params, "accessKeyId");
      const status = await keyStatus(userName, accessKeyId, context);
      return { userName, accessKeyId, currentStatus: status, wouldDo: status === "Inactive" ? "nothing: the key is already Inactive" : "UpdateAccessKey Status=Inactive" };
    },
    async apply(plan, context) {
      const userName = read.string(plan.params, "userName");
      const accessKeyId = read.string(plan.params, "accessKeyId");
      const previousStatus = await keyStatus(userName, accessKeyId, context);
      if (previousStatus === "Inactive") return { output: { userName, accessKeyId, previousStatus, status: "Inactive", changed: false }, undo: { userName, accessKeyId, previousStatus } };
      const answer = await update(userName, accessKeyId, "Inactive", context);
      return { output: { userName, accessKeyId, previousStatus, status: "Inactive", changed: true, requestId: answer.$metadata.requestId ?? null }, undo: { userName, accessKeyId, previousStatus } };
    },
    async revert(_plan, undo, context) {
      const previousStatus = undo["previousStatus"] === "Inactive" ? "Inactive" : "Active";
      if (previousStatus === "Inactive") return { status: "Inactive", note: "the key was already Inactive before the action" };
      await update(String(undo["userName"]), String(undo["accessKeyId"]), previousStatus, context);
      return { userName: undo["userName"], accessKeyId: undo["accessKeyId"], status: previousStatus };
    },
  });
}

/**
 * The AWS actuators (`aws.s3.block-public-access`, `aws.ec2.stop-instances`,
 * `aws.iam.deactivate-access-key`) over the AWS SDK v3 with static credentials and an optional
 * endpoint. Each reads the state undo needs (or takes it from the API's answer) before acting.
 */
export function createAwsActuators(config: AwsActuatorConfig, runtime: ActuatorRuntime): Actuator[] {
  const clients = createAwsClients(config);
  return [s3Actuator(clients, runtime), ec2Actuator(clients, runtime), iamActuator(clients, runtime)];
}
