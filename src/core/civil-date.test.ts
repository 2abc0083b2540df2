import { describe, expect, it } from "vitest";
import { civilFromDays, daysFromCivil } from "./civil-date.js";

describe("civil dates", () => {
  it("agrees with Date.UTC on every day of 1600-2400 and round-trips", () => {
    for (let days = daysFromCivil(1600, 1, 1); days <= daysFromCivil(2400, 12, 31); days += 1) {
      const date = new Date(days * 86_400_000);
      const civil = civilFromDays(days);
      if (civil.year !== date.getUTCFullYear() || civil.month !== date.getUTCMonth() + 1 || civil.day !== date.getUTCDate()) {
        throw new Error(`day ${days}: ${JSON.stringify(civil)} vs ${date.toISOString()}`);
      }
      if (daysFromCivil(civil.year, civil.month, civil.day) !== days) throw new Error(`day ${days} does not round-trip`);
    }
  });

  it("counts years 0 and below (Go's zero time, proleptic leap years)", () => {
    expect(daysFromCivil(1970, 1, 1)).toBe(0);
    expect(daysFromCivil(1, 1, 1)).toBe(-719162);
    expect(civilFromDays(daysFromCivil(0, 2, 29))).toEqual({ year: 0, month: 2, day: 29 });
    expect(civilFromDays(daysFromCivil(-1, 12, 31) + 1)).toEqual({ year: 0, month: 1, day: 1 });
  });
});
