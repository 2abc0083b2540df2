import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Actuator } from "../../core/index.js";
import { commentMarker, createGitHubActuators } from "./github.js";
import { startWireServer, testPlan, testRuntime } from "./test-server.js";
import type { WireRequest, WireServer } from "./test-server.js";

const TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
const SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const API = "https://api.github.com";

interface Status {
  id: number;
  state: string;
  description: string | null;
  target_url: string | null;
  context: string;
}

/** A small GitHub REST API: commit statuses, check runs and issue comments, with GitHub's response shapes and errors. */
class FakeGitHub {
  statuses: Status[] = [];
  checkRuns = new Map<number, Record<string, unknown>>();
  comments: { id: number; body: string }[] = [];
  nextId = 1000;

  constructor(private readonly server: WireServer) {
    server.authenticate(
      (request) => {
        if (request.header("authorization") !== `token ${TOKEN}`) return `bad Authorization ${request.header("authorization") ?? "(none)"}`;
        if (request.header("accept") !== "application/vnd.github.v3+json") return `bad Accept ${request.header("accept") ?? ""}`;
        if (request.header("user-agent")?.startsWith("vigil ") !== true) return `bad User-Agent ${request.header("user-agent") ?? ""}`;
        if (request.method !== "GET" && request.method !== "DELETE" && request.header("content-type") !== "application/json; charset=utf-8") return "bad Content-Type";
        return undefined;
      },
      () => ({ status: 401, body: { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" } }),
    );
    const repoOk = (request: WireRequest) => request.params["owner"] === "octo-org" && request.params["repo"] === "octo-repo";
    const notFound = { status: 404, body: { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" } };
    const invalid = (resource: string, field: string) => ({
      status: 422,
      body: { message: "Validation Failed", errors: [{ resource, field, code: "invalid" }], documentation_url: "https://docs.github.com/rest", status: "422" },
    });

    server.on("POST", "/repos/:owner/:repo/statuses/:sha", (request) => {
      if (!repoOk(request)) return notFound;
      const body = request.json<Record<string, unknown>>();
      if (!["error", "failure", "pending", "success"].includes(String(body["state"]))) return invalid("Status", "state");
      const status: Status = {
        id: this.nextId++,
        state: String(body["state"]),
        description: (body["description"] as string | undefined) ?? null,
        target_url: (body["target_url"] as string | undefined) ?? null,
        context: (body["context"] as string | undefined) ?? "default",
      };
      this.statuses.push(status);
      return {
        status: 201,
        body: { url: `${API}/repos/octo-org/octo-repo/statuses/${request.params["sha"]}`, avatar_url: "https://github.com/images/error/hubot_happy.gif", node_id: "MDY6U3RhdHVzMQ==", ...status, created_at: "2025-03-01T12:00:00Z", updated_at: "2025-03-01T12:00:00Z", creator: { login: "vigil-bot", id: 1, type: "Bot" } },
      };
    });
    server.on("GET", "/repos/:owner/:repo/commits/:ref/status", (request) => {
      if (!repoOk(request)) return notFound;
      const latest = new Map<string, Status>();
      for (const status of this.statuses) latest.set(status.context, status);
      const all = [...latest.values()];
      const state = all.some((status) => status.state === "failure" || status.state === "error") ? "failure" : all.every((status) => status.state === "success") ? "success" : "pending";
      // Paginated as GitHub does: per_page (default 30, at most 100) and page, with a Link header naming the next and last pages.
      const perPage = Math.min(Number(request.query.get("per_page") ?? 30), 100);
      const page = Number(request.query.get("page") ?? 1);
      const statuses = all.slice((page - 1) * perPage, page * perPage);
      const last = Math.max(1, Math.ceil(all.length / perPage));
      const link = (n: number, rel: string): string => `<${API}/repositories/1296269/commits/${SHA}/status?per_page=${perPage}&page=${n}>; rel="${rel}"`;
      const links = [...(page < last ? [link(page + 1, "next"), link(last, "last")] : []), ...(page > 1 ? [link(1, "first"), link(page - 1, "prev")] : [])];
      return { status: 200, headers: links.length > 0 ? { link: links.join(", ") } : {}, body: { state, statuses, sha: request.params["ref"], total_count: all.length, repository: { id: 1296269, full_name: "octo-org/octo-repo" }, commit_url: `${API}/repos/octo-org/octo-repo/commits/${SHA}`, url: `${API}/repos/octo-org/octo-repo/commits/${SHA}/status` } };
    });
    server.on("POST", "/repos/:owner/:repo/check-runs", (request) => {
      if (!repoOk(request)) return notFound;
      const body = request.json<Record<string, unknown>>();
      const output = body["output"] as { title?: string; summary?: string } | undefined;
      if (typeof body["name"] !== "string" || typeof body["head_sha"] !== "string") return invalid("CheckRun", "name");
      if (body["status"] === "completed" && typeof body["conclusion"] !== "string") return invalid("CheckRun", "conclusion");
      if (output !== undefined && (typeof output.title !== "string" || typeof output.summary !== "string")) return invalid("CheckRun", "output");
      const id = this.nextId++;
      const run = { id, head_sha: body["head_sha"], node_id: "MDg6Q2hlY2tSdW40", external_id: body["external_id"] ?? "", url: `${API}/repos/octo-org/octo-repo/check-runs/${id}`, html_url: `https://github.com/octo-org/octo-repo/runs/${id}`, details_url: body["details_url"] ?? null, status: body["status"], conclusion: body["conclusion"], started_at: "2025-03-01T12:00:00Z", completed_at: body["completed_at"] ?? null, output: { ...output, annotations_count: 0 }, name: body["name"], check_suite: { id: 5 }, pull_requests: [] };
      this.checkRuns.set(id, run);
      return { status: 201, body: run };
    });
    server.on("GET", "/repos/:owner/:repo/commits/:ref/check-runs", (request) => {
      if (!repoOk(request)) return notFound;
      const name = request.query.get("check_name");
      const runs = [...this.checkRuns.values()].filter((run) => run["head_sha"] === request.params["ref"] && (name === null || run["name"] === name)).reverse();
      return { status: 200, body: { total_count: runs.length, check_runs: runs.slice(0, Number(request.query.get("per_page") ?? 30)) } };
    });
    server.on("PATCH", "/repos/:owner/:repo/check-runs/:id", (request) => {
      const run = this.checkRuns.get(Number(request.params["id"]));
      if (!repoOk(request) || run === undefined) return notFound;
      const body = request.json<Record<string, unknown>>();
      Object.assign(run, { status: body["status"], conclusion: body["conclusion"], output: body["output"] });
      return { status: 200, body: run };
    });
    server.on("GET", "/repos/:owner/:repo/issues/:number/comments", (request) => {
      if (!repoOk(request)) return notFound;
      const perPage = Number(request.query.get("per_page") ?? 30);
      const page = Number(request.query.get("page") ?? 1);
      const slice = this.comments.slice((page - 1) * perPage, page * perPage);
      return { status: 200, body: slice.map((comment) => ({ id: comment.id, node_id: "MDEyOklzc3VlQ29tbWVudDE=", url: `${API}/repos/octo-org/octo-repo/issues/comments/${comment.id}`, html_url: `https://github.com/octo-org/octo-repo/pull/1347#issuecomment-${comment.id}`, body: comment.body, user: { login: "vigil-bot" }, created_at: "2025-03-01T12:00:00Z", updated_at: "2025-03-01T12:00:00Z", author_association: "NONE" })) };
    });
    server.on("POST", "/repos/:owner/:repo/issues/:number/comments", (request) => {
      if (!repoOk(request)) return notFound;
      const body = request.json<{ body?: unknown }>();
      if (typeof body.body !== "string") return invalid("IssueComment", "body");
      const comment = { id: this.nextId++, body: body.body };
      this.comments.push(comment);
      return { status: 201, body: { id: comment.id, html_url: `https://github.com/octo-org/octo-repo/pull/${request.params["number"]}#issuecomment-${comment.id}`, body: comment.body, user: { login: "vigil-bot" } } };
    });
    server.on("DELETE", "/repos/:owner/:repo/issues/comments/:id", (request) => {
      const index = this.comments.findIndex((comment) => comment.id === Number(request.params["id"]));
      if (!repoOk(request) || index < 0) return notFound;
      this.comments.splice(index, 1);
      return { status: 204 };
    });
  }
}

describe("github actuators", () => {
  let server: WireServer;
  let github: FakeGitHub;
  let status: Actuator;
  let checkRun: Actuator;
  let comment: Actuator;
  beforeEach(async () => {
    server = await startWireServer();
    github = new FakeGitHub(server);
    [status, checkRun, comment] = createGitHubActuators({ token: TOKEN, baseUrl: server.url }, testRuntime()) as [Actuator, Actuator, Actuator];
  });
  afterEach(() => server.close());

  const repo = { owner: "octo-org", repo: "octo-repo" };

  it("sets a commit status with token auth and a JSON body; undo restores the previous state", async () => {
    github.statuses.push({ id: 1, state: "pending", description: "waiting", target_url: null, context: "vigil" });
    const plan = testPlan("github.commit-status", { ...repo, sha: SHA, state: "failure", description: "policy no-public-buckets failed", targetUrl: "https://vigil.example/d/1" });
    const applied = await status.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.status).toBe("applied");
    expect(applied.output).toMatchObject({ state: "failure", context: "vigil", previousState: "pending" });
    const post = server.mutatingRequests()[0];
    expect(post?.path).toBe(`/repos/octo-org/octo-repo/statuses/${SHA}`);
    expect(post?.json()).toEqual({ context: "vigil", state: "failure", description: "policy no-public-buckets failed", target_url: "https://vigil.example/d/1" });

    const undone = await status.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(server.mutatingRequests()[1]?.json()).toEqual({ context: "vigil", state: "pending", description: "waiting" });
  });

  it("undo after a newer status was posted for the context (a re-run, a later decision) fails saying so and does not overwrite it", async () => {
    github.statuses.push({ id: 1, state: "pending", description: "waiting", target_url: null, context: "vigil" });
    const plan = testPlan("github.commit-status", { ...repo, sha: SHA, state: "failure" });
    const applied = await status.apply(plan, { dryRun: false });
    github.statuses.push({ id: 2, state: "success", description: "all policies pass", target_url: null, context: "vigil" });
    const undone = await status.undo(plan, applied);
    expect(undone.status).toBe("failed");
    expect(undone.error).toBe(
      `github.commit-status undo failed: the vigil status of ${SHA} is success (status 2), posted after the action's status ${applied.output?.["id"] as number}: nothing was restored, so that newer status is not overwritten`,
    );
    expect(server.mutatingRequests()).toHaveLength(1);
    expect(github.statuses.at(-1)).toMatchObject({ id: 2, state: "success" });
  });

  it("undo of a context whose latest status is already the one undo posts (an earlier undo whose answer was lost) is done without posting again", async () => {
    github.statuses.push({ id: 1, state: "pending", description: "waiting", target_url: null, context: "vigil" });
    const plan = testPlan("github.commit-status", { ...repo, sha: SHA, state: "failure" });
    const applied = await status.apply(plan, { dryRun: false });
    github.statuses.push({ id: 2, state: "pending", description: "waiting", target_url: null, context: "vigil" });
    const undone = await status.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(undone.output).toMatchObject({ changed: false });
    expect(server.mutatingRequests()).toHaveLength(1);
  });

  it("finds the context's previous status past the first page of a commit with more than 100 contexts, and undo restores it", async () => {
    for (let index = 0; index < 150; index += 1) github.statuses.push({ id: 10 + index, state: "success", description: null, target_url: null, context: `ci/job-${index}` });
    github.statuses.push({ id: 900, state: "pending", description: "waiting for review", target_url: null, context: "vigil" });
    const plan = testPlan("github.commit-status", { ...repo, sha: SHA, state: "failure" });
    const applied = await status.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.output).toMatchObject({ previousState: "pending" });
    const reads = server.requests.filter((request) => request.method === "GET").map((request) => request.query.get("page"));
    expect(reads).toEqual(["1", "2"]);

    const undone = await status.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(github.statuses.at(-1)).toMatchObject({ context: "vigil", state: "pending", description: "waiting for review" });
  });

  it("undo of a status that had no predecessor sets success", async () => {
    const plan = testPlan("github.commit-status", { ...repo, sha: SHA, state: "error", context: "vigil/policy" });
    const applied = await status.apply(plan, { dryRun: false });
    expect(applied.undo?.params).toEqual({ state: "success", description: "Reverted by Vigil", targetUrl: null, postedId: applied.output?.["id"] });
    await status.undo(plan, applied);
    expect(github.statuses.at(-1)).toMatchObject({ state: "success", context: "vigil/policy" });
  });

  it("dry-run only reads the combined status", async () => {
    const result = await status.apply(testPlan("github.commit-status", { ...repo, sha: SHA, state: "failure" }), { dryRun: true });
    expect(result).toMatchObject({ status: "dry-run", output: { currentState: null, wouldPost: { state: "failure", context: "vigil" } } });
    expect(server.mutatingRequests()).toHaveLength(0);
    expect(server.requests.map((request) => request.method)).toEqual(["GET"]);
  });

  it("creates a completed check run with external_id = idempotency key; undo marks it success", async () => {
    const plan = testPlan("github.check-run", { ...repo, headSha: SHA, conclusion: "failure", title: "1 violation", summary: "**no-public-buckets** failed" });
    const applied = await checkRun.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.status).toBe("applied");
    const body = server.mutatingRequests()[0]?.json<Record<string, unknown>>();
    expect(body).toMatchObject({ name: "vigil", head_sha: SHA, status: "completed", conclusion: "failure", external_id: "idem-0001", output: { title: "1 violation", summary: "**no-public-buckets** failed" } });
    const id = applied.output?.["checkRunId"] as number;
    expect(applied.undo).toEqual({ actuator: "github.check-run", params: { checkRunId: id } });

    const undone = await checkRun.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(server.mutatingRequests()[1]?.method).toBe("PATCH");
    expect(github.checkRuns.get(id)).toMatchObject({ conclusion: "success", output: { title: "Reverted by Vigil" } });
  });

  it("posts a PR comment with a hidden idempotency marker, does not post it twice, and undo deletes it", async () => {
    const plan = testPlan("github.pr-comment", { ...repo, number: 1347, body: "Vigil blocked this change: public bucket." });
    const first = await comment.apply(plan, { dryRun: false });
    expect(first.status).toBe("applied");
    expect(first.output).toMatchObject({ deduplicated: false });
    expect(github.comments[0]?.body).toBe(`Vigil blocked this change: public bucket.\n\n${commentMarker("idem-0001")}`);

    const again = await comment.apply(plan, { dryRun: false });
    expect(again.output).toMatchObject({ commentId: first.output?.["commentId"], deduplicated: true });
    expect(github.comments).toHaveLength(1);

    const undone = await comment.undo(plan, first);
    expect(undone.status).toBe("undone");
    expect(github.comments).toHaveLength(0);
    expect(server.mutatingRequests().at(-1)?.path).toBe(`/repos/octo-org/octo-repo/issues/comments/${String(first.output?.["commentId"])}`);
    expect(server.problems).toEqual([]);
  });

  it("finds the marker on a later page of comments", async () => {
    for (let index = 0; index < 100; index += 1) github.comments.push({ id: index + 1, body: `comment ${index}` });
    github.comments.push({ id: 500, body: `earlier\n\n${commentMarker("idem-0001")}` });
    const result = await comment.apply(testPlan("github.pr-comment", { ...repo, number: 1, body: "x" }), { dryRun: false });
    expect(result.output).toMatchObject({ commentId: 500, deduplicated: true });
    expect(server.mutatingRequests()).toHaveLength(0);
  });

  it("dry-run of a comment sends nothing", async () => {
    const result = await comment.apply(testPlan("github.pr-comment", { ...repo, number: 1, body: "x" }), { dryRun: true });
    expect(result.status).toBe("dry-run");
    expect(server.requests).toHaveLength(0);
  });

  it("names GitHub's error message: 404 Not Found, 401 Bad credentials", async () => {
    const missing = await comment.apply(testPlan("github.pr-comment", { owner: "octo-org", repo: "gone", number: 1, body: "x" }), { dryRun: false });
    expect(missing.status).toBe("failed");
    expect(missing.error).toBe("github.pr-comment apply failed: GitHub API GET /repos/octo-org/gone/issues/1/comments answered HTTP 404: Not Found");
    expect(missing.output).toEqual({ status: 404, apiCode: "Not Found" });

    const [badToken] = createGitHubActuators({ token: "ghp_wrong", baseUrl: server.url }, testRuntime());
    const denied = await badToken?.apply(testPlan("github.commit-status", { ...repo, sha: SHA, state: "failure" }), { dryRun: false });
    expect(denied?.error).toMatch(/answered HTTP 401: Bad credentials/);
  });

  it("names GitHub's validation errors on 422", async () => {
    // The fake rejects a check run whose conclusion is missing; force one through a raw plan.
    server.on("POST", "/repos/:owner/:repo/check-runs", () => ({
      status: 422,
      body: { message: "Validation Failed", errors: [{ resource: "CheckRun", field: "head_sha", code: "invalid" }], documentation_url: "https://docs.github.com/rest/checks/runs#create-a-check-run", status: "422" },
    }));
    const result = await checkRun.apply(testPlan("github.check-run", { ...repo, headSha: SHA, conclusion: "failure", title: "t", summary: "s" }), { dryRun: false });
    expect(result.error).toBe("github.check-run apply failed: GitHub API POST /repos/octo-org/octo-repo/check-runs answered HTTP 422: Validation Failed (head_sha invalid)");
  });

  describe("retries and timed-out creates", () => {
    let runtime: ReturnType<typeof testRuntime>;
    /** Actuators with a short per-attempt timeout, so a slow answer times out in the test. */
    const slowTolerant = (): [Actuator, Actuator, Actuator] => {
      runtime = testRuntime();
      return createGitHubActuators({ token: TOKEN, baseUrl: server.url, timeoutMs: 300 }, runtime) as [Actuator, Actuator, Actuator];
    };
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    /** Before the fake's route: the first `times` requests answer `reply`, later ones reach the fake. */
    const failFirst = (method: string, pattern: string, times: number, reply: () => { status: number; headers?: Record<string, string>; body?: object }) => {
      let left = times;
      server.on(method, pattern, () => {
        if (left <= 0) return undefined;
        left -= 1;
        return reply();
      });
    };

    it("retries a read answered 502 and a secondary rate limit (403 with retry-after) on the create, then posts once", async () => {
      const [status] = slowTolerant();
      github.statuses.push({ id: 1, state: "pending", description: "waiting", target_url: null, context: "vigil" });
      failFirst("GET", "/repos/:owner/:repo/commits/:ref/status", 1, () => ({ status: 502, body: { message: "Server Error" } }));
      failFirst("POST", "/repos/:owner/:repo/statuses/:sha", 1, () => ({
        status: 403,
        headers: { "retry-after": "7", "x-ratelimit-remaining": "4000" },
        body: { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits" },
      }));
      const applied = await status.apply(testPlan("github.commit-status", { ...repo, sha: SHA, state: "failure" }), { dryRun: false });
      expect(applied.status).toBe("applied");
      expect(applied.output).toMatchObject({ state: "failure", previousState: "pending" });
      expect(server.requests.map((request) => request.method)).toEqual(["GET", "GET", "POST", "POST"]);
      expect(runtime.sleeps).toEqual([1000, 7000]);
      expect(github.statuses.filter((entry) => entry.context === "vigil")).toHaveLength(2);
    });

    it("waits for x-ratelimit-reset on a primary rate limit (429, remaining 0)", async () => {
      const [status] = slowTolerant();
      const reset = Math.floor(new Date("2025-03-01T12:00:20Z").getTime() / 1000); // the test clock is 12:00:00
      failFirst("GET", "/repos/:owner/:repo/commits/:ref/status", 1, () => ({ status: 429, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) }, body: { message: "API rate limit exceeded for installation ID 1." } }));
      const result = await status.apply(testPlan("github.commit-status", { ...repo, sha: SHA, state: "failure" }), { dryRun: true });
      expect(result.status).toBe("dry-run");
      expect(runtime.sleeps).toEqual([20_000]);
    });

    it("a 403 that is not a rate limit (missing permission) is not retried", async () => {
      const [status] = slowTolerant();
      server.on("POST", "/repos/:owner/:repo/statuses/:sha", () => ({ status: 403, headers: { "x-ratelimit-remaining": "4999" }, body: { message: "Resource not accessible by integration" } }));
      const result = await status.apply(testPlan("github.commit-status", { ...repo, sha: SHA, state: "failure" }), { dryRun: false });
      expect(result.error).toBe(`github.commit-status apply failed: GitHub API POST /repos/octo-org/octo-repo/statuses/${SHA} answered HTTP 403: Resource not accessible by integration`);
      expect(server.mutatingRequests()).toHaveLength(1);
      expect(runtime.sleeps).toEqual([]);
    });

    it("a status created whose answer timed out is read back: applied once, with its undo data", async () => {
      const [status] = slowTolerant();
      github.statuses.push({ id: 1, state: "pending", description: "waiting", target_url: null, context: "vigil" });
      // GitHub creates the status, but its answer comes after the client gave up.
      let slow = 1;
      server.on("POST", "/repos/:owner/:repo/statuses/:sha", async (request) => {
        if (slow-- <= 0) return undefined;
        const body = request.json<Record<string, string | undefined>>();
        const created = { id: github.nextId++, state: String(body["state"]), description: body["description"] ?? null, target_url: body["target_url"] ?? null, context: body["context"] ?? "default" };
        github.statuses.push(created);
        await wait(600);
        return { status: 201, body: created };
      });
      const plan = testPlan("github.commit-status", { ...repo, sha: SHA, state: "failure", description: "policy failed" });
      const applied = await status.apply(plan, { dryRun: false });
      expect(applied.status).toBe("applied");
      const created = github.statuses.at(-1)!;
      expect(created).toMatchObject({ context: "vigil", state: "failure", description: "policy failed" });
      expect(github.statuses).toHaveLength(2);
      expect(applied.output).toMatchObject({ id: created.id, state: "failure", previousState: "pending", readBack: true });
      expect(applied.undo?.params).toMatchObject({ state: "pending", description: "waiting", postedId: created.id });
      expect(server.mutatingRequests()).toHaveLength(1);
      const undone = await status.undo(plan, applied);
      expect(undone.status).toBe("undone");
      expect(github.statuses.at(-1)).toMatchObject({ state: "pending", description: "waiting" });
    });

    it("a create that timed out before reaching GitHub (nothing to read back) is posted again", async () => {
      const [status] = slowTolerant();
      let slow = 1;
      // The first POST times out and GitHub never stores it.
      server.on("POST", "/repos/:owner/:repo/statuses/:sha", async () => { if (slow-- > 0) { await wait(600); return { status: 504, body: { message: "gateway timeout" } }; } return undefined; });
      const applied = await status.apply(testPlan("github.commit-status", { ...repo, sha: SHA, state: "error" }), { dryRun: false });
      expect(applied.status).toBe("applied");
      expect(github.statuses).toHaveLength(1);
      expect(server.requests.map((request) => request.method)).toEqual(["GET", "POST", "GET", "POST"]);
    });

    it("a PR comment created whose answer timed out is found by its marker, not posted twice", async () => {
      const [, , comment] = slowTolerant();
      let slow = 1;
      server.on("POST", "/repos/:owner/:repo/issues/:number/comments", async (request) => {
        if (slow-- <= 0) return undefined;
        const created = { id: github.nextId++, body: request.json<{ body: string }>().body };
        github.comments.push(created);
        await wait(600);
        return { status: 201, body: created };
      });
      const plan = testPlan("github.pr-comment", { ...repo, number: 7, body: "Vigil: public bucket" });
      const applied = await comment.apply(plan, { dryRun: false });
      expect(applied.status).toBe("applied");
      expect(github.comments).toHaveLength(1);
      expect(applied.output).toMatchObject({ commentId: github.comments[0]?.id, readBack: true });
      expect(applied.undo?.params).toEqual({ commentId: github.comments[0]?.id });
      expect(server.mutatingRequests()).toHaveLength(1);
    });

    it("a check run created whose answer timed out is found by its external_id", async () => {
      const [, checkRun] = slowTolerant();
      let slow = 1;
      server.on("POST", "/repos/:owner/:repo/check-runs", async (request) => {
        if (slow-- <= 0) return undefined;
        const body = request.json<Record<string, unknown>>();
        const id = github.nextId++;
        const run = { id, name: body["name"], head_sha: body["head_sha"], external_id: body["external_id"], status: body["status"], conclusion: body["conclusion"], html_url: `https://github.com/octo-org/octo-repo/runs/${id}`, output: body["output"] };
        github.checkRuns.set(id, run);
        await wait(600);
        return { status: 201, body: run };
      });
      const applied = await checkRun.apply(testPlan("github.check-run", { ...repo, headSha: SHA, conclusion: "failure", title: "t", summary: "s" }), { dryRun: false });
      expect(applied.status).toBe("applied");
      const [id] = [...github.checkRuns.keys()];
      expect(github.checkRuns.size).toBe(1);
      expect(applied.undo?.params).toEqual({ checkRunId: id });
      const list = server.requests.find((request) => request.method === "GET");
      expect(list?.path).toBe(`/repos/octo-org/octo-repo/commits/${SHA}/check-runs`);
      expect(list?.query.get("check_name")).toBe("vigil");
    });

    it("a comment deleted whose answer timed out is undone: the retry's 404 means the first attempt deleted it", async () => {
      const [, , comment] = slowTolerant();
      github.comments.push({ id: 77, body: `x\n\n${commentMarker("idem-0001")}` });
      const plan = testPlan("github.pr-comment", { ...repo, number: 7, body: "x" });
      const applied = await comment.apply(plan, { dryRun: false });
      let slow = 1;
      server.on("DELETE", "/repos/:owner/:repo/issues/comments/:id", async () => {
        if (slow-- <= 0) return undefined;
        github.comments.splice(0, 1);
        await wait(600);
        return { status: 204 };
      });
      const undone = await comment.undo(plan, applied);
      expect(undone.status).toBe("undone");
      expect(server.mutatingRequests().map((request) => request.method)).toEqual(["DELETE", "DELETE"]);
      expect(github.comments).toEqual([]);
    });

    it("gives up after maxAttempts naming the last answer", async () => {
      const [status] = slowTolerant();
      server.on("GET", "/repos/:owner/:repo/commits/:ref/status", () => ({ status: 503, body: { message: "Service Unavailable" } }));
      const result = await status.apply(testPlan("github.commit-status", { ...repo, sha: SHA, state: "failure" }), { dryRun: false });
      expect(result.error).toBe(`github.commit-status apply failed: GitHub API GET /repos/octo-org/octo-repo/commits/${SHA}/status answered HTTP 503: Service Unavailable (after 3 attempts)`);
      expect(server.mutatingRequests()).toHaveLength(0);
      expect(runtime.sleeps).toEqual([1000, 2000]);
    });
  });

  it("validates the SHA and owner", () => {
    expect(() => status.validate({ ...repo, sha: "main", state: "failure" })).toThrowError(/params\.sha "main" does not match/);
    expect(() => status.validate({ owner: "octo org", repo: "r", sha: SHA, state: "failure" })).toThrowError(/params\.owner/);
    expect(() => status.validate({ ...repo, sha: SHA, state: "red" })).toThrowError(/params\.state must be one of error, failure, pending, success/);
  });
});
