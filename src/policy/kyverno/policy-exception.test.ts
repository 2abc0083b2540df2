import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Context } from "../../core/context.js";
import type { Finding } from "../../core/finding.js";
import { createEvaluator } from "../../agent/evaluator.js";
import { createCelEnvironment } from "../cel/index.js";
import { createPolicySet, loadPolicyText } from "../index.js";
import type { KyvernoPolicy } from "./policy.js";
import { runKyvernoTests } from "./test-runner.js";

const celEnv = createCelEnvironment();

// The example of Kyverno's PolicyException documentation: an Enforce rule against host
// namespaces, and an exception for `important-tool*` Pods and Deployments in `delta` labelled app=busybox.
const hostNamespaces = `
apiVersion: kyverno.io/v2beta1
kind: ClusterPolicy
metadata:
  name: disallow-host-namespaces
spec:
  background: true
  rules:
    - name: host-namespaces
      match:
        any:
        - resources:
            kinds:
              - Pod
      validate:
        failureAction: Enforce
        message: >-
          Sharing the host namespaces is disallowed.
        pattern:
          spec:
            =(hostPID): "false"
            =(hostIPC): "false"
            =(hostNetwork): "false"
`;
const deltaException = `
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: delta-exception
  namespace: delta
spec:
  exceptions:
  - policyName: disallow-host-namespaces
    ruleNames:
    - host-namespaces
    - autogen-host-namespaces
  match:
    any:
    - resources:
        kinds:
        - Pod
        - Deployment
        namespaces:
        - delta
        names:
        - important-tool*
  conditions:
    any:
    - key: "{{ request.object.metadata.labels.app || '' }}"
      operator: Equals
      value: busybox
`;

const deployment = (namespace: string, app: string, name = "important-tool") => ({
  apiVersion: "apps/v1", kind: "Deployment",
  metadata: { name, namespace, labels: { app } },
  spec: { replicas: 1, selector: { matchLabels: { app } }, template: { metadata: { labels: { app } }, spec: { hostIPC: true, containers: [{ image: "busybox:1.35", name: "busybox" }] } } },
});
const pod = (namespace: string, spec: Record<string, unknown>, name = "p", labels: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels }, spec });

/** An AdmissionReview v1 CREATE of the object, as the API server sends it. */
function review(object: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u1", kind: { group: "", version: "v1", kind: object["kind"] }, operation: "CREATE", userInfo: { username: "alice" }, object } };
}

function ctx(object: Record<string, unknown>, type = "io.k8s.admission.review"): Context {
  const input = type === "io.k8s.admission.review"
    ? review(object)
    : object;
  return { event: { specversion: "1.0", id: "e1", source: "test", type }, input, entities: {}, signals: {}, posture: { level: "normal", scope: "org", since: "2024-01-01T00:00:00Z" }, now: "2024-01-01T00:00:00Z" };
}

function load(text: string) {
  const loaded = loadPolicyText(text, "policies.yaml", { env: celEnv });
  expect(loaded.errors.map((e) => e.message)).toEqual([]);
  return loaded.policies;
}

function findingsOf(text: string, object: Record<string, unknown>, type?: string): Finding[] {
  return load(text).flatMap((p) => p.evaluate(ctx(object, type)));
}

describe("Kyverno PolicyException", () => {
  const both = `${hostNamespaces}\n---\n${deltaException}`;

  it("lets the resources it selects past the named rule: a skip naming the exception, with the conditions it checked", () => {
    const [finding, ...rest] = findingsOf(both, deployment("delta", "busybox"));
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ policy: "disallow-host-namespaces", rule: "autogen-host-namespaces", effect: "skip", skipReason: "rule skipped due to policy exception delta/delta-exception" });
    expect(finding?.trace[0]).toMatchObject({ kind: "exception", expr: "PolicyException delta/delta-exception", value: true });
    expect(finding?.trace[0]?.children?.[0]).toMatchObject({ kind: "disjunct", value: true });
  });

  it("does not apply outside its match or when its conditions do not hold: the rule fails as without it", () => {
    for (const object of [deployment("prod", "busybox"), deployment("delta", "nginx"), deployment("delta", "busybox", "other-tool")]) {
      const findings = findingsOf(both, object);
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({ rule: "autogen-host-namespaces", effect: "violation", mode: "deny" });
    }
    // the same Deployment without the exception loaded
    expect(findingsOf(hostNamespaces, deployment("delta", "busybox"))[0]?.effect).toBe("violation");
  });

  it("excepts only the rules it names: ruleNames without the autogen rule leave the Deployment denied; \"*\" excepts every rule", () => {
    const podOnly = deltaException.replace("    - autogen-host-namespaces\n", "");
    expect(findingsOf(`${hostNamespaces}\n---\n${podOnly}`, deployment("delta", "busybox"))[0]?.effect).toBe("violation");
    const podObject = pod("delta", { hostIPC: true, containers: [{ name: "c", image: "busybox" }] }, "important-tool-abc", { app: "busybox" });
    expect(findingsOf(`${hostNamespaces}\n---\n${podOnly}`, podObject)[0]?.effect).toBe("skip");
    const star = deltaException.replace("    - host-namespaces\n    - autogen-host-namespaces\n", "    - \"*\"\n");
    expect(findingsOf(`${hostNamespaces}\n---\n${star}`, deployment("delta", "busybox"))[0]?.effect).toBe("skip");
  });

  it("applies from another file of the same load, and a namespaced Policy is named <namespace>/<name>", () => {
    const namespaced = hostNamespaces.replace("kind: ClusterPolicy", "kind: Policy").replace("  name: disallow-host-namespaces", "  name: disallow-host-namespaces\n  namespace: delta");
    const byBareName = findingsOf(`${namespaced}\n---\n${deltaException}`, deployment("delta", "busybox"));
    expect(byBareName[0]?.effect).toBe("skip");
    const qualified = deltaException.replace("policyName: disallow-host-namespaces", "policyName: delta/disallow-host-namespaces");
    expect(findingsOf(`${namespaced}\n---\n${qualified}`, deployment("delta", "busybox"))[0]?.effect).toBe("skip");
    // qualified with another namespace: a ClusterPolicy of that name is not it
    expect(findingsOf(`${hostNamespaces}\n---\n${qualified}`, deployment("delta", "busybox"))[0]?.effect).toBe("violation");
  });

  it("spec.background: false keeps it out of background scans (io.k8s.resource), not out of admission", () => {
    const admissionOnly = deltaException.replace("spec:\n  exceptions:", "spec:\n  background: false\n  exceptions:");
    const text = `${hostNamespaces}\n---\n${admissionOnly}`;
    expect(findingsOf(text, deployment("delta", "busybox"))[0]?.effect).toBe("skip");
    expect(findingsOf(text, deployment("delta", "busybox"), "io.k8s.resource")[0]?.effect).toBe("violation");
    expect(findingsOf(both, deployment("delta", "busybox"), "io.k8s.resource")[0]?.effect).toBe("skip");
  });

  it("decides allow with a summary and an explanation step naming the exception", () => {
    const evaluator = createEvaluator(createPolicySet(load(both)));
    const event = { specversion: "1.0" as const, id: "e1", source: "test", type: "io.k8s.admission.review", data: review(deployment("delta", "busybox")) };
    const draft = evaluator.decideEvent(event);
    expect(draft.verdict).toBe("allow");
    expect(draft.explanation.summary).toBe("Allowed: disallow-host-namespaces/autogen-host-namespaces rule skipped due to policy exception delta/delta-exception.");
    expect(draft.explanation.steps).toContainEqual(expect.objectContaining({ kind: "exception", ref: "delta/delta-exception", policy: "disallow-host-namespaces", rule: "autogen-host-namespaces" }));
    const denied = evaluator.decideEvent({ ...event, data: review(deployment("prod", "busybox")) });
    expect(denied.verdict).toBe("deny");
  });

  it("skips a mutate rule it names: the resource comes back unchanged", () => {
    const mutate = `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: add-team-label
spec:
  rules:
  - name: team
    match:
      any:
      - resources:
          kinds: [Pod]
    mutate:
      patchStrategicMerge:
        metadata:
          labels:
            team: platform
---
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: legacy
  namespace: kyverno
spec:
  exceptions:
  - policyName: add-team-label
    ruleNames: [team]
  match:
    any:
    - resources:
        namespaces: [legacy]
`;
    const policy = load(mutate)[0] as KyvernoPolicy;
    const input = (namespace: string) => ({ operation: "CREATE" as const, object: pod(namespace, { containers: [{ name: "c", image: "nginx" }] }), oldObject: null, userInfo: {}, roles: [], clusterRoles: [], subResource: "", dryRun: false });
    const excepted = policy.mutateAdmission?.(input("legacy"));
    expect(excepted?.patch).toEqual([]);
    expect(excepted?.results[0]).toMatchObject({ status: "skip", message: "rule skipped due to policy exception kyverno/legacy" });
    expect(policy.mutateAdmission?.(input("apps")).patch).toEqual([{ op: "add", path: "/metadata/labels/team", value: "platform" }]);
  });

  describe("podSecurity controls", () => {
    const psa = (level: string) => `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: psa
spec:
  background: true
  rules:
  - name: ${level}
    match:
      any:
      - resources:
          kinds:
          - Pod
    validate:
      failureAction: Enforce
      podSecurity:
        level: ${level}
        version: latest
`;
    const nonRootException = `
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: pod-security-exception
  namespace: policy-exception-ns
spec:
  exceptions:
  - policyName: psa
    ruleNames:
    - restricted
  match:
    any:
    - resources:
        namespaces:
        - delta
  podSecurity:
    - controlName: "Running as Non-root"
`;
    const restrictedContainer = (overrides: Record<string, unknown> = {}) => ({
      name: "nginx", image: "nginx",
      securityContext: { seccompProfile: { type: "RuntimeDefault" }, runAsNonRoot: false, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, ...overrides },
    });

    it("exempts only the listed controls: a root pod otherwise restricted is a skip; one that also keeps capabilities fails on those alone", () => {
      const text = `${psa("restricted")}\n---\n${nonRootException}`;
      const root = findingsOf(text, pod("delta", { containers: [restrictedContainer()] }));
      expect(root[0]).toMatchObject({ effect: "skip", skipReason: "rule skipped due to policy exception policy-exception-ns/pod-security-exception" });
      const withCaps = findingsOf(text, pod("delta", { containers: [restrictedContainer({ capabilities: {} })] }));
      expect(withCaps[0]?.effect).toBe("violation");
      expect(withCaps[0]?.message).toContain("(Capabilities)");
      expect(withCaps[0]?.message).not.toContain("Running as Non-root");
      // outside the exception's namespaces the root pod fails on running as root
      expect(findingsOf(text, pod("prod", { containers: [restrictedContainer()] }))[0]?.message).toContain("(Running as Non-root)");
    });

    it("skips a rule that is not a podSecurity rule whole, podSecurity controls or not (Kyverno's validate handler)", () => {
      const withControls = deltaException.replace("  conditions:", "  podSecurity:\n    - controlName: Capabilities\n  conditions:");
      expect(findingsOf(`${hostNamespaces}\n---\n${withControls}`, deployment("delta", "busybox"))[0]).toMatchObject({ effect: "skip", skipReason: "rule skipped due to policy exception delta/delta-exception" });
    });

    it("with images, restrictedField and values: Istio's init container may add NET_ADMIN and NET_RAW, not SYS_ADMIN", () => {
      const istio = `
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: pod-security-exception
  namespace: policy-exception-ns
spec:
  exceptions:
  - policyName: psa
    ruleNames:
    - baseline
  match:
    any:
    - resources:
        kinds:
          - Pod
  podSecurity:
    - controlName: Capabilities
      images:
        - "*/istio/proxyv2*"
        - "*/linkerd/proxy-init*"
      restrictedField: spec.initContainers[*].securityContext.capabilities.add
      values:
        - NET_ADMIN
        - NET_RAW
`;
      const text = `${psa("baseline")}\n---\n${istio}`;
      const istioPod = (add: string[]) => pod("default", {
        initContainers: [{ name: "istio-init", image: "docker.io/istio/proxyv2:1.20.2", securityContext: { allowPrivilegeEscalation: false, capabilities: { add, drop: ["ALL"] }, privileged: false } }],
        containers: [{ name: "busybox", image: "busybox:1.35" }],
      }, "istio-pod");
      expect(findingsOf(text, istioPod(["NET_ADMIN", "NET_RAW"]))[0]).toMatchObject({ effect: "skip" });
      expect(findingsOf(text, istioPod(["SYS_ADMIN"]))[0]).toMatchObject({ effect: "violation" });
      expect(findingsOf(psa("baseline"), istioPod(["NET_ADMIN", "NET_RAW"]))[0]).toMatchObject({ effect: "violation" });
    });
  });

  it("a malformed exception fails to load naming the exception, the field and the file; the policies still load", () => {
    const broken = deltaException.replace("    ruleNames:\n    - host-namespaces\n    - autogen-host-namespaces\n", "");
    const loaded = loadPolicyText(`${hostNamespaces}\n---\n${broken}`, "policies.yaml", { env: celEnv });
    expect(loaded.policies.map((p) => p.meta.name)).toEqual(["disallow-host-namespaces"]);
    expect(loaded.errors).toHaveLength(1);
    expect(loaded.errors[0]?.message).toContain("PolicyException delta-exception: spec.exceptions[0].ruleNames must list the rules to except");
    // the missing field's closest ancestor: the exceptions entry, line and column in the file
    const entryLine = `${hostNamespaces}\n---\n${broken}`.split("\n").findIndex((line) => line === "  - policyName: disallow-host-namespaces") + 1;
    expect(loaded.errors[0]?.details).toMatchObject({ field: "spec.exceptions[0].ruleNames", policy: "delta-exception", file: "policies.yaml", line: entryLine, column: 5 });
    const unknown = loadPolicyText(`${hostNamespaces}\n---\n${deltaException.replace("  conditions:", "  condition:")}`, "policies.yaml", { env: celEnv });
    expect(unknown.errors[0]?.message).toContain("unknown field spec.condition");
  });

  describe("CEL PolicyException (policies.kyverno.io) for a ValidatingPolicy", () => {
    const vpol = `
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata:
  name: check-labels
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments]
  validations:
  - message: label 'environment' is required
    expression: "'environment' in object.metadata.?labels.orValue([])"
`;
    const celException = `
apiVersion: policies.kyverno.io/v1alpha1
kind: PolicyException
metadata:
  name: check-name
  namespace: kyverno
spec:
  policyRefs:
  - name: check-labels
    kind: ValidatingPolicy
  matchConditions:
  - name: check-name
    expression: "object.metadata.name == 'skipped-deployment'"
`;
    const named = (name: string) => ({ ...deployment("apps", "web", name) });

    it("skips the policy for the resources its matchConditions select, naming the exception; others still fail", () => {
      const text = `${vpol}\n---\n${celException}`;
      const [skipped] = findingsOf(text, named("skipped-deployment"));
      expect(skipped).toMatchObject({ policy: "check-labels", effect: "skip", skipReason: "rule skipped due to policy exception kyverno/check-name" });
      expect(skipped?.trace[0]).toMatchObject({ kind: "exception", expr: "PolicyException kyverno/check-name", value: true });
      expect(findingsOf(text, named("web"))[0]).toMatchObject({ effect: "violation", message: "label 'environment' is required" });
      // refers to another kind: not this policy
      expect(findingsOf(`${vpol}\n---\n${celException.replace("kind: ValidatingPolicy", "kind: ImageValidatingPolicy")}`, named("skipped-deployment"))[0]?.effect).toBe("violation");
    });

    it("applies to a MutatingPolicy (no change, a skip naming it) and a GeneratingPolicy (nothing generated)", () => {
      const text = `
apiVersion: policies.kyverno.io/v1alpha1
kind: MutatingPolicy
metadata:
  name: team-label
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: "Object{metadata: Object.metadata{labels: {'team': 'a'}}}"
---
apiVersion: policies.kyverno.io/v1alpha1
kind: GeneratingPolicy
metadata:
  name: default-config
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [namespaces]
  generate:
  - expression: 'generator.Apply(object.metadata.name, [{"kind": dyn("ConfigMap"), "apiVersion": dyn("v1"), "metadata": dyn({"name": "defaults"})}])'
---
apiVersion: policies.kyverno.io/v1alpha1
kind: PolicyException
metadata:
  name: legacy
  namespace: kyverno
spec:
  policyRefs:
  - name: team-label
    kind: MutatingPolicy
  - name: default-config
    kind: GeneratingPolicy
  matchConditions:
  - name: legacy
    expression: "object.metadata.name.startsWith('legacy-')"
`;
      const [mutating, generating] = load(text) as KyvernoPolicy[];
      const input = (object: Record<string, unknown>) => ({ operation: "CREATE" as const, object, oldObject: null, userInfo: {}, roles: [], clusterRoles: [], subResource: "", dryRun: false });
      const legacyPod = mutating?.mutateAdmission?.(input(pod("apps", { containers: [{ name: "c", image: "nginx" }] }, "legacy-web")));
      expect(legacyPod?.patch).toEqual([]);
      expect(legacyPod?.results[0]).toMatchObject({ status: "skip", message: "rule skipped due to policy exception kyverno/legacy" });
      expect(mutating?.mutateAdmission?.(input(pod("apps", { containers: [{ name: "c", image: "nginx" }] }, "web")))?.patch).toEqual([{ op: "add", path: "/metadata/labels/team", value: "a" }]);
      const namespace = (name: string) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
      const legacyNs = generating?.generateAdmission?.(input(namespace("legacy-team")));
      expect(legacyNs).toMatchObject({ resources: [], results: [{ status: "skip", message: "rule skipped due to policy exception kyverno/legacy" }] });
      expect(generating?.generateAdmission?.(input(namespace("team")))?.resources).toHaveLength(1);
    });

    it("a malformed one fails to load naming the field; a CEL syntax error names the condition", () => {
      const noKind = loadPolicyText(`${vpol}\n---\n${celException.replace("    kind: ValidatingPolicy\n", "")}`, "p.yaml", { env: celEnv });
      expect(noKind.errors[0]?.message).toContain("spec.policyRefs[0].kind must be the policy's kind");
      const syntax = loadPolicyText(`${vpol}\n---\n${celException.replace("== 'skipped-deployment'", "== ")}`, "p.yaml", { env: celEnv });
      expect(syntax.errors[0]?.message).toContain("PolicyException check-name matchConditions[0] (check-name)");
      expect(syntax.policies.map((p) => p.meta.name)).toEqual(["check-labels"]);
    });
  });

  it("vigil test: a kyverno-test.yaml `exceptions` file turns the excepted results into skip", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-polex-"));
    mkdirSync(join(dir, "t"));
    writeFileSync(join(dir, "t", "policy.yaml"), hostNamespaces);
    writeFileSync(join(dir, "t", "exception.yaml"), deltaException);
    writeFileSync(join(dir, "t", "resources.yaml"), [deployment("delta", "busybox"), deployment("prod", "busybox", "important-tool")].map((d) => JSON.stringify(d)).join("\n---\n"));
    writeFileSync(join(dir, "t", "kyverno-test.yaml"), `
apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata:
  name: delta
policies: [policy.yaml]
resources: [resources.yaml]
exceptions: [exception.yaml]
results:
- policy: disallow-host-namespaces
  rule: autogen-host-namespaces
  kind: Deployment
  namespace: delta
  resources: [important-tool]
  result: skip
- policy: disallow-host-namespaces
  rule: autogen-host-namespaces
  kind: Deployment
  namespace: prod
  resources: [important-tool]
  result: fail
`);
    const results = runKyvernoTests([dir], { celEnv });
    expect(results.map((r) => [r.actual, r.status])).toEqual([["skip", "pass"], ["fail", "pass"]]);
    // the same test pointing at an exceptions file that is not there: the results it would have turned into skip fail, naming the file
    const other = mkdtempSync(join(tmpdir(), "vigil-polex-"));
    for (const name of ["policy.yaml", "resources.yaml"]) writeFileSync(join(other, name), readFileSync(join(dir, "t", name), "utf8"));
    writeFileSync(join(other, "kyverno-test.yaml"), readFileSync(join(dir, "t", "kyverno-test.yaml"), "utf8").replace("exceptions: [exception.yaml]", "exceptions: [missing.yaml]"));
    const missing = runKyvernoTests([other], { celEnv });
    expect(missing[0]).toMatchObject({ actual: "fail", status: "fail" });
    expect(missing[0]?.message).toContain("exception missing.yaml");
  });
});
