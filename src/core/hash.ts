import * as crypto from "node:crypto";

type OneShotHash = (algorithm: string, data: string | Uint8Array, encoding: "hex") => string;
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

/**
 * SHA-256 of UTF-8 text (or bytes) as lower-case hex. Uses the one-shot `crypto.hash` (Node ≥
 * 20.12: no Hash object per call, about half the CPU for short inputs) when present, else a Hash
 * object; the digest is the same either way.
 */
export const sha256Hex: (data: string | Uint8Array) => string = typeof oneShot === "function"
  ? (data) => oneShot("sha256", data, "hex")
  : (data) => crypto.createHash("sha256").update(data).digest("hex");
