import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../test/server/support.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({});
});
afterAll(async () => {
  await t.close();
});

describe("errors name the field at fault", () => {
  it("a body that is not valid JSON is 400 with field body", async () => {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json" }, payload: '{"input": {' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "body" });
  });

  it("an empty JSON body is 400 with field body", async () => {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json" }, payload: "" });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "body" });
  });

  it("a schema violation names the property", async () => {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: {}, explain: "yes" } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.field).toBe("explain");
  });
});

describe("a body over server.bodyLimit", () => {
  it("is 413 with field body", async () => {
    const small = await startTestServer({ config: { server: { bodyLimit: 1024 } } });
    try {
      const response = await small.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: { blob: "x".repeat(4096) } } });
      expect(response.statusCode).toBe(413);
      expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "body" });
    } finally {
      await small.close();
    }
  });
});
