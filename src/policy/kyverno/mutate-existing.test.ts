import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { VigilError } from "../../core/errors.js";
import { createCelEnvironment } from "../cel/index.js";
import { UnresolvedContext, type ExternalContextResolver } from "./context.js";
import { applyJsonPatch } from "./json-patch.js";
import { kyvernoEnvironment } from "./load.js";
import { mutateExistingFindings } from "./mutate-existing.js";
import { compileKyvernoPolicy, type KyvernoPolicy } from "./policy.js";
import { resourceInput, toAdmissionInput } from "./request.js";
import { runKyvernoTests } from "./test-runner.js";

const env = kyvernoEnvironment(createCelEnvironment());
const library = (path: string): KyvernoPolicy => compileKyvernoPolicy(parse(readFileSync(new URL(`../../../test/fixtures/kyverno/${path}`, import.meta.url), "utf8")) as Record<string, unknown>, env);

/** A cluster as the resolver answers apiCall GETs: objects by API path, lists by collection path. */
function cluster(objects: Record<string, Record<string, unknown>>, lists: Record<string, Record<string, unknown>[]> = {}): { resolver: ExternalContextResolver; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    resolver: (request) => {
      const path = String(request.spec["urlPath"] ?? "");
      asked.push(path);
      if (objects[path]) return objects[path];
      if (lists[path]) return { items: lists[path] };
      return new UnresolvedContext(`GET ${path} answered HTTP 404: not found`);
    },
  };
}

const review = (object: Record<string, unknown>, operation = "CREATE") => toAdmissionInput({
  apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
  request: { uid: "u1", kind: { group: "", version: "v1", kind: String(object["kind"]) }, namespace: (object["metadata"] as { namespace?: string }).namespace, operation, userInfo: { username: "dev" }, object, oldObject: null },
})!;

describe("mutate.targets (mutate existing resources)", () => {
  it("concatenate-configmaps: the trigger's data lands in the named target, with {{ @ }} the target's current value", () => {
    const policy = library("other/concatenate-configmaps/concatenate-configmaps.yaml");
    expect(policy.mutateExisting).toMatchObject({ onPolicyUpdate: false, triggerKinds: ["ConfigMap"] });
    expect(policy.mutateAdmission).toBeUndefined();
    const cmtwo = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cmtwo", namespace: "bar", resourceVersion: "41", uid: "u-two" }, data: { keytwo: "bananas" } };
    const { resolver, asked } = cluster({ "/api/v1/namespaces/bar/configmaps/cmtwo": cmtwo });
    const trigger = review({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cmone", namespace: "foo" }, data: { keyone: "apples" } });
    const [outcome] = policy.mutateExisting!.evaluate(trigger, { resolver });
    expect(asked).toEqual(["/api/v1/namespaces/bar/configmaps/cmtwo"]);
    expect(outcome?.result.status).toBe("pass");
    const [target] = outcome!.targets;
    expect(target).toMatchObject({ status: "patch", target: "ConfigMap/bar/cmtwo", ref: { apiVersion: "v1", kind: "ConfigMap", namespace: "bar", name: "cmtwo", resourceVersion: "41" } });
    expect(applyJsonPatch(cmtwo, target!.patch!)).toMatchObject({ data: { keytwo: "bananas plus apples" } });
    // Another ConfigMap does not trigger the rule.
    expect(policy.mutateExisting!.selects(review({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "other", namespace: "foo" } }))).toBe(false);
    expect(policy.mutateExisting!.selects(trigger)).toBe(true);
  });

  it("a namespaced Policy patches targets in its own namespace only, never in another or a cluster-scoped one", () => {
    const policy = compileKyvernoPolicy({
      apiVersion: "kyverno.io/v1", kind: "Policy", metadata: { name: "team-stamp", namespace: "foo" },
      spec: { rules: [{ name: "stamp", match: { any: [{ resources: { kinds: ["ConfigMap"] } }] }, mutate: { targets: [{ apiVersion: "v1", kind: "ConfigMap" }], patchStrategicMerge: { metadata: { labels: { stamped: "yes" } } } } }] },
    }, env);
    const items = [
      { metadata: { name: "mine", namespace: "foo" }, data: {} },
      { metadata: { name: "theirs", namespace: "bar" }, data: {} },
    ];
    const { resolver } = cluster({}, { "/api/v1/configmaps": items });
    const [outcome] = policy.mutateExisting!.evaluate(review({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "trigger", namespace: "foo" }, data: {} }), { resolver });
    expect(outcome?.targets.map((t) => [t.target, t.status])).toEqual([["ConfigMap/foo/mine", "patch"], ["ConfigMap/bar/theirs", "skip"]]);
    expect(outcome?.targets[1]?.message).toContain("outside the namespace foo of the Policy");
  });

  it("label-existing-namespaces: a target without a name is every object of its kind; one already labelled is unchanged", () => {
    const policy = library("other/label-existing-namespaces/label-existing-namespaces.yaml");
    expect(policy.mutateExisting?.onPolicyUpdate).toBe(true);
    const namespaces = [{ metadata: { name: "a", resourceVersion: "1" } }, { metadata: { name: "b", labels: { mykey: "myvalue" }, resourceVersion: "2" } }];
    const { resolver, asked } = cluster({}, { "/api/v1/namespaces": namespaces });
    const [outcome] = policy.mutateExisting!.evaluate(resourceInput({ apiVersion: "v1", kind: "Namespace", metadata: { name: "new" } }), { resolver });
    expect(asked).toEqual(["/api/v1/namespaces"]);
    expect(outcome?.targets.map((t) => [t.target, t.status])).toEqual([["Namespace/a", "patch"], ["Namespace/b", "unchanged"]]);
    expect(outcome?.targets[0]?.patch).toEqual([{ op: "add", path: "/metadata/labels", value: { mykey: "myvalue" } }]);
  });

  it("add-privileged-existing-namespaces: the target's own anchors decide (kube-system is left alone)", () => {
    const policy = library("psa/add-privileged-existing-namespaces/add-privileged-existing-namespaces.yaml");
    const { resolver } = cluster({}, { "/api/v1/namespaces": [{ metadata: { name: "kube-system" } }, { metadata: { name: "apps", labels: { team: "x" } } }] });
    const [outcome] = policy.mutateExisting!.evaluate(resourceInput({ apiVersion: "v1", kind: "Namespace", metadata: { name: "apps" } }), { resolver });
    expect(outcome?.targets.map((t) => [t.target, t.status])).toEqual([["Namespace/kube-system", "unchanged"], ["Namespace/apps", "patch"]]);
    expect(outcome?.targets[1]?.patch).toEqual([{ op: "add", path: "/metadata/labels/pod-security.kubernetes.io~1enforce", value: "privileged" }]);
  });

  it("findings: one violation per target to change, whose remediation is a kubernetes.patch of that target; errors are error findings", () => {
    const policy = library("other/update-image-tag/update-image-tag.yaml");
    const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "shop", resourceVersion: "9", annotations: { "vault.hashicorp.com/agent-inject": "true" } }, spec: { template: { spec: { containers: [{ name: "web", image: "web:1" }, { name: "vault-agent", image: "vault:1.4.0" }] } } } };
    const { resolver } = cluster({ "/apis/apps/v1/namespaces/shop/deployments/web": deployment });
    const data = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u1", kind: { group: "apps", version: "v1", kind: "Deployment" }, namespace: "shop", operation: "UPDATE", userInfo: {}, object: deployment, oldObject: deployment } };
    const ctx = { event: { specversion: "1.0", id: "t1", source: "vigil/admission", type: "dev.vigil.mutate.existing", subject: "shop/web", data }, input: data, entities: {}, signals: {}, posture: { level: "normal" } } as never;
    // Without a cluster: the target cannot be read — an error finding, no action.
    const [unread] = policy.evaluate(ctx);
    expect(unread).toMatchObject({ effect: "error" });
    expect(unread?.remediation).toBeUndefined();
    const withCluster = compileKyvernoPolicy(parse(readFileSync(new URL("../../../test/fixtures/kyverno/other/update-image-tag/update-image-tag.yaml", import.meta.url), "utf8")) as Record<string, unknown>, env, { resolver });
    const [finding] = withCluster.evaluate(ctx);
    // The target has no namespace in the policy: the trigger's.
    expect(finding).toMatchObject({ effect: "violation", resource: "Deployment/shop/web", remediation: [{ action: "kubernetes.patch", target: JSON.stringify("Deployment/shop/web"), params: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web", resourceVersion: "9" } }] });
    const patched = applyJsonPatch(deployment, finding!.remediation![0]!.params!["patch"] as never[]) as typeof deployment;
    const containers = Object.fromEntries(patched.spec.template.spec.containers.map((c) => [c.name, c.image]));
    expect(containers).toEqual({ web: "web:1", "vault-agent": "vault:1.5.4" });
    expect(withCluster.meta.enforcement).toEqual({ tier: "remediate" });
    expect(withCluster.meta.on).toContain("dev.vigil.mutate.existing");
    // Admission and background evaluations do not run mutate-existing rules.
    const admissionCtx = { ...(ctx as Record<string, unknown>), event: { ...((ctx as Record<string, unknown>)["event"] as Record<string, unknown>), type: "io.k8s.admission.review" } };
    expect(withCluster.evaluate(admissionCtx as never)).toEqual([]);
  });

  it("a target's labels travel with its patch (the executor's protection guardrail reads them); a missing named target is skipped", () => {
    const policy = library("other/concatenate-configmaps/concatenate-configmaps.yaml");
    const trigger = review({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cmone", namespace: "foo" }, data: { keyone: "x" } });
    const protectedTarget = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cmtwo", namespace: "bar", labels: { "vigil.dev/protected": "true", team: "platform" } }, data: {} };
    const [outcome] = policy.mutateExisting!.evaluate(trigger, { resolver: cluster({ "/api/v1/namespaces/bar/configmaps/cmtwo": protectedTarget }).resolver });
    expect(outcome?.targets[0]).toMatchObject({ status: "patch", ref: { name: "cmtwo", labels: { "vigil.dev/protected": "true", team: "platform" } } });
    const [finding] = mutateExistingFindings([outcome!], (r) => ({ policy: "concatenate-configmaps", rule: r.rule, revision: "r", language: "kyverno", effect: "violation", mode: "warn", severity: "medium", message: r.message, trace: [] }), false);
    expect(finding?.remediation?.[0]).toMatchObject({ action: "kubernetes.patch", target: '"ConfigMap/bar/cmtwo"', targetLabels: { "vigil.dev/protected": "true", team: "platform" } });
    expect(policy.mutateExisting!.evaluate(trigger, { resolver: cluster({}).resolver })[0]?.targets[0]).toMatchObject({ status: "skip", message: "target ConfigMap/bar/cmtwo does not exist" });
  });
});

const conformance = (path: string): Record<string, unknown>[] => parseAllDocuments(readFileSync(new URL(`../../../test/fixtures/kyverno/kyverno-conformance/mutate-existing/${path}`, import.meta.url), "utf8")).map((d) => d.toJS() as Record<string, unknown>);
const inline = (yaml: string): KyvernoPolicy => compileKyvernoPolicy(parse(yaml) as Record<string, unknown>, env);
const loadError = (yaml: string): string => {
  try {
    inline(yaml);
    return "loaded";
  } catch (e) {
    return e instanceof VigilError ? `${e.code} ${String(e.details?.["field"])}` : String(e);
  }
};

describe("mutate.targets selector (a label selector on the LIST of the target kind)", () => {
  it("Kyverno's labelselector conformance test: the ConfigMaps labelled should-match=yes get foo=bar, cluster-wide; cm3 is filtered out even when the resolver ignores the query", () => {
    const [policyDoc] = conformance("labelselector/policy.yaml");
    const policy = compileKyvernoPolicy(policyDoc!, env);
    const configMaps: Record<string, unknown>[] = [...conformance("labelselector/should-match.yaml"), ...conformance("labelselector/should-not-match.yaml")].map((cm, i) => ({ ...cm, metadata: { ...(cm["metadata"] as object), namespace: "chainsaw-ns", resourceVersion: String(10 + i) } }));
    // A cache-like resolver: it answers the LIST with every ConfigMap, whatever the labelSelector says.
    const path = "/api/v1/configmaps?labelSelector=should-match%3Dyes";
    const { resolver, asked } = cluster({}, { [path]: configMaps.map(({ apiVersion: _a, kind: _k, ...item }) => item) });
    const [secret] = conformance("labelselector/secret.yaml");
    const [outcome] = policy.mutateExisting!.evaluate(review({ ...secret!, metadata: { name: "some-secret", namespace: "chainsaw-ns" } }), { resolver });
    // No namespace on the target: Kyverno lists the kind in every namespace.
    expect(asked).toEqual([path]);
    expect(outcome?.targets.map((t) => [t.target, t.status])).toEqual([["ConfigMap/chainsaw-ns/cm1", "patch"], ["ConfigMap/chainsaw-ns/cm2", "patch"]]);
    for (const [i, target] of outcome!.targets.entries()) {
      expect(target.ref).toMatchObject({ apiVersion: "v1", kind: "ConfigMap", namespace: "chainsaw-ns", name: `cm${i + 1}`, resourceVersion: String(10 + i), labels: { "should-match": "yes" } });
      expect(applyJsonPatch(configMaps[i], target.patch!)).toMatchObject({ metadata: { labels: { "should-match": "yes", foo: "bar" } } });
    }
  });

  it("matchExpressions (In, NotIn, Exists, DoesNotExist) with the trigger's variables, name and namespace wildcards: the query sent and the items kept", () => {
    const policy = inline(`
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: annotate-team-configmaps}
spec:
  rules:
  - name: stamp-owner
    match: {any: [{resources: {kinds: [Namespace]}}]}
    mutate:
      targets:
      - apiVersion: v1
        kind: ConfigMap
        namespace: "team-*"
        name: "app-*"
        selector:
          matchLabels: {owner: "{{ request.object.metadata.labels.team }}"}
          matchExpressions:
          - {key: tier, operator: In, values: [web, api]}
          - {key: env, operator: NotIn, values: [prod]}
          - {key: managed, operator: Exists}
          - {key: frozen, operator: DoesNotExist}
      patchStrategicMerge:
        metadata:
          annotations:
            example.com/owner: "{{ request.object.metadata.name }}"
`);
    const cm = (namespace: string, name: string, labels: Record<string, string>) => ({ metadata: { namespace, name, labels } });
    const good = { owner: "blue", tier: "web", managed: "yes" };
    const items = [
      cm("team-a", "app-1", good),
      cm("team-a", "app-2", { ...good, env: "staging" }),
      cm("team-b", "app-3", { ...good, tier: "db" }),
      cm("team-b", "app-4", { ...good, env: "prod" }),
      cm("team-b", "app-5", { owner: "blue", tier: "api" }),
      cm("team-b", "app-6", { ...good, frozen: "true" }),
      cm("team-b", "app-7", { ...good, owner: "red" }),
      cm("infra", "app-8", good),
      cm("team-c", "db-9", good),
    ];
    const path = `/api/v1/configmaps?labelSelector=${encodeURIComponent("owner=blue,tier in (web,api),env notin (prod),managed,!frozen")}`;
    const { resolver, asked } = cluster({}, { [path]: items });
    const [outcome] = policy.mutateExisting!.evaluate(resourceInput({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-z", labels: { team: "blue" } } }), { resolver });
    expect(asked).toEqual([path]);
    expect(outcome?.targets.map((t) => t.target)).toEqual(["ConfigMap/team-a/app-1", "ConfigMap/team-a/app-2"]);
    expect(outcome?.targets[0]?.patch).toEqual([{ op: "add", path: "/metadata/annotations", value: { "example.com/owner": "team-z" } }]);
  });

  it("an exact namespace is listed in that namespace; an exact name and namespace is a GET and Kyverno does not apply the selector to it", () => {
    const policy = (target: string) => inline(`
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: label-targets}
spec:
  rules:
  - name: label
    match: {any: [{resources: {kinds: [ConfigMap], names: [trigger]}}]}
    mutate:
      targets:
      - {apiVersion: v1, kind: Secret, namespace: "{{ request.namespace }}", ${target}selector: {matchLabels: {sync: "on"}}}
      patchStrategicMerge: {metadata: {labels: {synced: "yes"}}}
`);
    const trigger = review({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "trigger", namespace: "shop" } });
    const listed = cluster({}, { "/api/v1/namespaces/shop/secrets?labelSelector=sync%3Don": [{ metadata: { name: "s1", namespace: "shop", labels: { sync: "on" } } }, { metadata: { name: "s2", namespace: "shop" } }] });
    expect(policy("").mutateExisting!.evaluate(trigger, { resolver: listed.resolver })[0]?.targets.map((t) => t.target)).toEqual(["Secret/shop/s1"]);
    expect(listed.asked).toEqual(["/api/v1/namespaces/shop/secrets?labelSelector=sync%3Don"]);
    const got = cluster({ "/api/v1/namespaces/shop/secrets/s2": { apiVersion: "v1", kind: "Secret", metadata: { name: "s2", namespace: "shop" } } });
    expect(policy("name: s2, ").mutateExisting!.evaluate(trigger, { resolver: got.resolver })[0]?.targets.map((t) => [t.target, t.status])).toEqual([["Secret/shop/s2", "patch"]]);
    expect(got.asked).toEqual(["/api/v1/namespaces/shop/secrets/s2"]);
  });

  it("a selector that Kubernetes would refuse fails to load, naming the field", () => {
    const withSelector = (selector: string) => `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: bad-selector}
spec:
  rules:
  - name: r
    match: {any: [{resources: {kinds: [ConfigMap]}}]}
    mutate:
      targets: [{apiVersion: v1, kind: Secret, selector: ${selector}}]
      patchStrategicMerge: {metadata: {labels: {a: b}}}
`;
    expect(loadError(withSelector("{matchExpressions: [{key: a, operator: Gt, values: ['1']}]}"))).toBe("VIGIL_POLICY_UNSUPPORTED spec.rules[0].mutate.targets[0].selector.matchExpressions[0].operator");
    expect(loadError(withSelector("{matchFields: {a: b}}"))).toBe("VIGIL_POLICY_UNSUPPORTED spec.rules[0].mutate.targets[0].selector.matchFields");
    expect(loadError(withSelector("{matchLabels: {a: b}}"))).toBe("loaded");
  });
});

describe("mutate.foreach with mutate.targets (the foreach runs on each target)", () => {
  it("Kyverno's descending-patchJson6902 conformance test: only container3 of target-pod gets the signed image", () => {
    const [policyDoc] = conformance("descending-patchJson6902/policy.yaml");
    const policy = compileKyvernoPolicy(policyDoc!, env);
    expect(policy.mutateAdmission).toBeUndefined();
    const [targetPod] = conformance("descending-patchJson6902/target-pod.yaml");
    const [triggerPod] = conformance("descending-patchJson6902/trigger-pod.yaml");
    const { resolver, asked } = cluster({ "/api/v1/namespaces/default/pods/target-pod": { ...targetPod!, metadata: { ...(targetPod!["metadata"] as object), resourceVersion: "7" } } });
    const [outcome] = policy.mutateExisting!.evaluate(review(triggerPod!), { resolver });
    expect(asked).toEqual(["/api/v1/namespaces/default/pods/target-pod"]);
    expect(outcome?.targets).toHaveLength(1);
    expect(outcome?.targets[0]).toMatchObject({ status: "patch", target: "Pod/default/target-pod", ref: { resourceVersion: "7" } });
    expect(outcome?.targets[0]?.patch).toEqual([{ op: "replace", path: "/spec/containers/2/image", value: "ghcr.io/kyverno/test-verify-images:signed" }]);
    // A target whose container3 already has the image: nothing to change.
    const done = applyJsonPatch(targetPod, outcome!.targets[0]!.patch!) as Record<string, unknown>;
    expect(policy.mutateExisting!.evaluate(review(triggerPod!), { resolver: cluster({ "/api/v1/namespaces/default/pods/target-pod": done }).resolver })[0]?.targets.map((t) => t.status)).toEqual(["unchanged"]);
  });

  const pullPolicy = `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: sync-pull-policy}
spec:
  rules:
  - name: pull-policy-from-settings
    match: {any: [{resources: {kinds: [ConfigMap], names: [registry-settings]}}]}
    context:
    - name: pullPolicy
      variable: {jmesPath: request.object.data.pullPolicy}
    mutate:
      targets:
      - apiVersion: apps/v1
        kind: Deployment
        namespace: "{{ request.object.metadata.namespace }}"
        selector: {matchLabels: {registry-sync: enabled}}
      foreach:
      - list: target.spec.template.spec.containers
        preconditions:
          all:
          - {key: "{{ element.imagePullPolicy || '' }}", operator: NotEquals, value: "{{ pullPolicy }}"}
        patchStrategicMerge:
          spec:
            template:
              spec:
                containers:
                - name: "{{ element.name }}"
                  imagePullPolicy: "{{ pullPolicy }}"
`;

  it("a strategic-merge foreach over each target's own list: one patch per target that changes, element from the target", () => {
    const policy = inline(pullPolicy);
    const deployment = (name: string, containers: Record<string, unknown>[]) => ({ metadata: { name, namespace: "apps", labels: { "registry-sync": "enabled" }, resourceVersion: `rv-${name}` }, spec: { template: { spec: { containers } } } });
    const items = [
      deployment("web", [{ name: "app", image: "web:1", imagePullPolicy: "Always" }, { name: "proxy", image: "envoy:1" }]),
      deployment("api", [{ name: "api", image: "api:1", imagePullPolicy: "IfNotPresent" }]),
      deployment("done", [{ name: "job", image: "job:1", imagePullPolicy: "Always" }]),
    ];
    const { resolver, asked } = cluster({}, { "/apis/apps/v1/namespaces/apps/deployments?labelSelector=registry-sync%3Denabled": items });
    const trigger = review({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "registry-settings", namespace: "apps" }, data: { pullPolicy: "Always" } });
    const [outcome] = policy.mutateExisting!.evaluate(trigger, { resolver });
    expect(asked).toEqual(["/apis/apps/v1/namespaces/apps/deployments?labelSelector=registry-sync%3Denabled"]);
    expect(outcome?.targets.map((t) => [t.target, t.status])).toEqual([["Deployment/apps/web", "patch"], ["Deployment/apps/api", "patch"], ["Deployment/apps/done", "unchanged"]]);
    const pullPolicies = (i: number) => Object.fromEntries((applyJsonPatch(Object.assign({ apiVersion: "apps/v1", kind: "Deployment" }, items[i]), outcome!.targets[i]!.patch!) as ReturnType<typeof deployment>).spec.template.spec.containers.map((c) => [c["name"], c["imagePullPolicy"]]));
    expect(pullPolicies(0)).toEqual({ app: "Always", proxy: "Always" });
    expect(pullPolicies(1)).toEqual({ api: "Always" });
    const findings = mutateExistingFindings([outcome!], (r) => ({ policy: "sync-pull-policy", rule: r.rule, revision: "r", language: "kyverno", effect: "violation", mode: "warn", severity: "medium", message: r.message, trace: [] }), false);
    expect(findings.map((f) => [f.resource, f.remediation?.[0]?.params?.["resourceVersion"]])).toEqual([["Deployment/apps/web", "rv-web"], ["Deployment/apps/api", "rv-api"]]);
  });

  it("what the foreach cannot do as Kyverno does fails to load, naming the field: request.object or {{ @ }} inside it", () => {
    expect(loadError(pullPolicy.replace("list: target.spec.template.spec.containers", "list: request.object.spec.template.spec.containers"))).toBe("VIGIL_POLICY_UNSUPPORTED spec.rules[0].mutate.foreach[0]");
    expect(loadError(pullPolicy.replace('imagePullPolicy: "{{ pullPolicy }}"', 'imagePullPolicy: "{{ @ }}"'))).toBe("VIGIL_POLICY_UNSUPPORTED spec.rules[0].mutate.foreach[0]");
    expect(loadError(pullPolicy)).toBe("loaded");
  });
});

describe("{{ @ }} in a mutate-existing patch", () => {
  const mirror = `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: mirror-images}
spec:
  rules:
  - name: mirror
    match: {any: [{resources: {kinds: [ConfigMap], names: [mirror-on]}}]}
    mutate:
      targets:
      - {apiVersion: apps/v1, kind: Deployment, name: web}
      patchStrategicMerge:
        metadata:
          annotations:
            example.com/replicas: "{{ @ }}"
            example.com/note: "was {{ @ }}"
        spec:
          template:
            spec:
              containers:
              - name: app
                image: "mirror.local/{{ @ }}"
              - name: sidecar
                image: "mirror.local/{{ @ }}"
`;
  const trigger = review({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "mirror-on", namespace: "shop" } });
  const deployment = (containers: Record<string, unknown>[]) => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "shop", annotations: { "example.com/replicas": "3", "example.com/note": "x" } }, spec: { template: { spec: { containers } } } });
  const patched = (target: Record<string, unknown>) => {
    const [outcome] = inline(mirror).mutateExisting!.evaluate(trigger, { resolver: cluster({ "/apis/apps/v1/namespaces/shop/deployments/web": target }).resolver });
    expect(outcome?.targets[0]?.status).toBe("patch");
    return applyJsonPatch(target, outcome!.targets[0]!.patch!) as ReturnType<typeof deployment>;
  };

  it("inside a list it is the target's element at the same position of the overlay's list (Kyverno's target.<path>[i])", () => {
    const result = patched(deployment([{ name: "app", image: "nginx:1" }, { name: "sidecar", image: "envoy:2" }]));
    expect(result.spec.template.spec.containers).toEqual([{ name: "app", image: "mirror.local/nginx:1" }, { name: "sidecar", image: "mirror.local/envoy:2" }]);
    // By position, not by the merge key: with the target's containers the other way round, each
    // overlay entry reads the target's element at its own index (what Kyverno does).
    const swapped = patched(deployment([{ name: "sidecar", image: "envoy:2" }, { name: "app", image: "nginx:1" }]));
    expect(Object.fromEntries(swapped.spec.template.spec.containers.map((c) => [c["name"], c["image"]]))).toEqual({ sidecar: "mirror.local/nginx:1", app: "mirror.local/envoy:2" });
  });

  it("outside lists: alone it keeps the value, in a longer string it is text; a missing value is null (\"null\" in text, and a null field of a merge patch is left out)", () => {
    const result = patched(deployment([{ name: "app", image: "nginx:1" }, { name: "sidecar", image: "envoy:2" }]));
    expect(result.metadata.annotations).toEqual({ "example.com/replicas": "3", "example.com/note": "was x" });
    const bare = { ...deployment([{ name: "app", image: "nginx:1" }]), metadata: { name: "web", namespace: "shop" } };
    const filled = patched(bare);
    expect(filled.metadata.annotations).toEqual({ "example.com/note": "was null" });
    expect(filled.spec.template.spec.containers).toEqual([{ name: "app", image: "mirror.local/nginx:1" }, { name: "sidecar", image: "mirror.local/null" }]);
  });
});

describe("vigil test (kyverno test) rows of what the agent runs against a cluster", () => {
  it("a mutate-existing rule and a cleanup policy are unsupported rows, never passes or failures", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-existing-test-"));
    copyFileSync(new URL("../../../test/fixtures/kyverno/other/concatenate-configmaps/concatenate-configmaps.yaml", import.meta.url), join(dir, "policy.yaml"));
    copyFileSync(new URL("../../../test/fixtures/kyverno/cleanup/cleanup-bare-pods/cleanup-bare-pods.yaml", import.meta.url), join(dir, "cleanup.yaml"));
    writeFileSync(join(dir, "resources.yaml"), [
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cmone", namespace: "foo" }, data: { keyone: "x" } },
      { apiVersion: "v1", kind: "Pod", metadata: { name: "bare", namespace: "default" }, spec: { containers: [{ name: "c", image: "nginx" }] } },
    ].map((o) => JSON.stringify(o)).join("\n---\n"));
    writeFileSync(join(dir, "kyverno-test.yaml"), `apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: existing}
policies: [policy.yaml, cleanup.yaml]
resources: [resources.yaml]
results:
- {policy: concatenate-configmaps, rule: concat-cm, kind: ConfigMap, resources: [cmone], result: pass}
- {policy: clean-bare-pods, kind: Pod, resources: [bare], result: pass}
`);
    const results = runKyvernoTests([dir], { celEnv: createCelEnvironment() });
    expect(results.map((r) => [r.policy, r.status])).toEqual([["concatenate-configmaps", "unsupported"], ["clean-bare-pods", "unsupported"]]);
    expect(results[0]?.message).toContain("mutates existing resources");
    expect(results[1]?.message).toContain("cleanup policy");
  });
});
