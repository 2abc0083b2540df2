/**
 * Kyverno cleanup policies run by the agent: the library's cleanup-bare-pods ClusterCleanupPolicy
 * (every 5 minutes, pods without owners) against a local stand-in for the Kubernetes API server
 * (discovery, paged LIST, DELETE with DeleteOptions, POST; bearer token), on a manual clock.
 * Scheduled run → candidate event → decision with explanation → kubernetes.delete in dry-run
 * (the policy is new) → promoted → the next run deletes the pod for real (uid precondition) →
 * undo re-creates it. A pod with an owner is never a candidate.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent, createManualClock, type Agent, type ManualClock } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../../src/context/kubernetes/api-test-server.js";
import { CLEANUP_EVENT_TYPE } from "../../src/policy/kyverno/cleanup-policy.js";
import { tempDir as cliTempDir, vigil } from "../cli/support.js";
import { fixtures, tempDir } from "./admission-support.js";

const TOKEN = "vigil-cleanup-token";
const approver = { id: "alice", roles: ["approver"] };
const operator = { id: "bob", roles: ["operator"] };

const pod = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", ...extra }, spec: { containers: [{ name: "nginx", image: "ghcr.io/kyverno/test-nginx:1.14.1" }] } });

describe("cleanup policies run on their schedule through the guarded executor", () => {
  let api: FakeKubernetesApi;
  let agent: Agent;
  let clock: ManualClock;
  const problems: string[] = [];

  beforeAll(async () => {
    api = await startFakeKubernetesApi({
      token: TOKEN,
      namespaces: [{ metadata: { name: "default" } }],
      objects: [pod("bare-pod"), pod("bare-but-protected", { labels: { "vigil.dev/protected": "true" } }), pod("web-5d9c-x7k2p", { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d9c", uid: "rs-1", controller: true }] })],
    });
    const dir = tempDir();
    clock = createManualClock("2026-11-27T10:00:00Z");
    const config = parseConfig({
      policies: [join(fixtures, "kyverno/cleanup/cleanup-bare-pods/cleanup-bare-pods.yaml")],
      store: { path: join(dir, "vigil.db") },
      log: { level: "silent" },
      admission: { cluster: { server: api.url, token: TOKEN } },
      actuators: { kubernetes: { server: api.url, token: TOKEN, skipTlsVerify: true } },
      // The TTL label's built-in policy runs every minute; test/e2e/cleanup-ttl.test.ts covers it.
      cleanup: { ttl: { enabled: false } },
    });
    agent = await createAgent(config, { clock, onProblem: (message) => problems.push(message) });
    await agent.start();
    await agent.cluster?.synced();
  });

  afterAll(async () => {
    await agent?.close();
    await api?.close();
  });

  const decisionsOfCleanup = async () => (await agent.storage.listDecisions({ policy: "clean-bare-pods" })).filter((d) => d.eventType === CLEANUP_EVENT_TYPE);

  it("waits for the schedule, then decides each bare pod, in dry-run until promoted", async () => {
    expect(agent.cleanup).toBeDefined();
    // 10:00: the policy is new; its first run is the schedule's next time, 10:05.
    expect(await agent.cleanup?.tick()).toEqual([]);
    expect(await agent.cleanup?.schedules()).toEqual([{ policy: "clean-bare-pods", kind: "ClusterCleanupPolicy", schedule: "*/5 * * * *", next: "2026-11-27T10:05:00.000Z" }]);
    clock.set("2026-11-27T10:04:59Z");
    expect(await agent.cleanup?.tick()).toEqual([]);

    clock.set("2026-11-27T10:05:20Z");
    const [run] = (await agent.cleanup?.tick()) ?? [];
    expect(run).toMatchObject({ policy: "clean-bare-pods", run: "2026-11-27T10:05:00.000Z", listed: 3, selected: 2, ingested: 2, errors: 0 });
    // The same scheduled time does not run twice.
    expect(await agent.cleanup?.tick()).toEqual([]);
    await agent.ingestor.idle();

    const decisions = await decisionsOfCleanup();
    expect(decisions.map((d) => d.subject).sort()).toEqual(["Pod/default/bare-but-protected", "Pod/default/bare-pod"]);
    const decision = decisions.find((d) => d.subject === "Pod/default/bare-pod")!;
    expect(decision.subject).toBe("Pod/default/bare-pod");
    expect(decision.findings[0]).toMatchObject({ policy: "clean-bare-pods", effect: "violation", resource: "Pod/default/bare-pod" });
    expect(decision.explanation.summary.length).toBeGreaterThan(0);
    const dryRuns = await agent.executor.listActions({ status: "dry-run" });
    expect(dryRuns).toHaveLength(1);
    expect(dryRuns[0]).toMatchObject({ actuator: "kubernetes.delete", plan: { params: { apiVersion: "v1", kind: "Pod", namespace: "default", name: "bare-pod" } } });
    expect(dryRuns[0]?.plan.reason).toContain("dry-run until a person promotes it");
    // The pod labelled vigil.dev/protected=true is never acted on, not even in dry-run.
    const blocked = await agent.executor.listActions({ status: "blocked" });
    expect(blocked.map((a) => [a.plan.target.id, a.plan.reason])).toEqual([["Pod/default/bare-but-protected", expect.stringContaining("protected (label vigil.dev/protected=true)")]]);
    // Nothing was deleted.
    expect(api.writes.filter((w) => w.method === "DELETE")).toEqual([]);
    expect([...api.objects.keys()].some((key) => key.endsWith("default/bare-pod"))).toBe(true);
  });

  it("once promoted, the next run deletes the bare pod (uid precondition); the owned pod stays; undo re-creates it", async () => {
    await expect(agent.promotePolicy("clean-bare-pods", operator)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    await agent.promotePolicy("clean-bare-pods", approver, "bare pods are debris here");
    const uid = (api.objects.get("v1 Pod default/bare-pod")?.["metadata"] as { uid: string }).uid;

    clock.set("2026-11-27T10:10:05Z");
    const [run] = (await agent.cleanup?.tick()) ?? [];
    expect(run).toMatchObject({ run: "2026-11-27T10:10:00.000Z", selected: 2, ingested: 2 });
    await agent.ingestor.idle();

    const deletes = api.writes.filter((w) => w.method === "DELETE");
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.path).toBe("/api/v1/namespaces/default/pods/bare-pod");
    expect(deletes[0]?.body).toMatchObject({ preconditions: { uid } });
    expect(api.objects.has("v1 Pod default/bare-pod")).toBe(false);
    expect(api.objects.has("v1 Pod default/web-5d9c-x7k2p")).toBe(true);
    expect(api.objects.has("v1 Pod default/bare-but-protected")).toBe(true);

    const applied = await agent.executor.listActions({ status: "applied" });
    expect(applied).toHaveLength(1);
    const undone = await agent.executor.undo(applied[0]!.id, operator, "the pod was a live debugging session");
    expect(undone.status).toBe("undone");
    const created = api.writes.filter((w) => w.method === "POST");
    expect(created).toHaveLength(1);
    expect(created[0]?.path).toBe("/api/v1/namespaces/default/pods");
    const restored = api.objects.get("v1 Pod default/bare-pod");
    expect(restored).toBeDefined();
    expect((restored?.["metadata"] as { uid: string }).uid).not.toBe(uid);
    expect(restored?.["spec"]).toEqual(pod("bare-pod")["spec"]);
    expect(problems.filter((p) => p.includes("cleanup"))).toEqual([]);
  });

  it("the kill switch stops the deletes of later runs; the decisions are still recorded, each object at most once per hour while promoted", async () => {
    // The undone pod is bare again: the 10:15 run selects it.
    await agent.executor.killSwitch.set(true, operator, "incident");
    clock.set("2026-11-27T10:15:01Z");
    await agent.cleanup?.tick();
    await agent.ingestor.idle();
    expect(api.writes.filter((w) => w.method === "DELETE")).toHaveLength(1);
    expect(api.objects.has("v1 Pod default/bare-pod")).toBe(true);
    // The re-created pod (a new uid) is decided; the protected pod, decided at 10:10 since the
    // promotion, is not decided again within cleanup.redecideAfterMinutes (60).
    const decided = async () => (await decisionsOfCleanup()).map((d) => d.subject);
    expect((await decided()).filter((s) => s === "Pod/default/bare-pod")).toHaveLength(3);
    expect((await decided()).filter((s) => s === "Pod/default/bare-but-protected")).toHaveLength(2);
    // Runs are timed by their schedule: the late run at 11:00 is the 10:20 run, still in that hour.
    clock.set("2026-11-27T11:00:30Z");
    expect((await agent.cleanup?.tick())?.map((r) => r.run)).toEqual(["2026-11-27T10:20:00.000Z"]);
    await agent.ingestor.idle();
    expect((await decided()).filter((s) => s === "Pod/default/bare-but-protected")).toHaveLength(2);
    clock.set("2026-11-27T11:10:30Z");
    expect((await agent.cleanup?.tick())?.map((r) => r.run)).toEqual(["2026-11-27T11:05:00.000Z"]);
    await agent.ingestor.idle();
    expect((await decided()).filter((s) => s === "Pod/default/bare-but-protected")).toHaveLength(3);
  });
});

describe("vigil cleanup (preview)", () => {
  const policy = join(fixtures, "kyverno/cleanup/cleanup-bare-pods/cleanup-bare-pods.yaml");
  const deleting = join(fixtures, "kyverno/cleanup-dpol/cleanup-bare-pods/cleanup-bare-pods.yaml");
  const manifests = `${JSON.stringify(pod("bare-pod"))}\n---\n${JSON.stringify(pod("web-5d9c-x7k2p", { namespace: "shop", ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d9c", uid: "rs-1" }] }))}\n`;

  it("over a directory of manifests: what each policy would delete, its schedule and next run; nothing deleted", async () => {
    const dir = cliTempDir({ "pods.yaml": manifests });
    for (const file of [policy, deleting]) {
      const run = await vigil(["cleanup", "-p", file, "--at", "2026-11-27T10:02:00Z", "--output", "json", dir]);
      expect(run.code).toBe(0);
      const out = JSON.parse(run.stdout) as { summary: Record<string, number>; schedules: { next: string }[]; results: { result: string; resource: string }[] };
      // The policy, and the TTL label's built-in one (no object here carries the label).
      expect(out.summary).toMatchObject({ policies: 2, objects: 2, delete: 1, keep: 1, error: 0 });
      expect(out.schedules[0]?.next).toBe("2026-11-27T10:05:00.000Z");
      expect(out.results.filter((r) => r.result === "delete").map((r) => r.resource)).toEqual(["Pod/default/bare-pod"]);
    }
    const text = await vigil(["cleanup", "-p", policy, dir]);
    expect(text.stdout).toContain("DELETE  clean-bare-pods  Pod/default/bare-pod");
    expect(text.stdout).not.toContain("web-5d9c");
    expect(text.stdout).toContain("1 would be deleted, 1 kept, 0 errors (a preview: nothing deleted)");
  });

  it("over the live cluster of admission.cluster: lists with discovery, deletes nothing", async () => {
    const api = await startFakeKubernetesApi({ token: TOKEN, namespaces: [{ metadata: { name: "default" } }], objects: [pod("bare-pod"), pod("other-bare")] });
    try {
      const dir = cliTempDir({ "vigil.yaml": `admission:\n  cluster:\n    server: ${api.url}\n    token: ${TOKEN}\n` });
      const run = await vigil(["cleanup", "-p", policy, "--config", join(dir, "vigil.yaml"), "--output", "json"]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const out = JSON.parse(run.stdout) as { summary: Record<string, number>; results: { resource: string }[] };
      expect(out.summary).toMatchObject({ objects: 2, delete: 2 });
      expect(out.results.map((r) => r.resource).sort()).toEqual(["Pod/default/bare-pod", "Pod/default/other-bare"]);
      expect(api.requests.some((r) => r.path.startsWith("/api/v1/pods?limit=500"))).toBe(true);
      expect(api.writes).toEqual([]);
    } finally {
      await api.close();
    }
  });

  it("says what is missing: no directory and no cluster", async () => {
    const run = await vigil(["cleanup", "-p", policy], { cwd: cliTempDir() });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("pass a directory of manifests, or --config with admission.cluster");
  });
});
