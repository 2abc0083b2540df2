import { describe, expect, it } from "vitest";
import { formatRfc3339, parseGoTime, rfc3339, truncateTime, wallClock } from "./go-time.js";

const parsed = (layout: string, value: string): string => {
  const t = parseGoTime(layout, value);
  if (t instanceof Error) throw t;
  return formatRfc3339(t);
};

describe("Go time layouts", () => {
  it.each([
    [rfc3339, "2024-03-05T10:00:00.123456789Z", "2024-03-05T10:00:00Z"],
    [rfc3339, "2024-03-05T10:00:00-07:00", "2024-03-05T10:00:00-07:00"],
    ["2006-01-02", "2024-02-29", "2024-02-29T00:00:00Z"],
    // Two-digit years: 69..99 are 19xx, 00..68 are 20xx.
    ["02-01-06", "05-03-69", "1969-03-05T00:00:00Z"],
    ["02-01-06", "05-03-68", "2068-03-05T00:00:00Z"],
    // 12 AM is midnight, 12 PM noon.
    ["2006-01-02 3:04PM", "2024-03-05 12:15AM", "2024-03-05T00:15:00Z"],
    ["2006-01-02 3:04pm", "2024-03-05 12:15pm", "2024-03-05T12:15:00Z"],
    // A day of the year.
    ["2006-002", "2024-065", "2024-03-05T00:00:00Z"],
    // "_2006" is a literal underscore and a year.
    ["x_2006", "x_2024", "2024-01-01T00:00:00Z"],
    // ".999" is optional, ".000" is not; no year is year 0.
    ["15:04:05.999", "07:30:00", "0000-01-01T07:30:00Z"],
    ["January 2, 2006 MST", "march 5, 2024 UTC", "2024-03-05T00:00:00Z"],
    ["2006-01-02T15:04:05Z0700", "2024-03-05T10:00:00+0530", "2024-03-05T10:00:00+05:30"],
  ])("%s reads %s as %s", (layout, value, expected) => {
    expect(parsed(layout, value)).toBe(expected);
  });

  it.each([
    [rfc3339, "2024-03-05 10:00:00Z"],
    [rfc3339, "2024-3-05T10:00:00Z"],
    ["15:04:05.000", "07:30:00"],
    ["2006-01-02", "2023-02-29"],
    ["2006-01-02", "2024-13-01"],
    ["2006-01-02", "2024-03-05 extra"],
    ["2006-01-02 15:04", "2024-03-05 24:00"],
  ])("%s rejects %s, naming what it could not parse", (layout, value) => {
    const t = parseGoTime(layout, value);
    expect(t).toBeInstanceOf(Error);
    expect((t as Error).message).toContain(JSON.stringify(value));
  });

  it("gives the weekday and wall clock in the time's own offset", () => {
    const t = parseGoTime(rfc3339, "2024-03-10T01:00:00+03:00");
    if (t instanceof Error) throw t;
    expect(wallClock(t)).toMatchObject({ year: 2024, month: 3, day: 10, hour: 1, weekday: 0 });
  });

  it("truncates by whole multiples of the duration since the zero time, keeping the offset", () => {
    const t = parseGoTime(rfc3339, "2024-03-05T10:59:59.5-04:00");
    if (t instanceof Error) throw t;
    expect(formatRfc3339(truncateTime(t, 3600))).toBe("2024-03-05T10:00:00-04:00");
    expect(formatRfc3339(truncateTime(t, 86400))).toBe("2024-03-04T20:00:00-04:00");
    expect(formatRfc3339(truncateTime(t, -1))).toBe("2024-03-05T10:59:59-04:00");
  });
});
