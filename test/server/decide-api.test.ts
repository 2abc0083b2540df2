import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent, type Agent } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { buildServer } from "../../src/server/app.js";
import { bucketPolicy, publicRequest, tempDir } from "../cli/support.js";

let agent: Agent;
let server: ReturnType<typeof buildServer>;

beforeAll(async () => {
  const dir = tempDir({ "p.yaml": bucketPolicy });
  agent = await createAgent(parseConfig({ policies: [join(dir, "p.yaml")], store: { path: join(dir, "vigil.db") }, decisionLog: { mask: ["/input/principal/id"] } }));
  server = buildServer({ agent });
});

afterAll(async () => {
  await server.app.close();
  await agent.close();
});

describe("POST /v1/decide", () => {
  it("decides, records with the input masked, and serves the decision and its explanation", async () => {
    const response = await server.app.inject({ method: "POST", url: "/v1/decide", payload: { input: publicRequest } });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.verdict).toBe("deny");
    expect(body.seq).toBe(1);

    const stored = await server.app.inject({ method: "GET", url: `/v1/decisions/${body.decisionId}` });
    expect(stored.statusCode).toBe(200);
    expect(stored.json().input.principal).toEqual({ admin: false });
    expect(stored.json().hash).toMatch(/^[0-9a-f]{64}$/);

    const explained = await server.app.inject({ method: "GET", url: `/v1/decisions/${body.decisionId}/explain` });
    expect(explained.json().explanation.summary).toContain("no-public-bucket/public-acl");
  });

  it("answers 400 naming the field for a body without input", async () => {
    const response = await server.app.inject({ method: "POST", url: "/v1/decide", payload: { inptu: {} } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "input" });
  });

  it("answers 400 for invalid JSON and 404 for an unknown decision", async () => {
    const bad = await server.app.inject({ method: "POST", url: "/v1/decide", headers: { "content-type": "application/json" }, payload: "{nope" });
    expect(bad.statusCode).toBe(400);
    const missing = await server.app.inject({ method: "GET", url: "/v1/decisions/nope" });
    expect(missing.statusCode).toBe(404);
  });

  it("exports Prometheus metrics and health", async () => {
    await server.app.inject({ method: "POST", url: "/v1/decide", payload: { input: { action: "other" } } });
    const metrics = await server.app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.headers["content-type"]).toContain("text/plain");
    expect(metrics.body).toMatch(/vigil_decisions_total\{verdict="deny",tier="block"\} \d+/);
    expect(metrics.body).toMatch(/vigil_decisions_total\{verdict="allow",tier="observe"\} \d+/);
    expect(metrics.body).toMatch(/vigil_evaluation_seconds_count [1-9]/);
    const health = await server.app.inject({ method: "GET", url: "/healthz" });
    expect(health.json()).toMatchObject({ status: "ok", policies: 1, store: "sqlite" });
  });
});
