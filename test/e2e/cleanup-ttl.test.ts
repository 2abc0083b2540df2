/**
 * Kyverno's TTL label (`cleanup.kyverno.io/ttl`) run by the agent as the built-in cleanup policy
 * kyverno-ttl-label, against a local stand-in for the Kubernetes API server (discovery, paged
 * LISTs with a label selector, DELETE with DeleteOptions), on a manual clock: every minute the
 * sweep lists every deletable resource carrying the label; each due object is a decision whose
 * kubernetes.delete is a dry-run until promoted (decided once, not at every run), then real (uid
 * precondition, the annotation's propagation policy); a Secret waits for approval; a protected
 * object is never deleted; a value Kyverno cannot parse is reported and, at admission, warned about.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent, createManualClock, type Agent, type ManualClock } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../../src/context/kubernetes/api-test-server.js";
import { CLEANUP_EVENT_TYPE } from "../../src/policy/kyverno/cleanup-policy.js";
import { TTL_LABEL, TTL_POLICY_NAME } from "../../src/policy/kyverno/cleanup-ttl.js";
import { admissionRoutes } from "../../src/server/admission.js";
import { buildServer } from "../../src/server/app.js";
import { tempDir as cliTempDir, vigil } from "../cli/support.js";
import { admissionReview, tempDir } from "./admission-support.js";

const TOKEN = "vigil-ttl-token";
const approver = { id: "alice", roles: ["approver"] };

type Json = Record<string, unknown>;
const labelled = (kind: "Pod" | "Secret", name: string, ttl: string, created: string, extra: Json = {}): Json => ({
  apiVersion: "v1",
  kind,
  metadata: { name, namespace: "default", creationTimestamp: created, labels: { [TTL_LABEL]: ttl, ...((extra["labels"] as Json | undefined) ?? {}) }, ...(extra["annotations"] ? { annotations: extra["annotations"] } : {}) },
  ...(kind === "Pod" ? { spec: { containers: [{ name: "worker", image: "busybox:1.35" }] } } : { type: "Opaque", data: { token: "c2VjcmV0" } }),
});

describe("the cleanup.kyverno.io/ttl label, run by the agent through the guardrails", () => {
  let api: FakeKubernetesApi;
  let agent: Agent;
  let clock: ManualClock;
  const problems: string[] = [];

  beforeAll(async () => {
    api = await startFakeKubernetesApi({
      token: TOKEN,
      namespaces: [{ metadata: { name: "default" } }],
      objects: [
        labelled("Pod", "ttl-due", "5m", "2026-11-27T09:50:00Z"),
        labelled("Pod", "ttl-later", "2h", "2026-11-27T09:59:00Z"),
        labelled("Pod", "ttl-bad", "1d", "2026-11-27T09:00:00Z"),
        labelled("Pod", "ttl-protected", "1m", "2026-11-27T09:00:00Z", { labels: { "vigil.dev/protected": "true" } }),
        labelled("Secret", "scratch-token", "1m", "2026-11-27T09:00:00Z"),
        { apiVersion: "batch/v1", kind: "Job", metadata: { name: "nightly", namespace: "default", creationTimestamp: "2026-11-26T01:00:00Z", labels: { [TTL_LABEL]: "2026-11-27" }, annotations: { "cleanup.kyverno.io/propagation-policy": "Foreground" } }, spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "run", image: "busybox:1.35" }] } } } },
        { apiVersion: "v1", kind: "Pod", metadata: { name: "plain", namespace: "default", creationTimestamp: "2026-01-01T00:00:00Z" }, spec: { containers: [{ name: "app", image: "busybox:1.35" }] } },
      ],
    });
    const dir = tempDir();
    const policies = join(dir, "policies");
    mkdirSync(policies);
    clock = createManualClock("2026-11-27T10:00:00Z");
    const config = parseConfig({
      policies: [policies],
      store: { path: join(dir, "vigil.db") },
      log: { level: "silent" },
      admission: { cluster: { server: api.url, token: TOKEN } },
      actuators: { kubernetes: { server: api.url, token: TOKEN, skipTlsVerify: true } },
    });
    agent = await createAgent(config, { clock, onProblem: (message) => problems.push(message) });
    await agent.start();
    await agent.cluster?.synced();
  });

  afterAll(async () => {
    await agent?.close();
    await api?.close();
  });

  const ttlDecisions = async () => (await agent.storage.listDecisions({ policy: TTL_POLICY_NAME })).filter((d) => d.eventType === CLEANUP_EVENT_TYPE);

  it("is a built-in cleanup policy that runs every minute", async () => {
    expect(agent.loadErrors).toEqual([]);
    expect(agent.catalog.summary(TTL_POLICY_NAME)).toBeDefined();
    expect(await agent.cleanup?.tick()).toEqual([]);
    expect(await agent.cleanup?.schedules()).toEqual([{ policy: TTL_POLICY_NAME, kind: "TTLLabel", schedule: "* * * * *", next: "2026-11-27T10:01:00.000Z" }]);
  });

  it("lists only labelled objects, decides the due ones (dry-run: once, not at every run), reports a bad value", async () => {
    clock.set("2026-11-27T10:01:05Z");
    const [run] = (await agent.cleanup?.tick()) ?? [];
    expect(run).toMatchObject({ policy: TTL_POLICY_NAME, run: "2026-11-27T10:01:00.000Z", listed: 6, selected: 4, ingested: 4, errors: 1 });
    expect(run?.problems.join("\n")).toContain(`Pod default/ttl-bad: label ${TTL_LABEL} is "1d", which cannot be parsed`);
    const lists = api.requests.filter((r) => r.path.includes("labelSelector="));
    expect(lists.map((r) => r.path.split("?")[0]).sort()).toEqual(expect.arrayContaining(["/api/v1/pods", "/api/v1/secrets", "/apis/batch/v1/jobs"]));
    expect(lists.every((r) => new URL(r.path, "http://x").searchParams.get("labelSelector") === TTL_LABEL)).toBe(true);
    await agent.ingestor.idle();

    const decisions = await ttlDecisions();
    expect(decisions.map((d) => d.subject).sort()).toEqual(["Job/default/nightly", "Pod/default/ttl-due", "Pod/default/ttl-protected", "Secret/default/scratch-token"]);
    const due = decisions.find((d) => d.subject === "Pod/default/ttl-due");
    expect(due?.findings[0]?.message).toContain("due at 2026-11-27T09:55:00.000Z");
    const dryRuns = await agent.executor.listActions({ status: "dry-run" });
    expect(dryRuns.map((a) => a.plan.target.id).sort()).toEqual(expect.arrayContaining(["Job/default/nightly", "Pod/default/ttl-due"]));
    const blocked = await agent.executor.listActions({ status: "blocked" });
    expect(blocked.map((a) => a.plan.target.id)).toEqual(["Pod/default/ttl-protected"]);

    // The next run finds the same due objects; in dry-run they are not decided again.
    clock.set("2026-11-27T10:02:05Z");
    const [again] = (await agent.cleanup?.tick()) ?? [];
    expect(again).toMatchObject({ run: "2026-11-27T10:02:00.000Z", selected: 4 });
    await agent.ingestor.idle();
    expect(await ttlDecisions()).toHaveLength(4);
    expect(api.writes.filter((w) => w.method === "DELETE")).toEqual([]);
  });

  it("once promoted, deletes what is due (uid precondition, the annotation's propagation); a Secret waits for approval", async () => {
    await agent.promotePolicy(TTL_POLICY_NAME, approver, "TTL labels are how our CI cleans up");
    clock.set("2026-11-27T10:03:05Z");
    await agent.cleanup?.tick();
    await agent.ingestor.idle();

    const deletes = api.writes.filter((w) => w.method === "DELETE");
    expect(deletes.map((w) => w.path).sort()).toEqual(["/api/v1/namespaces/default/pods/ttl-due", "/apis/batch/v1/namespaces/default/jobs/nightly"]);
    expect(deletes.find((w) => w.path.endsWith("/nightly"))?.body).toMatchObject({ propagationPolicy: "Foreground", preconditions: { uid: expect.any(String) } });
    expect(api.objects.has("v1 Pod default/ttl-due")).toBe(false);
    expect(api.objects.has("v1 Pod default/ttl-later")).toBe(true);
    expect(api.objects.has("v1 Pod default/ttl-protected")).toBe(true);
    expect(api.objects.has("v1 Secret default/scratch-token")).toBe(true);
    const pending = await agent.executor.listActions({ status: "pending-approval" });
    expect(pending.map((a) => a.plan.target.id)).toEqual(["Secret/default/scratch-token"]);
    const secretDecision = (await ttlDecisions()).filter((d) => d.subject === "Secret/default/scratch-token").at(-1);
    expect(secretDecision?.tier).toBe("approve");
    expect(JSON.stringify(secretDecision?.explanation)).toContain("a deleted Secret cannot be restored");
    expect(problems.filter((p) => p.includes("cleanup") && !p.includes("ttl-bad"))).toEqual([]);
    // The next minute's run finds the Secret and the protected pod still due: promoted, each is
    // decided again after cleanup.redecideAfterMinutes, not every minute.
    const before = (await ttlDecisions()).length;
    clock.set("2026-11-27T10:04:05Z");
    const [next] = (await agent.cleanup?.tick()) ?? [];
    expect(next).toMatchObject({ run: "2026-11-27T10:04:00.000Z", selected: 2 });
    await agent.ingestor.idle();
    expect((await ttlDecisions()).length).toBe(before);
  });

  it("warns at admission about a TTL value Kyverno cannot parse, and allows the request", async () => {
    const server = buildServer({ agent, routes: [admissionRoutes] });
    await server.app.ready();
    try {
      const bad = await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview(labelled("Pod", "typo", "1 day", "2026-11-27T10:00:00Z")) });
      const body = bad.json() as { response: { allowed: boolean; warnings?: string[] } };
      expect(body.response.allowed).toBe(true);
      expect(body.response.warnings?.join("\n")).toContain(`policy ${TTL_POLICY_NAME}.ttl-label: ${TTL_LABEL} label value cannot be parsed as any recognizable format ("1 day")`);
      const good = await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview(labelled("Pod", "fine", "4h", "2026-11-27T10:00:00Z")) });
      expect((good.json() as { response: { allowed: boolean; warnings?: string[] } }).response).toEqual(expect.objectContaining({ allowed: true }));
      expect((good.json() as { response: { warnings?: string[] } }).response.warnings).toBeUndefined();
    } finally {
      await server.app.close();
    }
  });
});

describe("vigil cleanup previews the TTL label", () => {
  it("over manifests: a past date is due, a duration waits for the object to exist, a bad value is an error", async () => {
    const manifests = [
      { apiVersion: "v1", kind: "Pod", metadata: { name: "old", labels: { [TTL_LABEL]: "2026-01-01" } }, spec: { containers: [{ name: "a", image: "busybox" }] } },
      { apiVersion: "v1", kind: "Pod", metadata: { name: "fresh", labels: { [TTL_LABEL]: "2h" } }, spec: { containers: [{ name: "a", image: "busybox" }] } },
      { apiVersion: "v1", kind: "Pod", metadata: { name: "typo", labels: { [TTL_LABEL]: "2 hours" } }, spec: { containers: [{ name: "a", image: "busybox" }] } },
    ].map((m) => JSON.stringify(m)).join("\n---\n");
    const dir = cliTempDir({ "pods.yaml": manifests });
    const run = await vigil(["cleanup", "-p", cliTempDir(), "--at", "2026-11-27T10:00:00Z", "--all", "--output", "json", dir]);
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout) as { summary: Record<string, number>; results: { policy: string; result: string; resource: string }[] };
    expect(out.summary).toMatchObject({ policies: 1, delete: 1, keep: 1, error: 1 });
    expect(out.results.map((r) => [r.result, r.resource]).sort()).toEqual([["delete", "Pod/default/old"], ["error", "Pod/default/typo"], ["keep", "Pod/default/fresh"]]);
    expect(out.results.every((r) => r.policy === TTL_POLICY_NAME)).toBe(true);
  });
});
