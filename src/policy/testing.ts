/**
 * The common result shape of every test runner (`spec.tests`, `*.test.yaml`, `kyverno-test.yaml`),
 * so `vigil test` prints one table and one summary line.
 */
export type TestStatus = "pass" | "fail" | "skip" | "unsupported" | "error";

export interface TestCaseResult {
  /** Test file or policy file the case comes from. */
  readonly suite: string;
  /** Case name (or `policy/rule/resource` for Kyverno results). */
  readonly name: string;
  readonly policy?: string;
  readonly rule?: string;
  readonly resource?: string;
  /** What the test expected, e.g. `fail`, `pass`, `violation`, `2 findings`. */
  readonly expected: string;
  /** What Vigil computed. */
  readonly actual: string;
  /**
   * `pass`: expected == actual. `fail`: they differ. `skip`: the test itself asks to skip
   * (Kyverno `result: skip` is an expectation, not this). `unsupported`: Vigil cannot yet compute
   * this kind of result (e.g. Kyverno mutate) — reported separately, never counted as passed.
   * `error`: the test could not run (missing file, broken policy) — counted as failed.
   */
  readonly status: TestStatus;
  readonly message?: string;
}

export interface TestRunSummary {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly unsupported: number;
  readonly errors: number;
}

export function summarize(results: readonly TestCaseResult[]): TestRunSummary {
  let passed = 0, failed = 0, skipped = 0, unsupported = 0, errors = 0;
  for (const r of results) {
    if (r.status === "pass") passed++;
    else if (r.status === "fail") failed++;
    else if (r.status === "skip") skipped++;
    else if (r.status === "unsupported") unsupported++;
    else errors++;
  }
  return { passed, failed, skipped, unsupported, errors };
}

/** The last line `vigil test` prints: `N passed, N failed` (+ `, N skipped`, `, N unsupported` when any). Errors count as failed. */
export function summaryLine(summary: TestRunSummary): string {
  let line = `${summary.passed} passed, ${summary.failed + summary.errors} failed`;
  if (summary.skipped > 0) line += `, ${summary.skipped} skipped`;
  if (summary.unsupported > 0) line += `, ${summary.unsupported} unsupported`;
  return line;
}
