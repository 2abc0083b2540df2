import { describe, expect, it } from "vitest";
import { extendableCopy } from "./objects.js";

describe("extendableCopy", () => {
  it("copies like a spread: own enumerable keys in order, a fresh object, the source untouched", () => {
    const proto = { inherited: 1 };
    const source = Object.assign(Object.create(proto) as Record<string, unknown>, { b: 1, a: { deep: true }, 2: "two", 1: "one" });
    Object.defineProperty(source, "hidden", { value: 1, enumerable: false });
    const copy = extendableCopy(source);
    expect(copy).not.toBe(source);
    expect(Object.keys(copy)).toEqual(Object.keys({ ...source }));
    expect(copy).toEqual({ ...source });
    expect(copy["a"]).toBe(source["a"]);
    expect("inherited" in copy).toBe(false);
    copy["element"] = 1;
    expect(source["element"]).toBeUndefined();
  });

  it("keeps a __proto__ key as an own property, as a spread does (JSON.parse creates one)", () => {
    const source = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>;
    const copy = extendableCopy(source);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(copy, "__proto__")).toBe(true);
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
    expect(JSON.stringify(copy)).toBe(JSON.stringify({ ...source }));
  });
});
