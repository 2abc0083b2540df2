/**
 * Time helpers of the context stage. Baselines keep time as integer minutes or hours since the
 * Unix epoch (small integers stay unboxed in V8 and fit typed arrays). Hour-of-week is counted
 * from Monday 00:00 UTC (ISO weeks): 0 = Mon 00:00 ... 167 = Sun 23:00.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const HOURS_PER_WEEK = 168;

const dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

export function toMinutes(ms: number): number {
  return Math.floor(ms / MINUTE_MS);
}

export function toHours(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}

export function toDays(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** Day of week, Monday = 0, for an epoch day number (1970-01-01 was a Thursday). */
export function dayOfWeekFromDay(epochDay: number): number {
  return (((epochDay + 3) % 7) + 7) % 7;
}

/** Hour of week (Mon 00:00 UTC = 0) for an epoch hour number. */
export function hourOfWeekFromHour(epochHour: number): number {
  const day = Math.floor(epochHour / 24);
  const hourOfDay = ((epochHour % 24) + 24) % 24;
  return dayOfWeekFromDay(day) * 24 + hourOfDay;
}

export function hourOfWeek(ms: number): number {
  return hourOfWeekFromHour(toHours(ms));
}

/** "Mon 02:00" for an hour of week, as explanations show it. */
export function hourOfWeekLabel(how: number): string {
  const day = dayNames[Math.floor(how / 24) % 7] ?? "?";
  const hour = how % 24;
  return `${day} ${hour < 10 ? "0" : ""}${hour}:00 UTC`;
}

export function dayOfWeekLabel(dow: number): string {
  return dayNames[dow % 7] ?? "?";
}

export function isoFromMinutes(minutes: number): string {
  return new Date(minutes * MINUTE_MS).toISOString();
}

const spaced = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses the time formats upstream records use: RFC 3339, `YYYY-MM-DD HH:MM:SS[.fraction]`
 * (Okta `published`, FOCUS periods; UTC when no offset), and epoch numbers (seconds below
 * 1e12, milliseconds above). Returns epoch milliseconds, or undefined when not a time.
 */
export function parseTime(value: unknown): number | undefined {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value <= 0) return undefined;
    return value < 1e12 ? value * 1000 : value;
  }
  if (typeof value !== "string" || value.length < 10) return undefined;
  const match = spaced.exec(value);
  if (match) {
    const fraction = match[3] ? match[3].slice(0, 4) : "";
    const zone = match[4] ?? "Z";
    const ms = Date.parse(`${match[1]}T${match[2]}${fraction}${zone}`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
