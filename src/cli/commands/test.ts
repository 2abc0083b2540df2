import { statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { VigilError } from "../../core/errors.js";
import { createCelEnvironment } from "../../policy/cel/index.js";
import { runKyvernoTests } from "../../policy/kyverno/test-runner.js";
import { summarize, summaryLine, type TestCaseResult } from "../../policy/testing.js";
import { runNativeTests } from "../../policy/vigil/test-runner.js";
import { write, type Command } from "../command.js";
import { outputFormat, outputOption } from "../shared.js";

const statusMark: Record<TestCaseResult["status"], string> = { pass: "PASS", fail: "FAIL", skip: "SKIP", unsupported: "UNSUPPORTED", error: "ERROR" };

function table(results: readonly TestCaseResult[], cwd: string): string[] {
  // One line per row: a YAML error's message spans lines (the source line and a caret).
  const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim();
  const rows = results.map((r) => [statusMark[r.status], relative(cwd, r.suite) || r.suite, r.name, r.expected, r.actual, r.message ?? ""].map(oneLine));
  const header = ["STATUS", "SUITE", "CASE", "EXPECTED", "ACTUAL", "DETAIL"];
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))));
  const fit = (s: string, w: number): string => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : fit(cell, widths[i] ?? 10))).join("  ").trimEnd());
}

export const testCommand: Command = {
  path: ["test"],
  summary: "Run policy tests: spec.tests, *.test.yaml and Kyverno kyverno-test.yaml files",
  args: "[path...]",
  description: "Discovers tests recursively under each path (default: current directory).\nThe last line is `N passed, N failed` (with `, N skipped` / `, N unsupported` when any).\nKyverno mutate and generate results are compared with their patchedResources / generatedResource files; the PolicyExceptions of a test's `exceptions` files apply; unsupported results (e.g. verifyImages rules) are reported separately, never counted as passed.\nExit code: 0 all passed, 1 a test failed or errored, 2 a path that does not exist or no test under the paths.",
  options: {
    ...outputOption,
    failures: { type: "boolean", description: "In the table, show only failed, errored and unsupported cases" },
  },
  examples: ["vigil test packs/", "vigil test policies/ --output json"],
  async run(args, io) {
    const format = outputFormat(args);
    const given = args.positionals.length ? args.positionals : ["."];
    // A path that is not there is a mistake on the command line, not a test that failed (once, before running anything).
    for (const path of given) {
      try {
        statSync(resolve(io.cwd, path));
      } catch (cause) {
        throw new VigilError("VIGIL_BAD_INPUT", `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}; pass policy files or directories that exist`, { field: "path" }, cause);
      }
    }
    const paths = given.map((p) => resolve(io.cwd, p));
    const results: TestCaseResult[] = [...runNativeTests(paths), ...runKyvernoTests(paths, { celEnv: createCelEnvironment() })];
    // Nothing to run is a wrong path, not a pass: "0 passed, 0 failed" with exit 0 let a CI step pointed at the wrong directory pass.
    if (results.length === 0) throw new VigilError("VIGIL_BAD_INPUT", `no tests found under ${given.join(", ")}: a test is a policy's spec.tests, a *.test.yaml file or a kyverno-test.yaml file; pass the files or directories that hold them`, { field: "path" });
    const summary = summarize(results);
    if (format === "json") {
      write(io.stdout, JSON.stringify({ summary, results }, null, 2));
    } else {
      const shown = args.values["failures"] === true ? results.filter((r) => r.status !== "pass" && r.status !== "skip") : results;
      if (shown.length) for (const line of table(shown, io.cwd)) write(io.stdout, line);
    }
    write(format === "json" ? io.stderr : io.stdout, summaryLine(summary));
    return summary.failed + summary.errors > 0 ? 1 : 0;
  },
};
