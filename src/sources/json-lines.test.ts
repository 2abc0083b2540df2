import { readdirSync, readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readJsonLines, readLines } from "./json-lines.js";
import type { IngestResult } from "./results.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const cwe = `${fixtures}cloud-custodian/cwe/`;

/** Structured CloudEvents wrapping the real CloudTrail records of Cloud Custodian's fixtures. */
const events = readdirSync(cwe)
  .filter((name) => name.startsWith("event-cloud-trail-"))
  .map((name) => JSON.parse(readFileSync(`${cwe}${name}`, "utf8")) as Record<string, unknown>)
  .filter((record) => typeof record["eventID"] === "string")
  .map((record) => ({
    specversion: "1.0",
    id: record["eventID"],
    source: "aws.cloudtrail",
    type: "com.amazonaws.cloudtrail",
    time: record["eventTime"],
    data: record,
  }));

async function collect(iterable: AsyncIterable<IngestResult>): Promise<IngestResult[]> {
  const out: IngestResult[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Splits bytes into chunks of `size` bytes (so multi-byte characters and CRLFs get cut). */
function chunked(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

describe("readLines", () => {
  it("splits LF and CRLF, numbers lines, drops a BOM, keeps a last line without newline", async () => {
    const lines = [];
    for await (const line of readLines(["\uFEFFa\r\nb", "\n\nc\r", "\nd"])) lines.push(line);
    expect(lines).toEqual([
      { text: "a", line: 1 },
      { text: "b", line: 2 },
      { text: "", line: 3 },
      { text: "c", line: 4 },
      { text: "d", line: 5 },
    ]);
  });

  it("handles UTF-8 characters cut between chunks", async () => {
    const bytes = Buffer.from("café 😀\nnext\n");
    for (let size = 1; size <= 4; size++) {
      const lines = [];
      for await (const line of readLines(chunked(bytes, size))) lines.push(line.text);
      expect(lines).toEqual(["café 😀", "next"]);
    }
  });
});

describe("readJsonLines", () => {
  it("streams real events, one result per line, whatever the chunk size", async () => {
    expect(events.length).toBeGreaterThanOrEqual(10);
    const text = Buffer.from(events.map((event) => JSON.stringify(event)).join("\r\n") + "\r\n");
    for (const size of [7, 100, 4096]) {
      const results = await collect(readJsonLines(chunked(text, size)));
      expect(results).toHaveLength(events.length);
      expect(results.every((r) => r.ok)).toBe(true);
      expect(results.map((r) => (r.ok ? r.event.id : undefined))).toEqual(events.map((e) => e.id));
      expect(results.map((r) => r.line)).toEqual(events.map((_, i) => i + 1));
    }
  });

  it("never stops at a bad line: reports it with its line number and goes on", async () => {
    const lines = [
      JSON.stringify(events[0]),
      "",
      "{ this is not json",
      "   ",
      JSON.stringify({ ...events[1], time: "last tuesday" }),
      JSON.stringify(events[2]),
      "[1, 2]",
      JSON.stringify(events[3]),
    ];
    const results = await collect(readJsonLines(Readable.from([lines.join("\n")])));
    expect(results.map((r) => [r.index, r.line, r.ok])).toEqual([
      [0, 1, true],
      [1, 3, false],
      [2, 5, false],
      [3, 6, true],
      [4, 7, false],
      [5, 8, true],
    ]);
    const [, notJson, badTime, , array] = results;
    expect(notJson?.ok === false && notJson.error.code).toBe("VIGIL_BAD_INPUT");
    expect(notJson?.ok === false && notJson.error.message).toContain("line 3 is not valid JSON");
    expect(notJson?.ok === false && notJson.error.details.line).toBe(3);
    expect(badTime?.ok === false && badTime.error.details.field).toBe("time");
    expect(array?.ok === false && array.error.details.field).toBe("(event)");
  });

  it("skips over-long lines with an error instead of buffering them", async () => {
    const long = JSON.stringify({ ...events[0], padding: "x".repeat(5000) });
    const input = [JSON.stringify(events[1]), long, JSON.stringify(events[2])].join("\n");
    const results = await collect(readJsonLines(chunked(Buffer.from(input), 1000), { maxLineLength: 4000 }));
    expect(results.map((r) => [r.line, r.ok])).toEqual([[1, true], [2, false], [3, true]]);
    expect(results[1]?.ok === false && results[1].error.message).toContain("longer than 4000");
  });

  it("accepts a whole string as input", async () => {
    const results = await collect(readJsonLines(`${JSON.stringify(events[0])}\n${JSON.stringify(events[1])}`));
    expect(results.map((r) => r.ok)).toEqual([true, true]);
  });

  it("takes a custom converter", async () => {
    const results = await collect(
      readJsonLines(["1\n2\n"], { convert: (value, line) => ({ problems: [{ field: "n", message: `got ${String(value)} on ${line}` }] }) }),
    );
    expect(results.map((r) => (r.ok ? "" : r.error.message))).toEqual(["got 1 on 1", "got 2 on 2"]);
  });

  // vigil replay reads JSON Lines here: a file Windows PowerShell 5 wrote (UTF-16LE, BOM) was "not valid JSON" on every line.
  it("reads UTF-16 JSON Lines (LE or BE, with the BOM), chunks splitting characters", async () => {
    const text = `${events.slice(0, 2).map((e) => JSON.stringify(e)).join("\r\n")}\r\n`;
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
    const be = Buffer.from(le);
    be.swap16();
    for (const bytes of [le, be]) {
      const results: IngestResult[] = [];
      for await (const item of readJsonLines(Readable.from([bytes.subarray(0, 3), bytes.subarray(3, 77), bytes.subarray(77)]))) results.push(item);
      expect(results.map((r) => (r.ok ? r.event.id : r.error.message))).toEqual(events.slice(0, 2).map((e) => e.id));
      expect(results.map((r) => r.line)).toEqual([1, 2]);
    }
  });
});
