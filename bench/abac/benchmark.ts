/**
 * `npm run bench -- abac`: the ABAC workload at 20, 200 and 2000 policies, Vigil native policies
 * against Cedar (cedar-wasm). For each size: generate, render both ways, verify identical
 * decisions on the seeded requests (a mismatch fails the benchmark), then time both on one thread.
 * What exactly is measured is written in docs/benchmarks.md.
 *
 * Benchmark args (after `--`): `--sizes 20,200` (default 20,200,2000), `--requests 5000`, `--seed 42`.
 */
import { loadavg } from "node:os";
import { cedarVersion } from "../../src/policy/cedar/index.js";
import { formatNumber, formatRatio } from "../harness/report.js";
import { measureLatency, measureThroughput, timerOverheadMicros } from "../harness/measure.js";
import type { Benchmark, BenchmarkOptions, BenchmarkResult, Comparison, Measurement, TargetCheck } from "../harness/types.js";
import { createCedarDecider, createCedarPluginDecider, createVigilDecider, type Decide } from "./engines.js";
import { checkEquivalence, describeMismatch } from "./equivalence.js";
import { toCedarText, toVigilYaml } from "./render.js";
import { generateRequests, toCedarCall, toCedarPluginInput } from "./requests.js";
import { generateScenario } from "./scenario.js";

export interface AbacSettings {
  readonly sizes: readonly number[];
  readonly requests: number;
  readonly seed: number;
  /** Requests also decided through Vigil's Cedar plugin (it runs at Cedar's speed). */
  readonly pluginRequests: number;
  readonly throughputMs: number;
  readonly latencySeconds: number;
}

function option(args: readonly string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

export function abacSettings(options: Pick<BenchmarkOptions, "quick" | "args">): AbacSettings {
  const sizes = option(options.args, "--sizes")?.split(",").map(Number).filter((n) => Number.isInteger(n) && n >= 4);
  const requests = Number(option(options.args, "--requests") ?? (options.quick ? 1000 : 5000));
  return {
    sizes: sizes && sizes.length > 0 ? sizes : [20, 200, 2000],
    requests: Number.isInteger(requests) && requests > 0 ? requests : 5000,
    seed: Number(option(options.args, "--seed") ?? 42),
    pluginRequests: options.quick ? 100 : 500,
    throughputMs: options.quick ? 400 : 2000,
    latencySeconds: options.quick ? 0.3 : 1,
  };
}

interface SizeRun {
  readonly vigil: Measurement;
  readonly decision?: Measurement;
  readonly cedar: Measurement;
  readonly notes: string[];
  readonly failure?: string;
}

function timed<T>(work: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = work();
  return { value, ms: performance.now() - start };
}

function measure(group: string, subject: string, decide: Decide, inputs: readonly unknown[], settings: AbacSettings): Measurement {
  const n = inputs.length;
  const call = (i: number) => decide(inputs[i % n]);
  const throughput = measureThroughput(call, { warmupCalls: Math.min(n, 2000), warmupMs: settings.throughputMs / 2, durationMs: settings.throughputMs });
  const samples = Math.max(200, Math.min(20_000, Math.round(throughput.opsPerSecond * settings.latencySeconds)));
  const latency = measureLatency(call, samples, 1);
  return { group, subject, unit: "decisions", opsPerSecond: throughput.opsPerSecond, opsPerCpuSecond: throughput.opsPerCpuSecond, p50Micros: latency.p50Micros, p99Micros: latency.p99Micros, operations: throughput.operations };
}

function runSize(size: number, settings: AbacSettings, log: (line: string) => void): SizeRun {
  const group = `${size} policies`;
  const scenario = generateScenario(size, settings.seed);
  const cedarText = toCedarText(scenario);
  const vigilYaml = toVigilYaml(scenario);
  const vigilLoad = timed(() => createVigilDecider(vigilYaml));
  const cedarLoad = timed(() => createCedarDecider(cedarText));
  const vigil = vigilLoad.value;
  const cedar = cedarLoad.value;
  const requests = generateRequests(scenario, settings.requests, settings.seed);
  const cedarCalls = requests.map(toCedarCall);
  const global = scenario.policies.filter((p) => p.project === undefined).length;
  const notes = [
    `${group}: ${scenario.projects.length} projects, ${size - global} project-scoped policies, ${global} global; Vigil loaded ${vigil.policies} in ${vigilLoad.ms.toFixed(0)} ms, Cedar preparsed ${cedar.policies} in ${cedarLoad.ms.toFixed(0)} ms`,
  ];
  log(`abac ${group}: verifying ${requests.length} requests...`);
  const equivalence = checkEquivalence(requests, [
    { name: "vigil", decide: vigil.decide, input: (i) => requests[i] },
    { name: "vigil-decision", decide: vigil.decision, input: (i) => requests[i] },
    { name: "cedar", decide: cedar.decide, input: (i) => cedarCalls[i] },
  ]);
  const plugin = createCedarPluginDecider(cedarText);
  const pluginCount = Math.min(settings.pluginRequests, requests.length);
  const pluginCheck = checkEquivalence(requests.slice(0, pluginCount), [
    { name: "cedar", decide: cedar.decide, input: (i) => cedarCalls[i] },
    { name: "vigil-cedar-plugin", decide: plugin, input: (i) => toCedarPluginInput(requests[i] as (typeof requests)[number]) },
  ]);
  notes.push(`${group}: identical decisions on ${equivalence.checked - equivalence.mismatched}/${equivalence.checked} requests (${((100 * equivalence.allowed) / equivalence.checked).toFixed(1)}% allowed); Vigil's Cedar plugin agreed with cedar-wasm on ${pluginCheck.checked - pluginCheck.mismatched}/${pluginCheck.checked}`);
  const sample = requests.slice(0, 1000);
  const candidates = sample.reduce((sum, request) => sum + vigil.candidates(request), 0) / sample.length;
  notes.push(`${group}: the PolicySet index selects ${candidates.toFixed(1)} of ${vigil.policies} Vigil policies per request on average`);
  const failures = [...equivalence.mismatches, ...pluginCheck.mismatches];
  if (failures.length > 0) {
    const total = equivalence.mismatched + pluginCheck.mismatched;
    const failure = `${group}: ${total} requests decided differently; first ones:\n${failures.map(describeMismatch).join("\n")}`;
    return { vigil: { group, subject: "vigil", unit: "decisions", opsPerSecond: Number.NaN }, cedar: { group, subject: "cedar", unit: "decisions", opsPerSecond: Number.NaN }, notes, failure };
  }
  log(`abac ${group}: timing vigil...`);
  const vigilMeasurement = measure(group, "vigil", vigil.decide, requests, settings);
  log(`abac ${group}: timing vigil with the full decision draft...`);
  const decisionMeasurement = measure(group, "vigil+draft", vigil.decision, requests, settings);
  log(`abac ${group}: timing cedar...`);
  const cedarMeasurement = measure(group, "cedar", cedar.decide, cedarCalls, settings);
  const plain = measureThroughput((i) => cedar.plain(cedarCalls[i % cedarCalls.length]), { warmupCalls: 3, durationMs: Math.min(settings.throughputMs, 500) });
  notes.push(`${group}: cedar-wasm isAuthorized with the policy text parsed on every call: ${formatNumber(plain.opsPerSecond)} decisions/s (the table uses the preparsed set)`);
  return { vigil: vigilMeasurement, decision: decisionMeasurement, cedar: cedarMeasurement, notes };
}

/** The "one core" rate: decisions per CPU-second when measured, else per wall-clock second. */
function rate(m: Measurement): number {
  return m.opsPerCpuSecond ?? m.opsPerSecond;
}

function shown(m: Measurement): string {
  return `${formatNumber(rate(m))}/CPU-s (wall ${formatNumber(m.opsPerSecond)}/s)`;
}

function targets(vigil: ReadonlyMap<number, Measurement>): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const at20 = vigil.get(20);
  const at2000 = vigil.get(2000);
  if (at20) checks.push({ description: "Vigil at 20 policies", target: ">= 1,000,000 decisions/s on one core", actual: shown(at20), met: rate(at20) >= 1_000_000 });
  if (at2000) checks.push({ description: "Vigil at 2000 policies", target: ">= 50,000 decisions/s on one core", actual: shown(at2000), met: rate(at2000) >= 50_000 });
  if (at20 && at2000) {
    const slowdown = rate(at20) / rate(at2000);
    checks.push({ description: "Vigil slowdown from 20 to 2000 policies", target: "<= 10x", actual: formatRatio(slowdown), met: slowdown <= 10 });
  }
  return checks;
}

/** Runs the ABAC benchmark with explicit settings (the registry entry reads them from the args). */
export function runAbac(settings: AbacSettings, log: (line: string) => void): BenchmarkResult {
  const measurements: Measurement[] = [];
  const comparisons: Comparison[] = [];
  const notes: string[] = [];
  const vigilBySize = new Map<number, Measurement>();
  for (const size of settings.sizes) {
    const run = runSize(size, settings, log);
    notes.push(...run.notes);
    if (run.failure) {
      return { name: "abac", ok: false, measurements, comparisons, targets: [], notes, failure: run.failure };
    }
    measurements.push(run.vigil, ...(run.decision ? [run.decision] : []), run.cedar);
    comparisons.push({ group: run.vigil.group, subject: "vigil", peer: "cedar", ratio: rate(run.vigil) / rate(run.cedar) });
    if (run.decision) comparisons.push({ group: run.vigil.group, subject: "vigil+draft", peer: "cedar", ratio: rate(run.decision) / rate(run.cedar) });
    vigilBySize.set(size, run.vigil);
  }
  notes.push(`ratios and targets use decisions per CPU-second of the process (one JS thread; GC helper threads count against it); wall-clock figures depend on what else runs on the machine (load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(" ")})`);
  notes.push(`seed ${settings.seed}, ${settings.requests} requests per size; one thread; throughput over ${settings.throughputMs} ms per engine; p50/p99 from single timed calls (timer overhead ~${timerOverheadMicros().toFixed(3)} µs included); cedar-wasm ${cedarVersion()}`);
  notes.push("vigil = PolicySet.evaluate + verdict (the figure the targets apply to); vigil+draft = the same + buildDecision (tier, risk, explanation), without recording");
  notes.push("reference from the issue (Cedar-wasm measured earlier on this kind of machine): ~8,600 decisions/s at 20 policies, 317/s at 2000");
  return { name: "abac", ok: true, measurements, comparisons, targets: targets(vigilBySize), notes };
}

export const abacBenchmark: Benchmark = {
  name: "abac",
  description: "ABAC workload at 20/200/2000 policies: Vigil native policies vs Cedar (cedar-wasm), decisions verified identical first",
  run: async (options) => runAbac(abacSettings(options), options.log),
};
