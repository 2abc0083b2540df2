/**
 * Runtime representation of CEL values (the value model of api.ts, made exact):
 *
 * | CEL type  | JS representation                                                              |
 * |-----------|--------------------------------------------------------------------------------|
 * | int       | a safe-integer `number` (-0 reads as 0), or a `bigint` (any bigint is read as int; the runtime produces one only outside ±(2^53-1)) |
 * | double    | a `number` that is not a safe integer (fractions, NaN, ±Inf, huge), or `CelDouble` (boxed integral double, incl. -0) |
 * | uint      | `CelUint`                                                                      |
 * | bool, string, null | `boolean`, `string`, `null`                                          |
 * | bytes     | `Uint8Array`                                                                   |
 * | list      | `Array` (never mutated)                                                        |
 * | map       | plain object (string keys) or `CelMap` (any key type)                          |
 * | timestamp | `CelTimestamp` (a JS `Date` is read as a timestamp)                            |
 * | duration  | `CelDuration`                                                                  |
 * | type, optional | `CelType`, `CelOptional`                                                  |
 *
 * Errors are thrown as `CelErr` (not an Error subclass: no stack capture, cheap to throw) and are
 * absorbed by `&&`, `||`, `?:` and the comprehension macros as the spec says. `CostExceeded` is
 * never absorbed.
 */
import type { CelErrorKind } from "../api.js";

export class CelErr {
  readonly kind: CelErrorKind;
  readonly message: string;
  constructor(kind: CelErrorKind, message: string) {
    this.kind = kind;
    this.message = message;
  }
}

/** Thrown when the evaluation budget runs out. Not a CelErr: `false && <cost exceeded>` still fails. */
export class CostExceeded {
  readonly kind = "cost_exceeded" as const;
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

export function err(kind: CelErrorKind, message: string): CelErr {
  return new CelErr(kind, message);
}

export class CelUint {
  readonly v: bigint;
  constructor(v: bigint) {
    this.v = v;
  }
}

/** An integral double (e.g. `2.0`, `-0.0`): boxed so it stays distinguishable from int. */
export class CelDouble {
  readonly v: number;
  constructor(v: number) {
    this.v = v;
  }
}

export class CelType {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

export class CelOptional {
  readonly has: boolean;
  readonly v: unknown;
  constructor(has: boolean, v: unknown) {
    this.has = has;
    this.v = v;
  }
}

export const NONE = new CelOptional(false, undefined);

/** Seconds since the Unix epoch + nanoseconds in [0, 1e9). */
export class CelTimestamp {
  readonly s: number;
  readonly n: number;
  constructor(s: number, n: number) {
    this.s = s;
    this.n = n;
  }
}

/** Seconds + nanoseconds, both with the same sign, |n| < 1e9. */
export class CelDuration {
  readonly s: number;
  readonly n: number;
  constructor(s: number, n: number) {
    this.s = s;
    this.n = n;
  }
}

/**
 * A map with arbitrary CEL keys (int, uint, bool, string). Keys are normalised so that numeric keys
 * compare by value across int / uint / double: `{1: 'a'}[1u]` finds the entry.
 */
export class CelMap {
  readonly entries: Map<string, readonly [unknown, unknown]>;
  constructor(entries: Map<string, readonly [unknown, unknown]>) {
    this.entries = entries;
  }
}

/** Base class of the extension value types (ip, cidr, semver, quantity, url...). */
export abstract class CelOpaque {
  abstract readonly typeName: string;
  /** CEL `==` on two values of the same opaque type. */
  abstract equals(other: CelOpaque): boolean;
}

export const T = {
  int: new CelType("int"),
  uint: new CelType("uint"),
  double: new CelType("double"),
  bool: new CelType("bool"),
  string: new CelType("string"),
  bytes: new CelType("bytes"),
  list: new CelType("list"),
  map: new CelType("map"),
  null: new CelType("null_type"),
  type: new CelType("type"),
  timestamp: new CelType("google.protobuf.Timestamp"),
  duration: new CelType("google.protobuf.Duration"),
  optional: new CelType("optional_type"),
} as const;

const opaqueTypes = new Map<string, CelType>();

/** The CelType of an opaque extension type, created once per name. */
export function opaqueType(name: string): CelType {
  let t = opaqueTypes.get(name);
  if (!t) {
    t = new CelType(name);
    opaqueTypes.set(name, t);
  }
  return t;
}

/** Type denotations usable as identifiers (`type(x) == int`). */
export const typeIdentifiers: ReadonlyMap<string, CelType> = new Map<string, CelType>([
  ["int", T.int], ["uint", T.uint], ["double", T.double], ["bool", T.bool], ["string", T.string],
  ["bytes", T.bytes], ["list", T.list], ["map", T.map], ["null_type", T.null], ["type", T.type],
  ["google.protobuf.Timestamp", T.timestamp], ["google.protobuf.Duration", T.duration],
  ["optional_type", T.optional],
]);

export function isPlainObject(v: object): v is Record<string, unknown> {
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === null;
}

/** The CEL type of a runtime value; throws CelErr for values outside the value model. */
export function typeOf(v: unknown): CelType {
  switch (typeof v) {
    case "boolean":
      return T.bool;
    case "string":
      return T.string;
    case "number":
      return Number.isSafeInteger(v) ? T.int : T.double;
    case "bigint":
      return T.int;
    case "object":
      if (v === null) return T.null;
      if (Array.isArray(v)) return T.list;
      if (v instanceof CelDouble) return T.double;
      if (v instanceof CelUint) return T.uint;
      if (v instanceof Uint8Array) return T.bytes;
      if (v instanceof CelMap) return T.map;
      if (v instanceof CelTimestamp || v instanceof Date) return T.timestamp;
      if (v instanceof CelDuration) return T.duration;
      if (v instanceof CelType) return T.type;
      if (v instanceof CelOptional) return T.optional;
      if (v instanceof CelOpaque) return opaqueType(v.typeName);
      if (isPlainObject(v)) return T.map;
      throw err("invalid_argument", `unsupported value of class ${(v as object).constructor?.name ?? "unknown"} (use plain objects, arrays and primitives)`);
    case "undefined":
      throw err("invalid_argument", "undefined is not a CEL value");
    default:
      throw err("invalid_argument", `unsupported value of type ${typeof v}`);
  }
}

export function noOverload(fn: string, ...args: unknown[]): CelErr {
  const types = args.map((a) => {
    try {
      return typeOf(a).name;
    } catch {
      return typeof a;
    }
  });
  return err("no_matching_overload", `no matching overload for '${fn}' applied to (${types.join(", ")})`);
}

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;

/** An int from a bigint, range-checked; a number when it is a safe integer (the canonical form). */
export function mkInt(b: bigint): number | bigint {
  if (b > INT64_MAX || b < INT64_MIN) throw err("overflow", "int overflow (result outside the 64-bit range)");
  return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
}

export function mkUint(b: bigint): CelUint {
  if (b < 0n || b > UINT64_MAX) throw err("overflow", "uint overflow (result outside 0..2^64-1)");
  return new CelUint(b);
}

/** A double from a JS number, boxed when it would otherwise read as an int. */
export function mkDouble(x: number): number | CelDouble {
  return Number.isSafeInteger(x) || Object.is(x, -0) ? new CelDouble(x) : x;
}

export function isInt(v: unknown): v is number | bigint {
  return (typeof v === "number" && Number.isSafeInteger(v)) || typeof v === "bigint";
}

export function isDouble(v: unknown): boolean {
  return (typeof v === "number" && !Number.isSafeInteger(v)) || v instanceof CelDouble;
}

/** The numeric value of a double (number or CelDouble). */
export function dbl(v: unknown): number {
  return v instanceof CelDouble ? v.v : (v as number);
}

/** An int as bigint (for exact arithmetic). */
export function big(v: number | bigint): bigint {
  return typeof v === "bigint" ? v : BigInt(v);
}

export function mkOptional(v: unknown): CelOptional {
  return new CelOptional(true, v);
}
