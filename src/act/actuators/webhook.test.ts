import { createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isVigilError } from "../../core/index.js";
import { startWireServer, testPlan, testRuntime } from "./test-server.js";
import type { WireRequest, WireServer } from "./test-server.js";
import { createWebhookActuator } from "./webhook.js";
import { signWebhook, verifyWebhookSignature } from "./webhook-signature.js";

const SECRET = "whsec-test-7d1f";
const NOW = new Date("2025-03-01T12:00:00Z");

/** What a receiver does: recompute the HMAC over `<timestamp>.<raw body>` with node:crypto. */
function signatureProblem(request: WireRequest): string | undefined {
  const timestamp = request.header("x-vigil-timestamp");
  const signature = request.header("x-vigil-signature-256");
  if (timestamp === undefined || signature === undefined) return "missing signature headers";
  const expected = `sha256=${createHmac("sha256", SECRET).update(`${timestamp}.`).update(request.rawBody).digest("hex")}`;
  if (signature !== expected) return `bad signature ${signature}`;
  if (Math.abs(Number(timestamp) - NOW.getTime() / 1000) > 300) return "stale timestamp";
  return undefined;
}

describe("webhook.post", () => {
  let server: WireServer;
  beforeEach(async () => {
    server = await startWireServer();
    server.authenticate(signatureProblem, (reason) => ({ status: 401, body: { error: reason } }));
  });
  afterEach(() => server.close());

  const make = (runtime = testRuntime(NOW), extra: { maxAttempts?: number } = {}) =>
    createWebhookActuator({ endpoints: { default: { url: `${server.url}/hooks/vigil`, secret: SECRET, headers: { "x-tenant": "acme" } } }, ...extra }, runtime);

  it("posts a signed JSON body with timestamp, delivery and idempotency headers", async () => {
    server.on("POST", "/hooks/vigil", () => ({ status: 202, body: { accepted: true } }));
    const plan = testPlan("webhook.post", { event: "bucket.public", payload: { bucket: "logs" } }, { reason: "public bucket" });
    const result = await make().apply(plan, { dryRun: false });

    expect(server.problems).toEqual([]);
    expect(result.status).toBe("applied");
    expect(result.output).toMatchObject({ endpoint: "default", httpStatus: 202, attempts: 1, response: { accepted: true } });
    const [request] = server.requests;
    expect(request?.header("content-type")).toBe("application/json");
    expect(request?.header("x-vigil-timestamp")).toBe(String(NOW.getTime() / 1000));
    expect(request?.header("idempotency-key")).toBe("idem-0001");
    expect(request?.header("x-vigil-delivery")).toBe("act-0001");
    expect(request?.header("x-vigil-event")).toBe("bucket.public");
    expect(request?.header("x-tenant")).toBe("acme");
    expect(request?.json()).toEqual({
      type: "vigil.action.apply",
      event: "bucket.public",
      action: { id: "act-0001", decisionId: "dec-0001", policy: "test-policy", target: { kind: "resource", id: "target-1" }, idempotencyKey: "idem-0001", reason: "public bucket" },
      payload: { bucket: "logs" },
    });
    // Not reversible unless the params say the receiver understands undo.
    expect(result.undo).toBeUndefined();
  });

  it("configured headers written in another case do not double the ones Vigil sets (Content-Type sent once; the signature and key stay Vigil's)", async () => {
    server.on("POST", "/hooks/vigil", (request) => (request.header("content-type") === "application/json" ? { status: 200, body: {} } : { status: 415, body: { error: `unsupported content-type ${request.header("content-type") ?? ""}` } }));
    const headers = { "Content-Type": "application/json", "Idempotency-key": "mine", "X-VIGIL-DELIVERY": "forged", Authorization: "Bearer receiver-token" };
    const actuator = createWebhookActuator({ endpoints: { default: { url: `${server.url}/hooks/vigil`, secret: SECRET, headers } } }, testRuntime(NOW));
    const result = await actuator.apply(testPlan("webhook.post", {}), { dryRun: false });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe("applied");
    const [request] = server.requests;
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["idempotency-key"]).toBe("idem-0001");
    expect(request?.headers["x-vigil-delivery"]).toBe("act-0001");
    expect(request?.headers["authorization"]).toBe("Bearer receiver-token");
  });

  it("a receiver with another secret rejects the request, and the result names the answer", async () => {
    server.on("POST", "/hooks/vigil", () => ({ status: 200, body: {} }));
    const actuator = createWebhookActuator({ endpoints: { default: { url: `${server.url}/hooks/vigil`, secret: "wrong" } } }, testRuntime(NOW));
    const result = await actuator.apply(testPlan("webhook.post", {}), { dryRun: false });
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/HTTP 401/);
    expect(server.problems[0]).toMatch(/bad signature/);
  });

  it("retries 5xx with backoff, same delivery id and key, re-signed each attempt", async () => {
    let calls = 0;
    server.on("POST", "/hooks/vigil", () => {
      calls += 1;
      return calls < 3 ? { status: 503, body: "busy" } : { status: 200, body: "" };
    });
    const runtime = testRuntime(NOW);
    const result = await make(runtime).apply(testPlan("webhook.post", {}), { dryRun: false });
    expect(result.status).toBe("applied");
    expect(result.output?.["attempts"]).toBe(3);
    expect(runtime.sleeps).toEqual([500, 1000]);
    expect(new Set(server.requests.map((request) => request.header("idempotency-key")))).toEqual(new Set(["idem-0001"]));
    expect(new Set(server.requests.map((request) => request.header("x-vigil-delivery")))).toEqual(new Set(["act-0001"]));
    expect(server.problems).toEqual([]);
  });

  it("honours Retry-After on 429 and gives up after maxAttempts with a failed result", async () => {
    server.on("POST", "/hooks/vigil", () => ({ status: 429, headers: { "retry-after": "7" }, body: "slow down" }));
    const runtime = testRuntime(NOW);
    const result = await make(runtime, { maxAttempts: 2 }).apply(testPlan("webhook.post", {}), { dryRun: false });
    expect(result.status).toBe("failed");
    expect(result.error).toBe('webhook.post apply failed: webhook endpoint "default" answered HTTP 429 after 2 attempt(s): slow down');
    expect(runtime.sleeps).toEqual([7000]);
    expect(server.requests).toHaveLength(2);
  });

  it("does not retry a 4xx", async () => {
    server.on("POST", "/hooks/vigil", () => ({ status: 400, body: { error: "unknown event" } }));
    const result = await make().apply(testPlan("webhook.post", {}), { dryRun: false });
    expect(result.status).toBe("failed");
    expect(result.output).toEqual({ status: 400 });
    expect(server.requests).toHaveLength(1);
  });

  it("reports an unreachable receiver as a failed result, not a rejection", async () => {
    const url = server.url;
    await server.close();
    // Some receivers (Discord, Teams, Zapier, chat-ops bridges) take the URL path as their secret.
    const actuator = createWebhookActuator({ endpoints: { default: { url: `${url}/hooks/9f86d081884c7d659a2feaa0c55ad015?token=a3f5`, secret: SECRET } }, maxAttempts: 2 }, testRuntime(NOW));
    const result = await actuator.apply(testPlan("webhook.post", {}), { dryRun: false });
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/^webhook\.post apply failed: webhook endpoint "default" request POST \(the webhook URL is a secret\) got no response after 2 attempt\(s\): /);
    expect(JSON.stringify(result)).not.toContain("9f86d081");
    expect(JSON.stringify(result)).not.toContain("a3f5");
    server = await startWireServer();
  });

  it("dry-run sends nothing and shows the body", async () => {
    const result = await make().apply(testPlan("webhook.post", { payload: { a: 1 } }), { dryRun: true });
    expect(result.status).toBe("dry-run");
    expect(result.output).toMatchObject({ dryRun: true, endpoint: "default", wouldPost: { type: "vigil.action.apply", payload: { a: 1 } } });
    expect(server.requests).toHaveLength(0);
  });

  it("undo of a reversible delivery posts a signed vigil.action.undo", async () => {
    server.on("POST", "/hooks/vigil", () => ({ status: 200, body: "" }));
    const actuator = make();
    const plan = testPlan("webhook.post", { reversible: true });
    const applied = await actuator.apply(plan, { dryRun: false });
    expect(applied.undo).toEqual({ actuator: "webhook.post", params: { delivery: "act-0001" } });
    const undone = await actuator.undo(plan, applied);
    expect(undone.status).toBe("undone");
    const undoRequest = server.requests[1];
    expect(undoRequest?.json()).toMatchObject({ type: "vigil.action.undo", undoes: { delivery: "act-0001" } });
    expect(undoRequest?.header("idempotency-key")).toBe("idem-0001:undo");
    expect(undoRequest?.header("x-vigil-delivery")).toBe("act-0001:undo");
    expect(server.problems).toEqual([]);
  });

  it("undo without recorded undo data is skipped", async () => {
    server.on("POST", "/hooks/vigil", () => ({ status: 200, body: "" }));
    const actuator = make();
    const plan = testPlan("webhook.post", {});
    const applied = await actuator.apply(plan, { dryRun: false });
    const undone = await actuator.undo(plan, applied);
    expect(undone.status).toBe("skipped");
    expect(server.requests).toHaveLength(1);
  });

  it("validates params and names the field; an unknown endpoint fails the action", async () => {
    const actuator = make();
    expect(() => actuator.validate({ event: "bad event!" })).toThrowError(/params\.event/);
    try {
      actuator.validate({ payload: "text" });
      expect.unreachable();
    } catch (error) {
      expect(isVigilError(error) && error.code).toBe("VIGIL_BAD_INPUT");
      expect(isVigilError(error) && error.details.field).toBe("params.payload");
    }
    const result = await actuator.apply(testPlan("webhook.post", { endpoint: "nope" }), { dryRun: false });
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/params\.endpoint "nope" is not configured/);
    // A name every object has is not a configured endpoint either (not Object's constructor, sent nowhere).
    for (const name of ["constructor", "toString", "__proto__"]) {
      const inherited = await actuator.apply(testPlan("webhook.post", { endpoint: name }), { dryRun: false });
      expect(inherited.error).toBe(`webhook.post apply failed: webhook.post: params.endpoint "${name}" is not configured; known endpoints: default`);
    }
    expect(server.requests).toHaveLength(0);
  });

  it("an endpoint URL that is not a URL is refused naming the field, without the URL (receivers may take a secret in its path or query)", () => {
    let message = "";
    try {
      createWebhookActuator({ endpoints: { ops: { url: "soar.example.test/in?token=Zk3yS3cr3t", secret: "s" } } }, testRuntime());
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    expect(message).toMatch(/^actuators\.webhook\.endpoints\.ops\.url must be an absolute URL/);
    expect(message).not.toContain("Zk3yS3cr3t");
  });

  it("rejects a config without a secret, naming the field", () => {
    expect(() => createWebhookActuator({ endpoints: { ops: { url: "https://example.test/h", secret: "" } } }, testRuntime())).toThrowError(
      /actuators\.webhook\.endpoints\.ops\.secret is required/,
    );
  });
});

describe("verifyWebhookSignature", () => {
  const body = '{"a":1}';
  const timestamp = String(NOW.getTime() / 1000);
  const signature = signWebhook(SECRET, Number(timestamp), body);

  it("accepts a valid signature within the window", () => {
    expect(verifyWebhookSignature({ secret: SECRET, rawBody: body, signature, timestamp, now: NOW })).toEqual({ ok: true });
  });
  it("rejects a changed body, a changed timestamp and a replay outside the window", () => {
    expect(verifyWebhookSignature({ secret: SECRET, rawBody: '{"a":2}', signature, timestamp, now: NOW }).ok).toBe(false);
    expect(verifyWebhookSignature({ secret: SECRET, rawBody: body, signature, timestamp: String(Number(timestamp) + 1), now: NOW }).ok).toBe(false);
    const later = new Date(NOW.getTime() + 301_000);
    expect(verifyWebhookSignature({ secret: SECRET, rawBody: body, signature, timestamp, now: later }).reason).toMatch(/replay/);
    expect(verifyWebhookSignature({ secret: SECRET, rawBody: body, signature: undefined, timestamp, now: NOW }).ok).toBe(false);
  });
});
