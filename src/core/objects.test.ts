import { describe, expect, it } from "vitest";
import { withFields } from "./objects.js";

describe("withFields", () => {
  it("copies the base with the fields added or replaced, leaving the base as it was", () => {
    const base = { a: 1, b: { deep: true }, c: "x" };
    const copy = withFields(base, { c: "y", d: 4 });
    expect(copy).toEqual({ a: 1, b: { deep: true }, c: "y", d: 4 });
    expect(Object.keys(copy)).toEqual(["a", "b", "c", "d"]);
    expect(copy.b).toBe(base.b);
    expect(base).toEqual({ a: 1, b: { deep: true }, c: "x" });
  });

  it("keeps an own __proto__ key as a plain property, as a spread does, never as the prototype", () => {
    const base = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const copy = withFields(base, { b: 2 }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((copy as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.hasOwn(copy, "__proto__")).toBe(true);
    expect(copy["b"]).toBe(2);
    const viaFields = withFields({ a: 1 }, JSON.parse('{"__proto__": {"polluted": true}}') as object);
    expect(Object.getPrototypeOf(viaFields)).toBe(Object.prototype);
  });

  it("copies symbol keys and skips non-enumerable ones, as a spread does", () => {
    const sym = Symbol("s");
    const base: Record<string | symbol, unknown> = { a: 1, [sym]: "sym" };
    Object.defineProperty(base, "hidden", { value: 1, enumerable: false });
    const copy = withFields(base, { b: 2 }) as Record<string | symbol, unknown>;
    expect(copy[sym]).toBe("sym");
    expect(Object.hasOwn(copy, "hidden")).toBe(false);
  });
});
