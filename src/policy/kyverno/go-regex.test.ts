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

// Go's regexp/syntax parseEscape: \x41 and \x{1F600} are hex code points, \101 octal, \a the bell;
// any other escaped letter or digit (\C, \e, \Z, a letter in a class like [\A]) is "invalid escape
// sequence", not the letter itself. A Go regexp matches runes: `.` is one character, an emoji too.
describe("escapes and runes as Go's regexp", () => {
  it.each([
    ["^\\x{41}$", "A", true],
    ["^\\x{41}$", "x".repeat(41), false],
    ["^\\x41$", "A", true],
    ["^\\x{1F600}$", "\u{1F600}", true],
    ["^[\\x{41}-\\x{43}]+$", "ABC", true],
    ["^\\101$", "A", true],
    ["^\\0$", "\0", true],
    ["^\\a$", "\x07", true],
    ["^\\a$", "a", false],
    ["^\\t\\n\\r\\f\\v$", "\t\n\r\f\v", true],
    ["^.$", "\u{1F600}", true],
    ["^[^a]$", "\u{1F600}", true],
    ["^\u{1F600}+$", "\u{1F600}\u{1F600}", true],
    ["^\\d\\D\\w\\W\\s\\S$", "1a_ x.", false],
    ["^\\d\\w\\W\\s\\S$", "1_- x", true],
  ])("%s on %j is %s", (pattern, text, expected) => {
    expect(matches(pattern, text)).toBe(expected);
  });

  it.each(["\\C", "\\e", "\\Z", "[\\A]", "\\x{110000}", "\\xZ1", "\\x{}", "[\\b]"])("%s is an invalid escape", (pattern) => {
    const re = goRegex(pattern);
    expect(re).toBeInstanceOf(Error);
    expect((re as Error).message).toMatch(/invalid escape sequence/);
  });

  it("replaces a rune once, not each UTF-16 half", () => {
    const re = goRegex(".", "g");
    if (re instanceof Error) throw re;
    expect("a\u{1F600}".replace(re, "x")).toBe("xx");
  });
});

// RE2's Perl classes and word boundaries are ASCII: \s is [\t\n\f\r ] and \S everything else, in a
// class too (a no-break space U+00A0 or U+2028 is \S); \b and \B look at ASCII word characters only,
// also under (?i), where JS's iu mode would count the long s U+017F and the Kelvin sign U+212A as
// word characters.
describe("Perl classes and word boundaries are ASCII, as in RE2", () => {
  it.each([
    ["^[\\S]$", "\u00a0", true],
    ["^[\\S]$", "\u2028", true],
    ["^[\\S]$", "\ufeff", true],
    ["^[\\S]$", "\u{1f600}", true],
    ["^[\\S]$", " ", false],
    ["^[\\S]$", "\t", false],
    ["^[\\Sa]$", "\u000b", true],
    ["^[^\\S]$", "\u00a0", false],
    ["^[^\\S]$", "\r", true],
    ["(?i)a\\b", "a\u017f", true],
    ["(?i)a\\b", "ab", false],
    ["(?i)\\B", "\u017f", true],
    ["(?i)^\\Bk", "\u212a", true],
    ["(?i)^k\\b", "\u212a", false],
    ["(?i)^\\w\\b", "\u017fa", true],
    ["\\bcaf\u00e9\\b", "caf\u00e9", false],
    ["\\bcaf\\b", "caf\u00e9", true],
    // (?i) for part of the pattern: \W in a class leaves out the runes that fold into \w.
    ["^(?i:[\\W])$", "\u212a", false],
    ["^x(?i)[\\W]$", "x\u017f", false],
    ["^x(?i)[\\W]$", "x!", true],
    ["^x(?i)[\\W]$", "x\u00e9", true],
    ["^x(?i)[\\W]$", "x\u{1f600}", true],
  ])("%j on %j is %s", (pattern, text, expected) => {
    expect(matches(pattern, text)).toBe(expected);
  });
});
