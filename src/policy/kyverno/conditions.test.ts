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

  // Kyverno's own operator tests (pkg/engine/variables/evaluate_test.go): a Go duration on one side and
  // a number (seconds) on the other compare as durations, in Equals, NotEquals and the numeric operators.
  it.each([
    ["Equals", "1h", 3600, true],
    ["Equals", "2h", 3600, false],
    ["NotEquals", "1h", 3600, false],
    ["NotEquals", "2h", 3600, true],
    ["GreaterThan", "1h", 3600, false],
    ["GreaterThan", "2h", 3600, true],
    ["GreaterThan", 3600, "1h", false],
    ["GreaterThan", 3600, "30m", true],
    ["LessThan", "30m", 3600, true],
    ["LessThan", 3600, "1h", false],
    ["GreaterThanOrEquals", "1h", 3600, true],
    ["LessThanOrEquals", "2h", 3600, false],
    // A numeric string is a number here too: "10" against "5s" is 10s > 5s.
    ["GreaterThan", "10", "5s", true],
    // Seconds are whole (Go's time.Duration(x) * time.Second truncates): 1.5 is 1s.
    ["DurationGreaterThan", 1.5, 1, false],
    ["Equals", "1s", 1.9, true],
  ])("%s(%j, %j) is %s (durations against seconds)", (operator, key, value, expected) => {
    expect(evaluateOperator(operator, key, value)).toBe(expected);
  });

  // Kyverno's Equals with a string key that is a quantity compares quantities only: a value that is no
  // quantity is not equal, not wildcard-matched. A number key reads a string value as a float, not a quantity.
  it.each([
    ["Equals", "100", "1*", false],
    ["Equals", "abc", "a*", true],
    ["Equals", 1000, "1k", false],
    ["Equals", 1000, "1e3", true],
    ["Equals", 5, " 5", false],
    ["Equals", 16, "0x10", false],
    ["GreaterThan", "1Gi", 5, false],
    ["LessThan", "5", " 10", false],
    // Versions are strict semver (blang/semver Parse): no "v" prefix.
    ["GreaterThan", "1.10.0", "1.9.0", true],
    ["GreaterThan", "v1.10.0", "v1.9.0", false],
    ["LessThan", "1.2.3-rc.1", "1.2.3", true],
    ["LessThan", "1.0.0-rc.9", "1.0.0-rc.10", true],
  ])("%s(%j, %j) is %s (types as Kyverno reads them)", (operator, key, value, expected) => {
    expect(evaluateOperator(operator, key, value)).toBe(expected);
  });

  // Kyverno's operator/notequal.go (NotEqualHandler.Evaluate) is no negation of equal.go: a key of
  // an unsupported type (nil) is false for both, and a quantity key against a string that is no
  // quantity is false for both (validateValueWithStringPattern: "Failed to parse value type").
  it.each([
    ["Equals", null, null, false],
    ["Equals", null, "", false],
    ["NotEquals", null, "", false],
    ["NotEquals", null, "x", false],
    ["NotEquals", null, null, false],
    ["NotEquals", "100", "abc", false],
    ["NotEquals", "1Gi", "big", false],
    ["Equals", "1Gi", "big", false],
    ["NotEquals", "1Gi", "1024Mi", false],
    ["NotEquals", "1Gi", "1Mi", true],
    ["NotEquals", "100", 100, true],
    ["NotEquals", "abc", "a*", false],
    ["NotEquals", "abc", "x*", true],
    ["NotEquals", true, "true", true],
  ])("%s(%j, %j) is %s (nil and quantity keys as notequal.go)", (operator, key, value, expected) => {
    expect(evaluateOperator(operator, key, value)).toBe(expected);
  });

  // Kyverno's In-family handlers (operator/anyin.go, allin.go, anynotin.go, allnotin.go, in.go, notin.go)
  // take a string, number or list key and a string or list value; any other key (nil, a map) or value
  // (nil, a number, a map) is "Unsupported type" / "expected type []string" and false for every one
  // of them, the NotIn ones included: a null key is not "not in" the list.
  it.each([
    ["AnyIn", null, ["a"], false],
    ["AnyNotIn", null, ["a"], false],
    ["AllNotIn", null, ["a"], false],
    ["NotIn", null, ["a"], false],
    ["AllIn", null, ["<nil>"], false],
    ["AnyNotIn", { a: 1 }, ["a"], false],
    ["AllNotIn", { a: 1 }, "x", false],
    ["AnyNotIn", "a", null, false],
    ["AllNotIn", ["a"], null, false],
    ["NotIn", "a", 5, false],
    ["AnyNotIn", "a", { b: 1 }, false],
    ["AnyIn", "a", null, false],
    // Supported types still work, and a list key's null element is "<nil>" (fmt.Sprint), not skipped.
    ["AnyNotIn", "a", ["b"], true],
    ["AllNotIn", [null], ["a"], true],
    ["AnyIn", [null, "a"], ["a"], true],
  ])("%s(%j, %j) is %s (unsupported key or value types)", (operator, key, value, expected) => {
    expect(evaluateOperator(operator, key, value)).toBe(expected);
  });

  // A list key against a string value (anyin.go anySetExistsInArray, allin.go allSetExistsInArray):
  // the value is a JSON list of strings or else a one-item list, and each key item matches an item
  // with wildcards either way, as against a list value.
  it.each([
    ["AnyIn", ["kube-*", "default"], "kube-system", true],
    ["AllIn", ["kube-*"], "kube-system", true],
    ["AnyNotIn", ["kube-*"], "kube-system", false],
    ["AllNotIn", ["kube-*"], "kube-system", false],
    ["AnyIn", ["kube-*"], '["kube-system", "default"]', true],
    ["AnyIn", ["prod"], '["kube-system", "default"]', false],
    ["AnyIn", ["default"], "kube-*", false],
    ["AnyIn", ["kube-public"], "kube-*", true],
  ])("%s(%j, %j) is %s (list key, string value)", (operator, key, value, expected) => {
    expect(evaluateOperator(operator, key, value)).toBe(expected);
  });

  // The deprecated In / NotIn (operator/in.go, notin.go) are not AnyIn / AnyNotIn. A scalar key (a
  // string or number; a boolean is "Unsupported type") is matched against a list value with wildcards
  // either way; against a string value, the string is a wildcard pattern, else a JSON list of strings
  // compared exactly, else "expected type []string": false for NotIn too, and no range (`1-10`).
  // A list key is a set compared exactly (no wildcards) with a list of strings, or with a string that
  // is the key's one item (true for NotIn as well, as setExistsInArray returns it) or a JSON list.
  it.each([
    ["In", "kube-system", ["kube-*"], true],
    ["In", "kube-*", ["kube-system"], true],
    ["NotIn", "kube-system", ["kube-*"], false],
    ["In", "kube-system", "kube-*", true],
    ["NotIn", "kube-system", "kube-*", false],
    ["In", "b", '["a", "b"]', true],
    ["NotIn", "c", '["a", "b"]', true],
    ["NotIn", "c", '["a*"]', true],
    ["In", "abc", '["a*"]', false],
    ["NotIn", "a", "b", false],
    ["In", "a", "b", false],
    ["In", 5, "1-10", false],
    ["NotIn", 5, "1-10", false],
    ["NotIn", 50, "1-10", false],
    ["In", 3, ["3"], true],
    ["In", true, ["true"], false],
    ["NotIn", true, ["false"], false],
    ["In", "a", '["a", 1]', false],
    ["NotIn", "b", '["a", 1]', false],
    ["In", ["a", "b"], ["a", "b", "c"], true],
    ["In", ["kube-system"], ["kube-*"], false],
    ["NotIn", ["kube-system"], ["kube-*"], true],
    ["In", ["a"], ["a", 1], false],
    ["NotIn", ["b"], ["a", 1], false],
    ["In", ["a"], "a", true],
    ["NotIn", ["a"], "a", true],
    ["In", ["a", "b"], '["b", "a"]', true],
    ["NotIn", ["a", "z"], '["b", "a"]', true],
    ["In", ["kube-system"], "kube-*", false],
    ["NotIn", ["kube-system"], "kube-*", false],
  ])("legacy %s(%j, %j) is %s", (operator, key, value, expected) => {
    expect(evaluateOperator(operator, key, value)).toBe(expected);
  });

  // The numeric operators read a string key as strconv.ParseFloat does: a decimal beyond the double
  // range is ErrRange (no number), a hex float with its p exponent is one.
  it.each([
    ["GreaterThan", "1e400", 5, false],
    ["LessThan", "-1e400", 5, false],
    ["GreaterThan", "0x1p4", 15, true],
    ["Equals", 16, "0x1p4", true],
    ["Equals", 16, "0x10", false],
  ])("%s(%j, %j) is %s (Go float strings)", (operator, key, value, expected) => {
    expect(evaluateOperator(operator, key, value)).toBe(expected);
  });

  it("knows Kyverno's operators case-insensitively and rejects others", () => {
    expect(isKnownOperator("anyin")).toBe(true);
    expect(isKnownOperator("Contains")).toBe(false);
  });
});
