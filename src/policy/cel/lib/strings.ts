/**
 * The strings extension (cel-go ext.Strings, as Kubernetes enables it): charAt, indexOf,
 * lastIndexOf, lowerAscii, upperAscii, replace, split, substring, trim, join, reverse,
 * strings.quote, format. Indexes count Unicode code points, as in cel-go.
 */
import { chargeSize } from "../runtime/cost.js";
import type { Overload } from "../runtime/functions.js";
import { codePointLength } from "../runtime/access.js";
import { err, isInt, noOverload } from "../runtime/values.js";
import { formatString } from "./format.js";

const surrogate = /[\uD800-\uDFFF]/;

/** The string as code points, or undefined when code units already are code points (no surrogates). */
function codePoints(s: string): string[] | undefined {
  return surrogate.test(s) ? Array.from(s) : undefined;
}

function str(fn: string, v: unknown, ...rest: unknown[]): string {
  if (typeof v !== "string") throw noOverload(fn, v, ...rest);
  chargeSize(v.length);
  return v;
}

function int(fn: string, v: unknown, ...rest: unknown[]): number {
  if (!isInt(v)) throw noOverload(fn, ...rest, v);
  return Number(v);
}

function outOfRange(i: number): never {
  throw err("invalid_argument", `index out of range: ${i}`);
}

function charAt(s: unknown, i: unknown): string {
  const text = str("charAt", s, i);
  const n = int("charAt", i, s);
  const cps = codePoints(text);
  const len = cps ? cps.length : text.length;
  if (n < 0 || n > len) outOfRange(n);
  if (n === len) return "";
  return cps ? (cps[n] as string) : (text[n] as string);
}

/** True when UTF-16 offset `i` does not split a surrogate pair. */
function atCodePoint(text: string, i: number): boolean {
  if (i <= 0 || i >= text.length) return true;
  const low = text.charCodeAt(i);
  const high = text.charCodeAt(i - 1);
  return !(low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff);
}

/** The UTF-16 offset of code point `index` (at most the number of code points). */
function unitOffset(text: string, index: number): number {
  let unit = 0;
  for (let k = 0; k < index; k++) unit += atCodePoint(text, unit + 1) ? 1 : 2;
  return unit;
}

/** The code point index of UTF-16 offset `unit` (a code point boundary). */
function codePointIndex(text: string, unit: number): number {
  let index = 0;
  for (let i = 0; i < unit; i++) if (atCodePoint(text, i + 1)) index++;
  return index;
}

/**
 * Needles up to this many UTF-16 units are searched backwards with String.prototype.lastIndexOf.
 * V8's lastIndexOf compares naively (no skip table, unlike indexOf): a near-miss needle of 30,000
 * units in 300,000 took 8.6 s, under any cost limit. Longer needles search the reversed text
 * forwards, with indexOf.
 */
const NAIVE_BACKWARDS = 64;

/** `(from) => text.lastIndexOf(sub, from)` (UTF-16 offsets), linear in practice for any needle. */
function backwardSearch(text: string, sub: string): (from: number) => number {
  if (sub.length <= NAIVE_BACKWARDS) return (from) => text.lastIndexOf(sub, from);
  const m = sub.length;
  const last = text.length - m;
  // By UTF-16 units: an occurrence of sub at i is one of the reversed needle at last - i.
  let reversedText: string | undefined;
  const reversedSub = sub.split("").reverse().join("");
  return (from) => {
    if (last < 0 || from < 0) return -1;
    reversedText ??= text.split("").reverse().join("");
    const j = reversedText.indexOf(reversedSub, last - Math.min(from, last));
    return j < 0 ? -1 : last - j;
  };
}

/**
 * Where `sub` occurs on code point boundaries, searching with the native String methods (linear
 * in practice; backwards through backwardSearch) from `unit` forwards or backwards; -1 when nowhere.
 */
function search(text: string, sub: string, unit: number, backwards: boolean): number {
  const before = backwards ? backwardSearch(text, sub) : undefined;
  let i = before ? before(unit) : text.indexOf(sub, unit);
  while (i >= 0 && !(atCodePoint(text, i) && atCodePoint(text, i + sub.length))) {
    i = before ? (i === 0 ? -1 : before(i - 1)) : text.indexOf(sub, i + 1);
  }
  return i;
}

function indexOf(s: unknown, sub: unknown, from?: unknown): number {
  const text = str("indexOf", s, sub);
  if (typeof sub !== "string") throw noOverload("indexOf", s, sub);
  const start = from === undefined ? 0 : int("indexOf", from, s, sub);
  const plain = !surrogate.test(text);
  const len = plain ? text.length : codePointLength(text);
  if (start < 0 || start > len) outOfRange(start);
  if (plain && !surrogate.test(sub)) return text.indexOf(sub, start);
  const found = search(text, sub, unitOffset(text, start), false);
  return found < 0 ? -1 : codePointIndex(text, found);
}

function lastIndexOf(s: unknown, sub: unknown, from?: unknown): number {
  const text = str("lastIndexOf", s, sub);
  if (typeof sub !== "string") throw noOverload("lastIndexOf", s, sub);
  const plain = !surrogate.test(text);
  const len = plain ? text.length : codePointLength(text);
  const start = from === undefined ? len : int("lastIndexOf", from, s, sub);
  if (start < 0 || start > len) outOfRange(start);
  if (sub === "") return start;
  if (plain && !surrogate.test(sub)) return backwardSearch(text, sub)(start);
  const found = search(text, sub, unitOffset(text, start), true);
  return found < 0 ? -1 : codePointIndex(text, found);
}

function replace(s: unknown, from: unknown, to: unknown, limit?: unknown): string {
  const text = str("replace", s, from, to);
  if (typeof from !== "string" || typeof to !== "string") throw noOverload("replace", s, from, to);
  const n = limit === undefined ? -1 : int("replace", limit, s, from, to);
  if (n === 0) return text;
  let out = "";
  let count = 0;
  let i = 0;
  // What is written is charged as it grows, summed: chargeSize rounds each call down to 16
  // characters, so charging a short replacement on its own was free (15-fold growth per call).
  let written = 0;
  const wrote = (size: number): void => {
    written += size;
    if (written >= 4096) {
      chargeSize(written);
      written = 0;
    }
  };
  if (from === "") {
    // Go's strings.Replace with an empty old string inserts `to` around every code point
    const cps = Array.from(text);
    for (const c of cps) {
      if (n < 0 || count < n) {
        wrote(to.length);
        out += to;
        count++;
      }
      out += c;
    }
    if (n < 0 || count < n) out += to;
    chargeSize(written + to.length);
    return out;
  }
  while (true) {
    const j = text.indexOf(from, i);
    if (j < 0 || (n >= 0 && count >= n)) break;
    wrote(to.length);
    out += text.slice(i, j) + to;
    i = j + from.length;
    count++;
  }
  chargeSize(written);
  return out + text.slice(i);
}

function split(s: unknown, sep: unknown, limit?: unknown): string[] {
  const text = str("split", s, sep);
  if (typeof sep !== "string") throw noOverload("split", s, sep);
  const n = limit === undefined ? -1 : int("split", limit, s, sep);
  if (n === 0) return [];
  if (n === 1) return [text];
  const parts = sep === "" ? Array.from(text) : text.split(sep);
  if (n < 0 || parts.length <= n) return parts;
  const head = parts.slice(0, n - 1);
  const consumed = head.reduce((acc, p) => acc + p.length + sep.length, 0);
  if (sep === "") {
    const cps = Array.from(text);
    return [...cps.slice(0, n - 1), cps.slice(n - 1).join("")];
  }
  return [...head, text.slice(consumed)];
}

function substring(s: unknown, start: unknown, end?: unknown): string {
  const text = str("substring", s, start);
  const a = int("substring", start, s);
  const cps = codePoints(text);
  const len = cps ? cps.length : text.length;
  const b = end === undefined ? len : int("substring", end, s, start);
  if (a < 0 || a > len) outOfRange(a);
  if (b < 0 || b > len) outOfRange(b);
  if (b < a) throw err("invalid_argument", `invalid substring range. start: ${a}, end: ${b}`);
  return cps ? cps.slice(a, b).join("") : text.slice(a, b);
}

/** Unicode White_Space (what Go's strings.TrimSpace / unicode.IsSpace trims); all in the BMP. */
function isSpace(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)
    || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** A scan from each end: linear (a RegExp `\s+$` retried at every blank of an inner run was quadratic). */
function trim(s: unknown): string {
  const text = str("trim", s);
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function asciiCase(fn: string, upper: boolean): (s: unknown) => string {
  return (s) => str(fn, s).replace(upper ? /[a-z]+/g : /[A-Z]+/g, (m) => (upper ? m.toUpperCase() : m.toLowerCase()));
}

function join(list: unknown, sep?: unknown): string {
  if (!Array.isArray(list) || (sep !== undefined && typeof sep !== "string")) throw noOverload("join", list, ...(sep === undefined ? [] : [sep]));
  // Charged before it is built: the list may hold one long string many times over.
  let size = list.length === 0 ? 0 : (list.length - 1) * (sep ?? "").length;
  for (const e of list) {
    if (typeof e !== "string") throw noOverload("join", e);
    size += e.length;
  }
  chargeSize(size);
  return list.join(sep ?? "");
}

const quoteEscapes: Record<string, string> = {
  "\u0007": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"',
};

function quote(s: unknown): string {
  const text = str("strings.quote", s);
  let out = '"';
  for (const c of text) {
    const e = quoteEscapes[c];
    if (e !== undefined) out += e;
    else {
      const cp = c.codePointAt(0) as number;
      if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
      else if (cp >= 0xd800 && cp <= 0xdfff) out += "\ufffd";
      else out += c;
    }
  }
  return `${out}"`;
}

function reverse(s: unknown): string {
  return Array.from(str("reverse", s)).reverse().join("");
}

const onString = (args: readonly unknown[]): boolean => typeof args[0] === "string";

/** Receiver overloads on strings (lists share some names: indexOf, lastIndexOf, reverse). */
function m(name: string, arity: number, impl: (...args: never[]) => unknown): Overload {
  return { name, receiver: true, arity, impl: impl as (...args: unknown[]) => unknown, accepts: onString };
}

export const stringOverloads: readonly Overload[] = [
  m("charAt", 1, charAt),
  m("indexOf", 1, indexOf),
  m("indexOf", 2, indexOf),
  m("lastIndexOf", 1, lastIndexOf),
  m("lastIndexOf", 2, lastIndexOf),
  m("lowerAscii", 0, asciiCase("lowerAscii", false)),
  m("upperAscii", 0, asciiCase("upperAscii", true)),
  m("replace", 2, replace),
  m("replace", 3, replace),
  m("split", 1, split),
  m("split", 2, split),
  m("substring", 1, substring),
  m("substring", 2, substring),
  m("trim", 0, trim),
  { name: "join", receiver: true, arity: 0, impl: join as (...args: unknown[]) => unknown },
  { name: "join", receiver: true, arity: 1, impl: join as (...args: unknown[]) => unknown },
  m("reverse", 0, reverse),
  m("format", 1, (s: unknown, args: unknown) => formatString(str("format", s, args), args)),
  { name: "strings.quote", receiver: false, arity: 1, impl: quote as (...args: unknown[]) => unknown },
];
