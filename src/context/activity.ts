import { appendSection, readU32, writeU32, type BlockHolder } from "./block.js";
import { seenDimensions, type SeenDimension } from "./settings.js";
import { HOURS_PER_WEEK } from "./time.js";

/**
 * The activity section of an entity's block (block.ts), holding
 * - an hour-of-week histogram (168 slots), exponentially decayed by "forward decay": a new
 *   event adds 2^((t - anchor)/halfLife - exp) units, so older counts weigh less without
 *   touching them; when a slot would overflow, every slot is halved and `exp` grows;
 * - one space-saving top-k seen-set per dimension (service, region, country, asn, ip, device):
 *   per dimension a 32-bit observation total, then k slots of (hash32, count16, firstSeen32
 *   in minutes, inherited16). Values are stored as FNV-1a hashes so memory does not grow with
 *   value length. `inherited` is the count a value took over from the one it evicted
 *   (space-saving's error): count - inherited is how often it was surely seen.
 * INVARIANT: the section's length and offsets are given by its ActivityLayout.
 */

/** Units one event adds at the anchor; leaves headroom for 256 events per slot before halving. */
const UNIT = 256;
const SLOT_WIDTH = 6;
/** Slots stored before `inherited` was kept (layout signatures without the `;w6` suffix). */
const OLD_SLOT_WIDTH = 5;
const WIDTH_SUFFIX = `;w${SLOT_WIDTH}`;

export interface ActivityLayout {
  readonly sizes: Readonly<Record<SeenDimension, number>>;
  readonly offsets: Readonly<Record<SeenDimension, number>>;
  readonly length: number;
  /** Words per seen-set slot: 6, or 5 in sections stored before `inherited` was kept (read only to migrate them). */
  readonly slotWidth: number;
  /** `service:12,region:6,...;w6`: stored with the block to detect layout changes. */
  readonly signature: string;
}

export function createActivityLayout(sizes: Readonly<Record<SeenDimension, number>>, slotWidth = SLOT_WIDTH): ActivityLayout {
  const offsets = {} as Record<SeenDimension, number>;
  let offset = HOURS_PER_WEEK;
  for (const dimension of seenDimensions) {
    offsets[dimension] = offset;
    offset += 2 + sizes[dimension] * slotWidth;
  }
  const signature = seenDimensions.map((dimension) => `${dimension}:${sizes[dimension]}`).join(",") + (slotWidth === SLOT_WIDTH ? WIDTH_SUFFIX : "");
  return { sizes: { ...sizes }, offsets, length: offset, slotWidth, signature };
}

export function parseLayoutSignature(signature: string): ActivityLayout | undefined {
  const current = signature.endsWith(WIDTH_SUFFIX);
  const sizes = {} as Record<SeenDimension, number>;
  for (const part of (current ? signature.slice(0, -WIDTH_SUFFIX.length) : signature).split(",")) {
    const [name, size] = part.split(":");
    if (!seenDimensions.includes(name as SeenDimension) || !Number.isInteger(Number(size))) return undefined;
    sizes[name as SeenDimension] = Number(size);
  }
  return seenDimensions.every((dimension) => sizes[dimension] !== undefined) ? createActivityLayout(sizes, current ? SLOT_WIDTH : OLD_SLOT_WIDTH) : undefined;
}

/** The mutable activity state an entity baseline carries. */
export interface ActivityHolder extends BlockHolder {
  /** Offset of the activity section in `block`; -1 when the entity has none yet. */
  actOffset: number;
  /** Forward-decay anchor, minutes since epoch. */
  actAnchor: number;
  /** Halvings applied since the anchor. */
  actExp: number;
  /** Sum of the histogram's slots (kept in step with it; recomputed when loaded). */
  actTotal: number;
  /** Events counted (undecayed): no decayed count exceeds it. */
  readonly events: number;
}

/** Sum of the histogram slots of an activity section. */
export function histogramTotal(block: Uint16Array, base: number): number {
  let total = 0;
  for (let slot = 0; slot < HOURS_PER_WEEK; slot++) total += block[base + slot] ?? 0;
  return total;
}

/** The activity section's offset, appended (empty) when the entity has none yet. */
export function ensureActivity(holder: ActivityHolder, layout: ActivityLayout, minutes: number): number {
  if (holder.actOffset < 0) {
    holder.actOffset = appendSection(holder, layout.length);
    holder.actAnchor = minutes;
    holder.actExp = 0;
    holder.actTotal = 0;
  }
  return holder.actOffset;
}

/** Adds one event at `minutes` to the hour-of-week histogram. */
export function addActivity(holder: ActivityHolder, layout: ActivityLayout, minutes: number, hourOfWeek: number, halfLifeMinutes: number): void {
  const base = ensureActivity(holder, layout, minutes);
  const block = holder.block;
  const at = base + hourOfWeek;
  // One event never weighs more than everything learned before it: an event stamped far ahead of the
  // others (a source with a wrong clock) would otherwise halve the histogram until its own hour was
  // all that is left, and every real hour after it would look odd. A principal back after a long
  // absence still forgets its old hours, over a few events instead of one.
  let increment = Math.min(UNIT * 2 ** ((minutes - holder.actAnchor) / halfLifeMinutes - holder.actExp), Math.max(UNIT, holder.actTotal));
  while (increment > 32_768 || (block[at] ?? 0) + increment > 65_535) {
    for (let slot = base; slot < base + HOURS_PER_WEEK; slot++) block[slot] = (block[slot] ?? 0) >>> 1;
    holder.actExp += 1;
    increment /= 2;
    holder.actTotal = histogramTotal(block, base);
  }
  const units = Math.max(1, Math.round(increment));
  block[at] = (block[at] ?? 0) + units;
  holder.actTotal += units;
}

/**
 * Decayed event count at `minutes` (what the histogram holds in events), and the smoothed share
 * of `hourOfWeek` (kernel ¼-½-¼ over neighbouring hours; shares of all hours add up to 1).
 */
export function activityAt(holder: ActivityHolder, minutes: number, hourOfWeek: number, halfLifeMinutes: number): { readonly events: number; readonly share: number } {
  const base = holder.actOffset;
  const total = holder.actTotal;
  if (base < 0 || total === 0) return { events: 0, share: 0 };
  const block = holder.block;
  const before = block[base + ((hourOfWeek + HOURS_PER_WEEK - 1) % HOURS_PER_WEEK)] ?? 0;
  const after = block[base + ((hourOfWeek + 1) % HOURS_PER_WEEK)] ?? 0;
  const smoothed = 0.25 * before + 0.5 * (block[base + hourOfWeek] ?? 0) + 0.25 * after;
  // At most the events counted: one stamped far ahead of `minutes` (a wrong clock; a century is 2^1300)
  // would weigh Infinity and turn every probability into NaN.
  const decayed = (total / UNIT) * 2 ** (holder.actExp - (minutes - holder.actAnchor) / halfLifeMinutes);
  const events = holder.events > 0 ? Math.min(decayed, holder.events) : decayed;
  return { events, share: smoothed / total };
}

export interface SeenEntry {
  /** Upper bound of the value's observations (space-saving's count). */
  readonly count: number;
  /** Of `count`, what it took over from the value it evicted: count - inherited were surely its own. */
  readonly inherited: number;
  readonly firstSeenMinutes: number;
  /** Observations of the dimension (all values). */
  readonly total: number;
}

/** Total observations of a dimension; 0 when nothing was recorded. */
export function seenTotal(holder: ActivityHolder | undefined, layout: ActivityLayout, dimension: SeenDimension): number {
  return holder && holder.actOffset >= 0 ? readU32(holder.block, holder.actOffset + layout.offsets[dimension]) : 0;
}

/** The entry for a value hash, or undefined when it is not (or no longer) in the set. */
export function seenLookup(holder: ActivityHolder | undefined, layout: ActivityLayout, dimension: SeenDimension, hash: number): SeenEntry | undefined {
  if (!holder || holder.actOffset < 0) return undefined;
  const block = holder.block;
  const base = holder.actOffset + layout.offsets[dimension];
  const total = readU32(block, base);
  for (let slot = 0; slot < layout.sizes[dimension]; slot++) {
    const at = base + 2 + slot * layout.slotWidth;
    const count = block[at + 2] ?? 0;
    if (count > 0 && readU32(block, at) === hash) return { count, inherited: block[at + 5] ?? 0, firstSeenMinutes: readU32(block, at + 3), total };
  }
  return undefined;
}

/**
 * Counts one observation of a value (space-saving: a new value replaces the least counted one
 * and inherits its count + 1, so heavy hitters are never lost; the inherited part is kept apart,
 * or a value seen once would read as common as the one it evicted). Counts saturate by halving
 * the dimension, which also lets old habits fade.
 */
export function seenAdd(holder: ActivityHolder, layout: ActivityLayout, dimension: SeenDimension, hash: number, minutes: number): void {
  const block = (ensureActivity(holder, layout, minutes), holder.block);
  const base = holder.actOffset + layout.offsets[dimension];
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
        const count = block[at + 2] ?? 0;
        const halved = count === 0 ? 0 : Math.max(1, count >>> 1);
        block[at + 2] = halved;
        // INVARIANT: inherited < count while the slot holds a value (it was seen at least once).
        block[at + 5] = Math.min((block[at + 5] ?? 0) >>> 1, Math.max(0, halved - 1));
      }
      total = Math.ceil(total / 2);
    }
    block[target + 2] = (block[target + 2] ?? 0) + 1;
  } else {
    const at = base + 2 + minimumSlot * SLOT_WIDTH;
    writeU32(block, at, hash);
    block[at + 2] = Math.min(65_535, minimumCount + 1);
    writeU32(block, at + 3, minutes);
    block[at + 5] = Math.min(65_534, minimumCount);
  }
  writeU32(block, base, total);
}

/**
 * The most times a value missing from a dimension's set can have been seen: 0 while the set is not
 * full (nothing was ever evicted, so a missing value is new), else the smallest count held
 * (space-saving's bound: a value seen more often than that would still be in the set).
 */
export function seenMissingBound(holder: ActivityHolder | undefined, layout: ActivityLayout, dimension: SeenDimension): number {
  if (!holder || holder.actOffset < 0) return 0;
  const base = holder.actOffset + layout.offsets[dimension];
  let minimum = Number.POSITIVE_INFINITY;
  for (let slot = 0; slot < layout.sizes[dimension]; slot++) {
    const count = holder.block[base + 2 + slot * layout.slotWidth + 2] ?? 0;
    if (count === 0) return 0;
    if (count < minimum) minimum = count;
  }
  return minimum;
}

/** Distinct values currently held for a dimension. */
export function seenDistinct(holder: ActivityHolder | undefined, layout: ActivityLayout, dimension: SeenDimension): number {
  if (!holder || holder.actOffset < 0) return 0;
  let distinct = 0;
  const base = holder.actOffset + layout.offsets[dimension];
  for (let slot = 0; slot < layout.sizes[dimension]; slot++) if ((holder.block[base + 2 + slot * layout.slotWidth + 2] ?? 0) > 0) distinct++;
  return distinct;
}

/**
 * Copies an activity section into a new layout (set sizes changed, or slots stored without
 * `inherited`, which then counts as 0): histogram as is, the most counted values per dimension.
 */
export function migrateActivity(block: Uint16Array, from: ActivityLayout, to: ActivityLayout): Uint16Array {
  const result = new Uint16Array(to.length);
  result.set(block.subarray(0, HOURS_PER_WEEK));
  for (const dimension of seenDimensions) {
    const entries: { hash: number; count: number; first: number; inherited: number }[] = [];
    const base = from.offsets[dimension];
    for (let slot = 0; slot < from.sizes[dimension]; slot++) {
      const at = base + 2 + slot * from.slotWidth;
      const count = block[at + 2] ?? 0;
      if (count > 0) entries.push({ hash: readU32(block, at), count, first: readU32(block, at + 3), inherited: from.slotWidth > OLD_SLOT_WIDTH ? block[at + 5] ?? 0 : 0 });
    }
    entries.sort((left, right) => right.count - left.count);
    const target = to.offsets[dimension];
    writeU32(result, target, readU32(block, base));
    entries.slice(0, to.sizes[dimension]).forEach((entry, slot) => {
      const at = target + 2 + slot * to.slotWidth;
      writeU32(result, at, entry.hash);
      result[at + 2] = entry.count;
      writeU32(result, at + 3, entry.first);
      result[at + 5] = entry.inherited;
    });
  }
  return result;
}
