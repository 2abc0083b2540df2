/**
 * The supply-chain pack as the agent wires it from configuration, on real payloads: a signed GitHub
 * pull_request webhook (octokit's real payload) reaches `POST /v1/webhooks/github`; the agent's
 * supply-chain enrichment fetches both lockfiles (osv-detector's real 2-package-lock.json as head)
 * through the contents API with the GitHub actuator's token (no `supplyChain.github` set), the
 * pack denies the merge, and — once a person promoted the policy — the failing commit status and
 * the PR comment are posted to a local server speaking GitHub's REST API.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWireServer, type WireServer } from "../../src/act/actuators/test-server.js";
import { signGithubPayload } from "../../src/sources/github.js";
import { startTestServer, type TestServer } from "../server/support.js";
import { packDir } from "./packs-support.js";

const fixtures = new URL("../fixtures/", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, fixtures), "utf8");
const head = read("osv-detector-lockfiles/locks-e2e/2-package-lock.json");
const base = (() => {
  const lock = JSON.parse(head) as { packages: Record<string, { dependencies?: Record<string, string> }> };
  delete lock.packages["node_modules/axios"];
  delete lock.packages[""]?.dependencies?.["axios"];
  return JSON.stringify(lock, null, 2);
})();
const payloadText = read("octokit-webhooks-examples/pull_request/00-opened.json");
const payload = JSON.parse(payloadText) as { pull_request: { head: { sha: string }; base: { sha: string } } };
const SECRET = "webhook-secret-for-e2e";

let github: WireServer;
let t: TestServer;

beforeAll(async () => {
  github = await startWireServer();
  github.authenticate((request) => (request.header("authorization")?.match(/^(Bearer|token) ghs_e2e$/) ? undefined : "bad credentials"), () => ({ status: 401, body: { message: "Bad credentials" } }));
  github.on("GET", "/repos/:owner/:repo/contents/:path", (request) => {
    const sha = request.query.get("ref");
    if (request.params["path"] !== "package-lock.json") return { status: 404, body: { message: "Not Found" } };
    if (sha === payload.pull_request.head.sha) return { status: 200, body: head };
    if (sha === payload.pull_request.base.sha) return { status: 200, body: base };
    return { status: 404, body: { message: "No commit found for the ref" } };
  });
  github.on("GET", "/repos/:owner/:repo/commits/:sha/status", () => ({ status: 200, body: { state: "success", statuses: [], sha: payload.pull_request.head.sha, total_count: 0 } }));
  github.on("POST", "/repos/:owner/:repo/statuses/:sha", (request) => ({ status: 201, body: { id: 1, ...(JSON.parse(request.text) as object) } }));
  github.on("GET", "/repos/:owner/:repo/issues/:number/comments", () => ({ status: 200, body: [] }));
  github.on("POST", "/repos/:owner/:repo/issues/:number/comments", () => ({ status: 201, body: { id: 7, html_url: "https://github.example/c/7" } }));
  t = await startTestServer({
    config: {
      policies: [packDir("supply-chain")],
      actuators: { github: { token: "ghs_e2e", baseUrl: github.url } },
      webhooks: { github: { secrets: [SECRET] } },
    },
    start: true,
  });
});

afterAll(async () => {
  await t?.close();
  await github?.close();
});

describe("a GitHub pull request through the agent's supply-chain wiring", () => {
  it("fetches the lockfiles with the configured token, denies the merge, and posts the status and comment once promoted", async () => {
    expect(t.agent.supplyChain).toBeDefined();
    const promoted = await t.as("approver", { method: "POST", url: "/v1/policies/supply-chain-vulnerable-dependency/promote", payload: { reason: "reviewed the dry runs" } });
    expect(promoted.statusCode).toBe(200);
    const delivered = await t.server.app.inject({
      method: "POST", url: "/v1/webhooks/github", payload: payloadText,
      headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": "e2e-delivery-1", "x-hub-signature-256": signGithubPayload(SECRET, payloadText) },
    });
    expect(delivered.statusCode).toBe(202);
    await t.agent.ingestor.idle();
    const [decision] = await t.agent.storage.listDecisions({ limit: 10 });
    expect(decision).toMatchObject({ eventType: "com.github.pull_request", verdict: "deny", tier: "block" });
    expect(decision!.findings.filter((f) => f.effect === "violation").map((f) => f.message)).toEqual([expect.stringMatching(/^1 high-severity vulnerable dependency introduced: axios@0\.21\.1 x_retire-axios-0 — upgrade to 0\.21\.3/)]);
    const records = await t.agent.executor.listActions({ decisionId: decision!.id });
    expect(Object.fromEntries(records.map((r) => [r.actuator, r.status]))).toEqual({ "github.commit-status": "applied", "github.pr-comment": "applied" });
    const posted = github.mutatingRequests().map((r) => `${r.method} ${r.path}`);
    expect(posted).toEqual([`POST /repos/Codertocat/Hello-World/statuses/${payload.pull_request.head.sha}`, "POST /repos/Codertocat/Hello-World/issues/2/comments"]);
    const status = JSON.parse(github.mutatingRequests()[0]!.text) as { state: string; context: string };
    expect(status).toMatchObject({ state: "failure", context: "vigil/supply-chain" });
    // The settings' lockfile names at both commits (package-lock.json is there; the others answer 404).
    const fetched = github.requests.filter((r) => r.path.endsWith("/contents/package-lock.json")).map((r) => r.query.get("ref")).sort();
    expect(fetched).toEqual([payload.pull_request.base.sha, payload.pull_request.head.sha].sort());
    expect(github.problems).toEqual([]);
  });
});
