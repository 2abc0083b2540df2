/**
 * The benchmark harness contract (docs/benchmarks.md). A benchmark is a named async function that
 * returns a BenchmarkResult; `bench/run.ts` prints results as tables (or JSON with `--json`).
 */

/** One measured subject (an engine, a store) in one group (e.g. "200 policies"). */
export interface Measurement {
  /** Row group, e.g. `20 policies`. Subjects of the same group are printed side by side. */
  readonly group: string;
  /** What was measured, e.g. `vigil`, `cedar`. */
  readonly subject: string;
  /** Operations per wall-clock second (decisions/s, rows/s...). */
  readonly opsPerSecond: number;
  /** Operations per second of process CPU time, when measured (steadier on a shared machine). */
  readonly opsPerCpuSecond?: number;
  /** What one operation is, e.g. `decisions`. */
  readonly unit: string;
  /** Latency percentiles of one operation, in microseconds, when measured. */
  readonly p50Micros?: number;
  readonly p99Micros?: number;
  /** Operations timed for the throughput figure. */
  readonly operations?: number;
}

/** A side-by-side ratio: subject ops/s divided by peer ops/s (per CPU-second when both have it). */
export interface Comparison {
  readonly group: string;
  readonly subject: string;
  readonly peer: string;
  readonly ratio: number;
}

/** A target from an issue, checked against a measurement. Reported, never fatal. */
export interface TargetCheck {
  readonly description: string;
  readonly target: string;
  readonly actual: string;
  readonly met: boolean;
}

export interface BenchmarkResult {
  readonly name: string;
  /** False when a correctness check failed (e.g. decisions differ): `npm run bench` exits non-zero. */
  readonly ok: boolean;
  readonly measurements: readonly Measurement[];
  readonly comparisons: readonly Comparison[];
  readonly targets: readonly TargetCheck[];
  /** Plain-language lines: what was measured, checks that ran, workload facts. */
  readonly notes: readonly string[];
  /** Why `ok` is false. */
  readonly failure?: string;
  /** For script benchmarks: their own output. */
  readonly output?: string;
}

export interface BenchmarkOptions {
  /** Shorter runs for development (fewer requests, shorter timing windows); figures are rougher. */
  readonly quick: boolean;
  /** Progress lines (stderr), so `--json` output stays clean. */
  readonly log: (line: string) => void;
  /** Extra arguments after the benchmark names (benchmark-specific). */
  readonly args: readonly string[];
  /** True when the caller wants JSON (script benchmarks are asked for `--json` too). */
  readonly json: boolean;
}

/** A benchmark in the registry (bench/registry.ts). */
export interface Benchmark {
  readonly name: string;
  readonly description: string;
  run(options: BenchmarkOptions): Promise<BenchmarkResult>;
}
