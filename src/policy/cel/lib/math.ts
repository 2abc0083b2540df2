/**
 * The cel-go math extension (math.greatest, math.least, ceil, floor, round, trunc, abs, sign,
 * isNaN, isInf, isFinite, sqrt, bitAnd, bitOr, bitXor, bitNot, bitShiftLeft, bitShiftRight) and
 * the encoders extension (base64.encode, base64.decode).
 */
import { chargeSize } from "../runtime/cost.js";
import { compare } from "../runtime/equality.js";
import type { Overload } from "../runtime/functions.js";
import {
  CelUint, INT64_MIN, UINT64_MAX, big, dbl, err, isDouble, isInt, mkDouble, mkInt, noOverload,
} from "../runtime/values.js";

function isNumber(v: unknown): boolean {
  return isInt(v) || isDouble(v) || v instanceof CelUint;
}

function extreme(fn: string, greatest: boolean): (...args: unknown[]) => unknown {
  return (...args) => {
    const values = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
    if (values.length === 0) throw err("invalid_argument", `${fn}(): no arguments`);
    let best: unknown = values[0];
    if (!isNumber(best)) throw noOverload(fn, best);
    for (let i = 1; i < values.length; i++) {
      const v = values[i];
      if (!isNumber(v)) throw noOverload(fn, v);
      const c = compare(v, best, fn);
      if (greatest ? c > 0 : c < 0) best = v;
    }
    return best;
  };
}

function doubleOnly(fn: string, f: (x: number) => number): (v: unknown) => unknown {
  return (v) => {
    if (!isDouble(v)) throw noOverload(fn, v);
    return mkDouble(f(dbl(v)));
  };
}

function doublePredicate(fn: string, f: (x: number) => boolean): (v: unknown) => boolean {
  return (v) => {
    if (!isDouble(v)) throw noOverload(fn, v);
    return f(dbl(v));
  };
}

/** Round half away from zero (Go math.Round). */
function roundHalfAway(x: number): number {
  return Number.isFinite(x) ? Math.sign(x) * Math.round(Math.abs(x)) : x;
}

function abs(v: unknown): unknown {
  if (isInt(v)) {
    const b = big(v as number | bigint);
    if (b === INT64_MIN) throw err("overflow", "math.abs() overflow: -9223372036854775808 has no int absolute value");
    return mkInt(b < 0n ? -b : b);
  }
  if (v instanceof CelUint) return v;
  if (isDouble(v)) return mkDouble(Math.abs(dbl(v)));
  throw noOverload("math.abs", v);
}

function sign(v: unknown): unknown {
  if (isInt(v)) {
    const b = big(v as number | bigint);
    return b > 0n ? 1 : b < 0n ? -1 : 0;
  }
  if (v instanceof CelUint) return new CelUint(v.v > 0n ? 1n : 0n);
  if (isDouble(v)) {
    const d = dbl(v);
    return mkDouble(Number.isNaN(d) ? d : d > 0 ? 1 : d < 0 ? -1 : 0);
  }
  throw noOverload("math.sign", v);
}

const MASK64 = (1n << 64n) - 1n;

function toSigned(b: bigint): bigint {
  return BigInt.asIntN(64, b);
}

function bitwise(fn: string, op: (a: bigint, b: bigint) => bigint): (a: unknown, b: unknown) => unknown {
  return (a, b) => {
    if (isInt(a) && isInt(b)) return mkInt(toSigned(op(big(a as number | bigint), big(b as number | bigint))));
    if (a instanceof CelUint && b instanceof CelUint) return new CelUint(op(a.v, b.v) & MASK64);
    throw noOverload(fn, a, b);
  };
}

function shift(fn: string, left: boolean): (a: unknown, n: unknown) => unknown {
  return (a, n) => {
    if (!isInt(n)) throw noOverload(fn, a, n);
    const count = big(n as number | bigint);
    if (count < 0n) throw err("invalid_argument", `${fn}() negative offset: ${count}`);
    if (isInt(a)) {
      if (count >= 64n) return 0;
      const u = BigInt.asUintN(64, big(a as number | bigint));
      return mkInt(toSigned(left ? (u << count) & MASK64 : u >> count));
    }
    if (a instanceof CelUint) {
      if (count >= 64n) return new CelUint(0n);
      return new CelUint(left ? (a.v << count) & MASK64 : a.v >> count);
    }
    throw noOverload(fn, a, n);
  };
}

function base64Encode(b: unknown): string {
  if (!(b instanceof Uint8Array)) throw noOverload("base64.encode", b);
  chargeSize(b.length);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

const paddedBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const rawBase64 = /^[A-Za-z0-9+/]*$/;

/** As cel-go: Go's StdEncoding (exact padding), else RawStdEncoding (none); line breaks are ignored. */
function base64Decode(s: unknown): Uint8Array {
  if (typeof s !== "string") throw noOverload("base64.decode", s);
  chargeSize(s.length);
  const text = s.replace(/[\r\n]/g, "");
  if (!paddedBase64.test(text) && !(rawBase64.test(text) && text.length % 4 !== 1)) throw err("invalid_argument", "base64.decode: illegal base64 data");
  return new Uint8Array(Buffer.from(text, "base64"));
}

function g(name: string, arity: number, impl: (...args: never[]) => unknown): Overload {
  return { name, receiver: false, arity, impl: impl as (...args: unknown[]) => unknown };
}

export const mathOverloads: readonly Overload[] = [
  g("math.greatest", -1, extreme("math.greatest", true)),
  g("math.least", -1, extreme("math.least", false)),
  g("math.ceil", 1, doubleOnly("math.ceil", Math.ceil)),
  g("math.floor", 1, doubleOnly("math.floor", Math.floor)),
  g("math.round", 1, doubleOnly("math.round", roundHalfAway)),
  g("math.trunc", 1, doubleOnly("math.trunc", Math.trunc)),
  g("math.sqrt", 1, (v: unknown) => {
    if (isDouble(v)) return mkDouble(Math.sqrt(dbl(v)));
    if (isInt(v)) return mkDouble(Math.sqrt(Number(v)));
    if (v instanceof CelUint) return mkDouble(Math.sqrt(Number(v.v)));
    throw noOverload("math.sqrt", v);
  }),
  g("math.abs", 1, abs),
  g("math.sign", 1, sign),
  g("math.isNaN", 1, doublePredicate("math.isNaN", Number.isNaN)),
  g("math.isInf", 1, doublePredicate("math.isInf", (x) => x === Infinity || x === -Infinity)),
  g("math.isFinite", 1, doublePredicate("math.isFinite", Number.isFinite)),
  g("math.bitAnd", 2, bitwise("math.bitAnd", (a, b) => a & b)),
  g("math.bitOr", 2, bitwise("math.bitOr", (a, b) => a | b)),
  g("math.bitXor", 2, bitwise("math.bitXor", (a, b) => a ^ b)),
  g("math.bitNot", 1, (v: unknown) => {
    if (isInt(v)) return mkInt(toSigned(~big(v as number | bigint)));
    if (v instanceof CelUint) return new CelUint(~v.v & UINT64_MAX);
    throw noOverload("math.bitNot", v);
  }),
  g("math.bitShiftLeft", 2, shift("math.bitShiftLeft", true)),
  g("math.bitShiftRight", 2, shift("math.bitShiftRight", false)),
  g("base64.encode", 1, base64Encode),
  g("base64.decode", 1, base64Decode),
];
