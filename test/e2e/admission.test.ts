/**
 * The admission webhook end to end: a real agent (SQLite decision record, pipeline, catalog)
 * behind buildServer with the admission routes, fed real payloads — the Kubernetes API's own
 * AdmissionReview fixtures and the Kyverno library's Pod Security Standards policies with their
 * CLI-test resources wrapped in AdmissionReviews.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent, createManualClock, verifyRecord, type Agent } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { admissionRoutes } from "../../src/server/admission.js";
import { buildServer, type VigilServer } from "../../src/server/app.js";
import { admissionReview, expectations, fixtures, pssDir, tempDir, yamlDocuments, type KubeObject } from "./admission-support.js";

const privilegedDir = join(pssDir, "baseline/disallow-privileged-containers");
const privilegedResources = yamlDocuments(join(privilegedDir, ".kyverno-test/resource.yaml"));
const expected = expectations(join(privilegedDir, ".kyverno-test/kyverno-test.yaml"), "disallow-privileged-containers");
const nameOf = (o: KubeObject): string => String((o["metadata"] as { name: string }).name);

interface Running { agent: Agent; server: VigilServer; close(): Promise<void> }

async function start(policies: readonly string[], config: Record<string, unknown> = {}): Promise<Running> {
  const dir = tempDir();
  const agent = await createAgent(parseConfig({ policies, store: { path: join(dir, "vigil.db") }, log: { level: "silent" }, ...config }), { clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: () => undefined });
  const server = buildServer({ agent, routes: [admissionRoutes] });
  await server.app.ready();
  return { agent, server, async close() { await server.app.close(); await agent.close(); } };
}

async function review(running: Running, body: unknown): Promise<{ status: number; body: any }> {
  const response = await running.server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: body as object });
  return { status: response.statusCode, body: response.json() };
}

describe("Kyverno Pod Security Standards through the webhook (policies as published: Audit)", () => {
  let running: Running;
  beforeAll(async () => { running = await start([pssDir]); });
  afterAll(async () => { await running.close(); });

  it("answers every CLI-test resource of disallow-privileged-containers as kyverno test expects: fail → warning, pass → none", async () => {
    expect(privilegedResources.length).toBe(expected.size);
    for (const object of privilegedResources) {
      const key = `${String(object["kind"])}/${nameOf(object)}`;
      const answer = await review(running, admissionReview(object));
      expect(answer.status, key).toBe(200);
      expect(answer.body.response.allowed, key).toBe(true);
      const warned = (answer.body.response.warnings ?? []).some((w: string) => w.startsWith("policy disallow-privileged-containers."));
      expect(warned, `${key} expected ${expected.get(key)}`).toBe(expected.get(key) === "fail");
    }
  });

  it("records every review with its explanation in the hash-chained decision record", async () => {
    const decisions = await running.agent.storage.listDecisions({ limit: 1000 });
    expect(decisions.length).toBe(privilegedResources.length);
    const bad = decisions.find((d) => d.subject === "default/badpod01");
    expect(bad).toMatchObject({ eventType: "io.k8s.admission.review", verdict: "allow", enforced: true });
    expect(bad?.explanation.summary).toContain("disallow-privileged-containers");
    expect(bad?.explanation.steps.length).toBeGreaterThan(0);
    expect((await verifyRecord(running.agent.storage)).ok).toBe(true);
    expect(running.agent.metrics.render()).toMatch(new RegExp(`vigil_admission_reviews_total\\{allowed="true",outcome="decided"\\} ${privilegedResources.length}\\b`));
  });

  it("answers the Kubernetes API's own AdmissionReview fixtures: 400 naming request.operation for the placeholder, then the same review in its own apiVersion", async () => {
    for (const version of ["v1", "v1beta1"]) {
      const raw = JSON.parse(readFileSync(join(fixtures, `kubernetes-api-testdata/admission.k8s.io.${version}.AdmissionReview.json`), "utf8")) as KubeObject;
      const bad = await review(running, raw);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: "VIGIL_BAD_EVENT", field: "request.operation" });
      const fixed = { ...raw, request: { ...(raw["request"] as object), operation: "CREATE" } };
      const good = await review(running, fixed);
      expect(good.status).toBe(200);
      expect(good.body).toMatchObject({ apiVersion: `admission.k8s.io/${version}`, kind: "AdmissionReview", response: { uid: "uidValue", allowed: true } });
    }
    const dryRuns = (await running.agent.storage.listDecisions({ limit: 1000 })).filter((d) => d.eventId === "uidValue");
    // The fixtures carry dryRun: true: evaluated, recorded, not enforced.
    expect(dryRuns.map((d) => d.enforced)).toEqual([false, false]);
  });
});

describe("the same policies in Enforce", () => {
  let running: Running;
  beforeAll(async () => {
    // The library's policy, switched to Enforce the way a cluster operator would.
    const dir = tempDir();
    const text = readFileSync(join(privilegedDir, "disallow-privileged-containers.yaml"), "utf8").replace("validationFailureAction: Audit", "validationFailureAction: Enforce");
    expect(text).toContain("validationFailureAction: Enforce");
    writeFileSync(join(dir, "enforce.yaml"), text);
    running = await start([join(dir, "enforce.yaml")], { admission: { failurePolicy: "fail", timeoutMs: 5000 } });
  });
  afterAll(async () => { await running.close(); });

  it("denies what kyverno test expects to fail, with Kyverno's message, and allows the rest", async () => {
    for (const object of privilegedResources) {
      const key = `${String(object["kind"])}/${nameOf(object)}`;
      const answer = await review(running, admissionReview(object, { namespace: "shop" }));
      const fail = expected.get(key) === "fail";
      expect(answer.body.response.allowed, key).toBe(!fail);
      if (fail) {
        expect(answer.body.response.status.code).toBe(403);
        expect(answer.body.response.status.message).toContain(`resource ${key.split("/")[0]}/shop/${nameOf(object)} was blocked due to the following policies`);
        expect(answer.body.response.status.message).toMatch(/disallow-privileged-containers:\n {2}(autogen-(cronjob-)?)?privileged-containers: .*Privileged mode is disallowed/);
      }
    }
    const denied = (await running.agent.storage.listDecisions({ limit: 1000 })).filter((d) => d.verdict === "deny");
    expect(denied.length).toBe([...expected.values()].filter((r) => r === "fail").length);
    expect(denied.every((d) => d.enforced && d.tier === "block")).toBe(true);
  });

  it("applies exceptions like every other path: the excepted pod is allowed with a warning naming the exception, others are still denied", async () => {
    const exception = await running.agent.reviews.exceptions.create({
      policies: ["disallow-privileged-containers"], subjects: ["exceptions/badpod02"],
      justification: "GPU driver installer needs privileged mode until the vendor ships a fix", ticket: "SEC-42", expiresAt: "2025-04-01T00:00:00Z",
    }, { id: "ann", roles: ["approver"] });
    const pod = (name: string): KubeObject => privilegedResources.find((o) => nameOf(o) === name) as KubeObject;
    const excepted = await review(running, admissionReview(pod("badpod02"), { namespace: "exceptions", uid: "ex-1" }));
    expect(excepted.body.response.allowed).toBe(true);
    expect(excepted.body.response.warnings).toEqual([expect.stringMatching(new RegExp(`^vigil: disallow-privileged-containers/privileged-containers .*${exception.id}`))]);
    const other = await review(running, admissionReview(pod("badpod03"), { namespace: "exceptions", uid: "ex-2" }));
    expect(other.body.response.allowed).toBe(false);
    const [decision] = await running.agent.storage.listDecisions({ eventId: "ex-1" });
    expect(decision?.verdict).toBe("allow");
    expect(decision?.explanation.steps).toContainEqual(expect.objectContaining({ kind: "exception", ref: exception.id }));
  });

  it("a dry-run request is answered the same but recorded as not enforced", async () => {
    const pod = privilegedResources.find((o) => nameOf(o) === "badpod01") as KubeObject;
    const answer = await review(running, admissionReview(pod, { uid: "dry-1", dryRun: true }));
    expect(answer.body.response.allowed).toBe(false);
    const [decision] = await running.agent.storage.listDecisions({ eventId: "dry-1" });
    expect(decision).toMatchObject({ verdict: "deny", enforced: false });
  });
});
