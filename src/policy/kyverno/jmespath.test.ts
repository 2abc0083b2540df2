import { describe, expect, it } from "vitest";
import { searchJmes } from "./jmespath.js";
import { substituteAll } from "./variables.js";

const data = { request: { object: { metadata: { name: "web", labels: { app: "x" } }, spec: { containers: [{ name: "a", image: "nginx:1" }, { name: "b", image: "redis" }] } }, operation: "CREATE" } };
const value = (expr: string) => {
  const r = searchJmes(expr, data);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe("JMESPath with Kyverno functions", () => {
  it.each([
    ["length(request.object.spec.containers)", 2],
    ["request.object.spec.containers[?starts_with(image, 'nginx')].name", ["a"]],
    ["to_upper(request.operation)", "CREATE"],
    ["to_lower('ABC')", "abc"],
    ["split('a,b', ',')", ["a", "b"]],
    ["regex_match('^ng', 'nginx')", true],
    ["regex_replace_all('([0-9])', 'v1.2', 'x')", "vx.x"],
    ["label_match(`{\"app\":\"x\"}`, request.object.metadata.labels)", true],
    ["add(`1`, `2`)", 3],
    ["add('1Gi', '1Gi')", "2Gi"],
    ["subtract('2h', '30s')", "1h59m30s"],
    ["multiply('100m', `3`)", "300m"],
    ["divide('1Gi', '512Mi')", 2],
    ["modulo(`7`, `3`)", 1],
    ["sum(`[1, 2, 3]`)", 6],
    ["round(`2.567`, `2`)", 2.57],
    ["base64_decode(base64_encode('hi'))", "hi"],
    ["compare('a', 'b')", -1],
    ["equal_fold('Go', 'GO')", true],
    ["replace_all('a-b-c', '-', '+')", "a+b+c"],
    ["trim_prefix('prefix-x', 'prefix-')", "x"],
    ["truncate('abcdef', `3`)", "abc"],
    ["semver_compare('1.2.3', '>1.0.0')", true],
    ["parse_json('{\"a\": 1}').a", 1],
    ["parse_yaml('a: 2').a", 2],
    ["items(request.object.metadata.labels, 'key', 'value')", [{ key: "app", value: "x" }]],
    ["object_from_lists(`[\"a\"]`, `[1]`)", { a: 1 }],
    ["path_canonicalize('/a/../b//c')", "/b/c"],
    ["pattern_match('ng*', 'nginx')", true],
    ["to_boolean('True')", true],
    ["time_since('', '2024-01-01T00:00:00Z', '2024-01-01T01:00:00Z')", "1h0m0s"],
    ["time_add('2024-01-01T00:00:00Z', '1h')", "2024-01-01T01:00:00Z"],
    ["time_before('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z')", true],
    ["image_normalize('nginx')", "docker.io/library/nginx:latest"],
    ["is_external_url('http://127.0.0.1/x')", false],
  ])("%s", (expr, expected) => {
    expect(value(expr)).toEqual(expected);
  });

  it("returns an error (never throws) for a bad expression or a function type error", () => {
    expect(searchJmes("to_upper(`1`)", data).ok).toBe(false);
    expect(searchJmes("a..b", data).ok).toBe(false);
  });
});

// semver_compare is blang/semver: the version is parsed strictly (no "v" prefix; a version that does
// not parse is 0.0.0, as Kyverno ignores that error), the range strictly (an error when it does not parse).
describe("semver_compare as Kyverno (blang/semver)", () => {
  it.each([
    ["semver_compare('v1.2.3', '>=1.0.0')", false],
    ["semver_compare('1.2', '>=1.0.0')", false],
    ["semver_compare('1.2', '<1.0.0')", true],
    ["semver_compare('1.2.3', '>= 1.0.0')", true],
    ["semver_compare('1.2.3', '==1.2.3')", true],
    ["semver_compare('1.2.3', '!1.2.3')", false],
    ["semver_compare('1.2.3', '>=1.0.0 <2.0.0 || >3.0.0')", true],
    // Pre-release identifiers compare field by field, numbers numerically.
    ["semver_compare('1.0.0-rc.10', '>1.0.0-rc.9')", true],
    ["semver_compare('1.0.0-alpha', '<1.0.0-alpha.1')", true],
    ["semver_compare('1.0.0-rc.1', '<1.0.0')", true],
    ["semver_compare('1.2.3+build.5', '=1.2.3')", true],
    // Wildcards expand to ranges: 1.x is >=1.0.0 <2.0.0, >1.x is >=2.0.0, !1.x is outside 1.x.
    ["semver_compare('1.9.0', '1.x')", true],
    ["semver_compare('2.0.0', '1.x')", false],
    ["semver_compare('1.9.0', '>1.x')", false],
    ["semver_compare('2.0.0', '>1.x')", true],
    ["semver_compare('1.3.0', '1.2.x')", false],
    ["semver_compare('1.2.7', '1.2.x')", true],
  ])("%s is %s", (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });

  it("is an error when the range does not parse", () => {
    expect(searchJmes("semver_compare('1.2.3', '>=v1.0.0')", data).ok).toBe(false);
    expect(searchJmes("semver_compare('1.2.3', '>=1.0')", data).ok).toBe(false);
    expect(searchJmes("semver_compare('1.2.3', 'latest')", data).ok).toBe(false);
  });
});

// Kyverno's time_* functions are Go's time package: time_parse and time_since take Go reference
// layouts, the others strict RFC 3339; a time keeps the offset it was written with.
describe("time functions as Kyverno (Go time)", () => {
  it.each([
    ["time_parse('02/01/2006', '05/03/2024')", "2024-03-05T00:00:00Z"],
    ["time_parse('1136239445', '1700000000')", "2023-11-14T22:13:20Z"],
    ["time_parse('2006-01-02T15:04:05Z07:00', '2024-03-05T10:00:00+02:00')", "2024-03-05T10:00:00+02:00"],
    ["time_parse('Jan _2 2006 15:04', 'Mar  5 2024 07:30')", "2024-03-05T07:30:00Z"],
    ["time_parse('2006-01-02 3:04PM MST', '2024-03-05 7:30PM PST')", "2024-03-05T19:30:00Z"],
    ["time_parse('2006-01-02 15:04:05.000', '2024-03-05 07:30:00.250')", "2024-03-05T07:30:00Z"],
    ["time_parse('Monday, 02-Jan-06 15:04:05 -0700', 'Tuesday, 05-Mar-24 07:30:00 -0130')", "2024-03-05T07:30:00-01:30"],
    ["time_add('2024-03-05T23:30:00+02:00', '1h')", "2024-03-06T00:30:00+02:00"],
    ["time_utc('2024-03-05T23:30:00+02:00')", "2024-03-05T21:30:00Z"],
    // Truncate counts from Go's zero time (Monday, January 1, year 1): a week starts on a Monday.
    ["time_truncate('2024-03-07T10:00:00Z', '168h')", "2024-03-04T00:00:00Z"],
    ["time_truncate('2024-03-07T10:20:00+05:30', '1h')", "2024-03-07T09:30:00+05:30"],
    ["time_truncate('2024-03-07T10:20:00Z', '0s')", "2024-03-07T10:20:00Z"],
    ["time_to_cron('2024-03-07T10:20:00Z')", "20 10 7 3 4"],
    ["time_to_cron('2024-03-07T23:20:00-02:00')", "20 23 7 3 4"],
    ["time_since('2006-01-02', '2024-03-05', '2024-03-06')", "24h0m0s"],
    ["time_since('', '2024-01-01T00:00:00Z', '2024-01-01T00:00:01.5Z')", "1.5s"],
    ["time_diff('2024-03-05T10:00:00+02:00', '2024-03-05T10:00:00Z')", "2h0m0s"],
    ["time_between('2024-03-05T10:00:00Z', '2024-03-05T09:00:00Z', '2024-03-05T13:00:00+02:00')", true],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toEqual(expected);
  });

  it.each([
    "time_parse('2006-01-02', 'March 5')",
    "time_parse('2006-01-02', '2024-02-30')",
    "time_parse('1136239445', '2024-03-05')",
    "time_after('2024-01-01', '2023-01-01T00:00:00Z')",
    "time_add('Tue, 05 Mar 2024 10:00:00 GMT', '1h')",
    "time_utc('2024-03-05T10:00:00')",
  ])("%s is an error", (expr) => {
    const result = searchJmes(expr, data);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/time_|parsing time/);
  });
});

// base64_decode is Go's base64.StdEncoding: the standard alphabet, padded; anything else is an error.
describe("base64_decode as Kyverno (Go StdEncoding)", () => {
  it.each([
    ["base64_decode('aGk=')", "hi"],
    ["base64_decode('aGVsbG8=')", "hello"],
    ["base64_decode('')", ""],
    // Go skips newlines (a wrapped value decodes).
    ["base64_decode('aGVs\nbG8=')", "hello"],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });

  it.each([
    "base64_decode('not base64!')",
    "base64_decode('aGk')",
    "base64_decode('aG=k')",
    "base64_decode('-_8=')",
    "base64_decode('aGk=aGk=')",
  ])("%s is an error", (expr) => {
    const result = searchJmes(expr, data);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain("base64_decode");
  });
});

// round is Go's math.Round (halves away from zero) with a whole, non-negative number of digits;
// truncate counts characters (runes), not UTF-16 units.
describe("round and truncate as Kyverno", () => {
  it.each([
    ["round(`-2.5`, `0`)", -3],
    ["round(`2.5`, `0`)", 3],
    ["round(`-1.25`, `1`)", -1.3],
    ["round(`1.005`, `0`)", 1],
    ["truncate('h\u00e9llo', `2`)", "h\u00e9"],
    ["truncate('\u{1F600}\u{1F601}x', `2`)", "\u{1F600}\u{1F601}"],
    ["truncate('abc', `-1`)", ""],
    ["truncate('abcdef', `2.9`)", "ab"],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });

  it.each([
    "round(`2.5`, `1.5`)",
    "round(`2.5`, `-1`)",
  ])("%s is an error", (expr) => {
    const result = searchJmes(expr, data);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain("round");
  });
});

// Kyverno declares a fixed number of arguments for each of its functions: more or fewer is an error.
describe("Kyverno function arity", () => {
  it.each([
    "trim('  a  ')",
    "to_upper('a', 'b')",
    "time_now_utc('x')",
    "compare('a', 'b', 'c')",
    "time_between('2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')",
  ])("%s is an error naming the function and its arguments", (expr) => {
    const result = searchJmes(expr, data);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/'(trim|to_upper|time_now_utc|compare|time_between)' takes \d arguments?, got \d/);
  });

  it("still takes the right number, and items with one argument (Vigil's extension) or three", () => {
    expect(value("trim('  a  ', ' ')")).toBe("a");
    expect(value("items(`{\"a\":1}`)")).toEqual([["a", 1]]);
    expect(value("items(`{\"a\":1}`, 'k', 'v')")).toEqual([{ k: "a", v: 1 }]);
  });
});

// Quantity arithmetic is apimachinery's exact decimal arithmetic: a quantity divided by a number is
// rounded down at the larger of the two scales, and results print in Quantity.String()'s canonical form.
describe("quantity arithmetic as Kyverno (resource.Quantity)", () => {
  it.each([
    // Kyverno's own arithmetic tests.
    ["add('12Ki', '13')", "12301"],
    ["subtract('12Ki', '13Ki')", "-1Ki"],
    ["multiply(`2.5`, '12Ki')", "30Ki"],
    ["multiply(`2.5`, '12')", "30"],
    ["divide('12Ki', `3`)", "4Ki"],
    ["modulo('12Ki', '5Ki')", "2Ki"],
    // Rounded down at max(scale of the quantity, scale of the number).
    ["divide('1', `2`)", "0"],
    ["divide('3', `2`)", "1"],
    ["divide('1Gi', `3`)", "357913941"],
    ["divide('500m', `3`)", "166m"],
    ["divide('1.5', `2`)", "700m"],
    ["divide('1.50', `4`)", "370m"],
    ["divide('2Gi', `4`)", "512Mi"],
    // Canonical forms: decimal exponents stay exponents, fractions go down to a multiple of 3.
    ["multiply('1', `0.3333`)", "333300u"],
    ["add('1e3', '1e3')", "2e3"],
    ["add('500m', '500m')", "1"],
    ["add('1.5Gi', '0')", "1536Mi"],
    ["add('0', '1Ki')", "1Ki"],
    ["multiply('100m', `3`)", "300m"],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });
});

// parse_yaml is sigs.k8s.io/yaml's YAMLToJSON over go-yaml v2: YAML 1.1 scalars (yes/no/on/off are
// booleans, 0755 is octal, 1_000 is 1000), merge keys; timestamps and 1:20 stay strings.
describe("parse_yaml as Kyverno (YAML 1.1)", () => {
  it.each([
    ["parse_yaml('a: yes').a", true],
    ["parse_yaml('a: off').a", false],
    ["parse_yaml('a: Y').a", true],
    ["parse_yaml('a: 0755').a", 493],
    ["parse_yaml('a: 1_000').a", 1000],
    ["parse_yaml('a: 2001-12-14').a", "2001-12-14"],
    ["parse_yaml('a: 1:20').a", "1:20"],
    ["parse_yaml('a: \"yes\"').a", "yes"],
    ["parse_yaml('b: &x {c: 1}\na: {<<: *x, d: 2}').a", { c: 1, d: 2 }],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toEqual(expected);
  });
});

// regex_* functions use Go's RE2 syntax: no lookaround or backreferences (an error, as in Kyverno),
// \A and \z anchors, POSIX classes, a leading ] in a class is literal, \s is ASCII whitespace only.
describe("regular expressions as Go (RE2)", () => {
  it.each([
    ["regex_match('\\Afoo', 'foo')", true],
    ["regex_match('foo\\z', 'foo')", true],
    ["regex_match('^[[:digit:]]+$', '123')", true],
    ["regex_match('^[[:alpha:][:digit:]_-]+$', 'ab_1-2')", true],
    ["regex_match('^[[:upper:]]+$', 'abc')", false],
    ["regex_match('^[]a]+$', 'a]a')", true],
    ["regex_match('^[^]a]+$', 'bcd')", true],
    ["regex_match('^a\\sb$', 'a\u00a0b')", false],
    ["regex_match('^a\\sb$', 'a\tb')", true],
    ["regex_match('^a\\Sb$', 'a\u00a0b')", true],
    ["regex_match('^(?P<x>a)$', 'a')", true],
    ["regex_match('^\\Qa.b\\E$', 'a.b')", true],
    ["regex_match('^\\Qa.b\\E$', 'axb')", false],
    ["regex_match('\\\\z', 'a\\z')", true],
    ["regex_replace_all('(?P<first>\\w+) (?P<second>\\w+)', 'hello world', '${second} ${first}')", "world hello"],
    // RE2 (Go regexp/syntax, parsePerlFlags): flags may be set mid-pattern, (?flags) up to the end of
    // the enclosing group, (?flags:re) for a group, and cleared with -; U makes quantifiers lazy.
    ["regex_match('^a(?i)bc$', 'aBC')", true],
    ["regex_match('^a(?i)bc$', 'ABC')", false],
    ["regex_match('^(?i:ab)c$', 'ABc')", true],
    ["regex_match('^(?i:ab)c$', 'ABC')", false],
    ["regex_match('^(?i)a(?-i)b$', 'Ab')", true],
    ["regex_match('^(?i)a(?-i)b$', 'AB')", false],
    ["regex_match('^x(?i)[a-c_]+$', 'xAbC_')", true],
    ["regex_match('^x(?i)[^a]$', 'xA')", false],
    ["regex_match('^(?s:a.b)$', 'a\nb')", true],
    ["regex_match('^a.b$', 'a\nb')", false],
    ["regex_match('^a.b$', 'a\rb')", true],
    ["regex_replace_all('b(?m)$', 'ab\nab', 'X')", "aX\naX"],
    // Go's ReplaceAllString: an empty match right after a match is not replaced, and the template is
    // Go's Expand: $name takes every letter, digit and _ after it, a group that does not exist is
    // empty, ${1}x ends the name, $$ is a dollar, and a $ that starts no valid name stays as it is.
    ["regex_replace_all('b*', 'abc', '-')", "-a-c-"],
    ["regex_replace_all_literal('b*', 'abc', '-')", "-a-c-"],
    ["regex_replace_all('', '\u00e9t\u00e9', '.')", ".\u00e9.t.\u00e9."],
    ["regex_replace_all('(a)', 'abc', '[$2]')", "[]bc"],
    ["regex_replace_all('(a)', 'abc', '[$1x]')", "[]bc"],
    ["regex_replace_all('(a)', 'abc', '[${1}x]')", "[ax]bc"],
    ["regex_replace_all('(a)', 'abc', '[$$1]')", "[$1]bc"],
    ["regex_replace_all('(a)', 'abc', '[${1]')", "[${1]bc"],
    ["regex_replace_all('(a)', 'abc', '[$-]')", "[$-]bc"],
    ["regex_replace_all('(a)', 'abc', '[$01]')", "[]bc"],
    ["regex_replace_all('(?P<first>a)', 'abc', '[$first]')", "[a]bc"],
    ["regex_replace_all('(?P<first>a)', 'abc', '[$second]')", "[]bc"],
    ["regex_replace_all('(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)', 'abcdefghij', '${1}0')", "a0"],
    ["regex_replace_all('(?U)a+', 'aaa', 'b')", "bbb"],
    ["regex_replace_all('(?U)a+?', 'aaa', 'b')", "b"],
    ["regex_replace_all('x(?U:a+)', 'xaaa', 'b')", "baa"],
    ["regex_match('^a(?)b$', 'ab')", true],
    // Unicode classes (Go regexp/syntax, parseUnicodeClass): \pL, \p{Name} (category or script), \PL, \p{^Name}.
    ["regex_match('^\\pL+$', 'h\u00e9llo')", true],
    ["regex_match('^\\pL+$', 'a1')", false],
    ["regex_match('^\\p{Greek}+$', '\u03b1\u03b2\u03b3')", true],
    ["regex_match('^\\p{Greek}+$', 'abc')", false],
    ["regex_match('^\\PL+$', '123')", true],
    ["regex_match('^\\p{^Greek}+$', 'abc')", true],
    ["regex_match('^[\\p{Lu}\\d]+$', 'A1')", true],
    ["regex_match('^\\pL\\-\\d\\_$', 'a-1_')", true],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });

  it.each([
    "regex_match('^(?!default$).*$', 'prod')",
    "regex_match('^(?=a).*$', 'abc')",
    "regex_match('(?<=a)b', 'ab')",
    "regex_match('(a)\\1', 'aa')",
    "regex_match('a(?i-)b', 'ab')",
  ])("%s is an error (RE2 has no lookaround or backreferences)", (expr) => {
    const result = searchJmes(expr, data);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/regex_match.*(unsupported Perl syntax|invalid escape)/);
  });
});

// A number given to regex_match, regex_replace_all(_literal) or pattern_match is read as Kyverno's
// ifaceToString does: strconv.FormatFloat(n, 'f', -1, 32), the shortest float32 text, no exponent.
describe("numbers as text in the regex and pattern functions", () => {
  it.each([
    ["regex_match('^1.5$', `1.5`)", true],
    ["regex_match('^8080$', `8080`)", true],
    ["regex_match('^16777216$', `16777217`)", true],
    ["regex_match('^1000000000$', `1000000001`)", true],
    ["pattern_match('1000679*', `1000680000`)", false],
    ["regex_match('^0.1$', `0.1`)", true],
    ["regex_match('^100000000000000000000000$', `1e23`)", true],
    ["regex_match('^0.0000001$', `1e-7`)", true],
    ["regex_replace_all('0', `100`, `7`)", "177"],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });

  it("a boolean is neither a string nor a number: an error", () => {
    const result = searchJmes("regex_match('^true$', `true`)", data);
    expect(result.ok).toBe(false);
  });
});

// The string functions are Go's strings package: they work on characters (runes), and an empty
// separator or search string matches around every character.
describe("string functions as Go's strings package", () => {
  it.each([
    ["split('a\u{1F600}b', '')", ["a", "\u{1F600}", "b"]],
    ["split('', '')", []],
    ["split('', ',')", [""]],
    ["replace('abc', '', '-', `2`)", "-a-bc"],
    ["replace('abc', '', '-', `-1`)", "-a-b-c-"],
    ["replace('aaa', 'a', 'b', `1.7`)", "baa"],
    ["replace('aaa', 'a', 'b', `0`)", "aaa"],
    ["replace_all('abc', '', '-')", "-a-b-c-"],
    ["replace_all('a.b.c', '.', '/')", "a/b/c"],
    ["trim('\u{1F600}a', '\u{1F601}')", "\u{1F600}a"],
    ["trim('\u{1F600}a\u{1F600}', '\u{1F600}')", "a"],
    ["trim('xxhixx', 'x')", "hi"],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toEqual(expected);
  });
});

// object_from_lists writes keys as Kyverno's ifaceToString does; a key that is no string, number
// or boolean is an error. path_canonicalize is Go's filepath.Join of one element ("" stays "").
describe("object_from_lists and path_canonicalize as Kyverno", () => {
  it.each([
    ["object_from_lists(`[\"a\", 1.5, true]`, `[1, 2]`)", { a: 1, "1.5": 2, true: null }],
    ["object_from_lists(`[16777217]`, `[1]`)", { "16777216": 1 }],
    ["path_canonicalize('')", ""],
    ["path_canonicalize('a/../..//b/')", "../b"],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toEqual(expected);
  });

  it.each(["object_from_lists(`[null]`, `[1]`)", "object_from_lists(`[{\"a\": 1}]`, `[1]`)"])("%s is an error", (expr) => {
    const result = searchJmes(expr, data);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain("object_from_lists");
  });
});

// to_upper and to_lower are Go's strings.ToUpper / ToLower: one character to one character (simple
// case mapping), without JavaScript's special casing.
describe("to_upper and to_lower as Go", () => {
  it.each([
    ["to_upper('stra\u00dfe')", "STRA\u00dfE"],
    ["to_lower('\u0130STANBUL')", "istanbul"],
    ["to_lower('\u039f\u0394\u039f\u03a3')", "\u03bf\u03b4\u03bf\u03c3"],
    ["to_upper('web-1')", "WEB-1"],
    ["to_lower('Caf\u00c9')", "caf\u00e9"],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });
});

// equal_fold is Go's strings.EqualFold (rune by rune under Unicode simple case folding: the long s
// U+017F is s, final sigma is sigma, but no full folding: ß is not "ss"), and compare is Go's
// strings.Compare (UTF-8 byte order, which is code point order, not UTF-16 unit order).
// Durations print as Go's Duration.String, to the nanosecond (no exponent: 1ns is 0.000000001s).
describe("durations as Go's Duration.String", () => {
  it.each([
    ["add('1h', '1ns')", "1h0m0.000000001s"],
    ["add('1s', '1ns')", "1.000000001s"],
    ["add('1ns', '1ns')", "2ns"],
    ["subtract('1ms', '1ns')", "999.999\u00b5s"],
    ["subtract('1ns', '1s')", "-999.999999ms"],
    ["time_diff('2023-01-01T00:00:00Z', '2023-01-01T00:00:00.000000007Z')", "7ns"],
    ["time_diff('2023-01-01T00:00:00Z', '2023-01-01T01:00:00.000000007Z')", "1h0m0.000000007s"],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });
});

// to_number is go-jmespath's: strconv.ParseFloat on a string, null when it does not parse (no
// spaces, no 0x / 0b integers, not the empty string), as JavaScript's Number() would read them.
describe("to_number as go-jmespath", () => {
  it.each([
    ["to_number('1e3')", 1000],
    ["to_number('+5')", 5],
    ["to_number('.5')", 0.5],
    ["to_number('5.')", 5],
    ["to_number('0x1p4')", 16],
    ["to_number('')", null],
    ["to_number(' 5')", null],
    ["to_number('0x10')", null],
    ["to_number('0b1')", null],
    ["to_number('1_000')", null],
    ["to_number('1e')", null],
    ["to_number(`7`)", 7],
    ["to_number(`true`)", null],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });
});

describe("equal_fold and compare as Go", () => {
  it.each([
    ["equal_fold('\u017fun', 'SUN')", true],
    ["equal_fold('\u03c2', '\u03a3')", true],
    ["equal_fold('\u212a', 'k')", true],
    ["equal_fold('stra\u00dfe', 'STRASSE')", false],
    ["equal_fold('\u0130', 'i')", false],
    ["equal_fold('a.c', 'abc')", false],
    ["equal_fold('a', 'ab')", false],
    ["compare('\uffff', '\u{1F600}')", -1],
    ["compare('\u{1F600}', '\uff61')", 1],
    ["compare('b', 'a')", 1],
    ["compare('ab', 'ab')", 0],
  ])("%s is %j", (expr, expected) => {
    expect(value(expr)).toBe(expected);
  });
});

describe("{{ }} variable substitution", () => {
  it("keeps the raw value of a whole-string variable and stringifies embedded ones", () => {
    expect(substituteAll("{{ request.object.spec.containers[0] }}", data)).toEqual({ ok: true, value: { name: "a", image: "nginx:1" } });
    expect(substituteAll({ m: "name={{ request.object.metadata.name }} n={{ length(request.object.spec.containers) }}" }, data)).toEqual({ ok: true, value: { m: "name=web n=2" } });
  });

  // substituteVarInPattern and go-jmespath's to_string write a non-string value with Go's
  // json.Marshal: map keys sorted (by their UTF-8 bytes, so by code point), <, > and & escaped as
  // \u003c, \u003e and \u0026, U+2028 and U+2029 escaped, and a negative zero kept.
  it("writes an embedded non-string value as Go's json.Marshal does", () => {
    const doc = { labels: { zone: "eu", app: "a&b", "\u{1F600}": 1, "\uFF61": 2 }, text: { s: "<x>\u2028" }, zero: -0 };
    expect(substituteAll("labels={{ labels }}", doc)).toEqual({ ok: true, value: 'labels={"app":"a\\u0026b","zone":"eu","\uFF61":2,"\u{1F600}":1}' });
    expect(substituteAll("{{ text }}!", doc)).toEqual({ ok: true, value: '{"s":"\\u003cx\\u003e\\u2028"}!' });
    expect(substituteAll("z={{ zero }}", doc)).toEqual({ ok: true, value: "z=-0" });
    expect(searchJmes("to_string(labels)", doc)).toEqual({ ok: true, value: '{"app":"a\\u0026b","zone":"eu","\uFF61":2,"\u{1F600}":1}' });
    expect(searchJmes("to_string(`[1.5, \"<\"]`)", doc)).toEqual({ ok: true, value: '[1.5,"\\u003c"]' });
  });

  it("resolves nested variables inner first", () => {
    const doc = { ...data, map: { web: "found" } };
    expect(substituteAll('{{ map."{{ request.object.metadata.name }}" }}', doc)).toEqual({ ok: true, value: "found" });
  });

  it("fails on an unresolved variable, or gives an empty string where asked (conditions)", () => {
    const r = substituteAll("{{ request.object.missing }}", data);
    expect(r.ok).toBe(false);
    expect(substituteAll("{{ request.object.missing }}", data, { missing: "empty" })).toEqual({ ok: true, value: "" });
  });

  // Kyverno's variables/vars.go substituteVariablesIfAny: a query that succeeds with nil (a field of
  // a null parent, e.g. request.oldObject on CREATE, or a field whose value is null) is no error: a
  // whole-string variable becomes nil, an embedded one "null" (substituteVarInPattern, json.Marshal).
  // Only a key missing from an object (go-jmespath NotFoundError) stays unresolved.
  it("keeps an explicit null: nil for a whole-string variable, \"null\" inside a string", () => {
    const doc = { request: { oldObject: null, object: { metadata: { name: "web" }, spec: { priority: null } } } };
    for (const missing of [undefined, "empty", "null"] as const) {
      const options = missing === undefined ? {} : { missing };
      expect(substituteAll("{{ request.oldObject.metadata.labels.app }}", doc, options)).toEqual({ ok: true, value: null });
      expect(substituteAll("{{request.object.spec.priority}}", doc, options)).toEqual({ ok: true, value: null });
      expect(substituteAll("old={{ request.oldObject.metadata.name }}", doc, options)).toEqual({ ok: true, value: "old=null" });
      expect(substituteAll('{{ request."oldObject".metadata.name }}', doc, options)).toEqual({ ok: true, value: null });
    }
    expect(substituteAll("{{ request.object.metadata.labels.app }}", doc).ok).toBe(false);
    expect(substituteAll("{{ request.object.metadata.labels.app }}", doc, { missing: "empty" })).toEqual({ ok: true, value: "" });
  });

  it("reads request.oldObject for DELETE requests", () => {
    const doc = { request: { oldObject: { metadata: { name: "old" } } } };
    expect(substituteAll("{{ request.object.metadata.name }}", doc, { deleteRequest: true })).toEqual({ ok: true, value: "old" });
  });
});
