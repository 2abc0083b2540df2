import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createServiceCaller } from "./service-caller.js";

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A local service: GET /budgets answers JSON, POST /echo echoes the body and headers, /broken answers 500, /text answers text. */
async function start(): Promise<string> {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => { body += chunk.toString("utf8"); });
    req.on("end", () => {
      if (req.url === "/budgets" && req.method === "GET") {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ data: [{ spendLimit: 100 }] }));
      } else if (req.url === "/echo" && req.method === "POST") {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ got: JSON.parse(body) as unknown, contentType: req.headers["content-type"], token: req.headers["x-token"] }));
      } else if (req.url === "/text") {
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.end("hello");
      } else {
        res.writeHead(500);
        res.end("boom");
      }
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("service calls (apiCall.service)", () => {
  it("GETs and POSTs JSON with the entry's headers, and names what went wrong otherwise", async () => {
    const base = await start();
    const caller = createServiceCaller();
    expect(await caller.call({ method: "GET", url: `${base}/budgets` })).toEqual({ ok: true, body: { data: [{ spendLimit: 100 }] } });
    expect(await caller.call({ method: "POST", url: `${base}/echo`, data: { kind: "Deployment" }, headers: { "x-token": "t" } })).toEqual({ ok: true, body: { got: { kind: "Deployment" }, contentType: "application/json", token: "t" } });
    expect(await caller.call({ method: "GET", url: `${base}/broken` })).toEqual({ ok: false, error: `GET ${base}/broken answered HTTP 500: boom` });
    expect(await caller.call({ method: "GET", url: `${base}/text` })).toEqual({ ok: false, error: `GET ${base}/text answered something other than JSON` });
  });

  it("calls only URLs under `allow` when it is set", async () => {
    const base = await start();
    const caller = createServiceCaller({ allow: [`${base}/budgets`] });
    expect((await caller.call({ method: "GET", url: `${base}/budgets` })).ok).toBe(true);
    expect(await caller.call({ method: "POST", url: `${base}/echo`, data: {} })).toEqual({ ok: false, error: `${base}/echo is not under admission.services.allow` });
  });
});
