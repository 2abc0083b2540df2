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
    // "2m" parses as a quantity (milli) before a duration, as in Kyverno: a duration value then never matches.
    ["90s", "<2m", false],
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
});
