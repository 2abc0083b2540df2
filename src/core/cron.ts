/**
 * Cron schedules of Kyverno cleanup policies (`spec.schedule`, e.g. "*\/5 * * * *"), evaluated on
 * Vigil's injectable clock, always in UTC. Dependency-free.
 *
 * Grammar: the standard 5 fields (minute, hour, day of month, month, day of week) as robfig/cron
 * v3 `cron.ParseStandard` reads them, plus the descriptors (@yearly ... @hourly, `@every <Go
 * duration>`) and a `TZ=UTC` / `CRON_TZ=UTC` prefix. Where Kyverno itself is stricter or looser
 * than robfig, this module says so next to the rule (see the notes on `*` and on steps).
 *
 * Day rule (Vixie cron, robfig, and the cronexpr library Kyverno's cleanup controller computes
 * its next run with): when day-of-month or day-of-week is unrestricted (`*` or `?`), the other
 * alone decides; when both are restricted, a day matches when EITHER matches.
 *
 * `next()` steps field by field (month, then day, then hour, then minute, resetting the lower
 * fields), as robfig's SpecSchedule.Next does, so a rare schedule costs a few hundred steps,
 * not a minute-by-minute scan.
 */
import { VigilError } from "./errors.js";

export interface CronSchedule {
  /** The schedule as written. */
  readonly source: string;
  /**
   * The first time strictly after `after` that matches, in UTC, at second 0; undefined if none
   * within 5 years (robfig's limit: up to the end of `after`'s year + 5). For `@every d` it is
   * `after`, truncated to the second, plus `d` truncated to the second (as robfig does), which
   * is always later than `after` because `d` is at least 1 s. Pure; never throws on a valid Date
   * (an invalid Date is VIGIL_BAD_INPUT).
   */
  next(after: Date): Date | undefined;
}

/**
 * Parses a schedule once; the returned schedule is immutable. Throws VigilError
 * `VIGIL_BAD_INPUT` with `details.field = field` and a message that starts with `field`, names
 * the cron field at fault and says how to fix it.
 */
export function parseCron(source: string, field = "schedule"): CronSchedule {
  if (typeof source !== "string") throw bad(field, `must be a cron schedule string such as "*/5 * * * *", got ${typeof source}`);
  let spec = source.trim();
  if (spec === "") throw bad(field, `is empty; write a cron schedule such as "*/5 * * * *" or a descriptor such as @hourly`);

  const zone = /^(CRON_TZ|TZ)=(\S*)\s*/.exec(spec);
  if (zone) {
    const name = zone[2] ?? "";
    if (!UTC_ZONES.has(name)) {
      throw bad(field, `time zone ${JSON.stringify(name)} (from ${zone[1]}=${name}) is not supported: Vigil evaluates schedules in UTC; drop the prefix and write the times in UTC, or write ${zone[1]}=UTC`);
    }
    spec = spec.slice(zone[0].length);
    if (spec === "") throw bad(field, `${zone[1]}=${name} must be followed by a schedule, e.g. "${zone[1]}=UTC 0 3 * * *"`);
  }

  if (spec.startsWith("@")) {
    if (spec === "@every" || spec.startsWith("@every ") || spec.startsWith("@every\t")) return everySchedule(source, spec.slice("@every".length).trim(), field);
    const expansion = DESCRIPTORS.get(spec);
    if (expansion === undefined) {
      throw bad(field, `unknown descriptor ${JSON.stringify(spec)}; use one of ${[...DESCRIPTORS.keys()].join(", ")} or "@every <duration>" (e.g. @every 1h30m)`);
    }
    spec = expansion;
  }

  const texts = spec.split(/\s+/);
  if (texts.length !== 5) {
    const why = texts.length === 6 ? ": seconds are not supported (nor is a year field)" : "";
    throw bad(field, `expected 5 fields (minute hour day-of-month month day-of-week), found ${texts.length} in ${JSON.stringify(source)}${why}; write e.g. "*/5 * * * *" or a descriptor such as @hourly`);
  }
  const [minuteText, hourText, domText, monthText, dowText] = texts as [string, string, string, string, string];
  return cronSchedule(source, {
    minute: parseField(minuteText, MINUTE, field),
    hour: parseField(hourText, HOUR, field),
    dayOfMonth: parseField(domText, DAY_OF_MONTH, field),
    month: parseField(monthText, MONTH, field),
    dayOfWeek: parseField(dowText, DAY_OF_WEEK, field),
  });
}

// ---------------------------------------------------------------------------------------------
// Fields

type FieldName = "minute" | "hour" | "day-of-month" | "month" | "day-of-week";

interface FieldBounds {
  readonly name: FieldName;
  readonly min: number;
  /** The largest value a match can have (and the end of `*` and of `a/n`). */
  readonly max: number;
  /** The largest value accepted as written: day-of-week also takes 7 for Sunday. */
  readonly maxWritten: number;
  /** Three-letter names, upper case; the first one stands for `min`. */
  readonly names?: readonly string[];
  /** Whether `?` (same as `*`) is allowed: day fields only. */
  readonly question: boolean;
  readonly hint: string;
}

const MINUTE: FieldBounds = { name: "minute", min: 0, max: 59, maxWritten: 59, question: false, hint: "0-59" };
const HOUR: FieldBounds = { name: "hour", min: 0, max: 23, maxWritten: 23, question: false, hint: "0-23" };
const DAY_OF_MONTH: FieldBounds = { name: "day-of-month", min: 1, max: 31, maxWritten: 31, question: true, hint: "1-31" };
const MONTH: FieldBounds = {
  name: "month", min: 1, max: 12, maxWritten: 12, question: false, hint: "1-12 or JAN-DEC",
  names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
};
const DAY_OF_WEEK: FieldBounds = {
  name: "day-of-week", min: 0, max: 6, maxWritten: 7, question: true, hint: "0-6 or SUN-SAT (7 is also Sunday)",
  names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};

interface ParsedField {
  /** matches[v] for every v in min..max. */
  readonly matches: readonly boolean[];
  /**
   * The field holds a bare `*` or `?` item (no step), so it does not restrict days. `*\/2` does
   * restrict (robfig v3 and cronexpr agree); `*\/1` also counts as restricted here, as in cronexpr,
   * Kyverno's runtime library (robfig v3 would call it unrestricted).
   */
  readonly star: boolean;
}

function parseField(text: string, bounds: FieldBounds, field: string): ParsedField {
  const matches = new Array<boolean>(bounds.max + 1).fill(false);
  let star = false;
  // Empty items ("1,,2", "5,") are skipped, as robfig and cronexpr skip them.
  const items = text.split(",").filter((item) => item !== "");
  if (items.length === 0) throw bad(field, `${bounds.name} field ${JSON.stringify(text)} has no values; use ${bounds.hint} or *`);
  for (const item of items) {
    // `minute field "61" is out of range 0-59`, or `minute field "10-61": "61" is out of range 0-59`.
    const about = (subject: string) => (problem: string): VigilError =>
      bad(field, `${bounds.name} field ${JSON.stringify(text)}${subject === text ? "" : `: ${JSON.stringify(subject)}`} ${problem}`);
    const at = about(item);
    const [rangeText = "", stepText, ...extraSlashes] = item.split("/");
    const ends = rangeText.split("-");
    if (extraSlashes.length > 0 || ends.length > 2) {
      throw at(`is not a value, range or step; write one of 5, 1-5, */15, 10-30/10, 5/15 (values ${bounds.hint})`);
    }
    const wildcard = rangeText === "*" || rangeText === "?";
    if (rangeText === "?" && !bounds.question) throw at(`uses "?", which only day-of-month and day-of-week accept; write "*"`);
    if (!wildcard && ends.some((end) => end === "*" || end === "?")) throw at(`puts "${ends.includes("*") ? "*" : "?"}" in a range; write "*" alone or a range such as 1-5`);

    const first = ends[0] ?? "";
    const last = ends[1] ?? "";
    let start = wildcard ? bounds.min : value(first, bounds, about(first));
    let end = wildcard ? bounds.max : ends.length === 2 ? value(last, bounds, about(last)) : start;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) throw at(`has step ${JSON.stringify(stepText)}, which is not a whole number; write e.g. */15`);
      step = Number(stepText);
      // cronexpr (Kyverno's runtime) rejects a step beyond the field's maximum; robfig would
      // accept "*/90" as "0", which is not what its author meant.
      if (step < 1 || step > bounds.max) throw at(`has step ${step}, which must be between 1 and ${bounds.max}${bounds.name === "minute" || bounds.name === "hour" ? ` (for longer intervals use "@every <duration>", e.g. @every 90m)` : ""}`);
      // "a/n" runs from a to the field's maximum.
      if (!wildcard && ends.length === 1) end = Math.max(bounds.max, start);
    } else if (wildcard) {
      star = true;
    }
    if (start > end) {
      const split = start <= bounds.max ? `, write two items such as "${start}-${bounds.max},${bounds.min}-${end}"` : "";
      throw at(`runs backwards (${start} is after ${end}); ranges do not wrap around${split}`);
    }
    for (; start <= end; start += step) matches[start > bounds.max ? bounds.min : start] = true;
  }
  return { matches, star };
}

function value(token: string, bounds: FieldBounds, at: (problem: string) => VigilError): number {
  if (/^\d+$/.test(token)) {
    const number = Number(token);
    if (number < bounds.min || number > bounds.maxWritten) throw at(`is out of range ${bounds.hint}`);
    return number;
  }
  const index = bounds.names?.indexOf(token.toUpperCase()) ?? -1;
  if (index >= 0) return bounds.min + index;
  if (token === "") throw at(`is missing a value; write e.g. 5, 1-5, */15 or 10-30/10 (values ${bounds.hint})`);
  throw at(`is not ${bounds.names ? "a number or a name" : "a number"}; use ${bounds.hint}`);
}

// ---------------------------------------------------------------------------------------------
// Schedules

const UTC_ZONES = new Set(["UTC", "Etc/UTC"]);

/** robfig's descriptors, as the 5-field schedules they stand for. Case-sensitive, as in robfig. */
const DESCRIPTORS = new Map<string, string>([
  ["@yearly", "0 0 1 1 *"],
  ["@annually", "0 0 1 1 *"],
  ["@monthly", "0 0 1 * *"],
  ["@weekly", "0 0 * * 0"],
  ["@daily", "0 0 * * *"],
  ["@midnight", "0 0 * * *"],
  ["@hourly", "0 * * * *"],
]);

interface Fields {
  readonly minute: ParsedField;
  readonly hour: ParsedField;
  readonly dayOfMonth: ParsedField;
  readonly month: ParsedField;
  readonly dayOfWeek: ParsedField;
}

const MINUTE_MS = 60_000;
/** The largest time a JavaScript Date holds. */
const MAX_DATE_MS = 8.64e15;

function cronSchedule(source: string, fields: Fields): CronSchedule {
  const { minute, hour, dayOfMonth, month, dayOfWeek } = fields;
  const eitherDay = !dayOfMonth.star && !dayOfWeek.star;
  const dayMatches = (date: Date): boolean => {
    const byMonth = dayOfMonth.matches[date.getUTCDate()] === true;
    const byWeek = dayOfWeek.matches[date.getUTCDay()] === true;
    return eitherDay ? byMonth || byWeek : byMonth && byWeek;
  };
  return {
    source,
    next(after) {
      const afterMs = validTime(after);
      // robfig: the search starts at the next whole second and is given up after 5 years.
      const yearLimit = new Date(Math.floor(afterMs / 1000) * 1000 + 1000).getUTCFullYear() + 5;
      // Seconds are always 0, so the first candidate is the next whole minute.
      let t = new Date(Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
      for (;;) {
        if (Number.isNaN(t.getTime())) return undefined;
        const year = t.getUTCFullYear();
        if (year > yearLimit) return undefined;
        const monthIndex = t.getUTCMonth();
        // INVARIANT: each step moves t forward and resets every field below the one stepped.
        if (month.matches[monthIndex + 1] !== true) { t = utc(year, monthIndex + 1, 1); continue; }
        const day = t.getUTCDate();
        if (!dayMatches(t)) { t = utc(year, monthIndex, day + 1); continue; }
        const hours = t.getUTCHours();
        if (hour.matches[hours] !== true) { t = utc(year, monthIndex, day, hours + 1); continue; }
        const minutes = t.getUTCMinutes();
        if (minute.matches[minutes] !== true) { t = utc(year, monthIndex, day, hours, minutes + 1); continue; }
        return t;
      }
    },
  };
}

function everySchedule(source: string, durationText: string, field: string): CronSchedule {
  if (durationText === "") throw bad(field, `@every needs a duration, e.g. "@every 5m" or "@every 1h30m"`);
  const nanos = parseGoDuration(durationText);
  if (typeof nanos === "string") throw bad(field, `@every duration ${JSON.stringify(durationText)} ${nanos}; write a Go duration such as 90s, 5m or 1h30m`);
  if (nanos < NANOS_PER_SECOND) throw bad(field, `@every duration ${JSON.stringify(durationText)} is below 1s; use at least 1s, e.g. "@every 30s"`);
  // robfig rounds the interval down to the second.
  const intervalMs = Number(nanos / NANOS_PER_SECOND) * 1000;
  return {
    source,
    next(after) {
      const ms = Math.floor(validTime(after) / 1000) * 1000 + intervalMs;
      return ms > MAX_DATE_MS ? undefined : new Date(ms);
    },
  };
}

function validTime(after: Date): number {
  const ms = after instanceof Date ? after.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw new VigilError("VIGIL_BAD_INPUT", `after must be a valid Date, got ${String(after)}`, { field: "after" });
  return ms;
}

/** A UTC time; day, hour and minute may overflow into the next month, day or hour. */
function utc(year: number, monthIndex: number, day: number, hours = 0, minutes = 0): Date {
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hours, minutes, 0, 0);
  return date;
}

// ---------------------------------------------------------------------------------------------
// Go durations (time.ParseDuration): [-+]? then one or more <decimal><unit>, or "0".

const NANOS_PER_SECOND = 1_000_000_000n;
const MAX_DURATION_NANOS = (1n << 63n) - 1n;
const UNIT_NANOS = new Map<string, bigint>([
  ["ns", 1n],
  ["us", 1_000n],
  ["µs", 1_000n], // U+00B5 micro sign
  ["μs", 1_000n], // U+03BC Greek mu
  ["ms", 1_000_000n],
  ["s", NANOS_PER_SECOND],
  ["m", 60n * NANOS_PER_SECOND],
  ["h", 3_600n * NANOS_PER_SECOND],
]);

/** Nanoseconds, or the reason the text is not a Go duration (a phrase to follow the text). */
function parseGoDuration(text: string): bigint | string {
  let rest = text;
  const negative = rest.startsWith("-");
  if (negative || rest.startsWith("+")) rest = rest.slice(1);
  if (rest === "0") return 0n;
  if (rest === "") return "is not a duration";
  let total = 0n;
  while (rest !== "") {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest);
    const whole = number?.[1] ?? "";
    const fraction = number?.[2] ?? "";
    if (whole === "" && fraction === "") return "is not a duration";
    rest = rest.slice(number?.[0].length ?? 0);
    const unitText = /^[^\d.]+/.exec(rest)?.[0];
    if (unitText === undefined) return "is missing a unit (ns, us, ms, s, m or h)";
    const unit = UNIT_NANOS.get(unitText);
    if (unit === undefined) return `has an unknown unit ${JSON.stringify(unitText)} (use ns, us, ms, s, m or h)`;
    rest = rest.slice(unitText.length);
    total += BigInt(whole === "" ? "0" : whole) * unit;
    if (fraction !== "") total += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    if (total > MAX_DURATION_NANOS) return "is too long (Go durations stop at about 292 years)";
  }
  return negative ? -total : total;
}

function bad(field: string, problem: string): VigilError {
  return new VigilError("VIGIL_BAD_INPUT", `${field}: ${problem}`, { field });
}
