/** The benchmark harness: percentiles, the side-by-side table, and script benchmarks. No timing assertions. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { measureThroughput, percentile } from "../../bench/harness/measure.js";
import { formatRatio, formatResult } from "../../bench/harness/report.js";
import { codeRoot, compiled, nodeArgsFor, repoRoot } from "../../bench/harness/paths.js";
import { scriptBenchmark } from "../../bench/harness/script.js";
import type { BenchmarkResult } from "../../bench/harness/types.js";
import { registeredBenchmarks } from "../../bench/registry.js";

describe("measure", () => {
  it("takes nearest-rank percentiles", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it("calls the function with increasing indexes (warm-up included) and counts every timed call", () => {
    const seen: number[] = [];
    const result = measureThroughput((i) => seen.push(i), { warmupCalls: 3, durationMs: 5 });
    expect(seen.slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(seen.every((value, index) => value === index)).toBe(true);
    expect(result.operations).toBeGreaterThan(0);
    expect(result.opsPerSecond).toBeGreaterThan(0);
  });
});

describe("report", () => {
  it("prints subjects side by side with the ratio, targets and notes", () => {
    const result: BenchmarkResult = {
      name: "demo",
      ok: true,
      measurements: [
        { group: "20 policies", subject: "vigil", unit: "decisions", opsPerSecond: 1_234_567, p50Micros: 0.61, p99Micros: 2.5 },
        { group: "20 policies", subject: "cedar", unit: "decisions", opsPerSecond: 8_600, p50Micros: 110, p99Micros: 300 },
      ],
      comparisons: [{ group: "20 policies", subject: "vigil", peer: "cedar", ratio: 1_234_567 / 8_600 }],
      targets: [{ description: "Vigil at 20 policies", target: ">= 1,000,000 decisions/s", actual: "1,234,567/s", met: true }],
      notes: ["a note"],
    };
    const text = formatResult(result);
    const lines = text.split("\n");
    expect(lines[1]).toMatch(/vigil decisions\/s .*p50 µs .*cedar decisions\/s .*ratio vigil\/cedar/);
    expect(lines[3]).toMatch(/^20 policies\s+1,234,567\s+0\.610\s+2\.50\s+8,600\s+110\s+300\s+144x$/);
    expect(text).toContain("[met]     Vigil at 20 policies: target >= 1,000,000 decisions/s, measured 1,234,567/s");
    expect(text).toContain("  - a note");
    expect(formatRatio(0.5)).toBe("0.50x");
  });
});

describe("script benchmarks", () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs a standalone script and takes its JSON result as data", async () => {
    const file = join(dir, "demo.ts");
    const result: BenchmarkResult = {
      name: "demo", ok: true, targets: [], notes: ["from the script"],
      measurements: [{ group: "g", subject: "a", unit: "rows", opsPerSecond: 10 }],
      comparisons: [],
    };
    writeFileSync(file, `const json: boolean = process.argv.includes("--json");\nconsole.log(json ? ${JSON.stringify(JSON.stringify(result))} : "human");\n`);
    const benchmark = scriptBenchmark("demo", file, "demo script");
    expect(benchmark.present).toBe(true);
    const out = await benchmark.run({ quick: true, json: true, args: [], log: () => {} });
    expect(out).toMatchObject({ name: "demo", ok: true, notes: ["from the script"] });
    expect(out.measurements[0]?.opsPerSecond).toBe(10);
  });

  it("fails the benchmark when the script exits non-zero, and is absent when the file is", async () => {
    const file = join(dir, "broken.ts");
    writeFileSync(file, "process.exit(3);\n");
    const out = await scriptBenchmark("broken", file, "").run({ quick: true, json: true, args: [], log: () => {} });
    expect(out.ok).toBe(false);
    expect(out.failure).toContain("exited with code 3");
    expect(scriptBenchmark("none", join(dir, "missing.ts"), "").present).toBe(false);
  });

  it("registers abac first, and script benchmarks only when their files exist", () => {
    const names = registeredBenchmarks().map((b) => b.name);
    expect(names[0]).toBe("abac");
    expect(names.every((n) => ["abac", "cel", "policy-index", "store", "context", "sources", "replay", "pipeline", "scale-out", "gate", "learning", "admission"].includes(n))).toBe(true);
    for (const [name, file] of [["cel", "bench/cel.ts"], ["store", "bench/store.ts"]] as const) {
      expect(names.includes(name)).toBe(existsSync(file));
    }
  });
});

describe("where benchmarks run from", () => {
  it("finds the repository and, from the TypeScript sources, starts children through tsx", () => {
    expect(existsSync(join(repoRoot, "package.json")) && existsSync(join(repoRoot, "packs"))).toBe(true);
    expect(compiled).toBe(false);
    expect(codeRoot).toBe(repoRoot);
    expect(nodeArgsFor("bench/cel.ts")).toEqual(["--import", "tsx", join(repoRoot, "bench/cel.ts")]);
    expect(nodeArgsFor("/elsewhere/x.ts")).toEqual(["--import", "tsx", "/elsewhere/x.ts"]);
  });
});
