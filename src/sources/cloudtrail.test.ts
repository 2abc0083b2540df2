import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  cloudTrailFileToEvents,
  cloudTrailRecordToEvent,
  cloudTrailSource,
  eventBridgeToEvent,
} from "./cloudtrail.js";
import { parseCloudEvent } from "./cloudevents.js";
import type { IngestResult } from "./results.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const cwe = `${fixtures}cloud-custodian/cwe/`;
type Json = Record<string, unknown>;
const custodian = Object.fromEntries(
  readdirSync(cwe).map((name) => [name, JSON.parse(readFileSync(`${cwe}${name}`, "utf8")) as Json]),
);
const bareRecords = Object.entries(custodian).filter(([, value]) => "eventSource" in value);
const envelopes = Object.entries(custodian).filter(([, value]) => "detail-type" in value);

interface PantherTest {
  rule: string;
  file: string;
  test: string;
  expectedResult: boolean;
  log: Json;
}
const panther = readFileSync(`${fixtures}panther-analysis-rules/cloudtrail-tests.jsonl`, "utf8")
  .split("\n")
  .filter((line) => line.length > 0)
  .map((line) => JSON.parse(line) as PantherTest);

const event = (result: IngestResult) => {
  if (!result.ok) throw result.error;
  return result.event;
};

describe("CloudTrail records (Cloud Custodian's cwe fixtures)", () => {
  it("covers both bare records and EventBridge envelopes", () => {
    expect(bareRecords.length).toBeGreaterThanOrEqual(10);
    expect(envelopes.filter(([, e]) => e["detail-type"] === "AWS API Call via CloudTrail").length).toBeGreaterThanOrEqual(8);
  });

  it("maps id, source, time, subject and keeps the record unchanged", () => {
    const e = event(cloudTrailRecordToEvent(custodian["event-cloud-trail-create-volume.json"]));
    expect(e).toEqual({
      specversion: "1.0",
      id: "59e2b117-e1dd-466b-a6f3-5c027f0af0f2",
      source: "aws.ec2",
      type: "com.amazonaws.cloudtrail",
      subject: "arn:aws::sts:101010101111:assumed-role/UserRole/userid",
      time: "2016-02-11T15:31:57Z",
      datacontenttype: "application/json",
      data: custodian["event-cloud-trail-create-volume.json"],
    });
  });

  it.each(bareRecords)("%s becomes a valid event", (_name, record) => {
    const e = event(cloudTrailRecordToEvent(record));
    expect(e.type).toBe("com.amazonaws.cloudtrail");
    expect(e.source).toBe(cloudTrailSource(record["eventSource"] as string));
    expect(e.source).toMatch(/^aws\.[a-z0-9-]+$/);
    expect(e.data).toBe(record);
    if (typeof record["eventID"] === "string") expect(e.id).toBe(record["eventID"]);
  });

  it("gives a record without eventID a deterministic content id", () => {
    const record = custodian["event-cloud-trail-bedrock-create-customization-jobs.json"];
    expect(record?.["eventID"]).toBeUndefined();
    const first = event(cloudTrailRecordToEvent(record));
    const again = event(cloudTrailRecordToEvent(JSON.parse(JSON.stringify(record)) as unknown));
    expect(first.id).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(again.id).toBe(first.id);
    expect(first.source).toBe("aws.bedrock");
    expect(first.time).toBeUndefined();
  });

  it("uses the principal fallbacks: arn, then invokedBy, principalId, accountId", () => {
    const base = custodian["event-cloud-trail-create-volume.json"] as Json;
    const withIdentity = (userIdentity: Json) => event(cloudTrailRecordToEvent({ ...base, userIdentity })).subject;
    expect(withIdentity({ type: "AWSService", invokedBy: "ec2.amazonaws.com" })).toBe("ec2.amazonaws.com");
    expect(withIdentity({ type: "Unknown", principalId: "AIDA123", accountId: "1" })).toBe("AIDA123");
    expect(withIdentity({ accountId: "101010101111" })).toBe("101010101111");
  });

  it("an IAM Identity Center user is its user id (onBehalfOf.userId), not the whole account", () => {
    const base = custodian["event-cloud-trail-create-volume.json"] as Json;
    const withIdentity = (userIdentity: Json) => event(cloudTrailRecordToEvent({ ...base, userIdentity })).subject;
    // The shape CloudTrail logs for type IdentityCenterUser: no arn, no principalId.
    const user = (userId: string) => ({ type: "IdentityCenterUser", accountId: "123456789012", onBehalfOf: { userId, identityStoreArn: "arn:aws:identitystore::123456789012:identitystore/d-9067642ac7" }, credentialId: "EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE" });
    expect(withIdentity(user("544894e8-80c1-707f-60e3-3ba6510dfac1"))).toBe("544894e8-80c1-707f-60e3-3ba6510dfac1");
    expect(withIdentity(user("a1b2c3d4-0000-0000-0000-000000000000"))).not.toBe(withIdentity(user("544894e8-80c1-707f-60e3-3ba6510dfac1")));
    // A role session on behalf of a user (trusted identity propagation) is still its session ARN.
    expect(withIdentity({ type: "AssumedRole", arn: "arn:aws:sts::123456789012:assumed-role/Admin/s", principalId: "AROA:s", onBehalfOf: { userId: "u-1" } })).toBe("arn:aws:sts::123456789012:assumed-role/Admin/s");
  });

  it("names eventSource / eventName when a record lacks them", () => {
    const { eventSource: _s, eventName: _n, ...rest } = custodian["event-cloud-trail-create-volume.json"] as Json;
    const result = cloudTrailRecordToEvent(rest);
    expect(result.ok === false && result.problems.map((p) => p.field)).toEqual(["eventSource", "eventName"]);
    expect(cloudTrailRecordToEvent("text").ok).toBe(false);
  });
});

describe("CloudTrail log files ({ Records: [...] })", () => {
  it("converts each record by index and reports bad ones with their path", () => {
    const records = bareRecords.map(([, r]) => r);
    const file = { Records: [...records.slice(0, 3), { eventName: "Orphan" }, ...records.slice(3)] };
    const results = cloudTrailFileToEvents(file);
    expect(results).toHaveLength(records.length + 1);
    expect(results.map((r) => r.index)).toEqual(results.map((_, i) => i));
    expect(results.filter((r) => !r.ok).map((r) => r.index)).toEqual([3]);
    const bad = results[3];
    expect(bad?.ok === false && bad.error.details.field).toBe("Records[3].eventSource");
  });

  it("rejects a file without Records, naming the field", () => {
    const results = cloudTrailFileToEvents({ records: [] });
    expect(results).toHaveLength(1);
    expect(results[0]?.ok === false && results[0].error.details.field).toBe("Records");
  });

  it("gives identical id-less records distinct, stable ids within one file", () => {
    const record = custodian["event-cloud-trail-bedrock-create-customization-jobs.json"];
    const ids = cloudTrailFileToEvents({ Records: [record, record] }).map((r) => event(r).id);
    expect(ids[1]).toBe(`${ids[0]}#2`);
    expect(cloudTrailFileToEvents({ Records: [record, record] }).map((r) => event(r).id)).toEqual(ids);
  });
});

describe("EventBridge envelopes", () => {
  it.each(envelopes.filter(([, e]) => e["detail-type"] === "AWS API Call via CloudTrail"))(
    "%s: the CloudTrail detail becomes the event, with the record's eventID",
    (_name, envelope) => {
      const e = event(eventBridgeToEvent(envelope));
      const detail = envelope["detail"] as Json;
      expect(e.type).toBe("com.amazonaws.cloudtrail");
      expect(e.data).toBe(detail);
      expect(e.id).toBe(detail["eventID"] ?? envelope["id"]);
      expect(e.source).toBe(cloudTrailSource(detail["eventSource"] as string));
    },
  );

  it("gives the same id to a call delivered by S3 and by EventBridge", () => {
    const envelope = custodian["event-cloud-trail-create-bucket.json"] as Json;
    const viaBridge = event(eventBridgeToEvent(envelope));
    const viaS3 = event(cloudTrailFileToEvents({ Records: [envelope["detail"]] })[0] as IngestResult);
    expect(viaBridge.id).toBe(viaS3.id);
    expect(viaBridge.id).toBe("c4fa3db1-2303-40e4-bde0-3b7246bdbf0b");
    expect(viaBridge.subject).toBe("arn:aws:iam::619193117841:root");
  });

  it("maps other detail-types to com.amazonaws.eventbridge with the envelope as data", () => {
    const guardDuty = custodian["ec2-duty-event.json"] as Json;
    const e = event(eventBridgeToEvent(guardDuty));
    expect(e.type).toBe("com.amazonaws.eventbridge");
    expect(e.source).toBe("aws.guardduty");
    expect(e.id).toBe(guardDuty["id"]);
    expect(e.time).toBe(guardDuty["time"]);
    expect(e.data).toBe(guardDuty);
    const state = event(eventBridgeToEvent(custodian["event-instance-state.json"]));
    expect(state.subject).toBe((custodian["event-instance-state.json"]?.["resources"] as string[])[0]);
  });

  // PutEvents allows resources of length 0; CloudEvents forbids an empty subject, so the event
  // would fail Vigil's own validation when read back. The first non-empty resource is the subject.
  it("never takes an empty resource as the subject", () => {
    const state = custodian["event-instance-state.json"] as Json;
    const arn = (state["resources"] as string[])[0];
    const skipped = event(eventBridgeToEvent({ ...state, resources: ["", arn] }));
    expect(skipped.subject).toBe(arn);
    expect(parseCloudEvent(JSON.parse(JSON.stringify(skipped))).ok).toBe(true);
    const none = event(eventBridgeToEvent({ ...state, resources: [""] }));
    expect("subject" in none).toBe(false);
  });

  // EventBridge's PutEvents reads detail nested up to 1100 levels: such an event is valid input.
  it("accepts an EventBridge event nested as deep as PutEvents allows", () => {
    const state = custodian["event-instance-state.json"] as Json;
    const text = JSON.stringify({ ...state, detail: "DEEP" }).replace('"DEEP"', `${"[".repeat(1100)}${"]".repeat(1100)}`);
    expect(eventBridgeToEvent(JSON.parse(text)).ok).toBe(true);
  });

  it("reads every CloudTrail detail-type (console sign-in, console action, service event) as the CloudTrail record it carries", () => {
    const login = panther.find((t) => t.log["eventName"] === "ConsoleLogin" && typeof t.log["eventID"] === "string")?.log as Json;
    const viaS3 = event(cloudTrailFileToEvents({ Records: [login] })[0] as IngestResult);
    // As EventBridge delivers it: the record in `detail`, the envelope's own id and time.
    for (const detailType of ["AWS Console Sign In via CloudTrail", "AWS Console Signin via CloudTrail"]) {
      const envelope = { version: "0", id: "6f87d04b-9f74-4f04-a780-7acf4b0a9b38", "detail-type": detailType, source: "aws.signin", account: "111122223333", time: "2022-11-10T16:24:35Z", region: "us-east-1", resources: [], detail: login };
      const viaBridge = event(eventBridgeToEvent(envelope));
      expect(viaBridge).toEqual(viaS3);
    }
    const rotation = { eventVersion: "1.08", userIdentity: { accountId: "111122223333", invokedBy: "kms.amazonaws.com" }, eventTime: "2024-05-01T00:00:00Z", eventSource: "kms.amazonaws.com", eventName: "RotateKey", eventID: "a1b2c3d4-0000-4000-8000-000000000001", eventType: "AwsServiceEvent" };
    const service = event(eventBridgeToEvent({ version: "0", id: "e-1", "detail-type": "AWS Service Event via CloudTrail", source: "aws.kms", time: "2024-05-01T00:00:01Z", resources: [], detail: rotation }));
    expect(service).toMatchObject({ type: "com.amazonaws.cloudtrail", id: rotation.eventID, source: "aws.kms", subject: "kms.amazonaws.com", data: rotation });
    // A "via CloudTrail" envelope whose detail is not a record (Insights) stays an EventBridge event.
    const insight = { version: "0", id: "e-2", "detail-type": "AWS Insight via CloudTrail", source: "aws.cloudtrail", time: "2024-05-01T00:00:01Z", resources: [], detail: { eventType: "AwsCloudTrailInsight", insightDetails: { eventName: "RunInstances" } } };
    expect(event(eventBridgeToEvent(insight)).type).toBe("com.amazonaws.eventbridge");
  });

  it("rejects what is not an envelope", () => {
    const result = eventBridgeToEvent(custodian["event-config-rule-instance.json"]);
    expect(result.ok === false && result.error.details.field).toBe("detail-type");
  });
});

describe("Panther's labelled CloudTrail test events", () => {
  const results = panther.map((test) => cloudTrailRecordToEvent(test.log));
  const rejected = results.flatMap((result, index) => (result.ok ? [] : [index]));

  it("converts every complete record; rejects only the partial test logs, naming the field", () => {
    expect(panther).toHaveLength(475);
    // These 8 tests are enrichment-only or non-CloudTrail-shaped logs (no eventSource).
    expect(rejected).toEqual([333, 334, 462, 463, 464, 469, 470, 473]);
    for (const index of rejected) {
      const result = results[index];
      expect(result?.ok === false && result.problems.map((p) => p.field)).toContain("eventSource");
    }
  });

  it("keeps every record unchanged in data, and the label stays with the fixture", () => {
    results.forEach((result, index) => {
      if (result.ok) expect(result.event.data).toBe(panther[index]?.log);
    });
    const labels = panther.map((t) => t.expectedResult);
    expect(labels.filter((l) => l === true).length).toBe(219);
    expect(labels.filter((l) => l === false).length).toBe(256);
  });

  it("reads lower-cased keys and Panther's normalized timestamps", () => {
    const lower = panther.findIndex((t) => "eventid" in t.log && "eventtime" in t.log);
    expect(lower).toBeGreaterThanOrEqual(0);
    const log = panther[lower]?.log as Json;
    const e = event(results[lower] as IngestResult);
    expect(e.id).toBe(log["eventid"]);
    expect(e.time).toBe(String(log["eventtime"]).replace(" ", "T") + "Z");
    expect(e.source).toBe(cloudTrailSource(log["eventsource"] as string));
  });

  // Data lakes store eventTime as an epoch number in seconds, milliseconds, microseconds or
  // nanoseconds; each is the same instant. What is no date at all is a warning, never a `time`
  // that Vigil's own CloudEvents validation would reject (`+055840-...`).
  it("reads an epoch eventTime in s, ms, us or ns, and never emits a time that is not RFC 3339", () => {
    const log = panther[0]?.log as Json;
    const at = (eventTime: unknown) => cloudTrailRecordToEvent({ ...log, eventTime });
    for (const epoch of [1_700_000_000, 1_700_000_000_000, 1_700_000_000_000_000, 1_700_000_000_000_000_000]) {
      expect(event(at(epoch)).time).toBe("2023-11-14T22:13:20.000Z");
    }
    const far = at(9e21);
    expect(far.ok && far.event.time).toBeUndefined();
    expect(far.ok && far.warnings?.join(" ")).toContain("not a timestamp");
  });

  it("gives every accepted event an RFC 3339 time or a warning saying why not", () => {
    for (const [index, result] of results.entries()) {
      if (!result.ok) continue;
      const raw = panther[index]?.log["eventTime"] ?? panther[index]?.log["eventtime"];
      if (result.event.time === undefined && raw !== undefined && raw !== null) {
        expect(result.warnings?.join(" ")).toContain("not a timestamp");
      }
    }
    const timed = results.filter((r) => r.ok && r.event.time !== undefined).length;
    expect(timed).toBeGreaterThan(400);
  });
});
