import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { decodeHeaderValue, parseBinaryCloudEvent, parseHttpCloudEvents } from "./http-binding.js";
import type { IngestResult } from "./results.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const recordText = readFileSync(`${fixtures}cloud-custodian/cwe/event-cloud-trail-create-volume.json`, "utf8");
const record = JSON.parse(recordText) as Record<string, unknown>;

const structured = {
  specversion: "1.0",
  id: "59e2b117-e1dd-466b-a6f3-5c027f0af0f2",
  source: "aws.ec2",
  type: "com.amazonaws.cloudtrail",
  data: record,
};
const binaryHeaders = {
  "ce-specversion": "1.0",
  "ce-id": "59e2b117-e1dd-466b-a6f3-5c027f0af0f2",
  "ce-source": "aws.ec2",
  "ce-type": "com.amazonaws.cloudtrail",
  "ce-time": "2016-02-11T15:31:57Z",
  "content-type": "application/json; charset=utf-8",
};

function only(result: ReturnType<typeof parseHttpCloudEvents>): IngestResult {
  if (!result.ok) throw result.error;
  expect(result.results).toHaveLength(1);
  return result.results[0] as IngestResult;
}

describe("HTTP binding: content modes", () => {
  it("reads structured mode from the CloudEvents media type (with parameters)", () => {
    const result = parseHttpCloudEvents({
      headers: { "Content-Type": "application/cloudevents+json; charset=UTF-8" },
      body: Buffer.from(JSON.stringify(structured)),
    });
    expect(result.ok && result.mode).toBe("structured");
    const item = only(result);
    expect(item.ok && item.event.data).toEqual(record);
  });

  it("reads batched mode, keeping good items and reporting bad ones by index", () => {
    const result = parseHttpCloudEvents({
      headers: { "content-type": "application/cloudevents-batch+json" },
      body: JSON.stringify([structured, { ...structured, source: undefined }, { ...structured, id: "2" }]),
    });
    expect(result.ok && result.mode).toBe("batch");
    if (!result.ok) return;
    expect(result.results.map((r) => [r.index, r.ok])).toEqual([[0, true], [1, false], [2, true]]);
    const bad = result.results[1];
    expect(bad?.ok === false && bad.error.details.field).toBe("source");
  });

  it("accepts a body a framework already parsed", () => {
    const result = parseHttpCloudEvents({ headers: { "content-type": "application/cloudevents+json" }, body: structured });
    expect(only(result).ok).toBe(true);
  });

  it("reads binary mode: ce- headers, Content-Type as datacontenttype, JSON body as data", () => {
    const result = parseHttpCloudEvents({ headers: { ...binaryHeaders, "CE-Comexampleext": "x", "x-other": "ignored" }, body: Buffer.from(recordText) });
    expect(result.ok && result.mode).toBe("binary");
    const item = only(result);
    expect(item.ok).toBe(true);
    if (!item.ok) return;
    expect(item.event).toEqual({
      specversion: "1.0",
      id: "59e2b117-e1dd-466b-a6f3-5c027f0af0f2",
      source: "aws.ec2",
      type: "com.amazonaws.cloudtrail",
      time: "2016-02-11T15:31:57Z",
      datacontenttype: "application/json; charset=utf-8",
      comexampleext: "x",
      data: record,
    });
  });

  it("works with a fetch Headers object", () => {
    const headers = new Headers(binaryHeaders);
    const item = only(parseHttpCloudEvents({ headers, body: recordText }));
    expect(item.ok && item.event.id).toBe("59e2b117-e1dd-466b-a6f3-5c027f0af0f2");
  });

  it("keeps text bodies as strings and other bodies as data_base64", () => {
    const xml = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-type": "com.example.xml", "content-type": "application/xml" }, body: Buffer.from('<much wow="xml"/>') });
    expect(xml.ok && xml.event.data).toBe('<much wow="xml"/>');
    const bytes = Uint8Array.from([0, 1, 2, 255]);
    const blob = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-type": "com.example.blob", "content-type": "application/octet-stream" }, body: bytes });
    expect(blob.ok && blob.event["data_base64"]).toBe("AAEC/w==");
    expect(blob.ok && "data" in blob.event).toBe(false);
  });

  // Binary mode: the body is the data in the media type Content-Type declares, charset included.
  it("reads a text body in the charset its Content-Type declares", () => {
    const latin1 = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-type": "com.example.note", "content-type": "text/plain; charset=ISO-8859-1" }, body: Buffer.from("café crème", "latin1") });
    expect(latin1.ok && latin1.event.data).toBe("café crème");
    const cp1252 = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-type": "com.example.note", "content-type": 'text/csv; charset="windows-1252"' }, body: Uint8Array.from([0xe9, 0x35]) });
    expect(cp1252.ok && cp1252.event.data).toBe("é5");
    // WHATWG windows-1252 (also what the iso-8859-1 label means) has € ‚ ƒ „ … ™ in 0x80-0x9F;
    // Node 20's decoder gives C1 control characters there instead.
    const smart = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-type": "com.example.note", "content-type": "text/plain; charset=iso-8859-1" }, body: Uint8Array.from([0x80, 0x35, 0x20, 0x93, 0x99, 0x94, 0x81]) });
    expect(smart.ok && smart.event.data).toBe("€5 \u201c\u2122\u201d\u0081");
    // A charset no decoder knows: the bytes are kept unchanged, not rejected and not guessed.
    const unknown = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-type": "com.example.note", "content-type": "text/plain; charset=x-unknown-7" }, body: Uint8Array.from([0xe9]) });
    expect(unknown.ok && unknown.event["data_base64"]).toBe("6Q==");
    // UTF-8 declared (or no charset) still has to be UTF-8.
    const broken = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-type": "com.example.note", "content-type": "text/plain; charset=utf-8" }, body: Uint8Array.from([0xe9]) });
    expect(broken.ok === false && broken.error.details.field).toBe("data");
  });

  // A JSON body given as text kept its byte order mark (bytes lose it in the decoder), and JSON in
  // a declared charset was read as UTF-8: both were "not valid JSON".
  it("reads a JSON body given as text with a byte order mark, and JSON in the charset its Content-Type declares", () => {
    const text = parseBinaryCloudEvent({ headers: binaryHeaders, body: `\uFEFF${recordText}` });
    expect(text.ok && text.event.data).toEqual(record);
    const wrapped = parseHttpCloudEvents({ headers: { "content-type": "application/cloudevents+json" }, body: `\uFEFF${JSON.stringify(structured)}` });
    expect(wrapped.ok && wrapped.results[0]?.ok).toBe(true);
    const latin1 = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-type": "com.example.note", "content-type": "application/json; charset=iso-8859-1" }, body: Buffer.from('{"note":"café crème"}', "latin1") });
    expect(latin1.ok && latin1.event.data).toEqual({ note: "café crème" });
  });

  it("accepts an event with no body", () => {
    const item = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-type": "com.example.ping" } });
    expect(item.ok && "data" in item.event).toBe(false);
  });

  it("names the header of a missing or invalid attribute", () => {
    const { "ce-id": _id, ...headers } = binaryHeaders;
    const item = parseBinaryCloudEvent({ headers: { ...headers, "ce-time": "yesterday" }, body: recordText });
    expect(item.ok).toBe(false);
    if (item.ok) return;
    expect(item.problems.map((p) => p.field)).toEqual(["ce-id", "ce-time"]);
  });

  it("rejects ce-datacontenttype, repeated headers and a body that is not the JSON it claims", () => {
    const item = parseBinaryCloudEvent({
      headers: { ...binaryHeaders, "ce-datacontenttype": "application/json", "ce-subject": ["a", "b"] },
      body: "{not json",
    });
    expect(item.ok).toBe(false);
    if (item.ok) return;
    expect(item.problems.map((p) => p.field).sort()).toEqual(["ce-datacontenttype", "ce-subject", "data"]);
  });

  it("takes the data only from the body: ce-data and ce-data_base64 headers are rejected by name", () => {
    for (const name of ["ce-data", "ce-data_base64"]) {
      const noBody = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-type": "com.example.ping", [name]: "AAEC" } });
      expect(noBody.ok === false && noBody.problems.map((p) => p.field), name).toEqual([name]);
      const withBody = parseBinaryCloudEvent({ headers: { ...binaryHeaders, [name]: "AAEC" }, body: recordText });
      expect(withBody.ok === false && withBody.problems.map((p) => p.field), name).toEqual([name]);
    }
  });

  it("validates data of well-known types in binary mode too", () => {
    const { eventName: _n, ...partial } = record;
    const item = parseBinaryCloudEvent({ headers: binaryHeaders, body: JSON.stringify(partial) });
    expect(item.ok === false && item.problems.map((p) => p.field)).toEqual(["data.eventName"]);
  });

  it("answers a request-level error when the request is not CloudEvents or its body is not JSON", () => {
    const none = parseHttpCloudEvents({ headers: { "content-type": "application/json" }, body: recordText });
    expect(none.ok === false && none.error.details.field).toBe("content-type");
    const broken = parseHttpCloudEvents({ headers: { "content-type": "application/cloudevents+json" }, body: "{" });
    expect(broken.ok === false && broken.error.code).toBe("VIGIL_BAD_INPUT");
    const notArray = parseHttpCloudEvents({ headers: { "content-type": "application/cloudevents-batch+json" }, body: JSON.stringify(structured) });
    expect(notArray.ok === false && notArray.error.message).toContain("JSON array");
    const empty = parseHttpCloudEvents({ headers: { "content-type": "application/cloudevents+json" }, body: "" });
    expect(empty.ok === false && empty.error.details.field).toBe("body");
  });

  it("rejects a ce-__proto__ header by name without touching the event's prototype", () => {
    const item = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-__proto__": "x" }, body: recordText });
    expect(item.ok === false && item.error.details.field).toBe("ce-__proto__");
  });

  it("accepts an empty batch", () => {
    const result = parseHttpCloudEvents({ headers: { "content-type": "application/cloudevents-batch+json" }, body: "[]" });
    expect(result.ok && result.results).toEqual([]);
  });

  // HTTP binding 3: a Content-Type prefixed with application/cloudevents is structured mode (in
  // the event format its suffix names), application/cloudevents-batch batched mode; only
  // anything else is binary mode, even when ce- headers are present.
  it("does not read a structured event in another event format as binary mode data", () => {
    const xml = parseHttpCloudEvents({ headers: { ...binaryHeaders, "content-type": "application/cloudevents+xml" }, body: "<event/>" });
    expect(xml.ok).toBe(false);
    expect(xml.ok === false && xml.error.details.field).toBe("content-type");
    expect(xml.ok === false && xml.error.message).toContain("application/cloudevents+json");
    const protobuf = parseHttpCloudEvents({ headers: { "content-type": "application/cloudevents+protobuf" }, body: Buffer.from([10, 3]) });
    expect(protobuf.ok === false && protobuf.error.message).toContain("structured mode in the protobuf event format");
    const batch = parseHttpCloudEvents({ headers: { ...binaryHeaders, "content-type": "application/cloudevents-batch+protobuf" }, body: Buffer.from([10, 3]) });
    expect(batch.ok === false && batch.error.message).toContain("batched mode in the protobuf event format");
  });

  it("names the JSON event format when application/cloudevents carries no format suffix", () => {
    const result = parseHttpCloudEvents({ headers: { ...binaryHeaders, "content-type": "application/cloudevents" }, body: JSON.stringify(structured) });
    expect(result.ok === false && result.error.details.field).toBe("content-type");
    expect(result.ok === false && result.error.message).toContain("application/cloudevents+json");
  });
});

describe("HTTP binding: header value decoding (3.1.3.2)", () => {
  it("percent-decodes UTF-8, upper or lower case", () => {
    expect(decodeHeaderValue("Euro%20%E2%82%AC%20%F0%9F%98%80")).toBe("Euro € 😀");
    expect(decodeHeaderValue("Euro%20%e2%82%ac")).toBe("Euro €");
    expect(decodeHeaderValue("%41BC")).toBe("ABC");
  });

  it("unescapes double-quoted values before percent-decoding", () => {
    expect(decodeHeaderValue('"hello \\"world\\" %25"')).toBe('hello "world" %');
  });

  it("rejects invalid UTF-8 (overlong encodings) and broken escapes", () => {
    expect(decodeHeaderValue("%C0%A0")).toBeUndefined();
    expect(decodeHeaderValue("100%")).toBeUndefined();
    expect(decodeHeaderValue("%ZZ")).toBeUndefined();
  });

  it("reads a raw UTF-8 value as Node hands it over (one character per byte) as the text that was sent", () => {
    // A sender that did not percent-encode "café" sends the bytes 63 61 66 C3 A9; Node's HTTP
    // parser gives header values one latin1 character per byte: "cafÃ©".
    const raw = Buffer.from("café au lait €", "utf8").toString("latin1");
    expect(decodeHeaderValue(raw)).toBe("café au lait €");
    expect(decodeHeaderValue(`${raw}%20%F0%9F%98%80`)).toBe("café au lait € 😀");
    // Text a program put in a header bag directly stays what it was.
    expect(decodeHeaderValue("café")).toBe("café");
    expect(decodeHeaderValue("Ärger 😀")).toBe("Ärger 😀");
    expect(decodeHeaderValue("Ärger%20😀")).toBe("Ärger 😀");
    const item = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-subject": raw }, body: recordText });
    expect(item.ok && item.event.subject).toBe("café au lait €");
  });

  it("reports an undecodable header by name", () => {
    const item = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-subject": "%C0%A0" }, body: recordText });
    expect(item.ok === false && item.error.details.field).toBe("ce-subject");
  });

  it("decodes percent-encoded attributes into the event", () => {
    const item = parseBinaryCloudEvent({ headers: { ...binaryHeaders, "ce-subject": "caf%C3%A9%20au%20lait" }, body: recordText });
    expect(item.ok && item.event.subject).toBe("café au lait");
  });
});
