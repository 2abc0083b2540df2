/**
 * Timestamps and durations: RFC 3339 and Go-duration parsing and formatting, arithmetic with the
 * ranges cel-go uses (timestamps 0001-01-01..9999-12-31, durations int64 nanoseconds), and the
 * calendar accessors (getFullYear, getHours, ...) in UTC, a fixed offset or an IANA time zone.
 */
import { asTimestamp } from "./equality.js";
import { CelDuration, CelTimestamp, err, noOverload } from "./values.js";
import { civilFromDays as civilDate, daysFromCivil } from "../../../core/civil-date.js";

const MIN_TS = -62135596800; // 0001-01-01T00:00:00Z
const MAX_TS = 253402300799; // 9999-12-31T23:59:59Z
/** Durations are int64 nanoseconds, as in cel-go (about ±292 years); the conformance suite expects this range. */
const MAX_DURATION = 9223372036;
const MAX_DURATION_NANOS = 854775807;
const NS = 1_000_000_000;

export function mkTimestamp(s: number, n: number): CelTimestamp {
  let sec = s + Math.floor(n / NS);
  let nano = n % NS;
  if (nano < 0) nano += NS;
  if (nano === 0) nano = 0; // no -0
  if (sec === 0) sec = 0;
  if (!Number.isFinite(sec) || sec < MIN_TS || sec > MAX_TS) throw err("overflow", "timestamp out of range (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z)");
  return new CelTimestamp(sec, nano);
}

/** Normalises so that seconds and nanos have the same sign and |nanos| < 1e9. */
export function mkDuration(s: number, n: number): CelDuration {
  let sec = s + Math.trunc(n / NS);
  let nano = n % NS;
  if (sec > 0 && nano < 0) {
    sec -= 1;
    nano += NS;
  } else if (sec < 0 && nano > 0) {
    sec += 1;
    nano -= NS;
  }
  if (!Number.isFinite(sec) || Math.abs(sec) > MAX_DURATION || (Math.abs(sec) === MAX_DURATION && Math.abs(nano) > MAX_DURATION_NANOS + (sec < 0 ? 1 : 0))) {
    throw err("overflow", "duration out of range (about ±292 years: int64 nanoseconds)");
  }
  return new CelDuration(sec === 0 ? 0 : sec, nano === 0 ? 0 : nano);
}

/** Calendar parts with CEL's short names. */
function civilFromDays(days: number): { y: number; m: number; d: number } {
  const { year, month, day } = civilDate(days);
  return { y: year, m: month, d: day };
}

// Any number of fraction digits, as Go's time.Parse reads them (beyond nine they are truncated).
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export function parseTimestamp(text: string): CelTimestamp {
  const m = rfc3339.exec(text);
  if (!m) throw err("invalid_argument", `timestamp '${text}' is not RFC 3339 (e.g. 2024-01-31T12:00:00Z)`);
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) throw err("invalid_argument", `timestamp '${text}' has an out-of-range field`);
  const days = daysFromCivil(y, mo, d);
  if (civilFromDays(days).d !== d) throw err("invalid_argument", `timestamp '${text}' names a day that does not exist`);
  let sec = days * 86400 + h * 3600 + mi * 60 + s;
  if (m[8] === undefined) {
    const off = Number(m[10]) * 3600 + Number(m[11]) * 60;
    sec -= m[9] === "-" ? -off : off;
  }
  const nanos = m[7] ? Number(m[7].slice(0, 9).padEnd(9, "0")) : 0;
  if (y < 1) throw err("overflow", "timestamp out of range (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z)");
  return mkTimestamp(sec, nanos);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** RFC 3339 in UTC with the fraction trimmed of trailing zeros (Go's RFC3339Nano). */
export function formatTimestamp(t: CelTimestamp): string {
  const days = Math.floor(t.s / 86400);
  const rem = t.s - days * 86400;
  const { y, m, d } = civilFromDays(days);
  let out = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(Math.floor(rem / 3600), 2)}:${pad(Math.floor((rem % 3600) / 60), 2)}:${pad(rem % 60, 2)}`;
  if (t.n > 0) out += `.${pad(t.n, 9).replace(/0+$/, "")}`;
  return `${out}Z`;
}

const durationUnits: Record<string, bigint> = {
  ns: 1n, us: 1000n, "µs": 1000n, "μs": 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n,
};

/** Go duration syntax: `1h30m`, `-1.5s`, `300ms`, `0`. */
export function parseDuration(text: string): CelDuration {
  let s = text;
  let negative = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return new CelDuration(0, 0);
  if (s === "") throw err("invalid_argument", `invalid duration '${text}' (e.g. 1h30m, 90s, 250ms)`);
  let total = 0n;
  const part = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m || (m[1] === "" && (m[2] ?? "") === "")) throw err("invalid_argument", `invalid duration '${text}' (e.g. 1h30m, 90s, 250ms)`);
    const unit = durationUnits[m[3] as string] as bigint;
    total += BigInt(m[1] || "0") * unit;
    const frac = m[2] ?? "";
    if (frac.length > 0) total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    s = s.slice(m[0].length);
    if (total > BigInt(MAX_DURATION + 1) * 1_000_000_000n) break;
  }
  if (negative) total = -total;
  return durationFromNanos(total);
}

export function durationFromNanos(total: bigint): CelDuration {
  const sec = total / 1_000_000_000n;
  if (sec > BigInt(MAX_DURATION) || sec < -BigInt(MAX_DURATION)) throw err("overflow", "duration out of range (about ±292 years: int64 nanoseconds)");
  return mkDuration(Number(sec), Number(total % 1_000_000_000n));
}

export function durationNanos(d: CelDuration): bigint {
  return BigInt(d.s) * 1_000_000_000n + BigInt(d.n);
}

/** Protobuf JSON form: seconds with up to 9 fractional digits, e.g. `1.5s`, `-3600s`. */
export function formatDuration(d: CelDuration): string {
  if (d.n === 0) return `${d.s}s`;
  const sign = d.s < 0 || d.n < 0 ? "-" : "";
  return `${sign}${Math.abs(d.s)}.${pad(Math.abs(d.n), 9).replace(/0+$/, "")}s`;
}

export function addTimestampDuration(t: CelTimestamp, d: CelDuration, negate: boolean): CelTimestamp {
  return negate ? mkTimestamp(t.s - d.s, t.n - d.n) : mkTimestamp(t.s + d.s, t.n + d.n);
}

export function subTimestamps(a: CelTimestamp, b: CelTimestamp): CelDuration {
  return mkDuration(a.s - b.s, a.n - b.n);
}

export function addDurations(a: CelDuration, b: CelDuration, negate: boolean): CelDuration {
  return negate ? mkDuration(a.s - b.s, a.n - b.n) : mkDuration(a.s + b.s, a.n + b.n);
}

interface Civil {
  readonly y: number;
  readonly m: number;
  readonly d: number;
  readonly h: number;
  readonly mi: number;
  readonly s: number;
  readonly dow: number;
  readonly doy: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function offsetSeconds(tz: string): number | undefined {
  const m = /^([+-])?(\d{2}):(\d{2})$/.exec(tz);
  if (!m) return undefined;
  const off = Number(m[2]) * 3600 + Number(m[3]) * 60;
  return m[1] === "-" ? -off : off;
}

function civil(t: CelTimestamp, tz: string | undefined): Civil {
  let sec = t.s;
  if (tz !== undefined && tz !== "UTC" && tz !== "Z") {
    const off = offsetSeconds(tz);
    if (off !== undefined) sec += off;
    else sec += zoneOffset(t.s, tz);
  }
  const days = Math.floor(sec / 86400);
  const rem = sec - days * 86400;
  const { y, m, d } = civilFromDays(days);
  return {
    y, m, d,
    h: Math.floor(rem / 3600), mi: Math.floor((rem % 3600) / 60), s: rem % 60,
    dow: (((days + 4) % 7) + 7) % 7,
    doy: days - daysFromCivil(y, 1, 1),
  };
}

/** Offset of an IANA zone at an instant, in seconds. */
function zoneOffset(sec: number, tz: string): number {
  let f = formatters.get(tz);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric", era: "short",
      });
    } catch {
      throw err("invalid_argument", `unknown time zone '${tz}' (use an IANA name such as Europe/Paris or an offset such as +02:00)`);
    }
    formatters.set(tz, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(sec * 1000))) parts[p.type] = p.value;
  let year = Number(parts["year"]);
  if (parts["era"] === "BC" || parts["era"] === "B") year = 1 - year;
  const local = daysFromCivil(year, Number(parts["month"]), Number(parts["day"])) * 86400 + Number(parts["hour"]) * 3600 + Number(parts["minute"]) * 60 + Number(parts["second"]);
  return local - sec;
}

/** Timestamp accessor methods, `fn` as named in CEL. */
export function timestampPart(fn: string, value: unknown, tz: unknown): number {
  const t = asTimestamp(value);
  if (!t || (tz !== undefined && typeof tz !== "string")) throw noOverload(fn, value, ...(tz === undefined ? [] : [tz]));
  const c = civil(t, tz);
  switch (fn) {
    case "getFullYear":
      return c.y;
    case "getMonth":
      return c.m - 1;
    case "getDate":
      return c.d;
    case "getDayOfMonth":
      return c.d - 1;
    case "getDayOfWeek":
      return c.dow;
    case "getDayOfYear":
      return c.doy;
    case "getHours":
      return c.h;
    case "getMinutes":
      return c.mi;
    case "getSeconds":
      return c.s;
    case "getMilliseconds":
      return Math.floor(t.n / 1e6);
    default:
      throw noOverload(fn, value);
  }
}

export function durationPart(fn: string, d: CelDuration): number {
  switch (fn) {
    case "getHours":
      return Math.trunc(d.s / 3600);
    case "getMinutes":
      return Math.trunc(d.s / 60);
    case "getSeconds":
      return d.s;
    case "getMilliseconds":
      return Math.trunc(d.n / 1e6);
    default:
      throw noOverload(fn, d);
  }
}
