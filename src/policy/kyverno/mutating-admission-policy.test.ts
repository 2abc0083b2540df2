import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "../cel/index.js";
import type { PolicyDocument } from "../language.js";
import { loadPolicyText } from "../load.js";
import { createVapLanguage } from "../vap/plugin.js";
import { applyJsonPatch } from "./json-patch.js";
import type { MutatingAdmissionPolicy } from "./mutating-admission-policy.js";
import { runMutationChain } from "./mutation-chain.js";
import { resourceInput, toAdmissionInput, type AdmissionInput } from "./request.js";

const env = createCelEnvironment();
const doc = (value: unknown, index: number): PolicyDocument => ({ file: "map.yaml", index, value, text: "", position: () => undefined });
type Json = Record<string, unknown>;

// The sidecar example of the Kubernetes documentation (MutatingAdmissionPolicy, v1beta1), with its
// param kind and binding.
const sidecarPolicy = {
  apiVersion: "admissionregistration.k8s.io/v1beta1",
  kind: "MutatingAdmissionPolicy",
  metadata: { name: "sidecar-policy.example.com" },
  spec: {
    paramKind: { apiVersion: "mutations.example.com/v1", kind: "Sidecar" },
    matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }] },
    matchConditions: [{ name: "does-not-already-have-sidecar", expression: "!has(object.spec.initContainers) || !object.spec.initContainers.exists(ic, ic.name == params.spec.name)" }],
    failurePolicy: "Fail",
    reinvocationPolicy: "IfNeeded",
    mutations: [{
      patchType: "ApplyConfiguration",
      applyConfiguration: {
        expression: "Object{ spec: Object.spec{ initContainers: [ Object.spec.initContainers{ name: params.spec.name, image: params.spec.image, args: params.spec.args, restartPolicy: params.spec.restartPolicy } ] } }",
      },
    }],
  },
};
const sidecarBinding = (name: string, spec: Json = {}) => ({ apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicyBinding", metadata: { name }, spec: { policyName: "sidecar-policy.example.com", paramRef: { name: "meshproxy-v1.0.0", namespace: "default", parameterNotFoundAction: "Deny" }, ...spec } });
const sidecarParams = { apiVersion: "mutations.example.com/v1", kind: "Sidecar", metadata: { name: "meshproxy-v1.0.0", namespace: "default" }, spec: { name: "mesh-proxy", image: "mesh/proxy:v1.0.0", args: ["proxy", "sidecar"], restartPolicy: "Always" } };
const plugin = createVapLanguage({ params: (kind, ref) => (kind.kind === "Sidecar" && ref.name === "meshproxy-v1.0.0" ? [sidecarParams] : []) });

const pod = (namespace = "default", extra: Json = {}): Json => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "myapp", namespace }, spec: { containers: [{ name: "myapp", image: "busybox" }], ...extra } });

function compile(documents: readonly unknown[]): MutatingAdmissionPolicy {
  const { policies, errors } = plugin.compile(documents.map(doc), env);
  expect(errors).toEqual([]);
  expect(policies).toHaveLength(1);
  return policies[0] as MutatingAdmissionPolicy;
}

describe("Kubernetes MutatingAdmissionPolicy", () => {
  it("injects the documentation's sidecar from the binding's params, once: a pod that has it is left alone", () => {
    const policy = compile([sidecarPolicy, sidecarBinding("sidecar-binding-test.example.com")]);
    expect(policy.meta).toMatchObject({ name: "sidecar-policy.example.com", language: "vap", failurePolicy: "Fail", on: ["io.k8s.admission.review"] });
    const object = pod();
    const out = policy.mutateAdmission(resourceInput(object));
    expect(out.results.map((r) => [r.rule, r.status, r.message])).toEqual([["sidecar-binding-test.example.com", "pass", "mutation applied"]]);
    expect((out.patched["spec"] as Json)["initContainers"]).toEqual([{ name: "mesh-proxy", image: "mesh/proxy:v1.0.0", args: ["proxy", "sidecar"], restartPolicy: "Always" }]);
    expect(applyJsonPatch(object, out.patch)).toEqual(out.patched);
    const again = policy.mutateAdmission(resourceInput(out.patched));
    expect(again.results.map((r) => [r.status, r.message])).toEqual([["skip", "matchCondition does-not-already-have-sidecar is false"]]);
    expect(again.patch).toEqual([]);
    // Other kinds and operations are not the policy's.
    expect(policy.mutateAdmission(resourceInput({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "default" } })).results).toEqual([]);
    expect(policy.evaluate({ event: { specversion: "1.0", id: "1", source: "t", type: "io.k8s.admission.review" }, input: object, entities: {}, signals: {}, posture: { level: "normal", scope: "org", since: "2024-01-01T00:00:00Z" }, now: "2024-01-01T00:00:00Z" })).toEqual([]);
  });

  it("a Vigil exception names the policy and the binding: that binding's mutation is skipped with the exception's text", () => {
    const policy = compile([sidecarPolicy, sidecarBinding("sidecar-binding-test.example.com")]);
    const asked: string[] = [];
    const out = policy.mutateAdmission(resourceInput(pod()), { excepted: (p, rule) => { asked.push(`${p}/${rule}`); return rule === "sidecar-binding-test.example.com" ? "allowed by exception EX-3" : undefined; } });
    expect(asked).toEqual(["sidecar-policy.example.com/sidecar-binding-test.example.com"]);
    expect(out.results.map((r) => [r.status, r.message])).toEqual([["skip", "allowed by exception EX-3"]]);
    expect(out.patch).toEqual([]);
  });

  it("params not found: parameterNotFoundAction Deny is an error (failurePolicy applies), Allow skips; no binding, no mutation", () => {
    const deny = compile([sidecarPolicy, sidecarBinding("b", { paramRef: { name: "missing", namespace: "default", parameterNotFoundAction: "Deny" } })]);
    const denied = deny.mutateAdmission(resourceInput(pod()));
    expect(denied.results.map((r) => [r.status, r.message])).toEqual([["error", "no params found for binding b (paramKind Sidecar); parameterNotFoundAction Deny"]]);
    expect(denied.patch).toEqual([]);
    const allow = compile([sidecarPolicy, sidecarBinding("b", { paramRef: { name: "missing", namespace: "default", parameterNotFoundAction: "Allow" } })]);
    expect(allow.mutateAdmission(resourceInput(pod())).results.map((r) => r.status)).toEqual(["skip"]);
    expect(compile([sidecarPolicy]).mutateAdmission(resourceInput(pod())).patch).toEqual([]);
  });

  it("refuses at load, naming the MutatingAdmissionPolicyBinding, a paramRef with both name and selector or a parameterNotFoundAction other than Allow or Deny", () => {
    const load = (paramRef: Json) => plugin.compile([sidecarPolicy, sidecarBinding("b", { paramRef })].map(doc), env).errors.map((e) => [e.message, e.details["field"]]);
    expect(load({ name: "meshproxy-v1.0.0", selector: {}, namespace: "default" })).toEqual([[expect.stringMatching(/^MutatingAdmissionPolicyBinding b: spec.paramRef has both name and selector/), "spec.paramRef"]]);
    expect(load({ name: "missing", namespace: "default", parameterNotFoundAction: "allow" })).toEqual([[expect.stringMatching(/^MutatingAdmissionPolicyBinding b: spec.paramRef.parameterNotFoundAction must be Allow or Deny \(case-sensitive\), got "allow"/), "spec.paramRef.parameterNotFoundAction"]]);
    expect(load({ name: "missing", namespace: "default", parameterNotFoundAction: "Allow" })).toEqual([]);
  });

  it("never mutates the admission policies and their bindings, which the API server exempts, even under a policy matching every resource", () => {
    const everything = {
      apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicy", metadata: { name: "label-everything" },
      spec: {
        matchConstraints: { resourceRules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"] }] },
        mutations: [{ patchType: "JSONPatch", jsonPatch: { expression: "[JSONPatch{op: 'add', path: '/metadata/labels', value: {'touched': 'yes'}}]" } }],
      },
    };
    const policy = compile([everything, { apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicyBinding", metadata: { name: "everywhere" }, spec: { policyName: "label-everything" } }]);
    expect(policy.mutateAdmission(resourceInput(pod())).patch).toEqual([{ op: "add", path: "/metadata/labels", value: { touched: "yes" } }]);
    for (const kind of ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"]) {
      const out = policy.mutateAdmission(resourceInput({ apiVersion: "admissionregistration.k8s.io/v1", kind, metadata: { name: "p" }, spec: {} }), { includeNoMatch: true });
      expect([kind, out.patch, out.results.map((r) => r.status)]).toEqual([kind, [], ["nomatch"]]);
    }
  });

  it("a binding without paramRef to a policy with paramKind runs once with params null, as the API server does", () => {
    const team = {
      apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicy", metadata: { name: "team-label" },
      spec: {
        paramKind: { apiVersion: "v1", kind: "ConfigMap" },
        matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }] },
        mutations: [{ patchType: "JSONPatch", jsonPatch: { expression: "[JSONPatch{op: 'add', path: '/metadata/labels', value: {'team': params == null ? 'unset' : params.data.team}}]" } }],
      },
    };
    const policy = compile([team, { apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicyBinding", metadata: { name: "no-params" }, spec: { policyName: "team-label" } }]);
    const out = policy.mutateAdmission(resourceInput(pod()));
    expect(out.results.map((r) => [r.rule, r.status])).toEqual([["no-params", "pass"]]);
    expect((out.patched["metadata"] as Json)["labels"]).toEqual({ team: "unset" });
  });

  it("a namespaced paramRef without namespace looks up the params in the object's namespace", () => {
    const team = {
      apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicy", metadata: { name: "team-label" },
      spec: {
        paramKind: { apiVersion: "v1", kind: "ConfigMap" },
        matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }] },
        mutations: [{ patchType: "JSONPatch", jsonPatch: { expression: "[JSONPatch{op: 'add', path: '/metadata/labels', value: {'team': params.data.team}}]" } }],
      },
    };
    const asked: unknown[] = [];
    const configMaps = createVapLanguage({ params: (kind, ref) => {
      asked.push(ref);
      const namespace = ref.namespace ?? ref.objectNamespace;
      return kind.kind === "ConfigMap" && ref.name === "team" && namespace === "shop" ? [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "team", namespace }, data: { team: "payments" } }] : [];
    } });
    const { policies, errors } = configMaps.compile([team, { apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicyBinding", metadata: { name: "per-namespace" }, spec: { policyName: "team-label", paramRef: { name: "team", parameterNotFoundAction: "Deny" } } }].map(doc), env);
    expect(errors).toEqual([]);
    const policy = policies[0] as MutatingAdmissionPolicy;
    const shop = policy.mutateAdmission(resourceInput(pod("shop")));
    expect(shop.results.map((r) => [r.rule, r.status])).toEqual([["per-namespace", "pass"]]);
    expect((shop.patched["metadata"] as Json)["labels"]).toEqual({ team: "payments" });
    expect(asked).toEqual([{ name: "team", objectNamespace: "shop" }]);
    // Another namespace has no such ConfigMap: parameterNotFoundAction Deny.
    expect(policy.mutateAdmission(resourceInput(pod("other"))).results.map((r) => r.status)).toEqual(["error"]);
  });

  it("a ConfigMap paramRef without namespace cannot serve a cluster-scoped object: an error (failurePolicy decides) even with parameterNotFoundAction Allow, params not looked up", () => {
    const nodeLabel = {
      apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicy", metadata: { name: "node-label" },
      spec: {
        paramKind: { apiVersion: "v1", kind: "ConfigMap" },
        matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["nodes"] }] },
        mutations: [{ patchType: "JSONPatch", jsonPatch: { expression: "[JSONPatch{op: 'add', path: '/metadata/labels', value: {'zone': params.data.zone}}]" } }],
      },
    };
    const asked: unknown[] = [];
    const configMaps = createVapLanguage({ params: (_kind, ref) => { asked.push(ref); return []; } });
    const load = (paramRef: Json) => {
      const { policies, errors } = configMaps.compile([nodeLabel, { apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicyBinding", metadata: { name: "zones" }, spec: { policyName: "node-label", paramRef } }].map(doc), env);
      expect(errors).toEqual([]);
      return policies[0] as MutatingAdmissionPolicy;
    };
    const node = { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } };
    const out = load({ name: "zones", parameterNotFoundAction: "Allow" }).mutateAdmission(resourceInput(node));
    expect(out.results.map((r) => [r.rule, r.status])).toEqual([["zones", "error"]]);
    expect(out.results[0]?.message).toContain("set paramRef.namespace");
    expect(out.patch).toEqual([]);
    expect(asked).toEqual([]);
    // With paramRef.namespace the lookup is well defined: not found, and Allow skips the binding.
    expect(load({ name: "zones", namespace: "config", parameterNotFoundAction: "Allow" }).mutateAdmission(resourceInput(node)).results.map((r) => r.status)).toEqual(["skip"]);
    expect(asked).toEqual([{ name: "zones", namespace: "config" }]);
  });

  it("JSONPatch mutations; bindings in name order, each on the previous one's output, each within its matchResources", () => {
    const labels = {
      apiVersion: "admissionregistration.k8s.io/v1alpha1",
      kind: "MutatingAdmissionPolicy",
      metadata: { name: "team-labels" },
      spec: {
        matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["pods"] }] },
        variables: [{ name: "owner", expression: "request.userInfo.username" }],
        mutations: [{
          patchType: "JSONPatch",
          jsonPatch: { expression: "has(object.metadata.labels) ? [JSONPatch{op: 'add', path: '/metadata/labels/' + jsonpatch.escapeKey('example.com/owner'), value: variables.owner}] : [JSONPatch{op: 'add', path: '/metadata/labels', value: {'example.com/owner': variables.owner}}]" },
        }],
      },
    };
    const bind = (name: string, matchResources?: Json) => ({ apiVersion: "admissionregistration.k8s.io/v1alpha1", kind: "MutatingAdmissionPolicyBinding", metadata: { name }, spec: { policyName: "team-labels", ...(matchResources ? { matchResources } : {}) } });
    const policy = compile([bind("z-everywhere"), labels, bind("a-prod-only", { namespaceSelector: { matchLabels: { env: "prod" } } })]);
    const review = (namespace: string, envLabel: string): AdmissionInput => ({
      ...(toAdmissionInput({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: {
        uid: "1", kind: { group: "", version: "v1", kind: "Pod" }, resource: { group: "", version: "v1", resource: "pods" }, operation: "CREATE",
        name: "myapp", namespace, userInfo: { username: "alice" }, object: pod(namespace),
      } }) as AdmissionInput),
      namespaceLabels: { env: envLabel },
    });
    const prod = policy.mutateAdmission(review("shop", "prod"));
    expect(prod.results.map((r) => [r.rule, r.status])).toEqual([["a-prod-only", "pass"], ["z-everywhere", "pass"]]);
    expect((prod.patched["metadata"] as Json)["labels"]).toEqual({ "example.com/owner": "alice" });
    const dev = policy.mutateAdmission(review("scratch", "dev"));
    expect(dev.results.map((r) => [r.rule, r.status])).toEqual([["z-everywhere", "pass"]]);
  });

  it("a matchCondition giving no bool (a dyn result) does not skip: the API server's matcher skips on false only", () => {
    const labelling = (condition: string) => [
      { apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicy", metadata: { name: "label" }, spec: {
        matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }] },
        matchConditions: [{ name: "named", expression: condition }],
        mutations: [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: "Object{metadata: Object.metadata{labels: {'x': 'y'}}}" } }],
      } },
      { apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicyBinding", metadata: { name: "label-binding" }, spec: { policyName: "label" } },
    ];
    const run = (condition: string) => compile(labelling(condition)).mutateAdmission(resourceInput(pod())).results.map((r) => r.status);
    expect(run("dyn(object.metadata.name)")).toEqual(["pass"]);
    expect(run("dyn(false)")).toEqual(["skip"]);
  });

  it("reinvocationPolicy IfNeeded: the chain runs the policy once more when a later policy changed the object; Never leaves it", () => {
    const map = (name: string, reinvocation: string, condition: string, expression: string) => [
      { apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicy", metadata: { name }, spec: {
        reinvocationPolicy: reinvocation,
        matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }] },
        matchConditions: [{ name: "needed", expression: condition }],
        mutations: [{ patchType: "ApplyConfiguration", applyConfiguration: { expression } }],
      } },
      { apiVersion: "admissionregistration.k8s.io/v1beta1", kind: "MutatingAdmissionPolicyBinding", metadata: { name: `${name}-binding` }, spec: { policyName: name } },
    ];
    const pullPolicy = (reinvocation: string) => map("a-pull-policy", reinvocation, "object.spec.containers.exists(c, !has(c.imagePullPolicy))", "Object{spec: Object.spec{containers: object.spec.containers.map(c, Object.spec.containers{name: c.name, imagePullPolicy: 'IfNotPresent'})}}");
    const sidecar = map("b-sidecar", "Never", "!object.spec.containers.exists(c, c.name == 'sidecar')", "Object{spec: Object.spec{containers: [Object.spec.containers{name: 'sidecar', image: 'proxy:1'}]}}");
    const chain = (reinvocation: string) => {
      const { policies, errors } = plugin.compile([...pullPolicy(reinvocation), ...sidecar].map(doc), env);
      expect(errors).toEqual([]);
      return runMutationChain(policies, resourceInput(pod()));
    };
    const containers = (r: ReturnType<typeof runMutationChain>) => (r.patched?.["spec"] as Json)["containers"];
    const ifNeeded = chain("IfNeeded");
    expect(containers(ifNeeded)).toEqual([{ name: "myapp", image: "busybox", imagePullPolicy: "IfNotPresent" }, { name: "sidecar", image: "proxy:1", imagePullPolicy: "IfNotPresent" }]);
    expect(ifNeeded.policies.map((p) => [p.policy, p.reinvoked === true, p.patch.length > 0])).toEqual([["a-pull-policy", false, true], ["b-sidecar", false, true], ["a-pull-policy", true, true]]);
    // Kyverno's MutatingPolicy carries its spec.reinvocationPolicy the same way.
    const kyverno = loadPolicyText("apiVersion: policies.kyverno.io/v1alpha1\nkind: MutatingPolicy\nmetadata:\n  name: k\nspec:\n  reinvocationPolicy: IfNeeded\n  matchConstraints:\n    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]\n  mutations:\n  - patchType: JSONPatch\n    jsonPatch:\n      expression: '[]'\n", "k.yaml");
    expect(kyverno.errors).toEqual([]);
    expect((kyverno.policies[0] as { reinvocationPolicy?: string }).reinvocationPolicy).toBe("IfNeeded");
    const never = chain("Never");
    expect(containers(never)).toEqual([{ name: "myapp", image: "busybox", imagePullPolicy: "IfNotPresent" }, { name: "sidecar", image: "proxy:1" }]);
    expect(never.policies.map((p) => p.policy)).toEqual(["a-pull-policy", "b-sidecar"]);
  });

  it("loads from YAML with its binding and mutates through the mutating webhook's chain; a binding without its policy, or a bad mutation, is a load error naming it", () => {
    const yaml = `
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicy
metadata:
  name: default-pull-policy
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >
        Object{spec: Object.spec{containers: object.spec.containers.map(c, Object.spec.containers{name: c.name, imagePullPolicy: "IfNotPresent"})}}
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: default-pull-policy-binding
spec:
  policyName: default-pull-policy
`;
    const loaded = loadPolicyText(yaml, "map.yaml");
    expect(loaded.errors).toEqual([]);
    const chain = runMutationChain(loaded.policies, resourceInput(pod("default", { containers: [{ name: "a", image: "a" }, { name: "b", image: "b", imagePullPolicy: "Always" }] })));
    expect(chain.findings.map((f) => [f.policy, f.rule, f.effect])).toEqual([["default-pull-policy", "default-pull-policy-binding", "pass"]]);
    expect((chain.patched?.["spec"] as Json)["containers"]).toEqual([{ name: "a", image: "a", imagePullPolicy: "IfNotPresent" }, { name: "b", image: "b", imagePullPolicy: "IfNotPresent" }]);
    const orphan = loadPolicyText(yaml.split("---")[1] ?? "", "orphan.yaml");
    expect(orphan.errors.map((e) => e.message)).toEqual([expect.stringMatching(/MutatingAdmissionPolicyBinding default-pull-policy-binding: spec.policyName "default-pull-policy" names no MutatingAdmissionPolicy/)]);
    const bad = loadPolicyText(yaml.replace("patchType: ApplyConfiguration", "patchType: StrategicMerge"), "bad.yaml");
    expect(bad.errors.map((e) => [e.message, e.details["field"]])).toEqual([[expect.stringMatching(/MutatingAdmissionPolicy default-pull-policy: spec.mutations\[0\].patchType "StrategicMerge" is not supported/), "spec.mutations[0].patchType"]]);
  });
});
