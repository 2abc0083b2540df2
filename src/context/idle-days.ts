import { appendSection, readF32, readU32, writeF32, writeU32, type BlockHolder } from "./block.js";

/**
 * Per-day utilisation aggregates for the idle detector: a ring of `days` entries in a section of
 * the entity's block (block.ts), 9 words per day: [epochDay (u32, 2 words), CPU sum ×100 (u32,
 * 2 words), max CPU ×100, CPU samples, network sum (float32, 2 words), network samples]. Sums, not
 * running means: a mean kept in 16 bits and updated by (x - mean)/(n + 1) stops moving once that
 * step rounds to zero (a few hundred samples), so with per-minute data the day's mean was the mean
 * of its first hours. The day takes 32 bits: in 16 it wrapped after epoch day 65,535 (2149-06-05),
 * and no day after that matched its slot again. CPU is kept to 0.01 percentage points per sample
 * (clamped to 0..655.35). A sample for a day older than the one its ring slot holds is dropped;
 * counts saturate at 65,535. Rings stored in older layouts (6 words with running means, 8 words
 * with a 16-bit day) are converted on load.
 */
const WIDTH = 9;
/** Word offsets within a day. */
const CPU_SUM = 2;
const CPU_MAX = 4;
const CPU_SAMPLES = 5;
const NETWORK_SUM = 6;
const NETWORK_SAMPLES = 8;
/** The layout with a 16-bit day: [epochDay, CPU sum ×100 (2 words), max CPU ×100, CPU samples, network sum (2 words), network samples]. */
const DAY16_WIDTH = 8;
/** The layout before sums: [epochDay, mean CPU ×100, max CPU ×100, CPU samples, mean network (log2(1+x) ×1024), network samples]. */
const OLD_WIDTH = 6;

export interface IdleRing {
  readonly holder: BlockHolder;
  readonly offset: number;
  readonly days: number;
}

export interface IdleDay {
  readonly day: number;
  readonly cpuMean: number | undefined;
  readonly cpuMax: number | undefined;
  readonly cpuSamples: number;
  readonly networkMean: number | undefined;
  readonly networkSamples: number;
}

/**
 * Ring slots for a look-back of `windowDays` complete days: one more for the current day, whose
 * samples would otherwise take the slot of the oldest complete day (epochDay % days).
 */
export function idleRingSlots(windowDays: number): number {
  return windowDays + 1;
}

/** Complete days a ring of `slots` can hold besides the current day (old rings held one slot per window day). */
export function idleRingWindow(ring: IdleRing): number {
  return Math.max(1, ring.days - 1);
}

export function idleWords(days: number): number {
  return days * WIDTH;
}

export function createIdleRing(holder: BlockHolder, days: number): IdleRing {
  return { holder, offset: appendSection(holder, idleWords(days)), days };
}

const cpuWord = (value: number): number => Math.min(65_535, Math.max(0, Math.round(value * 100)));
const networkValue = (word: number): number => 2 ** (word / 1024) - 1;

/** Records one CPU (percent) or network sample for its UTC day. */
export function recordIdleSample(ring: IdleRing, epochDay: number, kind: "cpu" | "network", value: number): void {
  if (!Number.isFinite(value)) return;
  const block = ring.holder.block;
  const base = ring.offset + (epochDay % ring.days) * WIDTH;
  const stored = readU32(block, base);
  if (stored !== epochDay) {
    if (stored > epochDay) return;
    block.fill(0, base, base + WIDTH);
    writeU32(block, base, epochDay);
  }
  if (kind === "cpu") {
    const samples = block[base + CPU_SAMPLES] ?? 0;
    if (samples === 65_535) return;
    const word = cpuWord(value);
    writeU32(block, base + CPU_SUM, readU32(block, base + CPU_SUM) + word);
    block[base + CPU_MAX] = Math.max(block[base + CPU_MAX] ?? 0, word);
    block[base + CPU_SAMPLES] = samples + 1;
  } else {
    const samples = block[base + NETWORK_SAMPLES] ?? 0;
    if (samples === 65_535) return;
    writeF32(block, base + NETWORK_SUM, readF32(block, base + NETWORK_SUM) + Math.max(0, value));
    block[base + NETWORK_SAMPLES] = samples + 1;
  }
}

/** The aggregates of a day, or undefined when the ring holds nothing for it. */
export function readIdleDay(ring: IdleRing, epochDay: number): IdleDay | undefined {
  const block = ring.holder.block;
  const base = ring.offset + (epochDay % ring.days) * WIDTH;
  if (readU32(block, base) !== epochDay) return undefined;
  const cpuSamples = block[base + CPU_SAMPLES] ?? 0;
  const networkSamples = block[base + NETWORK_SAMPLES] ?? 0;
  return {
    day: epochDay,
    cpuMean: cpuSamples > 0 ? readU32(block, base + CPU_SUM) / cpuSamples / 100 : undefined,
    cpuMax: cpuSamples > 0 ? (block[base + CPU_MAX] ?? 0) / 100 : undefined,
    cpuSamples,
    networkMean: networkSamples > 0 ? readF32(block, base + NETWORK_SUM) / networkSamples : undefined,
    networkSamples,
  };
}

/** Copies every day `from` holds into `to` (a ring of another size): each day lands in its slot there. */
export function copyIdleRing(from: IdleRing, to: IdleRing): void {
  const source = from.holder.block;
  const target = to.holder.block;
  for (let slot = 0; slot < from.days; slot++) {
    const at = from.offset + slot * WIDTH;
    const day = readU32(source, at);
    if (day === 0) continue;
    const into = to.offset + (day % to.days) * WIDTH;
    // Two days of the old ring may meet in one slot of a smaller ring: the newer one stays.
    if (readU32(target, into) > day) continue;
    target.set(source.subarray(at, at + WIDTH), into);
  }
}

/** Words a ring of `days` slots took in the older layout (running means, 6 words a day). */
export function oldIdleWords(days: number): number {
  return days * OLD_WIDTH;
}

/** Converts a ring stored in the older layout (running means) to sums: mean × samples. */
export function migrateIdleRing(old: Uint16Array, days: number): Uint16Array {
  const result = new Uint16Array(idleWords(days));
  for (let slot = 0; slot < days; slot++) {
    const from = slot * OLD_WIDTH;
    const to = slot * WIDTH;
    const cpuSamples = old[from + 3] ?? 0;
    const networkSamples = old[from + 5] ?? 0;
    writeU32(result, to, old[from] ?? 0);
    writeU32(result, to + CPU_SUM, Math.round((old[from + 1] ?? 0) * cpuSamples));
    result[to + CPU_MAX] = old[from + 2] ?? 0;
    result[to + CPU_SAMPLES] = cpuSamples;
    writeF32(result, to + NETWORK_SUM, networkSamples > 0 ? networkValue(old[from + 4] ?? 0) * networkSamples : 0);
    result[to + NETWORK_SAMPLES] = networkSamples;
  }
  return result;
}

/** Words a ring of `days` slots took with sums and a 16-bit day. */
export function day16IdleWords(days: number): number {
  return days * DAY16_WIDTH;
}

/** Converts a ring stored with a 16-bit day (sums) to the current layout: the day widens, the rest moves one word. */
export function widenIdleDays(old: Uint16Array, days: number): Uint16Array {
  const result = new Uint16Array(idleWords(days));
  for (let slot = 0; slot < days; slot++) {
    const from = slot * DAY16_WIDTH;
    const to = slot * WIDTH;
    writeU32(result, to, old[from] ?? 0);
    result.set(old.subarray(from + 1, from + DAY16_WIDTH), to + CPU_SUM);
  }
  return result;
}
