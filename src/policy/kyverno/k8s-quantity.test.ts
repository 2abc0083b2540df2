import { describe, expect, it } from "vitest";
import { divideExact, formatExactQuantity, parseExactQuantity } from "./k8s-quantity.js";

const q = (text: string) => {
  const parsed = parseExactQuantity(text);
  if (!parsed) throw new Error(`no quantity: ${text}`);
  return parsed;
};

describe("exact Kubernetes quantities", () => {
  it.each([
    ["1.5", 15n, 1, "DecimalSI"],
    ["500m", 500n, 3, "DecimalSI"],
    ["2k", 2n, -3, "DecimalSI"],
    ["1Gi", 1073741824n, 0, "BinarySI"],
    // A binary quantity with a fraction is rounded up at nano (ParseQuantity's slow path).
    ["1.5Gi", 1610612736000000000n, 9, "BinarySI"],
    ["1e3", 1n, -3, "DecimalExponent"],
    ["-0.25", -25n, 2, "DecimalSI"],
  ])("%s is %s × 10^-%s (%s)", (text, unscaled, scale, format) => {
    expect(q(text)).toEqual({ unscaled, scale, format });
  });

  it.each(["", ".", "1.2.3", "5 m", "1Ki ", "abc", "1K"])("%j is no quantity", (text) => {
    expect(parseExactQuantity(text)).toBeUndefined();
  });

  it.each([
    ["1536Mi", "1536Mi"],
    ["1.5Gi", "1536Mi"],
    ["1024", "1024"],
    ["1000m", "1"],
    ["0.1", "100m"],
    ["1500", "1500"],
    ["3000", "3k"],
    ["1e3", "1e3"],
    ["12e2", "1200"],
    ["0.0000001", "100n"],
    ["0", "0"],
    ["512", "512"],
    ["0.5Ki", "512"],
  ])("%s prints as %s", (text, expected) => {
    expect(formatExactQuantity(q(text))).toBe(expected);
  });

  it("divides rounding down at the larger scale, toward zero for negatives", () => {
    expect(formatExactQuantity(divideExact(q("-1"), q("3")))).toBe("0");
    expect(formatExactQuantity(divideExact(q("-1.0"), q("3")))).toBe("-300m");
    expect(formatExactQuantity(divideExact(q("10"), q("0.3")))).toBe("33300m");
  });
});
