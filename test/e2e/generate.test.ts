/**
 * Kyverno generation in the cluster, run by the agent against a local stand-in for the Kubernetes
 * API server (discovery, GET, POST, DELETE with a uid precondition; bearer token):
 *
 * - the library's add-network-policy (a ClusterPolicy generate rule with data): an admitted review
 *   of a new Namespace is handed to the ingest loop as a dev.vigil.generate event (not decided
 *   inside the review); its decision plans a kubernetes.create of the NetworkPolicy, in dry-run while
 *   the policy is new; promoted, the next namespace gets its NetworkPolicy created, an existing one
 *   is left alone, and undo deletes what was created;
 * - synchronize: a deleted namespace takes its generated NetworkPolicy along; a deleted generated
 *   NetworkPolicy is re-created for its live namespace (found by the trigger-uid label), not once
 *   the namespace is gone, and a hand-written one is never touched; a modified one is reverted by a
 *   JSON Patch tested against its resourceVersion;
 * - a GeneratingPolicy generator.Apply, the same way.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../../src/agent.js";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../../src/context/kubernetes/api-test-server.js";
import { admissionReview, fixtures, settleIngest, startAdmissionAgent, startClusterAgent } from "./admission-support.js";

const TOKEN = "generate-token";
const approver = { id: "alice", roles: ["approver"] };
const operator = { id: "bob", roles: ["operator"] };


const namespaceReview = (name: string, uid: string) => admissionReview({ apiVersion: "v1", kind: "Namespace", metadata: { name } }, { uid, namespace: name });
const networkPolicyKey = (namespace: string) => `networking.k8s.io/v1 NetworkPolicy ${namespace}/default-deny`;

describe("generate in the cluster: the library's add-network-policy through the webhook, the ingest loop and kubernetes.create", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;

  beforeAll(async () => {
    api = await startFakeKubernetesApi({
      token: TOKEN,
      namespaces: [{ metadata: { name: "team-a" } }, { metadata: { name: "team-b" } }, { metadata: { name: "legacy" } }],
      configMaps: [],
      // legacy already has a NetworkPolicy of that name (someone wrote it by hand).
      objects: [{ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "default-deny", namespace: "legacy" }, spec: { podSelector: {}, policyTypes: ["Ingress"] } }],
    });
    running = await startClusterAgent([join(fixtures, "kyverno/best-practices/add-network-policy/add-network-policy.yaml")], api, TOKEN);
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
  });

  it("the review is answered at once; the trigger's decision plans the NetworkPolicy's creation in dry-run, nothing is written", async () => {
    const { agent, server } = running;
    const response = await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: namespaceReview("team-a", "ns-a") });
    expect(response.json().response.allowed).toBe(true);
    await settleIngest(agent);
    const trigger = (await agent.storage.listDecisions({ policy: "add-networkpolicy" })).find((d) => d.eventType === "dev.vigil.generate");
    expect(trigger?.findings.map((f) => [f.effect, f.resource, f.rule, f.message])).toEqual([["violation", "NetworkPolicy/team-a/default-deny", "default-deny", "default-deny: generate NetworkPolicy/team-a/default-deny"]]);
    const dryRuns = await agent.executor.listActions({ status: "dry-run" });
    expect(dryRuns.map((a) => [a.actuator, a.plan.target.id])).toEqual([["kubernetes.create", "NetworkPolicy/team-a/default-deny"]]);
    expect(dryRuns[0]?.plan.params["manifest"]).toMatchObject({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "default-deny", namespace: "team-a", labels: { "generate.kyverno.io/policy-name": "add-networkpolicy", "generate.kyverno.io/rule-name": "default-deny" } }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } });
    expect(api.writes.filter((w) => w.method === "POST")).toEqual([]);
  });

  it("a dry-run review and a review of another kind trigger nothing", async () => {
    const { agent, server } = running;
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-c" } }, { uid: "ns-dry", namespace: "team-c", dryRun: true }) });
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "team-a" }, spec: { containers: [{ name: "web", image: "nginx:1.27" }] } }, { uid: "pod-1" }) });
    await settleIngest(agent);
    expect((await agent.storage.listDecisions({ policy: "add-networkpolicy" })).filter((d) => d.eventType === "dev.vigil.generate")).toHaveLength(1);
  });

  it("promoted, the next namespace gets its NetworkPolicy created; an existing one is left as it is (no action); undo deletes what was created", async () => {
    const { agent, server } = running;
    await agent.promotePolicy("add-networkpolicy", approver, "reviewed the dry run");
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: namespaceReview("team-b", "ns-b") });
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: namespaceReview("legacy", "ns-legacy") });
    await settleIngest(agent);
    const posts = api.writes.filter((w) => w.method === "POST");
    expect(posts.map((w) => w.path)).toEqual(["/apis/networking.k8s.io/v1/namespaces/team-b/networkpolicies"]);
    const created = api.objects.get(networkPolicyKey("team-b"));
    expect(created).toMatchObject({ metadata: { labels: { "app.kubernetes.io/managed-by": "kyverno" } }, spec: { policyTypes: ["Ingress", "Egress"] } });
    // The hand-written one is unchanged.
    expect(api.objects.get(networkPolicyKey("legacy"))).toMatchObject({ spec: { policyTypes: ["Ingress"] } });
    const applied = await agent.executor.listActions({ status: "applied" });
    const byTarget = new Map(applied.map((a) => [a.plan.target.id, a]));
    // legacy's NetworkPolicy exists (read from the cluster while deciding): nothing to create, no action.
    expect([...byTarget.keys()]).toEqual(["NetworkPolicy/team-b/default-deny"]);
    const legacy = (await agent.storage.listDecisions({})).find((d) => d.eventId === "ns-legacy/generate");
    expect(legacy).toMatchObject({ eventType: "dev.vigil.generate", verdict: "allow" });
    expect(legacy?.findings.filter((f) => f.effect === "violation")).toEqual([]);
    const action = byTarget.get("NetworkPolicy/team-b/default-deny");
    expect(action?.result?.output).toMatchObject({ created: true });
    await agent.executor.undo(action?.id ?? "", operator);
    expect(api.objects.has(networkPolicyKey("team-b"))).toBe(false);
    expect(api.writes.filter((w) => w.method === "DELETE").map((w) => w.path)).toEqual(["/apis/networking.k8s.io/v1/namespaces/team-b/networkpolicies/default-deny"]);
  });
});

/** A DELETE review of a Namespace, as the API server sends it: the object in oldObject, object null. */
function namespaceDeletion(name: string, uid: string, objectUid?: string): Record<string, unknown> {
  const review = namespaceReview(name, uid) as { request: Record<string, unknown> };
  const object = review.request["object"] as Record<string, unknown>;
  const meta = { ...(object["metadata"] as Record<string, unknown>), ...(objectUid ? { uid: objectUid } : {}) };
  return { ...review, request: { ...review.request, operation: "DELETE", object: null, oldObject: { ...object, metadata: meta }, options: { apiVersion: "meta.k8s.io/v1", kind: "DeleteOptions" } } };
}

/** A DELETE review of an object as the API server sends it: the object in oldObject, object null. */
function deletion(object: Record<string, unknown>, uid: string): Record<string, unknown> {
  const meta = object["metadata"] as Record<string, unknown>;
  const review = admissionReview(object, { uid, namespace: String(meta["namespace"] ?? "") }) as { request: Record<string, unknown> };
  return { ...review, request: { ...review.request, operation: "DELETE", object: null, oldObject: object, options: { apiVersion: "meta.k8s.io/v1", kind: "DeleteOptions" } } };
}

describe("generate in the cluster: synchronize (the trigger deleted; the generated object deleted or modified)", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;

  beforeAll(async () => {
    api = await startFakeKubernetesApi({
      token: TOKEN,
      // team-e and team-f: the live Namespace's uid is the one its (validating) review carried, the generated object's trigger-uid label.
      namespaces: [{ metadata: { name: "team-d" } }, { metadata: { name: "team-e", uid: "ns-uid-team-e" } }, { metadata: { name: "team-f", uid: "ns-uid-team-f" } }, { metadata: { name: "legacy" } }],
      configMaps: [],
      objects: [{ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "default-deny", namespace: "legacy" }, spec: { podSelector: {}, policyTypes: ["Ingress"] } }],
    });
    running = await startClusterAgent([join(fixtures, "kyverno/best-practices/add-network-policy/add-network-policy.yaml")], api, TOKEN);
    await running.agent.promotePolicy("add-networkpolicy", approver, "reviewed");
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
  });

  it("deleting a namespace deletes the NetworkPolicy generated for it (synchronize: true); a hand-written one of that name is left alone", async () => {
    const { agent, server } = running;
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: namespaceReview("team-d", "ns-d") });
    await settleIngest(agent);
    expect(api.objects.has(networkPolicyKey("team-d"))).toBe(true);
    const deletion = await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: namespaceDeletion("team-d", "ns-d-delete") });
    expect(deletion.json().response.allowed).toBe(true);
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: namespaceDeletion("legacy", "ns-legacy-delete") });
    await settleIngest(agent);
    const decision = (await agent.storage.listDecisions({})).find((d) => d.eventId === "ns-d-delete/generate");
    expect(decision?.findings.map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "NetworkPolicy/team-d/default-deny", "default-deny: delete NetworkPolicy/team-d/default-deny: its trigger was deleted and the rule synchronizes"]]);
    expect(api.objects.has(networkPolicyKey("team-d"))).toBe(false);
    expect(api.writes.filter((w) => w.method === "DELETE").map((w) => w.path)).toEqual(["/apis/networking.k8s.io/v1/namespaces/team-d/networkpolicies/default-deny"]);
    // The hand-written NetworkPolicy carries no generate.kyverno.io labels of this policy: not deleted.
    expect(api.objects.has(networkPolicyKey("legacy"))).toBe(true);
  });

  it("a deleted generated NetworkPolicy is re-created for its live trigger (found by uid); one written by hand, or whose trigger is gone, is not", async () => {
    const { agent, server } = running;
    const created = admissionReview({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-e", uid: "ns-uid-team-e" } }, { uid: "ns-e", namespace: "team-e" });
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: created });
    await settleIngest(agent);
    const generated = api.objects.get(networkPolicyKey("team-e"));
    expect(generated?.["metadata"]).toMatchObject({ labels: { "generate.kyverno.io/trigger-uid": "ns-uid-team-e", "generate.kyverno.io/rule-name": "default-deny" } });

    // Someone deletes it: the API server asks the webhook, then deletes it.
    api.objects.delete(networkPolicyKey("team-e"));
    const review = await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: deletion(generated ?? {}, "np-e-delete") });
    expect(review.json().response.allowed).toBe(true);
    // The hand-written one carries no labels of this policy: no generate event at all.
    const legacy = api.objects.get(networkPolicyKey("legacy"));
    api.objects.delete(networkPolicyKey("legacy"));
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: deletion(legacy ?? {}, "np-legacy-delete") });
    await settleIngest(agent);
    const decisions = await agent.storage.listDecisions({});
    expect(decisions.find((d) => d.eventId === "np-e-delete/generate")?.findings.map((f) => [f.effect, f.resource, f.message])).toEqual([
      ["violation", "NetworkPolicy/team-e/default-deny", "default-deny: re-create NetworkPolicy/team-e/default-deny: it was deleted, and the rule synchronizes it for its trigger Namespace team-e"],
    ]);
    expect(decisions.some((d) => d.eventId === "np-legacy-delete/generate")).toBe(false);
    expect(api.objects.get(networkPolicyKey("team-e"))?.["metadata"]).toMatchObject({ labels: { "generate.kyverno.io/trigger-uid": "ns-uid-team-e" } });
    expect(api.objects.has(networkPolicyKey("legacy"))).toBe(false);
    const teamE = () => api.writes.filter((w) => w.method === "POST" && w.path.includes("/namespaces/team-e/"));
    expect(teamE().map((w) => w.path)).toEqual([
      "/apis/networking.k8s.io/v1/namespaces/team-e/networkpolicies",
      "/apis/networking.k8s.io/v1/namespaces/team-e/networkpolicies",
    ]);

    // The trigger is gone (its NetworkPolicy deleted after it): nothing to re-create.
    const again = api.objects.get(networkPolicyKey("team-e"));
    api.remove("namespaces", "team-e");
    api.objects.delete(networkPolicyKey("team-e"));
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: deletion(again ?? {}, "np-e-delete-2") });
    await settleIngest(agent);
    const last = (await agent.storage.listDecisions({})).find((d) => d.eventId === "np-e-delete-2/generate");
    expect(last?.findings.filter((f) => f.effect !== "pass")).toEqual([]);
    expect(teamE()).toHaveLength(2);
    expect(api.objects.has(networkPolicyKey("team-e"))).toBe(false);
  });
  it("a modified generated NetworkPolicy is reverted with a kubernetes.patch tested against the version read; the revert's own update plans nothing", async () => {
    const { agent, server } = running;
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-f", uid: "ns-uid-team-f" } }, { uid: "ns-f", namespace: "team-f" }) });
    await settleIngest(agent);
    const generated = api.objects.get(networkPolicyKey("team-f")) as Record<string, unknown>;
    expect(generated["spec"]).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });

    // Someone lets egress through: the webhook sees the UPDATE, the API server stores it (here first:
    // the ingest loop may decide before the test goes on), and the agent decides after.
    const meta = generated["metadata"] as Record<string, unknown>;
    const modified = { ...generated, metadata: { ...meta, resourceVersion: "2" }, spec: { podSelector: {}, policyTypes: ["Ingress"] } };
    api.objects.set(networkPolicyKey("team-f"), modified);
    const update = admissionReview(modified, { uid: "np-f-update", namespace: "team-f", operation: "UPDATE" }) as { request: Record<string, unknown> };
    const review = await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: { ...update, request: { ...update.request, oldObject: generated } } });
    expect(review.json().response.allowed).toBe(true);
    await settleIngest(agent);
    const decision = (await agent.storage.listDecisions({})).find((d) => d.eventId === "np-f-update/generate");
    expect(decision?.findings.map((f) => [f.effect, f.resource, f.message])).toEqual([
      ["violation", "NetworkPolicy/team-f/default-deny", "default-deny: revert NetworkPolicy/team-f/default-deny: it was modified, and the rule synchronizes it for its trigger Namespace team-f (1 change)"],
    ]);
    const patches = api.writes.filter((w) => w.method === "PATCH");
    expect(patches.map((w) => w.path)).toEqual(["/apis/networking.k8s.io/v1/namespaces/team-f/networkpolicies/default-deny"]);
    expect(patches[0]?.body).toEqual([{ op: "test", path: "/metadata/resourceVersion", value: "2" }, { op: "add", path: "/spec/policyTypes/-", value: "Egress" }]);
    const reverted = api.objects.get(networkPolicyKey("team-f")) as Record<string, unknown>;
    expect(reverted["spec"]).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });

    // The revert's own update comes back through the webhook: it matches, nothing more.
    const echo = admissionReview(reverted, { uid: "np-f-revert", namespace: "team-f", operation: "UPDATE" }) as { request: Record<string, unknown> };
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: { ...echo, request: { ...echo.request, oldObject: modified } } });
    await settleIngest(agent);
    const after = (await agent.storage.listDecisions({})).find((d) => d.eventId === "np-f-revert/generate");
    expect(after?.findings.filter((f) => f.effect !== "pass")).toEqual([]);
    expect(api.writes.filter((w) => w.method === "PATCH")).toHaveLength(1);
  });
});

describe("generate in the cluster: synchronize, the policy changed", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;
  const dir = mkdtempSync(join(tmpdir(), "vigil-sync-policy-"));
  // What the previous revision of add-network-policy generated (Ingress and Egress), with its labels.
  const labels = {
    "app.kubernetes.io/managed-by": "kyverno", "generate.kyverno.io/policy-name": "add-networkpolicy", "generate.kyverno.io/policy-namespace": "", "generate.kyverno.io/rule-name": "default-deny",
    "generate.kyverno.io/trigger-group": "", "generate.kyverno.io/trigger-version": "v1", "generate.kyverno.io/trigger-kind": "Namespace", "generate.kyverno.io/trigger-namespace": "", "generate.kyverno.io/trigger-uid": "ns-uid-team-g",
  };
  const older = { podSelector: {}, policyTypes: ["Ingress", "Egress"] };

  beforeAll(async () => {
    // The new revision denies ingress only.
    writeFileSync(join(dir, "add-network-policy.yaml"), readFileSync(join(fixtures, "kyverno/best-practices/add-network-policy/add-network-policy.yaml"), "utf8").replace(/\n {10}- Egress\s*$/, "\n"));
    api = await startFakeKubernetesApi({
      token: TOKEN,
      namespaces: [{ metadata: { name: "team-g", uid: "ns-uid-team-g" } }, { metadata: { name: "legacy" } }],
      configMaps: [],
      objects: [
        { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "default-deny", namespace: "team-g", labels }, spec: older },
        { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "default-deny", namespace: "legacy" }, spec: older },
      ],
    });
    running = await startClusterAgent([join(dir, "add-network-policy.yaml")], api, TOKEN);
    await running.agent.promotePolicy("add-networkpolicy", approver, "reviewed");
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the objects the previous revision generated are brought to what the new one generates, once per revision; others are not listed", async () => {
    const { agent } = running;
    expect(readFileSync(join(dir, "add-network-policy.yaml"), "utf8")).not.toContain("Egress");
    await agent.tick();
    await settleIngest(agent);
    // Listed by the policy's label, not every NetworkPolicy of the cluster.
    expect(api.requests.some((r) => r.path.startsWith("/apis/networking.k8s.io/v1/networkpolicies?") && r.path.includes(encodeURIComponent("generate.kyverno.io/policy-name=add-networkpolicy")))).toBe(true);
    const decisions = (await agent.storage.listDecisions({ policy: "add-networkpolicy" })).filter((d) => d.eventType === "dev.vigil.generate");
    expect(decisions.flatMap((d) => d.findings.map((f) => [f.effect, f.resource, f.message]))).toEqual([
      ["violation", "NetworkPolicy/team-g/default-deny", "default-deny: revert NetworkPolicy/team-g/default-deny: it was modified, and the rule synchronizes it for its trigger Namespace team-g (1 change)"],
    ]);
    expect(api.objects.get(networkPolicyKey("team-g"))?.["spec"]).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
    expect(api.objects.get(networkPolicyKey("legacy"))?.["spec"]).toEqual(older);
    expect(api.writes.filter((w) => w.method === "PATCH").map((w) => w.path)).toEqual(["/apis/networking.k8s.io/v1/namespaces/team-g/networkpolicies/default-deny"]);
    // Once per revision.
    await agent.tick();
    await settleIngest(agent);
    expect((await agent.storage.listDecisions({ policy: "add-networkpolicy" })).filter((d) => d.eventType === "dev.vigil.generate")).toHaveLength(decisions.length);
  });
});

describe("generate in the cluster: the library's sync-secrets (a cloned Secret)", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;
  const secretData = "eyJhdXRocyI6eyJyZWdpc3RyeS5leGFtcGxlLmNvbSI6eyJhdXRoIjoiYzJWamNtVjAifX19";

  beforeAll(async () => {
    api = await startFakeKubernetesApi({
      token: TOKEN,
      namespaces: [{ metadata: { name: "team-s", uid: "ns-uid-team-s" } }, { metadata: { name: "default" } }],
      configMaps: [],
      objects: [{ apiVersion: "v1", kind: "Secret", type: "kubernetes.io/dockerconfigjson", metadata: { name: "regcred", namespace: "default" }, data: { ".dockerconfigjson": secretData } }],
    });
    running = await startClusterAgent([join(fixtures, "kyverno/other/sync-secrets/sync-secrets.yaml")], api, TOKEN);
    await running.agent.promotePolicy("sync-secrets", approver, "reviewed");
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
  });

  it("a new namespace gets a copy of the Secret, made from the live source when the action applies; its data is nowhere in the record", async () => {
    const { agent, server } = running;
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-s", uid: "ns-uid-team-s" } }, { uid: "ns-s", namespace: "team-s" }) });
    await settleIngest(agent);
    const copy = api.objects.get("v1 Secret team-s/regcred");
    expect(copy).toMatchObject({ type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": secretData }, metadata: { labels: { "generate.kyverno.io/policy-name": "sync-secrets", "generate.kyverno.io/source-name": "regcred", "generate.kyverno.io/trigger-uid": "ns-uid-team-s" } } });
    const post = api.writes.find((w) => w.method === "POST");
    expect(post?.path).toBe("/api/v1/namespaces/team-s/secrets");
    // Neither the decision nor the action holds the data.
    const decisions = await agent.storage.listDecisions({ policy: "sync-secrets" });
    expect(decisions.map((d) => d.findings.map((f) => f.message))).toEqual([["sync-image-pull-secret: generate Secret/team-s/regcred (a copy of Secret/default/regcred, read when it applies)"]]);
    const actions = await agent.executor.listActions({});
    expect(actions.map((a) => [a.actuator, a.status, a.plan.target.id])).toEqual([["kubernetes.create", "applied", "Secret/team-s/regcred"]]);
    expect(JSON.stringify([decisions, actions])).not.toContain(secretData);
    // Undo deletes the copy.
    await agent.executor.undo(actions[0]?.id ?? "", operator);
    expect(api.objects.has("v1 Secret team-s/regcred")).toBe(false);
  });

  it("synchronize: a changed source's new data reaches the copy, a tampered copy gets the source's data back; by kubernetes.patch copyFrom, with no data in the record", async () => {
    const { agent, server } = running;
    const secretKey = (namespace: string) => `v1 Secret ${namespace}/regcred`;
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-s", uid: "ns-uid-team-s" } }, { uid: "ns-s-again", namespace: "team-s" }) });
    await settleIngest(agent);
    expect(api.objects.get(secretKey("team-s"))?.["data"]).toEqual({ ".dockerconfigjson": secretData });

    // The registry credentials are rotated: the API server stores the source, the webhook sees the UPDATE.
    const rotated = "eyJhdXRocyI6eyJyZWdpc3RyeS5leGFtcGxlLmNvbSI6eyJhdXRoIjoiYm1WM0xYQmhjM009In19fQ==";
    const before = api.objects.get(secretKey("default")) as Record<string, unknown>;
    const after = { ...before, metadata: { ...(before["metadata"] as Record<string, unknown>), resourceVersion: "2" }, data: { ".dockerconfigjson": rotated } };
    api.objects.set(secretKey("default"), after);
    const update = admissionReview(after, { uid: "secret-rotated", namespace: "default", operation: "UPDATE" }) as { request: Record<string, unknown> };
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: { ...update, request: { ...update.request, oldObject: before } } });
    await settleIngest(agent);
    expect(api.objects.get(secretKey("team-s"))?.["data"]).toEqual({ ".dockerconfigjson": rotated });
    const patches = api.writes.filter((w) => w.method === "PATCH");
    expect(patches.map((w) => w.path)).toEqual(["/api/v1/namespaces/team-s/secrets/regcred"]);
    const synced = (await agent.storage.listDecisions({})).find((d) => d.eventId === "secret-rotated/generate");
    expect(synced?.findings.map((f) => [f.effect, f.resource, f.message])).toEqual([
      ["violation", "Secret/team-s/regcred", "sync-image-pull-secret: revert Secret/team-s/regcred: its clone source Secret/default/regcred was modified, and the rule synchronizes it for its trigger Namespace team-s (its content differs from Secret/default/regcred's, copied again when the patch applies (values not shown))"],
    ]);

    // Someone edits the copy: it gets the source's data back.
    const copy = api.objects.get(secretKey("team-s")) as Record<string, unknown>;
    const tampered = { ...copy, metadata: { ...(copy["metadata"] as Record<string, unknown>), resourceVersion: "7" }, data: { ".dockerconfigjson": "dGFtcGVyZWQ=" } };
    api.objects.set(secretKey("team-s"), tampered);
    const edit = admissionReview(tampered, { uid: "copy-edited", namespace: "team-s", operation: "UPDATE" }) as { request: Record<string, unknown> };
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: { ...edit, request: { ...edit.request, oldObject: copy } } });
    await settleIngest(agent);
    expect(api.objects.get(secretKey("team-s"))?.["data"]).toEqual({ ".dockerconfigjson": rotated });
    const revert = api.writes.filter((w) => w.method === "PATCH")[1];
    expect(revert?.body).toEqual([{ op: "test", path: "/metadata/resourceVersion", value: "7" }, { op: "replace", path: "/data", value: { ".dockerconfigjson": rotated } }]);

    // The actions name the source; their plans and results hold no data. The generate events and
    // their decisions hold the reviews without the Secrets' values. (The reviews' own decisions carry
    // them: mask /input/request/object/data and oldObject/data in the decision record, docs/admission.md.)
    const patched = (await agent.executor.listActions({})).filter((a) => a.actuator === "kubernetes.patch");
    expect(patched.map((a) => [a.status, a.plan.target.id, a.plan.params["copyFrom"]])).toEqual([
      ["applied", "Secret/team-s/regcred", { namespace: "default", name: "regcred", uid: expect.any(String) }],
      ["applied", "Secret/team-s/regcred", { namespace: "default", name: "regcred", uid: expect.any(String) }],
    ]);
    expect(JSON.stringify(patched)).not.toMatch(new RegExp(`${rotated}|${secretData}|dGFtcGVyZWQ=`));
    const generateDecisions = (await agent.storage.listDecisions({})).filter((d) => d.eventId === "secret-rotated/generate" || d.eventId === "copy-edited/generate");
    expect(generateDecisions).toHaveLength(2);
    expect(JSON.stringify(generateDecisions)).not.toMatch(new RegExp(`${rotated}|${secretData}|dGFtcGVyZWQ=`));
    const generateEvents = await agent.storage.listEvents({ type: "dev.vigil.generate" });
    expect(generateEvents.map((e) => e.event.id)).toEqual(expect.arrayContaining(["secret-rotated/generate", "copy-edited/generate"]));
    expect(JSON.stringify(generateEvents)).not.toMatch(new RegExp(`${rotated}|${secretData}|dGFtcGVyZWQ=`));
  });

  it("synchronize: a deleted source takes its copies along (kubernetes.delete with the copy's uid as precondition)", async () => {
    const { agent, server } = running;
    const source = api.objects.get("v1 Secret default/regcred") as Record<string, unknown>;
    expect(api.objects.has("v1 Secret team-s/regcred")).toBe(true);
    api.objects.delete("v1 Secret default/regcred");
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: deletion(source, "secret-deleted") });
    await settleIngest(agent);
    const decision = (await agent.storage.listDecisions({})).find((d) => d.eventId === "secret-deleted/generate");
    expect(decision?.findings.map((f) => [f.effect, f.resource, f.message])).toEqual([
      ["violation", "Secret/team-s/regcred", "sync-image-pull-secret: delete Secret/team-s/regcred: its clone source Secret/default/regcred was deleted and the rule synchronizes"],
    ]);
    expect(api.objects.has("v1 Secret team-s/regcred")).toBe(false);
    expect(api.writes.filter((w) => w.method === "DELETE").at(-1)).toMatchObject({ path: "/api/v1/namespaces/team-s/secrets/regcred", body: { preconditions: { uid: expect.any(String) } } });
  });
});

/** A GeneratingPolicy `default-deny`: a NetworkPolicy with these policyTypes (a CEL list) in every new namespace. */
const defaultDenyGpol = (policyTypes: string, synchronize: boolean): string => `apiVersion: policies.kyverno.io/v1
kind: GeneratingPolicy
metadata:
  name: default-deny
spec:
${synchronize ? "  evaluation:\n    synchronize:\n      enabled: true\n" : ""}  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [namespaces]
  generate:
  - expression: >-
      generator.Apply(object.metadata.name, [{
        "kind": dyn("NetworkPolicy"),
        "apiVersion": dyn("networking.k8s.io/v1"),
        "metadata": dyn({"name": "default-deny"}),
        "spec": dyn({"podSelector": dyn({}), "policyTypes": dyn(${policyTypes})})
      }])
`;

describe("generate in the cluster: a GeneratingPolicy (generator.Apply)", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;
  const dir = mkdtempSync(join(tmpdir(), "vigil-gpol-"));

  beforeAll(async () => {
    writeFileSync(join(dir, "gpol.yaml"), defaultDenyGpol(`["Ingress"]`, false));
    api = await startFakeKubernetesApi({ token: TOKEN, namespaces: [{ metadata: { name: "shop" } }], configMaps: [], objects: [] });
    running = await startClusterAgent([join(dir, "gpol.yaml")], api, TOKEN);
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("promoted, an admitted namespace gets the generated object created, labelled with its policy and trigger", async () => {
    const { agent, server } = running;
    await agent.promotePolicy("default-deny", approver, "reviewed");
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: namespaceReview("shop", "ns-shop") });
    await settleIngest(agent);
    const trigger = (await agent.storage.listDecisions({ policy: "default-deny" })).find((d) => d.eventType === "dev.vigil.generate");
    expect(trigger?.findings.map((f) => [f.effect, f.resource, f.rule])).toEqual([["violation", "NetworkPolicy/shop/default-deny", "default-deny"]]);
    expect(api.writes.filter((w) => w.method === "POST").map((w) => w.path)).toEqual(["/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies"]);
    expect(api.objects.get(networkPolicyKey("shop"))).toMatchObject({ metadata: { name: "default-deny", namespace: "shop", labels: { "app.kubernetes.io/managed-by": "kyverno", "generate.kyverno.io/policy-name": "default-deny", "generate.kyverno.io/trigger-kind": "Namespace" } }, spec: { policyTypes: ["Ingress"] } });
  });
});

describe("generate in the cluster: a GeneratingPolicy with synchronize, the policy changed", () => {
  let api: FakeKubernetesApi;
  const dir = mkdtempSync(join(tmpdir(), "vigil-gpol-sync-"));
  const store = { store: { path: join(dir, "vigil.db") } };

  beforeAll(async () => {
    api = await startFakeKubernetesApi({ token: TOKEN, namespaces: [{ metadata: { name: "shop", uid: "ns-uid-shop" } }], configMaps: [], objects: [] });
  });
  afterAll(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a new revision brings the objects its earlier one created (their kinds from the policy's applied creates) to what it generates, once", async () => {
    // The first revision creates the NetworkPolicy of a new namespace.
    writeFileSync(join(dir, "gpol.yaml"), defaultDenyGpol(`["Ingress", "Egress"]`, true));
    const first = await startClusterAgent([join(dir, "gpol.yaml")], api, TOKEN, store);
    try {
      await first.agent.promotePolicy("default-deny", approver, "reviewed");
      await first.agent.tick();
      await first.server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop", uid: "ns-uid-shop" } }, { uid: "ns-shop", namespace: "shop" }) });
      await settleIngest(first.agent);
      expect(api.objects.get(networkPolicyKey("shop"))?.["spec"]).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    } finally {
      await first.close();
    }
    // The policy changes (ingress only); the agent starts again on the same store.
    writeFileSync(join(dir, "gpol.yaml"), defaultDenyGpol(`["Ingress"]`, true));
    const second = await startClusterAgent([join(dir, "gpol.yaml")], api, TOKEN, store);
    try {
      await second.agent.tick();
      await settleIngest(second.agent);
      expect(api.requests.some((r) => r.path.startsWith("/apis/networking.k8s.io/v1/networkpolicies?") && r.path.includes(encodeURIComponent("generate.kyverno.io/policy-name=default-deny")))).toBe(true);
      expect(api.objects.get(networkPolicyKey("shop"))?.["spec"]).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
      const patches = api.writes.filter((w) => w.method === "PATCH");
      expect(patches.map((w) => w.path)).toEqual(["/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/default-deny"]);
      const reverted = (await second.agent.executor.listActions({ status: "applied" })).filter((a) => a.actuator === "kubernetes.patch");
      expect(reverted.map((a) => a.plan.target.id)).toEqual(["NetworkPolicy/shop/default-deny"]);
      // Once per revision.
      await second.agent.tick();
      await settleIngest(second.agent);
      expect(api.writes.filter((w) => w.method === "PATCH")).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});

describe("generate in the cluster: generateExisting (the library's generate-networkpolicy-existing)", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;

  beforeAll(async () => {
    api = await startFakeKubernetesApi({ token: TOKEN, namespaces: [{ metadata: { name: "alpha" } }, { metadata: { name: "beta" } }], configMaps: [], objects: [] });
    running = await startClusterAgent([join(fixtures, "kyverno/other/generate-networkpolicy-existing/generate-networkpolicy-existing.yaml")], api, TOKEN);
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
  });

  it("the existing namespaces trigger the policy once per revision; each trigger plans its NetworkPolicy's creation", async () => {
    const { agent } = running;
    await agent.tick();
    await settleIngest(agent);
    const triggers = (await agent.storage.listDecisions({ policy: "generate-networkpolicy-existing" })).filter((d) => d.eventType === "dev.vigil.generate");
    expect(triggers.map((d) => d.subject).sort()).toEqual(["alpha", "beta"]);
    const planned = await agent.executor.listActions({ status: "dry-run" });
    expect(planned.map((a) => [a.actuator, a.plan.target.id]).sort()).toEqual([["kubernetes.create", "NetworkPolicy/alpha/default-deny"], ["kubernetes.create", "NetworkPolicy/beta/default-deny"]]);
    // Once per revision: the next tick triggers nothing.
    await agent.tick();
    await settleIngest(agent);
    expect((await agent.storage.listDecisions({ policy: "generate-networkpolicy-existing" })).length).toBe(2);
    expect(api.writes.filter((w) => w.method === "POST")).toEqual([]);
  });
});
