import { describe, expect, it } from "vitest";
import { goRegex } from "./go-regex.js";

function matches(pattern: string, text: string): boolean {
  const re = goRegex(pattern);
  if (re instanceof Error) throw re;
  return re.test(text);
}

// Go's (?i) (regexp/syntax, FoldCase) matches every rune of a character's unicode.SimpleFold orbit:
// k, K and the Kelvin sign U+212A; s, S and long s U+017F; ß and ẞ U+1E9E; folded classes, ranges,
// POSIX classes and \w alike, whether the flag is set for the whole pattern or only part of it.
describe("case-insensitive matching folds as Go's unicode.SimpleFold", () => {
  it.each([
    ["(?i)^k$", "\u212a", true],
    ["(?i)^s$", "\u017f", true],
    ["(?i)^\u00df$", "\u1e9e", true],
    ["(?i)^[a-z]$", "\u212a", true],
    ["(?i)^[[:lower:]]$", "\u017f", true],
    ["(?i)^\\w$", "\u017f", true],
    ["(?i)^\u03c3$", "\u03c2", true],
    ["(?i)^k$", "x", false],
    // The flag for part of the pattern only.
    ["^a(?i)k$", "a\u212a", true],
    ["^a(?i)s$", "a\u017f", true],
    ["^(?i:\u00df)$", "\u1e9e", true],
    ["^x(?i)\u01c6$", "x\u01c5", true],
    ["^x(?i)\u01c6$", "x\u01c4", true],
    ["^(?i:[\u0430-\u044f])$", "\u042f", true],
    ["^(?i:[a-z])$", "\u212a", true],
    ["^x(?i)[[:upper:]]$", "x\u017f", true],
    ["^x(?i)\\w$", "x\u212a", true],
    ["^x(?i)\\W$", "x\u212a", false],
    // Outside the flag's reach nothing folds.
    ["^(?i:a)k$", "A\u212a", false],
    ["^(?i:a)[a-z]$", "A\u212a", false],
    ["^k$", "\u212a", false],
  ])("%s on %j is %s", (pattern, text, expected) => {
    expect(matches(pattern, text)).toBe(expected);
  });
});
