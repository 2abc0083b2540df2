/**
 * The pipeline workload, shared by bench/pipeline.ts (one process, embedded SQLite) and
 * bench/scale-out.ts (api + workers on PostgreSQL and NATS): 50 native policies over CloudTrail
 * (40 keyed by eventSource and eventName, so the index selects them, 10 on every event, some
 * reading context signals) and CloudTrail events from a population of principals.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventTypes, type Event } from "../../src/core/event.js";

const services = ["s3", "ec2", "iam", "sts", "kms", "lambda", "rds", "dynamodb", "sqs", "sns"];
const names: Record<string, readonly string[]> = {
  s3: ["GetObject", "PutObject", "PutBucketAcl", "PutBucketPolicy", "DeleteBucketPublicAccessBlock"],
  ec2: ["DescribeInstances", "RunInstances", "AuthorizeSecurityGroupIngress", "ModifyInstanceAttribute"],
  iam: ["CreateUser", "AttachUserPolicy", "CreateAccessKey", "PutUserPolicy", "DeleteRolePolicy"],
  sts: ["AssumeRole", "GetCallerIdentity"],
  kms: ["Decrypt", "ScheduleKeyDeletion", "DisableKey"],
  lambda: ["UpdateFunctionConfiguration20150331v2", "AddPermission20150331v2"],
  rds: ["ModifyDBInstance", "DeleteDBInstance"],
  dynamodb: ["DeleteTable", "UpdateTable"],
  sqs: ["SetQueueAttributes"],
  sns: ["SetTopicAttributes"],
};
const regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"];
const agents = ["aws-cli/2.15.0 Python/3.11", "Boto3/1.34.0 Python/3.12", "[S3Console/0.4]", "terraform/1.7.0"];

/** 50 native policies: 40 keyed by (eventSource, eventName) — the index selects them — and 10 on every CloudTrail event, some reading context signals. */
export function writePolicies(dir: string): void {
  const docs: string[] = [];
  let n = 0;
  for (const service of services) {
    for (const name of names[service] ?? []) {
      if (n >= 40) break;
      docs.push(`apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: keyed-${n}, labels: { pack: bench } }
spec:
  on: [com.amazonaws.cloudtrail]
  match: eventSource == "${service}.amazonaws.com" && eventName == "${name}"
  rules:
    - name: unexpected-region
      condition: awsRegion == "ap-southeast-2" && requestParameters.bucketName in ["bucket-7", "bucket-13", "bucket-101"] && userIdentity.type != "AWSService"
      message: "${name} in {{ awsRegion }} by {{ userIdentity.arn }}"
      severity: ${n % 3 === 0 ? "high" : "medium"}
      effect: ${n % 2 === 0 ? "deny" : "warn"}
`);
      n++;
    }
  }
  const general = [
    ["root-activity", 'userIdentity.type == "Root"', "high"],
    ["console-acl-without-mfa", 'eventName == "PutBucketAcl" && userAgent.startsWith("[S3Console") && !(has(userIdentity.sessionContext) && userIdentity.sessionContext.attributes.mfaAuthenticated == "true")', "low"],
    ["documentation-ip", 'sourceIPAddress.startsWith("203.0.113.")', "medium"],
    ["rare-region-for-principal", 'context.signals.rare.score > 0.9 && context.signals.rare.confidence > 0.8', "medium"],
    ["odd-hour-write", 'context.signals.oddHour.score > 0.95 && context.signals.oddHour.confidence > 0.8 && !eventName.startsWith("Get") && !eventName.startsWith("Describe")', "low"],
    ["error-storm", 'has(errorCode) && errorCode == "AccessDenied" && context.signals.rare.score > 0.5', "low"],
    ["terraform-iam-outside-ci", 'userAgent.startsWith("terraform/") && eventSource == "iam.amazonaws.com" && !userIdentity.arn.contains("role-ci")', "info"],
    ["kms-key-destruction", 'eventName in ["ScheduleKeyDeletion", "DisableKey"] && recipientAccountId == "123456789012"', "critical"],
    ["posture-freeze-writes", 'context.posture.level == "freeze" && !eventName.startsWith("Get")', "high"],
    ["cross-account", 'has(userIdentity.accountId) && userIdentity.accountId != recipientAccountId', "medium"],
  ] as const;
  for (const [name, condition, severity] of general) {
    docs.push(`apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: ${name}, labels: { pack: bench } }
spec:
  on: [com.amazonaws.cloudtrail]
  rules:
    - name: check
      condition: '${condition.replace(/'/g, "''")}'
      message: "${name}: {{ eventName }} by {{ userIdentity.arn }}"
      severity: ${severity}
      effect: warn
`);
  }
  writeFileSync(join(dir, "policies.yaml"), docs.join("---\n"));
}

let sequence = 0;
export function cloudTrail(user: number, index: number, timeMs: number): Event {
  sequence++;
  const service = services[(user + index) % services.length] as string;
  const list = names[service] as readonly string[];
  return {
    specversion: "1.0",
    id: `ct-${sequence}`,
    source: `aws.${service}`,
    type: EventTypes.cloudTrail,
    subject: `arn:aws:sts::123456789012:assumed-role/role-${user % 500}/user-${user}`,
    time: new Date(timeMs).toISOString(),
    data: {
      eventVersion: "1.08",
      eventTime: new Date(timeMs).toISOString(),
      eventSource: `${service}.amazonaws.com`,
      eventName: list[(user * 3 + index) % list.length],
      awsRegion: regions[(user * 7 + index) % regions.length],
      sourceIPAddress: index % 50 === 0 ? "203.0.113.9" : `10.${(user >> 8) & 255}.${user & 255}.${index % 4}`,
      userAgent: agents[(user + index) % agents.length],
      userIdentity: { type: user % 997 === 0 ? "Root" : "AssumedRole", arn: `arn:aws:sts::123456789012:assumed-role/role-${user % 500}/user-${user}`, accountId: "123456789012" },
      requestParameters: { bucketName: `bucket-${user % 200}` },
      recipientAccountId: "123456789012",
      eventID: `ct-${sequence}`,
    },
  };
}

