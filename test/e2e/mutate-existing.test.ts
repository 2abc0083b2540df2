/**
 * Kyverno mutate-existing rules (`mutate.targets`) run by the agent against a local stand-in for
 * the Kubernetes API server (LIST, GET, JSON Patch with a resourceVersion test; bearer token):
 *
 * - the library's concatenate-configmaps: an admitted review of ConfigMap foo/cmone is handed to
 *   the ingest loop (not decided inside the review), its decision plans a kubernetes.patch of
 *   bar/cmtwo — in dry-run while the policy is new; once promoted, the next trigger patches cmtwo
 *   for real, and undo restores it;
 * - the library's label-existing-namespaces (mutateExistingOnPolicyUpdate): on the scheduler tick
 *   the existing namespaces trigger it once per policy revision;
 * - the library's MutatingPolicy label-existing-namespaces (evaluation.mutateExisting): an
 *   admitted review of one namespace plans the label's patch of every existing namespace that
 *   lacks it; promoted, a trigger patches them.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../../src/agent.js";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../../src/context/kubernetes/api-test-server.js";
import type { VigilServer } from "../../src/server/app.js";
import { admissionReview, fixtures, settleIngest, startAdmissionAgent, startClusterAgent } from "./admission-support.js";

const TOKEN = "mutate-existing-token";
const approver = { id: "alice", roles: ["approver"] };
const operator = { id: "bob", roles: ["operator"] };


describe("mutate existing: concatenate-configmaps through the webhook, the ingest loop and kubernetes.patch", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;
  let agent: Agent;
  let server: VigilServer;

  beforeAll(async () => {
    api = await startFakeKubernetesApi({
      token: TOKEN,
      namespaces: [{ metadata: { name: "foo" } }, { metadata: { name: "bar" } }],
      configMaps: [{ metadata: { name: "cmtwo", namespace: "bar" }, data: { keytwo: "bananas" } }],
      objects: [],
    });
    running = await startClusterAgent([join(fixtures, "kyverno/other/concatenate-configmaps/concatenate-configmaps.yaml")], api, TOKEN);
    ({ agent, server } = running);
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
  });

  const cmone = (keyone: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cmone", namespace: "foo" }, data: { keyone } });
  const cmtwo = () => api.configMapData("bar", "cmtwo");

  it("the review is answered at once; the trigger's decision plans the patch of cmtwo in dry-run", async () => {
    const response = await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview(cmone("apples"), { uid: "review-1" }) });
    expect(response.json().response.allowed).toBe(true);
    await settleIngest(agent);
    const decisions = await agent.storage.listDecisions({ policy: "concatenate-configmaps" });
    const trigger = decisions.find((d) => d.eventType === "dev.vigil.mutate.existing");
    expect(trigger?.findings[0]).toMatchObject({ effect: "violation", resource: "ConfigMap/bar/cmtwo" });
    const dryRuns = await agent.executor.listActions({ status: "dry-run" });
    expect(dryRuns).toHaveLength(1);
    expect(dryRuns[0]).toMatchObject({ actuator: "kubernetes.patch", plan: { target: { id: "ConfigMap/bar/cmtwo" }, params: { kind: "ConfigMap", namespace: "bar", name: "cmtwo" } } });
    expect(cmtwo()).toEqual({ keytwo: "bananas" });
    expect(api.writes.filter((w) => w.method === "PATCH")).toEqual([]);
  });

  it("a dry-run review triggers nothing", async () => {
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview(cmone("pears"), { uid: "review-dry", dryRun: true }) });
    await settleIngest(agent);
    expect((await agent.storage.listDecisions({ policy: "concatenate-configmaps" })).filter((d) => d.eventType === "dev.vigil.mutate.existing")).toHaveLength(1);
  });

  it("promoted, the next trigger patches cmtwo ({{ @ }} plus the trigger's data) with a resourceVersion test; undo restores it", async () => {
    await agent.promotePolicy("concatenate-configmaps", approver, "reviewed the dry runs");
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview(cmone("cherries"), { uid: "review-2", operation: "UPDATE" }) });
    await settleIngest(agent);
    expect(cmtwo()).toEqual({ keytwo: "bananas plus cherries" });
    const patch = api.writes.filter((w) => w.method === "PATCH");
    expect(patch).toHaveLength(1);
    expect(patch[0]?.path).toBe("/api/v1/namespaces/bar/configmaps/cmtwo");
    expect((patch[0]?.body as { op: string; path: string }[])[0]).toMatchObject({ op: "test", path: "/metadata/resourceVersion" });
    const [applied] = await agent.executor.listActions({ status: "applied" });
    expect(applied).toBeDefined();
    await agent.executor.undo(applied!.id, operator, "cmtwo is owned by another team");
    expect(cmtwo()).toEqual({ keytwo: "bananas" });
  });
});

describe("mutate existing on policy update: label-existing-namespaces", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;
  let agent: Agent;

  beforeAll(async () => {
    api = await startFakeKubernetesApi({ token: TOKEN, namespaces: [{ metadata: { name: "a" } }, { metadata: { name: "b", labels: { mykey: "myvalue" } } }], objects: [] });
    running = await startClusterAgent([join(fixtures, "kyverno/other/label-existing-namespaces/label-existing-namespaces.yaml")], api, TOKEN);
    agent = running.agent;
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
  });

  it("the existing namespaces trigger the policy once per revision; each trigger plans the patch of the unlabelled namespace", async () => {
    await agent.tick();
    await settleIngest(agent);
    const triggers = (await agent.storage.listDecisions({ policy: "label-existing-namespaces" })).filter((d) => d.eventType === "dev.vigil.mutate.existing");
    expect(triggers.map((d) => d.subject).sort()).toEqual(["a", "b"]);
    const planned = await agent.executor.listActions({ status: "dry-run" });
    expect(planned.map((a) => a.plan.target.id)).toEqual(["Namespace/a", "Namespace/a"]);
    // Once per revision: the next tick triggers nothing.
    await agent.tick();
    await settleIngest(agent);
    expect((await agent.storage.listDecisions({ policy: "label-existing-namespaces" })).length).toBe(2);
  });
});

describe("mutate existing: the protection guardrail judges the patched target, not the trigger", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;

  beforeAll(async () => {
    api = await startFakeKubernetesApi({
      token: TOKEN,
      namespaces: [{ metadata: { name: "foo" } }, { metadata: { name: "bar" } }],
      // The target carries the organisation's own protection label (act.protected), not Vigil's default one.
      configMaps: [{ metadata: { name: "cmtwo", namespace: "bar", labels: { "owner-team": "platform" } }, data: { keytwo: "bananas" } }],
      objects: [],
    });
    running = await startClusterAgent([join(fixtures, "kyverno/other/concatenate-configmaps/concatenate-configmaps.yaml")], api, TOKEN, { act: { protected: { labels: { "owner-team": "platform" } } } });
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
  });

  it("a target labelled as act.protected names is never patched, even once the policy is promoted; the blocked action says why", async () => {
    const { agent, server } = running;
    await agent.promotePolicy("concatenate-configmaps", approver, "reviewed");
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cmone", namespace: "foo" }, data: { keyone: "apples" } }, { uid: "review-protected" }) });
    await settleIngest(agent);
    const blocked = await agent.executor.listActions({ status: "blocked" });
    expect(blocked.map((a) => [a.plan.target.id, a.plan.reason])).toEqual([["ConfigMap/bar/cmtwo", "target ConfigMap/bar/cmtwo is protected (label owner-team=platform): never acted on"]]);
    expect(api.writes.filter((w) => w.method === "PATCH")).toEqual([]);
    expect(api.configMapData("bar", "cmtwo")).toEqual({ keytwo: "bananas" });
  });
});

describe("mutate existing: a MutatingPolicy with evaluation.mutateExisting (the library's label-existing-namespaces)", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;

  beforeAll(async () => {
    api = await startFakeKubernetesApi({
      token: TOKEN,
      // As the policy's chainsaw test: one namespace unlabelled, one with another mykey, one with another label.
      namespaces: [{ metadata: { name: "label-namespace01" } }, { metadata: { name: "label-namespace02", labels: { mykey: "foo" } } }, { metadata: { name: "label-namespace03", labels: { foo: "bar" } } }, { metadata: { name: "done", labels: { mykey: "myvalue" } } }],
      configMaps: [],
      objects: [],
    });
    running = await startClusterAgent([join(fixtures, "kyverno/other-mpol/label-existing-namespaces/label-existing-namespaces.yaml")], api, TOKEN);
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
  });

  const namespaceReview = (uid: string) => admissionReview({ apiVersion: "v1", kind: "Namespace", metadata: { name: "label-namespace01", annotations: { trigger: "true" } } }, { uid, operation: "UPDATE" });

  it("the policy is not installed-time work: a tick triggers nothing", async () => {
    await running.agent.tick();
    await settleIngest(running.agent);
    expect(await running.agent.storage.listDecisions({ policy: "label-existing-namespaces" })).toEqual([]);
  });

  it("an admitted review of one namespace plans the label on every existing namespace lacking it, in dry-run", async () => {
    const { agent, server } = running;
    const response = await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: namespaceReview("ns-review-1") });
    expect(response.json().response.allowed).toBe(true);
    await settleIngest(agent);
    const trigger = (await agent.storage.listDecisions({ policy: "label-existing-namespaces" })).find((d) => d.eventType === "dev.vigil.mutate.existing");
    expect(trigger?.findings.map((f) => [f.effect, f.resource, f.rule])).toEqual([
      ["violation", "Namespace/label-namespace01", "label-existing-namespaces"],
      ["violation", "Namespace/label-namespace02", "label-existing-namespaces"],
      ["violation", "Namespace/label-namespace03", "label-existing-namespaces"],
    ]);
    const planned = await agent.executor.listActions({ status: "dry-run" });
    expect(planned.map((a) => a.plan.target.id).sort()).toEqual(["Namespace/label-namespace01", "Namespace/label-namespace02", "Namespace/label-namespace03"]);
    expect(api.writes.filter((w) => w.method === "PATCH")).toEqual([]);
  });

  it("promoted, the next trigger patches each of them with the label; the namespace already labelled is left alone", async () => {
    const { agent, server } = running;
    await agent.promotePolicy("label-existing-namespaces", approver, "reviewed the dry runs");
    await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: namespaceReview("ns-review-2") });
    await settleIngest(agent);
    const patched = api.writes.filter((w) => w.method === "PATCH").map((w) => w.path).sort();
    expect(patched).toEqual(["/api/v1/namespaces/label-namespace01", "/api/v1/namespaces/label-namespace02", "/api/v1/namespaces/label-namespace03"]);
    const list = await fetch(`${api.url}/api/v1/namespaces`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.json()) as { items: { metadata: { name: string; labels?: Record<string, string> } }[] };
    expect(Object.fromEntries(list.items.map((n) => [n.metadata.name, n.metadata.labels?.["mykey"]]))).toEqual({ "label-namespace01": "myvalue", "label-namespace02": "myvalue", "label-namespace03": "myvalue", done: "myvalue" });
    expect(list.items.find((n) => n.metadata.name === "label-namespace03")?.metadata.labels).toEqual({ foo: "bar", mykey: "myvalue" });
  });
});
