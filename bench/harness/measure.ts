/**
 * Timing helpers. Throughput is timed in a tight loop without per-call clocks; latency percentiles
 * come from a separate pass that times each call with `process.hrtime.bigint()` (whose own cost,
 * tens of nanoseconds, is included in every sample and reported as `timerOverheadMicros`).
 */

export interface ThroughputOptions {
  /** Untimed calls first, so the JIT has compiled the hot path: at least this many... */
  readonly warmupCalls: number;
  /** ...and for at least this long (default 0). */
  readonly warmupMs?: number;
  /** Timed window in milliseconds (the loop runs whole batches until it is over). */
  readonly durationMs: number;
}

export interface Throughput {
  /** Operations per wall-clock second. */
  readonly opsPerSecond: number;
  /**
   * Operations per second of CPU time this process used (`process.cpuUsage`, user + system, all
   * threads: V8's GC helpers count too). On a shared machine, time the process spends waiting
   * for a core does not count here, which makes this the steadier "one core" figure.
   */
  readonly opsPerCpuSecond: number;
  readonly operations: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
}

type BatchLoop = (call: (i: number) => unknown, start: number, count: number) => number;

/**
 * A fresh batch loop for each measurement, compiled from source so it has its own function
 * identity: the JIT specialises (and inlines) it for ONE engine. A shared loop would carry one
 * engine's inlined code into the next measurement (skewing it), and on Node 20 deoptimizing such
 * a loop crashed V8 ("unreachable code" in the deoptimizer) after Vigil then Cedar ran through it.
 */
function createBatchLoop(): BatchLoop {
  return new Function("call", "start", "count", `
    let sink = 0;
    for (let k = 0; k < count; k++) {
      const value = call(start + k);
      if (value !== undefined && value !== null) sink++;
    }
    return sink;
  `) as BatchLoop;
}

/**
 * Calls \`call(i)\` for i = 0, 1, 2... (callers index their prepared inputs with \`i % n\`) for about
 * \`durationMs\`, and returns calls per second. The loop counts non-null results so the JIT cannot
 * drop calls.
 */
export function measureThroughput(call: (i: number) => unknown, options: ThroughputOptions): Throughput {
  const loop = createBatchLoop();
  let sink = 0;
  const warmupUntil = performance.now() + (options.warmupMs ?? 0);
  let i = 0;
  while (i < options.warmupCalls) {
    const chunk = Math.min(64, options.warmupCalls - i);
    sink += loop(call, i, chunk);
    i += chunk;
  }
  while (performance.now() < warmupUntil) {
    sink += loop(call, i, 16);
    i += 16;
  }
  // calibrate a batch so the clock is read about every millisecond
  let batch = 1;
  let started = process.hrtime.bigint();
  for (;;) {
    sink += loop(call, i, batch);
    i += batch;
    const elapsed = Number(process.hrtime.bigint() - started);
    if (elapsed > 1_000_000 || batch > 1 << 20) break;
    batch *= 2;
    started = process.hrtime.bigint();
  }
  const limit = BigInt(Math.round(options.durationMs * 1e6));
  let operations = 0;
  const cpuStart = process.cpuUsage();
  started = process.hrtime.bigint();
  let elapsed = 0n;
  do {
    sink += loop(call, i, batch);
    i += batch;
    operations += batch;
    elapsed = process.hrtime.bigint() - started;
  } while (elapsed < limit);
  const cpu = process.cpuUsage(cpuStart);
  const seconds = Number(elapsed) / 1e9;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  if (sink < 0) throw new Error("unreachable");
  return { opsPerSecond: operations / seconds, opsPerCpuSecond: operations / Math.max(cpuSeconds, 1e-6), operations, seconds, cpuSeconds };
}

export interface Latency {
  readonly p50Micros: number;
  readonly p99Micros: number;
  readonly samples: number;
}

type LatencyLoop = (call: (i: number) => unknown, offset: number, times: Float64Array, clock: () => bigint) => number;

/** Times `samples` single calls and returns the 50th and 99th percentiles in microseconds (fresh loop per call, as above). */
export function measureLatency(call: (i: number) => unknown, samples: number, offset = 0): Latency {
  const times = new Float64Array(samples);
  const loop = new Function("call", "offset", "times", "clock", `
    let sink = 0;
    for (let i = 0; i < times.length; i++) {
      const start = clock();
      const value = call(offset + i);
      const end = clock();
      times[i] = Number(end - start) / 1000;
      if (value !== undefined) sink++;
    }
    return sink;
  `) as LatencyLoop;
  if (loop(call, offset, times, process.hrtime.bigint) < 0) throw new Error("unreachable");
  times.sort();
  return { p50Micros: percentile(times, 0.5), p99Micros: percentile(times, 0.99), samples };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array | readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Median cost of one `process.hrtime.bigint()` pair, in microseconds. */
export function timerOverheadMicros(): number {
  return measureLatency(() => 0, 20_000).p50Micros;
}
