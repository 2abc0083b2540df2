import { describe, expect, it } from "vitest";
import { evaluateOperator, isKnownOperator } from "./conditions.js";

describe("condition operators", () => {
  it.each([
    ["Equals", "CREATE", "CREATE", true],
    ["Equals", "prod-1", "prod-*", true],
    ["Equals", 3, "3", true],
    ["Equals", { a: 1 }, { a: 1 }, true],
    ["Equals", "1Gi", "1024Mi", true],
    ["NotEquals", "a", "b", true],
    ["AnyIn", ["a", "x"], ["a", "b"], true],
    ["AnyIn", "a", ["b"], false],
    ["AllIn", ["a", "b"], ["a", "b", "c"], true],
    ["AllIn", ["a", "z"], ["a", "b"], false],
    ["AnyNotIn", ["a", "z"], ["a", "b"], true],
    ["AllNotIn", ["y", "z"], ["a", "b"], true],
    ["AllNotIn", ["a", "z"], ["a", "b"], false],
    ["In", "a", ["a"], true],
    ["NotIn", "c", ["a", "b"], true],
    ["AnyIn", 5, "1-10", true],
    ["GreaterThan", "2Gi", "1Gi", true],
    ["GreaterThan", 10, 3, true],
    ["GreaterThanOrEquals", "3", 3, true],
    ["LessThan", "1.2.0", "1.10.0", true],
    ["LessThanOrEquals", 2, 1, false],
    ["DurationGreaterThan", "2h", "90m", true],
    ["DurationGreaterThanOrEquals", "1h", "60m", true],
    ["DurationLessThan", "30s", "1m", true],
    ["DurationLessThanOrEquals", "2m", "1m", false],
  ])("%s(%j, %j) is %s", (operator, key, value, expected) => {
    expect(evaluateOperator(operator, key, value)).toBe(expected);
  });

  it("knows Kyverno's operators case-insensitively and rejects others", () => {
    expect(isKnownOperator("anyin")).toBe(true);
    expect(isKnownOperator("Contains")).toBe(false);
  });
});
