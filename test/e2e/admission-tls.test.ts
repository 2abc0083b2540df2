/**
 * The admission webhook as the API server reaches it: HTTPS with the configured certificate and
 * key (a self-signed certificate made for the test with openssl), a listening server, and the
 * failure policy applied when the decision record itself fails underneath.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent, createManualClock, type Agent } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { admissionRoutes } from "../../src/server/admission.js";
import { buildServer, type VigilServer } from "../../src/server/app.js";
import { admissionReview, pssDir, selfSignedCertificate, tempDir, yamlDocuments, type KubeObject } from "./admission-support.js";

const pods = yamlDocuments(join(pssDir, "../pods/pod-bad.yaml"));
const good = yamlDocuments(join(pssDir, "../pods/pod-good.yaml"))[0] as KubeObject;
const apparmor = pods.find((p) => (p["metadata"] as { name: string }).name === "badpod12") as KubeObject;

function post(port: number, ca: string, body: unknown): Promise<{ status: number; body: any; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request({ host: "127.0.0.1", port, path: "/v1/admission/validate", method: "POST", ca, servername: "localhost", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (res) => {
      const authorized = (res.socket as TLSSocket).authorized;
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), authorized }));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

describe("HTTPS with the configured certificate", () => {
  let agent: Agent;
  let server: VigilServer;
  let port: number;
  let ca: string;

  beforeAll(async () => {
    const tls = selfSignedCertificate();
    ca = readFileSync(tls.cert, "utf8");
    const dir = tempDir();
    agent = await createAgent(parseConfig({ policies: [pssDir], store: { path: join(dir, "vigil.db") }, log: { level: "silent" }, server: { tls: { cert: tls.cert, key: tls.key } } }), { clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: () => undefined });
    server = buildServer({ agent, routes: [admissionRoutes] });
    await server.app.listen({ host: "127.0.0.1", port: 0 });
    port = (server.app.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await server.app.close();
    await agent.close();
  });

  it("serves the webhook over TLS to a client that trusts the certificate (the caBundle)", async () => {
    const allowed = await post(port, ca, admissionReview(good, { uid: "tls-good" }));
    expect(allowed.authorized).toBe(true);
    expect(allowed.body.response).toMatchObject({ uid: "tls-good", allowed: true });
    const denied = await post(port, ca, admissionReview(apparmor, { uid: "tls-bad" }));
    expect(denied.body.response).toMatchObject({ uid: "tls-bad", allowed: false, status: { code: 403 } });
    expect(denied.body.response.status.message).toContain("restrict-apparmor-profiles");
  });

  it("refuses a client that does not trust the certificate", async () => {
    await expect(post(port, "", admissionReview(good))).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });
});

describe("the failure policy when the store fails underneath", () => {
  async function withBrokenStore(failurePolicy: "fail" | "ignore"): Promise<any> {
    const dir = tempDir();
    const agent = await createAgent(parseConfig({ policies: [pssDir], store: { path: join(dir, "vigil.db") }, log: { level: "silent" }, admission: { failurePolicy, timeoutMs: 2000 } }), { clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: () => undefined });
    const server = buildServer({ agent, routes: [admissionRoutes] });
    await server.app.ready();
    await agent.storage.close();
    try {
      const response = await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview(good, { uid: `broken-${failurePolicy}` }) });
      expect(response.statusCode).toBe(200);
      return response.json();
    } finally {
      await server.app.close();
      await agent.close().catch(() => undefined);
    }
  }

  it("fails closed (admission.failurePolicy fail): with the store closed, even a compliant pod is denied", async () => {
    const body = await withBrokenStore("fail");
    expect(body.response).toMatchObject({ uid: "broken-fail", allowed: false });
    expect(body.response.status.code).toBe(500);
    expect(body.response.status.message).toMatch(/denied because admission.failurePolicy is fail/);
  });

  it("fails open (admission.failurePolicy ignore): allowed, with a warning saying why", async () => {
    const body = await withBrokenStore("ignore");
    expect(body.response).toMatchObject({ uid: "broken-ignore", allowed: true });
    expect(body.response.warnings.join("\n")).toMatch(/allowed because admission.failurePolicy is ignore/);
  });
});
