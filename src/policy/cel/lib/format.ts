/**
 * `"...".format([args])` (cel-go ext.Strings format, also in Kubernetes): %s, %d, %f, %e, %b, %o,
 * %x, %X with optional precision (`%.3f`), and %% for a literal percent sign.
 */
import { decodeUtf8, formatDouble } from "../runtime/convert.js";
import { charge, chargeSize } from "../runtime/cost.js";
import { asTimestamp } from "../runtime/equality.js";
import { isMap, mapEntries } from "../runtime/maps.js";
import { formatDuration, formatTimestamp } from "../runtime/time.js";
import { CelDuration, CelOpaque, CelType, CelUint, dbl, err, isDouble, isInt, noOverload, typeOf } from "../runtime/values.js";

function formatError(message: string): never {
  throw err("invalid_argument", `error during formatting: ${message}`);
}

function typeName(v: unknown): string {
  try {
    return typeOf(v).name;
  } catch {
    return typeof v;
  }
}

/** A double as a plain decimal with the fewest digits that round-trip (no exponent). */
function plainDecimal(d: number): string {
  const special = nonFinite(d);
  if (special !== undefined) return special;
  const g = formatDouble(d);
  if (!g.includes("e")) return g;
  const [mantissa, expText] = d.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  let out: string;
  if (exp < 0) out = `0.${"0".repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) out = digits + "0".repeat(exp + 1 - digits.length);
  else out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return negative ? `-${out}` : out;
}

/** The `%s` rendering of any value. */
function asString(v: unknown, depth = 0): string {
  if (depth > 100) formatError("value nested too deeply");
  charge(1);
  if (typeof v === "string") {
    // Charged as each is rendered, before a list or map of them is joined into one text.
    chargeSize(v.length);
    return v;
  }
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v === null) return "null";
  if (isInt(v)) return String(v);
  if (v instanceof CelUint) return String(v.v);
  if (isDouble(v)) return plainDecimal(dbl(v));
  if (v instanceof Uint8Array) return decodeUtf8(v);
  if (v instanceof CelType) return v.name;
  const ts = asTimestamp(v);
  if (ts) return formatTimestamp(ts);
  if (v instanceof CelDuration) return formatDuration(v);
  if (Array.isArray(v)) return `[${v.map((x) => asString(x, depth + 1)).join(", ")}]`;
  if (isMap(v)) {
    const entries = mapEntries(v).map(([k, x]) => [asString(k, depth + 1), asString(x, depth + 1)] as const);
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return `{${entries.map(([k, x]) => `${k}: ${x}`).join(", ")}}`;
  }
  if (v instanceof CelOpaque && !("message" in v)) return v.toString();
  return formatError(`string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, types, durations, and timestamps, was given ${typeName(v)}`);
}

/** The exact value of a finite double: |d| = digits / 10^scale. */
function exactDecimal(d: number): { digits: bigint; scale: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(d));
  const bits = view.getBigUint64(0);
  const exponent = Number(bits >> 52n);
  const fraction = bits & 0xfffffffffffffn;
  const mantissa = exponent === 0 ? fraction : fraction | 0x10000000000000n;
  const power = (exponent === 0 ? 1 : exponent) - 1075;
  // mantissa * 2^power; for a negative power, mantissa / 2^k = mantissa * 5^k / 10^k.
  return power >= 0 ? { digits: mantissa << BigInt(power), scale: 0 } : { digits: mantissa * 5n ** BigInt(-power), scale: -power };
}

/** n / 10^k rounded half to even (k < 0 multiplies). */
function shiftRounded(n: bigint, k: number): bigint {
  if (k <= 0) return n * 10n ** BigInt(-k);
  const divisor = 10n ** BigInt(k);
  const q = n / divisor;
  const twice = 2n * (n % divisor);
  return twice > divisor || (twice === divisor && (q & 1n) === 1n) ? q + 1n : q;
}

/** NaN and the infinities as cel-go prints them for %f and %e. */
function nonFinite(d: number): string | undefined {
  if (Number.isNaN(d)) return "NaN";
  return Number.isFinite(d) ? undefined : d > 0 ? "Infinity" : "-Infinity";
}

const signOf = (d: number): string => (d < 0 || Object.is(d, -0) ? "-" : "");

/** Go's `%.Nf`: the exact binary value rounded half to even, every integer digit (no exponent). */
function fixed(d: number, precision: number): string {
  const special = nonFinite(d);
  if (special !== undefined) return special;
  const { digits, scale } = exactDecimal(d);
  // Digits past the exact value's last one are zeros: padded, never computed (a big power of ten is superlinear).
  const kept = Math.min(precision, scale);
  const text = shiftRounded(digits, scale - kept).toString().padStart(kept + 1, "0");
  const whole = text.slice(0, text.length - kept);
  return `${signOf(d)}${whole}${precision === 0 ? "" : `.${text.slice(whole.length)}${"0".repeat(precision - kept)}`}`;
}

/** Go's `%.Ne`: N digits after the point of the exact value rounded half to even, exponent of at least two digits. */
function scientific(d: number, precision: number): string {
  const special = nonFinite(d);
  if (special !== undefined) return special;
  const { digits, scale } = exactDecimal(d);
  let mantissa = "0".repeat(precision + 1);
  let exponent = 0;
  if (digits !== 0n) {
    const length = digits.toString().length;
    const kept = Math.min(precision + 1, length);
    mantissa = shiftRounded(digits, length - kept).toString();
    exponent = length - 1 - scale;
    // Rounding carried into a new digit (9.96 -> 10.0): one more power of ten.
    if (mantissa.length > kept) {
      mantissa = mantissa.slice(0, kept);
      exponent++;
    }
    mantissa += "0".repeat(precision + 1 - kept);
  }
  const point = precision === 0 ? "" : `.${mantissa.slice(1)}`;
  return `${signOf(d)}${mantissa[0]}${point}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
}

function integerText(fn: string, v: unknown, radix: number): string {
  if (isInt(v)) {
    const b = BigInt(v as number | bigint);
    return b < 0n ? `-${(-b).toString(radix)}` : b.toString(radix);
  }
  if (v instanceof CelUint) return v.v.toString(radix);
  return formatError(`${fn} clause can only be used on integers, was given ${typeName(v)}`);
}

function hex(v: unknown, upper: boolean): string {
  let out: string;
  if (typeof v === "string") out = Buffer.from(v, "utf8").toString("hex");
  else if (v instanceof Uint8Array) out = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex");
  else if (isInt(v) || v instanceof CelUint) out = integerText("hex", v, 16);
  else return formatError(`only integers, byte buffers, and strings can be formatted as hex, was given ${typeName(v)}`);
  return upper ? out.toUpperCase() : out;
}

function numberArg(clause: string, v: unknown): number {
  if (isDouble(v)) return dbl(v);
  if (isInt(v)) return Number(v);
  if (v instanceof CelUint) return Number(v.v);
  return formatError(`${clause} clause can only be used on doubles, was given ${typeName(v)}`);
}

function formatOne(verb: string, precision: number | undefined, v: unknown): string {
  switch (verb) {
    case "s":
      return asString(v);
    case "d":
      if (isDouble(v) && !Number.isFinite(dbl(v))) return plainDecimal(dbl(v));
      return integerText("decimal", v, 10);
    case "f":
      return fixed(numberArg("fixed-point", v), precision ?? 6);
    case "e":
      return scientific(numberArg("scientific", v), precision ?? 6);
    case "b":
      if (typeof v === "boolean") return v ? "1" : "0";
      if (isInt(v) || v instanceof CelUint) return integerText("binary", v, 2);
      return formatError(`only integers and bools can be formatted as binary, was given ${typeName(v)}`);
    case "o":
      return integerText("octal", v, 8);
    case "x":
    case "X":
      return hex(v, verb === "X");
    default:
      throw err("invalid_argument", `could not parse formatting clause: unrecognized formatting clause "${verb}"`);
  }
}

export function formatString(fmt: string, args: unknown): string {
  if (!Array.isArray(args)) throw noOverload("format", fmt, args);
  let out = "";
  let next = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i];
    if (c !== "%") {
      out += c;
      continue;
    }
    if (fmt[i + 1] === "%") {
      out += "%";
      i++;
      continue;
    }
    const m = /^(?:\.(\d+))?([a-zA-Z])/.exec(fmt.slice(i + 1));
    if (!m) throw err("invalid_argument", "could not parse formatting clause: missing formatting verb");
    const precision = m[1] === undefined ? undefined : Number(m[1]);
    // The digits a precision asks for are produced before the piece is charged: charge them first.
    if (precision !== undefined) charge(Math.floor(precision / 16));
    const verb = m[2] as string;
    if (!"sdfeboxX".includes(verb)) throw err("invalid_argument", `could not parse formatting clause: unrecognized formatting clause "${verb}"`);
    if (next >= args.length) throw err("invalid_argument", `index ${next} out of range`);
    const piece = formatOne(verb, precision, args[next++]);
    chargeSize(piece.length);
    out += piece;
    i += m[0].length;
  }
  return out;
}
