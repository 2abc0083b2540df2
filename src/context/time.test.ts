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
