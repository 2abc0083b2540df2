import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSlackActuator } from "./slack.js";
import { startWireServer, testPlan, testRuntime } from "./test-server.js";
import type { WireServer } from "./test-server.js";

// Slack incoming webhooks: the secret is the URL path; success is `200 ok` (text/plain),
// errors are a status code plus an error code as the body.
const HOOK = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";

describe("slack.message", () => {
  let server: WireServer;
  beforeEach(async () => {
    server = await startWireServer();
  });
  afterEach(() => server.close());

  const make = (runtime = testRuntime()) => createSlackActuator({ webhooks: { default: `${server.url}${HOOK}`, ops: `${server.url}/services/T1/B2/ops` } }, runtime);
  const blocks = [{ type: "section", text: { type: "mrkdwn", text: "*Public bucket* `logs` blocked" } }];

  it("posts {text, blocks} as JSON to the chosen webhook", async () => {
    server.on("POST", HOOK, (request) => {
      const body = request.json<{ text?: unknown }>();
      if (request.header("content-type")?.startsWith("application/json") !== true) return { status: 400, body: "invalid_payload" };
      return typeof body.text === "string" ? { status: 200, headers: { "content-type": "text/html" }, body: "ok" } : { status: 400, body: "no_text" };
    });
    const result = await make().apply(testPlan("slack.message", { text: "Public bucket logs blocked", blocks }), { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(result.status).toBe("applied");
    expect(result.output).toEqual({ webhook: "default", httpStatus: 200, response: "ok", attempts: 1 });
    expect(server.requests[0]?.json()).toEqual({ text: "Public bucket logs blocked", blocks });
    expect(result.undo).toBeUndefined();
    expect(JSON.stringify(result)).not.toContain("XXXXXXXX");
  });

  it("chooses a named webhook", async () => {
    server.on("POST", "/services/T1/B2/ops", () => ({ status: 200, body: "ok" }));
    const result = await make().apply(testPlan("slack.message", { text: "hi", webhook: "ops" }), { dryRun: false });
    expect(result.status).toBe("applied");
    expect(server.requests[0]?.path).toBe("/services/T1/B2/ops");
  });

  it("names Slack's error code on a 4xx, without retrying", async () => {
    server.on("POST", HOOK, () => ({ status: 410, body: "channel_is_archived" }));
    const result = await make().apply(testPlan("slack.message", { text: "hi" }), { dryRun: false });
    expect(result.status).toBe("failed");
    expect(result.error).toBe('slack.message apply failed: Slack webhook "default" answered HTTP 410 channel_is_archived');
    expect(result.output).toEqual({ status: 410, apiCode: "channel_is_archived" });
    expect(server.requests).toHaveLength(1);
  });

  it("an unreachable webhook fails without the webhook's secret path in the error", async () => {
    const gone = await startWireServer();
    const url = gone.url;
    await gone.close();
    const runtime = testRuntime();
    const actuator = createSlackActuator({ webhooks: { default: `${url}${HOOK}` }, maxAttempts: 2 }, runtime);
    const result = await actuator.apply(testPlan("slack.message", { text: "hi" }), { dryRun: false });
    expect(result.status).toBe("failed");
    // A refused connection sent nothing: it is retried.
    expect(runtime.sleeps).toEqual([500]);
    expect(result.error).toMatch(/^slack\.message apply failed: Slack webhook "default" request POST \(the webhook URL is a secret\) got no response after 2 attempt\(s\): /);
    expect(JSON.stringify(result)).not.toContain("XXXXXXXX");
    expect(JSON.stringify(result)).not.toContain("T00000000");
  });

  it("does not post again after a 500: Slack cannot deduplicate, and the message may have been posted", async () => {
    let calls = 0;
    server.on("POST", HOOK, () => {
      calls += 1;
      return calls === 1 ? { status: 500, body: "rollup_error" } : { status: 200, body: "ok" };
    });
    const runtime = testRuntime();
    const result = await make(runtime).apply(testPlan("slack.message", { text: "hi" }), { dryRun: false });
    expect(result.status).toBe("failed");
    expect(result.error).toBe('slack.message apply failed: Slack webhook "default" answered HTTP 500 rollup_error (not sent again: Slack cannot tell a repeated message apart, so it may have been posted)');
    expect(server.requests).toHaveLength(1);
    expect(runtime.sleeps).toEqual([]);
  });

  it("does not post again after a timeout: the request may have reached Slack", async () => {
    server.on("POST", HOOK, async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return { status: 200, body: "ok" };
    });
    const runtime = testRuntime();
    const actuator = createSlackActuator({ webhooks: { default: `${server.url}${HOOK}` }, timeoutMs: 150 }, runtime);
    const result = await actuator.apply(testPlan("slack.message", { text: "hi" }), { dryRun: false });
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/^slack\.message apply failed: Slack webhook "default" request POST \(the webhook URL is a secret\) got no response after 1 attempt\(s\) and was not sent again \(it may have reached Slack, which cannot tell a repeated message apart\): /);
    expect(server.requests).toHaveLength(1);
    expect(runtime.sleeps).toEqual([]);
    expect(JSON.stringify(result)).not.toContain("XXXXXXXX");
  });

  it("retries a 429 after Retry-After: Slack rejected it, nothing was posted", async () => {
    let calls = 0;
    server.on("POST", HOOK, () => {
      calls += 1;
      return calls === 1 ? { status: 429, headers: { "retry-after": "2" }, body: "rate_limited" } : { status: 200, body: "ok" };
    });
    const runtime = testRuntime();
    const result = await make(runtime).apply(testPlan("slack.message", { text: "hi" }), { dryRun: false });
    expect(result.status).toBe("applied");
    expect(result.output).toMatchObject({ attempts: 2 });
    expect(runtime.sleeps).toEqual([2000]);
  });

  it("waits until a Retry-After HTTP-date, counted from the response's Date", async () => {
    let calls = 0;
    server.on("POST", HOOK, () => {
      calls += 1;
      return calls === 1 ? { status: 429, headers: { "retry-after": "Fri, 27 Nov 2026 10:00:05 GMT", date: "Fri, 27 Nov 2026 10:00:02 GMT" }, body: "rate_limited" } : { status: 200, body: "ok" };
    });
    const runtime = testRuntime();
    const result = await make(runtime).apply(testPlan("slack.message", { text: "hi" }), { dryRun: false });
    expect(result.status).toBe("applied");
    expect(runtime.sleeps).toEqual([3000]);
  });

  it("dry-run posts nothing", async () => {
    const result = await make().apply(testPlan("slack.message", { text: "hi" }), { dryRun: true });
    expect(result).toMatchObject({ status: "dry-run", output: { dryRun: true, webhook: "default", wouldPost: { text: "hi" } } });
    expect(server.requests).toHaveLength(0);
  });

  it("undo reports that a message is not reversible", async () => {
    server.on("POST", HOOK, () => ({ status: 200, body: "ok" }));
    const actuator = make();
    const plan = testPlan("slack.message", { text: "hi" });
    const applied = await actuator.apply(plan, { dryRun: false });
    const undone = await actuator.undo(plan, applied);
    expect(undone.status).toBe("skipped");
    expect(undone.error).toMatch(/not reversible/);
    expect(undone.output).toEqual({ reversible: false });
    expect(server.requests).toHaveLength(1);
  });

  it("a webhook name every object has (constructor) is not a configured webhook: the action fails saying so and posts nothing", async () => {
    const result = await make().apply(testPlan("slack.message", { text: "hi", webhook: "constructor" }), { dryRun: false });
    expect(result.error).toBe('slack.message apply failed: slack.message: params.webhook "constructor" is not configured; known: default, ops');
    expect(server.requests).toHaveLength(0);
  });

  it("requires text and rejects blocks that are not an array", () => {
    const actuator = make();
    expect(() => actuator.validate({})).toThrowError(/params\.text is required/);
    expect(() => actuator.validate({ text: "x", blocks: {} })).toThrowError(/params\.blocks must be an array/);
  });

  it("a webhook URL that is not a URL (no scheme) is refused naming the field, without the URL: its path is the webhook's secret", () => {
    const secret = "T0000/B0000/Zk3yS3cr3tT0k3n";
    let message = "";
    try {
      createSlackActuator({ webhooks: { default: `hooks.slack.com/services/${secret}` } }, testRuntime());
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    expect(message).toMatch(/^actuators\.slack\.webhooks\.default must be an absolute URL/);
    expect(message).not.toContain("Zk3yS3cr3tT0k3n");
  });
});

