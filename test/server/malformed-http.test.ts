import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support.js";

let t: TestServer;
let port: number;

beforeAll(async () => {
  t = await startTestServer({ config: { server: { requestTimeoutMs: 300 } } });
  await t.server.app.listen({ host: "127.0.0.1", port: 0 });
  port = (t.server.app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await t?.close();
});

/** Writes raw bytes (requests Node's HTTP parser refuses before any route) and resolves with the status line and the body. */
function exchange(request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    let answer = "";
    socket.on("data", (chunk) => { answer += chunk.toString("utf8"); });
    socket.on("close", () => {
      const [head = "", body = ""] = answer.split("\r\n\r\n");
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body });
    });
    socket.on("error", reject);
    socket.setTimeout(8_000, () => { socket.destroy(); resolve({ status: 0, body: "(still open after 8 s)" }); });
  });
}

const decide = (headers: string, body = '{"input":{}}'): string => `POST /v1/decide HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\nContent-Type: application/json\r\n${headers}\r\n${body}`;

describe("a request Node's HTTP parser refuses", () => {
  it("is answered in Vigil's error shape, naming the part at fault and the fix", async () => {
    const cases: { request: string; status: number; field: string; says: RegExp }[] = [
      { request: decide("Content-Length: 12\r\nContent-Length: 13\r\n"), status: 400, field: "content-length", says: /Duplicate Content-Length.*one Content-Length/ },
      { request: decide("Content-Length: twelve\r\n"), status: 400, field: "content-length", says: /Content-Length/ },
      { request: decide("Transfer-Encoding: chunked\r\n", "zz\r\n"), status: 400, field: "transfer-encoding", says: /chunk/ },
      { request: "GET /v1/decisions HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", status: 400, field: "headers", says: /header/ },
      { request: `GET /v1/decisions HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, status: 431, field: "headers", says: /headers are larger/ },
    ];
    for (const { request, status, field, says } of cases) {
      const answer = await exchange(request);
      expect(answer.status, request.slice(0, 80)).toBe(status);
      const error = (JSON.parse(answer.body) as { error: { code: string; message: string; field: string } }).error;
      expect(error.code).toBe("VIGIL_BAD_INPUT");
      expect(error.field, request.slice(0, 80)).toBe(field);
      expect(error.message).toMatch(says);
    }
  });

  it("a request whose body does not arrive within server.requestTimeoutMs is a 408 naming the setting", async () => {
    const answer = await exchange(`POST /v1/decide HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.tokens.ingest}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"input":`);
    expect(answer.status).toBe(408);
    const error = (JSON.parse(answer.body) as { error: { code: string; message: string; field: string } }).error;
    expect(error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "body" });
    expect(error.message).toMatch(/300 ms \(server\.requestTimeoutMs\)/);
  });
});
