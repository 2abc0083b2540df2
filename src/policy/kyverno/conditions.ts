/**
 * Kyverno condition operators (deny.conditions, preconditions): Equals, NotEquals, AnyIn, AllIn,
 * AnyNotIn, AllNotIn, GreaterThan(OrEquals), LessThan(OrEquals), Duration*, and the legacy
 * Equal/NotEqual/In/NotIn. Operands are already substituted. Never throws.
 */
import { parseDuration, parseQuantity } from "./units.js";
import { parseSemver, satisfiesComparator } from "./semver.js";
import { wildcardMatch } from "./wildcard.js";

export const conditionOperators = [
  "equals", "equal", "notequals", "notequal", "in", "notin", "anyin", "allin", "anynotin", "allnotin",
  "greaterthan", "greaterthanorequals", "lessthan", "lessthanorequals",
  "durationgreaterthan", "durationgreaterthanorequals", "durationlessthan", "durationlessthanorequals",
] as const;

/** True when Vigil knows this operator (case-insensitive, as Kyverno accepts). */
export function isKnownOperator(operator: string): boolean {
  return (conditionOperators as readonly string[]).includes(operator.toLowerCase());
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

const hexFloat = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;

/**
 * Go's strconv.ParseFloat on a whole string: decimal with an optional exponent, a hex float with its
 * mandatory p exponent (`0x1p4`), Inf, Infinity, NaN; no spaces, no `0x10` or `0b1` integers, no
 * quantity suffix. A decimal out of the double range is Go's ErrRange: undefined. Digit separators
 * (`0x_1p4`) are not read.
 */
export function parseGoFloat(value: string): number | undefined {
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  const hex = hexFloat.exec(value);
  if (hex) {
    const whole = hex[2] ?? "", fraction = hex[3] ?? "";
    if (whole === "" && fraction === "") return undefined;
    const mantissa = parseInt(`${whole}${fraction}` || "0", 16) / 16 ** fraction.length;
    const n = mantissa * 2 ** Number(hex[4]);
    return !Number.isFinite(n) ? undefined : hex[1] === "-" ? -n : n;
  }
  if (/^[+-]?inf(?:inity)?$/i.test(value)) return value.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(value)) return Number.NaN;
  return undefined;
}

/** A Go duration string; Kyverno's operators do not count a bare "0" as one. */
function durationOf(value: unknown): number | undefined {
  return typeof value === "string" && value !== "0" ? parseDuration(value) : undefined;
}

/** Seconds of a number as Kyverno converts it: time.Duration(x) * time.Second, which drops the fraction. */
function wholeSeconds(value: number): number {
  return Math.trunc(value);
}

/**
 * Kyverno's parseDuration(key, value): when one side is a Go duration string and the other is one
 * too or a number (seconds), both as seconds; otherwise undefined.
 */
function durationPair(key: unknown, value: unknown): [number, number] | undefined {
  let k = durationOf(key), v = durationOf(value);
  if (k === undefined && v === undefined) return undefined;
  if (k === undefined) {
    if (typeof key !== "number") return undefined;
    k = wholeSeconds(key);
  }
  if (v === undefined) {
    if (typeof value !== "number") return undefined;
    v = wholeSeconds(value);
  }
  return [k, v];
}

/** Both sides strings that are Kubernetes quantities (Kyverno parses only strings as quantities). */
function quantityPair(key: unknown, value: unknown): [number, number] | undefined {
  if (typeof key !== "string" || typeof value !== "string") return undefined;
  const k = parseQuantity(key), v = parseQuantity(value);
  return k === undefined || v === undefined ? undefined : [k, v];
}

/** Kyverno's Equals. */
export function conditionEquals(key: unknown, value: unknown): boolean {
  if (typeof key === "boolean") return value === key;
  if (typeof key === "number") {
    if (typeof value === "number") return value === key;
    return typeof value === "string" && parseGoFloat(value) === key;
  }
  if (typeof key === "string") {
    const d = durationPair(key, value);
    if (d) return d[0] === d[1];
    if (typeof value !== "string") return false;
    const keyQuantity = parseQuantity(key);
    if (keyQuantity !== undefined) return parseQuantity(value) === keyQuantity;
    return wildcardMatch(value, key);
  }
  if (key !== null && typeof key === "object") return deepEqual(key, value);
  // operator/equal.go: a key of another type (nil) is "Unsupported type", false whatever the value.
  return false;
}

/**
 * Kyverno's NotEquals (operator/notequal.go), which is not !Equals: a nil key is false, and so is a
 * quantity key against a string that is no quantity ("Failed to parse value type").
 */
export function conditionNotEquals(key: unknown, value: unknown): boolean {
  if (key === null || key === undefined) return false;
  if (typeof key === "string" && durationPair(key, value) === undefined && typeof value === "string" && parseQuantity(key) !== undefined && parseQuantity(value) === undefined) return false;
  return !conditionEquals(key, value);
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "<nil>";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** `keyExistsInArray`: is the scalar key among the values (wildcards either way; a string value may be a JSON array). */
function keyIn(key: string, value: unknown): boolean {
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = text(v);
      if (wildcardMatch(t, key) || wildcardMatch(key, t)) return true;
    }
    return false;
  }
  if (typeof value === "string") {
    if (wildcardMatch(value, key)) return true;
    try {
      const parsed: unknown = JSON.parse(value);
      return Array.isArray(parsed) && parsed.some((v) => text(v) === key);
    } catch {
      return false;
    }
  }
  return false;
}

function toNumber(value: string): number | undefined {
  return value.trim() !== "" && !Number.isNaN(Number(value)) ? Number(value) : undefined;
}

function inRange(key: string, value: unknown): boolean | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^(-?\d+(?:\.\d+)?)(!?)-(-?\d+(?:\.\d+)?)$/.exec(value.trim());
  const k = toNumber(key);
  if (!m || k === undefined) return undefined;
  const inside = k >= Number(m[1]) && k <= Number(m[3]);
  return m[2] === "!" ? !inside : inside;
}

function memberTest(k: string, value: unknown, negate: boolean): boolean {
  const found = inRange(k, value) ?? keyIn(k, value);
  return negate ? !found : found;
}

/**
 * The key and value types Kyverno's In-family handlers take (a string, number, boolean or list key;
 * a string or list value). Any other (nil, a map) is "Unsupported type" / "expected type []string",
 * false for every In-family operator, the NotIn ones included.
 */
function membershipTypes(key: unknown, value: unknown): boolean {
  if (key === null || key === undefined || (typeof key === "object" && !Array.isArray(key))) return false;
  return typeof value === "string" || Array.isArray(value);
}

/**
 * A string value as a list key's set operators read it (anySetExistsInArray / allSetExistsInArray):
 * a JSON list of strings, or else the string as a one-item list; undefined for other JSON.
 */
function stringValueItems(value: string): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) && parsed.every((v) => typeof v === "string") ? parsed : undefined;
  } catch {
    return [value];
  }
}

/** No closure per call: membership runs for every condition of every rule on the admission path. */
function membership(key: unknown, value: unknown, mode: "any" | "all", negate: boolean): boolean {
  if (!membershipTypes(key, value)) return false;
  if (!Array.isArray(key)) return memberTest(text(key), value, negate);
  // A list key against a string that is no range: its items are matched with wildcards either way.
  if (typeof value === "string" && inRange("0", value) === undefined && !(key.length === 1 && text(key[0]) === value)) {
    const items = stringValueItems(value);
    if (items === undefined) return false;
    value = items;
  }
  for (const item of key) {
    const holds = memberTest(text(item), value, negate);
    if (mode === "any" ? holds : !holds) return holds;
  }
  return mode === "all";
}

/** Go's json.Unmarshal into []string: a JSON list of strings (null is an empty list), else undefined. */
function jsonStringList(value: string): readonly string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed === null) return [];
    return Array.isArray(parsed) && parsed.every((v): v is string => typeof v === "string") ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The deprecated In / NotIn (operator/in.go, notin.go). A string or number key: keyExistsInArray
 * (a list value with wildcards either way; a string value as a wildcard pattern, else as a JSON list of
 * strings compared exactly, else "expected type []string"). A list key: setExistsInArray, an exact set
 * comparison (no wildcards) with a list of strings, with a string equal to its one item (true for
 * NotIn as well), or with a JSON list of strings. Ranges are AnyIn's, not theirs. Any other key or
 * value, and a list key with an item that is no string (a panic in Go), is false for both.
 */
function legacyMembership(key: unknown, value: unknown, negate: boolean): boolean {
  if (typeof key === "string" || typeof key === "number") {
    const k = text(key);
    if (Array.isArray(value)) {
      const found = value.some((v) => wildcardMatch(text(v), k) || wildcardMatch(k, text(v)));
      return negate ? !found : found;
    }
    if (typeof value !== "string") return false;
    if (wildcardMatch(value, k)) return !negate;
    const items = jsonStringList(value);
    if (items === undefined) return false;
    return items.includes(k) !== negate;
  }
  if (!Array.isArray(key) || !key.every((k): k is string => typeof k === "string")) return false;
  let items: readonly string[] | undefined;
  if (Array.isArray(value)) items = value.every((v): v is string => typeof v === "string") ? value : undefined;
  else if (typeof value === "string") {
    if (key.length === 1 && key[0] === value) return true;
    items = jsonStringList(value);
  }
  if (items === undefined) return false;
  const set = new Set(items);
  return negate ? key.some((k) => !set.has(k)) : key.every((k) => set.has(k));
}

type Comparator = ">" | ">=" | "<" | "<=";

function holds(a: number, b: number, op: Comparator): boolean {
  return op === ">" ? a > b : op === ">=" ? a >= b : op === "<" ? a < b : a <= b;
}

/** Kyverno's numeric operators with a number key: a number, a duration or a float string on the other side. */
function compareNumberKey(key: number, value: unknown, op: Comparator): boolean {
  if (typeof value === "number") return holds(key, value, op);
  if (typeof value !== "string") return false;
  const d = durationPair(key, value);
  if (d) return holds(d[0], d[1], op);
  const v = parseGoFloat(value);
  return v !== undefined && holds(key, v, op);
}

/**
 * Kyverno's GreaterThan(OrEquals) / LessThan(OrEquals): durations (either side may be seconds), then
 * quantities (both strings), then a float key, then a semantic version key against a version string.
 */
function compareNumeric(key: unknown, value: unknown, op: Comparator): boolean {
  if (typeof key === "number") return compareNumberKey(key, value, op);
  if (typeof key !== "string") return false;
  const d = durationPair(key, value);
  if (d) return holds(d[0], d[1], op);
  const q = quantityPair(key, value);
  if (q) return holds(q[0], q[1], op);
  const k = parseGoFloat(key);
  if (k !== undefined) return compareNumberKey(k, value, op);
  // A version key (blang/semver Parse: strict, no "v" prefix) against a version string.
  const version = parseSemver(key);
  const target = version && typeof value === "string" ? parseSemver(value) : undefined;
  return version !== undefined && target !== undefined && satisfiesComparator(version, op, target);
}

/** The deprecated Duration* operators: numbers are whole seconds, strings Go durations ("0" included). */
function durationSeconds(value: unknown): number | undefined {
  if (typeof value === "number") return wholeSeconds(value);
  if (typeof value === "string") return parseDuration(value);
  return undefined;
}

function compareDuration(key: unknown, value: unknown, op: Comparator): boolean {
  const a = durationSeconds(key), b = durationSeconds(value);
  if (a === undefined || b === undefined) return false;
  return holds(a, b, op);
}

/** Evaluates one condition. Unknown operators are rejected at load time, so here they are false. */
export function evaluateOperator(operator: string, key: unknown, value: unknown): boolean {
  switch (operator.toLowerCase()) {
    case "equals": case "equal": return conditionEquals(key, value);
    case "notequals": case "notequal": return conditionNotEquals(key, value);
    case "in": return legacyMembership(key, value, false);
    case "anyin": return membership(key, value, "any", false);
    case "allin": return membership(key, value, "all", false);
    case "notin": return legacyMembership(key, value, true);
    case "anynotin": return membership(key, value, "any", true);
    case "allnotin": return membership(key, value, "all", true);
    case "greaterthan": return compareNumeric(key, value, ">");
    case "greaterthanorequals": return compareNumeric(key, value, ">=");
    case "lessthan": return compareNumeric(key, value, "<");
    case "lessthanorequals": return compareNumeric(key, value, "<=");
    case "durationgreaterthan": return compareDuration(key, value, ">");
    case "durationgreaterthanorequals": return compareDuration(key, value, ">=");
    case "durationlessthan": return compareDuration(key, value, "<");
    case "durationlessthanorequals": return compareDuration(key, value, "<=");
    default: return false;
  }
}
