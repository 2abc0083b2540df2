import { deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketPolicy, publicRequest, startTestServer, type TestServer } from "./support.js";

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ files: { "p.yaml": bucketPolicy }, config: { server: { bodyLimit: 64 * 1024 } } });
});

afterAll(async () => {
  await t.close();
});

describe("a compressed body (Content-Encoding)", () => {
  it("gzip and deflate bodies are read (log shippers compress batches), on the event intake and the JSON routes", async () => {
    const batch = JSON.stringify([{ specversion: "1.0", id: "gz-1", source: "shipper", type: "dev.vigil.test" }, { specversion: "1.0", id: "gz-2", source: "shipper", type: "dev.vigil.test" }]);
    const events = await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents-batch+json", "content-encoding": "gzip" }, payload: gzipSync(batch) });
    expect(events.statusCode).toBe(202);
    expect(events.json().accepted).toBe(2);
    const decide = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json", "content-encoding": "deflate" }, payload: deflateSync(JSON.stringify({ input: publicRequest })) });
    expect(decide.statusCode).toBe(200);
    expect(decide.json().verdict).toBe("deny");
  });

  it("a coding Vigil does not read is 415 naming Content-Encoding and what to send", async () => {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json", "content-encoding": "br" }, payload: "not really brotli" });
    expect(response.statusCode).toBe(415);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "content-encoding" });
    expect(response.json().error.message).toMatch(/Content-Encoding br is not accepted: send the body uncompressed, or gzip or deflate/);
  });

  it("a body that does not decompress is 400 naming Content-Encoding, not a JSON syntax error", async () => {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json", "content-encoding": "gzip" }, payload: JSON.stringify({ input: {} }) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "content-encoding" });
    expect(response.json().error.message).toContain("is not gzip");
  });

  it("server.bodyLimit applies to the decompressed body (a small gzip of a large body is 413)", async () => {
    const large = JSON.stringify({ input: { blob: "x".repeat(200 * 1024) } });
    const compressed = gzipSync(large);
    expect(compressed.length).toBeLessThan(64 * 1024);
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json", "content-encoding": "gzip" }, payload: compressed });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.field).toBe("body");
  });
});

describe("a request without a body", () => {
  it("is served whatever Content-Encoding a client sets on every call (a session header meant for its uploads), as there is nothing to decode", async () => {
    for (const coding of ["br", "gzip"]) {
      const list = await t.as("viewer", { method: "GET", url: "/v1/decisions", headers: { "content-encoding": coding } });
      expect(list.statusCode, `GET with ${coding}: ${list.body}`).toBe(200);
      const approve = await t.as("approver", { method: "POST", url: "/v1/reviews/RV-none/approve", headers: { "content-encoding": coding } });
      expect(approve.statusCode, `POST without a body with ${coding}: ${approve.body}`).toBe(404);
    }
  });
});
