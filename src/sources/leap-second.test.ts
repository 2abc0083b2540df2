import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseCloudEvent, parseCloudEventBatch } from "./cloudevents.js";
import { cloudTrailRecordToEvent } from "./cloudtrail.js";
import { focusCsvToEvents, orderByChargePeriod } from "./focus.js";
import { parseBinaryCloudEvent } from "./http-binding.js";
import { oktaEventToEvent } from "./okta.js";
import type { IngestResult } from "./results.js";
import { normalizeTimestamp } from "./values.js";
import { createVigilEvent } from "./vigil-data.js";

// A leap second (23:59:60) is valid RFC 3339, but Date.parse gives NaN for it, so every time
// the sources hand on must be read downstream as the last millisecond of its minute, as
// context's parseTime reads it.
const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const record = JSON.parse(readFileSync(`${fixtures}cloud-custodian/cwe/event-cloud-trail-create-volume.json`, "utf8")) as Record<string, unknown>;
const focusLines = readFileSync(`${fixtures}focus-sample-data/focus_sample_300.csv`, "utf8").split("\n").filter((line) => line.length > 0);

const timeOf = (result: IngestResult | undefined): string | undefined => {
  if (result === undefined) throw new Error("no result");
  if (!result.ok) throw result.error;
  return result.event.time;
};

describe("leap seconds", () => {
  it("normalizeTimestamp reads 23:59:60 as 23:59:59.999 in its own offset, for RFC 3339 and the lenient forms", () => {
    expect(normalizeTimestamp("2016-12-31T23:59:60Z")).toBe("2016-12-31T23:59:59.999Z");
    expect(normalizeTimestamp("2016-12-31T18:59:60.5-05:00")).toBe("2016-12-31T18:59:59.999-05:00");
    expect(normalizeTimestamp("2016-12-31 23:59:60")).toBe("2016-12-31T23:59:59.999Z");
    expect(normalizeTimestamp("2016-12-31T23:59:59.5Z")).toBe("2016-12-31T23:59:59.5Z");
    expect(Date.parse(normalizeTimestamp("2016-12-31T23:59:60Z") ?? "")).toBe(Date.parse("2017-01-01T00:00:00Z") - 1);
  });

  it("every source gives an event time Date.parse reads", () => {
    const times = [
      timeOf(parseCloudEvent({ specversion: "1.0", id: "1", source: "/x", type: "com.example.t", time: "2016-12-31T23:59:60Z" })),
      timeOf(parseCloudEventBatch([{ specversion: "1.0", id: "2", source: "/x", type: "com.example.t", time: "2016-12-31T23:59:60.25Z" }])[0]),
      timeOf(parseBinaryCloudEvent({ headers: { "ce-specversion": "1.0", "ce-id": "3", "ce-source": "/x", "ce-type": "com.example.t", "ce-time": "2016-12-31T23:59:60Z", "content-type": "application/json" }, body: "{}" })),
      timeOf(cloudTrailRecordToEvent({ ...record, eventTime: "2016-12-31T23:59:60Z" })),
      timeOf(oktaEventToEvent({ uuid: "u-1", published: "2016-12-31T23:59:60.000Z", eventType: "user.session.start", actor: { alternateId: "jack@acme.io" } })),
      timeOf(createVigilEvent("dev.vigil.metric", { resource: "i-1", metric: "cpu", value: 1, unit: "percent", ts: "2016-12-31T23:59:60Z" })),
    ];
    for (const time of times) {
      expect(time).toMatch(/^2016-12-31T23:59:59\.999Z$/);
      expect(Number.isFinite(Date.parse(time ?? ""))).toBe(true);
    }
  });

  it("a FOCUS row charged from a leap second keeps its place in charge-period order", () => {
    const [header = "", row = ""] = focusLines;
    // The sample's first row is charged from 2024-09-18 22:00:00 to 23:00:00.
    expect(row.split('"2024-09-18 22:00:00"')).toHaveLength(2);
    const withStart = (line: string, start: string): string => line.replace('"2024-09-18 22:00:00"', `"${start}"`);
    const results = focusCsvToEvents([header, withStart(row, "2017-01-01 00:00:00"), withStart(row, "2016-12-31 23:59:60"), withStart(row, "2016-12-31 23:59:59")].join("\n"));
    expect(orderByChargePeriod(results).map(timeOf)).toEqual(["2016-12-31T23:59:59Z", "2016-12-31T23:59:59.999Z", "2017-01-01T00:00:00Z"]);
  });
});
