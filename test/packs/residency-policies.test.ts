/**
 * The residency pack's policies load without errors or lint warnings, and their inline
 * `spec.tests` pass (through the same runner as `vigil test`).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lintPolicies, loadPolicies, runNativeTests } from "../../src/policy/index.js";
import { repoRoot } from "./residency-support.js";

const pack = join(repoRoot, "packs/residency");

describe("packs/residency policies", () => {
  it("load (settings and catalog are skipped as data) and lint clean", () => {
    const loaded = loadPolicies([pack]);
    expect(loaded.errors).toEqual([]);
    expect(loaded.policies.map((p) => p.meta.name).sort()).toEqual(["residency-dataflow", "residency-deployment", "residency-infrastructure", "residency-input", "residency-inventory", "residency-treated-data"]);
    expect(loaded.skipped.map((s) => s.file.split("/").pop())).toEqual(["regions.yaml", "settings.yaml"]);
    const lint = lintPolicies([pack]);
    expect(lint.warnings).toEqual([]);
  });

  it("pass their inline tests", () => {
    const results = runNativeTests([join(pack, "policies")]);
    expect(results.filter((r) => r.status !== "pass")).toEqual([]);
    expect(results).toHaveLength(19);
  });
});
