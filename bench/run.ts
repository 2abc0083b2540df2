/**
 * `npm run bench [-- [--json] [--quick] [--list] [name...] [-- benchmark args]]`
 * (scripts/bench.mjs compiles src/ and bench/ with tsc into .bench-build/ and runs this file there)
 * Runs the registered benchmarks (bench/registry.ts), or the named ones, and prints their
 * side-by-side tables; `--json` prints one JSON document `{ machine, results }` instead.
 * Exits 1 when a benchmark's correctness check failed (targets missed are reported, not fatal).
 */
import { cpus, loadavg, platform, release, totalmem } from "node:os";
import { compiled, runningAs } from "./harness/paths.js";
import { formatResult } from "./harness/report.js";
import type { BenchmarkResult } from "./harness/types.js";
import { registeredBenchmarks } from "./registry.js";

function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((l) => Math.round(l * 10) / 10),
    code: compiled ? "tsc" : "tsx",
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const split = argv.indexOf("--");
  const own = split < 0 ? argv : argv.slice(0, split);
  const extra = split < 0 ? [] : argv.slice(split + 1);
  const json = own.includes("--json");
  const quick = own.includes("--quick");
  const benchmarks = registeredBenchmarks();
  if (own.includes("--list") || own.includes("--help")) {
    console.log("usage: npm run bench -- [--json] [--quick] [--list] [name...]\n\nbenchmarks:");
    const width = Math.max(...benchmarks.map((b) => b.name.length));
    for (const b of benchmarks) console.log(`  ${b.name.padEnd(width)}  ${b.description}`);
    return 0;
  }
  const names = own.filter((a) => !a.startsWith("--"));
  const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark: ${unknown.join(", ")}; known: ${benchmarks.map((b) => b.name).join(", ")}`);
    return 2;
  }
  const selected = names.length === 0 ? benchmarks : benchmarks.filter((b) => names.includes(b.name));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const info = machine();
  if (!json) console.log(`vigil benchmarks, ${info["date"]}, node ${info["node"]}, ${info["cpu"]} (${info["cores"]} cores), load average ${(info["loadAverage"] as number[]).join(" ")}${quick ? ", QUICK mode (rough figures)" : ""}\ncode: ${runningAs}\n`);
  const results: BenchmarkResult[] = [];
  for (const benchmark of selected) {
    let result: BenchmarkResult;
    try {
      result = await benchmark.run({ quick, log, args: extra, json });
    } catch (error) {
      result = { name: benchmark.name, ok: false, measurements: [], comparisons: [], targets: [], notes: [], failure: error instanceof Error ? error.stack ?? error.message : String(error) };
    }
    results.push(result);
    if (!json) console.log(`${formatResult(result)}\n`);
  }
  if (json) console.log(JSON.stringify({ machine: { ...info, quick }, results }, null, 2));
  return results.every((r) => r.ok) ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
