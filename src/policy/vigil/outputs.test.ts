import { describe, expect, it } from "vitest";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import { loadPolicyText } from "../load.js";
import { lintPolicies } from "../lint.js";
import { policyContext } from "../../../test/helpers/policy-context.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const header = "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata:\n  name: p\nspec:\n";

function load(spec: string): { policy: CompiledPolicy | undefined; errors: string[] } {
  const result = loadPolicyText(header + spec.replace(/^/gm, "  "), "p.yaml");
  return { policy: result.policies[0], errors: result.errors.map((e) => e.message) };
}

const spec = `
on: [dev.vigil.decide]
variables:
  - name: hourly
    expression: double(resource.hourlyCost)
rules:
  - name: idle
    condition: resource.cpu < 5.0
    message: "{{ resource.id }} is idle"
outputs:
  - name: monthlySaving
    expression: variables.hourly * 730.0
  - name: currency
    expression: resource.currency
  - name: broken
    expression: resource.missing + 1`;

describe("spec.outputs", () => {
  it("every violation reports its outputs; a failing output is null with a trace note", () => {
    const { policy, errors } = load(spec);
    expect(errors).toEqual([]);
    const findings = policy!.evaluate(policyContext({ resource: { id: "i-1", cpu: 1.5, hourlyCost: 0.1, currency: "USD" } }));
    expect(findings).toHaveLength(1);
    expect(findings[0]?.outputs).toEqual({ monthlySaving: 73, currency: "USD", broken: null });
    const note = findings[0]?.trace.find((s) => s.kind === "note");
    expect(note?.expr).toBe("outputs.broken = resource.missing + 1");
    expect(note?.error).toMatch(/missing/);
    expect(JSON.parse(JSON.stringify(findings[0])).outputs.monthlySaving).toBe(73);
  });

  it("a passing rule evaluates no output", () => {
    const { policy } = load(spec);
    expect(policy!.evaluate(policyContext({ resource: { id: "i-1", cpu: 50, hourlyCost: 0.1, currency: "USD" } }))).toEqual([]);
  });

  it("load errors name the output field; duplicate names are rejected", () => {
    expect(load(`rules:\n  - name: r\n    condition: "true"\noutputs:\n  - name: x\n    expression: "1 +"`).errors.join("\n")).toMatch(/spec\.outputs\[0\]\.expression has a CEL error/);
    expect(load(`rules:\n  - name: r\n    condition: "true"\noutputs:\n  - { name: x, expression: "1" }\n  - { name: x, expression: "2" }`).errors.join("\n")).toMatch(/output "x" is declared twice/);
    expect(load(`rules:\n  - name: r\n    condition: "true"\noutputs:\n  - { name: x, expression: variables.nope }`).errors.join("\n")).toMatch(/variables\.nope, which is not declared/);
  });

  it("a variable used only by an output is not reported unused by lint", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-outputs-"));
    writeFileSync(join(dir, "p.yaml"), header + spec.replace(/^/gm, "  "));
    const result = await lintPolicies([dir]);
    expect(result.warnings.filter((w) => w.code === "unused-variable")).toEqual([]);
  });
});
