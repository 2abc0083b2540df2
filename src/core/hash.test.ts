import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "./hash.js";

describe("sha256Hex", () => {
  it("gives the digest of a Hash object for text (UTF-8) and bytes", () => {
    for (const text of ["", "abc", "vigil-decision\u0000src\u0000id-1", "Zürich ✓ \ud83d\ude00", "x".repeat(10_000)]) {
      expect(sha256Hex(text)).toBe(createHash("sha256").update(text).digest("hex"));
    }
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    expect(sha256Hex(bytes)).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
