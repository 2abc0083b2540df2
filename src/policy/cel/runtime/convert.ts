/**
 * Type conversions (`int()`, `uint()`, `double()`, `string()`, `bytes()`, `bool()`, `timestamp()`,
 * `duration()`) and the conversion of runtime values to JSON-safe JS (`celToJson`).
 */
import { charge } from "./cost.js";
import { MAX_VALUE_DEPTH, asTimestamp } from "./equality.js";
import { isMap, mapEntries } from "./maps.js";
import { formatDuration, formatTimestamp, mkTimestamp, parseDuration, parseTimestamp } from "./time.js";
import {
  CelDouble, CelDuration, CelMap, CelOpaque, CelOptional, CelTimestamp, CelType, CelUint, INT64_MAX, INT64_MIN, UINT64_MAX,
  big, dbl, err, isDouble, isInt, mkDouble, mkInt, noOverload, typeOf,
} from "./values.js";

const TWO_63 = 9223372036854775808;
const TWO_64 = 18446744073709551616;

export function toInt(v: unknown): number | bigint {
  if (isInt(v)) return typeof v === "bigint" ? mkInt(v) : v;
  if (v instanceof CelUint) {
    if (v.v > INT64_MAX) throw err("overflow", "uint value out of int range");
    return mkInt(v.v);
  }
  if (isDouble(v)) {
    const d = dbl(v);
    if (!(d > -TWO_63 && d < TWO_63)) throw err("overflow", `double ${d} out of int range`);
    return mkInt(BigInt(Math.trunc(d)));
  }
  if (typeof v === "string") {
    if (!/^[+-]?\d+$/.test(v)) throw err("invalid_argument", `cannot convert '${v}' to int`);
    const b = BigInt(v);
    if (b > INT64_MAX || b < INT64_MIN) throw err("overflow", `'${v}' out of int range`);
    return mkInt(b);
  }
  const t = asTimestamp(v);
  if (t) return t.s;
  throw noOverload("int", v);
}

export function toUint(v: unknown): CelUint {
  if (v instanceof CelUint) return v;
  if (isInt(v)) {
    const b = big(v);
    if (b < 0n) throw err("overflow", "negative int out of uint range");
    return new CelUint(b);
  }
  if (isDouble(v)) {
    const d = dbl(v);
    // As cel-go (v < 0): a negative double is out of range even when it would truncate to 0; -0.0 is not negative.
    if (!(d >= 0 && d < TWO_64)) throw err("overflow", `double ${d} out of uint range`);
    return new CelUint(BigInt(Math.trunc(d)));
  }
  if (typeof v === "string") {
    if (!/^\+?\d+$/.test(v)) throw err("invalid_argument", `cannot convert '${v}' to uint`);
    const b = BigInt(v);
    if (b > UINT64_MAX) throw err("overflow", `'${v}' out of uint range`);
    return new CelUint(b);
  }
  throw noOverload("uint", v);
}

// Unambiguous (`\d+(?:\.\d*)?`, not `\d+\.?\d*`): a digit run splits one way only, so a long
// invalid text fails in linear time instead of being retried at every split (quadratic).
const floatText = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

export function toDouble(v: unknown): number | CelDouble {
  if (isDouble(v)) return v as number | CelDouble;
  if (isInt(v)) return mkDouble(Number(v));
  if (v instanceof CelUint) return mkDouble(Number(v.v));
  if (typeof v === "string") {
    if (!floatText.test(v)) throw err("invalid_argument", `cannot convert '${v}' to double`);
    const lower = v.toLowerCase().replace(/^\+/, "");
    if (lower.endsWith("nan")) return Number.NaN;
    if (lower.endsWith("inf") || lower.endsWith("infinity")) return lower.startsWith("-") ? -Infinity : Infinity;
    const d = Number(v);
    // As cel-go (strconv.ParseFloat's ErrRange): a number beyond the double range does not convert.
    if (!Number.isFinite(d)) throw err("invalid_argument", `cannot convert '${v}' to double: out of the double range`);
    return mkDouble(d);
  }
  throw noOverload("double", v);
}

/** Go's `strconv.FormatFloat(d, 'g', -1, 64)` (what cel-go's `string(double)` prints). */
export function formatDouble(d: number): string {
  if (Number.isNaN(d)) return "NaN";
  if (d === Infinity) return "+Inf";
  if (d === -Infinity) return "-Inf";
  if (d === 0) return Object.is(d, -0) ? "-0" : "0";
  const [mantissa, expText] = d.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${mantissa}e${exp < 0 ? "-" : "+"}${e < 10 ? `0${e}` : e}`;
  }
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  let out: string;
  if (exp < 0) out = `0.${"0".repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) out = digits + "0".repeat(exp + 1 - digits.length);
  else out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return negative ? `-${out}` : out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

export function decodeUtf8(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    throw err("invalid_argument", "bytes are not valid UTF-8");
  }
}

export function encodeUtf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

export function toCelString(v: unknown): string {
  if (typeof v === "string") return v;
  if (isInt(v)) return String(v);
  if (v instanceof CelUint) return String(v.v);
  if (isDouble(v)) return formatDouble(dbl(v));
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v instanceof Uint8Array) return decodeUtf8(v);
  const t = asTimestamp(v);
  if (t) return formatTimestamp(t);
  if (v instanceof CelDuration) return formatDuration(v);
  if (v instanceof CelOpaque) return v.toString();
  throw noOverload("string", v);
}

export function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") return encodeUtf8(v);
  throw noOverload("bytes", v);
}

const trueWords = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const falseWords = new Set(["0", "f", "F", "FALSE", "false", "False"]);

export function toBool(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") {
    if (trueWords.has(v)) return true;
    if (falseWords.has(v)) return false;
    throw err("invalid_argument", `cannot convert '${v}' to bool`);
  }
  throw noOverload("bool", v);
}

export function toTimestamp(v: unknown): CelTimestamp {
  const t = asTimestamp(v);
  if (t) return t;
  if (typeof v === "string") return parseTimestamp(v);
  if (isInt(v)) return mkTimestamp(Number(v), 0);
  throw noOverload("timestamp", v);
}

export function toDuration(v: unknown): CelDuration {
  if (v instanceof CelDuration) return v;
  if (typeof v === "string") return parseDuration(v);
  throw noOverload("duration", v);
}

export function celTypeOf(v: unknown): CelType {
  return typeOf(v);
}

function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

/**
 * Converts a CEL runtime value to JSON-safe JS: ints and uints become numbers (precision is lost
 * beyond 2^53), bytes base64 strings, timestamps RFC 3339 strings, durations `"1.5s"`, types their
 * name, optional values their value (or null), extension values their string form.
 */
export function celToJson(value: unknown): unknown {
  return toJson(value, 0, plainJson);
}

/** celToJson inside an evaluation: charges one cost unit per converted value (a shared sub-list counts each time). */
export function celToJsonMetered(value: unknown): unknown {
  return toJson(value, 0, meteredJson);
}

interface JsonMode {
  readonly metered: boolean;
  /** Timestamps become JS Dates instead of RFC 3339 strings. */
  readonly dates: boolean;
}
const plainJson: JsonMode = { metered: false, dates: false };
const meteredJson: JsonMode = { metered: true, dates: false };
const extensionArgs: JsonMode = { metered: true, dates: true };

function toJson(v: unknown, depth: number, mode: JsonMode): unknown {
  switch (typeof v) {
    case "boolean":
    case "string":
    case "number":
      return v;
    case "bigint":
      return Number(v);
    case "undefined":
      return null;
    case "object":
      break;
    default:
      return String(v);
  }
  if (v === null) return null;
  if (depth > MAX_VALUE_DEPTH) throw err("invalid_argument", "value nested too deeply (or cyclic) to convert");
  if (mode.metered) charge(1);
  if (Array.isArray(v)) return v.map((x) => toJson(x, depth + 1, mode));
  if (v instanceof CelDouble) return v.v;
  if (v instanceof CelUint) return Number(v.v);
  if (v instanceof Uint8Array) return base64(v);
  if (v instanceof CelTimestamp) return mode.dates ? new Date(v.s * 1000 + Math.floor(v.n / 1e6)) : formatTimestamp(v);
  if (v instanceof Date) return mode.dates ? v : Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof CelDuration) return formatDuration(v);
  if (v instanceof CelType) return v.name;
  if (v instanceof CelOptional) return v.has ? toJson(v.v, depth + 1, mode) : null;
  if (v instanceof CelOpaque) return v.toString();
  if (isMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of mapEntries(v)) {
      const key = k instanceof CelUint ? String(k.v) : String(k);
      Object.defineProperty(out, key, { value: toJson(x, depth + 1, mode), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return String(v);
}

/**
 * Values handed to an extension function in "plain" mode: celToJson's shapes, except that
 * timestamps (at any depth) become JS Dates.
 */
export function toPlainArgument(v: unknown): unknown {
  return toJson(v, 0, extensionArgs);
}

/** A plain JS value returned by an extension function, as a CEL runtime value. */
export function fromPlainResult(v: unknown): unknown {
  return v === undefined ? null : v;
}
