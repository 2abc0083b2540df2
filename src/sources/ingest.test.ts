import { createReadStream, readdirSync, readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { classifyItem, detectFormat, ingestStream, ingestText } from "./ingest.js";
import type { IngestResult } from "./results.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const read = (path: string): string => readFileSync(`${fixtures}${path}`, "utf8");
type Json = Record<string, unknown>;
const cwe = `${fixtures}cloud-custodian/cwe/`;
const custodian = Object.fromEntries(readdirSync(cwe).map((name) => [name, JSON.parse(readFileSync(`${cwe}${name}`, "utf8")) as Json]));
const bareRecords = Object.values(custodian).filter((value) => "eventSource" in value);
const oktaLogs = read("panther-analysis-rules/okta-tests.jsonl")
  .split("\n")
  .filter((line) => line.length > 0)
  .map((line) => (JSON.parse(line) as { log: Json }).log);

async function collect(iterable: AsyncIterable<IngestResult>): Promise<IngestResult[]> {
  const out: IngestResult[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
const ids = (results: readonly IngestResult[]): Array<string | undefined> => results.map((r) => (r.ok ? r.event.id : undefined));
const types = (results: readonly IngestResult[]): Array<string | undefined> => results.map((r) => (r.ok ? r.event.type : undefined));

describe("format detection and conversion", () => {
  it("JSON Lines of CloudEvents", async () => {
    const lines = bareRecords.slice(0, 5).map((record, i) => JSON.stringify({ specversion: "1.0", id: `e${i}`, source: "test", type: "com.amazonaws.cloudtrail", data: record }));
    const { format, results } = await ingestText(lines.join("\n"));
    expect(format).toBe("json-lines");
    expect(ids(results)).toEqual(["e0", "e1", "e2", "e3", "e4"]);
    expect(results.map((r) => r.line)).toEqual([1, 2, 3, 4, 5]);
  });

  it("JSON Lines of mixed upstream records, each line detected on its own", async () => {
    const lines = [
      JSON.stringify(bareRecords[0]),
      JSON.stringify(oktaLogs[0]),
      "not json",
      JSON.stringify(custodian["ec2-duty-event.json"]),
      JSON.stringify({ hello: "world" }),
    ];
    const { format, results } = await ingestText(lines.join("\n") + "\n");
    expect(format).toBe("json-lines");
    expect(types(results)).toEqual(["com.amazonaws.cloudtrail", "com.okta.system.log", undefined, "com.amazonaws.eventbridge", undefined]);
    expect(results[4]?.ok === false && results[4].error.details.field).toBe("(item)");
    expect(results[2]?.ok === false && results[2].line).toBe(3);
  });

  it("a CloudTrail Records file, plain or gzipped (S3 delivery)", async () => {
    const file = JSON.stringify({ Records: bareRecords }, null, 2);
    const plain = await ingestText(file);
    expect(plain.format).toBe("cloudtrail-records");
    expect(plain.results).toHaveLength(bareRecords.length);
    expect(plain.results.every((r) => r.ok && r.event.type === "com.amazonaws.cloudtrail")).toBe(true);
    const withBad = await ingestText(JSON.stringify({ Records: [bareRecords[0], { eventName: "x" }] }));
    expect(withBad.results[1]?.ok === false && withBad.results[1].error.details.field).toBe("Records[1].eventSource");
    const gz = gzipSync(Buffer.from(file));
    const chunks = [gz.subarray(0, 10), gz.subarray(10)];
    const zipped = await ingestStream(Readable.from(chunks));
    expect(zipped.format).toBe("cloudtrail-records");
    expect(ids(await collect(zipped.results))).toEqual(ids(plain.results));
  });

  it("an EventBridge event, a bare CloudTrail record and an AWS Config rule event", async () => {
    const bridge = await ingestText(read("cloud-custodian/cwe/event-cloud-trail-create-bucket.json"));
    expect(bridge.format).toBe("eventbridge");
    expect(ids(bridge.results)).toEqual(["c4fa3db1-2303-40e4-bde0-3b7246bdbf0b"]);
    const record = await ingestText(read("cloud-custodian/cwe/event-cloud-trail-run-instances.json"));
    expect(record.format).toBe("cloudtrail-record");
    expect(types(record.results)).toEqual(["com.amazonaws.cloudtrail"]);
    const config = await ingestText(read("cloud-custodian/cwe/event-config-rule-instance.json"));
    expect(config.format).toBe("unknown");
    expect(config.results[0]?.ok).toBe(false);
  });

  it("an Okta log array", async () => {
    const { format, results } = await ingestText(JSON.stringify(oktaLogs.slice(0, 10), null, 2));
    expect(format).toBe("okta-log");
    expect(results).toHaveLength(10);
    expect(results.every((r) => r.ok && r.event.type === "com.okta.system.log")).toBe(true);
  });

  it("FOCUS CSV, streamed from a file", async () => {
    const outcome = await ingestStream(createReadStream(`${fixtures}focus-sample-data/focus_sample_300.csv`, { highWaterMark: 4096 }), { file: "focus_sample_300.csv" });
    expect(outcome.format).toBe("focus-csv");
    const results = await collect(outcome.results);
    expect(results).toHaveLength(298);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.map((r) => r.row ?? 0).sort((a, b) => a - b)[297]).toBe(298);
    expect(results.every((r, i) => i === 0 || (r.ok && results[i - 1]?.ok && Date.parse(r.event.time ?? "") >= Date.parse((results[i - 1] as { event: { time: string } }).event.time)))).toBe(true);
  });

  it("FOCUS rows as a JSON array", async () => {
    const csv = await ingestText(read("focus-sample-data/focus_sample_300.csv"));
    const rows = csv.results.slice(0, 5).map((r) => (r.ok ? r.event.data : undefined));
    const { format, results } = await ingestText(JSON.stringify(rows));
    expect(format).toBe("focus-json");
    expect(types(results)).toEqual(Array(5).fill("org.finops.focus.cost"));
  });

  it("multi-document Kubernetes YAML", async () => {
    const { format, results } = await ingestText(read("kyverno-policies-resources/manifests/disallow-latest-tag.yaml"), { file: "pods.yaml" });
    expect(format).toBe("kubernetes-yaml");
    expect(results).toHaveLength(8);
    expect(results.every((r) => r.ok && r.event.type === "io.k8s.resource" && r.event.source === "pods.yaml")).toBe(true);
  });

  it("a Kubernetes JSON object and an AdmissionReview", async () => {
    const object = await ingestText(read("kubernetes-api-testdata/core.v1.ConfigMap.json"));
    expect(object.format).toBe("kubernetes");
    expect(types(object.results)).toEqual(["io.k8s.resource"]);
    const review = await ingestText(read("kubernetes-api-testdata/admission.k8s.io.v1.AdmissionReview.json"));
    expect(review.format).toBe("admission-review");
    expect(review.results[0]?.ok === false && review.results[0].error.details.field).toBe("request.operation");
  });

  it("a typed list saved from the API server (kubectl get --raw /api/v1/pods: items without apiVersion and kind)", async () => {
    const { apiVersion: _a, kind: _k, ...pod } = JSON.parse(read("kubernetes-api-testdata/core.v1.Pod.json")) as Json;
    const { format, results } = await ingestText(JSON.stringify({ apiVersion: "v1", kind: "PodList", metadata: { resourceVersion: "7" }, items: [pod, pod] }));
    expect(format).toBe("kubernetes");
    expect(results.map((r) => (r.ok ? r.event.subject : r.problems))).toEqual(["Pod/namespaceValue/nameValue", "Pod/namespaceValue/nameValue"]);
    const bad = await ingestText(JSON.stringify({ apiVersion: "v1", kind: "List", items: [{ apiVersion: "v1", kind: "Pod", metadata: {} }] }));
    expect(bad.results[0]?.ok === false && bad.results[0].problems.map((p) => p.field)).toEqual(["items[0].metadata.name"]);
  });

  it("a JSON document given as text that starts with a BOM (a file read as UTF-8 text keeps it)", async () => {
    const records = read("panther-analysis-rules/cloudtrail-tests.jsonl").split("\n").filter((line) => line.length > 0).slice(0, 2).map((line) => (JSON.parse(line) as { log: Json }).log);
    for (const [text, format] of [[JSON.stringify({ Records: records }, null, 2), "cloudtrail-records"], [JSON.stringify(records[0]), "cloudtrail-record"], [JSON.stringify(oktaLogs.slice(0, 2)), "okta-log"]] as const) {
      const { format: detected, results } = await ingestText(`\uFEFF${text}`);
      expect(detected).toBe(format);
      expect(results.length).toBeGreaterThan(0);
      expect(results.every((r) => r.ok)).toBe(true);
    }
  });

  // Windows PowerShell 5's `>` and Out-File write UTF-16LE with a BOM: such a file was "of no known format".
  it("a UTF-16 file (LE or BE, with its BOM), in chunks that split characters", async () => {
    const text = `${bareRecords.slice(0, 3).map((r) => JSON.stringify(r)).join("\r\n")}\r\n`;
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
    const be = Buffer.from(le);
    be.swap16();
    for (const bytes of [le, be]) {
      const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 101), bytes.subarray(101)];
      const outcome = await ingestStream(Readable.from(chunks));
      expect(outcome.format).toBe("json-lines");
      const results = await collect(outcome.results);
      expect(results.map((r) => r.ok)).toEqual([true, true, true]);
      expect(ids(results)).toEqual(bareRecords.slice(0, 3).map((r) => r["eventID"]));
    }
  });

  it("a single CloudEvent and a batch, pretty-printed", async () => {
    const event = { specversion: "1.0", id: "x1", source: "test", type: "com.example.unknown", data: { any: "thing" } };
    const single = await ingestText(JSON.stringify(event, null, 2));
    expect(single.format).toBe("cloudevent");
    expect(single.results[0]?.ok && single.results[0].event).toEqual(event);
    const batch = await ingestText(JSON.stringify([event, { ...event, id: "" }], null, 2));
    expect(batch.format).toBe("cloudevents-batch");
    expect(batch.results.map((r) => r.ok)).toEqual([true, false]);
  });

  it("reports a corrupt or truncated gzip file instead of throwing", async () => {
    const gz = gzipSync(Buffer.from(JSON.stringify({ Records: bareRecords })));
    const outcome = await ingestStream(Readable.from([gz.subarray(0, gz.length - 20)]));
    const results = await collect(outcome.results);
    expect(results).toHaveLength(1);
    expect(results[0]?.ok === false && results[0].error.message).toContain("could not be gunzipped");
    const lines = gzipSync(Buffer.from(bareRecords.map((r) => JSON.stringify(r)).join("\n")));
    const cut = await ingestStream(Readable.from([lines.subarray(0, Math.floor(lines.length * 0.8))]));
    const streamed = await collect(cut.results);
    expect(streamed.at(-1)?.ok === false && (streamed.at(-1) as { error: Error }).error.message).toContain("could not be gunzipped");
  });

  it("falls back to JSON Lines when the first line is too long to judge from the head", async () => {
    const big = { ...bareRecords[0], padding: "x".repeat(1_200_000) };
    const text = `${JSON.stringify(big)}\n${JSON.stringify(bareRecords[1])}\n`;
    const { format, results } = await ingestText(text);
    expect(format).toBe("json-lines");
    expect(results.map((r) => r.ok)).toEqual([true, true]);
  });

  // A compact file (`jq -c`) is one line: past the 64 KiB head, with its newline read and the
  // stream not yet at its end, it cannot be told from the first line of JSON Lines. Its records
  // must not be lost as one unknown "item".
  it("reads a one-line CloudTrail Records file over 64 KiB, streamed in 64 KiB chunks, record by record", async () => {
    const records = read("panther-analysis-rules/cloudtrail-tests.jsonl").split("\n").filter((line) => line.length > 0).map((line) => (JSON.parse(line) as { log: Json }).log);
    const bytes = Buffer.from(`${JSON.stringify({ Records: [...records, { eventName: "x" }] })}\n`);
    expect(bytes.length).toBeGreaterThan(64 * 1024);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += 64 * 1024) chunks.push(bytes.subarray(at, at + 64 * 1024));
    const results = await collect((await ingestStream(Readable.from(chunks))).results);
    const whole = await ingestText(JSON.stringify({ Records: [...records, { eventName: "x" }] }, null, 1));
    expect(whole.format).toBe("cloudtrail-records");
    expect(results).toHaveLength(records.length + 1);
    expect(ids(results)).toEqual(ids(whole.results));
    expect(results.map((r) => r.index)).toEqual(results.map((_, i) => i));
    const bad = results[records.length];
    expect(bad?.ok === false && bad.error.details.field).toBe(`Records[${records.length}].eventSource`);
    expect(bad?.line).toBe(1);
  });

  // `jq -s . *.json` of CloudTrail log files: an array of {"Records": [...]} documents.
  it("reads an array of CloudTrail Records files record by record", async () => {
    const { format, results } = await ingestText(JSON.stringify([{ Records: bareRecords.slice(0, 2) }, { Records: [bareRecords[2], { eventName: "x" }] }]));
    expect(format).toBe("json-array");
    expect(types(results)).toEqual(["com.amazonaws.cloudtrail", "com.amazonaws.cloudtrail", "com.amazonaws.cloudtrail", undefined]);
    expect(results[3]?.ok === false && results[3].error.details.field).toBe("Records[1].eventSource");
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3]);
  });

  it("reads a Kubernetes List or an array held on one line of JSON Lines item by item", async () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "prod" } };
    const lines = [JSON.stringify({ apiVersion: "v1", kind: "List", items: [pod, { ...pod, metadata: { name: "db" } }] }), JSON.stringify([bareRecords[0], oktaLogs[0]]), JSON.stringify(bareRecords[1])];
    const { format, results } = await ingestText(`${lines.join("\n")}\n`);
    expect(format).toBe("json-lines");
    expect(types(results)).toEqual(["io.k8s.resource", "io.k8s.resource", "com.amazonaws.cloudtrail", "com.okta.system.log", "com.amazonaws.cloudtrail"]);
    expect(results.map((r) => r.line)).toEqual([1, 1, 2, 2, 3]);
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
  });

  // JSON.parse reads any depth, but hashing (content ids) and serializing (storage) recurse and
  // run out of stack a few thousand levels down: such an item is reported, never thrown.
  it("reports an item nested too deeply by its member and keeps reading the others", async () => {
    // Built as text: JSON.stringify itself runs out of stack on such a value.
    const deep = (value: unknown): string => JSON.stringify(value).replace('"DEEP"', `${"[".repeat(20_000)}${"]".repeat(20_000)}`);
    const { eventID: _id, ...noId } = bareRecords[0] as Json;
    const lines = [JSON.stringify(bareRecords[1]), deep({ ...noId, requestParameters: "DEEP" }), deep({ ...oktaLogs[0], debugContext: "DEEP" }), JSON.stringify(bareRecords[2])];
    const { format, results } = await ingestText(`${lines.join("\n")}\n`);
    expect(format).toBe("json-lines");
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
    expect(results[1]?.ok === false && results[1].error.details.field).toBe("requestParameters");
    expect(results[1]?.ok === false && results[1].error.message).toContain("nested deeper than 1200 levels");
    expect(results[2]?.ok === false && results[2].error.details.field).toBe("debugContext");
    const file = await ingestText(deep({ Records: [bareRecords[0], { ...noId, responseElements: "DEEP" }] }));
    expect(file.results.map((r) => r.ok === false && r.error.details.field)).toEqual([false, "Records[1].responseElements"]);
    const plan = await ingestText(deep({ format_version: "1.2", resource_changes: [], planned_values: { root_module: "DEEP" } }));
    expect(plan.results.map((r) => r.ok === false && r.error.details.field)).toEqual(["planned_values"]);
    const [csvHeader, csvRow] = read("focus-sample-data/focus_sample_300.csv").split("\n") as [string, string];
    const tags = `"${deep({ a: "DEEP" }).replace(/"/g, '""')}"`;
    expect(csvRow.endsWith(",NULL")).toBe(true); // Tags, the last column
    const csv = await ingestText(`${csvHeader}\n${csvRow}\n${csvRow.slice(0, -"NULL".length)}${tags}\n`);
    expect(csv.format).toBe("focus-csv");
    expect(csv.results.map((r) => r.ok === false && r.error.details.field)).toEqual([false, "Tags"]);
  });

  it("reports what it cannot read", async () => {
    const text = await ingestText("just some words\nand more");
    expect(text.format).toBe("unknown");
    expect(text.results[0]?.ok === false && text.results[0].error.code).toBe("VIGIL_BAD_INPUT");
    const broken = await ingestText('{\n  "Records": [\n');
    expect(broken.results[0]?.ok === false && broken.results[0].error.message).toContain("not valid JSON");
    expect((await ingestText("")).results).toEqual([]);
  });

  it("honours a forced format", async () => {
    const { format, results } = await ingestText(JSON.stringify(oktaLogs.slice(0, 3)), { format: "cloudevents-batch" });
    expect(format).toBe("cloudevents-batch");
    expect(results.every((r) => !r.ok && r.error.details.field === "specversion")).toBe(true);
  });
});

describe("idempotent ingestion", () => {
  it("gives the same ids when the same file is ingested again (content ids where upstream has none)", async () => {
    const records = [...bareRecords, custodian["event-cloud-trail-bedrock-create-customization-jobs.json"]];
    const text = records.map((r) => JSON.stringify(r)).join("\n");
    const first = ids((await ingestText(text)).results);
    const second = ids((await ingestText(text)).results);
    expect(first).toEqual(second);
    // The bedrock record has no eventID and appears twice: content id, then content id #2.
    const hashed = first.filter((id) => id?.startsWith("sha256:"));
    expect(hashed).toHaveLength(2);
    expect(hashed[1]).toBe(`${hashed[0]}#2`);
  });
});

describe("classifyItem and detectFormat", () => {
  it("classifies real items", () => {
    expect(classifyItem(bareRecords[0])).toBe("cloudtrail-record");
    expect(classifyItem(custodian["ec2-duty-event.json"])).toBe("eventbridge");
    expect(classifyItem(oktaLogs[0])).toBe("okta-event");
    expect(classifyItem({ apiVersion: "v1", kind: "Pod" })).toBe("kubernetes-object");
    expect(classifyItem([1])).toBe("unknown");
  });

  it("needs only the first line for line-oriented formats", () => {
    expect(detectFormat('{"a":1}\n{"b":2}\n', false)).toBe("json-lines");
    expect(detectFormat("{\n  \"a\": 1\n}", true)).toBe("json-document");
    expect(detectFormat(read("focus-sample-data/focus_sample_300.csv").slice(0, 2000), false)).toBe("focus-csv");
    expect(detectFormat("---\napiVersion: v1\nkind: Pod\n", true)).toBe("kubernetes-yaml");
  });
});
