/**
 * CEL equality (heterogeneous: values of different types are unequal, never an error; int, uint
 * and double compare by numeric value) and ordering (`<` on numbers across types, strings by code
 * point, bytes, bools, timestamps, durations; anything else is no_matching_overload).
 */
import { charge } from "./cost.js";
import { isMap, mapGet, mapKeys, mapSize } from "./maps.js";
import {
  CelDouble, CelDuration, CelMap, CelOpaque, CelOptional, CelTimestamp, CelType, CelUint, err, isPlainObject, noOverload, typeOf,
} from "./values.js";

/** Deeper than this, a value is treated as cyclic. */
export const MAX_VALUE_DEPTH = 200;

const enum Num {
  None = 0,
  Int = 1,
  Uint = 2,
  Double = 3,
}

function numKind(v: unknown): Num {
  if (typeof v === "number") return Number.isSafeInteger(v) ? Num.Int : Num.Double;
  if (typeof v === "bigint") return Num.Int;
  if (v instanceof CelDouble) return Num.Double;
  if (v instanceof CelUint) return Num.Uint;
  return Num.None;
}

function toFloat(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof CelDouble) return v.v;
  return Number((v as CelUint).v);
}

function toBig(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (v instanceof CelUint) return v.v;
  return BigInt(v as number);
}

/** Numeric comparison: -1, 0, 1, or NaN when unordered (NaN operand). */
function compareNumbers(a: unknown, ka: Num, b: unknown, kb: Num): number {
  if (ka === Num.Double || kb === Num.Double) {
    const x = toFloat(a);
    const y = toFloat(b);
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : Number.NaN;
  }
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  const x = toBig(a);
  const y = toBig(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Compares strings by Unicode code point (JS `<` compares UTF-16 code units). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca !== cb) {
      if (ca >= 0xd800) ca += ca >= 0xe000 ? -0x800 : 0x2000;
      if (cb >= 0xd800) cb += cb >= 0xe000 ? -0x800 : 0x2000;
      return ca < cb ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** A timestamp from a CelTimestamp or a JS Date, else undefined. */
export function asTimestamp(v: unknown): CelTimestamp | undefined {
  if (v instanceof CelTimestamp) return v;
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) return undefined;
    const s = Math.floor(ms / 1000);
    return new CelTimestamp(s, (ms - s * 1000) * 1e6);
  }
  return undefined;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** CEL `==`. Never throws except on cyclic / too deep values. */
export function eq(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return typeof a !== "number" || !Number.isNaN(a);
  const ka = numKind(a);
  if (ka !== Num.None) {
    const kb = numKind(b);
    return kb !== Num.None && compareNumbers(a, ka, b, kb) === 0;
  }
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return false;
  if (depth > MAX_VALUE_DEPTH) throw err("invalid_argument", "value nested too deeply (or cyclic) for comparison");
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    charge(a.length);
    for (let i = 0; i < a.length; i++) if (!eq(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (a instanceof Uint8Array) return b instanceof Uint8Array && bytesEqual(a, b);
  const ta = asTimestamp(a);
  if (ta) {
    const tb = asTimestamp(b);
    return tb !== undefined && ta.s === tb.s && ta.n === tb.n;
  }
  if (a instanceof CelDuration) return b instanceof CelDuration && a.s === b.s && a.n === b.n;
  if (a instanceof CelType) return b instanceof CelType && a.name === b.name;
  if (a instanceof CelOptional) {
    if (!(b instanceof CelOptional) || a.has !== b.has) return false;
    return !a.has || eq(a.v, b.v, depth + 1);
  }
  if (a instanceof CelOpaque) return b instanceof CelOpaque && a.typeName === b.typeName && a.equals(b);
  if (isMap(a)) {
    if (!isMap(b) || mapSize(a) !== mapSize(b)) return false;
    const keys = mapKeys(a);
    charge(keys.length);
    for (const k of keys) {
      const vb = mapGet(b, k);
      if (vb === undefined || !eq(mapGet(a, k), vb, depth + 1)) return false;
    }
    return true;
  }
  return false;
}

/**
 * CEL ordering: negative, zero or positive; NaN when unordered (a NaN operand).
 * Throws no_matching_overload when the two values have no ordering.
 */
const sortableTypes = new Set(["int", "uint", "double", "bool", "string", "bytes", "google.protobuf.Timestamp", "google.protobuf.Duration"]);

/**
 * The keys sort() and sortBy() order by, checked as cel-go's sortByAssociatedKeys does: all of one
 * type (int, uint and double are three) and that type comparable; otherwise an error.
 */
export function checkSortKeys(keys: readonly unknown[]): void {
  if (keys.length === 0) return;
  const type = typeOf(keys[0]).name;
  if (!sortableTypes.has(type)) throw err("invalid_argument", `list elements must be comparable, got ${type}`);
  for (const key of keys) {
    const other = typeOf(key).name;
    if (other !== type) throw err("invalid_argument", `list elements must have the same type, got ${type} and ${other}`);
  }
}

export function compare(a: unknown, b: unknown, fn: string): number {
  const ka = numKind(a);
  if (ka !== Num.None) {
    const kb = numKind(b);
    if (kb !== Num.None) return compareNumbers(a, ka, b, kb);
    throw noOverload(fn, a, b);
  }
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b);
  if (typeof a === "boolean" && typeof b === "boolean") return a === b ? 0 : a ? 1 : -1;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return compareBytes(a, b);
  const ta = asTimestamp(a);
  if (ta) {
    const tb = asTimestamp(b);
    if (tb) return ta.s !== tb.s ? (ta.s < tb.s ? -1 : 1) : ta.n < tb.n ? -1 : ta.n > tb.n ? 1 : 0;
  }
  if (a instanceof CelDuration && b instanceof CelDuration) {
    return a.s !== b.s ? (a.s < b.s ? -1 : 1) : a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
  }
  throw noOverload(fn, a, b);
}

export function lt(a: unknown, b: unknown): boolean {
  return compare(a, b, "_<_") < 0;
}
export function le(a: unknown, b: unknown): boolean {
  return compare(a, b, "_<=_") <= 0;
}
export function gt(a: unknown, b: unknown): boolean {
  return compare(a, b, "_>_") > 0;
}
export function ge(a: unknown, b: unknown): boolean {
  return compare(a, b, "_>=_") >= 0;
}

/** CEL `in`: list membership by equality, or map key presence. */
export function contains(container: unknown, x: unknown): boolean {
  if (Array.isArray(container)) {
    charge(container.length >> 3);
    for (const e of container) if (eq(e, x)) return true;
    return false;
  }
  if (typeof container === "object" && container !== null && (container instanceof CelMap || isPlainObject(container))) {
    return mapGet(container as Record<string, unknown>, x) !== undefined;
  }
  throw noOverload("@in", x, container);
}
