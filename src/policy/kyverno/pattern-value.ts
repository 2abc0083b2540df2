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

function matchStringPatterns(value: unknown, pattern: string): boolean {
  if (value === pattern) return true;
  return pattern.split("|").some((alternative) =>
    alternative.trim().split("&").every((condition) => matchStringPattern(value, condition.trim())));
}

function operatorOf(pattern: string): Operator {
  if (pattern.startsWith(">=")) return ">=";
  if (pattern.startsWith("<=")) return "<=";
  if (pattern.startsWith(">")) return ">";
  if (pattern.startsWith("<")) return "<";
  if (pattern.startsWith("!")) return "!";
  if (notRangePattern.test(pattern)) return "!range";
  if (rangePattern.test(pattern)) return "range";
  return "=";
}

function matchStringPattern(value: unknown, pattern: string): boolean {
  const operator = operatorOf(pattern);
  if (operator === "range" || operator === "!range") {
    const m = (operator === "range" ? rangePattern : notRangePattern).exec(pattern);
    if (!m) return false;
    const inRange = compareWithOperator(value, m[1] as string, ">=") && compareWithOperator(value, m[2] as string, "<=");
    return operator === "range" ? inRange : !inRange;
  }
  const operand = pattern.slice(operator === "=" ? 0 : operator.length).trim();
  return compareWithOperator(value, operand, operator);
}

function valueAsString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null || value === undefined) return "";
  return undefined;
}

function compareWithOperator(value: unknown, operand: string, operator: Operator): boolean {
  const startsWithNumber = /^\d|^\.\d/.test(operand);
  if (!startsWithNumber) {
    if (operator !== "=" && operator !== "!") return false;
    const text = valueAsString(value);
    if (text === undefined) return false;
    const matched = wildcardMatch(operand, text);
    return operator === "!" ? !matched : matched;
  }
  const text = numberText(value);
  if (text === undefined) return false;
  const patternQuantity = parseQuantity(operand);
  if (patternQuantity !== undefined) {
    const valueQuantity = parseQuantity(text);
    if (valueQuantity === undefined) return operator === "!";
    return compareNumbers(valueQuantity, patternQuantity, operator);
  }
  const patternDuration = parseDuration(operand);
  if (patternDuration !== undefined) {
    const valueDuration = parseDuration(text);
    if (valueDuration === undefined) return operator === "!";
    return compareNumbers(valueDuration, patternDuration, operator);
  }
  if (operator !== "=" && operator !== "!") return false;
  const matched = wildcardMatch(operand, text);
  return operator === "!" ? !matched : matched;
}

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
