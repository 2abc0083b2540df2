import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
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
