import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseCloudEvent, parseCloudEventBatch } from "./cloudevents.js";
import type { IngestResult } from "./results.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const custodian = (name: string): unknown => JSON.parse(readFileSync(`${fixtures}cloud-custodian/cwe/${name}`, "utf8"));

/** A structured CloudEvent carrying a real CloudTrail record (Cloud Custodian's fixture). */
function cloudTrailEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    specversion: "1.0",
    id: "59e2b117-e1dd-466b-a6f3-5c027f0af0f2",
    source: "aws.ec2",
    type: "com.amazonaws.cloudtrail",
    subject: "arn:aws::sts:101010101111:assumed-role/UserRole/userid",
    time: "2016-02-11T15:31:57Z",
    datacontenttype: "application/json",
    data: custodian("event-cloud-trail-create-volume.json"),
    ...overrides,
  };
}

function fields(result: IngestResult): string[] {
  return result.ok ? [] : result.problems.map((p) => p.field);
}

describe("structured CloudEvents", () => {
  it("accepts a valid event and keeps data and extensions unchanged", () => {
    const input = cloudTrailEvent({ traceparent: "00-abc-def-01", priority: 3, sampled: true });
    const result = parseCloudEvent(input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event).toEqual(input);
    expect(result.event.data).toEqual(custodian("event-cloud-trail-create-volume.json"));
  });

  it("treats null attributes as absent (JSON format 2.2)", () => {
    const result = parseCloudEvent(cloudTrailEvent({ subject: null, dataschema: null, myext: null }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect("subject" in result.event).toBe(false);
    expect("myext" in result.event).toBe(false);
  });

  it("names each missing required attribute with its fix", () => {
    const result = parseCloudEvent({ data: {} });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(fields(result)).toEqual(["specversion", "id", "source", "type"]);
    expect(result.error.code).toBe("VIGIL_BAD_EVENT");
    expect(result.error.details.field).toBe("specversion");
    expect(result.error.message).toContain('"specversion": "1.0"');
    expect(result.problems[1]?.message).toMatch(/`id` is missing: set a non-empty string/);
  });

  it("rejects other spec versions and non-string required attributes", () => {
    const result = parseCloudEvent(cloudTrailEvent({ specversion: "0.3", id: 42, type: "" }));
    expect(fields(result)).toEqual(["specversion", "id", "type"]);
    if (result.ok) return;
    expect(result.problems[1]?.message).toContain("a number, not a string");
    expect(result.problems[2]?.message).toContain("`type` is empty");
  });

  it.each([
    ["2016-02-11 15:31:57Z", false],
    ["2016-02-11T15:31:57", false],
    ["2016-13-11T15:31:57Z", false],
    ["2016-02-30T15:31:57Z", false],
    ["2016-02-11T25:31:57Z", false],
    ["yesterday", false],
    ["2016-02-29T15:31:57Z", true],
    ["2016-02-11T15:31:57.123456+05:30", true],
    ["2016-02-11t15:31:57z", true],
  ])("time %s valid=%s", (time, valid) => {
    const result = parseCloudEvent(cloudTrailEvent({ time }));
    expect(result.ok).toBe(valid);
    if (!valid) {
      expect(fields(result)).toEqual(["time"]);
      if (!result.ok) expect(result.error.message).toContain("RFC 3339");
    }
  });

  it("checks extension attribute names and suggests the fix", () => {
    const result = parseCloudEvent(cloudTrailEvent({ specVersion: "1.0", my_ext: "x", "Trace-Id": "1" }));
    expect(fields(result)).toEqual(["specVersion", "my_ext", "Trace-Id"]);
    if (result.ok) return;
    expect(result.problems[0]?.message).toContain("did you mean `specversion`");
    expect(result.problems[1]?.message).toContain("rename it to `myext`");
  });

  it("checks extension attribute values against the CloudEvents type system", () => {
    const result = parseCloudEvent(cloudTrailEvent({ nested: { a: 1 }, ratio: 0.5, big: 2_147_483_648, list: [1], ok1: "s", ok2: false, ok3: -2_147_483_648 }));
    expect(fields(result)).toEqual(["nested", "ratio", "big", "list"]);
    if (result.ok) return;
    expect(result.problems[0]?.message).toContain("put structured values in `data`");
    expect(result.problems[1]?.message).toContain("send other numbers as a string");
  });

  it("checks optional attributes: source URI-reference, dataschema URI, media type, subject", () => {
    const result = parseCloudEvent(
      cloudTrailEvent({ source: "my source", dataschema: "schemas/volume.json", datacontenttype: "json", subject: "" }),
    );
    expect(fields(result)).toEqual(["source", "subject", "datacontenttype", "dataschema"]);
  });

  it("accepts media types with parameters", () => {
    expect(parseCloudEvent(cloudTrailEvent({ datacontenttype: 'application/json; charset="utf-8"' })).ok).toBe(true);
  });

  it("rejects control characters in string attributes", () => {
    expect(fields(parseCloudEvent(cloudTrailEvent({ id: "a\u0007b" })))).toEqual(["id"]);
  });

  // CloudEvents 1.0.2 type system, String: control characters, Unicode noncharacters and
  // surrogate code points not used in pairs are disallowed. A lone surrogate cannot even be
  // stored as UTF-8: it would become U+FFFD, so two different ids would be one.
  it("rejects lone surrogates and noncharacters in string attributes and extensions", () => {
    expect(fields(parseCloudEvent(cloudTrailEvent({ id: "vol-\ud800" })))).toEqual(["id"]);
    expect(fields(parseCloudEvent(cloudTrailEvent({ subject: "\udfffx" })))).toEqual(["subject"]);
    expect(fields(parseCloudEvent(cloudTrailEvent({ type: "com.example.\ufdd0" })))).toEqual(["type"]);
    expect(fields(parseCloudEvent(cloudTrailEvent({ myext: "a\uffffb", other: "\u{10FFFE}" })))).toEqual(["myext", "other"]);
    const result = parseCloudEvent(cloudTrailEvent({ id: "vol-\ud800" }));
    expect(result.ok === false && result.error.message).toContain("surrogate");
    // A pair is one character: an emoji is a valid string.
    expect(parseCloudEvent(cloudTrailEvent({ subject: "team \u{1F600}", myext: "\u{1F600}" })).ok).toBe(true);
  });

  it("rejects data nested too deeply to be stored, naming it", () => {
    const deep: unknown = JSON.parse(`${"[".repeat(20_000)}${"]".repeat(20_000)}`);
    const result = parseCloudEvent({ specversion: "1.0", id: "1", source: "/x", type: "com.example.deep", data: { a: deep } });
    expect(fields(result)).toEqual(["data"]);
    expect(parseCloudEvent({ specversion: "1.0", id: "1", source: "/x", type: "com.example.deep", data: JSON.parse(`${"[".repeat(900)}${"]".repeat(900)}`) }).ok).toBe(true);
  });

  it("keeps data_base64 and rejects it together with data or when not Base64", () => {
    const binary = cloudTrailEvent({ type: "com.example.blob", data: undefined, data_base64: Buffer.from("hello").toString("base64"), datacontenttype: "application/octet-stream" });
    const ok = parseCloudEvent(binary);
    expect(ok.ok && ok.event["data_base64"]).toBe("aGVsbG8=");
    expect(fields(parseCloudEvent({ ...binary, data: "x" }))).toEqual(["data_base64"]);
    expect(fields(parseCloudEvent({ ...binary, data_base64: "not base64!" }))).toEqual(["data_base64"]);
  });

  it("accepts unknown types unchanged, whatever their data", () => {
    const input = cloudTrailEvent({ type: "com.example.something.new", data: ["any", { shape: 1 }] });
    const result = parseCloudEvent(input);
    expect(result.ok && result.event).toEqual(input);
  });

  it("validates data of well-known types, naming the data field", () => {
    const record = custodian("event-cloud-trail-create-volume.json") as Record<string, unknown>;
    const { eventSource: _dropped, ...withoutSource } = record;
    const result = parseCloudEvent(cloudTrailEvent({ data: withoutSource }));
    expect(fields(result)).toEqual(["data.eventSource"]);
    const metric = parseCloudEvent(cloudTrailEvent({ type: "dev.vigil.metric", data: { resource: "i-1", metric: "cpu", value: "high", unit: "percent", ts: "2024-05-01T00:00:00Z" } }));
    expect(fields(metric)).toEqual(["data.value"]);
    expect(parseCloudEvent(cloudTrailEvent({ type: "dev.vigil.metric", data: { resource: "i-1" } }), { validateData: false }).ok).toBe(true);
  });

  it("rejects a non-object", () => {
    expect(fields(parseCloudEvent("hello"))).toEqual(["(event)"]);
  });
});

describe("CloudEvents JSON batch", () => {
  it("keeps good items and reports each bad item by index with its field", () => {
    const batch = [
      cloudTrailEvent(),
      cloudTrailEvent({ id: undefined }),
      cloudTrailEvent({ id: "e3", data: custodian("event-cloud-trail-run-instances.json") }),
      cloudTrailEvent({ id: "e4", data: custodian("event-cloud-trail-s3.json") }), // an EventBridge envelope, not a record
      "not an event",
      cloudTrailEvent({ id: "e5", time: "2016-02-11" }),
    ];
    const results = parseCloudEventBatch(batch);
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false, false, false]);
    expect(results.map(fields)).toEqual([[], ["id"], [], ["data.eventSource", "data.eventName"], ["(event)"], ["time"]]);
  });

  it("accepts an empty batch and rejects a non-array", () => {
    expect(parseCloudEventBatch([])).toEqual([]);
    const results = parseCloudEventBatch(cloudTrailEvent());
    expect(results).toHaveLength(1);
    expect(fields(results[0] as IngestResult)).toEqual(["(batch)"]);
  });
});
