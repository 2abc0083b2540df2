import { describe, expect, it } from "vitest";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import type { Finding } from "../../core/finding.js";
import { createCelEnvironment } from "../cel/index.js";
import type { CelEnvironment } from "../cel/api.js";
import { loadPolicyText } from "../load.js";
import { policyContext } from "../../../test/helpers/policy-context.js";
import { withAnalysis } from "../../../test/helpers/cel-analysis-stub.js";

function compile(spec: string, env: CelEnvironment = createCelEnvironment()): CompiledPolicy {
  const text = `apiVersion: vigil.dev/v1\nkind: Policy\nmetadata:\n  name: p\nspec:\n${spec.replace(/^/gm, "  ")}`;
  const result = loadPolicyText(text, "p.yaml", { env });
  expect(result.errors.map((e) => e.message)).toEqual([]);
  return result.policies[0] as CompiledPolicy;
}

const doc = { resource: { kind: "Pod", region: "us-east-1" }, principal: { role: "dev", id: "alice" }, action: "read" };

describe("native policy evaluation", () => {
  it("a true condition is a violation with the rendered message; passes only in explain mode", () => {
    const p = compile(`
match: resource.kind == "Pod"
rules:
  - name: wrong-region
    condition: resource.region != "eu-west-1"
    message: "{{ principal.id }} used {{ resource.region }}"
    severity: high
    effect: warn
  - name: admin-only
    condition: principal.role == "admin"`);
    const findings = p.evaluate(policyContext(doc, { subject: "pods/web" }));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ policy: "p", rule: "wrong-region", effect: "violation", mode: "warn", severity: "high", message: "alice used us-east-1", language: "vigil", resource: "pods/web" });
    expect(findings[0]?.revision).toMatch(/^[0-9a-f]{16}$/);
    expect(findings[0]?.trace.map((s) => s.kind)).toEqual(["match", "condition"]);
    const explained = p.evaluate(policyContext(doc), { includePasses: true });
    expect(explained.map((f) => [f.rule, f.effect])).toEqual([["wrong-region", "violation"], ["admin-only", "pass"]]);
  });

  it("defaults: severity medium, effect deny, a generic message", () => {
    const p = compile(`rules:\n  - name: r\n    condition: "true"`);
    expect(p.evaluate(policyContext({}))[0]).toMatchObject({ mode: "deny", severity: "medium", message: "policy p rule r violated" });
  });

  it("match false or missing attribute: nothing on the hot path, a skip per rule in explain mode", () => {
    const p = compile(`
match: resource.kind == "Deployment"
rules:
  - name: r1
    condition: "true"
  - name: r2
    condition: "true"`);
    expect(p.evaluate(policyContext(doc))).toEqual([]);
    const skips = p.evaluate(policyContext(doc), { includePasses: true });
    expect(skips.map((f) => [f.rule, f.effect, f.skipReason])).toEqual([["r1", "skip", "not matched"], ["r2", "skip", "not matched"]]);
    expect(skips[0]?.trace[0]).toMatchObject({ kind: "match", value: false });
    expect(p.evaluate(policyContext({ other: 1 }))).toEqual([]);
    const missing = p.evaluate(policyContext({ other: 1 }), { includePasses: true });
    expect(missing.map((f) => f.effect)).toEqual(["skip", "skip"]);
    expect(missing[0]?.skipReason).toMatch(/^not matched \(/);
  });

  it("other match errors give one error finding for the policy", () => {
    const p = compile(`
match: 1 / (size(action) - 4) == 1
rules:
  - name: r1
    condition: "true"
    severity: low
  - name: r2
    condition: "true"
    severity: critical
    effect: warn`);
    const findings = p.evaluate(policyContext(doc));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: "(match)", effect: "error", severity: "critical", mode: "deny" });
    expect(findings[0]?.message).toContain("spec.match failed");
    expect(findings[0]?.error?.message).toMatch(/divi/i);
  });

  it("a non-boolean match or condition is an error", () => {
    const p = compile(`match: resource.kind\nrules:\n  - name: r\n    condition: "true"`);
    expect(p.evaluate(policyContext(doc))[0]).toMatchObject({ effect: "error", rule: "(match)" });
    expect(p.evaluate(policyContext(doc))[0]?.message).toContain("must evaluate to a boolean");
    const q = compile(`rules:\n  - name: r\n    condition: resource.kind`);
    expect(q.evaluate(policyContext(doc))[0]).toMatchObject({ effect: "error", rule: "r" });
  });

  it("a failing condition is an error for that rule only; other rules still decide", () => {
    const p = compile(`
rules:
  - name: broken
    condition: 10 / (size(action) - 4) > 1
  - name: missing-attr
    condition: resource.owner == "alice"
  - name: works
    condition: principal.role == "dev"`);
    const findings = p.evaluate(policyContext(doc));
    expect(findings.map((f) => [f.rule, f.effect])).toEqual([["broken", "error"], ["missing-attr", "error"], ["works", "violation"]]);
    expect(findings[0]?.message).toContain("spec.rules[0].condition failed");
    expect(findings[0]?.trace.at(-1)).toMatchObject({ kind: "condition" });
    expect(findings[0]?.trace.at(-1)?.error).toBeDefined();
  });

  it("exceptions turn a violation into a skip naming the exception", () => {
    const p = compile(`
rules:
  - name: r1
    condition: "true"
  - name: r2
    condition: "true"
exceptions:
  - principal.id == "root"
  - name: break-glass
    when: principal.role == "sre"
    rules: [r2]
  - name: unknown-attr
    when: principal.ticket != ""`);
    expect(p.evaluate(policyContext(doc)).map((f) => f.effect)).toEqual(["violation", "violation"]);
    const root = { ...doc, principal: { id: "root", role: "dev" } };
    expect(p.evaluate(policyContext(root))).toEqual([]);
    const explained = p.evaluate(policyContext(root), { includePasses: true });
    expect(explained.map((f) => [f.rule, f.effect, f.skipReason])).toEqual([
      ["r1", "skip", 'excepted by exception "exceptions[0]"'],
      ["r2", "skip", 'excepted by exception "exceptions[0]"'],
    ]);
    expect(explained[0]?.trace.at(-1)).toMatchObject({ kind: "exception", value: true });
    const sre = { ...doc, principal: { id: "bob", role: "sre" } };
    expect(p.evaluate(policyContext(sre)).map((f) => f.rule)).toEqual(["r1"]);
    expect(p.evaluate(policyContext(sre), { includePasses: true }).find((f) => f.rule === "r2")?.skipReason).toBe('excepted by exception "break-glass"');
  });

  it("an exception that fails with a real error makes the rule an error", () => {
    const p = compile(`
rules:
  - name: r
    condition: "true"
exceptions:
  - name: bad
    when: 1 / (size(action) - 4) == 0`);
    const [f] = p.evaluate(policyContext(doc));
    expect(f).toMatchObject({ effect: "error", rule: "r" });
    expect(f?.message).toContain('exception "bad" failed');
  });

  it("variables are lazy, evaluated at most once, and may use earlier ones", () => {
    let calls = 0;
    const env = createCelEnvironment().extend({ functions: [{ name: "counted", arity: 1, impl: (x: unknown) => { calls++; return x; } }] });
    const p = compile(`
variables:
  - name: region
    expression: counted(resource.region)
  - name: isUs
    expression: variables.region.startsWith("us-")
  - name: boom
    expression: 1 / (size(action) - 4)
rules:
  - name: us
    condition: variables.isUs
    message: "region {{ variables.region }}"
  - name: also-us
    condition: variables.region == "us-east-1"
  - name: uses-boom
    condition: variables.boom > 0
  - name: plain
    condition: action == "read"`, env);
    const findings = p.evaluate(policyContext(doc));
    expect(calls).toBe(1);
    expect(findings.map((f) => [f.rule, f.effect])).toEqual([["us", "violation"], ["also-us", "violation"], ["uses-boom", "error"], ["plain", "violation"]]);
    expect(findings[0]?.message).toBe("region us-east-1");
    expect(findings[0]?.trace.filter((s) => s.kind === "variable").map((s) => [s.expr.split(" =")[0], s.value])).toEqual([["variables.region", "us-east-1"], ["variables.isUs", true]]);
    expect(findings[2]?.message).toContain("variables.boom");

    calls = 0;
    const q = compile(`
variables:
  - name: region
    expression: counted(resource.region)
rules:
  - name: plain
    condition: action == "read"`, env);
    q.evaluate(policyContext(doc));
    expect(calls).toBe(0);
  });

  it("a failed variable fails the expressions that read it with its own error, and only those", () => {
    const p = compile(`
variables:
  - name: owner
    expression: resource.owner
  - name: huge
    expression: lists.range(1000).all(x, lists.range(1000).all(y, x + y >= 0))
rules:
  - name: has-owner
    condition: "!has(variables.owner)"
  - name: owner-in
    condition: '!("owner" in variables)'
  - name: runaway
    condition: variables.huge || principal.role == "admin"
  - name: absorbed
    condition: variables.owner == "x" || action == "read"
  - name: own-error
    condition: (false && variables.owner == "x") || 1 / (size(action) - 4) == 1`);
    const findings = p.evaluate(policyContext(doc));
    const by = (rule: string): Finding | undefined => findings.find((f) => f.rule === rule);
    expect(findings.map((f) => [f.rule, f.effect])).toEqual([["has-owner", "error"], ["owner-in", "error"], ["runaway", "error"], ["absorbed", "violation"], ["own-error", "error"]]);
    expect(by("has-owner")?.error).toEqual({ code: "no_such_key", message: "variables.owner: no such key: owner" });
    expect(by("owner-in")?.error?.code).toBe("no_such_key");
    // A runaway variable is never absorbed by || (as cost_exceeded never is in one expression).
    expect(by("runaway")?.error?.code).toBe("cost_exceeded");
    expect(by("runaway")?.message).toContain("variables.huge");
    // An expression that fails on its own is not blamed on a variable it short-circuited past.
    expect(by("own-error")?.error).toEqual({ code: "division_by_zero", message: "division by zero" });
  });

  it("a trace shows a bounded preview of a huge variable without converting all of it", () => {
    // Ten shared sub-lists per level: cheap to build (a few hundred cost units), 10^7 elements in all.
    const levels = ["[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", ...Array.from({ length: 6 }, (_, i) => `[${Array(10).fill(`variables.v${i}`).join(", ")}]`)];
    const p = compile(`
variables:
${levels.map((expression, i) => `  - name: v${i}\n    expression: "${expression}"`).join("\n")}
  - name: opt
    expression: optional.of(variables.v6)
rules:
  - name: r
    condition: size(variables.v6) == 10 && variables.opt.hasValue()`);
    const [f] = p.evaluate(policyContext(doc));
    expect(f?.effect).toBe("violation");
    const steps = f?.trace ?? [];
    const v6 = steps.find((s) => s.expr.startsWith("variables.v6 ="))?.value as unknown[][][][];
    expect(v6).toHaveLength(10);
    expect(v6[0]?.[0]?.[0]?.[0]).toBe("<list of 10>");
    expect(steps.find((s) => s.expr.startsWith("variables.opt ="))?.value).toEqual(v6);
  });

  it("a variable read through optional syntax or as a whole map is computed before the expression runs", () => {
    const conditions: Record<string, string> = {
      "optional-select": "variables.?limit.orValue(100) == 5",
      "optional-index": 'variables[?"limit"].orValue(100) == 5',
      "whole-map": '"limit" in variables && size(variables) == 2',
      bound: "cel.bind(v, variables, v.limit == 5)",
    };
    for (const [rule, condition] of Object.entries(conditions)) {
      const p = compile(`
variables:
  - name: limit
    expression: "5"
  - name: region
    expression: resource.region
rules:
  - name: ${rule}
    condition: ${JSON.stringify(condition)}`);
      expect(p.evaluate(policyContext(doc)).map((f) => [f.rule, f.effect])).toEqual([[rule, "violation"]]);
    }
  });

  it("variables keep CEL values (timestamps, durations) for the expressions that read them, and `now` is a timestamp", () => {
    const p = compile(`
variables:
  - name: expires
    expression: timestamp(resource.expires)
  - name: age
    expression: now - timestamp(resource.created)
rules:
  - name: expired
    condition: variables.expires < now
    message: "expired at {{ variables.expires }}"
  - name: old
    condition: variables.age > duration("720h")`);
    const findings = p.evaluate(policyContext({ resource: { expires: "2024-04-01T00:00:00Z", created: "2023-01-01T00:00:00Z" } }, { now: "2024-05-01T12:00:00Z" }));
    expect(findings.map((f) => [f.rule, f.effect])).toEqual([["expired", "violation"], ["old", "violation"]]);
    expect(findings[0]?.message).toBe("expired at 2024-04-01T00:00:00Z");
    expect(findings[0]?.trace.find((s) => s.kind === "variable")?.value).toBe("2024-04-01T00:00:00Z");
    expect(JSON.parse(JSON.stringify(findings[1]?.trace))).toEqual(findings[1]?.trace);
    expect(p.evaluate(policyContext({ resource: { expires: "2024-06-01T00:00:00Z", created: "2024-04-20T00:00:00Z" } }, { now: "2024-05-01T12:00:00Z" }))).toEqual([]);
  });

  it("a violation's trace is a plain enumerable field (built on first access)", () => {
    const p = compile(`rules:\n  - name: r\n    condition: action == "read"`);
    const [f] = p.evaluate(policyContext(doc));
    expect(Object.keys(f ?? {})).toContain("trace");
    const copy = { ...f };
    expect(copy.trace).toEqual(f?.trace);
    expect(JSON.parse(JSON.stringify(f)).trace[0]).toMatchObject({ kind: "condition", value: true });
  });

  it("a condition over the cost limit is an error finding of kind cost_exceeded", () => {
    const p = compile(`rules:\n  - name: loops\n    condition: "[1,2,3,4,5,6,7,8,9,10].all(x, [1,2,3,4,5,6,7,8,9,10].all(y, x * y > 0))"\n  - name: cheap\n    condition: action == "read"`);
    const findings = p.evaluate(policyContext(doc), { costLimit: 20 });
    expect(findings.map((f) => [f.rule, f.effect, f.error?.code])).toEqual([["loops", "error", "cost_exceeded"], ["cheap", "violation", undefined]]);
    expect(p.evaluate(policyContext(doc)).map((f) => [f.rule, f.effect])).toEqual([["loops", "violation"], ["cheap", "violation"]]);
  });

  it("a template part that fails renders as <error: ...> and the finding stays a violation", () => {
    const p = compile(`rules:\n  - name: r\n    condition: "true"\n    message: "owner {{ resource.owner }}!"`);
    const [f] = p.evaluate(policyContext(doc));
    expect(f?.effect).toBe("violation");
    expect(f?.message).toMatch(/^owner <error: .+>!$/);
  });

  it("renders non-string template values as JSON", () => {
    const p = compile(`rules:\n  - name: r\n    condition: "true"\n    message: "{{ [1, 2] }} {{ {'a': true} }} {{ 2.5 }}"`);
    expect(p.evaluate(policyContext(doc))[0]?.message).toBe('[1,2] {"a":true} 2.5');
  });

  it("attaches remediation references to violations", () => {
    const p = compile(`rules:\n  - name: r\n    condition: "true"\nremediation:\n  - action: aws.s3.block-public-access\n    params: { bucket: "{{ resource.kind }}" }`);
    expect(p.evaluate(policyContext(doc))[0]?.remediation).toEqual([{ action: "aws.s3.block-public-access", params: { bucket: "{{ resource.kind }}" } }]);
  });

  it("sees posture and request context through `context`", () => {
    const p = compile(`rules:\n  - name: frozen\n    condition: context.posture.level == "freeze" && context.mfa`);
    expect(p.evaluate(policyContext({ context: { mfa: true } }, { posture: { level: "freeze" } }))).toHaveLength(1);
    expect(p.evaluate(policyContext({ context: { mfa: true, posture: { level: "freeze" } } }))).toHaveLength(0);
  });
});

describe("traces with term analysis", () => {
  const env = withAnalysis(createCelEnvironment());

  it("records each conjunct with its value and the inputs it read", () => {
    const p = compile(`
match: resource.kind == "Pod"
rules:
  - name: r
    condition: principal.role == "dev" && resource.region != "eu-west-1"`, env);
    const [f] = p.evaluate(policyContext(doc));
    const condition = f?.trace.find((s) => s.kind === "condition");
    expect(condition?.value).toBe(true);
    expect(condition?.inputs).toEqual({ "principal.role": "dev", "resource.region": "us-east-1" });
    expect(condition?.children?.map((c) => [c.kind, c.expr, c.value, c.inputs])).toEqual([
      ["conjunct", 'principal.role == "dev"', true, { "principal.role": "dev" }],
      ["conjunct", 'resource.region != "eu-west-1"', true, { "resource.region": "us-east-1" }],
    ]);
    expect(f?.trace[0]).toMatchObject({ kind: "match", value: true, inputs: { "resource.kind": "Pod" } });
  });

  it("shows which disjunct failed in explain mode", () => {
    const p = compile(`rules:\n  - name: r\n    condition: resource.region == "eu-west-1" || principal.role == "admin"`, env);
    const [f] = p.evaluate(policyContext(doc), { includePasses: true });
    expect(f?.effect).toBe("pass");
    const condition = f?.trace.find((s) => s.kind === "condition");
    expect(condition?.children?.map((c) => [c.kind, c.value])).toEqual([["disjunct", false], ["disjunct", false]]);
  });

  it("derives index keys from match, leaving out policy variables", () => {
    const p = compile(`
variables:
  - name: x
    expression: "1"
match: resource.kind == "Pod" && action in ["read", "list"] && variables.x == 1
rules:
  - name: r
    condition: "true"`, env);
    expect(p.indexKeys).toEqual([{ path: "resource.kind", values: ["Pod"] }, { path: "action", values: ["read", "list"] }]);
  });
});
