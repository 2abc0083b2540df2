import { describe, expect, it } from "vitest";
import { addBusinessDays, businessDaysBetween, createBusinessCalendar, isBusinessDay } from "./business-days.js";
import { resolveLadderSettings } from "./ladder-settings.js";

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

  it("an IANA time zone follows daylight saving time: days start at local midnight on both sides of the change", () => {
    // Europe/Berlin: CET (UTC+1) until Sunday 2026-03-29 02:00, CEST (UTC+2) after.
    const berlin = createBusinessCalendar({ timeZone: "Europe/Berlin" });
    // Friday 10:00 CET + 1 business day is Monday 10:00 CEST (08:00Z); a fixed +60 said 11:00 CEST.
    expect(addBusinessDays(berlin, at("2026-03-27T09:00:00Z"), 1).toISOString()).toBe("2026-03-30T08:00:00.000Z");
    // Monday 00:30 CEST (Sunday 22:30Z) is Monday: a business day.
    expect(isBusinessDay(berlin, at("2026-03-29T22:30:00Z"))).toBe(true);
    expect(isBusinessDay(berlin, at("2026-03-29T21:30:00Z"))).toBe(false);
    // Marked on Saturday: Monday is the whole first business day (it ends at Tuesday 00:00 CEST).
    expect(addBusinessDays(berlin, at("2026-03-28T12:00:00Z"), 1).toISOString()).toBe("2026-03-30T22:00:00.000Z");
    // Back to CET on Sunday 2026-10-25: Friday 10:00 CEST + 1 is Monday 10:00 CET (09:00Z).
    expect(addBusinessDays(berlin, at("2026-10-23T08:00:00Z"), 1).toISOString()).toBe("2026-10-26T09:00:00.000Z");
    const holiday = createBusinessCalendar({ timeZone: "Europe/Berlin", holidays: ["2026-03-30"] });
    expect(addBusinessDays(holiday, at("2026-03-27T09:00:00Z"), 1).toISOString()).toBe("2026-03-31T08:00:00.000Z");
    expect(() => createBusinessCalendar({ timeZone: "Mars/Olympus" }, "ladder.calendar")).toThrow(/ladder\.calendar\.timeZone "Mars\/Olympus" is not an IANA time zone/);
    expect(() => createBusinessCalendar({ timeZone: "Europe/Berlin", utcOffsetMinutes: 60 })).toThrow(/calendar\.timeZone and calendar\.utcOffsetMinutes/);
    // The cost pack writes utcOffsetMinutes: 0 (the default); a time zone set over it in vigil.yaml is taken.
    expect(resolveLadderSettings({ calendar: { timeZone: "Europe/Berlin", utcOffsetMinutes: 0 } }).calendar.timeZone).toBe("Europe/Berlin");
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
