import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "../cel/index.js";
import { compileGeneratingPolicy } from "./generating-policy.js";
import { kyvernoEnvironment } from "./load.js";
import { compileKyvernoPolicy } from "./policy.js";
import { resourceInput } from "./request.js";

const env = kyvernoEnvironment(createCelEnvironment());

type Json = Record<string, unknown>;

const namespace = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels, uid: "ns-uid" } });

function policy(rules: unknown[], extra: Json = {}) {
  return compileKyvernoPolicy({ apiVersion: "kyverno.io/v1", kind: "ClusterPolicy", metadata: { name: "gen" }, spec: { rules, ...extra } }, env);
}

const nsRule = (name: string, generate: Json, extra: Json = {}) => ({ name, match: { any: [{ resources: { kinds: ["Namespace"] } }] }, generate, ...extra });

const denyAll = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name: "default-deny", namespace: "{{request.object.metadata.name}}", synchronize: true, data: { spec: { podSelector: {}, policyTypes: ["Ingress"] } } };

const labelsOf = (o: Json | undefined) => ((o?.["metadata"] as Json | undefined)?.["labels"] ?? {}) as Record<string, string>;

describe("ClusterPolicy generate rules (generateAdmission)", () => {
  it("generates data with substituted fields, Kyverno's labels, and reports synchronize in the trace", () => {
    const p = policy([nsRule("deny", denyAll)]);
    const out = p.generateAdmission?.(resourceInput(namespace("team-a")));
    expect(out?.results.map((r) => [r.rule, r.ruleType, r.status, r.message])).toEqual([["deny", "generate", "pass", "generated NetworkPolicy team-a/default-deny"]]);
    expect(out?.resources).toHaveLength(1);
    const generated = out?.resources[0];
    expect(generated).toMatchObject({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "default-deny", namespace: "team-a" }, spec: { podSelector: {}, policyTypes: ["Ingress"] } });
    expect(labelsOf(generated)).toMatchObject({
      "app.kubernetes.io/managed-by": "kyverno",
      "generate.kyverno.io/policy-name": "gen",
      "generate.kyverno.io/rule-name": "deny",
      "generate.kyverno.io/trigger-kind": "Namespace",
      "generate.kyverno.io/trigger-uid": "ns-uid",
    });
    expect(out?.results[0]?.trace).toContainEqual({ kind: "note", expr: "generate.synchronize", value: true });
  });

  it("keeps generate rules out of evaluateAdmission (Kyverno's validation response) and only generate policies get generateAdmission", () => {
    const validate = { name: "v", match: { any: [{ resources: { kinds: ["Namespace"] } }] }, validate: { message: "needs a team label", pattern: { metadata: { labels: { team: "?*" } } } } };
    const both = policy([nsRule("deny", denyAll), validate]);
    expect(both.evaluateAdmission(resourceInput(namespace("x"))).map((r) => [r.rule, r.status])).toEqual([["v", "fail"]]);
    expect(both.rules.map((r) => r.type)).toEqual(["generate", "validate"]);
    expect(policy([validate]).generateAdmission).toBeUndefined();
  });

  it("is skip when preconditions are false, nomatch (only when asked) when the rule does not select the object", () => {
    const p = policy([nsRule("deny", denyAll, { preconditions: { all: [{ key: "{{request.object.metadata.name}}", operator: "Equals", value: "prod" }] } })]);
    const skipped = p.generateAdmission?.(resourceInput(namespace("dev")));
    expect(skipped?.results.map((r) => r.status)).toEqual(["skip"]);
    expect(skipped?.resources).toEqual([]);
    expect(p.generateAdmission?.(resourceInput(namespace("prod")))?.resources).toHaveLength(1);
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" } };
    expect(p.generateAdmission?.(resourceInput(pod))?.results).toEqual([]);
    expect(p.generateAdmission?.(resourceInput(pod), { includeNoMatch: true })?.results.map((r) => r.status)).toEqual(["nomatch"]);
  });

  it("reads context entries and test values, and is error (generating nothing) on an unresolved variable", () => {
    const rule = nsRule("cm", { apiVersion: "v1", kind: "ConfigMap", name: "{{prefix}}-settings", namespace: "{{request.object.metadata.name}}", data: { data: { owner: "{{request.object.metadata.labels.owner}}" } } }, { context: [{ name: "prefix", variable: { value: "team" } }] });
    const ok = policy([rule]).generateAdmission?.(resourceInput(namespace("a", { owner: "alice" })));
    expect(ok?.resources[0]).toMatchObject({ metadata: { name: "team-settings", namespace: "a" }, data: { owner: "alice" } });
    const mocked = policy([rule]).generateAdmission?.(resourceInput(namespace("a", { owner: "alice" })), { ruleValues: { cm: { prefix: "mocked" } } });
    expect(mocked?.resources[0]).toMatchObject({ metadata: { name: "mocked-settings" } });
    const missing = policy([rule]).generateAdmission?.(resourceInput(namespace("a")));
    expect(missing?.results.map((r) => r.status)).toEqual(["error"]);
    expect(missing?.results[0]?.message).toContain("variable substitution failed");
    expect(missing?.resources).toEqual([]);
  });

  const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "regcred", namespace: "default", uid: "u1", resourceVersion: "42", creationTimestamp: "2024-01-01T00:00:00Z", labels: { sync: "yes" }, ownerReferences: [{ name: "x" }] }, data: { token: "c2VjcmV0" } };

  it("clones a source from the cluster resources without its server fields; a missing source or no cluster resources is an error naming the fix", () => {
    const rule = nsRule("clone", { apiVersion: "v1", kind: "Secret", name: "regcred", namespace: "{{request.object.metadata.name}}", clone: { namespace: "default", name: "regcred" } });
    const out = policy([rule]).generateAdmission?.(resourceInput(namespace("b")), { clusterResources: [secret] });
    expect(out?.results.map((r) => r.status)).toEqual(["pass"]);
    const cloned = out?.resources[0] as Json;
    expect(cloned).toMatchObject({ kind: "Secret", data: { token: "c2VjcmV0" }, metadata: { name: "regcred", namespace: "b" } });
    const meta = cloned["metadata"] as Json;
    for (const key of ["uid", "resourceVersion", "creationTimestamp", "ownerReferences"]) expect(meta[key]).toBeUndefined();
    expect(labelsOf(cloned)).toMatchObject({ sync: "yes", "generate.kyverno.io/clone-source": "", "app.kubernetes.io/managed-by": "kyverno" });
    expect(secret.metadata.uid).toBe("u1"); // the source is not modified
    const missing = policy([rule]).generateAdmission?.(resourceInput(namespace("b")), { clusterResources: [] });
    expect(missing?.results.map((r) => [r.status, r.message])).toEqual([["error", "generate.clone: source resource v1/Secret default/regcred not found in the cluster resources"]]);
    const none = policy([rule]).generateAdmission?.(resourceInput(namespace("b")));
    expect(none?.results[0]?.message).toContain("test's context file, spec.resources");
  });

  it("clones every cloneList source of the kinds and selector, skipping sources in the target namespace", () => {
    const rule = nsRule("list", { namespace: "{{request.object.metadata.name}}", cloneList: { namespace: "default", kinds: ["v1/Secret", "v1/ConfigMap"], selector: { matchLabels: { sync: "yes" } } } });
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "default", labels: { sync: "yes" } } };
    const other = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "private", namespace: "default", labels: { sync: "no" } } };
    const out = policy([rule]).generateAdmission?.(resourceInput(namespace("c")), { clusterResources: [secret, cm, other] });
    expect(out?.resources.map((r) => `${String(r["kind"])} ${String((r["metadata"] as Json)["namespace"])}/${String((r["metadata"] as Json)["name"])}`)).toEqual(["Secret c/regcred", "ConfigMap c/settings"]);
    expect(policy([rule]).generateAdmission?.(resourceInput(namespace("default")), { clusterResources: [secret, cm] })?.resources).toEqual([]);
  });

  // Modelled on Kyverno's conformance test generate/foreach/clusterpolicy/data/sync/cpol-data-sync-create.
  const foreachRule = {
    name: "k-kafka-address",
    match: { any: [{ resources: { kinds: ["ConfigMap"] } }] },
    context: [{ name: "configmapns", variable: { jmesPath: "request.object.metadata.namespace" } }],
    preconditions: { any: [{ key: "{{configmapns}}", operator: "Equals", value: "default" }] },
    generate: {
      synchronize: true,
      foreach: [{
        list: "request.object.data.namespaces | split(@, ',')",
        context: [{ name: "ns", variable: { jmesPath: "element" } }],
        preconditions: { any: [{ key: "{{ ns }}", operator: "AnyIn", value: ["foreach-ns-1", "foreach-ns-3"] }] },
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        name: "my-networkpolicy-{{ elementIndex }}-{{ ns }}",
        namespace: "{{ ns }}",
        data: { metadata: { labels: { "element.name": "{{ element }}", elementIndex: "{{ elementIndex }}" } }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
      }],
    },
  };
  const trigger = (namespaces: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "default-deny", namespace: "default" }, data: { namespaces } });
  const where = (o: Json) => `${String(o["kind"])} ${String((o["metadata"] as Json)["namespace"])}/${String((o["metadata"] as Json)["name"])}`;

  it("generate.foreach: one object per element whose preconditions hold, with element and elementIndex substituted", () => {
    const out = policy([foreachRule]).generateAdmission?.(resourceInput(trigger("foreach-ns-1,foreach-ns-2,foreach-ns-3")));
    expect(out?.results.map((r) => [r.status, r.message])).toEqual([["pass", "2 elements processed, generated 2 resource(s)"]]);
    expect(out?.resources.map(where)).toEqual(["NetworkPolicy foreach-ns-1/my-networkpolicy-0-foreach-ns-1", "NetworkPolicy foreach-ns-3/my-networkpolicy-2-foreach-ns-3"]);
    expect(labelsOf(out?.resources[1])).toMatchObject({ "element.name": "foreach-ns-3", elementIndex: "2", "generate.kyverno.io/rule-name": "k-kafka-address", "app.kubernetes.io/managed-by": "kyverno" });
    expect(out?.resources[0]).toMatchObject({ spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } });
  });

  it("generate.foreach: no element passing its preconditions is a skip; a list that cannot be evaluated is an error", () => {
    const none = policy([foreachRule]).generateAdmission?.(resourceInput(trigger("foreach-ns-2")));
    expect(none?.results.map((r) => [r.status, r.message])).toEqual([["skip", "0 elements processed"]]);
    expect(none?.resources).toEqual([]);
    const broken = { ...foreachRule, generate: { foreach: [{ ...foreachRule.generate.foreach[0], list: "request.object.data.namespaces | nosuchfunction(@)" }] } };
    const error = policy([broken]).generateAdmission?.(resourceInput(trigger("foreach-ns-1")));
    expect(error?.results.map((r) => r.status)).toEqual(["error"]);
    expect(error?.results[0]?.message).toMatch(/failed to evaluate list/);
    expect(error?.resources).toEqual([]);
  });

  it("generate.foreach: clone per element from the cluster resources", () => {
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "regcred", namespace: "default", uid: "s" }, data: { k: "dg==" } };
    const rule = { name: "copy", match: { any: [{ resources: { kinds: ["ConfigMap"] } }] }, generate: { foreach: [{ list: "request.object.data.namespaces | split(@, ',')", apiVersion: "v1", kind: "Secret", name: "regcred", namespace: "{{ element }}", clone: { namespace: "default", name: "regcred" } }] } };
    const out = policy([rule]).generateAdmission?.(resourceInput(trigger("a,b")), { clusterResources: [secret] });
    expect(out?.resources.map(where)).toEqual(["Secret a/regcred", "Secret b/regcred"]);
    expect(out?.resources[0]).toMatchObject({ data: { k: "dg==" } });
  });

  it("rejects an unknown generate field at load, naming it", () => {
    expect(() => policy([nsRule("bad", { ...denyAll, template: {} })])).toThrow(/generate\.template is not supported/);
    // The entries of generate.foreach are checked like validate and mutate foreach entries.
    expect(() => policy([{ ...foreachRule, generate: { foreach: [{ ...foreachRule.generate.foreach[0], context: [{ name: "x", secretStore: {} }] }] } }])).toThrow(/context entry type 'secretStore'/);
    expect(() => policy([{ ...foreachRule, generate: { foreach: [{ ...foreachRule.generate.foreach[0], preconditions: { any: [{ key: "a", operator: "Resembles", value: "b" }] } }] } }])).toThrow(/condition operator 'Resembles'/);
  });
});

describe("GeneratingPolicy (generator.Apply)", () => {
  const gpol = (spec: Json) => compileGeneratingPolicy({ apiVersion: "policies.kyverno.io/v1alpha1", kind: "GeneratingPolicy", metadata: { name: "gp" }, spec }, env);
  const nsConstraints = { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["namespaces"] }] };

  it("generates the objects given to generator.Apply in its namespace, List items included, and decides nothing elsewhere", () => {
    const p = gpol({
      matchConstraints: nsConstraints,
      evaluation: { synchronize: { enabled: true } },
      variables: [{ name: "ns", expression: "object.metadata.name" }],
      generate: [{ expression: `generator.Apply(variables.ns, [{"kind": dyn("ConfigMap"), "apiVersion": dyn("v1"), "metadata": dyn({"name": "a", "annotations": {"x": "y"}}), "data": dyn({"k": "v"})}, {"kind": dyn("List"), "apiVersion": dyn("v1"), "items": dyn([{"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "b"}}])}])` }],
    });
    const input = resourceInput(namespace("team-x"));
    const out = p.generateAdmission?.(input);
    expect(out?.results.map((r) => [r.rule, r.ruleType, r.status])).toEqual([["", "generate", "pass"]]);
    expect(out?.resources).toEqual([
      { kind: "ConfigMap", apiVersion: "v1", metadata: { name: "a", namespace: "team-x" }, data: { k: "v" } },
      { kind: "Secret", apiVersion: "v1", metadata: { name: "b", namespace: "team-x" } },
    ]);
    expect(out?.results[0]?.trace).toContainEqual({ kind: "note", expr: "spec.evaluation.synchronize", value: { enabled: true } });
    expect(p.evaluateAdmission(input)).toEqual([]);
    expect(p.evaluate({ input } as never)).toEqual([]);
  });

  it("is skip when a matchCondition is false, nomatch when the constraints do not select the object, error when an expression fails", () => {
    const apply = `generator.Apply(object.metadata.name, [{"kind": dyn("ConfigMap"), "apiVersion": dyn("v1"), "metadata": dyn({"name": "a"})}])`;
    const conditional = gpol({ matchConstraints: nsConstraints, matchConditions: [{ name: "prod", expression: "object.metadata.name == 'prod'" }], generate: [{ expression: apply }] });
    expect(conditional.generateAdmission?.(resourceInput(namespace("dev")))?.results.map((r) => r.status)).toEqual(["skip"]);
    expect(conditional.generateAdmission?.(resourceInput(namespace("prod")))?.resources).toHaveLength(1);
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" } };
    expect(conditional.generateAdmission?.(resourceInput(pod), { includeNoMatch: true })?.results.map((r) => r.status)).toEqual(["nomatch"]);
    const broken = gpol({ matchConstraints: nsConstraints, generate: [{ expression: "generator.Apply(object.metadata.missing, [])" }] });
    const out = broken.generateAdmission?.(resourceInput(namespace("x")));
    expect(out?.results.map((r) => r.status)).toEqual(["error"]);
    expect(out?.results[0]?.message).toContain("spec.generate[0].expression failed to evaluate");
    expect(out?.resources).toEqual([]);
  });

  it("fails to load without spec.generate, naming the field", () => {
    expect(() => gpol({ matchConstraints: nsConstraints })).toThrow(/spec\.generate must be a non-empty list/);
  });
});
