/**
 * Kyverno condition operators (deny.conditions, preconditions): Equals, NotEquals, AnyIn, AllIn,
 * AnyNotIn, AllNotIn, GreaterThan(OrEquals), LessThan(OrEquals), Duration*, and the legacy
 * Equal/NotEqual/In/NotIn. Operands are already substituted. Never throws.
 */
import { parseDuration, parseQuantity } from "./units.js";
import { semverSatisfies } from "./jmespath-functions.js";
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

function toNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) return Number(value);
  return undefined;
}

function bothDurations(key: unknown, value: unknown): [number, number] | undefined {
  if (typeof key !== "string" || typeof value !== "string") return undefined;
  const k = parseDuration(key), v = parseDuration(value);
  return k === undefined || v === undefined ? undefined : [k, v];
}

function bothQuantities(key: unknown, value: unknown): [number, number] | undefined {
  const k = typeof key === "string" ? parseQuantity(key) : typeof key === "number" ? key : undefined;
  const v = typeof value === "string" ? parseQuantity(value) : typeof value === "number" ? value : undefined;
  return k === undefined || v === undefined ? undefined : [k, v];
}

/** Kyverno's Equals. */
export function conditionEquals(key: unknown, value: unknown): boolean {
  if (typeof key === "boolean") return value === key;
  if (typeof key === "number") {
    const v = typeof value === "string" ? parseQuantity(value) ?? toNumber(value) : toNumber(value);
    return v !== undefined && v === key;
  }
  if (typeof key === "string") {
    const d = bothDurations(key, value);
    if (d) return d[0] === d[1];
    const q = bothQuantities(key, value);
    if (q && typeof value === "string") return q[0] === q[1];
    if (typeof value === "string") return wildcardMatch(value, key);
    return false;
  }
  if (key !== null && typeof key === "object") return deepEqual(key, value);
  return key === null && value === null;
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

/** No closure per call: membership runs for every condition of every rule on the admission path. */
function membership(key: unknown, value: unknown, mode: "any" | "all", negate: boolean): boolean {
  if (!Array.isArray(key)) return memberTest(text(key), value, negate);
  for (const item of key) {
    const holds = memberTest(text(item), value, negate);
    if (mode === "any" ? holds : !holds) return holds;
  }
  return mode === "all";
}

function compareNumeric(key: unknown, value: unknown, op: ">" | ">=" | "<" | "<="): boolean {
  const pick = (): [number, number] | undefined => {
    const d = bothDurations(key, value);
    if (d) return d;
    const q = bothQuantities(key, value);
    if (q) return q;
    const k = toNumber(key), v = toNumber(value);
    return k === undefined || v === undefined ? undefined : [k, v];
  };
  const pair = pick();
  if (!pair) {
    if (typeof key === "string" && typeof value === "string" && /^v?\d+\.\d+\.\d+/.test(key) && /^v?\d+\.\d+\.\d+/.test(value)) {
      return semverSatisfies(key, `${op}${value}`);
    }
    return false;
  }
  const [a, b] = pair;
  return op === ">" ? a > b : op === ">=" ? a >= b : op === "<" ? a < b : a <= b;
}

function durationSeconds(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string") return parseDuration(value);
  return undefined;
}

function compareDuration(key: unknown, value: unknown, op: ">" | ">=" | "<" | "<="): boolean {
  const a = durationSeconds(key), b = durationSeconds(value);
  if (a === undefined || b === undefined) return false;
  return op === ">" ? a > b : op === ">=" ? a >= b : op === "<" ? a < b : a <= b;
}

/** Evaluates one condition. Unknown operators are rejected at load time, so here they are false. */
export function evaluateOperator(operator: string, key: unknown, value: unknown): boolean {
  switch (operator.toLowerCase()) {
    case "equals": case "equal": return conditionEquals(key, value);
    case "notequals": case "notequal": return !conditionEquals(key, value);
    case "in": return Array.isArray(key) ? membership(key, value, "all", false) : membership(key, value, "any", false);
    case "anyin": return membership(key, value, "any", false);
    case "allin": return membership(key, value, "all", false);
    case "notin": return Array.isArray(key) ? !membership(key, value, "all", false) : membership(key, value, "any", true);
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
