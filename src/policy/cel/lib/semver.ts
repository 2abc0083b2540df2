/**
 * The Kubernetes semver library (type `kubernetes.Semver`): `semver(s)`, `semver(s, normalize)`,
 * isSemver, major, minor, patch, compareTo, isGreaterThan, isLessThan. Strict SemVer 2.0.0
 * parsing; `normalize` strips a leading "v", fills missing minor / patch and drops leading zeros.
 */
import type { Overload } from "../runtime/functions.js";
import { CelOpaque, UINT64_MAX, err, mkInt, noOverload } from "../runtime/values.js";

export class CelSemver extends CelOpaque {
  readonly typeName = "kubernetes.Semver";
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  readonly pre: readonly string[];
  readonly build: readonly string[];
  constructor(major: bigint, minor: bigint, patch: bigint, pre: readonly string[], build: readonly string[]) {
    super();
    this.major = major;
    this.minor = minor;
    this.patch = patch;
    this.pre = pre;
    this.build = build;
  }
  equals(other: CelOpaque): boolean {
    return other instanceof CelSemver && compareSemver(this, other) === 0;
  }
  override toString(): string {
    let s = `${this.major}.${this.minor}.${this.patch}`;
    if (this.pre.length > 0) s += `-${this.pre.join(".")}`;
    if (this.build.length > 0) s += `+${this.build.join(".")}`;
    return s;
  }
}

const numeric = /^(0|[1-9]\d*)$/;
const identifier = /^[0-9A-Za-z-]+$/;

/** Digits without leading zeros, at most 2^64-1 (blang/semver reads numbers with ParseUint(s, 10, 64)). */
function isUint64(digits: string): boolean {
  // 2^64-1 has 20 digits: a longer run is out of range without reading it as a number.
  return numeric.test(digits) && (digits.length < 20 || (digits.length === 20 && BigInt(digits) <= UINT64_MAX));
}

/** Strict SemVer 2.0.0; returns an error message when invalid. */
export function parseSemver(text: string): CelSemver | string {
  let rest = text;
  let build: string[] = [];
  const plus = rest.indexOf("+");
  if (plus >= 0) {
    build = rest.slice(plus + 1).split(".");
    rest = rest.slice(0, plus);
    if (build.some((b) => !identifier.test(b))) return `invalid build metadata in '${text}'`;
  }
  let pre: string[] = [];
  const dash = rest.indexOf("-");
  if (dash >= 0) {
    pre = rest.slice(dash + 1).split(".");
    rest = rest.slice(0, dash);
    if (pre.some((p) => !identifier.test(p) || (/^\d+$/.test(p) && !isUint64(p)))) return `invalid prerelease in '${text}'`;
  }
  const parts = rest.split(".");
  if (parts.length !== 3) return `'${text}' is not MAJOR.MINOR.PATCH`;
  if (parts.some((p) => !numeric.test(p))) return `invalid version number in '${text}' (digits without leading zeros)`;
  if (parts.some((p) => !isUint64(p))) return `invalid version number in '${text}' (at most 18446744073709551615)`;
  const [major, minor, patch] = parts.map((p) => BigInt(p)) as [bigint, bigint, bigint];
  return new CelSemver(major, minor, patch, pre, build);
}

/** Kubernetes' normalizeAndParse. */
function normalizeAndParse(text: string): CelSemver | string {
  const s = text.startsWith("v") ? text.slice(1) : text;
  const parts: string[] = [];
  let rest = s;
  for (let i = 0; i < 2 && rest.includes("."); i++) {
    const dot = rest.indexOf(".");
    parts.push(rest.slice(0, dot));
    rest = rest.slice(dot + 1);
  }
  parts.push(rest);
  const trimmed = parts.map((p) => {
    if (p.length <= 1) return p;
    const t = p.replace(/^0+/, "");
    return t === "" || !/^\d/.test(t) ? `0${t}` : t;
  });
  if (trimmed.length < 3) {
    if (/[+-]/.test(trimmed[trimmed.length - 1] as string)) return "short version cannot contain PreRelease/Build meta data";
    while (trimmed.length < 3) trimmed.push("0");
  }
  return parseSemver(trimmed.join("."));
}

function compareIdentifiers(a: string, b: string): number {
  const an = numeric.test(a);
  const bn = numeric.test(b);
  if (an && bn) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareSemver(a: CelSemver, b: CelSemver): number {
  for (const k of ["major", "minor", "patch"] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  if (a.pre.length === 0 || b.pre.length === 0) return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const c = compareIdentifiers(a.pre[i] as string, b.pre[i] as string);
    if (c !== 0) return c;
  }
  return a.pre.length === b.pre.length ? 0 : a.pre.length < b.pre.length ? -1 : 1;
}

function parseArgs(fn: string, s: unknown, normalize: unknown): CelSemver | string {
  if (typeof s !== "string" || (normalize !== undefined && typeof normalize !== "boolean")) throw noOverload(fn, s, ...(normalize === undefined ? [] : [normalize]));
  return normalize === true ? normalizeAndParse(s) : parseSemver(s);
}

function toSemver(s: unknown, normalize?: unknown): CelSemver {
  const v = parseArgs("semver", s, normalize);
  if (typeof v === "string") throw err("invalid_argument", v);
  return v;
}

function isSemver(s: unknown, normalize?: unknown): boolean {
  return typeof parseArgs("isSemver", s, normalize) !== "string";
}

function other(fn: string, v: unknown): CelSemver {
  if (v instanceof CelSemver) return v;
  throw noOverload(fn, v);
}

function method(name: string, arity: number, f: (v: CelSemver, arg: unknown) => unknown): Overload {
  return { name, receiver: true, arity, accepts: (a) => a[0] instanceof CelSemver, impl: (v, arg) => f(v as CelSemver, arg) };
}

export const semverOverloads: readonly Overload[] = [
  { name: "semver", receiver: false, arity: 1, impl: (s) => toSemver(s) },
  { name: "semver", receiver: false, arity: 2, impl: (s, n) => toSemver(s, n) },
  { name: "isSemver", receiver: false, arity: 1, impl: (s) => isSemver(s) },
  { name: "isSemver", receiver: false, arity: 2, impl: (s, n) => isSemver(s, n) },
  method("major", 0, (v) => mkInt(v.major)),
  method("minor", 0, (v) => mkInt(v.minor)),
  method("patch", 0, (v) => mkInt(v.patch)),
  method("compareTo", 1, (v, o) => compareSemver(v, other("compareTo", o))),
  method("isGreaterThan", 1, (v, o) => compareSemver(v, other("isGreaterThan", o)) > 0),
  method("isLessThan", 1, (v, o) => compareSemver(v, other("isLessThan", o)) < 0),
];
