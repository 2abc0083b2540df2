import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createAgent, decisionIdFor } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { signGithubPayload } from "../../src/sources/index.js";
import { startTestServer, type TestServer } from "./support.js";

const fixtures = join(import.meta.dirname, "..", "fixtures");
const policies = { "s3.yaml": readFileSync(join(fixtures, "e2e-policies", "s3-public-access-block.yaml"), "utf8"), "custom.yaml": readFileSync(join(fixtures, "e2e-policies", "custom-events.yaml"), "utf8") };

/** Panther's CloudTrail test records (real shapes), by rule and test name. */
function cloudTrail(rule: string, test: string): Record<string, unknown> {
  for (const line of readFileSync(join(fixtures, "panther-analysis-rules", "cloudtrail-tests.jsonl"), "utf8").split("\n")) {
    if (!line) continue;
    const item = JSON.parse(line) as { rule: string; test: string; log: Record<string, unknown> };
    if (item.rule === rule && item.test === test) return item.log;
  }
  throw new Error(`no fixture ${rule} / ${test}`);
}

const deleted = cloudTrail("AWS.S3.DeletePublicAccessBlock", "Public Access Block Deleted Successfully");
const failed = cloudTrail("AWS.S3.DeletePublicAccessBlock", "Public Access Block Deletion Failed");
const ce = (id: string, type: string, data: unknown, extra: Record<string, unknown> = {}) => ({ specversion: "1.0", id, source: "/test", type, data, ...extra });

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("POST /v1/events", () => {
  it("persists before answering, decides each event once with its announced decision id, and explains it", async () => {
    t = await startTestServer({ files: policies, start: true });
    const response = await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents+json" }, payload: ce("ct-1", "com.amazonaws.cloudtrail", deleted) });
    expect(response.statusCode).toBe(202);
    const item = response.json().results[0];
    expect(item).toMatchObject({ index: 0, status: "accepted", id: "ct-1", decisionId: decisionIdFor({ source: "/test", id: "ct-1" }) });
    expect(await t.agent.storage.countEvents()).toBe(1);
    await t.agent.ingestor.idle();
    const explained = (await t.as("viewer", { method: "GET", url: `/v1/decisions/${item.decisionId}/explain` })).json();
    expect(explained.verdict).toBe("deny");
    expect(explained.tier).toBe("approve");
    expect(explained.explanation.summary).toContain("S3 Block Public Access removed from bucket corporate-documents");
    expect(await t.agent.storage.pendingEvents(10)).toEqual([]);
  });

  it("reports each bad item of a batch by index and keeps the good ones (207); duplicates are not decided twice", async () => {
    t = await startTestServer({ files: policies, start: true });
    const batch = [ce("b-1", "com.amazonaws.cloudtrail", failed), { specversion: "1.0", id: "b-2", type: "x" }, ce("b-3", "dev.vigil.metric", { resource: "i-1", metric: "cpu", value: "high", unit: "percent", ts: "2025-03-03T10:00:00Z" }), ce("b-4", "com.example.widget", { environment: "production", action: "delete", widget: "w-9" })];
    const response = await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents-batch+json" }, payload: batch });
    expect(response.statusCode).toBe(207);
    const body = response.json();
    expect(body).toMatchObject({ mode: "batch", accepted: 2, rejected: 2, duplicates: 0 });
    expect(body.results.map((r: { index: number; status: string }) => [r.index, r.status])).toEqual([[0, "accepted"], [1, "rejected"], [2, "rejected"], [3, "accepted"]]);
    expect(body.results[1].error.field).toBe("source");
    expect(body.results[2].error.field).toBe("data.value");
    const again = await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents-batch+json" }, payload: [batch[0]] });
    expect(again.statusCode).toBe(202);
    expect(again.json().results[0].status).toBe("duplicate");
    await t.agent.ingestor.idle();
    const decisions = await t.agent.storage.listDecisions({ limit: 10 });
    expect(decisions.map((d) => d.eventId).sort()).toEqual(["b-1", "b-4"]);
    // The unknown type was stored and evaluated by the policy that matches it.
    const widget = decisions.find((d) => d.eventId === "b-4");
    expect(widget?.findings).toContainEqual(expect.objectContaining({ policy: "example-widget-deleted", effect: "violation" }));
  });

  it("answers 400 with every item's error when nothing was accepted, and 400 for an unusable body", async () => {
    t = await startTestServer({ files: policies });
    const none = await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents-batch+json" }, payload: [{ id: "x" }] });
    expect(none.statusCode).toBe(400);
    expect(none.json().results[0].status).toBe("rejected");
    const notJson = await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents-batch+json" }, payload: "[{" });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error.field).toBe("body");
  });

  it("takes binary mode (ce-* headers)", async () => {
    t = await startTestServer({ files: policies, start: true });
    const response = await t.as("ingest", {
      method: "POST", url: "/v1/events",
      headers: { "content-type": "application/json", "ce-specversion": "1.0", "ce-id": "bin-1", "ce-source": "/widgets", "ce-type": "com.example.widget" },
      payload: JSON.stringify({ environment: "production", action: "delete", widget: "w-2" }),
    });
    expect(response.statusCode).toBe(202);
    expect(response.json().mode).toBe("binary");
    await t.agent.ingestor.idle();
    const [decision] = await t.agent.storage.listDecisions({ eventId: "bin-1" });
    expect(decision?.verdict).toBe("allow");
    expect(decision?.findings[0]?.message).toBe("widget w-2 deleted in production");
  });

  it("refuses a binary-mode event whose ce- attribute header is sent twice (over real HTTP, where Node joins repeated headers into one value)", async () => {
    t = await startTestServer({ files: policies });
    const address = await t.server.app.listen({ port: 0, host: "127.0.0.1" });
    const token = (await t.agent.tokens.create({ name: "twice", roles: ["ingest"] }, "test")).token;
    const send = (headers: Record<string, string | string[]>): Promise<{ status: number; body: { error?: { message: string; field?: string }; results?: { errors?: { field: string; message: string }[] }[] } }> => new Promise((resolve, reject) => {
      const request = httpRequest(`${address}/v1/events`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "ce-specversion": "1.0", "ce-source": "/widgets", "ce-type": "com.example.widget", ...headers } }, (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => { text += chunk; });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as never }));
      });
      request.on("error", reject);
      request.end(JSON.stringify({ widget: "w-9" }));
    });
    const twice = await send({ "ce-id": ["dup-1", "dup-2"] });
    expect(twice.status).toBe(400);
    expect(JSON.stringify(twice.body)).toContain("ce-id appears 2 times");
    expect(await t.agent.storage.countEvents()).toBe(0);
    const once = await send({ "ce-id": "single-1" });
    expect(once.status).toBe(202);
    expect(await t.agent.storage.countEvents()).toBe(1);
  });

  it("answers 429 with Retry-After when the queue is full, storing nothing of that request", async () => {
    t = await startTestServer({ files: policies, config: { ingest: { queueCapacity: 3, retryAfterSeconds: 7 } } });
    // Not started: nothing is processed, so the queue fills up.
    const first = await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents-batch+json" }, payload: [ce("q-1", "com.example.a", {}), ce("q-2", "com.example.a", {})] });
    expect(first.statusCode).toBe(202);
    const full = await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents-batch+json" }, payload: [ce("q-3", "com.example.a", {}), ce("q-4", "com.example.a", {})] });
    expect(full.statusCode).toBe(429);
    expect(full.headers["retry-after"]).toBe("7");
    expect(full.json().error.code).toBe("VIGIL_BACKPRESSURE");
    expect(await t.agent.storage.countEvents()).toBe(2);
    await t.agent.start();
    await t.agent.ingestor.idle();
    const retried = await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents-batch+json" }, payload: [ce("q-3", "com.example.a", {}), ce("q-4", "com.example.a", {})] });
    expect(retried.statusCode).toBe(202);
  });

  it("posture events set the posture; feedback events are recorded", async () => {
    t = await startTestServer({ files: policies, start: true });
    await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: { x: 1 } } });
    const [decision] = await t.agent.storage.listDecisions({ limit: 1 });
    const batch = [
      ce("p-1", "dev.vigil.posture", { level: "incident", reason: "INC-7 credential leak" }),
      ce("f-1", "dev.vigil.feedback", { decisionId: decision?.id, label: "false_positive", by: "alice", reason: "test data" }),
    ];
    expect((await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents-batch+json" }, payload: batch })).statusCode).toBe(202);
    await t.agent.ingestor.idle();
    await t.agent.pipeline.flushContext();
    const postures = (await t.as("viewer", { method: "GET", url: "/v1/posture" })).json().postures;
    expect(postures).toContainEqual(expect.objectContaining({ scope: "org", level: "incident", reason: "INC-7 credential leak" }));
    const feedback = (await t.as("viewer", { method: "GET", url: `/v1/feedback?decisionId=${decision?.id}` })).json().feedback;
    expect(feedback).toEqual([expect.objectContaining({ label: "false_positive", by: "alice", via: "event" })]);
  });

  it("a feedback event by the name of a viewer's token, in another case, is the viewer (refused), not an unknown person", async () => {
    t = await startTestServer({ files: policies, start: true });
    await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: { x: 1 } } });
    const [decision] = await t.agent.storage.listDecisions({ limit: 1 });
    const batch = [
      ce("f-2", "dev.vigil.feedback", { decisionId: decision?.id, label: "false_positive", by: " Viewer-Token", reason: "not mine to say" }),
      ce("f-3", "dev.vigil.feedback", { decisionId: decision?.id, label: "true_positive", by: "Approver-Token", reason: "confirmed" }),
    ];
    expect((await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents-batch+json" }, payload: batch })).statusCode).toBe(202);
    await t.agent.ingestor.idle();
    const feedback = (await t.as("viewer", { method: "GET", url: `/v1/feedback?decisionId=${decision?.id}` })).json().feedback as { by: string; label: string }[];
    expect(feedback.map((f) => [f.by, f.label])).toEqual([["Approver-Token", "true_positive"]]);
  });
});

describe("POST /v1/webhooks/github", () => {
  const payload = readFileSync(join(fixtures, "octokit-webhooks-examples", "pull_request", "00-opened.json"), "utf8");
  const headers = (secret: string, delivery: string, body = payload) => ({ "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": delivery, "x-hub-signature-256": signGithubPayload(secret, body) });

  it("verifies the signature, stores the event, and rejects a replayed delivery — also after a restart", async () => {
    t = await startTestServer({ files: policies, config: { webhooks: { github: { secrets: ["new-secret", "old-secret"] } } }, start: true });
    const ok = await t.server.app.inject({ method: "POST", url: "/v1/webhooks/github", headers: headers("old-secret", "d-1"), payload });
    expect(ok.statusCode).toBe(202);
    expect(ok.json().type).toBe("com.github.pull_request");
    const replay = await t.server.app.inject({ method: "POST", url: "/v1/webhooks/github", headers: headers("old-secret", "d-1"), payload });
    expect(replay.statusCode).toBe(409);
    const forged = await t.server.app.inject({ method: "POST", url: "/v1/webhooks/github", headers: headers("wrong", "d-2"), payload });
    expect(forged.statusCode).toBe(401);
    expect(forged.json().error.field).toBe("x-hub-signature-256");
    const tampered = await t.server.app.inject({ method: "POST", url: "/v1/webhooks/github", headers: headers("new-secret", "d-3"), payload: payload.replace("opened", "closed") });
    expect(tampered.statusCode).toBe(401);
    await t.agent.ingestor.idle();
    expect(await t.agent.storage.countEvents()).toBe(1);
    // A new process on the same store still knows the delivery.
    const config = t.agent.config;
    await t.close();
    const again = await createAgent(parseConfig({ ...config, policies: [] }), { onProblem: () => undefined });
    expect(await again.deliveries.remember("d-1")).toBe(false);
    expect(await again.deliveries.remember("d-2")).toBe(true);
    await again.close();
    t = undefined;
  });

  it("a delivery whose id was remembered but whose event never reached the store (storing and forgetting both failed) is accepted on redelivery, then replays are refused", async () => {
    t = await startTestServer({ files: policies, config: { webhooks: { github: { secrets: ["s"] } } }, start: true });
    // The earlier attempt: the id was remembered, then the store failed for the event and for `forget`.
    expect(await t.agent.deliveries.remember("d-lost")).toBe(true);
    expect(await t.agent.storage.countEvents()).toBe(0);
    const redelivered = await t.server.app.inject({ method: "POST", url: "/v1/webhooks/github", headers: headers("s", "d-lost"), payload });
    expect(redelivered.statusCode).toBe(202);
    expect(redelivered.json()).toMatchObject({ id: "d-lost", type: "com.github.pull_request" });
    expect(await t.agent.storage.countEvents()).toBe(1);
    const replay = await t.server.app.inject({ method: "POST", url: "/v1/webhooks/github", headers: headers("s", "d-lost"), payload });
    expect(replay.statusCode).toBe(409);
    expect(replay.json().error.field).toBe("x-github-delivery");
    await t.agent.ingestor.idle();
    expect(await t.agent.storage.countEvents()).toBe(1);
    expect(await t.agent.storage.listDecisions({})).toHaveLength(1);
  });
});
