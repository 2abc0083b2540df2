import { describe, expect, it } from "vitest";
import { isVigilError } from "../core/index.js";
import { canonicalJson } from "./canonical-json.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth and writes no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it("sorts keys by UTF-16 code units (RFC 8785 3.2.3)", () => {
    // U+20AC (euro) sorts before U+1F600 (surrogate pair D83D DE00 in UTF-16) under code-unit order, although its code point is lower anyway;
    // U+FB01 (ligature) is above the high surrogate D83D, so it sorts after the emoji in UTF-16 order even though its code point is lower.
    const value = { "\uFB01": 1, "\u{1F600}": 2, "\u20AC": 3, a: 4, A: 5, "1": 6 };
    expect(canonicalJson(value)).toBe('{"1":6,"A":5,"a":4,"\u20AC":3,"\u{1F600}":2,"\uFB01":1}');
  });

  it("prints numbers as JavaScript prints them", () => {
    expect(canonicalJson([1e21, 1e-7, 0.1, 100, -5.5, 123456789012345680000])).toBe("[1e+21,1e-7,0.1,100,-5.5,123456789012345680000]");
  });

  it("writes -0 as 0 and non-finite numbers as null", () => {
    expect(canonicalJson({ z: -0, n: Number.NaN, i: Number.POSITIVE_INFINITY, m: Number.NEGATIVE_INFINITY })).toBe('{"i":null,"m":null,"n":null,"z":0}');
  });

  it("omits undefined object members and writes undefined array items as null, like JSON.stringify", () => {
    const value = { a: undefined, b: [undefined, 1, () => 1], c: Symbol("s") };
    expect(canonicalJson(value)).toBe('{"b":[null,1,null]}');
    expect(canonicalJson(JSON.parse(canonicalJson(value)))).toBe(canonicalJson(value));
    expect(canonicalJson(undefined)).toBe("null");
  });

  it("escapes strings as JSON.stringify does", () => {
    expect(canonicalJson({ s: 'quote " backslash \\ newline \n tab \t nul \u0000 \u2028' })).toBe(`{"s":${JSON.stringify('quote " backslash \\ newline \n tab \t nul \u0000 \u2028')}}`);
  });

  it("escapes lone surrogates and keeps pairs, as well-formed JSON.stringify does", () => {
    const value = { lone: "a\ud800b", low: "\udc00", pair: "\u{1F600}", plain: "abc \u2028 é" };
    expect(canonicalJson(value)).toBe(`{"lone":${JSON.stringify("a\ud800b")},"low":${JSON.stringify("\udc00")},"pair":"\u{1F600}","plain":"abc \u2028 é"}`);
    expect(canonicalJson(value)).toContain("\\ud800");
  });

  it("writes safe bigints as numbers and unsafe ones as strings", () => {
    expect(canonicalJson({ small: 42n, big: 9007199254740993n })).toBe('{"big":"9007199254740993","small":42}');
  });

  it("uses toJSON (Date)", () => {
    expect(canonicalJson({ at: new Date("2024-01-02T03:04:05.000Z") })).toBe('{"at":"2024-01-02T03:04:05.000Z"}');
  });

  it("is independent of key insertion order", () => {
    expect(canonicalJson({ x: 1, y: { b: 2, a: 1 } })).toBe(canonicalJson({ y: { a: 1, b: 2 }, x: 1 }));
  });

  it("accepts a shared (non-circular) subtree twice", () => {
    const shared = { k: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"k":1},"b":{"k":1}}');
  });

  it("rejects circular references with the path", () => {
    const value: Record<string, unknown> = { a: { b: [] as unknown[] } };
    ((value["a"] as Record<string, unknown>)["b"] as unknown[]).push(value);
    try {
      canonicalJson(value);
      expect.unreachable();
    } catch (error) {
      expect(isVigilError(error) && error.code).toBe("VIGIL_BAD_INPUT");
      expect(String(error)).toContain("$.a.b[0]");
    }
  });
});

describe("canonicalJson limits", () => {
  it("rejects nesting deeper than 1000 levels", () => {
    let deep: unknown = 1;
    for (let level = 0; level < 1001; level++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/deeper than 1000 levels/);
    let fine: unknown = 1;
    for (let level = 0; level < 999; level++) fine = [fine];
    expect(canonicalJson(fine)).toBe(`${"[".repeat(999)}1${"]".repeat(999)}`);
  });
});

describe("canonicalJson key-order cache", () => {
  it("sorts every key list correctly when lists share first keys, orders or lengths", () => {
    const objects: Record<string, unknown>[] = [
      { b: 1, a: 2, c: 3 },
      { b: 1, c: 3, a: 2 },
      { b: 1, a: 2 },
      { b: 1, a: 2, c: 3, d: 4 },
      { b: 1, z: 2, c: 3 },
      Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${(i * 37) % 100}`, i])),
    ];
    for (let round = 0; round < 3; round++) {
      for (const object of objects) {
        const expected = `{${Object.keys(object).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(object[k])}`).join(",")}}`;
        expect(canonicalJson(object)).toBe(expected);
      }
    }
  });
});
