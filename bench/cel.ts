/**
 * CEL evaluation throughput: Vigil's compiled CEL against @bufbuild/cel (interpreter) and
 * @marcbachmann/cel-js, on realistic policy conditions.
 *
 *   npx tsx bench/cel.ts [--quick] [--json]
 *
 * Each expression is compiled once per engine and evaluated over 1,000 seeded inputs in a loop.
 * Inputs are plain JSON for Vigil; the peers get the same data already converted to their value
 * model (integral numbers as BigInt, objects as Maps for @bufbuild/cel), so their figures do not
 * include the conversion a caller would have to do. Before timing, every engine's result on
 * every input is compared: a disagreement fails the benchmark.
 *
 * p50 / p99 are per evaluation, taken from batches of 256 evaluations (a single evaluation is
 * shorter than the timer's resolution). Figures are from a shared 2-core machine: compare the
 * ratios more than the absolute numbers.
 */
import { celEnv, isCelError, parse as bufParse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { parse as celJsParse } from "@marcbachmann/cel-js";
import { cpus, loadavg } from "node:os";
import { createCelEnvironment } from "../src/policy/cel/index.js";
import { formatNumber, formatResult } from "./harness/report.js";
import type { BenchmarkResult, Comparison, Measurement, TargetCheck } from "./harness/types.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const json = args.includes("--json");
const log = (line: string) => process.stderr.write(`${line}\n`);
const windowMs = quick ? 300 : 1500;
const BATCH = 256;
const TARGET_EVALS_PER_SECOND = 5_000_000;

let seed = 42;
function random(): number {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 4294967296;
}
function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(random() * xs.length)] as T;
}

interface Workload {
  readonly name: string;
  readonly expr: string;
  readonly input: () => Record<string, unknown>;
}

const workloads: Workload[] = [
  {
    name: "abac",
    expr: `principal.role in ["admin","editor"] && resource.project == "p7" && context.mfa == true && context.hour >= 8`,
    input: () => ({
      principal: { id: `u${Math.floor(random() * 100)}`, role: pick(["admin", "editor", "viewer", "auditor"]), department: pick(["eng", "ops"]) },
      resource: { owner: "u1", project: pick(["p7", "p7", "p3", "p9"]), classification: pick(["public", "internal"]) },
      context: { mfa: random() < 0.8, hour: Math.floor(random() * 24), network: "corp" },
    }),
  },
  {
    name: "k8s-images",
    expr: `object.spec.template.spec.containers.all(c, c.image.startsWith('registry.example.com/') && has(c.resources.limits))`,
    input: () => ({
      object: {
        metadata: { name: "web", namespace: "shop" },
        spec: {
          template: {
            spec: {
              containers: Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => ({
                name: `c${i}`,
                image: random() < 0.9 ? `registry.example.com/shop/c${i}:1.${i}` : "docker.io/library/nginx:1.25",
                resources: random() < 0.9 ? { limits: { cpu: "500m", memory: "256Mi" } } : {},
              })),
            },
          },
        },
      },
    }),
  },
  {
    name: "labels",
    expr: `has(object.metadata.labels) && object.metadata.labels.exists(k, k.startsWith('app.kubernetes.io/')) && object.metadata.namespace != 'kube-system'`,
    input: () => ({
      object: {
        metadata: {
          name: "web",
          namespace: pick(["shop", "kube-system", "default"]),
          labels: random() < 0.7 ? { team: "shop", [pick(["app.kubernetes.io/name", "app", "tier"])]: "web", env: "prod" } : { team: "shop" },
        },
      },
    }),
  },
  {
    name: "http-request",
    expr: `request.method in ['GET', 'HEAD', 'OPTIONS'] || (request.path.startsWith('/api/') && 'authorization' in request.headers && size(request.body) < 1024)`,
    input: () => ({
      request: {
        method: pick(["GET", "POST", "PUT", "DELETE"]),
        path: pick(["/api/v1/orders", "/healthz", "/api/v2/users/7", "/static/app.js"]),
        headers: random() < 0.7 ? { authorization: "Bearer x", "content-type": "application/json" } : { "content-type": "text/plain" },
        body: "x".repeat(Math.floor(random() * 2048)),
      },
    }),
  },
  {
    name: "arith-tags",
    expr: `event.count * 2 + event.retries > 10 && event.severity in ['high', 'critical'] && event.tags.exists(t, t == 'pii')`,
    input: () => ({
      event: {
        count: Math.floor(random() * 20),
        retries: Math.floor(random() * 5),
        severity: pick(["low", "medium", "high", "critical"]),
        tags: pick([["pii"], ["public", "pii"], [], ["billing"]]),
      },
    }),
  },
];

/** Vigil's value model for the peers: integral numbers → BigInt (ints); bufbuild also wants Maps. */
function forPeer(v: unknown, maps: boolean): unknown {
  if (typeof v === "number") return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => forPeer(x, maps));
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v).map(([k, x]) => [k, forPeer(x, maps)] as const);
    return maps ? new Map(entries) : Object.fromEntries(entries);
  }
  return v;
}

type Evaluator = (input: unknown) => unknown;

interface Subject {
  readonly name: string;
  readonly inputs: readonly unknown[];
  readonly evaluate: Evaluator;
}

function subjects(w: Workload, inputs: readonly Record<string, unknown>[]): Subject[] {
  const vigil = createCelEnvironment().compile(w.expr);
  const buf = plan(celEnv({ funcs: strings }), bufParse(w.expr));
  const celJs = celJsParse(w.expr);
  return [
    {
      name: "vigil",
      inputs,
      evaluate: (input) => {
        const o = vigil.evaluate(input as Record<string, unknown>);
        return o.ok ? o.value : "error";
      },
    },
    {
      name: "bufbuild",
      inputs: inputs.map((i) => forPeer(i, true)),
      evaluate: (input) => {
        const r = buf(Object.fromEntries(input as Map<string, unknown>) as never);
        return isCelError(r) ? "error" : r;
      },
    },
    {
      name: "cel-js",
      inputs: inputs.map((i) => forPeer(i, false)),
      evaluate: (input) => {
        try {
          return celJs(input as Record<string, unknown>);
        } catch {
          return "error";
        }
      },
    },
  ];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

function measure(group: string, s: Subject): Measurement {
  const n = s.inputs.length;
  let sink = 0;
  const warmDeadline = performance.now() + windowMs / 3;
  for (let i = 0; performance.now() < warmDeadline; i++) if (s.evaluate(s.inputs[i % n]) === true) sink++;
  const batchMicros: number[] = [];
  let evaluations = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const deadline = started + windowMs;
  let k = 0;
  while (performance.now() < deadline) {
    const t0 = performance.now();
    for (let j = 0; j < BATCH; j++) {
      if (s.evaluate(s.inputs[k]) === true) sink++;
      k = k + 1 === n ? 0 : k + 1;
    }
    batchMicros.push(((performance.now() - t0) * 1000) / BATCH);
    evaluations += BATCH;
  }
  const elapsed = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  batchMicros.sort((a, b) => a - b);
  if (sink < 0) log("unreachable");
  return {
    group,
    subject: s.name,
    opsPerSecond: evaluations / elapsed,
    opsPerCpuSecond: cpuSeconds > 0 ? evaluations / cpuSeconds : undefined,
    unit: "evals",
    p50Micros: percentile(batchMicros, 0.5),
    p99Micros: percentile(batchMicros, 0.99),
    operations: evaluations,
  } as Measurement;
}

/** Compilations per second of process CPU time (steadier than wall time on a shared machine). */
function compilesPerCpuSecond(compile: () => unknown): number {
  for (let i = 0; i < 50; i++) compile();
  const deadline = performance.now() + (quick ? 100 : 400);
  let count = 0;
  const cpu = process.cpuUsage();
  while (performance.now() < deadline) {
    compile();
    count++;
  }
  const used = process.cpuUsage(cpu);
  return count / ((used.user + used.system) / 1e6);
}

function main(): BenchmarkResult {
  const measurements: Measurement[] = [];
  const comparisons: Comparison[] = [];
  const notes: string[] = [
    `machine: ${cpus()[0]?.model ?? "unknown"} (${cpus().length} cores, shared), load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}; node ${process.version}`,
    "vigil: createCelEnvironment().compile(expr).evaluate(plain JSON input) — generated JavaScript, full CEL semantics, cost-metered",
    "bufbuild: @bufbuild/cel plan() over parse(); cel-js: @marcbachmann/cel-js parse(); both given inputs pre-converted to their value model",
    `p50/p99 per evaluation from batches of ${BATCH}`,
  ];
  let failure: string | undefined;
  const targets: TargetCheck[] = [];
  for (const w of workloads) {
    seed = 42 + w.name.length;
    const inputs = Array.from({ length: 1000 }, w.input);
    const subs = subjects(w, inputs);
    // correctness first: every engine, every input
    const expected = inputs.map((_, i) => (subs[0] as Subject).evaluate((subs[0] as Subject).inputs[i]));
    for (const s of subs.slice(1)) {
      const disagreements = s.inputs.filter((input, i) => s.evaluate(input) !== expected[i]).length;
      if (disagreements > 0) failure = `${w.name}: ${s.name} disagrees with vigil on ${disagreements} of ${inputs.length} inputs`;
    }
    const trues = expected.filter((v) => v === true).length;
    notes.push(`${w.name}: ${w.expr}  (true on ${trues} of ${inputs.length} inputs, all engines agree: ${failure === undefined ? "yes" : "NO"})`);
    log(`cel bench: ${w.name}`);
    const byName = new Map<string, Measurement>();
    for (const s of subs) {
      const m = measure(w.name, s);
      measurements.push(m);
      byName.set(s.name, m);
    }
    const vigil = byName.get("vigil") as Measurement;
    for (const peer of ["bufbuild", "cel-js"]) {
      const p = byName.get(peer) as Measurement;
      const ratio = vigil.opsPerCpuSecond && p.opsPerCpuSecond ? vigil.opsPerCpuSecond / p.opsPerCpuSecond : vigil.opsPerSecond / p.opsPerSecond;
      comparisons.push({ group: w.name, subject: "vigil", peer, ratio });
    }
    if (w.name === "abac") {
      targets.push({
        description: "Vigil CEL on the ABAC condition, one core",
        target: `>= ${formatNumber(TARGET_EVALS_PER_SECOND)} evals/s`,
        actual: `${formatNumber(vigil.opsPerSecond)} evals/s`,
        met: vigil.opsPerSecond >= TARGET_EVALS_PER_SECOND,
      });
    }
  }
  const abac = workloads[0] as Workload;
  const compileRates = {
    vigil: compilesPerCpuSecond(() => createCelEnvironment().compile(abac.expr)),
    bufbuild: compilesPerCpuSecond(() => plan(celEnv({ funcs: strings }), bufParse(abac.expr))),
    "cel-js": compilesPerCpuSecond(() => celJsParse(abac.expr)),
  };
  notes.push(`compiles per CPU-second of the abac condition: ${Object.entries(compileRates).map(([k, v]) => `${k} ${formatNumber(v)}`).join(", ")} (Vigil generates a JavaScript function per expression: compile once, evaluate many times)`);
  return { name: "cel", ok: failure === undefined, measurements, comparisons, targets, notes, ...(failure ? { failure } : {}) };
}

const result = main();
console.log(json ? JSON.stringify(result, null, 2) : formatResult(result));
if (!result.ok) process.exitCode = 1;
