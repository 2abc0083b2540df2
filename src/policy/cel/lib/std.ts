/**
 * The standard CEL function library (cel-spec "Standard definitions"): size, type conversions,
 * string predicates, matches, timestamp / duration accessors; plus optional values.
 */
import { size } from "../runtime/access.js";
import {
  toBool, toBytes, toCelString, toDouble, toDuration, toInt, toTimestamp, toUint, celTypeOf,
} from "../runtime/convert.js";
import { chargeSize } from "../runtime/cost.js";
import type { Overload } from "../runtime/functions.js";
import { isMap, mapSize } from "../runtime/maps.js";
import { compileRegex, regexMatches } from "../runtime/regex.js";
import { durationPart, timestampPart } from "../runtime/time.js";
import {
  CelDouble, CelDuration, CelOptional, CelUint, NONE, mkOptional, noOverload,
} from "../runtime/values.js";

function g(name: string, arity: number, impl: (...args: never[]) => unknown): Overload {
  return { name, receiver: false, arity, impl: impl as (...args: unknown[]) => unknown };
}
function m(name: string, arity: number, impl: (...args: never[]) => unknown): Overload {
  return { name, receiver: true, arity, impl: impl as (...args: unknown[]) => unknown };
}

function strPair(fn: string, a: unknown, b: unknown): [string, string] {
  if (typeof a !== "string" || typeof b !== "string") throw noOverload(fn, a, b);
  chargeSize(a.length);
  return [a, b];
}

function matches(s: unknown, re: unknown): boolean {
  if (typeof s !== "string" || typeof re !== "string") throw noOverload("matches", s, re);
  return regexMatches(compileRegex(re), s);
}

const timestampAccessors = [
  "getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
];
const durationAccessors = new Set(["getHours", "getMinutes", "getSeconds", "getMilliseconds"]);

function accessor(fn: string): (v: unknown, tz?: unknown) => number {
  return (v: unknown, tz?: unknown) => {
    if (v instanceof CelDuration && tz === undefined && durationAccessors.has(fn)) return durationPart(fn, v);
    return timestampPart(fn, v, tz);
  };
}

/** True for the zero value of the value's type (used by optional.ofNonZeroValue). */
export function isZeroValue(v: unknown): boolean {
  if (v === null || v === false || v === "" || v === 0) return true;
  if (typeof v === "bigint") return v === 0n;
  if (typeof v === "number") return v === 0;
  if (v instanceof CelDouble) return v.v === 0;
  if (v instanceof CelUint) return v.v === 0n;
  if (Array.isArray(v)) return v.length === 0;
  if (v instanceof Uint8Array) return v.length === 0;
  if (v instanceof CelDuration) return v.s === 0 && v.n === 0;
  if (v instanceof CelOptional) return !v.has;
  if (typeof v === "object" && isMap(v)) return mapSize(v) === 0;
  return false;
}

function optionalOf(fn: string, v: unknown): CelOptional {
  if (!(v instanceof CelOptional)) throw noOverload(fn, v);
  return v;
}

export const stdOverloads: readonly Overload[] = [
  g("size", 1, size),
  m("size", 0, size),
  g("int", 1, toInt),
  g("uint", 1, toUint),
  g("double", 1, toDouble),
  g("string", 1, toCelString),
  g("bytes", 1, toBytes),
  g("bool", 1, toBool),
  g("timestamp", 1, toTimestamp),
  g("duration", 1, toDuration),
  g("type", 1, celTypeOf),
  g("dyn", 1, (v: unknown) => v),
  m("contains", 1, (a: unknown, b: unknown) => {
    const [s, t] = strPair("contains", a, b);
    return s.includes(t);
  }),
  m("startsWith", 1, (a: unknown, b: unknown) => {
    const [s, t] = strPair("startsWith", a, b);
    return s.startsWith(t);
  }),
  m("endsWith", 1, (a: unknown, b: unknown) => {
    const [s, t] = strPair("endsWith", a, b);
    return s.endsWith(t);
  }),
  g("matches", 2, matches),
  m("matches", 1, matches),
  ...timestampAccessors.flatMap((fn) => [m(fn, 0, accessor(fn)), m(fn, 1, accessor(fn))]),
  // optional values (cel-go OptionalTypes)
  g("optional.of", 1, (v: unknown) => mkOptional(v)),
  g("optional.none", 0, () => NONE),
  g("optional.ofNonZeroValue", 1, (v: unknown) => (isZeroValue(v) ? NONE : mkOptional(v))),
  m("hasValue", 0, (o: unknown) => optionalOf("hasValue", o).has),
  m("value", 0, (o: unknown) => {
    const opt = optionalOf("value", o);
    if (!opt.has) throw noOverload("value", o);
    return opt.v;
  }),
  m("orValue", 1, (o: unknown, d: unknown) => {
    const opt = optionalOf("orValue", o);
    return opt.has ? opt.v : d;
  }),
  m("or", 1, (o: unknown, other: unknown) => {
    const opt = optionalOf("or", o);
    if (opt.has) return opt;
    return optionalOf("or", other);
  }),
  g("optional.unwrap", 1, unwrapOptionals),
  m("unwrapOpt", 0, unwrapOptionals),
];

function unwrapOptionals(list: unknown): unknown[] {
  if (!Array.isArray(list)) throw noOverload("optional.unwrap", list);
  const out: unknown[] = [];
  for (const o of list) {
    if (!(o instanceof CelOptional)) throw noOverload("optional.unwrap", o);
    if (o.has) out.push(o.v);
  }
  return out;
}
