import { describe, expect, it } from "vitest";
import { matchValue } from "./pattern-value.js";

describe("pattern value operators", () => {
  it.each([
    ["nginx:1.2", "nginx:*", true],
    ["nginx", "ngin?", true],
    ["nginx", "!nginx", false],
    ["redis", "nginx | redis", true],
    [5, ">3", true],
    [5, "<3", false],
    [3, ">=3", true],
    [3, "<=2", false],
    ["2Gi", ">1Gi", true],
    ["500m", "<1", true],
    ["1024Mi", "1Gi", true],
    ["90s", "<2m0s", true],
    // Kyverno compares as durations first when the operand and the value both parse as Go durations:
    // "2m" is two minutes against "90s", and 0.002 against the quantity "1".
    ["90s", "<2m", true],
    ["1h", ">=1m", true],
    ["1m30s", ">=1m", true],
    ["30s", ">=1m", false],
    ["1", "<2m", false],
    ["2h", ">=1h30m", true],
    [5, "1-10", true],
    [15, "1-10", false],
    [15, "1!-10", true],
    [5, ">1 & <10", true],
    [50, ">1 & <10", false],
    [null, null, true],
    ["", null, true],
    [true, true, true],
    ["8080", 8080, true],
    [1.5, 1.5, true],
    // Each leaf string is parsed once and cached: the same leaf against other values.
    [9, "1-3 | 8-10", true],
    [5, "1-3 | 8-10", false],
    ["nginx:latest", "!*:latest", false],
    ["nginx:1.25", "!*:latest", true],
    ["1.5", ">=1.5", true],
    ["45s", "30s-90s", true],
    ["3m", "30s-90s", false],
    [{}, ">1", false],
  ])("%j against %j is %s", (value, pattern, expected) => {
    expect(matchValue(value, pattern)).toBe(expected);
  });

  // Kyverno's own pattern tests (pkg/engine/pattern): signed operands and ranges with signed ends.
  it.each([
    [-9, "-10-8", true],
    [9, "-10--8", false],
    [-9, "-10!--8", false],
    [9, "-10!--8", true],
    ["-9Mi", "-10Mi-8Mi", true],
    ["9Mi", "-10Mi!-8Mi", true],
    [0, "-10-+8", true],
    ["7Mi", "-10Mi-+8Mi", true],
    [0, "+0-+1", true],
    ["10Mi", "+0Mi-+1024Mi", true],
    [10, "+0!-+1", true],
    [5, ">-1", true],
    [-5, ">-1", false],
    ["-2", "<=-1", true],
  ])("%j against the signed pattern %j is %s", (value, pattern, expected) => {
    expect(matchValue(value, pattern)).toBe(expected);
  });

  // A not-in-range is "< low or > high": a value that is no number is neither, so it does not match.
  it.each([
    ["abc", "1!-10", false],
    ["abc", "1-10", false],
    [true, "1!-10", false],
  ])("%j against the range %j is %s", (value, pattern, expected) => {
    expect(matchValue(value, pattern)).toBe(expected);
  });

  // A missing (nil) value is no string: Kyverno's string comparison fails for "=" and "!" alike, so a
  // negated pattern on a missing field fails (`namespace: "!default"` with no namespace).
  it.each([
    [undefined, "!default", false],
    [null, "!default", false],
    [undefined, "", false],
    [null, "!1.2.3", false],
    [true, "!0", true],
    [false, "false", true],
    // nil is 0 for quantities and durations.
    [null, "<=500m", true],
    [undefined, "!0", false],
    [null, ">=1s", false],
  ])("%j against %j is %s (nil and non-string values)", (value, pattern, expected) => {
    expect(matchValue(value, pattern)).toBe(expected);
  });

  // One character is never an operator: "!" alone is the string "!".
  it.each([
    ["!", "!", true],
    ["a", "!", false],
    [">", ">", true],
  ])("%j against the one-character pattern %j is %s", (value, pattern, expected) => {
    expect(matchValue(value, pattern)).toBe(expected);
  });

  it.each([
    [5, "5", true],
  ])("%j against %j is %s", (value, pattern, expected) => {
    expect(matchValue(value, pattern)).toBe(expected);
  });
});
