import { VigilError } from "../core/errors.js";
import { DAY_MS, MINUTE_MS, parseRfc3339 } from "./time.js";

/**
 * Schedules kept as entity attributes: `schedule` (when a batch resource is expected to run)
 * and `onCall` (when a person is on call). Accepted shapes, alone or in an array:
 * - a cron string, 5 fields `minute hour day-of-month month day-of-week`, optionally followed
 *   by a duration: `"0 2 * * *"` (daily at 02:00, 1 hour), `"0 1 * * SUN 3h"`;
 * - `{ cron, duration?, utcOffsetMinutes? | timeZone? }` (duration `90m`, `3h`, `2d`, ISO `PT3H`,
 *   or minutes; timeZone an IANA name such as `Europe/Berlin`, whose daylight saving time it follows);
 * - `{ from, until }`: an absolute window (RFC 3339), e.g. an on-call shift.
 * Times are UTC unless `utcOffsetMinutes` or `timeZone` is given. A window starts at each cron
 * match (in local wall-clock time) and lasts `duration` (default 60 minutes, at most 7 days).
 * Other keys are errors: a misspelt one was ignored, and the window silently wrong.
 */
export interface CompiledSchedule {
  /** True when the instant lies inside one of the schedule's windows. */
  contains(ms: number): boolean;
  /** Plain text for explanations, e.g. `cron "0 2 * * *" for 60m`. */
  readonly description: string;
  /** Minutes of the shortest window (how finely a day must be probed to find every window). */
  readonly shortestMinutes: number;
}

const MINUTES_PER_WEEK = 7 * 24 * 60;
const MAX_DURATION_MINUTES = MINUTES_PER_WEEK;

interface CronFields {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number> | undefined;
  readonly months: ReadonlySet<number> | undefined;
  /** 0 = Sunday ... 6 = Saturday (cron convention). */
  readonly daysOfWeek: ReadonlySet<number> | undefined;
  /** Either day field starts with "*" (a step like "*" + "/2"): then days must match both fields (Vixie cron's DOM_STAR/DOW_STAR). */
  readonly dayStar: boolean;
}

const monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

function bad(field: string, message: string): VigilError {
  return new VigilError("VIGIL_BAD_INPUT", `${field}: ${message}`, { field });
}

function parseAtom(text: string, names: readonly string[] | undefined, offset: number, field: string): number {
  const upper = text.toUpperCase();
  if (names) {
    const index = names.indexOf(upper);
    if (index >= 0) return index + offset;
  }
  if (!/^\d+$/.test(text)) throw bad(field, `"${text}" is not a number${names ? ` or one of ${names.join(",")}` : ""}`);
  return Number(text);
}

/** Parses one cron field into a set; undefined means "*" (any). */
function parseCronField(text: string, min: number, max: number, field: string, names?: readonly string[], nameOffset = 0): Set<number> | undefined {
  if (text === "*" || text === "?") return undefined;
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const [range = "", stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw bad(field, `step "${stepText ?? ""}" must be a positive integer`);
    let low = min;
    let high = max;
    if (range !== "*") {
      const [lowText = "", highText] = range.split("-");
      low = parseAtom(lowText, names, nameOffset, field);
      high = highText === undefined ? (stepText === undefined ? low : max) : parseAtom(highText, names, nameOffset, field);
    }
    if (low < min || high > max || low > high) throw bad(field, `"${part}" is outside ${min}-${max}`);
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

function parseCron(expression: string, field: string): CronFields {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw bad(field, `cron "${expression}" needs 5 fields (minute hour day-of-month month day-of-week)`);
  const [minute = "", hour = "", dom = "", month = "", dow = ""] = parts;
  const minutes = parseCronField(minute, 0, 59, `${field} (minute)`) ?? range(0, 59);
  const hours = parseCronField(hour, 0, 23, `${field} (hour)`) ?? range(0, 23);
  const daysOfWeekRaw = parseCronField(dow, 0, 7, `${field} (day-of-week)`, dayNames, 0);
  const daysOfWeek = daysOfWeekRaw ? new Set([...daysOfWeekRaw].map((day) => day % 7)) : undefined;
  return {
    minutes,
    hours,
    daysOfMonth: parseCronField(dom, 1, 31, `${field} (day-of-month)`),
    months: parseCronField(month, 1, 12, `${field} (month)`, monthNames, 1),
    daysOfWeek,
    dayStar: dom.startsWith("*") || dow.startsWith("*"),
  };
}

function range(low: number, high: number): Set<number> {
  const values = new Set<number>();
  for (let value = low; value <= high; value++) values.add(value);
  return values;
}

/** Parses `90m`, `3h`, `2d`, `PT1H30M`, or a number of minutes. */
export function parseDurationMinutes(value: unknown, field: string): number {
  let minutes: number | undefined;
  if (typeof value === "number") minutes = value;
  else if (typeof value === "string") {
    const simple = /^(\d+(?:\.\d+)?)\s*(m|h|d)$/i.exec(value.trim());
    const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/i.exec(value.trim());
    if (simple) minutes = Number(simple[1]) * ({ m: 1, h: 60, d: 1440 } as Record<string, number>)[simple[2]!.toLowerCase()]!;
    else if (iso && value.trim().length > 1) minutes = Number(iso[1] ?? 0) * 1440 + Number(iso[2] ?? 0) * 60 + Number(iso[3] ?? 0);
  }
  if (minutes === undefined || !Number.isFinite(minutes) || minutes <= 0 || minutes > MAX_DURATION_MINUTES) {
    throw bad(field, `duration ${JSON.stringify(value)} must be like "90m", "3h", "2d" or "PT3H" (at most 7 days)`);
  }
  return Math.round(minutes);
}

/** Whether the day (epoch day, in the schedule's local time) passes the month and day fields. */
function cronMatchesDay(fields: CronFields, epochDay: number): boolean {
  const date = new Date(epochDay * DAY_MS);
  if (fields.months && !fields.months.has(date.getUTCMonth() + 1)) return false;
  const domOk = fields.daysOfMonth ? fields.daysOfMonth.has(date.getUTCDate()) : true;
  const dowOk = fields.daysOfWeek ? fields.daysOfWeek.has(date.getUTCDay()) : true;
  // Vixie cron: when both day fields are restricted (neither starts with "*"), either may match.
  if (fields.daysOfMonth && fields.daysOfWeek && !fields.dayStar) return domOk || dowOk;
  return domOk && dowOk;
}

function compileCron(expression: string, durationMinutes: number, offsetMinutes: number, field: string): CompiledSchedule {
  const fields = parseCron(expression, field);
  const description = `cron "${expression}" for ${durationMinutes}m${offsetMinutes ? ` (UTC${offsetMinutes > 0 ? "+" : ""}${offsetMinutes / 60}h)` : ""}`;
  if (!fields.daysOfMonth && !fields.months) {
    // Weekly pattern: precompute which minutes of the week are covered. Index 0 = Thursday 00:00
    // local (the epoch's weekday), so `minute-since-epoch mod week` indexes it directly.
    // Window starts add 1 at the start and take it off `duration` later (a difference array over
    // the week, wrapping): linear in the week, whatever the number of starts and the duration.
    const delta = new Int32Array(MINUTES_PER_WEEK + 1);
    let wrapped = 0;
    for (let minute = 0; minute < MINUTES_PER_WEEK; minute++) {
      const sunday0 = (Math.floor(minute / 1440) + 4) % 7;
      const hour = Math.floor(minute / 60) % 24;
      if (!fields.minutes.has(minute % 60) || !fields.hours.has(hour)) continue;
      if (fields.daysOfWeek && !fields.daysOfWeek.has(sunday0)) continue;
      const end = minute + durationMinutes;
      delta[minute] = (delta[minute] ?? 0) + 1;
      if (end <= MINUTES_PER_WEEK) delta[end] = (delta[end] ?? 0) - 1;
      else {
        delta[MINUTES_PER_WEEK] = (delta[MINUTES_PER_WEEK] ?? 0) - 1;
        wrapped++;
        delta[end - MINUTES_PER_WEEK] = (delta[end - MINUTES_PER_WEEK] ?? 0) - 1;
      }
    }
    const covered = new Uint8Array(MINUTES_PER_WEEK);
    let open = wrapped;
    for (let minute = 0; minute < MINUTES_PER_WEEK; minute++) {
      open += delta[minute] ?? 0;
      if (open > 0) covered[minute] = 1;
    }
    return {
      description,
      shortestMinutes: durationMinutes,
      contains(ms) {
        const local = Math.floor(ms / MINUTE_MS) + offsetMinutes;
        return covered[((local % MINUTES_PER_WEEK) + MINUTES_PER_WEEK) % MINUTES_PER_WEEK] === 1;
      },
    };
  }
  const hours = [...fields.hours].sort((a, b) => a - b);
  const minutes = [...fields.minutes].sort((a, b) => a - b);
  return {
    description,
    shortestMinutes: durationMinutes,
    // Day by day back over the window (at most 8 days), not minute by minute: a cron match is a
    // matching day with a matching hour and minute inside the window.
    contains(ms) {
      const local = Math.floor(ms / MINUTE_MS) + offsetMinutes;
      const earliest = local - durationMinutes + 1;
      for (let day = Math.floor(local / 1440); (day + 1) * 1440 > earliest; day--) {
        if (!cronMatchesDay(fields, day)) continue;
        const from = Math.max(earliest, day * 1440) - day * 1440;
        const to = Math.min(local, day * 1440 + 1439) - day * 1440;
        for (const hour of hours) {
          if (hour * 60 + 59 < from) continue;
          if (hour * 60 > to) break;
          for (const minute of minutes) {
            const at = hour * 60 + minute;
            if (at >= from && at <= to) return true;
          }
        }
      }
      return false;
    },
  };
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** The formatter of an IANA time zone, or undefined when the name is not one. */
function zoneFormat(timeZone: string): Intl.DateTimeFormat | undefined {
  let format = zoneFormats.get(timeZone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" });
    } catch {
      return undefined;
    }
    if (zoneFormats.size < 64) zoneFormats.set(timeZone, format);
  }
  return format;
}

/** Minutes the zone's wall clock is ahead of UTC at the instant `ms` (daylight saving time included). */
function zoneOffsetMinutes(format: Intl.DateTimeFormat, ms: number): number {
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(ms)) if (part.type !== "literal") parts[part.type] = Number(part.value);
  const wall = Date.UTC(parts["year"] ?? 1970, (parts["month"] ?? 1) - 1, parts["day"] ?? 1, parts["hour"] ?? 0, parts["minute"] ?? 0);
  return Math.round((wall - Math.floor(ms / MINUTE_MS) * MINUTE_MS) / MINUTE_MS);
}

/** A cron schedule read in a time zone: the instant is turned into the zone's wall-clock time at that instant. */
function inTimeZone(schedule: CompiledSchedule, timeZone: string, format: Intl.DateTimeFormat): CompiledSchedule {
  // Offsets change at most every quarter hour: one lookup per quarter hour of the instants asked about.
  const offsets = new Map<number, number>();
  return {
    description: `${schedule.description} (${timeZone})`,
    shortestMinutes: schedule.shortestMinutes,
    contains(ms) {
      const quarter = Math.floor(ms / (15 * MINUTE_MS));
      let offset = offsets.get(quarter);
      if (offset === undefined) {
        offset = zoneOffsetMinutes(format, quarter * 15 * MINUTE_MS);
        if (offsets.size > 4096) offsets.clear();
        offsets.set(quarter, offset);
      }
      return schedule.contains(ms + offset * MINUTE_MS);
    },
  };
}

const cronKeys = ["cron", "duration", "utcOffsetMinutes", "timeZone"];
const windowKeys = ["from", "until"];

function compileOne(spec: unknown, field: string): CompiledSchedule {
  if (typeof spec === "string") {
    const parts = spec.trim().split(/\s+/);
    if (parts.length === 6) return compileCron(parts.slice(0, 5).join(" "), parseDurationMinutes(parts[5], field), 0, field);
    return compileCron(spec, 60, 0, field);
  }
  if (spec !== null && typeof spec === "object" && !Array.isArray(spec)) {
    const record = spec as Record<string, unknown>;
    const known = typeof record["cron"] === "string" ? cronKeys : record["from"] !== undefined || record["until"] !== undefined ? windowKeys : undefined;
    const stray = known === undefined ? undefined : Object.keys(record).find((key) => !known.includes(key));
    if (known !== undefined && stray !== undefined) throw bad(`${field}.${stray}`, `is not a schedule field here; a window has ${known.join(", ")}`);
    if (typeof record["cron"] === "string") {
      const duration = record["duration"] === undefined ? 60 : parseDurationMinutes(record["duration"], `${field}.duration`);
      const offset = record["utcOffsetMinutes"] === undefined ? 0 : Number(record["utcOffsetMinutes"]);
      if (!Number.isInteger(offset) || Math.abs(offset) > 14 * 60) throw bad(`${field}.utcOffsetMinutes`, "must be an integer number of minutes within ±840");
      const timeZone = record["timeZone"];
      if (timeZone === undefined) return compileCron(record["cron"], duration, offset, `${field}.cron`);
      if (record["utcOffsetMinutes"] !== undefined) throw bad(field, "give timeZone or utcOffsetMinutes, not both (a time zone has its own offsets)");
      const format = typeof timeZone === "string" ? zoneFormat(timeZone) : undefined;
      if (format === undefined) throw bad(`${field}.timeZone`, `must be an IANA time zone name such as "Europe/Berlin" or "America/New_York", got ${JSON.stringify(timeZone)}`);
      return inTimeZone(compileCron(record["cron"], duration, 0, `${field}.cron`), timeZone as string, format);
    }
    if (record["from"] !== undefined || record["until"] !== undefined) {
      // With their offsets: a time without one would be read in the server's time zone.
      const from = parseRfc3339(record["from"]) ?? Number.NaN;
      const until = parseRfc3339(record["until"]) ?? Number.NaN;
      if (Number.isNaN(from) || Number.isNaN(until) || until <= from) throw bad(field, "a window needs RFC 3339 `from` and `until` with their offsets (\"2024-09-09T08:00:00+02:00\", \"...Z\"), with until after from");
      return { description: `${record["from"] as string} to ${record["until"] as string}`, shortestMinutes: (until - from) / MINUTE_MS, contains: (ms) => ms >= from && ms < until };
    }
  }
  throw bad(field, `expected a cron string ("0 2 * * *"), { cron, duration }, { from, until } or an array of them, got ${JSON.stringify(spec)}`);
}

/**
 * Compiles a schedule attribute. Throws VigilError(VIGIL_BAD_INPUT) naming `field` when the
 * attribute is malformed; callers on the evaluation path use `compileScheduleSafe`.
 */
export function compileSchedule(spec: unknown, field = "schedule"): CompiledSchedule {
  if (Array.isArray(spec)) {
    if (spec.length === 0) throw bad(field, "an empty list has no windows; remove the attribute instead");
    const parts = spec.map((item, index) => compileOne(item, `${field}[${index}]`));
    return { description: parts.map((part) => part.description).join("; "), shortestMinutes: Math.min(...parts.map((part) => part.shortestMinutes)), contains: (ms) => parts.some((part) => part.contains(ms)) };
  }
  return compileOne(spec, field);
}

const cache = new Map<string, CompiledSchedule | VigilError>();
const CACHE_LIMIT = 256;

/** Cached, never-throwing variant: returns the error instead (evaluation never throws). */
export function compileScheduleSafe(spec: unknown, field = "schedule"): CompiledSchedule | VigilError {
  const key = `${field}\u0000${JSON.stringify(spec)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let compiled: CompiledSchedule | VigilError;
  try {
    compiled = compileSchedule(spec, field);
  } catch (error) {
    compiled = error instanceof VigilError ? error : bad(field, String(error));
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, compiled);
  return compiled;
}

const touchMemo = new WeakMap<CompiledSchedule, Map<number, boolean>>();

/**
 * Whether a window of the schedule overlaps the UTC day `epochDay`: probed every 15 minutes, or as
 * often as the shortest window lasts (at least every minute), and at the day's last minute, so a
 * window of 10 minutes, or one starting at 23:50, is found. Memoised per schedule and day.
 */
export function scheduleTouchesDay(schedule: CompiledSchedule, epochDay: number): boolean {
  let memo = touchMemo.get(schedule);
  if (!memo) touchMemo.set(schedule, (memo = new Map()));
  const known = memo.get(epochDay);
  if (known !== undefined) return known;
  let touches = false;
  const step = Math.min(15, Math.max(1, Math.floor(schedule.shortestMinutes)));
  for (let minute = 0; minute < 1440 && !touches; minute += step) touches = schedule.contains(epochDay * DAY_MS + minute * MINUTE_MS);
  if (!touches) touches = schedule.contains(epochDay * DAY_MS + 1439 * MINUTE_MS);
  if (memo.size > 512) memo.clear();
  memo.set(epochDay, touches);
  return touches;
}
