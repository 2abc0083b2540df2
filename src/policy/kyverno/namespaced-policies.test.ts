import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "../cel/index.js";
import { loadPolicies, loadPolicyText } from "../load.js";
import { requestNamespace } from "./cel-policy-common.js";
import type { KyvernoPolicy } from "./policy.js";
import { resourceInput, type AdmissionInput, type KubeObject } from "./request.js";
import { runKyvernoTestFile } from "./test-runner.js";

const env = createCelEnvironment();
const fixture = join(import.meta.dirname, "..", "..", "..", "test", "fixtures", "kyverno-namespaced");

const podRules = `
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]`;

function nvpol(name: string, namespace: string | undefined, expression = "has(object.metadata.labels) && 'team' in object.metadata.labels"): string {
  return `apiVersion: policies.kyverno.io/v1
kind: NamespacedValidatingPolicy
metadata:
  name: ${name}
${namespace === undefined ? "" : `  namespace: ${namespace}\n`}spec:
  validationActions: [Deny]
${podRules}
  validations:
  - expression: "${expression}"
    message: team label required
`;
}

function load(text: string): KyvernoPolicy[] {
  const loaded = loadPolicyText(text, "namespaced.yaml", { env });
  expect(loaded.errors).toEqual([]);
  return loaded.policies as KyvernoPolicy[];
}

const pod = (namespace: string, labels?: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace, ...(labels ? { labels } : {}) }, spec: { containers: [{ name: "app", image: "nginx:1.27" }] } });
const create = (object: KubeObject, raw?: Record<string, unknown>): AdmissionInput => resourceInput(object, { operation: "CREATE", ...(raw ? { raw } : {}) });
const statuses = (p: KyvernoPolicy | undefined, input: AdmissionInput): string[] => (p?.evaluateAdmission(input, { includeNoMatch: true }) ?? []).map((r) => r.status);

describe("Kyverno namespaced CEL policies (NamespacedValidatingPolicy, NamespacedMutatingPolicy, NamespacedGeneratingPolicy, NamespacedImageValidatingPolicy)", () => {
  it("a NamespacedValidatingPolicy is named namespace/name and decides the requests of its namespace only", () => {
    const [policy] = load(nvpol("require-team-label", "team-a"));
    expect(policy?.meta.name).toBe("team-a/require-team-label");
    expect(policy).toMatchObject({ kind: "Policy", namespace: "team-a" });
    expect(statuses(policy, create(pod("team-a")))).toEqual(["fail"]);
    expect(statuses(policy, create(pod("team-a", { team: "a" })))).toEqual(["pass"]);
    const outside = policy?.evaluateAdmission(create(pod("team-b")), { includeNoMatch: true });
    expect(outside).toMatchObject([{ status: "nomatch", message: "the resource is outside the policy's namespace team-a" }]);
    expect(policy?.evaluateAdmission(create(pod("team-b")))).toEqual([]);
    // The decide path (findings) too.
    expect(policy?.evaluate({ input: pod("team-b") } as never)).toEqual([]);
    expect(policy?.evaluate({ input: pod("team-a") } as never).map((f) => [f.policy, f.effect])).toEqual([["team-a/require-team-label", "violation"]]);
  });

  it("the request's namespace is the AdmissionReview's, else the object's, else a Namespace object's own name", () => {
    expect(requestNamespace(create(pod("team-a"), { namespace: "team-b" }))).toBe("team-b");
    expect(requestNamespace(create(pod("team-a")))).toBe("team-a");
    const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } };
    expect(requestNamespace(create(namespace))).toBe("team-a");
    expect(requestNamespace(create({ apiVersion: "v1", kind: "Node", metadata: { name: "n1" } }))).toBe("");
    const [onNamespaces] = load(nvpol("labelled-namespaces", "team-a").replace("resources: [pods]", "resources: [namespaces]"));
    expect(statuses(onNamespaces, create(namespace))).toEqual(["fail"]);
    expect(statuses(onNamespaces, create({ ...namespace, metadata: { name: "team-b" } }))).toEqual(["nomatch"]);
    // A kyverno.io Policy is scoped the same way.
    const [legacy] = load(`apiVersion: kyverno.io/v1
kind: Policy
metadata:
  name: labelled-namespace
  namespace: team-a
spec:
  rules:
  - name: team
    match:
      any:
      - resources:
          kinds: [Namespace]
    validate:
      pattern:
        metadata:
          labels:
            team: "?*"
`);
    expect(statuses(legacy, create(namespace))).toEqual(["fail"]);
    expect(legacy?.evaluateAdmission(create({ ...namespace, metadata: { name: "team-b" } }))).toEqual([]);
  });

  it("without metadata.namespace the policy is in `default`; the same name in two namespaces is two policies", () => {
    const [unplaced] = load(nvpol("p", undefined));
    expect(unplaced?.meta.name).toBe("default/p");
    expect(statuses(unplaced, create(pod("default")))).toEqual(["fail"]);
    expect(statuses(unplaced, create(pod("team-a")))).toEqual(["nomatch"]);
    const both = load(`${nvpol("require-team-label", "team-a")}---\n${nvpol("require-team-label", "team-b", "true")}`);
    expect(both.map((p) => p.meta.name)).toEqual(["team-a/require-team-label", "team-b/require-team-label"]);
    expect(both.map((p) => statuses(p, create(pod("team-b"))))).toEqual([["nomatch"], ["pass"]]);
  });

  it("a CEL PolicyException applies when its policyRefs name the namespaced kind, not the cluster kind", () => {
    const exception = (kind: string): string => `---
apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata:
  name: legacy-web
  namespace: team-a
spec:
  policyRefs:
  - name: require-team-label
    kind: ${kind}
  matchConditions:
  - name: web
    expression: "object.metadata.name == 'web'"
`;
    const [excepted] = load(nvpol("require-team-label", "team-a") + exception("NamespacedValidatingPolicy"));
    expect(excepted?.evaluateAdmission(create(pod("team-a")))).toMatchObject([{ status: "skip", message: "rule skipped due to policy exception team-a/legacy-web" }]);
    const [notExcepted] = load(nvpol("require-team-label", "team-a") + exception("ValidatingPolicy"));
    expect(statuses(notExcepted, create(pod("team-a")))).toEqual(["fail"]);
  });

  it("a NamespacedGeneratingPolicy generates into its own namespace only; elsewhere is an error that generates nothing", () => {
    const gpol = (target: string): string => `apiVersion: policies.kyverno.io/v1
kind: NamespacedGeneratingPolicy
metadata:
  name: defaults
  namespace: team-a
spec:
${podRules}
  generate:
  - expression: >-
      generator.Apply(${target}, [{"kind": dyn("ConfigMap"), "apiVersion": dyn("v1"), "metadata": dyn({"name": "defaults"})}])
`;
    const [own] = load(gpol("object.metadata.namespace"));
    expect(own?.generateAdmission?.(create(pod("team-a")))).toMatchObject({ results: [{ status: "pass" }], resources: [{ kind: "ConfigMap", metadata: { name: "defaults", namespace: "team-a" } }] });
    expect(own?.generateAdmission?.(create(pod("team-b")))).toEqual({ results: [], resources: [] });
    const [other] = load(gpol("'shared'"));
    const out = other?.generateAdmission?.(create(pod("team-a")));
    expect(out?.resources).toEqual([]);
    expect(out?.results[0]?.status).toBe("error");
    expect(out?.results[0]?.message).toBe("spec.generate[0].expression: ConfigMap defaults would be generated in namespace shared; a NamespacedGeneratingPolicy generates into its own namespace team-a only");
  });

  it("a NamespacedImageValidatingPolicy checks the images of its namespace's pods only", () => {
    const [policy] = load(`apiVersion: policies.kyverno.io/v1
kind: NamespacedImageValidatingPolicy
metadata:
  name: pinned-images
  namespace: team-a
spec:
${podRules}
  matchImageReferences:
  - glob: "*"
  validations:
  - expression: "true"
`);
    expect(policy?.meta.name).toBe("team-a/pinned-images");
    // verifyDigest (default true): an image named by tag fails before any registry is asked.
    expect(policy?.evaluateAdmission(create(pod("team-a")))).toMatchObject([{ status: "fail", message: "missing digest for docker.io/nginx:1.27" }]);
    expect(statuses(policy, create(pod("team-b")))).toEqual(["nomatch"]);
  });

  it("a kyverno.io Policy and a CleanupPolicy are named namespace/name too, so one name in two namespaces loads as two policies", () => {
    const legacy = (namespace: string): string => `apiVersion: kyverno.io/v1
kind: Policy
metadata:
  name: require-team-label
  namespace: ${namespace}
spec:
  validationFailureAction: Enforce
  rules:
  - name: team
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: team label required
      pattern:
        metadata:
          labels:
            team: "?*"
`;
    const exception = `apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: web
  namespace: team-a
spec:
  exceptions:
  - policyName: team-a/require-team-label
    ruleNames: [team]
  match:
    any:
    - resources:
        kinds: [Pod]
        names: [web]
`;
    const [teamA, teamB] = load(`${legacy("team-a")}---\n${legacy("team-b")}---\n${exception}`);
    expect([teamA?.meta.name, teamB?.meta.name]).toEqual(["team-a/require-team-label", "team-b/require-team-label"]);
    // team-a's exception names team-a's policy only.
    expect(teamA?.evaluateAdmission(create(pod("team-a")))).toMatchObject([{ policy: "team-a/require-team-label", status: "skip" }]);
    expect(teamB?.evaluateAdmission(create(pod("team-b")))).toMatchObject([{ policy: "team-b/require-team-label", rule: "team", status: "fail" }]);
    expect(teamB?.evaluateAdmission(create(pod("team-a")))).toEqual([]);
    const cleanup = (namespace: string): string => `apiVersion: kyverno.io/v2
kind: CleanupPolicy
metadata:
  name: bare-pods
  namespace: ${namespace}
spec:
  schedule: "*/5 * * * *"
  match:
    any:
    - resources:
        kinds: [Pod]
`;
    const loaded = loadPolicyText(`${cleanup("team-a")}---\n${cleanup("team-b")}`, "cleanup.yaml", { env });
    expect(loaded.errors).toEqual([]);
    expect(loaded.policies.map((p) => p.meta.name)).toEqual(["team-a/bare-pods", "team-b/bare-pods"]);
  });

  it("vigil test runs a kyverno-test.yaml naming namespaced policies as namespace/name or by name", () => {
    const cases = runKyvernoTestFile(join(fixture, ".kyverno-test", "kyverno-test.yaml"), { celEnv: env });
    expect(cases.map((c) => [c.policy, c.resource, c.expected, c.actual, c.status])).toEqual([
      ["team-a/require-team-label", "unlabelled", "fail", "fail", "pass"],
      ["team-a/require-team-label", "labelled", "pass", "pass", "pass"],
      ["team-a/require-team-label", "team-b/elsewhere", "pass", "excluded", "pass"],
      ["add-owner-label", "unlabelled", "pass", "pass", "pass"],
      ["team-a/default-pdb", "web", "pass", "pass", "pass"],
    ]);
  });

  it("loads from a directory with the other languages", () => {
    const loaded = loadPolicies([join(fixture, "policies.yaml")]);
    expect(loaded.errors).toEqual([]);
    expect(loaded.policies.map((p) => p.meta.name)).toEqual(["team-a/require-team-label", "team-a/add-owner-label", "team-a/default-pdb"]);
  });
});

describe("ValidatingPolicy matchConstraints read the request's namespace, as the API server matches", () => {
  it("a pod whose object carries no metadata.namespace (the API server sends it as request.namespace) is matched as namespaced", () => {
    const [policy] = load(`apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata: { name: namespaced-pods-need-team }
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
      scope: Namespaced
  validations:
  - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
`);
    const bare: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "web" }, spec: { containers: [{ name: "app", image: "nginx:1.27" }] } };
    expect(statuses(policy, create(bare, { namespace: "team-a", name: "web" }))).toEqual(["fail"]);
    expect(statuses(policy, create(pod("team-a")))).toEqual(["fail"]);
  });
});
