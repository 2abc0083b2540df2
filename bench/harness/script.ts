/**
 * Benchmarks that are standalone scripts (`bench/<file>.ts`), run as child processes so
 * their top-level code and process settings stay their own, compiled or through tsx as the parent
 * runs (bench/harness/paths.ts). With `--json` the script is asked for
 * `--json` as well; if its stdout is a JSON BenchmarkResult (or any JSON), it is kept as data.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { nodeArgsFor, repoRoot } from "./paths.js";
import type { Benchmark, BenchmarkOptions, BenchmarkResult } from "./types.js";

/** A script benchmark for `file` (relative to the package root). Present only when the file exists. */
export function scriptBenchmark(name: string, file: string, description: string): Benchmark & { readonly file: string; readonly present: boolean } {
  return {
    name,
    description,
    file,
    get present() {
      return existsSync(resolve(repoRoot, file));
    },
    run: (options) => runScript(name, file, options),
  };
}

function runScript(name: string, file: string, options: BenchmarkOptions): Promise<BenchmarkResult> {
  const args = [...nodeArgsFor(file), ...(options.json ? ["--json"] : []), ...(options.quick ? ["--quick"] : []), ...options.args];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (!options.json) process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    child.on("error", (error) => resolve(failed(name, `could not start ${file}: ${error.message}`, stdout)));
    child.on("close", (code) => {
      if (code !== 0) {
        resolve(failed(name, `${file} exited with code ${code}`, stdout));
        return;
      }
      // in human mode the output was streamed as it came; do not print it twice
      resolve(options.json ? parsed(name, stdout) : { name, ok: true, measurements: [], comparisons: [], targets: [], notes: [] });
    });
  });
}

function failed(name: string, failure: string, output: string): BenchmarkResult {
  return { name, ok: false, measurements: [], comparisons: [], targets: [], notes: [], failure, output };
}

function parsed(name: string, stdout: string): BenchmarkResult {
  const text = stdout.trim();
  try {
    const value = JSON.parse(text) as Partial<BenchmarkResult> | unknown;
    if (value && typeof value === "object" && "measurements" in value) {
      const result = value as Partial<BenchmarkResult>;
      return {
        name: result.name ?? name,
        ok: result.ok ?? true,
        measurements: result.measurements ?? [],
        comparisons: result.comparisons ?? [],
        targets: result.targets ?? [],
        notes: result.notes ?? [],
        ...(result.failure ? { failure: result.failure } : {}),
      };
    }
    return { name, ok: true, measurements: [], comparisons: [], targets: [], notes: [], output: JSON.stringify(value) };
  } catch {
    // human output was already streamed; keep it for the JSON report only
    return { name, ok: true, measurements: [], comparisons: [], targets: [], notes: [], output: text };
  }
}
