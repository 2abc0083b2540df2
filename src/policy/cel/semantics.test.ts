/**
 * CEL semantics pinned against the spec / cel-go where @bufbuild/cel 0.6 (the differential
 * reference) departs from them, and the consequences of the value model (api.ts, docs/cel.md).
 */
import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "./environment.js";

const env = createCelEnvironment();

function run(expr: string, activation: Record<string, unknown> = {}, raw = false) {
  return env.compile(expr).evaluate(activation, { raw });
}
function value(expr: string, activation: Record<string, unknown> = {}): unknown {
  const o = run(expr, activation);
  if (!o.ok) throw new Error(`${expr}: ${o.error.kind}: ${o.error.message}`);
  return o.value;
}
/** The CEL runtime value itself (ints beyond 2^53 stay bigint). */
function rawValue(expr: string, activation: Record<string, unknown> = {}): unknown {
  const o = run(expr, activation, true);
  if (!o.ok) throw new Error(`${expr}: ${o.error.kind}: ${o.error.message}`);
  return o.value;
}
function kind(expr: string, activation: Record<string, unknown> = {}): string {
  const o = run(expr, activation);
  if (o.ok) throw new Error(`${expr}: expected an error, got ${String(o.value)}`);
  return o.error.kind;
}

describe("where cel-go and the spec differ from the reference interpreter", () => {
  it("the int64 minimum divided or taken modulo by -1 overflows (cel-go moduloInt64Checked, cel-cpp CheckedMod)", () => {
    expect(kind("-9223372036854775808 / -1")).toBe("overflow");
    expect(kind("-9223372036854775808 % -1")).toBe("overflow");
    expect(kind("x % -1", { x: -(2n ** 63n) })).toBe("overflow");
    expect(value("-9223372036854775807 % -1")).toBe(0);
    expect(value("-9223372036854775808 % 2")).toBe(0);
  });

  it("uint() of a negative double is an overflow, even above -1 (cel-go doubleToUint64Checked: v < 0)", () => {
    expect(kind("uint(-0.5)")).toBe("overflow");
    expect(kind("uint(x)", { x: -1e-300 })).toBe("overflow");
    expect(value("uint(-0.0) == 0u")).toBe(true);
    expect(value("uint(0.9) == 0u")).toBe(true);
  });

  it("a double literal or double(string) beyond the double range is an error, not infinity (Go's ParseFloat ErrRange)", () => {
    expect(() => env.compile("x < 1e309")).toThrow(/double literal out of the double range/);
    expect(() => env.compile("-1.5e400")).toThrow(/double literal out of the double range/);
    expect(kind("double('1e500')")).toBe("invalid_argument");
    expect(kind("double(x)", { x: "-2e308" })).toBe("invalid_argument");
    expect(value("1.7976931348623157e308 > 0.0")).toBe(true);
    // Below the smallest double is 0, as ParseFloat rounds it; spelt-out infinities stay infinities.
    expect(value("1e-400 == 0.0 && double('1e-400') == 0.0")).toBe(true);
    expect(value("double('-Infinity') < 0.0 && double('inf') > 0.0")).toBe(true);
  });

  it("a timestamp with more than nine fraction digits parses, truncated to nanoseconds (Go's time.Parse RFC3339)", () => {
    expect(value("string(timestamp('2024-01-01T00:00:00.1234567891Z'))")).toBe("2024-01-01T00:00:00.123456789Z");
    expect(value("string(timestamp('2024-01-01T00:00:00.99999999999999+01:00'))")).toBe("2023-12-31T23:00:00.999999999Z");
    expect(kind("timestamp('2024-01-01T00:00:00.Z')")).toBe("invalid_argument");
  });

  it("has() is true for a key holding null and an error on a non-map", () => {
    expect(value("has(a.k)", { a: { k: null } })).toBe(true);
    expect(value("has(a.zz)", { a: { k: null } })).toBe(false);
    expect(kind("has(a.k)", { a: 3 })).toBe("no_matching_overload");
    expect(kind("has(a.k)", { a: null })).toBe("no_matching_overload");
  });

  it("`in` on a map with a key of another type is false, not an error", () => {
    expect(value("[1] in {'k': 1}")).toBe(false);
    expect(value("1 in {'1': 1}")).toBe(false);
    expect(value("1 in {1: 'a'}")).toBe(true);
  });

  it("unary operators need numbers / bools; list indexes need ints", () => {
    expect(kind("-a", { a: [1] })).toBe("no_matching_overload");
    expect(kind("-a", { a: "x" })).toBe("no_matching_overload");
    expect(kind("!a", { a: 1.5 })).toBe("no_matching_overload");
    expect(kind("[1, 2][a]", { a: true })).toBe("invalid_argument");
  });

  it("string conversions reject empty and malformed text", () => {
    expect(kind("int('')")).toBe("invalid_argument");
    expect(kind("double('')")).toBe("invalid_argument");
    expect(kind("double('a')")).toBe("invalid_argument");
    expect(value("double('1e3')")).toBe(1000);
  });
});

describe("the value model: integral JS numbers are ints, others doubles", () => {
  it("types activation numbers by their value", () => {
    expect(value("type(x) == int", { x: 2 })).toBe(true);
    expect(value("type(x) == double", { x: 2.5 })).toBe(true);
    // a JSON 2.0 is the JS number 2: an int
    expect(value("type(x) == int", { x: 2.0 })).toBe(true);
    expect(value("type(x) == int", { x: 2n ** 62n })).toBe(true);
    // beyond 2^53 a JS number cannot be an exact int: it is a double
    expect(value("type(x) == double", { x: 2 ** 60 })).toBe(true);
  });

  it("has no implicit int/double arithmetic, but compares across numeric types", () => {
    expect(kind("x + 1", { x: 1.5 })).toBe("no_matching_overload");
    expect(value("x + 1.5", { x: 1.5 })).toBe(3);
    expect(value("x / 2", { x: 5 })).toBe(2);
    expect(value("x / 2.0", { x: 5.5 })).toBe(2.75);
    expect(value("x == 1", { x: 1 })).toBe(true);
    expect(value("x < 2", { x: 1.5 })).toBe(true);
    expect(value("x == 1.0", { x: 1 })).toBe(true);
  });

  it("keeps computed integral doubles doubles", () => {
    expect(value("type(x + 0.5) == double", { x: 1.5 })).toBe(true);
    expect(kind("(x + 0.5) + 1", { x: 1.5 })).toBe("no_matching_overload");
  });

  it("checks int overflow with 64-bit semantics beyond 2^53", () => {
    expect(rawValue("x * 1024", { x: 2 ** 50 })).toBe(2n ** 60n);
    expect(kind("x * 1024", { x: 2n ** 60n })).toBe("overflow");
    expect(rawValue("9007199254740991 + 2")).toBe(9007199254740993n);
  });

  it("reads Dates as timestamps and treats undefined map values as absent", () => {
    expect(value("t < timestamp('2000-01-01T00:00:00Z')", { t: new Date("1999-12-31T23:59:59Z") })).toBe(true);
    expect(value("has(m.a)", { m: { a: undefined } })).toBe(false);
  });

  it("returns JSON-safe values unless asked for raw ones", () => {
    const p = env.compile("[1, 2.0, 3u, b'hi', timestamp('2020-01-01T00:00:00Z'), duration('90s'), {'k': 9223372036854775807}]");
    const json = p.evaluate({});
    expect(json.ok && json.value).toEqual([1, 2, 3, "aGk=", "2020-01-01T00:00:00Z", "90s", { k: 9223372036854775807 }]);
    const raw = p.evaluate({}, { raw: true });
    expect(raw.ok && (raw.value as unknown[])[6]).toEqual({ k: 9223372036854775807n });
  });
});

describe("error absorption", () => {
  it("&& and || are commutative with respect to errors", () => {
    expect(value("a.missing == 1 && false", { a: {} })).toBe(false);
    expect(value("false && a.missing == 1", { a: {} })).toBe(false);
    expect(value("a.missing == 1 || true", { a: {} })).toBe(true);
    expect(kind("a.missing == 1 && true", { a: {} })).toBe("no_such_key");
    expect(kind("undeclared || false")).toBe("undeclared_reference");
  });

  it("all / exists absorb errors the way their && / || expansion does", () => {
    expect(value("[0, -1].all(x, 1 / x > 0)")).toBe(false);
    expect(kind("[0, 1].all(x, 1 / x > 0)")).toBe("division_by_zero");
    expect(kind("[1, 0].exists(x, 1 / x > 1)")).toBe("division_by_zero");
    expect(value("[0, 1].exists(x, 1 / x == 1)")).toBe(true);
  });

  it("cel.bind keeps an init error until the body reads it", () => {
    expect(value("cel.bind(x, 1 / 0, 5)")).toBe(5);
    expect(kind("cel.bind(x, 1 / 0, x + 1)")).toBe("division_by_zero");
  });
});
