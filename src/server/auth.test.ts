import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../test/server/support.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({});
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
