import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Context } from "../../core/context.js";
import { createCelEnvironment } from "../cel/index.js";
import { CLEANUP_EVENT_TYPE, compileCleanupPolicy, isCleanupPolicy, type CleanupPolicy } from "./cleanup-policy.js";
import { compilePolicyDocuments, kyvernoEnvironment } from "./load.js";

const env = kyvernoEnvironment(createCelEnvironment());
const fixture = (path: string) => parse(readFileSync(new URL(`../../../test/fixtures/kyverno/${path}`, import.meta.url), "utf8")) as Record<string, unknown>;
const now = new Date("2026-11-27T10:00:00Z");

function pod(name: string, extra: Record<string, unknown> = {}, namespace = "default"): Record<string, unknown> {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, uid: `uid-${name}`, creationTimestamp: "2026-11-20T00:00:00Z", ...extra }, spec: { containers: [{ name: "nginx", image: "nginx:1.27" }] } };
}
const owned = { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d9c", uid: "rs-1", controller: true }] };

function compile(doc: Record<string, unknown>): CleanupPolicy {
  return compileCleanupPolicy(doc, env, { source: "test.yaml" });
}

function context(policy: string, object: Record<string, unknown>, namespaceObject?: Record<string, unknown>): Context {
  const data = { policy, run: now.toISOString(), object, ...(namespaceObject ? { namespaceObject } : {}) };
  return { event: { specversion: "1.0", id: "e1", source: "vigil/cleanup", type: CLEANUP_EVENT_TYPE, time: now.toISOString(), data }, input: data, entities: {}, signals: {}, posture: { level: "normal" } } as unknown as Context;
}

describe("Kyverno cleanup policies (library: cleanup-bare-pods)", () => {
  for (const [label, path] of [["ClusterCleanupPolicy", "cleanup/cleanup-bare-pods/cleanup-bare-pods.yaml"], ["DeletingPolicy", "cleanup-dpol/cleanup-bare-pods/cleanup-bare-pods.yaml"]] as const) {
    it(`${label}: selects a bare pod, keeps a pod with an owner, and names the schedule and kinds`, () => {
      const policy = compile(fixture(path));
      expect(policy.kind).toBe(label);
      expect(policy.schedule).toBe("*/5 * * * *");
      expect(policy.targets).toEqual(label === "ClusterCleanupPolicy" ? [{ kind: "Pod" }] : [{ group: "", version: "v1", resource: "pods" }]);
      expect(policy.meta.on).toEqual([CLEANUP_EVENT_TYPE]);
      expect(policy.select(pod("bare"), { now }).status).toBe("delete");
      const kept = policy.select(pod("web-5d9c-x", owned), { now });
      expect(kept.status).toBe("keep");
      expect(kept.trace.length).toBeGreaterThan(0);
      expect(policy.select({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "default" } }, { now }).status).toBe("nomatch");
    });

    it(`${label}: a candidate event becomes a violation whose remediation deletes exactly that object`, () => {
      const policy = compile(fixture(path));
      const [finding] = policy.evaluate(context("clean-bare-pods", pod("bare")));
      expect(finding?.effect).toBe("violation");
      expect(finding?.resource).toBe("Pod/default/bare");
      expect(finding?.message).toContain("Pod default/bare is due for deletion");
      expect(finding?.remediation).toEqual([{ action: "kubernetes.delete", params: { apiVersion: "v1", kind: "Pod", namespace: "default", name: "bare", uid: "uid-bare" } }]);
      expect(policy.evaluate(context("clean-bare-pods", pod("web", owned)))).toEqual([]);
      expect(policy.evaluate(context("clean-bare-pods", pod("web", owned)), { includePasses: true })[0]?.effect).toBe("pass");
      // Another policy's candidate, or another event type: nothing.
      expect(policy.evaluate(context("other-policy", pod("bare")))).toEqual([]);
      expect(policy.evaluate({ ...context("clean-bare-pods", pod("bare")), event: { specversion: "1.0", id: "e2", source: "s", type: "io.k8s.resource", data: {} } } as Context)).toEqual([]);
      expect(policy.indexKeys).toEqual([{ path: "input.policy", values: ["clean-bare-pods"] }]);
    });
  }

  it("loads through the Kyverno loader (no longer a load error)", () => {
    const loaded = compilePolicyDocuments([fixture("cleanup/cleanup-bare-pods/cleanup-bare-pods.yaml"), fixture("cleanup-dpol/cleanup-bare-pods/cleanup-bare-pods.yaml")], createCelEnvironment(), "f.yaml");
    expect(loaded.map((l) => [l.kind, l.error?.message, isCleanupPolicy(l.cleanup)])).toEqual([["ClusterCleanupPolicy", undefined, true], ["DeletingPolicy", undefined, true]]);
  });
});

describe("ClusterCleanupPolicy semantics", () => {
  const base = (spec: Record<string, unknown>, kind = "ClusterCleanupPolicy", metadata: Record<string, unknown> = {}) => ({ apiVersion: "kyverno.io/v2", kind, metadata: { name: "p", ...metadata }, spec: { schedule: "0 * * * *", ...spec } });

  it("exclude, namespaceSelector and context variables work as in validate rules", () => {
    const policy = compile(base({
      match: { any: [{ resources: { kinds: ["Deployment"], namespaceSelector: { matchLabels: { env: "test" } } } }] },
      exclude: { any: [{ resources: { names: ["keep-*"] } }] },
      context: [{ name: "replicas", variable: { jmesPath: "target.spec.replicas", default: 1 } }],
      conditions: { all: [{ key: "{{ replicas }}", operator: "LessThan", value: 2 }, { key: "{{ target.metadata.labels.canremove || '' }}", operator: "Equals", value: "true" }] },
    }));
    const deployment = (name: string, replicas: number, labels: Record<string, string>) => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace: "team-a", labels }, spec: { replicas } });
    const testNs = { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", labels: { env: "test" } } };
    const prodNs = { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", labels: { env: "prod" } } };
    expect(policy.select(deployment("a", 1, { canremove: "true" }), { now, namespaceObject: testNs }).status).toBe("delete");
    expect(policy.select(deployment("a", 3, { canremove: "true" }), { now, namespaceObject: testNs }).status).toBe("keep");
    expect(policy.select(deployment("a", 1, {}), { now, namespaceObject: testNs }).status).toBe("keep");
    expect(policy.select(deployment("a", 1, { canremove: "true" }), { now, namespaceObject: prodNs }).status).toBe("nomatch");
    expect(policy.select(deployment("keep-a", 1, { canremove: "true" }), { now, namespaceObject: testNs }).status).toBe("nomatch");
    expect(policy.targets).toEqual([{ kind: "Deployment" }]);
  });

  it("a namespaced CleanupPolicy only selects objects in its own namespace", () => {
    const policy = compile(base({ match: { any: [{ resources: { kinds: ["Pod"] } }] } }, "CleanupPolicy", { namespace: "ci" }));
    expect(policy.namespace).toBe("ci");
    expect(policy.select(pod("a", {}, "ci"), { now }).status).toBe("delete");
    expect(policy.select(pod("a", {}, "prod"), { now }).status).toBe("nomatch");
  });

  it("a context entry it cannot resolve is an error finding, never a deletion", () => {
    const policy = compile(base({ match: { any: [{ resources: { kinds: ["Pod"] } }] }, context: [{ name: "cm", configMap: { name: "settings", namespace: "default" } }], conditions: { all: [{ key: "{{ cm.data.enabled }}", operator: "Equals", value: "true" }] } }));
    const selection = policy.select(pod("a"), { now });
    expect(selection.status).toBe("error");
    expect(selection.message).toContain("cm");
    const [finding] = policy.evaluate(context("p", pod("a")));
    expect(finding?.effect).toBe("error");
    expect(finding?.remediation).toBeUndefined();
    // With a resolver the entry is read and decides.
    const resolved = policy.select(pod("a"), { now, resolver: () => ({ data: { enabled: "true" } }) });
    expect(resolved.status).toBe("delete");
  });

  it("rejects what it cannot run, naming the field", () => {
    expect(() => compile(base({ match: { any: [{ resources: { kinds: ["Pod"] } }] }, schedule: undefined }))).toThrow(/spec.schedule is missing/);
    expect(() => compile(base({ match: { any: [{ resources: { kinds: ["*"] } }] } }))).toThrow(/wildcard/);
    expect(() => compile(base({}))).toThrow(/spec.match is missing/);
    expect(() => compile(base({ match: { any: [{ resources: { kinds: ["Pod"] } }] }, schedule: "61 * * * *" }))).toThrow(/spec.schedule: minute field "61" is out of range 0-59/);
    expect(() => compile(base({ match: { any: [{ resources: { kinds: ["Pod"] } }] }, deletionPropagationPolicy: "Later" }))).toThrow(/Foreground, Background or Orphan/);
  });

  it("remediates by default; a policy that deletes Secrets (not restorable) asks a person for each deletion", () => {
    expect(compile(base({ match: { any: [{ resources: { kinds: ["Pod"] } }] } })).meta.enforcement).toEqual({ tier: "remediate" });
    expect(compile(base({ match: { any: [{ resources: { kinds: ["Secret"] } }] } })).meta.enforcement).toEqual({ tier: "approve", ceiling: "approve" });
  });

  it("deletionPropagationPolicy travels to the delete", () => {
    const policy = compile(base({ match: { any: [{ resources: { kinds: ["batch/v1/Job"] } }] }, deletionPropagationPolicy: "Foreground" }));
    const job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "j", namespace: "ci", uid: "u-j" } };
    expect(policy.targets).toEqual([{ kind: "batch/v1/Job" }]);
    const [finding] = policy.evaluate(context("p", job));
    expect(finding?.remediation?.[0]?.params).toEqual({ apiVersion: "batch/v1", kind: "Job", namespace: "ci", name: "j", uid: "u-j", propagationPolicy: "Foreground" });
  });
});

describe("DeletingPolicy semantics", () => {
  const base = (spec: Record<string, unknown>) => ({ apiVersion: "policies.kyverno.io/v1alpha1", kind: "DeletingPolicy", metadata: { name: "old-test-pods" }, spec: { schedule: "0 1 * * *", matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"], scope: "Namespaced" }], namespaceSelector: { matchLabels: { environment: "test" } } }, ...spec } });
  const testNs = { apiVersion: "v1", kind: "Namespace", metadata: { name: "default", labels: { environment: "test" } } };

  it("now() is the scheduled run: age conditions are deterministic", () => {
    const policy = compile(base({ conditions: [{ name: "isOld", expression: "now() - timestamp(object.metadata.creationTimestamp) > duration('72h')" }] }));
    // Created 2026-11-20: 7.4 days before the run.
    expect(policy.select(pod("old"), { now, namespaceObject: testNs }).status).toBe("delete");
    expect(policy.select(pod("new"), { now: new Date("2026-11-21T00:00:00Z"), namespaceObject: testNs }).status).toBe("keep");
    // The namespace selector: a namespace without the label does not match.
    expect(policy.select(pod("old"), { now, namespaceObject: { ...testNs, metadata: { name: "default", labels: {} } } }).status).toBe("nomatch");
    // The run time travels in the candidate event.
    const [finding] = policy.evaluate(context("old-test-pods", pod("old"), testNs));
    expect(finding?.effect).toBe("violation");
  });

  it("variables are visible to conditions, and an expression error is an error finding", () => {
    const policy = compile(base({ variables: [{ name: "ephemeral", expression: "object.metadata.?labels.?ephemeral.orValue('') == 'true'" }], conditions: [{ name: "isEphemeral", expression: "variables.ephemeral" }] }));
    expect(policy.select(pod("a", { labels: { ephemeral: "true" } }), { now, namespaceObject: testNs }).status).toBe("delete");
    expect(policy.select(pod("a"), { now, namespaceObject: testNs }).status).toBe("keep");
    const broken = compile(base({ conditions: [{ name: "bad", expression: "now() - object.metadata.creationTimestamp > duration('1h')" }] }));
    const selection = broken.select(pod("a"), { now, namespaceObject: testNs });
    expect(selection.status).toBe("error");
    expect(selection.message).toContain("condition bad");
  });

  it("rejects wildcards and a missing schedule, naming the field", () => {
    expect(() => compile({ ...base({}), spec: { ...base({}).spec, matchConstraints: { resourceRules: [{ apiGroups: ["*"], apiVersions: ["*"], resources: ["*"] }] } } })).toThrow(/resourceRules\[0\] has a wildcard/);
    expect(() => compile({ ...base({}), spec: { ...base({}).spec, schedule: "" } })).toThrow(/spec.schedule is missing/);
  });
});
