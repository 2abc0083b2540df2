import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../src/agent.js";
import { extraRoutes } from "../../src/server/plugins.js";
import { bucketPolicy, startTestServer, type TestServer } from "./support.js";

let t: TestServer;

beforeAll(async () => {
  // Manual clock: the test hook route is registered too, so it is checked like the others.
  t = await startTestServer({ files: { "p.yaml": bucketPolicy }, config: { clock: { mode: "manual", start: "2025-03-03T10:00:00Z" } }, routes: extraRoutes });
});

afterAll(async () => {
  await t.close();
});

/** A role that must NOT pass a route needing `role` (and is not admin). */
const wrongRole: Record<Role, Role> = { admin: "operator", approver: "operator", operator: "approver", ingest: "viewer", viewer: "ingest" };

const concrete = (url: string): string => url.replace(/:[A-Za-z0-9_]+/g, "x");

describe("every route is authorised", () => {
  it("registers the API surface (a dropped route fails here)", () => {
    const routes = t.server.openapi.routes().map((r) => `${r.method} ${r.url}`);
    for (const expected of [
      "GET /healthz", "GET /metrics", "GET /openapi.json", "POST /v1/events", "POST /v1/webhooks/github", "POST /v1/decide",
      "GET /v1/decisions", "GET /v1/decisions/:id", "GET /v1/decisions/:id/explain", "GET /v1/posture", "PUT /v1/posture",
      "GET /v1/policies", "POST /v1/policies/:name/promote", "GET /v1/actions", "GET /v1/actions/:id", "POST /v1/actions/:id/undo",
      "GET /v1/killswitch", "PUT /v1/killswitch", "POST /v1/feedback", "GET /v1/feedback", "GET /v1/audit",
      "GET /v1/tokens", "POST /v1/tokens", "DELETE /v1/tokens/:id", "PUT /v1/clock",
      "GET /v1/reviews", "GET /v1/reviews/:id", "POST /v1/reviews/:id/approve", "POST /v1/reviews/:id/deny",
      "POST /v1/exceptions", "GET /v1/exceptions", "GET /v1/exceptions/:id", "POST /v1/exceptions/:id/revoke",
      "POST /v1/overrides", "GET /v1/overrides", "POST /v1/overrides/:id/confirm", "POST /v1/overrides/:id/revoke",
      "GET /v1/learn", "POST /v1/learn/update", "POST /v1/learn/reset", "GET /v1/policies/:name/shadow",
      "GET /v1/proposals", "GET /v1/proposals/:id", "POST /v1/proposals/:id/accept", "POST /v1/proposals/:id/reject",
    ]) expect(routes).toContain(expected);
  });

  it("only /healthz and the admission webhooks are open (the API server calls webhooks without a bearer token)", () => {
    const open = t.server.openapi.routes().filter((r) => r.access === "public").map((r) => r.url);
    expect(open.sort()).toEqual(["/healthz", "/v1/admission/mutate", "/v1/admission/validate"]);
  });

  it("rejects a missing token (401), a wrong role (403) and accepts the right role, on every route", async () => {
    const checked: string[] = [];
    for (const route of t.server.openapi.routes()) {
      const method = route.method as "GET" | "POST" | "PUT" | "DELETE";
      const url = concrete(route.url);
      const payload = method === "GET" || method === "DELETE" ? undefined : {};
      const base = { method, url, ...(payload ? { payload } : {}) };
      if (route.access === "public") {
        expect([401, 403], `${method} ${route.url} open`).not.toContain((await t.server.app.inject(base)).statusCode);
        continue;
      }
      if (route.access === "github-signature") {
        const unsigned = await t.server.app.inject({ ...base, headers: { "x-github-event": "ping", "x-github-delivery": "d-1" } });
        expect(unsigned.statusCode, `${method} ${route.url} unsigned`).toBe(401);
        continue;
      }
      const anonymous = await t.server.app.inject(base);
      expect(anonymous.statusCode, `${method} ${route.url} without token`).toBe(401);
      expect(anonymous.headers["www-authenticate"]).toContain("Bearer");
      const forged = await t.server.app.inject({ ...base, headers: { authorization: "Bearer vgl_not-a-real-token-at-all-000000" } });
      expect(forged.statusCode, `${method} ${route.url} unknown token`).toBe(401);
      const wrong = await t.as(wrongRole[route.access], base);
      expect(wrong.statusCode, `${method} ${route.url} as ${wrongRole[route.access]}`).toBe(403);
      expect(wrong.json().error.code).toBe("VIGIL_FORBIDDEN");
      const right = await t.as(route.access, base);
      expect([401, 403], `${method} ${route.url} as ${route.access}: ${right.body}`).not.toContain(right.statusCode);
      const admin = await t.as("admin", base);
      expect([401, 403], `${method} ${route.url} as admin`).not.toContain(admin.statusCode);
      checked.push(`${method} ${route.url}`);
    }
    expect(checked.length).toBeGreaterThanOrEqual(35);
  });

  it("approver and operator may read; ingest may not", async () => {
    for (const role of ["approver", "operator", "viewer"] as const) expect((await t.as(role, { method: "GET", url: "/v1/decisions" })).statusCode).toBe(200);
    expect((await t.as("ingest", { method: "GET", url: "/v1/decisions" })).statusCode).toBe(403);
  });

  it("records refused calls and who changed what in the audit trail", async () => {
    await t.as("viewer", { method: "PUT", url: "/v1/killswitch", payload: { on: true } });
    await t.as("operator", { method: "PUT", url: "/v1/killswitch", payload: { on: false, reason: "test" } });
    const audit = (await t.as("admin", { method: "GET", url: "/v1/audit?limit=1000" })).json().entries as { actor: string; action: string; target?: string }[];
    expect(audit).toContainEqual(expect.objectContaining({ actor: "viewer-token", action: "api.forbidden", target: "PUT /v1/killswitch" }));
    expect(audit).toContainEqual(expect.objectContaining({ actor: "operator-token", action: "killswitch.off" }));
  });

  it("a revoked token stops working at once, and tokens are stored hashed", async () => {
    const created = await t.as("admin", { method: "POST", url: "/v1/tokens", payload: { name: "temp", roles: ["viewer"] } });
    expect(created.statusCode).toBe(201);
    const { token, record } = created.json();
    expect(token).toMatch(/^vgl_[A-Za-z0-9_-]{43}$/);
    const auth = { authorization: `Bearer ${token}` };
    expect((await t.server.app.inject({ method: "GET", url: "/v1/decisions", headers: auth })).statusCode).toBe(200);
    const listed = (await t.as("admin", { method: "GET", url: "/v1/tokens" })).json().tokens;
    expect(JSON.stringify(listed)).not.toContain(token);
    const stored = await t.agent.storage.getDoc<{ hash: string }>("auth.tokens", record.id);
    expect(stored?.value.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(token.slice(4));
    expect((await t.as("admin", { method: "DELETE", url: `/v1/tokens/${record.id}` })).statusCode).toBe(200);
    expect((await t.server.app.inject({ method: "GET", url: "/v1/decisions", headers: auth })).statusCode).toBe(401);
  });

  it("an admin cannot revoke the last admin token in force while other tokens sign in: 409 naming id, and the token still works", async () => {
    const listed = (await t.as("admin", { method: "GET", url: "/v1/tokens" })).json().tokens as { id: string; roles: string[]; revokedAt?: string }[];
    const admins = listed.filter((k) => k.roles.includes("admin") && k.revokedAt === undefined);
    expect(admins).toHaveLength(1);
    const refused = await t.as("admin", { method: "DELETE", url: `/v1/tokens/${admins[0]!.id}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({ code: "VIGIL_CONFLICT", field: "id" });
    expect((await t.as("admin", { method: "GET", url: "/v1/tokens" })).statusCode).toBe(200);
  });

  it("rejects a malformed Authorization header and an unknown role at token creation", async () => {
    expect((await t.server.app.inject({ method: "GET", url: "/v1/decisions", headers: { authorization: `Basic ${t.tokens.viewer}` } })).statusCode).toBe(401);
    const bad = await t.as("admin", { method: "POST", url: "/v1/tokens", payload: { name: "x", roles: ["root"] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toMatch(/roles/);
  });
});
