import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../test/server/support.js";
import { route, type RoutePlugin } from "./route.js";

/** An audited route whose path parameter is not `id` or `name` (like POST /v1/cleanup/:policy/run). */
const runRoute: RoutePlugin = (app, agent) => {
  route<{ policy: string }, Record<string, unknown>, { reason?: string }>(app, agent, {
    method: "POST",
    url: "/v1/test/:policy/run",
    access: "operator",
    summary: "test",
    tags: ["test"],
    params: { type: "object", required: ["policy"], properties: { policy: { type: "string" } } },
    body: { type: "object", properties: { reason: { type: "string" } } },
    responses: { 200: { description: "ok" } },
    handler: async () => ({ ok: true }),
  });
};

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ routes: [runRoute] });
});
afterAll(async () => {
  await t.close();
});

describe("bearer tokens", () => {
  it("an admin token set through VIGIL_ADMIN_TOKEN works whatever printable characters it holds", async () => {
    const token = "Adm1n!tok@n#with$symbols%&*";
    await t.agent.tokens.importToken(token, { name: "admin (VIGIL_ADMIN_TOKEN)", roles: ["admin"] }, "vigil:bootstrap");
    const response = await t.server.app.inject({ method: "GET", url: "/v1/tokens", headers: { authorization: `Bearer ${token}` } });
    expect(response.statusCode).toBe(200);
    // A wrong one of the same shape is still refused.
    const wrong = await t.server.app.inject({ method: "GET", url: "/v1/tokens", headers: { authorization: `Bearer ${token}x` } });
    expect(wrong.statusCode).toBe(401);
  });

  it("still refuses a header that is not `Bearer <one token>`", async () => {
    for (const authorization of [`Basic ${t.tokens.admin}`, `Bearer ${t.tokens.admin} extra`, `Bearer`, `Bearer ${t.tokens.admin},x`]) {
      const response = await t.server.app.inject({ method: "GET", url: "/v1/tokens", headers: { authorization } });
      expect(response.statusCode, authorization).toBe(401);
    }
    expect((await t.server.app.inject({ method: "GET", url: "/v1/tokens", headers: { authorization: `bearer  ${t.tokens.admin} ` } })).statusCode).toBe(200);
  });

});

describe("the audit trail", () => {
  it("records what an audited call acted on when its path parameter is not id or name, and the reason given", async () => {
    const response = await t.as("operator", { method: "POST", url: "/v1/test/default%2Fbare-pods/run", payload: { reason: "after the migration" } });
    expect(response.statusCode).toBe(200);
    const entries = await t.agent.storage.listAudit({ limit: 100 });
    expect(entries).toContainEqual(expect.objectContaining({ actor: "operator-token", action: "api POST /v1/test/:policy/run", target: "default/bare-pods", detail: expect.objectContaining({ reason: "after the migration" }) }));
  });
});
