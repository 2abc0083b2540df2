/**
 * PolicySet index: the same native ABAC policies (bench/abac scenario) evaluated through the
 * indexed PolicySet and through a linear one (`index: false`) at 20, 200 and 2000 policies.
 * First checks that both give the same findings on every request, then prints decisions/s
 * (wall and per CPU-second), the average number of policies the index selects, and the ratio.
 *
 *   npx tsx bench/policy-index.ts [--quick] [--json]
 */
import { generateRequests } from "./abac/requests.js";
import { toVigilYaml } from "./abac/render.js";
import { generateScenario } from "./abac/scenario.js";
import { decideContext } from "./abac/engines.js";
import { measureThroughput } from "./harness/measure.js";
import type { BenchmarkResult, Comparison, Measurement } from "./harness/types.js";
import type { Finding } from "../src/core/finding.js";
import { createPolicySet, loadPolicyText } from "../src/policy/index.js";

/** Deny when a violation asks to deny (no shadow-mode policies in this workload). */
function verdictOf(findings: readonly Finding[]): "allow" | "deny" {
  for (const f of findings) if (f.effect === "violation" && f.mode === "deny") return "deny";
  return "allow";
}

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json");
const log = (line: string): void => { process.stderr.write(`${line}\n`); };
const sizes = [20, 200, 2000];
const requestCount = quick ? 1000 : 5000;
const durationMs = quick ? 300 : 1500;

const measurements: Measurement[] = [];
const comparisons: Comparison[] = [];
const notes: string[] = [];
let failure: string | undefined;

for (const size of sizes) {
  const scenario = generateScenario(size);
  const loaded = loadPolicyText(toVigilYaml(scenario), "abac.yaml");
  if (loaded.errors.length > 0) { failure = `policies do not load: ${loaded.errors[0]?.message}`; break; }
  const indexed = createPolicySet(loaded.policies);
  const linear = createPolicySet(loaded.policies, { index: false });
  const requests = generateRequests(scenario, requestCount);
  let selected = 0;
  for (const request of requests) {
    const a = indexed.evaluate(decideContext(request)).findings.map((f) => `${f.policy}/${f.rule}/${f.effect}`).join(",");
    const b = linear.evaluate(decideContext(request)).findings.map((f) => `${f.policy}/${f.rule}/${f.effect}`).join(",");
    if (a !== b) { failure = `${size} policies: indexed and linear findings differ on ${JSON.stringify(request)}`; break; }
    selected += indexed.candidates(decideContext(request)).length;
  }
  if (failure !== undefined) break;
  const keyed = loaded.policies.filter((p) => (p.indexKeys?.length ?? 0) > 0).length;
  notes.push(`${size} policies: ${keyed} with index keys; the index selects ${(selected / requests.length).toFixed(1)} policies per request on average; findings identical to linear on ${requests.length} requests`);
  const group = `${size} policies`;
  for (const [subject, set] of [["indexed", indexed], ["linear", linear]] as const) {
    const t = measureThroughput((i) => verdictOf(set.evaluate(decideContext(requests[i % requests.length])).findings), { warmupCalls: 2000, warmupMs: quick ? 100 : 300, durationMs });
    measurements.push({ group, subject, opsPerSecond: t.opsPerSecond, opsPerCpuSecond: t.opsPerCpuSecond, unit: "decisions", operations: t.operations });
    log(`${group}: ${subject} ${Math.round(t.opsPerSecond).toLocaleString()} decisions/s (${Math.round(t.opsPerCpuSecond).toLocaleString()} per CPU-second)`);
  }
  const [a, b] = measurements.slice(-2) as [Measurement, Measurement];
  comparisons.push({ group, subject: "indexed", peer: "linear", ratio: (a.opsPerCpuSecond ?? a.opsPerSecond) / (b.opsPerCpuSecond ?? b.opsPerSecond) });
  log(`${group}: indexed/linear = ${comparisons.at(-1)?.ratio.toFixed(2)}x`);
}

const result: BenchmarkResult = {
  name: "policy-index", ok: failure === undefined, measurements, comparisons, targets: [], notes,
  ...(failure === undefined ? {} : { failure }),
};
if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
else for (const note of notes) console.log(note);
if (failure !== undefined) { log(failure); process.exitCode = 1; }
