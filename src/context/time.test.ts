import { describe, expect, it } from "vitest";
import { isoFromMs } from "./time.js";

describe("isoFromMs", () => {
  it("is new Date(ms).toISOString(), also when the same ms repeats or goes back", () => {
    const base = Date.parse("2025-01-06T09:30:00.123Z");
    for (const ms of [base, base, base + 1, base, -1, 0, 0, 253402300800000, base + 86_400_000]) {
      expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it("throws the same RangeError as toISOString for an invalid time", () => {
    expect(() => isoFromMs(Number.NaN)).toThrow(RangeError);
    expect(() => isoFromMs(8.64e15 + 1)).toThrow(RangeError);
  });
});

describe("parseTime: leap seconds", () => {
  it("reads a leap second (23:59:60, which Date.parse rejects) as the last millisecond of its minute, not as no time", async () => {
    const { parseTime } = await import("./time.js");
    const { resolveEvent } = await import("./resolve.js");
    const last = Date.parse("2016-12-31T23:59:59.999Z");
    expect(parseTime("2016-12-31T23:59:60Z")).toBe(last);
    expect(parseTime("2016-12-31T23:59:60.250Z")).toBe(last);
    expect(parseTime("2016-12-31 23:59:60")).toBe(last);
    expect(parseTime("2017-01-01T00:59:60+01:00")).toBe(last);
    expect(parseTime("2016-12-31T23:59:61Z")).toBeUndefined();
    // The event is learned at its own time, not at the clock's.
    const clockMs = Date.parse("2025-06-01T12:00:00Z");
    const event = { id: "e1", type: "com.amazonaws.cloudtrail", source: "test", time: "2016-12-31T23:59:60Z", data: { eventTime: "2016-12-31T23:59:60Z", eventSource: "s3.amazonaws.com" } };
    expect(resolveEvent(event as never, clockMs, { costColumn: "BilledCost", tagKeys: [] }).observation.timeMs).toBe(last);
  });
});
