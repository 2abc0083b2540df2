import { appendSection, type BlockHolder } from "./block.js";

/**
 * Per-day utilisation aggregates for the idle detector: a ring of `days` entries in a section of
 * the entity's block (block.ts), 6 words per day: [epochDay, mean CPU ×100, max CPU ×100, CPU
 * samples, mean network (log2(1+x) ×1024), network samples]. Means are updated incrementally;
 * CPU is kept to 0.01 percentage points (clamped to 0..655.35), network to ≈0.07%. A sample
 * for a day older than the one its ring slot holds is dropped; counts saturate at 65,535.
 */
const WIDTH = 6;

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
const networkWord = (value: number): number => Math.min(65_535, Math.round(Math.log2(1 + Math.max(0, value)) * 1024));
const networkValue = (word: number): number => 2 ** (word / 1024) - 1;

/** Records one CPU (percent) or network sample for its UTC day. */
export function recordIdleSample(ring: IdleRing, epochDay: number, kind: "cpu" | "network", value: number): void {
  if (!Number.isFinite(value)) return;
  const block = ring.holder.block;
  const base = ring.offset + (epochDay % ring.days) * WIDTH;
  const stored = block[base] ?? 0;
  if (stored !== epochDay) {
    if (stored > epochDay) return;
    block.fill(0, base, base + WIDTH);
    block[base] = epochDay;
  }
  if (kind === "cpu") {
    const samples = block[base + 3] ?? 0;
    if (samples === 65_535) return;
    const mean = (block[base + 1] ?? 0) / 100;
    block[base + 1] = cpuWord(mean + (value - mean) / (samples + 1));
    block[base + 2] = samples === 0 ? cpuWord(value) : Math.max(block[base + 2] ?? 0, cpuWord(value));
    block[base + 3] = samples + 1;
  } else {
    const samples = block[base + 5] ?? 0;
    if (samples === 65_535) return;
    const mean = samples === 0 ? 0 : networkValue(block[base + 4] ?? 0);
    block[base + 4] = networkWord(mean + (value - mean) / (samples + 1));
    block[base + 5] = samples + 1;
  }
}

/** The aggregates of a day, or undefined when the ring holds nothing for it. */
export function readIdleDay(ring: IdleRing, epochDay: number): IdleDay | undefined {
  const block = ring.holder.block;
  const base = ring.offset + (epochDay % ring.days) * WIDTH;
  if (block[base] !== epochDay) return undefined;
  const cpuSamples = block[base + 3] ?? 0;
  const networkSamples = block[base + 5] ?? 0;
  return {
    day: epochDay,
    cpuMean: cpuSamples > 0 ? (block[base + 1] ?? 0) / 100 : undefined,
    cpuMax: cpuSamples > 0 ? (block[base + 2] ?? 0) / 100 : undefined,
    cpuSamples,
    networkMean: networkSamples > 0 ? networkValue(block[base + 4] ?? 0) : undefined,
    networkSamples,
  };
}
