import { describe, expect, it } from "vitest";
import { EventTypes } from "../core/event.js";
import { cloudTrailRecordToEvent } from "../sources/cloudtrail.js";
import { cloudTrailFixture, focusFixtureEvents, makeEvent, ok, oktaFixture, pantherLog, readFixture } from "./fixtures.test-support.js";
import { deviceFromUserAgent, resolveEvent } from "./resolve.js";

const options = { costColumn: "BilledCost", tagKeys: ["environment"] };
const now = Date.parse("2025-01-01T00:00:00Z");

describe("CloudTrail: IAM Identity Center users", () => {
  it("each user is their own principal (onBehalfOf.userId), not one IdentityCenterUser for all", () => {
    const record = (userId: string) => makeEvent(EventTypes.cloudTrail, {
      eventVersion: "1.09", eventSource: "sso.amazonaws.com", eventName: "ListApplications", awsRegion: "us-east-1", eventTime: "2024-10-01T12:00:00Z", recipientAccountId: "111122223333",
      userIdentity: { type: "IdentityCenterUser", accountId: "111122223333", onBehalfOf: { userId, identityStoreArn: "arn:aws:identitystore::111122223333:identitystore/d-1234567890" }, credentialId: "EXAMPLE" },
    });
    const first = resolveEvent(record("544894e8-80c1-707f-60e3-3ba6510dfac1"), now, options).entities["principal"];
    const second = resolveEvent(record("9a4b1c2d-0000-4000-8000-000000000000"), now, options).entities["principal"];
    expect(first).toMatchObject({ kind: "principal", id: "544894e8-80c1-707f-60e3-3ba6510dfac1", attrs: { type: "IdentityCenterUser" } });
    expect(second?.id).toBe("9a4b1c2d-0000-4000-8000-000000000000");
  });
});

describe("decide requests", () => {
  const decide = (data: Record<string, unknown>) => resolveEvent(makeEvent(EventTypes.decideRequest, data), now, options).entities;

  it("Vigil's spelling: { kind?, id, attrs? }", () => {
    expect(decide({ principal: { kind: "user", id: "ana", attrs: { team: "pay" } }, resource: { id: "db-1" } })).toMatchObject({ principal: { kind: "user", id: "ana", attrs: { team: "pay" } }, resource: { kind: "resource", id: "db-1", attrs: {} } });
  });

  it("Cedar's spellings: { type, id, ...attributes }, Type::\"id\" and __entity — a resource's criticality reaches the context", () => {
    const entities = decide({ principal: { type: "User", id: "alice", role: "admin", parents: ['Group::"admins"'] }, action: 'Action::"view"', resource: { type: "Photo", id: "vacation.jpg", criticality: "high" } });
    expect(entities["principal"]).toEqual(expect.objectContaining({ kind: "User", id: "alice", attrs: { role: "admin" } }));
    expect(entities["resource"]).toEqual(expect.objectContaining({ kind: "Photo", id: "vacation.jpg", attrs: { criticality: "high" } }));
    expect(decide({ principal: 'User::"bob"', resource: { __entity: { type: "Photo", id: "a.jpg" } } })).toMatchObject({ principal: { kind: "User", id: "bob" }, resource: { kind: "Photo", id: "a.jpg" } });
    expect(decide({ principal: "bob" })["principal"]).toBeUndefined();
  });
});

describe("entity resolution on real payloads", () => {
  it("CloudTrail (EventBridge envelope): principal ARN, bucket, account, region, service, seen values", () => {
    const { entities, observation } = resolveEvent(cloudTrailFixture("event-cloud-trail-s3.json"), now, options);
    expect(entities["principal"]).toMatchObject({ kind: "principal", id: "arn:aws:sts::101010101111:assumed-role/Sandbox_Dev/user", attrs: { type: "AssumedRole", userName: "Sandbox_Dev" } });
    expect(entities["resource"]).toMatchObject({ kind: "resource", id: "cwe-test", attrs: { type: "aws.s3.bucket" } });
    expect(entities["account"]?.id).toBe("101010101111");
    expect(entities["region"]?.id).toBe("us-east-1");
    expect(entities["service"]?.id).toBe("s3.amazonaws.com");
    expect(observation.primaryRole).toBe("principal");
    expect(observation.scopes).toEqual(["account:101010101111"]);
    expect(observation.seen).toEqual({ service: "s3.amazonaws.com", region: "us-east-1", ip: "101.244.214.105", device: "S3Console" });
    expect(new Date(observation.timeMs).toISOString()).toBe("2015-11-23T07:45:25.000Z");
  });

  it("CloudTrail RunInstances by a service: instance from the response, no IP for a service name", () => {
    const { entities, observation } = resolveEvent(cloudTrailFixture("event-cloud-trail-run-instances.json"), now, options);
    expect(entities["principal"]?.id).toBe("arn:aws:iam::619193117841:root");
    expect(entities["resource"]).toMatchObject({ id: "i-784cdacd", attrs: { type: "aws.ec2.instance" } });
    expect(observation.seen.ip).toBeUndefined();
    expect(observation.seen.device).toBeUndefined();
    expect(observation.seen.region).toBe("us-west-1");
  });

  it("Okta: actor, device and geo from client fields, ASN from the security context", () => {
    const { entities, observation } = resolveEvent(oktaFixture("rules/okta_rules/okta_login_signal.yml", "Successful Login"), now, options);
    expect(entities["principal"]).toMatchObject({ id: "casey.hill@hey.com", attrs: { displayName: "Casey Hill", provider: "okta" } });
    expect(entities["device"]).toMatchObject({ kind: "device", id: "Computer / Mac OS 14.4.1 (Sonoma) / CHROME" });
    expect(entities["geo"]).toMatchObject({ kind: "geo", id: "United States", attrs: { city: "Atlanta", state: "Georgia" } });
    expect(entities["resource"]).toMatchObject({ attrs: { type: "okta.app", name: "Okta Dashboard" } });
    expect(observation.seen).toMatchObject({ country: "United States", asn: "7018", ip: "99.108.5.25", service: "Okta Dashboard" });
    expect(new Date(observation.timeMs).toISOString()).toBe("2024-04-02T19:17:37.621Z");
  });

  it("FOCUS rows: resource, sub-account, service, tags, spend for the charge period", () => {
    const events = focusFixtureEvents();
    expect(events.length).toBeGreaterThan(200);
    const tagged = events.find((event) => {
      const data = event.data as Record<string, unknown>;
      return data["ResourceId"] !== null && data["Tags"] !== null && typeof data["Tags"] === "object";
    });
    expect(tagged).toBeDefined();
    const data = tagged!.data as Record<string, unknown>;
    const { entities, observation } = resolveEvent(tagged!, now, options);
    expect(entities["resource"]?.id).toBe(data["ResourceId"]);
    expect(entities["resource"]?.attrs["tags"]).toEqual(data["Tags"]);
    expect(entities["account"]?.id).toBe(data["SubAccountId"]);
    expect(entities["service"]?.id).toBe(data["ServiceName"]);
    expect(observation.spend?.amount).toBe(Number(data["BilledCost"]));
    expect(observation.spend?.periodHours).toBeGreaterThanOrEqual(1);
    const environment = (data["Tags"] as Record<string, string>)["environment"];
    if (environment) expect(entities["tag:environment"]?.id).toBe(`environment=${environment}`);
    expect(observation.scopes).toContain(`account:${String(data["SubAccountId"])}`);
  });

  it("Kubernetes AdmissionReview: resource kind/namespace/name, namespace scope, requesting user", () => {
    const review = JSON.parse(readFixture("kubernetes-api-testdata/admission.k8s.io.v1.AdmissionReview.json")) as Record<string, unknown>;
    const { entities, observation } = resolveEvent(makeEvent(EventTypes.admissionReview, review), now, options);
    expect(entities["namespace"]?.id).toBe("namespaceValue");
    expect(entities["resource"]?.id).toMatch(/^kindValue\/namespaceValue\//);
    expect(entities["principal"]?.id).toBe("usernameValue");
    expect(observation.scopes).toEqual(["namespace:namespaceValue"]);
  });

  it("GitHub pull request: repo (primary) and actor", () => {
    const payload = JSON.parse(readFixture("octokit-webhooks-examples/pull_request/00-opened.json")) as Record<string, unknown>;
    const { entities, observation } = resolveEvent(makeEvent("com.github.pull_request", payload), now, options);
    const repository = payload["repository"] as Record<string, unknown>;
    expect(entities["repo"]?.id).toBe(repository["full_name"]);
    expect(entities["principal"]?.id).toBe((payload["sender"] as Record<string, unknown>)["login"]);
    expect(observation.primaryRole).toBe("repo");
    expect(observation.scopes).toEqual([`repo:${String(repository["full_name"])}`]);
  });

  it("Vigil data events: metric, dependency change, dataflow, inventory, unknown type", () => {
    const metric = resolveEvent(makeEvent(EventTypes.metric, { resource: "i-1", metric: "CPUUtilization", value: 3.5, unit: "Percent", ts: "2025-01-02T03:00:00Z" }), now, options);
    expect(metric.entities["resource"]?.id).toBe("i-1");
    expect(metric.observation.metric).toEqual({ name: "CPUUtilization", value: 3.5, unit: "Percent" });
    expect(new Date(metric.observation.timeMs).toISOString()).toBe("2025-01-02T03:00:00.000Z");
    expect(resolveEvent(makeEvent(EventTypes.dependencyChange, { repo: "acme/web" }), now, options).observation.scopes).toEqual(["repo:acme/web"]);
    expect(resolveEvent(makeEvent(EventTypes.dataflow, { dataset: "crm", classification: "personal" }), now, options).entities["dataset"]).toMatchObject({ id: "crm", attrs: { classification: "personal" } });
    const inventory = resolveEvent(makeEvent(EventTypes.resource, { kind: "aws.ec2.instance", id: "i-9", region: "eu-west-1", owner: "ana", tags: { team: "data" }, attrs: { account: "123" } }), now, options);
    expect(inventory.entities["resource"]?.attrs).toMatchObject({ type: "aws.ec2.instance", region: "eu-west-1", owner: "ana", tags: { team: "data" } });
    expect(inventory.observation.scopes).toEqual(["account:123"]);
    const unknown = resolveEvent(makeEvent("com.example.thing", { x: 1 }, { subject: "thing-1" }), now, options);
    expect(unknown.entities["subject"]?.id).toBe("thing-1");
    expect(unknown.observation.timeMs).toBe(now);
  });

  it("never throws on malformed data", () => {
    for (const type of Object.values(EventTypes)) {
      for (const data of [null, 42, "text", [], { userIdentity: 5, actor: [], request: "x", Tags: "{bad" }]) {
        expect(() => resolveEvent(makeEvent(type, data), now, options)).not.toThrow();
      }
    }
  });

  it("device labels from user agents", () => {
    expect(deviceFromUserAgent("aws-cli/2.13.5 Python/3.11.4 Linux/5.15")).toBe("aws-cli");
    expect(deviceFromUserAgent("[S3Console/0.4]")).toBe("S3Console");
    expect(deviceFromUserAgent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36")).toBe("Chrome on macOS");
  });

  it("gives the same device for a user agent seen again, also after the cache of user agents fills up", () => {
    const mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36";
    expect(deviceFromUserAgent(mac)).toBe("Chrome on macOS");
    for (let i = 0; i < 2_100; i++) expect(deviceFromUserAgent(`tool-${i}/1.0`)).toBe(`tool-${i}`);
    expect(deviceFromUserAgent(mac)).toBe("Chrome on macOS");
    expect(deviceFromUserAgent(`${"x".repeat(600)} trailing`)).toBe("x".repeat(600));
    expect(deviceFromUserAgent(`${"x".repeat(600)} trailing`)).toBe("x".repeat(600));
    expect(deviceFromUserAgent("[S3Console/0.4]")).toBe("S3Console");
  });
});

describe("time helpers", () => {
  it("isoFromMinutes matches Date#toISOString across leap years and centuries", async () => {
    const { isoFromMinutes, parseTime } = await import("./time.js");
    for (const text of ["1970-01-01T00:00:00.000Z", "2000-02-29T23:59:00.000Z", "2024-12-31T12:34:00.000Z", "2100-03-01T00:01:00.000Z", "1969-12-31T23:59:00.000Z"]) {
      expect(isoFromMinutes(Date.parse(text) / 60_000)).toBe(text);
    }
    for (let minutes = 28_000_000; minutes < 30_000_000; minutes += 7_919) expect(isoFromMinutes(minutes)).toBe(new Date(minutes * 60_000).toISOString());
    expect(parseTime("2024-04-02 19:17:37.621000000")).toBe(Date.parse("2024-04-02T19:17:37.621Z"));
    expect(parseTime("2024-09-18 22:00:00")).toBe(Date.parse("2024-09-18T22:00:00Z"));
    expect(parseTime("2024-09-18T22:00:00+02:00")).toBe(Date.parse("2024-09-18T20:00:00Z"));
    expect(parseTime(1_700_000_000)).toBe(1_700_000_000_000);
    expect(parseTime("yesterday")).toBeUndefined();
    // Epoch numbers in the units exporters use: seconds, milliseconds, microseconds, nanoseconds.
    for (const value of [1_725_235_200, 1_725_235_200_000, 1_725_235_200_000_000, 1_725_235_200_000_000_000]) expect(parseTime(value)).toBe(1_725_235_200_000);
    // Times baselines cannot hold (before 1970: Go's zero time; after 9999) are not times.
    for (const value of ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "+010000-01-01T00:00:00Z", "+275760-09-13T00:00:00.000Z"]) expect(parseTime(value)).toBeUndefined();
  });
});

describe("CloudTrail: assumed-role sessions with machine-generated names", () => {
  const log = (file: string, test: string) => pantherLog("cloudtrail", file, test);
  const imds = "rules/aws_cloudtrail_rules/aws_imds_credential_exfiltration.yml";
  /** A real record of the role with its session renamed as the caller named it. */
  const session = (name: string) => {
    const record = structuredClone(log(imds, "IMDS Credentials Used From Public IP")) as Record<string, any>;
    record["userIdentity"]["arn"] = `arn:aws:sts::123456789012:assumed-role/MyAppRole/${name}`;
    record["userIdentity"]["principalId"] = `AROAEXAMPLE:${name}`;
    return ok(cloudTrailRecordToEvent(record));
  };
  const principal = (event: ReturnType<typeof session>) => resolveEvent(event, now, options).entities["principal"];

  it("an EC2 instance session (i-0abcdef1234567890), with or without the session issuer, is judged as its role", () => {
    const withIssuer = principal(ok(cloudTrailRecordToEvent(log(imds, "IMDS Credentials Used From Public IP"))));
    const withoutIssuer = principal(ok(cloudTrailRecordToEvent(log(imds, "Normal EC2 Workload From Private IP"))));
    expect(withIssuer).toMatchObject({
      kind: "principal",
      id: "arn:aws:iam::123456789012:role/MyAppRole",
      attrs: { type: "AssumedRole", sessionName: "i-0abcdef1234567890", sessionArn: "arn:aws:sts::123456789012:assumed-role/MyAppRole/i-0abcdef1234567890" },
    });
    expect(withoutIssuer?.id).toBe("arn:aws:iam::123456789012:role/MyAppRole");
    expect(withoutIssuer?.attrs["sessionName"]).toBe("i-0abcdef1234567890");
  });

  it("ECS task ids, botocore sessions, UUIDs, long hex and SDK timestamps are one principal: the role", () => {
    const names = [
      "a1b2c3d4e5f60718293a4b5c6d7e8f90", // ECS task id (32 hex)
      "8f0c9b0e-7c2d-4a8b-9f1e-2d3c4b5a6978", // ECS task id (UUID, older format), or any UUID
      "botocore-session-1700000000",
      "aws-go-sdk-1700000000123456789",
      "GitHubActions-5f9a0c3e1b2d4f6a8c7e", // a long hex suffix
    ];
    expect(new Set(names.map((name) => principal(session(name))?.id))).toEqual(new Set(["arn:aws:iam::123456789012:role/MyAppRole"]));
    expect(principal(session("botocore-session-1700000000"))?.attrs["sessionName"]).toBe("botocore-session-1700000000");
  });

  it("human session names (SSO e-mails, user names) stay their own principals", () => {
    const sso = principal(ok(cloudTrailRecordToEvent(log("rules/aws_cloudtrail_rules/aws_ec2_manual_security_group_changes.yml", "Terraform Security Group Creation"))));
    expect(sso?.id).toMatch(/^arn:aws:sts::\d+:assumed-role\/[^/]+\/ryan@/);
    for (const name of ["alice@example.com", "bobson.dugnutt", "leroy.jenkins", "ci", "GitHubActions", "admin", "1111"]) {
      expect(principal(session(name))?.id).toBe(`arn:aws:sts::123456789012:assumed-role/MyAppRole/${name}`);
    }
    // An e-mail is a person even when it holds digits.
    expect(principal(session("u1700000000@example.com"))?.id).toBe("arn:aws:sts::123456789012:assumed-role/MyAppRole/u1700000000@example.com");
  });

  it("the role's sessions build one baseline: a new region after 40 sessions is rare", async () => {
    const { createContextStage } = await import("./stage.js");
    const { createManualClock, createMemoryDocStorage } = await import("./test-support.js");
    const start = Date.parse("2024-01-01T00:00:00Z");
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const at = (index: number, region: string) => {
      const event = session(`botocore-session-${1704067200 + index * 3600}`);
      const data = { ...(event.data as Record<string, unknown>), eventTime: new Date(start + index * 3_600_000).toISOString(), awsRegion: region };
      return { ...event, id: `${event.id}-${index}`, time: data.eventTime, data };
    };
    for (let index = 0; index < 40; index++) {
      const event = at(index, "us-east-1");
      stage.observe(event, await stage.build(event));
    }
    const context = await stage.build(at(41, "ap-southeast-2"));
    expect(context.features?.["principal"]?.["events"]).toBe(40);
    expect(context.signals["rare"]?.values?.["firstSeen"]).toEqual(["region"]);
  });
});
