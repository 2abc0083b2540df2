import { randomFillSync } from "node:crypto";

/**
 * Identifiers that sort by creation time: UUID version 7 (RFC 9562, section 5.7): 48 bits of
 * Unix time in milliseconds, the version (7), 12 random bits, the variant (10), 62 random bits;
 * text form `xxxxxxxx-xxxx-7xxx-[89ab]xxx-xxxxxxxxxxxx`, lower-case hex.
 *
 * Decision ids use it where nothing makes them deterministic (the decide API, admission reviews,
 * `replay --no-context`, `vigil gate`): the decision record keeps a unique index on the id, and
 * ids that grow with time are inserted at the right edge of that index instead of at random
 * places (a random UUID v4 dirties index pages across the whole file in every batch). They stay
 * unguessable: 74 random bits per id. Within one millisecond the order is random, which is all
 * the index needs.
 */
const POOL_IDS = 256;
const pool = new Uint8Array(16 * POOL_IDS);
let next = pool.length;
const hex: string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

export function timeOrderedId(nowMs: number = Date.now()): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const at = next;
  next += 16;
  // 48-bit big-endian milliseconds; negative or fractional times are clamped to whole ms >= 0.
  const ms = Math.max(0, Math.floor(nowMs));
  const high = Math.floor(ms / 2 ** 32);
  const low = ms >>> 0;
  const b = pool;
  let text = hex[(high >>> 8) & 0xff]! + hex[high & 0xff]! + hex[low >>> 24]! + hex[(low >>> 16) & 0xff]! + "-" + hex[(low >>> 8) & 0xff]! + hex[low & 0xff]! + "-";
  text += hex[0x70 | (b[at + 6]! & 0x0f)]! + hex[b[at + 7]!]! + "-" + hex[0x80 | (b[at + 8]! & 0x3f)]! + hex[b[at + 9]!]! + "-";
  for (let i = 10; i < 16; i++) text += hex[b[at + i]!]!;
  return text;
}
