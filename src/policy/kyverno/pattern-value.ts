/**
 * Matching one resource value against one pattern leaf, as Kyverno's validate patterns do:
 * wildcards (`*`, `?`), `|` (or) and `&` (and), operators `>`, `<`, `>=`, `<=`, `!`,
 * ranges `a-b` and `a!-b`, resource quantities and durations. Never throws.
 */
import { parseDuration, parseQuantity } from "./units.js";
import { wildcardMatch } from "./wildcard.js";

type Operator = "=" | "!" | ">" | "<" | ">=" | "<=" | "range" | "!range";

const numberish = String.raw`[-+]?\d+(?:\.\d+)?[a-zA-Zµ]*`;
const rangePattern = new RegExp(`^(${numberish})-(${numberish})$`);
const notRangePattern = new RegExp(`^(${numberish})!-(${numberish})$`);

/** True when a resource value matches a pattern leaf (string, number, boolean or null). */
export function matchValue(value: unknown, pattern: unknown): boolean {
  if (typeof pattern === "boolean") return value === pattern;
  if (typeof pattern === "number") return matchNumberPattern(value, pattern);
  if (pattern === null || pattern === undefined) return matchNilPattern(value);
  if (typeof pattern === "string") return matchStringPatterns(value, pattern);
  return false;
}

function matchNilPattern(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === "number") return value === 0;
  if (typeof value === "string") return value === "";
  if (typeof value === "boolean") return !value;
  return false;
}

function matchNumberPattern(value: unknown, pattern: number): boolean {
  if (typeof value === "number") return value === pattern;
  if (typeof value === "string") {
    if (Number.isInteger(pattern)) return /^[-+]?\d+$/.test(value) && Number(value) === pattern;
    const n = Number(value);
    return value.trim() !== "" && !Number.isNaN(n) && n === pattern;
  }
  return false;
}

/**
 * One comparison of a leaf condition, parsed once: `>=1Gi` → operator `>=`, operand `1Gi`, quantity 2^30.
 * As Kyverno's validateString: compared as durations when the operand and the value both parse as Go
 * durations, else as quantities when both parse as quantities, else as strings (`=` and `!` only).
 */
interface Comparison {
  readonly operator: Exclude<Operator, "range" | "!range">;
  readonly operand: string;
  readonly duration: number | undefined;
  readonly quantity: number | undefined;
}

/** One `&`-part of a leaf: a comparison, or a range `a-b` (`>= a` and `<= b`) / `a!-b` (`< a` or `> b`). */
type Condition =
  | { readonly range: false; readonly comparison: Comparison }
  | { readonly range: true; readonly negated: boolean; readonly low: Comparison; readonly high: Comparison };

/** A pattern leaf string parsed: `|`-alternatives of `&`-conditions. */
type Leaf = readonly (readonly Condition[])[];

const leaves = new Map<string, Leaf>();

/** Parses a pattern leaf string once per distinct string (pattern leaves come from a bounded set of policies). */
function leafOf(pattern: string): Leaf {
  let leaf = leaves.get(pattern);
  if (leaf === undefined) {
    leaf = pattern.split("|").map((alternative) => alternative.trim().split("&").map((condition) => parseCondition(condition.trim())));
    if (leaves.size > 50_000) leaves.clear();
    leaves.set(pattern, leaf);
  }
  return leaf;
}

function comparison(operand: string, operator: Comparison["operator"]): Comparison {
  return { operator, operand, duration: parseDuration(operand), quantity: parseQuantity(operand) };
}

function parseCondition(pattern: string): Condition {
  const operator = operatorOf(pattern);
  if (operator === "range" || operator === "!range") {
    const m = (operator === "range" ? rangePattern : notRangePattern).exec(pattern) as RegExpExecArray;
    const negated = operator === "!range";
    return { range: true, negated, low: comparison(m[1] as string, negated ? "<" : ">="), high: comparison(m[2] as string, negated ? ">" : "<=") };
  }
  return { range: false, comparison: comparison(pattern.slice(operator === "=" ? 0 : operator.length).trim(), operator) };
}

function matchStringPatterns(value: unknown, pattern: string): boolean {
  if (value === pattern) return true;
  for (const alternative of leafOf(pattern)) {
    let all = true;
    for (const condition of alternative) {
      if (!matchCondition(value, condition)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

/** Kyverno's GetOperatorFromStringPattern: a pattern shorter than two characters is always an equality. */
function operatorOf(pattern: string): Operator {
  if (pattern.length < 2) return "=";
  if (pattern.startsWith(">=")) return ">=";
  if (pattern.startsWith("<=")) return "<=";
  if (pattern.startsWith(">")) return ">";
  if (pattern.startsWith("<")) return "<";
  if (pattern.startsWith("!")) return "!";
  if (notRangePattern.test(pattern)) return "!range";
  if (rangePattern.test(pattern)) return "range";
  return "=";
}

function matchCondition(value: unknown, condition: Condition): boolean {
  if (!condition.range) return compareWithOperator(value, condition.comparison);
  if (condition.negated) return compareWithOperator(value, condition.low) || compareWithOperator(value, condition.high);
  return compareWithOperator(value, condition.low) && compareWithOperator(value, condition.high);
}

/** The value as Kyverno's string comparison sees it; nil, maps and arrays are not compared (false for `=` and `!`). */
function valueAsString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

function compareWithOperator(value: unknown, c: Comparison): boolean {
  const operator = c.operator;
  if (c.duration !== undefined || c.quantity !== undefined) {
    const text = numberText(value);
    if (text !== undefined) {
      const valueDuration = c.duration === undefined ? undefined : parseDuration(text);
      if (valueDuration !== undefined) return compareNumbers(valueDuration, c.duration as number, operator);
      const valueQuantity = c.quantity === undefined ? undefined : parseQuantity(text);
      if (valueQuantity !== undefined) return compareNumbers(valueQuantity, c.quantity as number, operator);
    }
  }
  if (operator !== "=" && operator !== "!") return false;
  const text = valueAsString(value);
  if (text === undefined) return false;
  const matched = wildcardMatch(c.operand, text);
  return operator === "!" ? !matched : matched;
}

/** Kyverno's convertNumberToString: nil is "0"; booleans, maps and arrays are no numbers. */
function numberText(value: unknown): string | undefined {
  if (value === null || value === undefined) return "0";
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return undefined;
}

function compareNumbers(a: number, b: number, operator: Operator): boolean {
  const epsilon = Math.max(Math.abs(a), Math.abs(b)) * 1e-12;
  const equal = Math.abs(a - b) <= epsilon;
  switch (operator) {
    case "=": return equal;
    case "!": return !equal;
    case ">": return a > b && !equal;
    case "<": return a < b && !equal;
    case ">=": return a > b || equal;
    case "<=": return a < b || equal;
    default: return false;
  }
}
