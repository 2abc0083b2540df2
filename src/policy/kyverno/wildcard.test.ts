import { describe, expect, it } from "vitest";
import { wildcardMatch } from "./wildcard.js";

// Kyverno's wildcard.Match (IGLOU-EU/go-wildcard v1) works on runes: `?` is one character, even one
// outside the Basic Multilingual Plane; `*` any run of characters; everything else is literal.
describe("wildcard matching as Kyverno", () => {
  it.each([
    ["?", "\u{1F600}", true],
    ["team-?", "team-\u{1F680}", true],
    ["??", "\u{1F600}", false],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["*", "", true],
    ["", "", true],
    ["", "x", false],
    ["*.example.com", "api.example.com", true],
    ["*.example.com", "apiXexample.com", false],
    ["nginx:[1]", "nginx:[1]", true],
    ["a*b*c", "a-b-x-c", true],
    ["line?", "line\n", true],
  ])("%j matches %j: %s", (pattern, value, expected) => {
    expect(wildcardMatch(pattern, value)).toBe(expected);
  });
});
