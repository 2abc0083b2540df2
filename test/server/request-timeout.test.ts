import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support.js";

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ config: { server: { requestTimeoutMs: 300 } } });
  await t.server.app.listen({ host: "127.0.0.1", port: 0 });
});

afterAll(async () => {
  await t?.close();
});

/** Sends the headers of a request whose body never comes, and resolves with what the server answers before closing (a slow client, slowloris). */
function trickle(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write("POST /v1/admission/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"apiVersion\":");
    });
    let answer = "";
    socket.on("data", (chunk) => { answer += chunk.toString("utf8"); });
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
    // A server without a request timeout keeps the connection open: the test's own timeout ends it.
    socket.setTimeout(8_000, () => { socket.destroy(); resolve("(still open after 8 s)"); });
  });
}

describe("server.requestTimeoutMs", () => {
  it("ends a request whose body does not arrive within the timeout with 408, so slow clients cannot hold connections open", async () => {
    const port = (t.server.app.server.address() as AddressInfo).port;
    const answer = await trickle(port);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("is a positive number of milliseconds (0 turns it off)", async () => {
    const { parseConfig } = await import("../../src/config.js");
    expect(parseConfig({}).server.requestTimeoutMs).toBe(60_000);
    expect(() => parseConfig({ server: { requestTimeoutMs: -1 } })).toThrow(/requestTimeoutMs/);
  });
});
