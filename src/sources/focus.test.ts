import { createReadStream, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  FOCUS_1_0_REQUIRED_COLUMNS,
  focusCsvToEvents,
  focusRowToEvent,
  focusRowsToEvents,
  readFocusCsv,
} from "./focus.js";
import { parseCsv } from "./csv.js";
import type { IngestResult } from "./results.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const samplePath = `${fixtures}focus-sample-data/focus_sample_300.csv`;
const sample = readFileSync(samplePath, "utf8");
const sampleLines = sample.split("\n").filter((line) => line.length > 0);
const header = (sampleLines[0] ?? "").split(",").map((name) => name.replace(/"/g, ""));

/** Re-writes CSV records, keeping each field quoted or not as it was. */
function editCsv(lines: readonly string[], edit: (cells: Array<{ value: string; quoted: boolean }>, index: number) => Array<{ value: string; quoted: boolean }>): string {
  return lines
    .map((line, index) => {
      const cells = [...((parseCsv(line)[0]?.fields ?? []) as Array<{ value: string; quoted: boolean }>)];
      return edit(cells, index).map((c) => (c.quoted ? `"${c.value.replace(/"/g, '""')}"` : c.value)).join(",");
    })
    .join("\n");
}

async function collect(iterable: AsyncIterable<IngestResult>): Promise<IngestResult[]> {
  const out: IngestResult[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
const event = (result: IngestResult | undefined) => {
  if (result === undefined) throw new Error("no result");
  if (!result.ok) throw result.error;
  return result.event;
};

describe("FOCUS 1.0 required columns", () => {
  it("lists the 21 mandatory columns of FOCUS 1.0", () => {
    expect([...FOCUS_1_0_REQUIRED_COLUMNS].sort()).toEqual(
      [
        "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
        "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
        "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
        "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
      ].sort(),
    );
  });
});

describe("FOCUS CSV (FOCUS-Sample-Data rows)", () => {
  const results = focusCsvToEvents(sample);

  it("converts every sample row, numbering rows and lines", () => {
    expect(results).toHaveLength(298);
    expect(results.filter((r) => !r.ok).map((r) => (r.ok ? "" : r.error.message))).toEqual([]);
    // Oracle's rows leave ContractedCost null, which FOCUS 1.0 forbids: kept, with a warning.
    const warned = results.filter((r) => r.ok && r.warnings !== undefined);
    expect(warned).toHaveLength(7);
    expect(warned.every((r) => r.ok && (r.event.data as Record<string, unknown>)["ProviderName"] === "Oracle")).toBe(true);
    expect(warned[0]?.ok && warned[0].warnings?.[0]).toContain("ContractedCost is null");
    expect(results.map((r) => r.row ?? 0).sort((a, b) => a - b)).toEqual(results.map((_, i) => i + 1));
    expect(results.every((r) => r.line === (r.row ?? 0) + 1)).toBe(true);
  });

  it("maps id, source, time and subject and types the values", () => {
    const e = event(results.find((r) => r.row === 1));
    expect(e.type).toBe("org.finops.focus.cost");
    expect(e.source).toBe("/focus/AWS/1234567890123");
    expect(e.subject).toBe("arn:ats:sqs:us-test-2:347410479675:mibelllmel-i-032l64f2065481b12");
    expect(e.time).toBe("2024-09-18T22:00:00Z");
    expect(e.id).toMatch(/^sha256:[0-9a-f]{32}$/);
    const data = e.data as Record<string, unknown>;
    expect(data["BilledCost"]).toBe(0.0000008);
    expect(data["ListUnitPrice"]).toBe(0.0000004); // quoted decimal in the CSV
    expect(data["AvailabilityZone"]).toBeNull(); // unquoted NULL
    expect(data["ChargeClass"]).toBeNull();
    expect(data["ChargePeriodStart"]).toBe("2024-09-18 22:00:00"); // text kept as exported
    expect(data["Id"]).toBe("11472"); // a custom column stays text
    expect(Object.keys(data)).toEqual(header);
    const tagged = event(results.find((r) => r.row === 2)).data as Record<string, unknown>;
    expect(tagged["Tags"]).toEqual({ application: "BrightLensMatrix", environment: "dev", business_unit: "ViennaAI" });
  });

  it("covers every provider of the sample", () => {
    const providers = new Set(results.map((r) => (event(r).data as Record<string, unknown>)["ProviderName"]));
    expect([...providers].sort()).toEqual(["AWS", "Microsoft", "Oracle"]);
  });

  it("gives deterministic, distinct ids (re-ingesting is idempotent)", () => {
    const ids = results.map((r) => event(r).id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(focusCsvToEvents(sample).map((r) => event(r).id)).toEqual(ids);
  });

  it("streams the file in small chunks with the same results", async () => {
    const streamed = await collect(readFocusCsv(createReadStream(samplePath, { highWaterMark: 97 })));
    expect(streamed).toEqual(results);
  });

  it("re-writes the sample unchanged with the test's CSV editor", () => {
    expect(editCsv(sampleLines, (cells) => cells)).toBe(sampleLines.join("\n"));
  });

  it("reports a row with an empty required value by row number and column, and keeps the rest", () => {
    const billedCost = header.indexOf("BilledCost");
    const text = editCsv(sampleLines, (cells, index) => (index === 5 ? cells.map((c, i) => (i === billedCost ? { value: "", quoted: false } : c)) : cells));
    const out = focusCsvToEvents(text);
    expect(out).toHaveLength(298);
    const bad = out.filter((r) => !r.ok);
    expect(bad.map((r) => [r.row, r.line])).toEqual([[5, 6]]);
    expect(bad[0]?.ok === false && bad[0].error.details.field).toBe("BilledCost");
    expect(bad[0]?.ok === false && bad[0].error.message).toContain("row 5: FOCUS 1.0 column BilledCost is null");
  });

  it("reports every row when the export lacks a required column", () => {
    const drop = header.indexOf("ServiceName");
    const out = focusCsvToEvents(editCsv(sampleLines.slice(0, 4), (cells) => cells.filter((_, i) => i !== drop)));
    expect(out.map((r) => (r.ok ? "ok" : r.error.details.field))).toEqual(["ServiceName", "ServiceName", "ServiceName"]);
  });

  // A quote opened in the header and never closed swallows every row into the header: the rows
  // are gone, and that must be said, not answered with no results at all.
  it("reports a malformed header, also when it swallowed every row", () => {
    const plain = sampleLines.slice(0, 4).map((line) => line.replace(/"[^"]*"/g, "x")); // no quotes anywhere
    plain[0] = sampleLines[0]?.replace(/"/g, "").replace("BillingCurrency", '"BillingCurrency') as string;
    const swallowed = focusCsvToEvents(`${plain.join("\n")}\n`);
    expect(swallowed).toHaveLength(1);
    expect(swallowed[0]?.ok === false && swallowed[0].error.details.field).toBe("(csv)");
    expect(swallowed[0]?.ok === false && swallowed[0].error.message).toContain("never closed");
    expect(swallowed[0]?.line).toBe(1);
    const lines = sampleLines.slice(0, 3);
    lines[0] = (lines[0] as string).replace('"BillingCurrency"', '"Billing"Currency');
    const after = focusCsvToEvents(lines.join("\n"));
    expect(after.map((r) => (r.ok ? "ok" : r.error.details.field))).toEqual(["(csv)", "(csv)"]);
    expect(after[0]?.ok === false && after[0].error.message).toContain("header");
  });

  it("reports malformed CSV and extra values on their row", () => {
    const lines = sampleLines.slice(0, 4);
    lines[2] = `${lines[2]},"extra"`;
    lines[3] = `"broken"x${lines[3]}`;
    const out = focusCsvToEvents(lines.join("\n"));
    expect(out.map((r) => (r.ok ? "ok" : r.error.details.field))).toEqual(["ok", "(row)", "(csv)"]);
  });

  it("keeps a __proto__ column as data, never as the row's prototype", () => {
    const text = editCsv(sampleLines.slice(0, 2), (cells, index) => [...cells, { value: index === 0 ? "__proto__" : "NULL", quoted: false }]);
    const row = event(focusCsvToEvents(text)[0]).data as Record<string, unknown>;
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.hasOwn(row, "__proto__")).toBe(true);
    expect(row["BilledCost"]).toBe(0.0000008);
  });

  it("gives identical rows distinct ids", () => {
    const out = focusCsvToEvents([sampleLines[0], sampleLines[1], sampleLines[1]].join("\n"));
    const [a, b] = out.map((r) => event(r).id);
    expect(b).toBe(`${a}#2`);
  });
});

describe("FOCUS specification scenarios (not FOCUS 1.0 conformant)", () => {
  it("names the missing mandatory columns of each row", () => {
    const text = readFileSync(`${fixtures}focus-spec-data/commitment_discount_usage_scenario_1.csv`, "utf8");
    const out = focusCsvToEvents(text);
    expect(out.length).toBeGreaterThan(0);
    for (const result of out) {
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      const fields = result.problems.map((p) => p.field);
      expect(fields).toContain("BillingAccountId");
      expect(fields).toContain("ServiceName");
      expect(fields).not.toContain("BilledCost"); // present in this scenario
    }
  });

  // The specification's own scenarios write a null as unquoted `null`, the FOCUS sample data as
  // unquoted NULL: both are null, a quoted "null" is text.
  it("reads an unquoted null in any letter case as null", () => {
    const text = readFileSync(`${fixtures}focus-spec-data/commitment_discount_usage_scenario_2.csv`, "utf8");
    const [first] = focusCsvToEvents(text);
    expect(first?.ok).toBe(false);
    if (first?.ok !== false) return;
    const fields = first.problems.map((p) => p.field);
    expect(fields).toContain("BillingAccountId"); // still not FOCUS 1.0: mandatory columns are absent
    expect(fields).not.toContain("ConsumedQuantity"); // null, not the text "null"
    const resourceId = header.indexOf("ResourceId");
    const edited = editCsv(sampleLines.slice(0, 3), (cells, index) => (index === 0 ? cells : cells.map((c, i) => (i === resourceId ? { value: "null", quoted: index === 2 } : c))));
    const [unquoted, quoted] = focusCsvToEvents(edited).sort((a, b) => (a.row ?? 0) - (b.row ?? 0));
    expect((event(unquoted).data as Record<string, unknown>)["ResourceId"]).toBeNull();
    expect(event(unquoted).subject).toBeUndefined();
    expect(event(quoted).subject).toBe("null");
  });

  it("names spreadsheet-formatted amounts that are not decimals", () => {
    const text = readFileSync(`${fixtures}focus-spec-data/simple_saas_agreements_a1.csv`, "utf8");
    const out = focusCsvToEvents(text);
    const first = out[0];
    expect(first?.ok).toBe(false);
    if (first?.ok !== false) return;
    expect(first.problems.map((p) => p.field)).toContain("BilledCost");
    expect(first.problems.find((p) => p.field === "BilledCost")?.message).toContain('"$10,000.00 ", not a decimal');
    expect(first.problems.map((p) => p.field)).toContain("BillingPeriodEnd"); // "5/1/25"
  });
});

describe("FOCUS decimals past the range of a number", () => {
  it("names the value as written, not as null, in CSV rows, JSON rows and rows JSON.parse read as Infinity", () => {
    // 1e400 read as Infinity, which the message printed as JSON: "BilledCost is null, not a decimal number".
    const csv = editCsv(sampleLines.slice(0, 2), (cells, index) => (index === 0 ? cells : cells.map((cell, i) => (header[i] === "BilledCost" ? { value: "1e400", quoted: false } : cell))));
    const [fromCsv] = focusCsvToEvents(csv);
    const message = (result: IngestResult | undefined) => (result?.ok === false ? result.problems.find((p) => p.field === "BilledCost")?.message : "accepted");
    expect(message(fromCsv)).toContain('"1e400"');
    expect(message(fromCsv)).toContain("past the range");
    const row = focusCsvToEvents(sample).map((r) => event(r).data as Record<string, unknown>)[0]!;
    expect(message(focusRowToEvent({ ...row, BilledCost: "-1e400" }))).toContain('"-1e400"');
    const parsed = JSON.parse(JSON.stringify({ ...row, EffectiveCost: 0 }).replace('"EffectiveCost":0', '"EffectiveCost":1e999')) as Record<string, unknown>;
    const fromJson = focusRowToEvent(parsed);
    expect(fromJson.ok === false && fromJson.problems.find((p) => p.field === "EffectiveCost")?.message).toContain("past the range");
    expect(focusRowToEvent({ ...row, BilledCost: "1e300" }).ok).toBe(true);
  });
});

describe("FOCUS JSON rows", () => {
  const rows = focusCsvToEvents(sample).map((r) => event(r).data as Record<string, unknown>);

  it("converts rows sent as JSON and keeps them as sent", () => {
    const out = focusRowsToEvents(rows.slice(0, 20));
    expect(out.every((r) => r.ok)).toBe(true);
    expect(event(out[0]).data).toBe(rows[0]);
    expect(out.map((r) => r.row)).toEqual(out.map((_, i) => i + 1));
  });

  it("reports a row missing a required column by row number and column name", () => {
    const { PublisherName: _p, ...missing } = rows[1] as Record<string, unknown>;
    const out = focusRowsToEvents([rows[0], missing, rows[2], { ...rows[3], BilledCost: "lots" }]);
    expect(out.map((r) => (r.ok ? "ok" : `${r.row}:${r.error.details.field}`))).toEqual(["ok", "2:PublisherName", "ok", "4:BilledCost"]);
    expect(out[1]?.ok === false && out[1].error.message).toBe("row 2: required FOCUS 1.0 column PublisherName is missing: add the column to the export with a value in every row");
    expect(focusRowToEvent("row").ok).toBe(false);
  });

  it("accepts numeric text for decimals in JSON rows", () => {
    expect(focusRowToEvent({ ...rows[0], BilledCost: "12.50" }).ok).toBe(true);
  });
});

describe("FOCUS documents are emitted in ChargePeriodStart order", () => {
  // The sample is in its export's own order (grouped by resource): row 1 is 2024-09-18 22:00,
  // row 2 is 2024-09-30 22:00, row 3 is 2024-09-24 16:00.
  const millis = (r: IngestResult): number => Date.parse(event(r).time ?? "");
  const inOrder = (results: readonly IngestResult[]): boolean => results.every((r, i) => i === 0 || millis(results[i - 1] as IngestResult) <= millis(r));

  it("orders the CSV rows by ChargePeriodStart, stable within equal times, keeping each row's number", async () => {
    const out = focusCsvToEvents(sample);
    expect(out).toHaveLength(298);
    expect(inOrder(out)).toBe(true);
    expect(new Set(out.map((r) => r.row)).size).toBe(298); // every row once, with its own row number
    for (let i = 1; i < out.length; i++) {
      const [a, b] = [out[i - 1] as IngestResult, out[i] as IngestResult];
      if (millis(a) === millis(b)) expect((a.row ?? 0) < (b.row ?? 0)).toBe(true);
    }
    const line = (r: IngestResult) => sampleLines[(r.line ?? 0) - 1] ?? "";
    expect(line(out[0] as IngestResult)).toContain(`"${(event(out[0]).data as Record<string, unknown>)["ChargePeriodStart"] as string}"`);
    const streamed = await collect(readFocusCsv(createReadStream(samplePath, { highWaterMark: 97 })));
    expect(streamed).toEqual(out);
  });

  it("keeps a rejected row in its place among the ordered rows", () => {
    const billedCost = header.indexOf("BilledCost");
    const text = editCsv(sampleLines.slice(0, 6), (cells, index) => (index === 3 ? cells.map((c, i) => (i === billedCost ? { value: "", quoted: false } : c)) : cells));
    const out = focusCsvToEvents(text);
    expect(out.map((r) => (r.ok ? "ok" : r.row))).toEqual(["ok", "ok", 3, "ok", "ok"]);
    expect(inOrder(out.filter((r) => r.ok))).toBe(true);
  });

  it("orders each part of a CSV larger than the buffer and says so", async () => {
    const out = await collect(readFocusCsv([sample], { maxDocumentBytes: Math.ceil(sample.length / 3) }));
    expect(out).toHaveLength(298);
    expect(inOrder(out)).toBe(false); // three parts, each in order
    const warned = out.filter((r) => r.ok && r.warnings?.some((w) => w.includes("maxDocumentBytes")));
    expect(warned).toHaveLength(1);
    expect(warned[0]?.ok && warned[0].warnings?.join(" ")).toContain("sort the export by ChargePeriodStart");
    const descents = out.filter((r, i) => i > 0 && millis(r) < millis(out[i - 1] as IngestResult)).length;
    expect(descents).toBeGreaterThan(0);
    expect(descents).toBeLessThanOrEqual(3); // at most one per part boundary
  });

  it("orders FOCUS JSON rows, and a FOCUS JSON document read by ingest", async () => {
    const rows = focusCsvToEvents(sample).map((r) => event(r).data as Record<string, unknown>).reverse();
    const out = focusRowsToEvents(rows);
    expect(inOrder(out)).toBe(true);
    expect(new Set(out.map((r) => event(r).data))).toEqual(new Set(rows)); // the rows as sent, each once
    const { ingestText } = await import("./ingest.js");
    const ingested = await ingestText(JSON.stringify(rows.slice(0, 40)));
    expect(ingested.format).toBe("focus-json");
    expect(inOrder(ingested.results)).toBe(true);
    expect(ingested.results.map((r) => r.row ?? r.index).sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
  });
});
