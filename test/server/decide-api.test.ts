import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketPolicy, publicRequest, startTestServer, type TestServer } from "./support.js";
import { MAX_NESTING_DEPTH } from "../../src/sources/values.js";

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ files: { "p.yaml": bucketPolicy }, config: { decisionLog: { mask: ["/input/principal/id"] } } });
});

afterAll(async () => {
  await t.close();
});

describe("POST /v1/decide", () => {
  it("decides, records with the input masked, and serves the decision and its explanation", async () => {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: publicRequest } });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.verdict).toBe("deny");
    expect(body.seq).toBe(1);

    const stored = await t.as("viewer", { method: "GET", url: `/v1/decisions/${body.decisionId}` });
    expect(stored.statusCode).toBe(200);
    expect(stored.json().input.principal).toEqual({ admin: false });
    expect(stored.json().hash).toMatch(/^[0-9a-f]{64}$/);

    const explained = await t.as("viewer", { method: "GET", url: `/v1/decisions/${body.decisionId}/explain` });
    expect(explained.json().explanation.summary).toContain("no-public-bucket/public-acl");
  });

  it("takes the request's subject: recorded on the decision, and an override of it allows that subject's next request only", async () => {
    const forSubject = (subject: string) => t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: publicRequest, subject } });
    const denied = (await forSubject("user:alice")).json();
    expect(denied).toMatchObject({ verdict: "deny", subject: "user:alice" });
    // Without a subject the override would allow everyone's next request, so it is refused; with one it is scoped to it.
    const created = await t.as("approver", { method: "POST", url: "/v1/overrides", payload: { decisionId: denied.decisionId, scope: "once", reason: "bucket is a public website" } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ subject: "user:alice", policy: "no-public-bucket" });
    expect((await forSubject("user:bob")).json().verdict).toBe("deny");
    expect((await forSubject("user:alice")).json().verdict).toBe("allow");
    expect((await forSubject("user:alice")).json().verdict).toBe("deny"); // once
    const blank = await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: publicRequest, subject: "" } });
    expect(blank.statusCode).toBe(400);
    expect(blank.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "subject" });
  });

  it("answers 400 naming the field for a body without input", async () => {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { inptu: {} } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "input" });
  });

  it("answers 400 for invalid JSON and 404 for an unknown decision", async () => {
    const bad = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json" }, payload: "{nope" });
    expect(bad.statusCode).toBe(400);
    const missing = await t.as("viewer", { method: "GET", url: "/v1/decisions/nope" });
    expect(missing.statusCode).toBe(404);
  });

  it("records a dry run as not enforced", async () => {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: publicRequest, dryRun: true, explain: true } });
    expect(response.json()).toMatchObject({ verdict: "deny", enforced: false });
    expect(response.json().explanation.steps.join("\n")).toContain("not enforced");
  });

  it("lists decisions with filters, newest first, and pages forward with afterSeq", async () => {
    await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: { action: "other" } } });
    const denies = (await t.as("viewer", { method: "GET", url: "/v1/decisions?verdict=deny" })).json().decisions;
    expect(denies.length).toBeGreaterThanOrEqual(2);
    expect(denies.every((d: { verdict: string }) => d.verdict === "deny")).toBe(true);
    const byPolicy = (await t.as("viewer", { method: "GET", url: "/v1/decisions?policy=no-public-bucket" })).json().decisions;
    expect(byPolicy.map((d: { seq: number }) => d.seq)).toEqual([...byPolicy.map((d: { seq: number }) => d.seq)].sort((a, b) => b - a));
    const page = (await t.as("viewer", { method: "GET", url: "/v1/decisions?order=asc&limit=1" })).json();
    expect(page.decisions[0].seq).toBe(1);
    const next = (await t.as("viewer", { method: "GET", url: `/v1/decisions?order=asc&limit=1&afterSeq=${page.nextAfterSeq}` })).json();
    expect(next.decisions[0].seq).toBe(2);
    const badQuery = await t.as("viewer", { method: "GET", url: "/v1/decisions?verdict=maybe" });
    expect(badQuery.statusCode).toBe(400);
    expect(badQuery.json().error.field).toBe("verdict");
  });

  it("exports Prometheus metrics (viewer) and open health", async () => {
    await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: { action: "other" } } });
    const metrics = await t.as("viewer", { method: "GET", url: "/metrics" });
    expect(metrics.headers["content-type"]).toContain("text/plain");
    expect(metrics.body).toMatch(/vigil_decisions_total\{verdict="deny",tier="block"\} \d+/);
    expect(metrics.body).toMatch(/vigil_decisions_total\{verdict="allow",tier="observe"\} \d+/);
    expect(metrics.body).toMatch(/vigil_evaluation_seconds_count [1-9]/);
    expect(metrics.body).toMatch(/vigil_ingest_queue_events 0/);
    const health = await t.server.app.inject({ method: "GET", url: "/healthz" });
    expect(health.json()).toMatchObject({ status: "ok", policies: 1, store: "sqlite", role: "all" });
  });
  it("an input nested deeper than Vigil can store is 400 naming input.<member>, not a 503 storage failure, and nothing is recorded", async () => {
    const before = (await t.agent.storage.listDecisions({ limit: 1000 })).length;
    const deep = `${'{"a":'.repeat(MAX_NESTING_DEPTH * 4)}1${"}".repeat(MAX_NESTING_DEPTH * 4)}`;
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json" }, payload: `{"input":{"action":"s3:PutBucketAcl","resource":${deep}}}` });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "input.resource" });
    expect(response.json().error.message).toContain(`nested deeper than ${MAX_NESTING_DEPTH} levels`);
    expect(await t.agent.storage.listDecisions({ limit: 1000 })).toHaveLength(before);
    const fine = await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: { action: "other", resource: { a: { b: { c: [1, [2, [3]]] } } } } } });
    expect(fine.statusCode).toBe(200);
  });
  it("a window whose since is after its until is 400 naming until, not an empty list", async () => {
    const response = await t.as("viewer", { method: "GET", url: "/v1/decisions?since=2025-03-04T00:00:00Z&until=2025-03-01T00:00:00Z" });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "until" });
    expect(response.json().error.message).toContain("before since");
    expect((await t.as("viewer", { method: "GET", url: "/v1/decisions?since=2025-03-01T00:00:00Z&until=2025-03-04T00:00:00Z" })).statusCode).toBe(200);
  });
});
