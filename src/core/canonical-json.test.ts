import { describe, expect, it } from "vitest";
import { isVigilError } from "./errors.js";
import { canonicalJson, PLAIN_FORM } from "./canonical-json.js";

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
  it("rejects nesting deeper than 1300 levels (an input at the sources' 1200 inside a decision fits)", () => {
    let deep: unknown = 1;
    for (let level = 0; level < 1300; level++) deep = [deep];
    expect(canonicalJson(deep)).toMatch(/^\[{1300}1\]{1300}$/);
    deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/deeper than 1300 levels/);
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

/**
 * The three copies canonicalJson replaced, verbatim: learned-state checksums (learn/state-store),
 * policy revisions (policy/vigil/compile) and content ids (sources/values) were computed with
 * them and are stored, so the core function must give their text on every value they are given.
 */
const replaced = {
  learnStateStore: function canonicalJson(value: unknown): string {
    if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
    if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(",")}]`;
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).filter((key) => record[key] !== undefined).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
  },
  policyCompile: function canonicalJson(value: unknown): string {
    if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    const entries = Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  },
  sourcesValues: function canonicalJson(value: unknown): string {
    if (value === null || typeof value !== "object") {
      const text = JSON.stringify(value);
      return text === undefined ? "null" : text;
    }
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
  },
};

/** Deterministic pseudo-random JSON trees (mulberry32), with undefined members and items. */
function randomValues(count: number, seed: number): unknown[] {
  let state = seed;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const strings = ["", "a", "B", "é", "\u20AC", "\u{1F600}", "\uFB01", "\ud800", "q\"uote", "back\\slash", "new\nline", "\u0000", "\u2028", "__proto__", "10", "2", "-1", "constructor"];
  const numbers = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789012345680000, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5e-324];
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const build = (depth: number): unknown => {
    const kind = Math.floor(next() * (depth > 4 ? 5 : 8));
    switch (kind) {
      case 0: return null;
      case 1: return next() < 0.5;
      case 2: return pick(numbers);
      case 3: return pick(strings);
      case 4: return next() < 0.2 ? undefined : pick(strings) + String(Math.floor(next() * 100));
      case 5: return Array.from({ length: Math.floor(next() * 5) }, () => build(depth + 1));
      default: {
        const record: Record<string, unknown> = {};
        const size = Math.floor(next() * 6);
        for (let i = 0; i < size; i++) Object.defineProperty(record, pick(strings) + (next() < 0.5 ? "" : String(i)), { value: build(depth + 1), enumerable: true, writable: true, configurable: true });
        return record;
      }
    }
  };
  return Array.from({ length: count }, () => build(0));
}

function nested(levels: number): unknown {
  let value: unknown = { leaf: [1, "x"] };
  for (let level = 0; level < levels; level++) value = level % 2 === 0 ? [value, level] : { [`k${level % 7}`]: value, z: level };
  return value;
}

describe("canonicalJson gives the text of the copies it replaced", () => {
  const values: unknown[] = [
    ...randomValues(2000, 42),
    { b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } },
    { z: -0, n: Number.NaN, i: Number.POSITIVE_INFINITY, u: undefined, list: [undefined, 1, undefined, [[], [[undefined]]]] },
    JSON.parse('{"__proto__": {"x": 1}, "constructor": "c", "toJSON": "not a function"}'),
    { "\u{1F600}": 2, "\u20AC": 3, a: 4, A: 5, 1: 6, "\uFB01": 1, 10: 0, 2: 0 },
    [], {}, [[]], [{}], "", 0, -0, Number.NaN, null, true, undefined,
    nested(900),
  ];

  it("default form = the learned-state copy, so stored learned-state checksums still verify", () => {
    for (const value of values) {
      expect(canonicalJson(value)).toBe(replaced.learnStateStore(value));
      // A learned state is checked after a round trip through storage (JSON text) too.
      const stored: unknown = JSON.parse(canonicalJson(value));
      expect(canonicalJson(stored)).toBe(replaced.learnStateStore(stored));
    }
  });

  it("PLAIN_FORM = the policy-revision and content-id copies, also on what YAML gives (Date, Buffer, Set, Map) and deep nesting", () => {
    const yamlish: unknown[] = [
      { at: new Date("2024-01-02T03:04:05.000Z"), bytes: Buffer.from("hello"), raw: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) },
      { set: new Set(["x", "y"]), map: new Map([["x", 1]]), dates: [new Date(0), [new Date(1)]] },
      new Date(0),
      Buffer.from(""),
      nested(1500),
    ];
    for (const value of [...values, ...yamlish]) {
      const text = canonicalJson(value, PLAIN_FORM);
      expect(text).toBe(replaced.policyCompile(value));
      expect(text).toBe(replaced.sourcesValues(value));
      expect(text).toBe(replaced.learnStateStore(value));
    }
    expect(canonicalJson({ at: new Date(0), b: Buffer.from("hi") }, PLAIN_FORM)).toBe('{"at":{},"b":{"0":104,"1":105}}');
  });

  it("differs from the copies only where they threw or wrote invalid JSON, or on function members", () => {
    expect(() => replaced.sourcesValues({ n: 1n })).toThrow(TypeError);
    expect(canonicalJson({ n: 1n }, PLAIN_FORM)).toBe('{"n":1}');
    const holes = [1, , 3];
    expect(replaced.policyCompile(holes)).toBe("[1,,3]");
    expect(canonicalJson(holes, PLAIN_FORM)).toBe("[1,null,3]");
    expect(replaced.policyCompile({ f: () => 1 })).toBe('{"f":null}');
    expect(canonicalJson({ f: () => 1 }, PLAIN_FORM)).toBe("{}");
  });

  it("the default form differs on Dates and deep nesting: why revisions and content ids keep PLAIN_FORM", () => {
    expect(canonicalJson({ at: new Date(0) })).not.toBe(replaced.policyCompile({ at: new Date(0) }));
    expect(() => canonicalJson(nested(1500))).toThrow(/deeper than 1300 levels/);
  });
});

describe("canonicalJson options", () => {
  it("maxDepth sets the limit and toJSON: false walks own keys", () => {
    expect(() => canonicalJson([[[1]]], { maxDepth: 2 })).toThrow(/deeper than 2 levels/);
    expect(canonicalJson([[[1]]], { maxDepth: 3 })).toBe("[[[1]]]");
    expect(canonicalJson({ at: new Date(0) }, { toJSON: false })).toBe('{"at":{}}');
  });

  it("a cycle without a depth limit overflows the stack, as the copies did", () => {
    const value: Record<string, unknown> = {};
    value["self"] = value;
    expect(() => canonicalJson(value, PLAIN_FORM)).toThrow(RangeError);
    expect(() => replaced.policyCompile(value)).toThrow(RangeError);
  });
});
