import { describe, expect, it } from "vitest";
import type { Finding } from "../core/finding.js";
import { createCelEnvironment } from "./cel/index.js";
import { describeStep, explainFinding, explainFindings, explanationSteps, findingHeadline, formatValue } from "./explain.js";
import { loadPolicyText } from "./load.js";
import { policyContext } from "../../test/helpers/policy-context.js";
import { withAnalysis } from "../../test/helpers/cel-analysis-stub.js";

const base: Finding = { policy: "p", rule: "r", revision: "x", language: "vigil", effect: "violation", mode: "deny", severity: "high", message: "m", trace: [] };

describe("explain", () => {
  it("describes a step with its value and the inputs it read", () => {
    expect(describeStep({ kind: "conjunct", expr: 'resource.region == "eu-west-1"', value: false, inputs: { "resource.region": "us-east-1" } }))
      .toBe('resource.region == "eu-west-1" was false (resource.region = "us-east-1")');
    expect(describeStep({ kind: "condition", expr: "a /\n   b > 1", error: "division by zero" })).toBe("a / b > 1 failed: division by zero");
    expect(describeStep({ kind: "variable", expr: "variables.n = size(x)", value: 3 })).toBe("variables.n = size(x) is 3");
    expect(formatValue("x".repeat(200))).toHaveLength(80);
  });

  it("headlines every effect", () => {
    expect(findingHeadline(base)).toBe("p/r violated (high, deny): m");
    expect(findingHeadline({ ...base, effect: "error", error: { code: "other", message: "boom" } })).toBe("p/r could not be evaluated: boom");
    expect(findingHeadline({ ...base, effect: "skip", skipReason: "not matched" })).toBe("p/r skipped: not matched");
    expect(findingHeadline({ ...base, effect: "pass" })).toBe("p/r passed");
    expect(explainFindings([])).toBe("No policy reported anything.");
  });

  it("explains a real finding: which conjunct decided, with the values", () => {
    const env = withAnalysis(createCelEnvironment());
    const { policies } = loadPolicyText(`apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: residency }
spec:
  match: action == "export"
  rules:
    - name: eu-only
      condition: resource.region == "eu-west-1" && principal.region != "eu-west-1"
      message: export to {{ principal.region }}
`, "r.yaml", { env });
    const policy = policies[0];
    if (policy === undefined) throw new Error("policy did not load");
    const ctx = policyContext({ action: "export", resource: { region: "eu-west-1" }, principal: { region: "us-east-1" } });
    const [violation] = policy.evaluate(ctx);
    if (violation === undefined) throw new Error("expected a violation");
    const lines = explainFinding(violation);
    expect(lines[0]).toBe("residency/eu-only violated (medium, deny): export to us-east-1");
    expect(lines).toContain('  match: action == "export" was true (action = "export")');
    expect(lines).toContain('    and: principal.region != "eu-west-1" was true (principal.region = "us-east-1")');
    const [pass] = policy.evaluate(policyContext({ action: "export", resource: { region: "us-east-1" }, principal: { region: "us-east-1" } }), { includePasses: true });
    if (pass === undefined) throw new Error("expected a pass");
    expect(explanationSteps(pass)).toEqual([{ kind: "condition", text: 'resource.region == "eu-west-1" was false (resource.region = "us-east-1")', policy: "residency", rule: "eu-only" }]);
    expect(explanationSteps(violation).map((s) => s.text)).toEqual([
      'resource.region == "eu-west-1" was true (resource.region = "eu-west-1")',
      'principal.region != "eu-west-1" was true (principal.region = "us-east-1")',
    ]);
  });
});

describe("pattern steps", () => {
  it("say in words whether a Kyverno pattern matched, did not apply or did not match, not `pattern: pattern: \"pass\"`", () => {
    expect(describeStep({ kind: "pattern", expr: "pattern", value: "pass" })).toBe("pattern matched the resource");
    expect(describeStep({ kind: "pattern", expr: "anyPattern[1]", value: "skip" })).toBe("anyPattern[1] did not apply (a conditional anchor's condition did not hold)");
    expect(describeStep({ kind: "pattern", expr: "/spec/hostNetwork/", value: "fail", inputs: { found: true, expected: "false" } })).toBe('/spec/hostNetwork/ did not match the resource (found = true, expected = "false")');
  });
});
