import { describe, expect, it } from "vitest";
import type { CompiledPolicy } from "../core/compiled-policy.js";
import type { Finding } from "../core/finding.js";
import { createCelEnvironment } from "./cel/index.js";
import { loadPolicyText } from "./load.js";
import { createPolicySet, eventTypeMatches } from "./policy-set.js";
import { policyContext } from "../../test/helpers/policy-context.js";
import { withAnalysis } from "../../test/helpers/cel-analysis-stub.js";

const env = withAnalysis(createCelEnvironment());

function fake(name: string, on: string[], indexKeys?: CompiledPolicy["indexKeys"], evaluate?: CompiledPolicy["evaluate"]): CompiledPolicy & { calls: number } {
  const policy = {
    calls: 0,
    meta: { name, language: "cedar" as const, revision: `rev-${name}`, on },
    ...(indexKeys === undefined ? {} : { indexKeys }),
    evaluate(...args: Parameters<CompiledPolicy["evaluate"]>): Finding[] {
      policy.calls++;
      return evaluate?.(...args) ?? [{ policy: name, rule: "r", revision: `rev-${name}`, language: "cedar", effect: "violation", mode: "deny", severity: "low", message: name, trace: [] }];
    },
  };
  return policy;
}

describe("eventTypeMatches", () => {
  it("matches exact types and * globs", () => {
    expect(eventTypeMatches("io.k8s.*", "io.k8s.admission.review")).toBe(true);
    expect(eventTypeMatches("io.k8s.*", "io.k8sx")).toBe(false);
    expect(eventTypeMatches("com.github.*.opened", "com.github.pull_request.opened")).toBe(true);
    expect(eventTypeMatches("com.amazonaws.cloudtrail", "com.amazonaws.cloudtrail")).toBe(true);
    expect(eventTypeMatches("com.amazonaws.cloudtrail", "com_amazonaws.cloudtrail")).toBe(false);
    expect(eventTypeMatches("*", "anything")).toBe(true);
  });
});

describe("PolicySet", () => {
  it("selects by event type (exact, glob, every type) and keeps policy order", () => {
    const set = createPolicySet([fake("all", []), fake("k8s", ["io.k8s.*"]), fake("trail", ["com.amazonaws.cloudtrail"]), fake("both", ["io.k8s.resource", "com.amazonaws.cloudtrail"])]);
    const names = (type: string): string[] => set.candidates(policyContext({}, { type })).map((p) => p.meta.name);
    expect(names("io.k8s.resource")).toEqual(["all", "k8s", "both"]);
    expect(names("com.amazonaws.cloudtrail")).toEqual(["all", "trail", "both"]);
    expect(names("dev.vigil.decide")).toEqual(["all"]);
    const result = set.evaluate(policyContext({}, { type: "io.k8s.resource" }));
    expect(result.findings.map((f) => f.policy)).toEqual(["all", "k8s", "both"]);
    expect(result.policyRevisions).toEqual({ all: "rev-all", k8s: "rev-k8s", both: "rev-both" });
  });

  it("selects by index keys; unkeyed policies always run; other keys filter", () => {
    const pods = fake("pods", [], [{ path: "resource.kind", values: ["Pod"] }]);
    const podsInP7 = fake("pods-p7", [], [{ path: "resource.kind", values: ["Pod"] }, { path: "resource.project", values: ["p7"] }]);
    const readers = fake("readers", [], [{ path: "action", values: ["read", "list"] }]);
    const flags = fake("flags", [], [{ path: "request.dryRun", values: [true] }]);
    const open = fake("open", []);
    const set = createPolicySet([pods, podsInP7, readers, flags, open]);
    const names = (input: unknown): string[] => set.candidates(policyContext(input)).map((p) => p.meta.name);
    expect(names({ resource: { kind: "Pod", project: "p7" }, action: "read" })).toEqual(["pods", "pods-p7", "readers", "open"]);
    expect(names({ resource: { kind: "Pod", project: "p1" }, action: "write" })).toEqual(["pods", "open"]);
    expect(names({ resource: { kind: "Job" }, action: "list", request: { dryRun: true } })).toEqual(["readers", "flags", "open"]);
    expect(names({})).toEqual(["open"]);
    set.evaluate(policyContext({ resource: { kind: "Job" } }));
    expect(pods.calls).toBe(0);
    expect(open.calls).toBe(1);
    expect(set.candidates(policyContext({}), { exhaustive: true })).toHaveLength(5);
    expect(Object.keys(set.evaluate(policyContext({})).policyRevisions)).toEqual(["open"]);
  });

  it("a policy that throws yields an error finding and the others still decide", () => {
    const set = createPolicySet([fake("a", []), fake("thrower", [], undefined, () => { throw new Error("boom"); }), fake("c", [])]);
    const { findings } = set.evaluate(policyContext({}, { subject: "s1" }));
    expect(findings.map((f) => [f.policy, f.effect])).toEqual([["a", "violation"], ["thrower", "error"], ["c", "violation"]]);
    expect(findings[1]).toMatchObject({ rule: "(policy)", resource: "s1", error: { code: "VIGIL_INTERNAL", message: "boom" } });
  });

  it("a native policy with a broken condition gives an error finding while the others decide", () => {
    const text = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: broken }
spec:
  rules:
    - name: divides
      condition: 1 / (size(action) - 4) == 1
---
apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: readers }
spec:
  match: action == "read"
  rules:
    - name: no-read
      condition: "true"
`;
    const { policies, errors } = loadPolicyText(text, "set.yaml", { env });
    expect(errors).toEqual([]);
    const { findings, policyRevisions } = createPolicySet(policies).evaluate(policyContext({ action: "read" }));
    expect(findings.map((f) => [f.policy, f.rule, f.effect])).toEqual([["broken", "divides", "error"], ["readers", "no-read", "violation"]]);
    expect(Object.keys(policyRevisions)).toEqual(["broken", "readers"]);
  });
});

describe("index keys read values as CEL does", () => {
  const realEnv = createCelEnvironment();
  const policiesOf = (text: string): CompiledPolicy[] => {
    const { policies, errors } = loadPolicyText(text, "paths.yaml", { env: realEnv });
    expect(errors).toEqual([]);
    return policies;
  };
  const decisive = (findings: readonly Finding[]): string[] => findings.filter((f) => f.effect === "violation" || f.effect === "error").map((f) => `${f.effect} ${f.policy}/${f.rule}`);

  it("a list has no fields: `tags.length == 2` never matches, indexed or not", () => {
    const policies = policiesOf(`apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: two-tags }
spec:
  match: tags.length == 2
  rules:
    - name: r
      condition: "true"
`);
    const ctx = policyContext({ tags: ["a", "b"] });
    expect(decisive(createPolicySet(policies, { index: false }).evaluate(ctx).findings)).toEqual([]);
    expect(decisive(createPolicySet(policies).evaluate(ctx).findings)).toEqual([]);
  });

  it("a dotted activation key (`a.b` when there is no `a`) is found by the index as by CEL", () => {
    const policies = policiesOf(`apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: dotted }
spec:
  match: a.b == "x" && a.b.c in ["y"]
  rules:
    - name: r
      condition: "true"
---
apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: guard }
spec:
  rules:
    - name: r
      condition: k.id == "z" && true
`);
    for (const input of [{ "a.b": "x", "a.b.c": "y", "k.id": "z" }, { "a.b": { c: "y" }, "a.b.c": "x", k: { id: "z" } }]) {
      const ctx = policyContext(input);
      const linear = decisive(createPolicySet(policies, { index: false }).evaluate(ctx).findings);
      expect(decisive(createPolicySet(policies).evaluate(ctx).findings)).toEqual(linear);
    }
    expect(decisive(createPolicySet(policies).evaluate(policyContext({ "a.b": "x", "a.b.c": "y", "k.id": "z" })).findings)).toEqual(["violation dotted/r", "violation guard/r"]);
  });
});

describe("index keys and error precedence", () => {
  const realEnv = createCelEnvironment();
  const decisive = (findings: readonly Finding[]): string[] => findings.filter((f) => f.effect === "violation" || f.effect === "error").map((f) => `${f.effect} ${f.policy}/${f.rule}${f.error === undefined ? "" : ` ${f.error.code}`}`);

  it("an absent key value does not drop a policy whose match then fails on an earlier operand (CEL's && raises its first error)", () => {
    const { policies, errors } = loadPolicyText(`apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: replicas }
spec:
  match: object.spec.replicas > 3 && object.kind == "Deployment"
  rules:
    - name: r
      condition: "true"
---
apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: indexed-step }
spec:
  match: object['kind'] == "Pod"
  rules:
    - name: r
      condition: "true"
---
apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: guarded }
spec:
  match: has(resource.labels) && resource.labels.env == "prod"
  rules:
    - name: r
      condition: "true"
`, "precedence.yaml", { env: realEnv });
    expect(errors).toEqual([]);
    const indexed = createPolicySet(policies);
    const linear = createPolicySet(policies, { index: false });
    for (const input of [{ object: { spec: { replicas: "many" } } }, { object: ["a"] }, { object: { kind: "Job", spec: { replicas: 5 } } }, { object: { kind: "Deployment", spec: { replicas: 5 } } }]) {
      const ctx = policyContext(input);
      expect({ input, findings: decisive(indexed.evaluate(ctx).findings) }).toEqual({ input, findings: decisive(linear.evaluate(ctx).findings) });
    }
    expect(decisive(indexed.evaluate(policyContext({ object: { spec: { replicas: "many" } } })).findings)).toEqual(["error replicas/(match) no_matching_overload"]);
    expect(decisive(indexed.evaluate(policyContext({ object: ["a"] })).findings)).toEqual(["error indexed-step/(match) invalid_argument"]);
    // A present value outside the key's values still rules the policy out, unevaluated (`object['kind']` makes no key).
    expect(indexed.candidates(policyContext({ object: { kind: "Job", spec: { replicas: 5 } } })).map((p) => p.meta.name)).toEqual(["indexed-step", "guarded"]);
    expect(indexed.candidates(policyContext({ object: { kind: "Deployment" }, resource: { labels: { env: "dev" } } })).map((p) => p.meta.name)).toEqual(["replicas", "indexed-step"]);
  });

  it("indexed and linear evaluation agree on matches mixing ||, !, has(), in over input lists and literals of every type (property)", () => {
    const random = rng(4242);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const paths = ["r.kind", "r.n", "a", "r.flag", "r['kind']", "x.y", "r.tags", "r.meta.k"];
    const literals = ['"Pod"', '"Job"', "1", "1.0", "2", "1u", "true", "false", "null", '"1"', "-0.0", "0"];
    const constraint = (): string => {
      const path = pick(paths);
      return pick([
        () => `${path} == ${pick(literals)}`, () => `${pick(literals)} == ${path}`, () => `${path} in [${pick(literals)}, ${pick(literals)}]`,
        () => `${path} in r.tags`, () => `has(${path.includes("[") ? "r.kind" : path.includes(".") ? path : "r.kind"})`,
        () => `!(${path} == ${pick(literals)})`, () => `(${path} == ${pick(literals)} || ${pick(paths)} == ${pick(literals)})`, () => `${path} != ${pick(literals)}`,
      ])();
    };
    const values: unknown[] = ["Pod", "Job", 1, 1.5, 2, 0, -0, true, false, null, "1", [1, "Pod"], { k: "Pod" }];
    const input = (): unknown => {
      const r: Record<string, unknown> = {};
      for (const k of ["kind", "n", "flag", "tags", "meta"]) if (random() < 0.7) r[k] = pick(values);
      const out: Record<string, unknown> = random() < 0.85 ? { r } : { "r.kind": pick(values) };
      if (random() < 0.6) out["a"] = pick(values);
      if (random() < 0.3) out["x.y"] = pick(values); else if (random() < 0.3) out["x"] = { y: pick(values) };
      return out;
    };
    let compared = 0;
    for (let round = 0; round < 4; round++) {
      const docs = Array.from({ length: 40 }, (_, i) => {
        const match = Array.from({ length: 1 + Math.floor(random() * 3) }, constraint).join(" && ");
        const condition = pick(["true", `${pick(paths)} == ${pick(literals)} && true`, "r.missing == 1"]);
        return `apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: { name: p${i} }\nspec:\n  match: ${JSON.stringify(match)}\n  rules:\n    - name: r\n      condition: ${JSON.stringify(condition)}\n`;
      });
      const { policies, errors } = loadPolicyText(docs.join("---\n"), `mixed-${round}.yaml`, { env: realEnv });
      expect(errors).toEqual([]);
      const indexed = createPolicySet(policies);
      const linear = createPolicySet(policies, { index: false });
      for (let i = 0; i < 150; i++) {
        const ctx = policyContext(input());
        expect(decisive(indexed.evaluate(ctx).findings)).toEqual(decisive(linear.evaluate(ctx).findings));
        compared++;
      }
    }
    expect(compared).toBe(600);
  });
});

/** Seeded PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("index soundness (property)", () => {
  const kinds = ["Pod", "Job", "Doc", "Bucket"];
  const actions = ["read", "write", "delete", "list"];
  const projects = ["p1", "p7", "p9"];
  const types = ["dev.vigil.decide", "io.k8s.resource", "io.k8s.admission.review", "com.amazonaws.cloudtrail"];

  function generatePolicies(random: () => number, count: number): string {
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const docs: string[] = [];
    for (let i = 0; i < count; i++) {
      const conjuncts: string[] = [];
      if (random() < 0.6) conjuncts.push(`resource.kind == "${pick(kinds)}"`);
      if (random() < 0.4) conjuncts.push(`action in ["${pick(actions)}", "${pick(actions)}"]`);
      if (random() < 0.3) conjuncts.push(`resource.project == "${pick(projects)}"`);
      if (random() < 0.15) conjuncts.push(`(resource.kind == "${pick(kinds)}" || action == "${pick(actions)}")`);
      if (random() < 0.1) conjuncts.push("principal.level > 2");
      if (random() < 0.05) conjuncts.push("1 / (size(action) - 4) == 0");
      const on = random() < 0.5 ? "" : `\n  on: [${random() < 0.5 ? `"${pick(types)}"` : '"io.k8s.*"'}]`;
      const match = conjuncts.length === 0 ? "" : `\n  match: '${conjuncts.join(" && ")}'`;
      const condition = pick(["principal.level < 3", "resource.project != \"p7\"", "true", "action == \"delete\"", "principal.missing == 1"]);
      docs.push(`apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: { name: gen-${i} }\nspec:${on}${match}\n  rules:\n    - name: r\n      condition: '${condition}'\n`);
    }
    return docs.join("---\n");
  }

  function generateInput(random: () => number): unknown {
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const resource: Record<string, unknown> = {};
    if (random() < 0.9) resource["kind"] = random() < 0.05 ? 7 : pick(kinds);
    if (random() < 0.7) resource["project"] = pick(projects);
    const input: Record<string, unknown> = { resource, principal: { level: Math.floor(random() * 5) } };
    if (random() < 0.9) input["action"] = pick(actions);
    return input;
  }

  it("indexed and linear evaluation give the same findings on generated policies and inputs", () => {
    const random = rng(20240501);
    let compared = 0;
    let nonEmpty = 0;
    let indexedCandidates = 0;
    let linearCandidates = 0;
    for (let round = 0; round < 5; round++) {
      const { policies, errors } = loadPolicyText(generatePolicies(random, 60), `gen-${round}.yaml`, { env });
      expect(errors).toEqual([]);
      expect(policies.filter((p) => (p.indexKeys?.length ?? 0) > 0).length).toBeGreaterThan(20);
      const indexed = createPolicySet(policies);
      const linear = createPolicySet(policies, { index: false });
      for (let i = 0; i < 80; i++) {
        const ctx = policyContext(generateInput(random), { type: types[Math.floor(random() * types.length)] as string });
        const a = indexed.evaluate(ctx).findings;
        const b = linear.evaluate(ctx).findings;
        expect(a).toEqual(b);
        indexedCandidates += indexed.candidates(ctx).length;
        linearCandidates += linear.candidates(ctx).length;
        compared++;
        if (a.length > 0) nonEmpty++;
      }
    }
    expect(compared).toBe(400);
    expect(nonEmpty).toBeGreaterThan(100);
    // The index must actually prune: well under half of the type-selected policies get evaluated.
    expect(indexedCandidates).toBeLessThan(linearCandidates * 0.5);
  });
});

describe("report keys (property)", () => {
  const departments = ["eng", "sales", "ops"];
  const tags = ["pii", "public", "internal"];
  const realEnv = createCelEnvironment();

  /** Guardrail-style policies: an optional pure or impure match; rules whose first operand constrains a path, followed by operands that may fail. */
  function generatePolicies(random: () => number, count: number): string {
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const docs: string[] = [];
    for (let i = 0; i < count; i++) {
      const match = pick(["", 'action == "share"', 'action in ["read", "list"]', 'action == "write" && principal.level > 1', 'principal.department == "eng"']);
      const first = pick([`principal.department == "${pick(departments)}"`, `principal.department in ["${pick(departments)}", "${pick(departments)}"]`, `resource.level == ${Math.floor(random() * 3)}`, "principal.level > 2"]);
      const rest = pick(["", ` && "${pick(tags)}" in resource.tags`, " && principal.missing == 1", " && 1 / (principal.level - principal.level) == 0", " && resource.tags.all(t, t != \"x\")"]);
      const rules = random() < 0.3
        ? `    - name: a\n      condition: '${first}${rest}'\n    - name: b\n      condition: '${first.replace("==", "!=")}'\n`
        : `    - name: a\n      condition: '${first}${rest}'\n`;
      docs.push(`apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: { name: guard-${i} }\nspec:\n${match === "" ? "" : `  match: '${match}'\n`}  rules:\n${rules}`);
    }
    return docs.join("---\n");
  }

  function generateInput(random: () => number): unknown {
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const principal: Record<string, unknown> = { level: Math.floor(random() * 4) };
    const department = random();
    if (department < 0.8) principal["department"] = pick(departments);
    else if (department < 0.9) principal["department"] = 7;
    const resource: Record<string, unknown> = {};
    if (random() < 0.8) resource["tags"] = tags.filter(() => random() < 0.4);
    else if (random() < 0.5) resource["tags"] = "not-a-list";
    if (random() < 0.8) resource["level"] = random() < 0.9 ? Math.floor(random() * 3) : "2";
    const input: Record<string, unknown> = { principal, resource };
    if (random() < 0.95) input["action"] = pick(["read", "list", "write", "share"]);
    return input;
  }

  it("skipping by report keys never changes findings (default, explain and cost-limit options)", () => {
    const random = rng(20261126);
    let compared = 0;
    let nonEmpty = 0;
    let errors = 0;
    let withKeys = 0;
    let indexedCandidates = 0;
    let linearCandidates = 0;
    for (let round = 0; round < 4; round++) {
      const loaded = loadPolicyText(generatePolicies(random, 50), `guard-${round}.yaml`, { env: realEnv });
      expect(loaded.errors).toEqual([]);
      withKeys += loaded.policies.filter((p) => (p.reportKeys?.length ?? 0) > 0).length;
      const indexed = createPolicySet(loaded.policies);
      const linear = createPolicySet(loaded.policies, { index: false });
      for (let i = 0; i < 60; i++) {
        const ctx = policyContext(generateInput(random));
        for (const options of [undefined, { includePasses: true }, { costLimit: 50 }]) {
          // The index promises the same violations and errors (explain mode's passes and skips come with `exhaustive`).
          const reported = (findings: readonly Finding[]): Finding[] => JSON.parse(JSON.stringify(findings.filter((f) => f.effect === "violation" || f.effect === "error"))) as Finding[];
          const a = reported(indexed.evaluate(ctx, options).findings);
          const b = reported(linear.evaluate(ctx, options).findings);
          expect(a).toEqual(b);
          compared++;
          if (a.length > 0) nonEmpty++;
          errors += a.filter((f) => f.effect === "error").length;
        }
        indexedCandidates += indexed.candidates(ctx).length;
        linearCandidates += linear.candidates(ctx).length;
      }
    }
    expect(compared).toBe(720);
    expect(withKeys).toBeGreaterThan(60);
    expect(nonEmpty).toBeGreaterThan(200);
    // failing operands after the constraint do produce error findings, and they are kept
    expect(errors).toBeGreaterThan(50);
    expect(indexedCandidates).toBeLessThan(linearCandidates * 0.6);
  });
});
