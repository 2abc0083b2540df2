import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Actuator } from "../../core/index.js";
import { createAwsActuators } from "./aws.js";
import { AWS_KEYS, fixture, formOf, playEc2, playIam, playS3, recordedAccessKeys, recordedInstanceStates } from "./aws-fakes.js";
import type { IamKey, PublicAccessBlock } from "./aws-fakes.js";
import { parseAuthorization } from "./sigv4-check.js";
import { startWireServer, testPlan, testRuntime } from "./test-server.js";
import type { WireServer } from "./test-server.js";

const REGION = "eu-west-1";
// The configuration Cloud Custodian recorded from a real bucket (IgnorePublicAcls off).
const RECORDED = (fixture("s3.GetPublicAccessBlock.present.json").data["PublicAccessBlockConfiguration"] as PublicAccessBlock);
const ALL_ON: PublicAccessBlock = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };

describe("aws actuators", () => {
  let s3: WireServer;
  let ec2: WireServer;
  let iam: WireServer;
  let buckets: Map<string, PublicAccessBlock | null>;
  let instances: Map<string, string>;
  let keys: IamKey[];
  let s3Block: Actuator;
  let ec2Stop: Actuator;
  let iamDeactivate: Actuator;

  beforeEach(async () => {
    [s3, ec2, iam] = await Promise.all([startWireServer(), startWireServer(), startWireServer()]);
    buckets = new Map<string, PublicAccessBlock | null>([
      ["644160558196-us-east-1-s3-logs", null],
      ["partly-public", { ...RECORDED }],
    ]);
    instances = new Map([
      ...recordedInstanceStates(),
      ["i-08270b9cfb568a1c4", "stopped"],
      ["i-000b2f5125402eb55", "running"],
    ]);
    keys = recordedAccessKeys();
    buckets.set("us-audit-logs", null);
    playS3(s3, REGION, buckets, new Map([["us-audit-logs", "us-east-1"]]));
    instances.set("i-0a1b2c3d4e5f60718", "running"); // in us-west-2
    playEc2(ec2, REGION, instances, new Set(["i-000b2f5125402eb55"]), new Map([["i-0a1b2c3d4e5f60718", "us-west-2"]]));
    playIam(iam, keys);
    [s3Block, ec2Stop, iamDeactivate] = createAwsActuators(
      { region: REGION, credentials: AWS_KEYS, endpoints: { s3: s3.url, ec2: ec2.url, iam: iam.url }, maxAttempts: 1 },
      testRuntime(),
    ) as [Actuator, Actuator, Actuator];
  });
  afterEach(() => Promise.all([s3.close(), ec2.close(), iam.close()]));

  describe("aws.s3.block-public-access", () => {
    it("puts the block with a verified SigV4 signature; undo deletes it when there was none", async () => {
      const plan = testPlan("aws.s3.block-public-access", { bucket: "644160558196-us-east-1-s3-logs" });
      const applied = await s3Block.apply(plan, { dryRun: false });
      expect(s3.problems).toEqual([]);
      expect(applied.status).toBe("applied");
      expect(applied.output).toMatchObject({ configuration: ALL_ON, previousConfiguration: null });
      expect(buckets.get("644160558196-us-east-1-s3-logs")).toEqual(ALL_ON);

      const put = s3.mutatingRequests()[0];
      expect(put?.method).toBe("PUT");
      expect(put?.rawPath).toMatch(/^\/644160558196-us-east-1-s3-logs\/?$/);
      expect(put?.query.has("publicAccessBlock")).toBe(true);
      const auth = parseAuthorization(put?.header("authorization"));
      expect(auth).toMatchObject({ accessKeyId: AWS_KEYS.accessKeyId, region: REGION, service: "s3" });
      expect(auth?.signedHeaders).toEqual(expect.arrayContaining(["host", "x-amz-content-sha256", "x-amz-date"]));

      const undone = await s3Block.undo(plan, applied);
      expect(undone).toMatchObject({ status: "undone", output: { deleted: true } });
      expect(s3.mutatingRequests()[1]?.method).toBe("DELETE");
      expect(buckets.get("644160558196-us-east-1-s3-logs")).toBeNull();
      expect(s3.problems).toEqual([]);
    });

    it("undo restores the recorded previous configuration", async () => {
      const plan = testPlan("aws.s3.block-public-access", { bucket: "partly-public" });
      const applied = await s3Block.apply(plan, { dryRun: false });
      expect(applied.undo?.params).toEqual({ Bucket: "partly-public", previousConfiguration: RECORDED, configuration: ALL_ON, changed: true });
      expect(buckets.get("partly-public")).toEqual(ALL_ON);
      await s3Block.undo(plan, applied);
      expect(buckets.get("partly-public")).toEqual(RECORDED);
    });

    it("undo after the configuration was changed since the action fails saying so and does not overwrite it", async () => {
      const plan = testPlan("aws.s3.block-public-access", { bucket: "partly-public", restrictPublicBuckets: false, ignorePublicAcls: false });
      buckets.set("partly-public", { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false });
      const applied = await s3Block.apply(plan, { dryRun: false });
      expect(buckets.get("partly-public")).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false });
      // The security team turns on all four since; undoing the action must not open the bucket again.
      buckets.set("partly-public", { ...ALL_ON });
      const undone = await s3Block.undo(plan, applied);
      expect(undone.status).toBe("failed");
      expect(undone.error).toBe(
        "aws.s3.block-public-access undo failed: bucket partly-public's public access block was changed since the action (IgnorePublicAcls, RestrictPublicBuckets differ from what it put): nothing was restored, so that change is not overwritten",
      );
      expect(buckets.get("partly-public")).toEqual(ALL_ON);
      expect(s3.mutatingRequests()).toHaveLength(1);
      // Deleted since: the same.
      buckets.set("partly-public", null);
      expect((await s3Block.undo(plan, applied)).error).toMatch(/has no public access block since the action/);
      expect(buckets.get("partly-public")).toBeNull();
    });

    it("undo of a bucket already back at its previous configuration (an earlier undo whose answer was lost) is done without a request", async () => {
      const plan = testPlan("aws.s3.block-public-access", { bucket: "partly-public" });
      const applied = await s3Block.apply(plan, { dryRun: false });
      buckets.set("partly-public", { ...RECORDED });
      expect(await s3Block.undo(plan, applied)).toMatchObject({ status: "undone", output: { changed: false } });
      const none = testPlan("aws.s3.block-public-access", { bucket: "644160558196-us-east-1-s3-logs" });
      const put = await s3Block.apply(none, { dryRun: false });
      buckets.set("644160558196-us-east-1-s3-logs", null);
      expect(await s3Block.undo(none, put)).toMatchObject({ status: "undone", output: { changed: false } });
      expect(s3.mutatingRequests().map((request) => request.method)).toEqual(["PUT", "PUT"]);
    });

    it("a bucket already blocked as wanted is left alone; undo changes nothing", async () => {
      buckets.set("partly-public", { ...ALL_ON });
      const plan = testPlan("aws.s3.block-public-access", { bucket: "partly-public" });
      const applied = await s3Block.apply(plan, { dryRun: false });
      expect(applied.output).toMatchObject({ changed: false });
      await s3Block.undo(plan, applied);
      expect(s3.mutatingRequests()).toHaveLength(0);
      expect(buckets.get("partly-public")).toEqual(ALL_ON);
    });

    it("a flag param set to false leaves that setting as it is: it never turns off a block the bucket already has", async () => {
      // partly-public has RestrictPublicBuckets on; the remediation only asks for the other three.
      const plan = testPlan("aws.s3.block-public-access", { bucket: "partly-public", restrictPublicBuckets: false });
      const applied = await s3Block.apply(plan, { dryRun: false });
      expect(applied.status).toBe("applied");
      expect(buckets.get("partly-public")).toEqual(ALL_ON);
      expect(applied.output).toMatchObject({ configuration: ALL_ON, previousConfiguration: RECORDED, changed: true });
      expect(await s3Block.undo(plan, applied)).toMatchObject({ status: "undone" });
      expect(buckets.get("partly-public")).toEqual(RECORDED);

      // A bucket whose blocks are all on is left alone whatever flags are false.
      buckets.set("partly-public", { ...ALL_ON });
      const again = await s3Block.apply(testPlan("aws.s3.block-public-access", { bucket: "partly-public", blockPublicPolicy: false, restrictPublicBuckets: false }), { dryRun: false });
      expect(again.output).toMatchObject({ changed: false });
      expect(buckets.get("partly-public")).toEqual(ALL_ON);
      expect(s3.mutatingRequests().map((request) => request.method)).toEqual(["PUT", "PUT"]);

      // With no configuration, a false flag is put as false.
      const fresh = await s3Block.apply(testPlan("aws.s3.block-public-access", { bucket: "644160558196-us-east-1-s3-logs", blockPublicPolicy: false }), { dryRun: false });
      expect(fresh.output).toMatchObject({ configuration: { ...ALL_ON, BlockPublicPolicy: false }, changed: true });
    });

    it("a bucket in another region than the configured one is followed there (S3's 301 PermanentRedirect names its region), and signed for it", async () => {
      const plan = testPlan("aws.s3.block-public-access", { bucket: "us-audit-logs" });
      const applied = await s3Block.apply(plan, { dryRun: false });
      expect(applied.error).toBeUndefined();
      expect(applied.status).toBe("applied");
      expect(buckets.get("us-audit-logs")).toEqual(ALL_ON);
      const put = s3.mutatingRequests().at(-1);
      expect(parseAuthorization(put?.header("authorization"))).toMatchObject({ region: "us-east-1", service: "s3" });
      expect(s3.problems).toEqual([]);
      expect((await s3Block.undo(plan, applied)).status).toBe("undone");
      expect(buckets.get("us-audit-logs")).toBeNull();
    });

    it("dry-run only reads the current configuration", async () => {
      const result = await s3Block.apply(testPlan("aws.s3.block-public-access", { bucket: "partly-public", restrictPublicBuckets: false }), { dryRun: true });
      expect(result.output).toMatchObject({ currentConfiguration: RECORDED, wouldPut: ALL_ON });
      expect(s3.mutatingRequests()).toHaveLength(0);
    });

    it("names S3's error code: NoSuchBucket, AccessDenied for a wrong expected owner", async () => {
      const missing = await s3Block.apply(testPlan("aws.s3.block-public-access", { bucket: "no-such-bucket" }), { dryRun: false });
      expect(missing.status).toBe("failed");
      expect(missing.error).toMatch(/^aws\.s3\.block-public-access apply failed: AWS S3 GetPublicAccessBlock answered HTTP 404 NoSuchBucket: The specified bucket does not exist/);
      expect(missing.output).toEqual({ status: 404, apiCode: "NoSuchBucket" });
      const denied = await s3Block.apply(testPlan("aws.s3.block-public-access", { bucket: "partly-public", expectedBucketOwner: "111111111111" }), { dryRun: false });
      expect(denied.error).toMatch(/HTTP 403 AccessDenied: Access Denied/);
      expect(s3.mutatingRequests()).toHaveLength(0);
    });
  });

  describe("aws.ec2.stop-instances", () => {
    it("stops instances over the EC2 query protocol; undo starts only those that were running", async () => {
      const plan = testPlan("aws.ec2.stop-instances", { instanceIds: ["i-1aebf7c0", "i-08270b9cfb568a1c4"] });
      const applied = await ec2Stop.apply(plan, { dryRun: false });
      expect(ec2.problems).toEqual([]);
      expect(applied.status).toBe("applied");
      // The states undo needs are read first, then the stop.
      expect(ec2.requests.map((request) => formOf(request).get("Action"))).toEqual(["DescribeInstances", "StopInstances"]);
      const form = formOf(ec2.requests[1]!);
      expect(Object.fromEntries(form)).toMatchObject({ Action: "StopInstances", Version: "2016-11-15", "InstanceId.1": "i-1aebf7c0", "InstanceId.2": "i-08270b9cfb568a1c4" });
      expect(parseAuthorization(ec2.requests[1]?.header("authorization"))).toMatchObject({ region: REGION, service: "ec2" });
      expect(applied.output?.["instances"]).toEqual([
        { instanceId: "i-1aebf7c0", previousState: "running", currentState: "stopping" },
        { instanceId: "i-08270b9cfb568a1c4", previousState: "stopped", currentState: "stopped" },
      ]);
      expect(applied.output?.["requestId"]).toBe(fixture("ec2.StopInstances.json").data.ResponseMetadata?.RequestId);
      expect(applied.undo?.params).toEqual({ instanceIds: ["i-1aebf7c0"] });

      const undone = await ec2Stop.undo(plan, applied);
      expect(undone.status).toBe("undone");
      expect(Object.fromEntries(formOf(ec2.requests[2]!))).toEqual({ Action: "StartInstances", Version: "2016-11-15", "InstanceId.1": "i-1aebf7c0" });
      expect(instances.get("i-1aebf7c0")).toBe("running");
      expect(instances.get("i-08270b9cfb568a1c4")).toBe("stopped");
    });

    it("an instance in another region than the configured one is stopped and started there, signed for its region (params.region)", async () => {
      const plan = testPlan("aws.ec2.stop-instances", { instanceIds: ["i-0a1b2c3d4e5f60718"], region: "us-west-2" });
      const applied = await ec2Stop.apply(plan, { dryRun: false });
      expect(ec2.problems).toEqual([]);
      expect(applied.status).toBe("applied");
      expect(parseAuthorization(ec2.requests[0]?.header("authorization"))).toMatchObject({ region: "us-west-2", service: "ec2" });
      expect(instances.get("i-0a1b2c3d4e5f60718")).toBe("stopped");
      expect(applied.output).toMatchObject({ region: "us-west-2" });
      expect(applied.undo?.params).toEqual({ instanceIds: ["i-0a1b2c3d4e5f60718"], region: "us-west-2" });
      const undone = await ec2Stop.undo(plan, applied);
      expect(undone.status).toBe("undone");
      expect(parseAuthorization(ec2.requests[1]?.header("authorization"))).toMatchObject({ region: "us-west-2", service: "ec2" });
      expect(instances.get("i-0a1b2c3d4e5f60718")).toBe("running");
    });

    it("takes the region from a target ARN; without one the configured region is used and EC2 answers NotFound", async () => {
      const arn = testPlan("aws.ec2.stop-instances", { instanceIds: ["i-0a1b2c3d4e5f60718"] }, { target: { kind: "aws.ec2.instance", id: "arn:aws:ec2:us-west-2:644160558196:instance/i-0a1b2c3d4e5f60718" } });
      const preview = await ec2Stop.apply(arn, { dryRun: true });
      expect(preview.output).toMatchObject({ region: "us-west-2", wouldStop: ["i-0a1b2c3d4e5f60718"] });
      const plain = await ec2Stop.apply(testPlan("aws.ec2.stop-instances", { instanceIds: ["i-0a1b2c3d4e5f60718"] }), { dryRun: true });
      expect(plain.error).toMatch(/^aws\.ec2\.stop-instances dry-run failed: AWS EC2 DescribeInstances \(eu-west-1\) answered HTTP 400 InvalidInstanceID\.NotFound: .* \(asked in eu-west-1: an instance in another region needs params\.region or a target ARN naming it\)$/);
      expect(ec2.problems).toEqual([]);
    });

    it("a stop whose answer was lost (EC2 stopped the instance, answered 500) and that the SDK retried still records the instance for undo", async () => {
      let lost = true;
      ec2.on("POST", "/", (request) => {
        if (!lost || formOf(request).get("Action") !== "StopInstances") return undefined;
        lost = false;
        instances.set("i-1aebf7c0", "stopped"); // processed; the answer never arrives
        return { status: 500, headers: { "content-type": "text/xml" }, body: "<Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred</Message></Error></Errors><RequestID>0e1f</RequestID></Response>" };
      });
      const [, retrying] = createAwsActuators({ region: REGION, credentials: AWS_KEYS, endpoint: ec2.url, maxAttempts: 3 }, testRuntime()) as [Actuator, Actuator];
      const plan = testPlan("aws.ec2.stop-instances", { instanceIds: ["i-1aebf7c0"] });
      const applied = await retrying.apply(plan, { dryRun: false });
      expect(applied.status).toBe("applied");
      expect(formOf(ec2.requests.at(-1)!).get("Action")).toBe("StopInstances");
      expect(applied.undo?.params).toEqual({ instanceIds: ["i-1aebf7c0"] });
      expect((await retrying.undo(plan, applied)).status).toBe("undone");
      expect(instances.get("i-1aebf7c0")).toBe("running");
      expect(ec2.problems).toEqual([]);
    });

    it("refuses a region param that is not a region name", () => {
      expect(() => ec2Stop.validate({ instanceIds: ["i-1aebf7c0"], region: "Oregon" })).toThrowError(/params\.region "Oregon" does not match/);
    });

    it("dry-run describes the instances and stops nothing", async () => {
      const result = await ec2Stop.apply(testPlan("aws.ec2.stop-instances", { instanceIds: ["i-b2d2a876", "i-1aebf7c0", "i-08270b9cfb568a1c4"] }), { dryRun: true });
      expect(result.output).toMatchObject({
        instances: [
          { instanceId: "i-b2d2a876", state: "terminated" },
          { instanceId: "i-1aebf7c0", state: "running" },
          { instanceId: "i-08270b9cfb568a1c4", state: "stopped" },
        ],
        wouldStop: ["i-1aebf7c0"],
      });
      expect(ec2.requests.map((request) => formOf(request).get("Action"))).toEqual(["DescribeInstances"]);
      expect(instances.get("i-1aebf7c0")).toBe("running");
    });

    it("names EC2's error code for a stop-protected instance (recorded OperationNotPermitted)", async () => {
      const result = await ec2Stop.apply(testPlan("aws.ec2.stop-instances", { instanceIds: ["i-000b2f5125402eb55"] }), { dryRun: false });
      expect(result.status).toBe("failed");
      expect(result.error).toBe(
        "aws.ec2.stop-instances apply failed: AWS EC2 StopInstances (eu-west-1) answered HTTP 400 OperationNotPermitted: The instance 'i-000b2f5125402eb55' may not be stopped. Modify its 'disableApiStop' instance attribute and try again. (request id 52a34c4e-5ee2-41c7-b3e7-9010f8eb3dc4)",
      );
      expect(result.output).toEqual({ status: 400, apiCode: "OperationNotPermitted" });
    });

    it("a wrong secret key fails the signature check and the result says AuthFailure", async () => {
      const [, badEc2] = createAwsActuators({ region: REGION, credentials: { ...AWS_KEYS, secretAccessKey: "not-the-secret" }, endpoint: ec2.url, maxAttempts: 1 }, testRuntime());
      const result = await badEc2?.apply(testPlan("aws.ec2.stop-instances", { instanceIds: ["i-1aebf7c0"] }), { dryRun: false });
      expect(result?.status).toBe("failed");
      expect(result?.error).toMatch(/HTTP 401 AuthFailure/);
      expect(ec2.problems[0]).toMatch(/signature does not match/);
      expect(instances.get("i-1aebf7c0")).toBe("running");
    });
  });

  describe("aws.iam.deactivate-access-key", () => {
    const [first] = recordedAccessKeys();
    const params = { userName: first?.userName ?? "", accessKeyId: first?.accessKeyId ?? "" };

    it("reads the key status, sets Inactive (signed for us-east-1/iam); undo sets Active", async () => {
      const plan = testPlan("aws.iam.deactivate-access-key", params);
      const applied = await iamDeactivate.apply(plan, { dryRun: false });
      expect(iam.problems).toEqual([]);
      expect(applied.status).toBe("applied");
      expect(applied.output).toMatchObject({ previousStatus: "Active", status: "Inactive" });
      expect(keys[0]?.status).toBe("Inactive");
      expect(keys[1]?.status).toBe("Active");
      const update = iam.requests.find((request) => formOf(request).get("Action") === "UpdateAccessKey");
      expect(Object.fromEntries(formOf(update!))).toEqual({ Action: "UpdateAccessKey", Version: "2010-05-08", UserName: "alphabet_soup", AccessKeyId: "AKIAJRLD3ESRQSWUHEWA", Status: "Inactive" });
      expect(parseAuthorization(update?.header("authorization"))).toMatchObject({ region: "us-east-1", service: "iam" });

      const undone = await iamDeactivate.undo(plan, applied);
      expect(undone.status).toBe("undone");
      expect(keys[0]?.status).toBe("Active");
    });

    it("in the China and GovCloud partitions IAM is signed for the partition's region, not us-east-1", async () => {
      for (const region of ["cn-north-1", "us-gov-west-1"]) {
        const partitionIam = await startWireServer();
        try {
          const partitionKeys = recordedAccessKeys();
          playIam(partitionIam, partitionKeys, region);
          const [, , deactivate] = createAwsActuators({ region, credentials: AWS_KEYS, endpoints: { iam: partitionIam.url }, maxAttempts: 1 }, testRuntime());
          const applied = await deactivate!.apply(testPlan("aws.iam.deactivate-access-key", params), { dryRun: false });
          expect(partitionIam.problems).toEqual([]);
          expect(applied.status).toBe("applied");
          expect(partitionKeys[0]?.status).toBe("Inactive");
          expect(parseAuthorization(partitionIam.requests.at(-1)?.header("authorization"))).toMatchObject({ region, service: "iam" });
        } finally {
          await partitionIam.close();
        }
      }
    });

    it("undo leaves a key that was already Inactive inactive", async () => {
      if (keys[0]) keys[0].status = "Inactive";
      const plan = testPlan("aws.iam.deactivate-access-key", params);
      const applied = await iamDeactivate.apply(plan, { dryRun: false });
      const undone = await iamDeactivate.undo(plan, applied);
      expect(undone.output).toMatchObject({ status: "Inactive" });
      expect(keys[0]?.status).toBe("Inactive");
      expect(applied.output).toMatchObject({ previousStatus: "Inactive", changed: false });
      expect(iam.requests.filter((request) => formOf(request).get("Action") === "UpdateAccessKey")).toHaveLength(0);
    });

    it("dry-run lists keys only", async () => {
      const result = await iamDeactivate.apply(testPlan("aws.iam.deactivate-access-key", params), { dryRun: true });
      expect(result.output).toMatchObject({ currentStatus: "Active", wouldDo: "UpdateAccessKey Status=Inactive" });
      expect(iam.requests.map((request) => formOf(request).get("Action"))).toEqual(["ListAccessKeys"]);
    });

    it("names IAM's NoSuchEntity for an unknown user and an unknown key", async () => {
      const user = await iamDeactivate.apply(testPlan("aws.iam.deactivate-access-key", { userName: "ghost", accessKeyId: "AKIAJRLD3ESRQSWUHEWA" }), { dryRun: false });
      expect(user.error).toMatch(/AWS IAM ListAccessKeys answered HTTP 404 NoSuchEntity: The user with name ghost cannot be found\./);
      const key = await iamDeactivate.apply(testPlan("aws.iam.deactivate-access-key", { userName: "alphabet_soup", accessKeyId: "AKIAAAAAAAAAAAAAAAAA" }), { dryRun: false });
      expect(key.error).toMatch(/has no access key AKIAAAAAAAAAAAAAAAAA/);
      expect(key.output).toEqual({ apiCode: "NoSuchEntity" });
    });
  });

  it("an unreachable endpoint is a failed result, not a rejection", async () => {
    const [block] = createAwsActuators({ region: REGION, credentials: AWS_KEYS, endpoint: "http://127.0.0.1:1", maxAttempts: 1, timeoutMs: 2000 }, testRuntime());
    const result = await block?.apply(testPlan("aws.s3.block-public-access", { bucket: "partly-public" }), { dryRun: false });
    expect(result?.status).toBe("failed");
    expect(result?.error).toMatch(/AWS S3 GetPublicAccessBlock got no answer/);
  });

  it("rejects a config without credentials, naming the field", () => {
    expect(() => createAwsActuators({ region: REGION, credentials: { accessKeyId: "AKIA", secretAccessKey: "" } }, testRuntime())).toThrowError(/actuators\.aws\.credentials\.secretAccessKey is required/);
  });
});
