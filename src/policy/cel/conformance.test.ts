/**
 * The cel-spec conformance suites (npm @bufbuild/cel-spec) through createCelEnvironment →
 * compile → evaluate. Every case is one test; known failures (conformance/skips.ts) must still
 * fail, so the list stays accurate. docs/cel-conformance.md is generated from the same run
 * (`npx tsx src/policy/cel/conformance/report.ts`).
 */
import { describe, expect, it } from "vitest";
import { coreSuites, listCases, runCase, skipOf, type ConformanceCase } from "./conformance/harness.js";

const cases = listCases();
const bySuite = new Map<string, ConformanceCase[]>();
for (const c of cases) bySuite.set(c.suite, [...(bySuite.get(c.suite) ?? []), c]);

for (const [suite, list] of bySuite) {
  describe(`conformance: ${suite}`, () => {
    for (const c of list) {
      const skip = skipOf(c);
      if (skip?.kind === "not-applicable") {
        it.skip(`${c.path} (not applicable: ${skip.reason})`, () => undefined);
      } else if (skip?.kind === "known-failure") {
        it(`${c.path} still fails (known failure, listed in conformance/skips.ts)`, () => {
          expect(runCase(c).passed).toBe(false);
        });
      } else {
        it(c.path, () => {
          const r = runCase(c);
          expect(r.passed, r.detail).toBe(true);
        });
      }
    }
  });
}

describe("conformance totals", () => {
  it("passes at least 99% of the core suites, counting every skipped or failing case as not passed", () => {
    const core = cases.filter((c) => coreSuites.includes(c.suite));
    const passed = core.filter((c) => skipOf(c)?.kind !== "not-applicable" && runCase(c).passed).length;
    expect(core.length).toBeGreaterThan(1500);
    expect(passed / core.length).toBeGreaterThanOrEqual(0.99);
  });
});
