/**
 * Per-day utilisation aggregates for the idle detector: a ring of `days` entries in one
 * Float32Array, 7 numbers per day: [epochDay, cpuSum, cpuMax, cpuSamples, netSum, netMax,
 * netSamples]. Day numbers (~20,000) are exact in float32. A sample for a day older than the
 * ring's window is dropped.
 */
const WIDTH = 7;

export interface IdleDay {
  readonly day: number;
  readonly cpuMean: number | undefined;
  readonly cpuMax: number | undefined;
  readonly cpuSamples: number;
  readonly networkMean: number | undefined;
  readonly networkSamples: number;
}

export function createIdleDays(days: number): Float32Array {
  return new Float32Array(days * WIDTH);
}

export function idleRingDays(ring: Float32Array): number {
  return ring.length / WIDTH;
}

/** Records one CPU or network sample for its UTC day. */
export function recordIdleSample(ring: Float32Array, epochDay: number, kind: "cpu" | "network", value: number): void {
  const days = idleRingDays(ring);
  const base = (epochDay % days) * WIDTH;
  const stored = ring[base] ?? 0;
  if (stored !== epochDay) {
    if (stored > epochDay) return;
    ring.fill(0, base, base + WIDTH);
    ring[base] = epochDay;
  }
  const offset = kind === "cpu" ? 1 : 4;
  ring[base + offset] = (ring[base + offset] ?? 0) + value;
  const samples = ring[base + offset + 2] ?? 0;
  ring[base + offset + 1] = samples === 0 ? value : Math.max(ring[base + offset + 1] ?? 0, value);
  ring[base + offset + 2] = samples + 1;
}

/** The aggregates of a day, or undefined when the ring holds nothing for it. */
export function readIdleDay(ring: Float32Array, epochDay: number): IdleDay | undefined {
  const base = (epochDay % idleRingDays(ring)) * WIDTH;
  if (ring[base] !== epochDay) return undefined;
  const cpuSamples = ring[base + 3] ?? 0;
  const networkSamples = ring[base + 6] ?? 0;
  return {
    day: epochDay,
    cpuMean: cpuSamples > 0 ? (ring[base + 1] ?? 0) / cpuSamples : undefined,
    cpuMax: cpuSamples > 0 ? ring[base + 2] : undefined,
    cpuSamples,
    networkMean: networkSamples > 0 ? (ring[base + 4] ?? 0) / networkSamples : undefined,
    networkSamples,
  };
}
