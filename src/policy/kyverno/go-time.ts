/**
 * Go's time.Parse with a reference layout ("2006-01-02T15:04:05Z07:00", "02/01/2006", "Jan _2 15:04"),
 * Format as RFC 3339, and Truncate — what Kyverno's time_* JMESPath functions use. A time keeps
 * the UTC offset it was written with, as a Go time.Time does. Never throws: a value that does not
 * parse gives an Error naming the layout element.
 */
import { civilFromDays, daysFromCivil } from "../../core/civil-date.js";

export interface GoTime {
  /** Seconds since the Unix epoch (whole). */
  readonly sec: number;
  /** Nanoseconds within the second, 0..999999999. */
  readonly nsec: number;
  /** Offset from UTC in seconds, as written in the value (0 without a zone, or with a zone abbreviation). */
  readonly offset: number;
}

export const rfc3339 = "2006-01-02T15:04:05Z07:00";

type Chunk =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "std"; readonly std: string }
  | { readonly kind: "frac"; readonly digit: "0" | "9"; readonly n: number };

const zoneChunks = ["070000", "07:00:00", "0700", "07:00", "07"];

function startsWithLower(s: string): boolean {
  return s.length > 0 && s[0] as string >= "a" && s[0] as string <= "z";
}

/** Go's nextStdChunk over the whole layout. */
function chunksOf(layout: string): Chunk[] {
  const out: Chunk[] = [];
  let literal = "";
  const push = (chunk: Chunk): void => {
    if (literal !== "") out.push({ kind: "literal", text: literal });
    literal = "";
    out.push(chunk);
  };
  let i = 0;
  while (i < layout.length) {
    const rest = layout.slice(i);
    const c = rest[0] as string;
    let std: string | undefined;
    if (c === "J" && rest.startsWith("Jan")) {
      if (rest.startsWith("January")) std = "January";
      else if (!startsWithLower(rest.slice(3))) std = "Jan";
    } else if (c === "M" && rest.startsWith("Mon")) {
      if (rest.startsWith("Monday")) std = "Monday";
      else if (!startsWithLower(rest.slice(3))) std = "Mon";
    } else if (c === "M" && rest.startsWith("MST")) std = "MST";
    else if (c === "0" && /^0[1-6]/.test(rest)) std = rest.slice(0, 2);
    else if (c === "0" && rest.startsWith("002")) std = "002";
    else if (c === "1") std = rest.startsWith("15") ? "15" : "1";
    else if (c === "2") std = rest.startsWith("2006") ? "2006" : "2";
    else if (c === "_" && rest.startsWith("_2")) {
      if (rest.startsWith("_2006")) {
        literal += "_";
        i += 1;
        continue;
      }
      std = "_2";
    } else if (c === "_" && rest.startsWith("__2")) std = "__2";
    else if (c === "3" || c === "4" || c === "5") std = c;
    else if (c === "P" && rest.startsWith("PM")) std = "PM";
    else if (c === "p" && rest.startsWith("pm")) std = "pm";
    else if (c === "-" || c === "Z") {
      const zone = zoneChunks.find((z) => rest.startsWith(c + z));
      if (zone !== undefined) std = c + zone;
    } else if ((c === "." || c === ",") && (rest[1] === "0" || rest[1] === "9")) {
      const digit = rest[1] as "0" | "9";
      let j = 1;
      while (rest[j] === digit) j++;
      if (!/^\d/.test(rest.slice(j))) {
        push({ kind: "frac", digit, n: j - 1 });
        i += j;
        continue;
      }
    }
    if (std !== undefined) {
      push({ kind: "std", std });
      i += std.length;
    } else {
      literal += c;
      i += 1;
    }
  }
  if (literal !== "") out.push({ kind: "literal", text: literal });
  return out;
}

const longMonths = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const longDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Go's lookup: a case-insensitive prefix match of one of the names. */
function lookup(names: readonly string[], value: string): [number, string] | undefined {
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (value.length >= name.length && value.slice(0, name.length).toLowerCase() === name.toLowerCase()) return [i, value.slice(name.length)];
  }
  return undefined;
}

/** Go's getnum: one or two digits (exactly two when fixed). */
function getnum(value: string, fixed: boolean): [number, string] | undefined {
  if (!/^\d/.test(value)) return undefined;
  if (!/^\d\d/.test(value)) return fixed ? undefined : [Number(value[0]), value.slice(1)];
  return [Number(value.slice(0, 2)), value.slice(2)];
}

function daysIn(month: number, year: number): number {
  if (month === 2) return (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function parseError(value: string, layout: string, element: string, rest: string): Error {
  return new Error(`parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(element)}`);
}

/** Go's time.Parse(layout, value), for the UTC location Kyverno runs in (a zone abbreviation other than UTC is offset 0). */
export function parseGoTime(layout: string, value: string): GoTime | Error {
  let rest = value;
  let year = 0, month = -1, day = -1, yday = -1, hour = 0, min = 0, sec = 0, nsec = 0;
  let pmSet = false, amSet = false;
  let offset: number | undefined;
  const chunks = chunksOf(layout);
  for (let index = 0; index < chunks.length; index++) {
    const chunk = chunks[index] as Chunk;
    if (chunk.kind === "literal") {
      if (!rest.startsWith(chunk.text)) return parseError(value, layout, chunk.text, rest);
      rest = rest.slice(chunk.text.length);
      continue;
    }
    if (chunk.kind === "frac") {
      if (chunk.digit === "0") {
        const m = new RegExp(`^[.,](\\d{${chunk.n}})`).exec(rest);
        if (!m) return parseError(value, layout, `.${"0".repeat(chunk.n)}`, rest);
        nsec = Number(((m[1] as string) + "000000000").slice(0, 9));
        rest = rest.slice(m[0].length);
      } else {
        const m = /^[.,](\d+)/.exec(rest);
        if (m) {
          nsec = Number(((m[1] as string) + "000000000").slice(0, 9));
          rest = rest.slice(m[0].length);
        }
      }
      continue;
    }
    const std = chunk.std;
    const before = rest;
    let range = "";
    switch (std) {
      case "2006": {
        if (!/^\d{4}/.test(rest)) return parseError(value, layout, std, before);
        year = Number(rest.slice(0, 4));
        rest = rest.slice(4);
        break;
      }
      case "06": {
        if (!/^\d{2}/.test(rest)) return parseError(value, layout, std, before);
        const y = Number(rest.slice(0, 2));
        year = y >= 69 ? 1900 + y : 2000 + y;
        rest = rest.slice(2);
        break;
      }
      case "Jan": case "January": {
        const found = lookup(std === "Jan" ? longMonths.map((m) => m.slice(0, 3)) : longMonths, rest);
        if (!found) return parseError(value, layout, std, before);
        month = found[0] + 1;
        rest = found[1];
        break;
      }
      case "Mon": case "Monday": {
        const found = lookup(std === "Mon" ? longDays.map((d) => d.slice(0, 3)) : longDays, rest);
        if (!found) return parseError(value, layout, std, before);
        rest = found[1];
        break;
      }
      case "1": case "01": {
        const n = getnum(rest, std === "01");
        if (!n) return parseError(value, layout, std, before);
        [month, rest] = n;
        if (month < 1 || month > 12) range = "month";
        break;
      }
      case "2": case "_2": case "02": {
        if (std === "_2" && rest[0] === " ") rest = rest.slice(1);
        const n = getnum(rest, std === "02");
        if (!n) return parseError(value, layout, std, before);
        [day, rest] = n;
        break;
      }
      case "002": case "__2": {
        const m = std === "002" ? /^\d{3}/.exec(rest) : /^ {0,2}\d{1,3}/.exec(rest);
        if (!m) return parseError(value, layout, std, before);
        yday = Number(m[0].trim());
        rest = rest.slice(m[0].length);
        if (yday < 1 || yday > 366) range = "day-of-year";
        break;
      }
      case "15": case "3": case "03": {
        const n = getnum(rest, std === "03");
        if (!n) return parseError(value, layout, std, before);
        [hour, rest] = n;
        if (hour < 0 || hour > (std === "15" ? 23 : 12)) range = "hour";
        break;
      }
      case "4": case "04": {
        const n = getnum(rest, std === "04");
        if (!n) return parseError(value, layout, std, before);
        [min, rest] = n;
        if (min > 59) range = "minute";
        break;
      }
      case "5": case "05": {
        const n = getnum(rest, std === "05");
        if (!n) return parseError(value, layout, std, before);
        [sec, rest] = n;
        if (sec > 59) range = "second";
        // A fractional second in the value that the layout does not name next is read anyway (Go does).
        const frac = /^[.,](\d+)/.exec(rest);
        if (frac && chunks[index + 1]?.kind !== "frac") {
          nsec = Number(((frac[1] as string) + "000000000").slice(0, 9));
          rest = rest.slice(frac[0].length);
        }
        break;
      }
      case "PM": case "pm": {
        const p = rest.slice(0, 2);
        if (p === (std === "PM" ? "PM" : "pm")) pmSet = true;
        else if (p === (std === "PM" ? "AM" : "am")) amSet = true;
        else return parseError(value, layout, std, before);
        rest = rest.slice(2);
        break;
      }
      case "MST": {
        if (rest.startsWith("UTC")) {
          offset = 0;
          rest = rest.slice(3);
          break;
        }
        const m = /^(?:[A-Z]{3,5}|ChST|MeST)/.exec(rest);
        if (!m) return parseError(value, layout, std, before);
        offset = 0;
        rest = rest.slice(m[0].length);
        break;
      }
      default: {
        // Zones: Z07:00 and friends (a Z in the value is UTC), -07:00 and friends (a sign is required).
        if (std.startsWith("Z") && rest.startsWith("Z")) {
          offset = 0;
          rest = rest.slice(1);
          break;
        }
        const shape = std.slice(1);
        const pattern = shape === "070000" ? /^([+-])(\d\d)(\d\d)(\d\d)/ : shape === "07:00:00" ? /^([+-])(\d\d):(\d\d):(\d\d)/
          : shape === "0700" ? /^([+-])(\d\d)(\d\d)/ : shape === "07:00" ? /^([+-])(\d\d):(\d\d)/ : /^([+-])(\d\d)/;
        const m = pattern.exec(rest);
        if (!m) return parseError(value, layout, std, before);
        const seconds = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
        offset = m[1] === "-" ? -seconds : seconds;
        rest = rest.slice(m[0].length);
        break;
      }
    }
    if (range !== "") return new Error(`parsing time ${JSON.stringify(value)}: ${range} out of range`);
  }
  if (rest !== "") return new Error(`parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: extra text: ${JSON.stringify(rest)}`);
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (yday >= 0) {
    let m = 0, d = yday;
    const leap = daysIn(2, year) === 29;
    if (yday > (leap ? 366 : 365)) return new Error(`parsing time ${JSON.stringify(value)}: day-of-year out of range`);
    for (m = 1; m <= 12 && d > daysIn(m, year); m++) d -= daysIn(m, year);
    if ((month >= 0 && month !== m) || (day >= 0 && day !== d)) return new Error(`parsing time ${JSON.stringify(value)}: day-of-year does not match month or day`);
    month = m;
    day = d;
  }
  if (month < 0) month = 1;
  if (day < 0) day = 1;
  if (day < 1 || day > daysIn(month, year)) return new Error(`parsing time ${JSON.stringify(value)}: day out of range`);
  const local = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
  const zone = offset ?? 0;
  return { sec: local - zone, nsec, offset: zone };
}

function pad(n: number, width: number): string {
  return String(Math.abs(n)).padStart(width, "0");
}

/** The wall clock of a time in its own offset. */
export function wallClock(t: GoTime): { year: number; month: number; day: number; hour: number; minute: number; second: number; weekday: number } {
  const local = t.sec + t.offset;
  const days = Math.floor(local / 86400);
  const within = local - days * 86400;
  const { year, month, day } = civilFromDays(days);
  return {
    year, month, day,
    hour: Math.floor(within / 3600), minute: Math.floor((within % 3600) / 60), second: within % 60,
    weekday: ((days % 7) + 11) % 7,
  };
}

/** t.Format(time.RFC3339): the time in its own offset, "Z" for a zero offset, no fraction. */
export function formatRfc3339(t: GoTime): string {
  const w = wallClock(t);
  const year = w.year < 0 ? `-${pad(w.year, 4)}` : pad(w.year, 4);
  const zone = t.offset === 0 ? "Z" : `${t.offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(t.offset) / 3600), 2)}:${pad(Math.floor((Math.abs(t.offset) % 3600) / 60), 2)}`;
  return `${year}-${pad(w.month, 2)}-${pad(w.day, 2)}T${pad(w.hour, 2)}:${pad(w.minute, 2)}:${pad(w.second, 2)}${zone}`;
}

/** t.Add(d) for a duration in seconds (fractions kept to the nanosecond). */
export function addSeconds(t: GoTime, seconds: number): GoTime {
  const whole = Math.floor(seconds);
  let nsec = t.nsec + Math.round((seconds - whole) * 1e9);
  let sec = t.sec + whole;
  if (nsec >= 1e9) { sec += 1; nsec -= 1e9; }
  return { sec, nsec, offset: t.offset };
}

/** t2.Sub(t1) in seconds. */
export function secondsBetween(t1: GoTime, t2: GoTime): number {
  return (t2.sec - t1.sec) + (t2.nsec - t1.nsec) / 1e9;
}

/** Seconds from Go's zero time (January 1, year 1, UTC) to the Unix epoch: Truncate counts from there. */
const zeroToUnix = 62135596800;

/** t.Truncate(d): rounds down to a multiple of d since the zero time; d <= 0 leaves t as it is. */
export function truncateTime(t: GoTime, seconds: number): GoTime {
  if (!(seconds > 0)) return t;
  const ns = BigInt(t.sec + zeroToUnix) * 1_000_000_000n + BigInt(t.nsec);
  const d = BigInt(Math.round(seconds * 1e9));
  const truncated = ns - (ns % d);
  const sec = Number(truncated / 1_000_000_000n) - zeroToUnix;
  return { sec, nsec: Number(truncated % 1_000_000_000n), offset: t.offset };
}

/** The current time, in UTC. */
export function nowUtc(): GoTime {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6, offset: 0 };
}
