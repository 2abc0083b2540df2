import { seenDimensions, type SeenDimension } from "./settings.js";
import { HOURS_PER_WEEK } from "./time.js";

/**
 * The activity block of an entity: one Uint16Array holding
 * - an hour-of-week histogram (168 slots), exponentially decayed by "forward decay": a new
 *   event adds 2^((t - anchor)/halfLife - exp) units, so older counts weigh less without
 *   touching them; when a slot would overflow, every slot is halved and `exp` grows;
 * - one space-saving top-k seen-set per dimension (service, region, country, asn, ip, device):
 *   per dimension a 32-bit observation total, then k slots of (hash32, count16, firstSeen32
 *   in minutes). Values are stored as FNV-1a hashes so memory does not grow with value length.
 * INVARIANT: the block's length and offsets are given by its ActivityLayout.
 */

/** Units one event adds at the anchor; leaves headroom for 256 events per slot before halving. */
const UNIT = 256;
const SLOT_WIDTH = 5;

export interface ActivityLayout {
  readonly sizes: Readonly<Record<SeenDimension, number>>;
  readonly offsets: Readonly<Record<SeenDimension, number>>;
  readonly length: number;
  /** `service:12,region:6,...`: stored with the block to detect layout changes. */
  readonly signature: string;
}

export function createActivityLayout(sizes: Readonly<Record<SeenDimension, number>>): ActivityLayout {
  const offsets = {} as Record<SeenDimension, number>;
  let offset = HOURS_PER_WEEK;
  for (const dimension of seenDimensions) {
    offsets[dimension] = offset;
    offset += 2 + sizes[dimension] * SLOT_WIDTH;
  }
  return { sizes: { ...sizes }, offsets, length: offset, signature: seenDimensions.map((dimension) => `${dimension}:${sizes[dimension]}`).join(",") };
}

export function parseLayoutSignature(signature: string): ActivityLayout | undefined {
  const sizes = {} as Record<SeenDimension, number>;
  for (const part of signature.split(",")) {
    const [name, size] = part.split(":");
    if (!seenDimensions.includes(name as SeenDimension) || !Number.isInteger(Number(size))) return undefined;
    sizes[name as SeenDimension] = Number(size);
  }
  return seenDimensions.every((dimension) => sizes[dimension] !== undefined) ? createActivityLayout(sizes) : undefined;
}

/** The mutable activity state an entity baseline carries. */
export interface ActivityHolder {
  act: Uint16Array | undefined;
  /** Forward-decay anchor, minutes since epoch. */
  actAnchor: number;
  /** Halvings applied since the anchor. */
  actExp: number;
}

/** Adds one event at `minutes` to the hour-of-week histogram. */
export function addActivity(holder: ActivityHolder, layout: ActivityLayout, minutes: number, hourOfWeek: number, halfLifeMinutes: number): void {
  if (!holder.act) {
    holder.act = new Uint16Array(layout.length);
    holder.actAnchor = minutes;
    holder.actExp = 0;
  }
  const histogram = holder.act;
  let increment = UNIT * 2 ** ((minutes - holder.actAnchor) / halfLifeMinutes - holder.actExp);
  while (increment > 32_768 || (histogram[hourOfWeek] ?? 0) + increment > 65_535) {
    for (let slot = 0; slot < HOURS_PER_WEEK; slot++) histogram[slot] = (histogram[slot] ?? 0) >>> 1;
    holder.actExp += 1;
    increment /= 2;
  }
  histogram[hourOfWeek] = (histogram[hourOfWeek] ?? 0) + Math.max(1, Math.round(increment));
}

/**
 * Decayed event count at `minutes` (what the histogram holds in events), and the smoothed share
 * of `hourOfWeek` (kernel ¼-½-¼ over neighbouring hours; shares of all hours add up to 1).
 */
export function activityAt(holder: ActivityHolder, minutes: number, hourOfWeek: number, halfLifeMinutes: number): { readonly events: number; readonly share: number } {
  const histogram = holder.act;
  if (!histogram) return { events: 0, share: 0 };
  let total = 0;
  for (let slot = 0; slot < HOURS_PER_WEEK; slot++) total += histogram[slot] ?? 0;
  if (total === 0) return { events: 0, share: 0 };
  const before = histogram[(hourOfWeek + HOURS_PER_WEEK - 1) % HOURS_PER_WEEK] ?? 0;
  const after = histogram[(hourOfWeek + 1) % HOURS_PER_WEEK] ?? 0;
  const smoothed = 0.25 * before + 0.5 * (histogram[hourOfWeek] ?? 0) + 0.25 * after;
  const events = (total / UNIT) * 2 ** (holder.actExp - (minutes - holder.actAnchor) / halfLifeMinutes);
  return { events, share: smoothed / total };
}

function readU32(block: Uint16Array, index: number): number {
  return ((block[index] ?? 0) | ((block[index + 1] ?? 0) << 16)) >>> 0;
}

function writeU32(block: Uint16Array, index: number, value: number): void {
  block[index] = value & 0xffff;
  block[index + 1] = (value >>> 16) & 0xffff;
}

export interface SeenEntry {
  readonly count: number;
  readonly firstSeenMinutes: number;
  /** Observations of the dimension (all values). */
  readonly total: number;
}

/** Total observations of a dimension; 0 when nothing was recorded. */
export function seenTotal(block: Uint16Array | undefined, layout: ActivityLayout, dimension: SeenDimension): number {
  return block ? readU32(block, layout.offsets[dimension]) : 0;
}

/** The entry for a value hash, or undefined when it is not (or no longer) in the set. */
export function seenLookup(block: Uint16Array | undefined, layout: ActivityLayout, dimension: SeenDimension, hash: number): SeenEntry | undefined {
  if (!block) return undefined;
  const base = layout.offsets[dimension];
  const total = readU32(block, base);
  for (let slot = 0; slot < layout.sizes[dimension]; slot++) {
    const at = base + 2 + slot * SLOT_WIDTH;
    const count = block[at + 2] ?? 0;
    if (count > 0 && readU32(block, at) === hash) return { count, firstSeenMinutes: readU32(block, at + 3), total };
  }
  return undefined;
}

/**
 * Counts one observation of a value (space-saving: a new value replaces the least counted one
 * and inherits its count + 1, so heavy hitters are never lost). Counts saturate by halving the
 * dimension, which also lets old habits fade.
 */
export function seenAdd(holder: ActivityHolder, layout: ActivityLayout, dimension: SeenDimension, hash: number, minutes: number): void {
  if (!holder.act) {
    holder.act = new Uint16Array(layout.length);
    holder.actAnchor = minutes;
    holder.actExp = 0;
  }
  const block = holder.act;
  const base = layout.offsets[dimension];
  const size = layout.sizes[dimension];
  let total = readU32(block, base) + 1;
  let target = -1;
  let minimumSlot = 0;
  let minimumCount = Number.POSITIVE_INFINITY;
  for (let slot = 0; slot < size; slot++) {
    const at = base + 2 + slot * SLOT_WIDTH;
    const count = block[at + 2] ?? 0;
    if (count > 0 && readU32(block, at) === hash) {
      target = at;
      break;
    }
    if (count < minimumCount) {
      minimumCount = count;
      minimumSlot = slot;
    }
  }
  if (target >= 0) {
    if ((block[target + 2] ?? 0) === 65_535) {
      for (let slot = 0; slot < size; slot++) {
        const at = base + 2 + slot * SLOT_WIDTH;
        block[at + 2] = Math.max(block[at + 2] === 0 ? 0 : 1, (block[at + 2] ?? 0) >>> 1);
      }
      total = Math.ceil(total / 2);
    }
    block[target + 2] = (block[target + 2] ?? 0) + 1;
  } else {
    const at = base + 2 + minimumSlot * SLOT_WIDTH;
    writeU32(block, at, hash);
    block[at + 2] = Math.min(65_535, minimumCount + 1);
    writeU32(block, at + 3, minutes);
  }
  writeU32(block, base, total);
}

/** Distinct values currently held for a dimension. */
export function seenDistinct(block: Uint16Array | undefined, layout: ActivityLayout, dimension: SeenDimension): number {
  if (!block) return 0;
  let distinct = 0;
  const base = layout.offsets[dimension];
  for (let slot = 0; slot < layout.sizes[dimension]; slot++) if ((block[base + 2 + slot * SLOT_WIDTH + 2] ?? 0) > 0) distinct++;
  return distinct;
}

/** Copies a block into a new layout (settings changed): histogram as is, the most counted values per dimension. */
export function migrateActivity(block: Uint16Array, from: ActivityLayout, to: ActivityLayout): Uint16Array {
  const result = new Uint16Array(to.length);
  result.set(block.subarray(0, HOURS_PER_WEEK));
  for (const dimension of seenDimensions) {
    const entries: { hash: number; count: number; first: number }[] = [];
    const base = from.offsets[dimension];
    for (let slot = 0; slot < from.sizes[dimension]; slot++) {
      const at = base + 2 + slot * SLOT_WIDTH;
      const count = block[at + 2] ?? 0;
      if (count > 0) entries.push({ hash: readU32(block, at), count, first: readU32(block, at + 3) });
    }
    entries.sort((left, right) => right.count - left.count);
    const target = to.offsets[dimension];
    writeU32(result, target, readU32(block, base));
    entries.slice(0, to.sizes[dimension]).forEach((entry, slot) => {
      const at = target + 2 + slot * SLOT_WIDTH;
      writeU32(result, at, entry.hash);
      result[at + 2] = entry.count;
      writeU32(result, at + 3, entry.first);
    });
  }
  return result;
}
