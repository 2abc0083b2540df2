import { join } from "node:path";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VigilError } from "../../core/errors.js";
import { createCelEnvironment } from "../cel/index.js";
import { loadPolicyText } from "../load.js";
import type { ExternalContextRequest } from "./context.js";
import type { KyvernoPolicy } from "./policy.js";
import { resourceInput, type KubeObject } from "./request.js";

const env = createCelEnvironment();
const library = readFileSync(join(import.meta.dirname, "..", "..", "..", "test", "fixtures", "kyverno", "other-mpol", "label-existing-namespaces", "label-existing-namespaces.yaml"), "utf8");

function load(text: string): KyvernoPolicy {
  const loaded = loadPolicyText(text, "mpol.yaml", { env });
  expect(loaded.errors).toEqual([]);
  return loaded.policies[0] as KyvernoPolicy;
}

function loadError(text: string): VigilError | undefined {
  return loadPolicyText(text, "mpol.yaml", { env }).errors[0];
}

/** A cluster answering LISTs from `lists` (path without query → items); records every path asked. */
function cluster(lists: Record<string, { kind: string; apiVersion?: string; items: KubeObject[] }>): { resolver: (r: ExternalContextRequest) => unknown; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    resolver: (request) => {
      const urlPath = String(request.spec["urlPath"] ?? "");
      asked.push(urlPath);
      const list = lists[urlPath.split("?")[0] as string];
      return list === undefined ? undefined : { apiVersion: list.apiVersion ?? "v1", kind: list.kind, items: list.items };
    },
  };
}

const namespace = (name: string, labels?: Record<string, string>): KubeObject => ({ metadata: { name, resourceVersion: "7", ...(labels ? { labels } : {}) } });
const trigger = resourceInput({ apiVersion: "v1", kind: "Namespace", metadata: { name: "label-namespace01" } }, { operation: "UPDATE" });

const mpol = (spec: string, kind = "MutatingPolicy", metadata = ""): string => `apiVersion: policies.kyverno.io/v1
kind: ${kind}
metadata:
  name: label-configmaps
${metadata}spec:
  evaluation:
    mutateExisting:
      enabled: true
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [namespaces]
${spec}  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: 'Object{metadata: Object.metadata{labels: {"audited": "yes"}}}'
`;

describe("MutatingPolicy evaluation.mutateExisting", () => {
  it("the library's label-existing-namespaces: a trigger mutates every listed namespace lacking the label, one JSON patch each", () => {
    const policy = load(library);
    expect(policy.meta.on).toContain("dev.vigil.mutate.existing");
    expect(policy.meta.enforcement).toEqual({ tier: "remediate" });
    expect(policy.mutateExisting).toMatchObject({ onPolicyUpdate: false, triggerKinds: [] });
    expect(policy.mutateExisting?.selects(trigger)).toBe(true);
    // A Pod does not trigger it (matchConstraints name namespaces).
    expect(policy.mutateExisting?.selects(resourceInput({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "a" } }, { operation: "CREATE" }))).toBe(false);
    const { resolver, asked } = cluster({ "/api/v1/namespaces": { kind: "NamespaceList", items: [namespace("label-namespace01"), namespace("label-namespace02", { mykey: "foo" }), namespace("done", { mykey: "myvalue" })] } });
    const [outcome] = policy.mutateExisting?.evaluate(trigger, { resolver }) ?? [];
    expect(asked).toEqual(["/api/v1/namespaces"]);
    expect(outcome?.result).toMatchObject({ policy: "label-existing-namespaces", rule: "label-existing-namespaces", status: "pass", message: "2 targets to patch" });
    expect(outcome?.targets.map((t) => [t.status, t.target])).toEqual([["patch", "Namespace/label-namespace01"], ["patch", "Namespace/label-namespace02"], ["unchanged", "Namespace/done"]]);
    expect(outcome?.targets[0]).toMatchObject({ ref: { apiVersion: "v1", kind: "Namespace", name: "label-namespace01", resourceVersion: "7" }, patch: [{ op: "add", path: "/metadata/labels", value: { mykey: "myvalue" } }] });
    expect(outcome?.targets[1]?.patch).toEqual([{ op: "replace", path: "/metadata/labels/mykey", value: "myvalue" }]);
  });

  it("decides a dev.vigil.mutate.existing event: one violation per target to change, each with its kubernetes.patch; other events decide nothing", () => {
    const policy = load(library);
    const { resolver } = cluster({ "/api/v1/namespaces": { kind: "NamespaceList", items: [namespace("label-namespace01")] } });
    const data = { apiVersion: "v1", kind: "Namespace", metadata: { name: "label-namespace01" } };
    const ctx = (type: string) => ({ event: { specversion: "1.0", id: "t1", source: "vigil/mutate-existing", type, subject: "label-namespace01", data }, input: data, entities: {}, signals: {}, posture: { level: "normal" } }) as never;
    const findings = policy.evaluate(ctx("dev.vigil.mutate.existing"), { resolver } as never);
    expect(findings).toMatchObject([{ effect: "violation", resource: "Namespace/label-namespace01", remediation: [{ action: "kubernetes.patch", params: { kind: "Namespace", name: "label-namespace01", resourceVersion: "7" } }] }]);
    expect(policy.evaluate(ctx("io.k8s.admission.review"), { resolver } as never)).toEqual([]);
  });

  it("targetMatchConstraints name the targets (with objectSelector sent as labelSelector and checked again, and namespaceSelector); without a cluster the error says what to configure", () => {
    const policy = load(mpol(`  targetMatchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [configmaps]
    namespaceSelector:
      matchLabels:
        team: a
    objectSelector:
      matchLabels:
        audit: required
`));
    const cm = (ns: string, name: string, labels: Record<string, string>): KubeObject => ({ metadata: { name, namespace: ns, labels } });
    const { resolver, asked } = cluster({
      "/api/v1/namespaces": { kind: "NamespaceList", items: [namespace("team-a", { team: "a" })] },
      // The answer ignores the selector (a cache): the items are checked again.
      "/api/v1/configmaps": { kind: "ConfigMapList", items: [cm("team-a", "one", { audit: "required" }), cm("team-a", "two", {}), cm("team-b", "three", { audit: "required" })] },
    });
    const [outcome] = policy.mutateExisting?.evaluate(trigger, { resolver }) ?? [];
    expect(asked).toEqual(["/api/v1/namespaces?labelSelector=team%3Da", "/api/v1/configmaps?labelSelector=audit%3Drequired"]);
    expect(outcome?.targets.map((t) => [t.status, t.target])).toEqual([["patch", "ConfigMap/team-a/one"]]);
    const [none] = policy.mutateExisting?.evaluate(trigger, {}) ?? [];
    expect(none?.result).toMatchObject({ status: "error", message: "no cluster to list /api/v1/namespaces from (configure admission.cluster)" });
  });

  it("CEL namespaceObject is each target's own Namespace (read from the cluster), not the trigger's", () => {
    const policy = load(mpol(`  targetMatchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [configmaps]
  matchConditions:
  - name: audited-namespace
    expression: "has(namespaceObject.metadata.labels) && namespaceObject.metadata.labels['audit'] == 'on'"
`));
    const cm = (ns: string, name: string): KubeObject => ({ metadata: { name, namespace: ns } });
    const { resolver, asked } = cluster({ "/api/v1/configmaps": { kind: "ConfigMapList", items: [cm("team-a", "one"), cm("team-b", "two")] } });
    const withNamespaces = (request: ExternalContextRequest): unknown => {
      const urlPath = String(request.spec["urlPath"] ?? "");
      if (urlPath === "/api/v1/namespaces/team-a") return { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", labels: { audit: "on" } } };
      if (urlPath === "/api/v1/namespaces/team-b") return { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-b", labels: { audit: "off" } } };
      return resolver(request);
    };
    // The trigger's own namespace says audit: off; each target is judged by its own.
    const triggered = resourceInput({ apiVersion: "v1", kind: "Namespace", metadata: { name: "label-namespace01" } }, { operation: "UPDATE", namespaceObject: { apiVersion: "v1", kind: "Namespace", metadata: { name: "label-namespace01", labels: { audit: "off" } } } });
    const [outcome] = policy.mutateExisting?.evaluate(triggered, { resolver: withNamespaces }) ?? [];
    expect(outcome?.targets.map((t) => [t.status, t.target])).toEqual([["patch", "ConfigMap/team-a/one"], ["skip", "ConfigMap/team-b/two"]]);
    expect(asked).toEqual(["/api/v1/configmaps"]);
  });

  it("matchConditions and CEL PolicyExceptions are checked on each target; a namespaced policy mutates only its own namespace", () => {
    const conditions = load(mpol(`  matchConditions:
  - name: not-system
    expression: "!object.metadata.name.startsWith('kube-')"
`));
    const { resolver } = cluster({ "/api/v1/namespaces": { kind: "NamespaceList", items: [namespace("kube-system"), namespace("team-a")] } });
    const [outcome] = conditions.mutateExisting?.evaluate(trigger, { resolver }) ?? [];
    expect(outcome?.targets.map((t) => [t.status, t.target, t.message])).toEqual([["skip", "Namespace/kube-system", "target Namespace/kube-system: matchCondition not-system is false"], ["patch", "Namespace/team-a", "target Namespace/team-a: 1 change"]]);

    const excepted = load(`${mpol("")}---
apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata:
  name: keep-team-a
  namespace: kyverno
spec:
  policyRefs:
  - name: label-configmaps
    kind: MutatingPolicy
  matchConditions:
  - name: team-a
    expression: "object.metadata.name == 'team-a'"
`);
    const [withException] = excepted.mutateExisting?.evaluate(trigger, { resolver }) ?? [];
    expect(withException?.targets.map((t) => [t.status, t.target])).toEqual([["patch", "Namespace/kube-system"], ["skip", "Namespace/team-a"]]);

    const namespaced = load(mpol(`  targetMatchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      resources: [configmaps]
`, "NamespacedMutatingPolicy", "  namespace: team-a\n"));
    const inTeamA = resourceInput({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } }, { operation: "UPDATE" });
    const configMaps = cluster({ "/api/v1/configmaps": { kind: "ConfigMapList", items: [{ metadata: { name: "one", namespace: "team-a" } }, { metadata: { name: "two", namespace: "team-b" } }] } });
    const [scoped] = namespaced.mutateExisting?.evaluate(inTeamA, { resolver: configMaps.resolver }) ?? [];
    expect(scoped?.targets.map((t) => [t.status, t.target])).toEqual([["patch", "ConfigMap/team-a/one"], ["skip", "ConfigMap/team-b/two"]]);
    // A trigger outside its namespace triggers nothing.
    expect(namespaced.mutateExisting?.selects(trigger)).toBe(false);
  });

  it("what Vigil cannot list fails to load, naming the field: wildcard targets, a target expression, targetMatchConditions", () => {
    const wildcard = loadError(mpol(`  targetMatchConstraints:
    resourceRules:
    - apiGroups: ["*"]
      apiVersions: ["*"]
      resources: ["*"]
`));
    expect(wildcard).toMatchObject({ code: "VIGIL_POLICY_UNSUPPORTED", details: { field: "spec.targetMatchConstraints.resourceRules[0]", file: "mpol.yaml" } });
    expect(wildcard?.message).toContain("a wildcard target (*/*/*): name each group, version and resource to mutate");
    const expression = loadError(mpol(`  targetMatchConstraints:
    expression: "[]"
`));
    expect(expression).toMatchObject({ code: "VIGIL_POLICY_UNSUPPORTED", details: { field: "spec.targetMatchConstraints.expression" } });
    const conditions = loadError(mpol(`  targetMatchConditions:
  - name: x
    expression: "true"
`));
    expect(conditions).toMatchObject({ code: "VIGIL_POLICY_UNSUPPORTED", details: { field: "spec.targetMatchConditions" } });
  });

  it("without mutateExisting (or with it disabled) nothing changes: no mutate-existing part, admission only", () => {
    const disabled = load(library.replace("mutateExisting:\n      enabled: true", "mutateExisting:\n      enabled: false"));
    expect(disabled.mutateExisting).toBeUndefined();
    expect(disabled.meta.on).not.toContain("dev.vigil.mutate.existing");
    expect(disabled.mutateAdmission?.(trigger).patch).toEqual([{ op: "add", path: "/metadata/labels", value: { mykey: "myvalue" } }]);
  });
});
