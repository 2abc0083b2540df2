/**
 * The Kubernetes quantity library (type `kubernetes.Quantity`): `quantity("1.5Gi")`, isQuantity,
 * sign, isInteger, asInteger, asApproximateFloat, add, sub, mul, compareTo, isGreaterThan,
 * isLessThan. Values are exact (bigint mantissa × 10^exponent), as resource.Quantity's are;
 * precision finer than 1n is rounded away from zero, as Kubernetes does.
 */
import type { Overload } from "../runtime/functions.js";
import { CelOpaque, INT64_MAX, INT64_MIN, err, isInt, mkDouble, mkInt, noOverload } from "../runtime/values.js";

const decimalSuffixes: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binarySuffixes: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const pattern = /^([+-]?)(\d*)(?:\.(\d*))?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const MAX_EXPONENT = 1000;

export class CelQuantity extends CelOpaque {
  readonly typeName = "kubernetes.Quantity";
  /** value = n × 10^e */
  readonly n: bigint;
  readonly e: number;
  private readonly text: string | undefined;
  constructor(n: bigint, e: number, text?: string) {
    super();
    this.n = n;
    this.e = e;
    this.text = text;
  }
  equals(other: CelOpaque): boolean {
    return other instanceof CelQuantity && compareQuantities(this, other) === 0;
  }
  override toString(): string {
    return this.text ?? canonical(this);
  }
}

function pow10(k: number): bigint {
  return 10n ** BigInt(k);
}

/** Both values scaled to the smaller exponent. */
function aligned(a: CelQuantity, b: CelQuantity): [bigint, bigint, number] {
  const e = Math.min(a.e, b.e);
  return [a.n * pow10(a.e - e), b.n * pow10(b.e - e), e];
}

export function compareQuantities(a: CelQuantity, b: CelQuantity): number {
  const [x, y] = aligned(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Parses a resource.Quantity string; returns undefined when invalid. */
export function parseQuantity(text: string): CelQuantity | undefined {
  const m = pattern.exec(text);
  if (!m) return undefined;
  const [, sign, whole = "", frac = "", suffix = ""] = m;
  if (whole === "" && frac === "") return undefined;
  let n = BigInt(`${whole}${frac}` || "0");
  let e = -frac.length;
  if (suffix in binarySuffixes) n *= 1n << BigInt(binarySuffixes[suffix] as number);
  else if (suffix in decimalSuffixes) e += decimalSuffixes[suffix] as number;
  else {
    const exp = Number(suffix.slice(1));
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > MAX_EXPONENT) return undefined;
    e += exp;
  }
  if (e < -9) {
    // round away from zero to nano precision
    const d = pow10(-9 - e);
    n = n % d === 0n ? n / d : n / d + 1n;
    e = -9;
  }
  return new CelQuantity(sign === "-" ? -n : n, e, text);
}

function canonical(q: CelQuantity): string {
  let { n, e } = q;
  if (n === 0n) return "0";
  while (n % 10n === 0n) {
    n /= 10n;
    e++;
  }
  const suffixes: [number, string][] = [[18, "E"], [15, "P"], [12, "T"], [9, "G"], [6, "M"], [3, "k"], [0, ""], [-3, "m"], [-6, "u"], [-9, "n"]];
  for (const [exp, s] of suffixes) if (e >= exp) return `${n * pow10(e - exp)}${s}`;
  return `${n}e${e}`;
}

function asInt64(q: CelQuantity): bigint | undefined {
  let v: bigint;
  if (q.e >= 0) v = q.n * pow10(q.e);
  else {
    const d = pow10(-q.e);
    if (q.n % d !== 0n) return undefined;
    v = q.n / d;
  }
  return v > INT64_MAX || v < INT64_MIN ? undefined : v;
}

function quantityArg(fn: string, v: unknown): CelQuantity {
  if (v instanceof CelQuantity) return v;
  if (isInt(v)) return new CelQuantity(BigInt(v as number | bigint), 0);
  throw noOverload(fn, v);
}

function onlyQuantity(fn: string, v: unknown): CelQuantity {
  if (v instanceof CelQuantity) return v;
  throw noOverload(fn, v);
}

function signOf(q: CelQuantity): number {
  return q.n > 0n ? 1 : q.n < 0n ? -1 : 0;
}

function method(name: string, arity: number, f: (q: CelQuantity, arg: unknown) => unknown): Overload {
  return { name, receiver: true, arity, accepts: (a) => a[0] instanceof CelQuantity, impl: (q, arg) => f(q as CelQuantity, arg) };
}

function combine(a: CelQuantity, b: CelQuantity, negate: boolean): CelQuantity {
  const [x, y, e] = aligned(a, b);
  return new CelQuantity(negate ? x - y : x + y, e);
}

export const quantityOverloads: readonly Overload[] = [
  {
    name: "quantity", receiver: false, arity: 1,
    impl: (s) => {
      if (typeof s !== "string") throw noOverload("quantity", s);
      const q = parseQuantity(s);
      if (!q) throw err("invalid_argument", `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': '${s}'`);
      return q;
    },
  },
  {
    name: "isQuantity", receiver: false, arity: 1,
    impl: (s) => {
      if (typeof s !== "string") throw noOverload("isQuantity", s);
      return parseQuantity(s) !== undefined;
    },
  },
  { name: "sign", receiver: false, arity: 1, accepts: (a) => a[0] instanceof CelQuantity, impl: (q) => signOf(q as CelQuantity) },
  method("sign", 0, signOf),
  method("isInteger", 0, (q) => asInt64(q) !== undefined),
  method("asInteger", 0, (q) => {
    const v = asInt64(q);
    if (v === undefined) throw err("invalid_argument", "cannot convert value to integer");
    return mkInt(v);
  }),
  method("asApproximateFloat", 0, (q) => mkDouble(Number.parseFloat(`${q.n}e${q.e}`))),
  method("add", 1, (q, o) => combine(q, quantityArg("add", o), false)),
  method("sub", 1, (q, o) => combine(q, quantityArg("sub", o), true)),
  method("mul", 1, (q, o) => {
    if (!isInt(o)) throw noOverload("mul", q, o);
    return new CelQuantity(q.n * BigInt(o as number | bigint), q.e);
  }),
  method("compareTo", 1, (q, o) => compareQuantities(q, onlyQuantity("compareTo", o))),
  method("isGreaterThan", 1, (q, o) => compareQuantities(q, onlyQuantity("isGreaterThan", o)) > 0),
  method("isLessThan", 1, (q, o) => compareQuantities(q, onlyQuantity("isLessThan", o)) < 0),
];
