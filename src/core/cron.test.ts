import { describe, expect, it } from "vitest";
import { VigilError } from "./errors.js";
import { parseCron } from "./cron.js";

const next = (schedule: string, after: string): string | undefined => parseCron(schedule).next(new Date(after))?.toISOString();

describe("parseCron: next run", () => {
  // [schedule, after, expected next run]; weekdays: 2025-01-01 Wed, 2025-02-01 Sat, 2025-03-01 Sat, 2026-03-01 Sun.
  const table: [string, string, string | undefined][] = [
    // steps
    ["*/5 * * * *", "2025-03-10T10:02:30Z", "2025-03-10T10:05:00.000Z"],
    ["*/5 * * * *", "2025-03-10T10:05:00Z", "2025-03-10T10:10:00.000Z"],
    ["*/5 * * * *", "2025-03-10T10:59:59.999Z", "2025-03-10T11:00:00.000Z"],
    ["* * * * *", "2025-03-10T10:00:00Z", "2025-03-10T10:01:00.000Z"],
    ["10-30/10 * * * *", "2025-03-10T10:00:00Z", "2025-03-10T10:10:00.000Z"],
    ["10-30/10 * * * *", "2025-03-10T10:10:00Z", "2025-03-10T10:20:00.000Z"],
    ["10-30/10 * * * *", "2025-03-10T10:30:00Z", "2025-03-10T11:10:00.000Z"],
    ["5/20 * * * *", "2025-03-10T10:06:00Z", "2025-03-10T10:25:00.000Z"], // 5/20 runs from 5 to 59: 5, 25, 45
    ["5/20 * * * *", "2025-03-10T10:45:00Z", "2025-03-10T11:05:00.000Z"],
    ["0 0 */10 * *", "2025-04-21T00:00:00Z", "2025-05-01T00:00:00.000Z"], // 1,11,21,31: April has no 31st
    // day of week, Sunday as 0 and 7
    ["0 0 * * 0", "2025-01-01T00:00:00Z", "2025-01-05T00:00:00.000Z"],
    ["0 0 * * 7", "2025-01-01T00:00:00Z", "2025-01-05T00:00:00.000Z"],
    ["0 0 * * 5-7", "2025-01-01T00:00:00Z", "2025-01-03T00:00:00.000Z"],
    ["0 0 * * 5-7", "2025-01-04T12:00:00Z", "2025-01-05T00:00:00.000Z"],
    // both day fields restricted: either matches
    ["0 9 1 * MON", "2025-01-01T10:00:00Z", "2025-01-06T09:00:00.000Z"], // the Monday comes first
    ["0 9 1 * MON", "2025-01-28T12:00:00Z", "2025-02-01T09:00:00.000Z"], // the 1st (a Saturday) comes first
    ["0 0 1-7 * 1", "2025-01-08T00:00:00Z", "2025-01-13T00:00:00.000Z"],
    ["0 0 */2 * 1", "2025-01-01T00:00:00Z", "2025-01-03T00:00:00.000Z"], // */2 restricts: odd days or Mondays
    // one day field unrestricted: the other alone decides
    ["0 9 * * MON", "2025-01-28T12:00:00Z", "2025-02-03T09:00:00.000Z"],
    ["0 9 1 * *", "2025-01-02T00:00:00Z", "2025-02-01T09:00:00.000Z"],
    ["0 0 ? * 1", "2025-01-01T00:00:00Z", "2025-01-06T00:00:00.000Z"],
    ["0 0 1 * ?", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00.000Z"],
    // names, any case
    ["15 8 * MAR-may MON-fri", "2025-02-20T00:00:00Z", "2025-03-03T08:15:00.000Z"],
    ["15 8 * MAR-may MON-fri", "2025-05-30T09:00:00Z", "2026-03-02T08:15:00.000Z"],
    ["0 12 1 jan,Jul *", "2025-01-01T12:00:00Z", "2025-07-01T12:00:00.000Z"],
    // leap years, year ends, impossible dates
    ["30 2 29 2 *", "2025-01-01T00:00:00Z", "2028-02-29T02:30:00.000Z"],
    ["30 2 29 2 *", "2024-02-29T02:30:00Z", "2028-02-29T02:30:00.000Z"],
    ["30 2 29 2 *", "2023-03-01T00:00:00Z", "2024-02-29T02:30:00.000Z"],
    ["30 2 29 2 *", "2096-03-01T00:00:00Z", undefined], // 2100 is not a leap year; 2104 is past the 5-year limit
    ["59 23 31 12 *", "2025-12-31T23:59:00Z", "2026-12-31T23:59:00.000Z"],
    ["0 0 30 2 *", "2025-01-01T00:00:00Z", undefined],
    // descriptors and the UTC prefix
    ["@hourly", "2025-03-10T10:00:00Z", "2025-03-10T11:00:00.000Z"],
    ["@hourly", "2025-03-10T10:30:00Z", "2025-03-10T11:00:00.000Z"],
    ["@daily", "2025-03-10T10:30:00Z", "2025-03-11T00:00:00.000Z"],
    ["@midnight", "2025-03-10T00:00:00Z", "2025-03-11T00:00:00.000Z"],
    ["@weekly", "2025-01-01T00:00:00Z", "2025-01-05T00:00:00.000Z"],
    ["@monthly", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00.000Z"],
    ["@yearly", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z"],
    ["@annually", "2025-06-01T00:00:00Z", "2026-01-01T00:00:00.000Z"],
    ["TZ=UTC 0 3 * * *", "2025-03-10T03:00:00Z", "2025-03-11T03:00:00.000Z"],
    ["CRON_TZ=UTC @daily", "2025-03-10T10:30:00Z", "2025-03-11T00:00:00.000Z"],
    // @every: after, truncated to the second, plus the interval, truncated to the second
    ["@every 90s", "2025-03-10T10:00:00.750Z", "2025-03-10T10:01:30.000Z"],
    ["@every 5m", "2025-03-10T10:02:30Z", "2025-03-10T10:07:30.000Z"],
    ["@every 1h30m", "2025-03-10T10:00:00Z", "2025-03-10T11:30:00.000Z"],
    ["@every 1.5s", "2025-03-10T10:00:00Z", "2025-03-10T10:00:01.000Z"],
    ["@every 1500ms", "2025-03-10T10:00:00.999Z", "2025-03-10T10:00:01.000Z"],
  ];
  for (const [schedule, after, expected] of table) {
    it(`${schedule} after ${after} → ${expected ?? "none"}`, () => {
      expect(next(schedule, after)).toBe(expected);
    });
  }

  it("keeps the source as written and returns a new Date each time", () => {
    const schedule = parseCron("  */5 * * * *  ");
    expect(schedule.source).toBe("  */5 * * * *  ");
    const after = new Date("2025-03-10T10:02:30Z");
    const first = schedule.next(after);
    expect(first).not.toBe(schedule.next(after));
    expect(after.toISOString()).toBe("2025-03-10T10:02:30.000Z");
  });

  it("walks a schedule run after run", () => {
    const schedule = parseCron("0 9 1 * MON");
    const runs: string[] = [];
    let at: Date | undefined = new Date("2025-01-29T00:00:00Z");
    for (let i = 0; i < 5 && at; i++) {
      at = schedule.next(at);
      if (at) runs.push(at.toISOString().slice(0, 10));
    }
    expect(runs).toEqual(["2025-02-01", "2025-02-03", "2025-02-10", "2025-02-17", "2025-02-24"]);
  });

  it("rejects an invalid Date with VIGIL_BAD_INPUT", () => {
    expect(() => parseCron("* * * * *").next(new Date("nope"))).toThrow(/after must be a valid Date/);
    expect(() => parseCron("@every 5m").next(new Date("nope"))).toThrow(/after must be a valid Date/);
  });
});

describe("parseCron: agrees with a day-by-day reference on random schedules", () => {
  // A seeded generator (mulberry32): deterministic, no flakiness.
  const random = (() => {
    let seed = 0x5eed;
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  })();
  const integer = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));

  /** A field text and the values it stands for, built without the parser under test. */
  function field(min: number, max: number): { text: string; values: Set<number>; restricted: boolean } {
    const kind = integer(0, 4);
    if (kind === 0) return { text: "*", values: new Set(range(min, max, 1)), restricted: false };
    if (kind === 1) {
      const values = new Set(Array.from({ length: integer(1, 3) }, () => integer(min, max)));
      return { text: [...values].join(","), values, restricted: true };
    }
    if (kind === 2) {
      const start = integer(min, max);
      const end = integer(start, max);
      return { text: `${start}-${end}`, values: new Set(range(start, end, 1)), restricted: true };
    }
    if (kind === 3) {
      const step = integer(2, Math.min(max, 15));
      return { text: `*/${step}`, values: new Set(range(min, max, step)), restricted: true };
    }
    const start = integer(min, max);
    const step = integer(1, Math.min(max, 15));
    return { text: `${start}/${step}`, values: new Set(range(start, max, step)), restricted: true };
  }
  const range = (start: number, end: number, step: number): number[] => {
    const values: number[] = [];
    for (let v = start; v <= end; v += step) values.push(v);
    return values;
  };

  it("200 schedules × 3 instants", () => {
    for (let i = 0; i < 200; i++) {
      const [minute, hour, dom, month, dow] = [field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 6)];
      const source = [minute, hour, dom, month, dow].map((f) => f.text).join(" ");
      const schedule = parseCron(source);
      for (let j = 0; j < 3; j++) {
        const after = new Date(Date.UTC(2024, 0, 1) + Math.floor(random() * 3 * 365 * 86_400_000));
        // Reference: scan day by day up to the end of the 5th year after `after`, then hours and minutes.
        let expected: Date | undefined;
        const limit = after.getUTCFullYear() + 5;
        for (let day = new Date(Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate())); !expected && day.getUTCFullYear() <= limit; day = new Date(day.getTime() + 86_400_000)) {
          if (!month.values.has(day.getUTCMonth() + 1)) continue;
          const byMonth = dom.values.has(day.getUTCDate());
          const byWeek = dow.values.has(day.getUTCDay());
          if (!(dom.restricted && dow.restricted ? byMonth || byWeek : byMonth && byWeek)) continue;
          for (let h = 0; h < 24 && !expected; h++) {
            if (!hour.values.has(h)) continue;
            for (let m = 0; m < 60; m++) {
              const candidate = new Date(day.getTime() + h * 3_600_000 + m * 60_000);
              if (minute.values.has(m) && candidate > after) { expected = candidate; break; }
            }
          }
        }
        const actual = schedule.next(after);
        expect(actual?.toISOString(), `${source} after ${after.toISOString()}`).toBe(expected?.toISOString());
        if (actual) {
          expect(actual.getTime()).toBeGreaterThan(after.getTime());
          expect(actual.getUTCSeconds() * 1000 + actual.getUTCMilliseconds()).toBe(0);
        }
      }
    }
  });

  it("next() is strictly after `after`, also on a matching minute and for @every", () => {
    for (const source of ["* * * * *", "*/5 * * * *", "0 0 * * *", "@hourly", "@every 1s", "@every 90s"]) {
      const schedule = parseCron(source);
      for (const after of ["2025-03-10T10:00:00.000Z", "2025-03-10T10:00:00.001Z", "2025-03-10T10:04:59.999Z", "2025-12-31T23:59:59.999Z"]) {
        const result = schedule.next(new Date(after));
        expect(result, `${source} after ${after}`).toBeDefined();
        expect(result!.getTime(), `${source} after ${after}`).toBeGreaterThan(Date.parse(after));
      }
    }
  });
});

describe("parseCron: bad schedules", () => {
  // [schedule, the message must contain]
  const table: [string, string][] = [
    ["61 * * * *", 'schedule: minute field "61" is out of range 0-59'],
    ["5,61 * * * *", 'schedule: minute field "5,61": "61" is out of range 0-59'],
    ["10-61 * * * *", 'schedule: minute field "10-61": "61" is out of range 0-59'],
    ["* 24 * * *", 'schedule: hour field "24" is out of range 0-23'],
    ["* * 0 * *", 'schedule: day-of-month field "0" is out of range 1-31'],
    ["* * 32 * *", 'schedule: day-of-month field "32" is out of range 1-31'],
    ["* * * 13 *", 'schedule: month field "13" is out of range 1-12 or JAN-DEC'],
    ["* * * FOO *", 'schedule: month field "FOO" is not a number or a name; use 1-12 or JAN-DEC'],
    ["* * * * 8", 'schedule: day-of-week field "8" is out of range 0-6 or SUN-SAT'],
    ["* * * * MONDAY", 'schedule: day-of-week field "MONDAY" is not a number or a name'],
    ["x * * * *", 'schedule: minute field "x" is not a number'],
    ["-5 * * * *", 'schedule: minute field "-5": "" is missing a value'],
    ["30-10 * * * *", 'schedule: minute field "30-10" runs backwards (30 is after 10); ranges do not wrap around, write two items such as "30-59,0-10"'],
    ["* * * * FRI-MON", 'schedule: day-of-week field "FRI-MON" runs backwards'],
    ["*/0 * * * *", 'schedule: minute field "*/0" has step 0, which must be between 1 and 59'],
    ["*/90 * * * *", "@every 90m"],
    ["* * * * */7", 'schedule: day-of-week field "*/7" has step 7, which must be between 1 and 6'],
    ["*/x * * * *", 'schedule: minute field "*/x" has step "x", which is not a whole number'],
    ["1-2-3 * * * *", 'schedule: minute field "1-2-3" is not a value, range or step'],
    ["1/2/3 * * * *", 'schedule: minute field "1/2/3" is not a value, range or step'],
    ["*-5 * * * *", 'schedule: minute field "*-5" puts "*" in a range'],
    ["? * * * *", 'schedule: minute field "?" uses "?", which only day-of-month and day-of-week accept; write "*"'],
    ["* * * ? *", 'schedule: month field "?" uses "?"'],
    [", * * * *", 'schedule: minute field "," has no values'],
    ["0 0 * * * *", "schedule: expected 5 fields (minute hour day-of-month month day-of-week), found 6 in \"0 0 * * * *\": seconds are not supported"],
    ["0 0 * *", "schedule: expected 5 fields (minute hour day-of-month month day-of-week), found 4"],
    ["0 0 * * * * *", "found 7"],
    ["", "schedule: is empty; write a cron schedule"],
    ["   ", "schedule: is empty"],
    ["@reboot", 'schedule: unknown descriptor "@reboot"; use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or "@every <duration>"'],
    ["@DAILY", 'unknown descriptor "@DAILY"'],
    ["@daily 0", 'unknown descriptor "@daily 0"'],
    ["@every", 'schedule: @every needs a duration, e.g. "@every 5m"'],
    ["@every 500ms", 'schedule: @every duration "500ms" is below 1s; use at least 1s'],
    ["@every 0", 'schedule: @every duration "0" is below 1s'],
    ["@every -5m", 'schedule: @every duration "-5m" is below 1s'],
    ["@every 5", 'schedule: @every duration "5" is missing a unit'],
    ["@every 5x", 'schedule: @every duration "5x" has an unknown unit "x"'],
    ["@every 1d", 'has an unknown unit "d"'],
    ["@every .m", 'schedule: @every duration ".m" is not a duration'],
    ["@every 3000000h", "is too long"],
    ["TZ=Europe/Paris 0 0 * * *", 'schedule: time zone "Europe/Paris" (from TZ=Europe/Paris) is not supported: Vigil evaluates schedules in UTC'],
    ["CRON_TZ=America/New_York @daily", 'time zone "America/New_York" (from CRON_TZ=America/New_York) is not supported'],
    ["TZ=UTC", "schedule: TZ=UTC must be followed by a schedule"],
  ];
  for (const [schedule, message] of table) {
    it(`${JSON.stringify(schedule)}: ${message}`, () => {
      let thrown: unknown;
      try {
        parseCron(schedule);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(VigilError);
      const error = thrown as VigilError;
      expect(error.code).toBe("VIGIL_BAD_INPUT");
      expect(error.details.field).toBe("schedule");
      expect(error.message).toContain(message);
    });
  }

  it("names the caller's field", () => {
    expect(() => parseCron("61 * * * *", "spec.schedule")).toThrow(/^spec\.schedule: minute field "61" is out of range 0-59$/);
    try {
      parseCron("0 0 * * * *", "spec.schedule");
    } catch (error) {
      expect((error as VigilError).details).toEqual({ field: "spec.schedule" });
    }
    expect.assertions(2);
  });

  it("accepts what robfig accepts at the edges: empty list items, leading zeros, Etc/UTC", () => {
    expect(parseCron("5,,10, * * * *").next(new Date("2025-03-10T10:05:00Z"))?.toISOString()).toBe("2025-03-10T10:10:00.000Z");
    expect(parseCron("05 09 * * *").next(new Date("2025-03-10T00:00:00Z"))?.toISOString()).toBe("2025-03-10T09:05:00.000Z");
    expect(parseCron("TZ=Etc/UTC */5 * * * *").next(new Date("2025-03-10T10:02:00Z"))?.toISOString()).toBe("2025-03-10T10:05:00.000Z");
  });
});
