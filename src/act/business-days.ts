/**
 * Business-day arithmetic for grace periods: a grace of N business days is N × 24 hours of time
 * that falls on business days (not a weekend day, not a listed holiday) in the calendar's zone.
 * So a resource marked on Friday 10:00 with one business day is due on Monday 10:00, and one
 * marked on Saturday is due on Tuesday 00:00 (Monday is the whole first business day).
 * Pure functions of their inputs; time comes from the caller (the injected clock).
 */
import { VigilError } from "../core/errors.js";

const DAY_MS = 86_400_000;
const dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] as const;

export interface BusinessCalendarInput {
  /** Days that are never business days (default SAT, SUN). */
  readonly weekend?: readonly string[];
  /** Dates (YYYY-MM-DD, in the calendar's zone) that are not business days. */
  readonly holidays?: readonly string[];
  /** The zone the calendar's days are counted in, as minutes east of UTC (default 0: UTC). A fixed offset: no daylight saving time. */
  readonly utcOffsetMinutes?: number;
  /** The zone as an IANA name (`Europe/Berlin`): days start at local midnight on both sides of a daylight-saving change. Instead of utcOffsetMinutes (which may then only be 0, the default). */
  readonly timeZone?: string;
}

export interface BusinessCalendar {
  /** Day-of-week numbers (0 = Sunday) that are not business days. */
  readonly weekend: ReadonlySet<number>;
  readonly holidays: ReadonlySet<string>;
  readonly utcOffsetMinutes: number;
  /** An IANA zone; when set, it gives the offset at each instant (utcOffsetMinutes is then 0 and unused). */
  readonly timeZone?: string;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** The offset of an IANA zone at an instant, in ms east of UTC; throws RangeError for an unknown zone. */
function zoneOffsetMs(zone: string, ms: number): number {
  let format = zoneFormats.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    zoneFormats.set(zone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(ms))) if (part.type !== "literal") parts[part.type] = Number(part.value);
  const local = Date.UTC(parts["year"] ?? 1970, (parts["month"] ?? 1) - 1, parts["day"] ?? 1, parts["hour"] ?? 0, parts["minute"] ?? 0, parts["second"] ?? 0);
  return local - (ms - (((ms % 1000) + 1000) % 1000));
}

function offsetMs(calendar: BusinessCalendar, ms: number): number {
  return calendar.timeZone === undefined ? calendar.utcOffsetMinutes * 60_000 : zoneOffsetMs(calendar.timeZone, ms);
}

/** Validates a calendar; throws VigilError(VIGIL_BAD_CONFIG) naming the field (under `prefix`). */
export function createBusinessCalendar(input: BusinessCalendarInput = {}, prefix = "calendar"): BusinessCalendar {
  const weekend = new Set<number>();
  const names = input.weekend ?? ["SAT", "SUN"];
  if (!Array.isArray(names)) throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.weekend must be a list of day names such as [SAT, SUN]`, { field: `${prefix}.weekend` });
  names.forEach((name, i) => {
    const index = typeof name === "string" ? dayNames.indexOf(name.slice(0, 3).toUpperCase() as (typeof dayNames)[number]) : -1;
    if (index < 0) throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.weekend[${i}] is ${JSON.stringify(name)}: use a day name (${dayNames.join(", ")})`, { field: `${prefix}.weekend[${i}]` });
    weekend.add(index);
  });
  if (weekend.size >= 7) throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.weekend leaves no business day in the week; list at most 6 days`, { field: `${prefix}.weekend` });
  const holidays = new Set<string>();
  (input.holidays ?? []).forEach((day, i) => {
    // The date must exist: Date.parse rolls 2026-04-31 over to May 1st, and such a holiday would never match a day.
    const parsed = typeof day === "string" && /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00Z`) : Number.NaN;
    if (typeof day !== "string" || Number.isNaN(parsed) || new Date(parsed).toISOString().slice(0, 10) !== day) {
      throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.holidays[${i}] is ${JSON.stringify(day)}: use a date such as 2026-12-25`, { field: `${prefix}.holidays[${i}]` });
    }
    holidays.add(day);
  });
  const offset = input.utcOffsetMinutes ?? 0;
  if (typeof offset !== "number" || !Number.isInteger(offset) || Math.abs(offset) > 14 * 60) {
    throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.utcOffsetMinutes must be an integer between -840 and 840, got ${JSON.stringify(offset)}`, { field: `${prefix}.utcOffsetMinutes` });
  }
  const zone: unknown = input.timeZone;
  if (zone === undefined) return { weekend, holidays, utcOffsetMinutes: offset };
  // 0 is the default (packs/cost writes it out): with a time zone it means nothing; another offset contradicts the zone.
  if (offset !== 0) throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.timeZone and ${prefix}.utcOffsetMinutes both set the zone; keep one (timeZone follows daylight saving time)`, { field: `${prefix}.timeZone` });
  try {
    if (typeof zone !== "string" || zone === "") throw new RangeError("not a name");
    zoneOffsetMs(zone, 0);
  } catch {
    throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.timeZone ${JSON.stringify(zone)} is not an IANA time zone; use a name such as Europe/Berlin or America/New_York`, { field: `${prefix}.timeZone` });
  }
  return { weekend, holidays, utcOffsetMinutes: 0, timeZone: zone };
}

/** The calendar day (epoch day in the calendar's zone) holding `ms`. */
function localDay(calendar: BusinessCalendar, ms: number): number {
  return Math.floor((ms + offsetMs(calendar, ms)) / DAY_MS);
}

/**
 * Start of a local epoch day, in UTC milliseconds: the first instant whose local day is `day`. In
 * a zone with daylight saving time the offset at midnight is found by iterating (it may differ
 * from the offset a day earlier); where a change skips midnight, the day starts when it begins.
 */
function dayStart(calendar: BusinessCalendar, day: number): number {
  if (calendar.timeZone === undefined) return day * DAY_MS - calendar.utcOffsetMinutes * 60_000;
  let t = day * DAY_MS - offsetMs(calendar, day * DAY_MS);
  t = day * DAY_MS - offsetMs(calendar, t);
  // A skipped midnight (the clock jumps from 23:59 to 01:00): t lands in the previous day; step to the first hour of `day`.
  for (let guard = 0; localDay(calendar, t) < day && guard < 4; guard++) t += 3_600_000;
  // An hour before may already be `day` (t came out an hour late): take the earliest instant.
  while (localDay(calendar, t - 3_600_000) === day) t -= 3_600_000;
  return t;
}

function isBusinessLocalDay(calendar: BusinessCalendar, day: number): boolean {
  const weekday = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  if (calendar.weekend.has(weekday)) return false;
  return !calendar.holidays.has(new Date(day * DAY_MS).toISOString().slice(0, 10));
}

/** True when the instant falls on a business day of the calendar. */
export function isBusinessDay(calendar: BusinessCalendar, at: Date): boolean {
  return isBusinessLocalDay(calendar, localDay(calendar, at.getTime()));
}

/**
 * The instant at which `days` business days (each 24 hours of business-day time) have passed
 * since `from`. `days` may be fractional; 0 returns `from`. Throws VIGIL_BAD_INPUT for a negative
 * or non-finite count.
 */
export function addBusinessDays(calendar: BusinessCalendar, from: Date, days: number): Date {
  if (!Number.isFinite(days) || days < 0) throw new VigilError("VIGIL_BAD_INPUT", `business days must be a number ≥ 0, got ${days}`, { field: "businessDays" });
  let remaining = days * DAY_MS;
  let t = from.getTime();
  // INVARIANT: the calendar has at least one business day a week, so this ends; the bound is a guard.
  for (let guard = 0; remaining > 0 && guard < 100_000; guard++) {
    const day = localDay(calendar, t);
    const end = dayStart(calendar, day + 1);
    if (isBusinessLocalDay(calendar, day)) {
      const available = end - t;
      if (remaining <= available) return new Date(t + remaining);
      remaining -= available;
    }
    t = end;
  }
  return new Date(t);
}

/** Business-day time between two instants, in (fractional) days; 0 when `to` is not after `from`. */
export function businessDaysBetween(calendar: BusinessCalendar, from: Date, to: Date): number {
  let t = from.getTime();
  const stop = to.getTime();
  let total = 0;
  while (t < stop) {
    const day = localDay(calendar, t);
    const end = Math.min(dayStart(calendar, day + 1), stop);
    if (isBusinessLocalDay(calendar, day)) total += end - t;
    t = end;
  }
  return total / DAY_MS;
}
