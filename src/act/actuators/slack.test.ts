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
    const actuator = createSlackActuator({ webhooks: { default: `${url}${HOOK}` }, maxAttempts: 2 }, testRuntime());
    const result = await actuator.apply(testPlan("slack.message", { text: "hi" }), { dryRun: false });
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/^slack\.message apply failed: Slack webhook "default" request POST \(the webhook URL is a secret\) got no response after 2 attempt\(s\): /);
    expect(JSON.stringify(result)).not.toContain("XXXXXXXX");
    expect(JSON.stringify(result)).not.toContain("T00000000");
  });

  it("retries a 500 and then succeeds", async () => {
    let calls = 0;
    server.on("POST", HOOK, () => {
      calls += 1;
      return calls === 1 ? { status: 500, body: "rollup_error" } : { status: 200, body: "ok" };
    });
    const runtime = testRuntime();
    const result = await make(runtime).apply(testPlan("slack.message", { text: "hi" }), { dryRun: false });
    expect(result.status).toBe("applied");
    expect(runtime.sleeps).toEqual([500]);
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

  it("requires text and rejects blocks that are not an array", () => {
    const actuator = make();
    expect(() => actuator.validate({})).toThrowError(/params\.text is required/);
    expect(() => actuator.validate({ text: "x", blocks: {} })).toThrowError(/params\.blocks must be an array/);
  });
});
