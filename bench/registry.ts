/**
 * The benchmark registry: what `npm run bench` runs, in this order.
 *
 * To add a benchmark, either
 * - export a `Benchmark` (bench/harness/types.ts) from a module and list it below, or
 * - keep a standalone script (`npx tsx bench/<name>.ts`) and list it with `scriptBenchmark(...)`:
 *   it runs as a child process, is listed only when its file exists, and with `--json` it is
 *   passed `--json` (print one JSON BenchmarkResult on stdout to be merged as data).
 * Every benchmark prints a side-by-side ratio against a peer where one exists.
 */
import { abacBenchmark } from "./abac/benchmark.js";
import { scriptBenchmark } from "./harness/script.js";
import type { Benchmark } from "./harness/types.js";

const scripts = [
  scriptBenchmark("cel", "bench/cel.ts", "CEL: compile and evaluate, Vigil's CEL against a peer implementation"),
  scriptBenchmark("policy-index", "bench/policy-index.ts", "PolicySet index: indexed vs linear evaluation of the ABAC policies at 20/200/2000"),
  scriptBenchmark("store", "bench/store.ts", "decision record: durable decision rows/s, embedded store against a peer"),
  scriptBenchmark("context", "bench/context.ts", "context stage: memory per tracked entity, observe and flush throughput"),
  scriptBenchmark("sources", "bench/sources.ts", "sources stage: wire formats to CloudEvents, against the parsing floor"),
  scriptBenchmark("admission", "bench/admission.ts", "admission webhook: Kyverno PSS policies over HTTP at fixed offered loads, p50/p99 (Kyverno's published figure beside)"),
  scriptBenchmark("replay", "bench/replay.ts", "vigil replay of 100k simulated CloudEvents with and without --record, against the JSON parse+stringify floor"),
  scriptBenchmark("pipeline", "bench/pipeline.ts", "agent pipeline: ingest → context → evaluate (50 policies) → decide → durable record, events/s and memory per entity"),
  scriptBenchmark("scale-out", "bench/scale-out.ts", "scaled out: the pipeline workload through api + worker processes on PostgreSQL and NATS JetStream, against the embedded single process"),
  scriptBenchmark("gate", "bench/gate.ts", "supply chain: vigil gate on the two big real lockfiles against the shipped advisories, lockfiles/s and ms per lockfile"),
  scriptBenchmark("learning", "bench/learning.ts", "learning: precision, recall and false-positive rate per simulated week, static rules vs context vs learning from feedback"),
];

/** Registered benchmarks whose code is present. */
export function registeredBenchmarks(): Benchmark[] {
  return [abacBenchmark, ...scripts.filter((script) => script.present)];
}
