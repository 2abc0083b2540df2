/**
 * CEL arithmetic: int (64-bit, overflow is an error), uint (64-bit unsigned), double (IEEE), no
 * implicit conversion between them; `+` also concatenates strings, bytes and lists and adds
 * durations to timestamps. These are the general paths; the code generator inlines the common
 * number and string cases.
 */
import { chargeSize } from "./cost.js";
import { asTimestamp } from "./equality.js";
import { addDurations, addTimestampDuration, subTimestamps } from "./time.js";
import {
  CelDuration, CelUint, INT64_MIN, big, dbl, err, isDouble, isInt, mkDouble, mkInt, mkUint, noOverload,
} from "./values.js";

export function add(a: unknown, b: unknown): unknown {
  if (typeof a === "number" && typeof b === "number" && Number.isSafeInteger(a) && Number.isSafeInteger(b)) {
    const r = a + b;
    return Number.isSafeInteger(r) ? r : mkInt(BigInt(a) + BigInt(b));
  }
  if (typeof a === "string" && typeof b === "string") {
    chargeSize(a.length + b.length);
    return a + b;
  }
  if (isInt(a) && isInt(b)) return mkInt(big(a) + big(b));
  if (isDouble(a) && isDouble(b)) return mkDouble(dbl(a) + dbl(b));
  if (a instanceof CelUint && b instanceof CelUint) return mkUint(a.v + b.v);
  if (Array.isArray(a) && Array.isArray(b)) {
    chargeSize(a.length + b.length);
    return a.length === 0 ? b : b.length === 0 ? a : a.concat(b);
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    chargeSize(a.length + b.length);
    const out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }
  if (a instanceof CelDuration) {
    if (b instanceof CelDuration) return addDurations(a, b, false);
    const tb = asTimestamp(b);
    if (tb) return addTimestampDuration(tb, a, false);
  }
  const ta = asTimestamp(a);
  if (ta && b instanceof CelDuration) return addTimestampDuration(ta, b, false);
  throw noOverload("_+_", a, b);
}

export function sub(a: unknown, b: unknown): unknown {
  if (typeof a === "number" && typeof b === "number" && Number.isSafeInteger(a) && Number.isSafeInteger(b)) {
    const r = a - b;
    return Number.isSafeInteger(r) ? r : mkInt(BigInt(a) - BigInt(b));
  }
  if (isInt(a) && isInt(b)) return mkInt(big(a) - big(b));
  if (isDouble(a) && isDouble(b)) return mkDouble(dbl(a) - dbl(b));
  if (a instanceof CelUint && b instanceof CelUint) return mkUint(a.v - b.v);
  if (a instanceof CelDuration && b instanceof CelDuration) return addDurations(a, b, true);
  const ta = asTimestamp(a);
  if (ta) {
    if (b instanceof CelDuration) return addTimestampDuration(ta, b, true);
    const tb = asTimestamp(b);
    if (tb) return subTimestamps(ta, tb);
  }
  throw noOverload("_-_", a, b);
}

export function mul(a: unknown, b: unknown): unknown {
  if (typeof a === "number" && typeof b === "number" && Number.isSafeInteger(a) && Number.isSafeInteger(b)) {
    const r = a * b;
    return Number.isSafeInteger(r) ? r + 0 : mkInt(BigInt(a) * BigInt(b));
  }
  if (isInt(a) && isInt(b)) return mkInt(big(a) * big(b));
  if (isDouble(a) && isDouble(b)) return mkDouble(dbl(a) * dbl(b));
  if (a instanceof CelUint && b instanceof CelUint) return mkUint(a.v * b.v);
  throw noOverload("_*_", a, b);
}

export function div(a: unknown, b: unknown): unknown {
  if (isInt(a) && isInt(b)) {
    const y = big(b);
    if (y === 0n) throw err("division_by_zero", "division by zero");
    return mkInt(big(a) / y);
  }
  if (isDouble(a) && isDouble(b)) return mkDouble(dbl(a) / dbl(b));
  if (a instanceof CelUint && b instanceof CelUint) {
    if (b.v === 0n) throw err("division_by_zero", "division by zero");
    return new CelUint(a.v / b.v);
  }
  throw noOverload("_/_", a, b);
}

export function mod(a: unknown, b: unknown): unknown {
  if (typeof a === "number" && typeof b === "number" && Number.isSafeInteger(a) && Number.isSafeInteger(b)) {
    if (b === 0) throw err("division_by_zero", "modulus by zero");
    return (a % b) + 0;
  }
  if (isInt(a) && isInt(b)) {
    const y = big(b);
    if (y === 0n) throw err("division_by_zero", "modulus by zero");
    const x = big(a);
    // As cel-go and cel-cpp: the quotient of this pair overflows, so the modulus is an error too.
    if (x === INT64_MIN && y === -1n) throw err("overflow", "int overflow (modulus of the int64 minimum by -1)");
    return mkInt(x % y);
  }
  if (a instanceof CelUint && b instanceof CelUint) {
    if (b.v === 0n) throw err("division_by_zero", "modulus by zero");
    return new CelUint(a.v % b.v);
  }
  throw noOverload("_%_", a, b);
}

export function neg(a: unknown): unknown {
  if (typeof a === "number" && Number.isSafeInteger(a)) return a === 0 ? 0 : -a;
  if (typeof a === "bigint") return mkInt(-a);
  if (isDouble(a)) return mkDouble(-dbl(a));
  throw noOverload("-_", a);
}

export function not(a: unknown): boolean {
  if (typeof a === "boolean") return !a;
  throw noOverload("!_", a);
}
