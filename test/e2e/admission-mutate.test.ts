/**
 * The mutating admission webhook end to end: a real agent (SQLite decision record, catalog)
 * behind buildServer with the admission routes, loaded with Kyverno library policies (a
 * ClusterPolicy with patchStrategicMerge anchors and a MutatingPolicy with CEL JSONPatch
 * mutations), fed their own CLI-test resources wrapped in AdmissionReviews; the returned patch,
 * applied as the API server applies it, must give the library's expected patched resource.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent, createManualClock, verifyRecord, type Agent } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { applyJsonPatch } from "../../src/policy/kyverno/json-patch.js";
import { admissionRoutes } from "../../src/server/admission.js";
import { buildServer, type VigilServer } from "../../src/server/app.js";
import { admissionReview, fixtures, tempDir, yamlDocuments, type KubeObject } from "./admission-support.js";

const evictDir = join(fixtures, "kyverno/best-practices/add-safe-to-evict");
const pullDir = join(fixtures, "kyverno/other-mpol/add-imagepullsecrets");
const byName = (docs: KubeObject[], name: string): KubeObject => {
  const found = docs.find((d) => (d["metadata"] as { name?: string } | undefined)?.name === name);
  if (!found) throw new Error(`fixture ${name} not found`);
  return found;
};

interface Running { agent: Agent; server: VigilServer; close(): Promise<void> }

async function start(policies: readonly string[]): Promise<Running> {
  const dir = tempDir();
  const agent = await createAgent(parseConfig({ policies, store: { path: join(dir, "vigil.db") }, log: { level: "silent" } }), { clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: () => undefined });
  const server = buildServer({ agent, routes: [admissionRoutes] });
  await server.app.ready();
  return { agent, server, async close() { await server.app.close(); await agent.close(); } };
}

async function mutate(running: Running, body: unknown): Promise<{ status: number; body: any }> {
  const response = await running.server.app.inject({ method: "POST", url: "/v1/admission/mutate", payload: body as object });
  return { status: response.statusCode, body: response.json() };
}

/** The object as the API server holds it after applying the webhook's patch. */
function patchedBy(object: KubeObject, answer: { response: { patch?: string; patchType?: string } }): KubeObject {
  if (answer.response.patch === undefined) return object;
  expect(answer.response.patchType).toBe("JSONPatch");
  return applyJsonPatch(object, JSON.parse(Buffer.from(answer.response.patch, "base64").toString("utf8")) as unknown[]) as KubeObject;
}

describe("POST /v1/admission/mutate with Kyverno library policies", () => {
  let running: Running;
  beforeAll(async () => { running = await start([evictDir, pullDir]); });
  afterAll(async () => { await running.close(); });

  it("loads both policies (a ClusterPolicy with mutate rules and a MutatingPolicy) without errors", () => {
    expect(running.agent.catalog.loadErrors).toEqual([]);
    expect(running.agent.catalog.list().map((p) => p.name).sort()).toEqual(["add-imagepullsecrets", "add-safe-to-evict"]);
  });

  it("patches the ClusterPolicy's resources into the library's expected objects, and leaves the others alone", async () => {
    const resources = yamlDocuments(join(evictDir, ".kyverno-test/resource.yaml"));
    for (const [name, file] of [["myapp-pod03", "myapp-pod03-patched.yaml"], ["myapp-pod04", "myapp-pod04-patched.yaml"]] as const) {
      const object = { ...byName(resources, name), metadata: { ...(byName(resources, name)["metadata"] as object), namespace: "default" } };
      const answer = await mutate(running, admissionReview(object, { uid: `uid-${name}` }));
      expect(answer.status, name).toBe(200);
      expect(answer.body.response).toMatchObject({ uid: `uid-${name}`, allowed: true });
      const patched = patchedBy(object, answer.body);
      const expected = byName(yamlDocuments(join(evictDir, ".kyverno-test", file)), name);
      expect((patched["metadata"] as KubeObject)["annotations"], name).toEqual((expected["metadata"] as KubeObject)["annotations"]);
      expect(patched["spec"], name).toEqual(expected["spec"]);
    }
    for (const name of ["myapp-pod01", "myapp-pod02"]) {
      const answer = await mutate(running, admissionReview(byName(resources, name)));
      expect(answer.body.response.allowed, name).toBe(true);
      expect(answer.body.response.patch, name).toBeUndefined();
    }
  });

  it("applies the MutatingPolicy's CEL JSONPatch as the library expects", async () => {
    const resources = yamlDocuments(join(pullDir, ".kyverno-test/resource.yaml"));
    const object = byName(resources, "myapp-pod-1");
    const answer = await mutate(running, admissionReview(object));
    const patched = patchedBy(object, answer.body);
    const expected = byName(yamlDocuments(join(pullDir, ".kyverno-test/patchedResource1.yaml")), "myapp-pod-1");
    expect((patched["spec"] as KubeObject)["imagePullSecrets"]).toEqual((expected["spec"] as KubeObject)["imagePullSecrets"]);
    expect((patched["spec"] as KubeObject)["imagePullSecrets"]).toEqual([{ name: "my-secret" }]);
  });

  it("does not apply a mutation that a Vigil exception covers (policy, subject, expiry), and says so; other objects are still mutated", async () => {
    const resources = yamlDocuments(join(evictDir, ".kyverno-test/resource.yaml"));
    const object = { ...byName(resources, "myapp-pod04"), metadata: { ...(byName(resources, "myapp-pod04")["metadata"] as object), namespace: "batch" } };
    const before = await mutate(running, admissionReview(object, { uid: "uid-before-exception" }));
    expect(before.body.response.patch).toBeDefined();
    const exception = await running.agent.reviews.exceptions.create({
      policies: ["add-safe-to-evict"], subjects: ["batch/*"], justification: "batch jobs must not be evicted by the autoscaler",
      ticket: "OPS-42", expiresAt: "2025-03-10T00:00:00Z", // the agent runs on a manual clock at 2025-03-03
    }, { id: "alice", roles: ["approver"] });
    const after = await mutate(running, admissionReview(object, { uid: "uid-after-exception" }));
    expect(after.status).toBe(200);
    expect(after.body.response.allowed).toBe(true);
    const patched = patchedBy(object, after.body);
    // add-safe-to-evict is excepted for batch/*: no safe-to-evict annotation, and nothing else changed.
    expect(((patched["metadata"] as KubeObject)["annotations"] as KubeObject | undefined)?.["cluster-autoscaler.kubernetes.io/safe-to-evict"]).toBeUndefined();
    expect(after.body.response.warnings?.some((w: string) => w.startsWith("vigil: add-safe-to-evict/annotate-host-path not applied: allowed by exception") && w.includes(exception.id))).toBe(true);
    const decision = await running.agent.storage.getDecision(after.body.response.auditAnnotations["decision-id"]);
    expect(decision?.explanation.steps.some((st) => st.kind === "exception" && st.ref === exception.id)).toBe(true);
    expect(decision?.findings.find((f) => f.rule === "annotate-host-path")).toMatchObject({ effect: "skip" });
    // The same pod in another namespace is not covered.
    const elsewhere = await mutate(running, admissionReview({ ...object, metadata: { ...(object["metadata"] as object), namespace: "web" } }, { uid: "uid-other-namespace" }));
    expect(elsewhere.body.response.patch).toBeDefined();
    await running.agent.reviews.exceptions.revoke(exception.id, { id: "alice", roles: ["approver"] }, "test done");
  });

  it("records every answer in the hash-chained record with the change in words", async () => {
    const decisions = await running.agent.storage.listDecisions({ limit: 100 });
    const mutated = decisions.filter((d) => d.labels?.["admission.webhook"] === "mutate" && d.tier === "remediate");
    expect(mutated.map((d) => d.subject).sort()).toEqual(["batch/myapp-pod04", "default/myapp-pod-1", "default/myapp-pod03", "default/myapp-pod04", "web/myapp-pod04"]);
    const pod03 = mutated.find((d) => d.subject === "default/myapp-pod03");
    expect(pod03?.explanation.summary).toMatch(/^Mutated Pod\/default\/myapp-pod03: add-safe-to-evict changed it/);
    expect(pod03?.explanation.steps.some((s) => s.kind === "action" && s.text.includes("cluster-autoscaler.kubernetes.io/safe-to-evict"))).toBe(true);
    // pod01 and pod02 (nothing to change) and pod04 under the exception.
    expect(decisions.filter((d) => d.tier === "observe").length).toBe(3);
    expect((await verifyRecord(running.agent.storage)).ok).toBe(true);
    expect(running.agent.metrics.render()).toMatch(/vigil_admission_mutations_total\{allowed="true",mutated="true",outcome="decided"\} 5\b/);
  });
});
