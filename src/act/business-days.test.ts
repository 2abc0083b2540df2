import { describe, expect, it } from "vitest";
import { addBusinessDays, businessDaysBetween, createBusinessCalendar, isBusinessDay } from "./business-days.js";

const utc = createBusinessCalendar();
const at = (iso: string): Date => new Date(iso);

describe("business days", () => {
  it("weekends do not count: Friday 10:00 + 1 business day is Monday 10:00; + 3 is Wednesday 10:00", () => {
    expect(addBusinessDays(utc, at("2026-01-09T10:00:00Z"), 1).toISOString()).toBe("2026-01-12T10:00:00.000Z");
    expect(addBusinessDays(utc, at("2026-01-09T10:00:00Z"), 3).toISOString()).toBe("2026-01-14T10:00:00.000Z");
    // Monday + 3 stays in the week.
    expect(addBusinessDays(utc, at("2026-01-05T09:30:00Z"), 3).toISOString()).toBe("2026-01-08T09:30:00.000Z");
  });

  it("a mark made on a weekend starts counting on Monday", () => {
    expect(addBusinessDays(utc, at("2026-01-10T15:00:00Z"), 1).toISOString()).toBe("2026-01-13T00:00:00.000Z");
    expect(addBusinessDays(utc, at("2026-01-11T23:59:00Z"), 2).toISOString()).toBe("2026-01-14T00:00:00.000Z");
  });

  it("holidays, custom weekends and a zone offset are honoured", () => {
    const holiday = createBusinessCalendar({ holidays: ["2026-01-12"] });
    expect(addBusinessDays(holiday, at("2026-01-09T10:00:00Z"), 1).toISOString()).toBe("2026-01-13T10:00:00.000Z");
    const gulf = createBusinessCalendar({ weekend: ["FRI", "SAT"] });
    expect(addBusinessDays(gulf, at("2026-01-08T10:00:00Z"), 1).toISOString()).toBe("2026-01-11T10:00:00.000Z");
    // UTC+10: Friday 20:00 UTC is already Saturday 06:00 local, so counting starts Monday local.
    const sydney = createBusinessCalendar({ utcOffsetMinutes: 600 });
    expect(isBusinessDay(sydney, at("2026-01-09T20:00:00Z"))).toBe(false);
    expect(addBusinessDays(sydney, at("2026-01-09T20:00:00Z"), 1).toISOString()).toBe("2026-01-12T14:00:00.000Z");
  });

  it("fractional and zero days; business time between two instants", () => {
    expect(addBusinessDays(utc, at("2026-01-09T18:00:00Z"), 0.5).toISOString()).toBe("2026-01-12T06:00:00.000Z");
    expect(addBusinessDays(utc, at("2026-01-09T18:00:00Z"), 0).toISOString()).toBe("2026-01-09T18:00:00.000Z");
    expect(businessDaysBetween(utc, at("2026-01-09T10:00:00Z"), at("2026-01-12T10:00:00Z"))).toBe(1);
    expect(businessDaysBetween(utc, at("2026-01-10T00:00:00Z"), at("2026-01-12T00:00:00Z"))).toBe(0);
  });

  it("bad calendars and counts are rejected naming the field", () => {
    expect(() => createBusinessCalendar({ weekend: ["SAT", "Sunday", "XYZ"] })).toThrow(/calendar\.weekend\[2\] is "XYZ"/);
    expect(() => createBusinessCalendar({ weekend: ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"] })).toThrow(/no business day/);
    expect(() => createBusinessCalendar({ holidays: ["2026-13-45"] }, "ladder.calendar")).toThrow(/ladder\.calendar\.holidays\[0\]/);
    expect(() => createBusinessCalendar({ utcOffsetMinutes: 2000 })).toThrow(/utcOffsetMinutes/);
    // A day the month does not have (Date.parse rolls 04-31 over to 05-01) would never match a day: refused, not ignored.
    expect(() => createBusinessCalendar({ holidays: ["2026-12-25", "2026-04-31"] }, "ladder.calendar")).toThrow(/ladder\.calendar\.holidays\[1\] is "2026-04-31"/);
    expect(() => createBusinessCalendar({ holidays: ["2026-02-29"] })).toThrow(/calendar\.holidays\[0\]/);
    expect(createBusinessCalendar({ holidays: ["2028-02-29"] }).holidays.has("2028-02-29")).toBe(true);
    expect(() => addBusinessDays(utc, at("2026-01-09T10:00:00Z"), -1)).toThrow(/business days must be a number ≥ 0/);
  });
});
