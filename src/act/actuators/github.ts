import { Octokit } from "@octokit/rest";
import type { ActionPlan, Actuator } from "../../core/index.js";
import { optionalPositiveInteger, requireText, requireUrl } from "./config-checks.js";
import { ActuatorApiError, defineActuator, withTimeout } from "./define.js";
import type { OperationContext } from "./define.js";
import { read } from "./params.js";
import type { ActionKindSpec, ActuatorRuntime, GitHubActuatorConfig, ParamSpec } from "./types.js";

/** Longest wait for a rate limit to reset before a retry; a longer one fails naming it. */
const MAX_RATE_WAIT_MS = 60_000;
/** Backoff between retries after a 5xx or no answer: baseDelayMs doubling, capped. */
const MAX_BACKOFF_MS = 30_000;
/** Pages of the combined status read at most (100 contexts each). */
const MAX_STATUS_PAGES = 50;
const NAME = /^[A-Za-z0-9_.-]{1,100}$/;
const SHA = /^[0-9a-fA-F]{40}$/;
const repoParams: readonly ParamSpec[] = [
  { name: "owner", type: "string", required: true, pattern: NAME, description: "repository owner (user or organisation)" },
  { name: "repo", type: "string", required: true, pattern: NAME, description: "repository name" },
];

export const githubCommitStatusSpec: ActionKindSpec = {
  kind: "github.commit-status",
  provider: "github",
  summary: "Set a commit status (POST /repos/{owner}/{repo}/statuses/{sha}) for a context, e.g. failure on `vigil`.",
  params: [
    ...repoParams,
    { name: "sha", type: "string", required: true, pattern: SHA, description: "full 40-hex commit SHA" },
    { name: "state", type: "string", required: true, enum: ["error", "failure", "pending", "success"], description: "status state" },
    { name: "context", type: "string", required: false, default: "vigil", description: "status context (the check's name on the PR)" },
    { name: "description", type: "string", required: false, description: "short description (GitHub keeps 140 characters)" },
    { name: "targetUrl", type: "string", required: false, pattern: /^https?:\/\//, description: "link shown with the status (e.g. the decision's explanation)" },
  ],
  reversible: true,
  undo: "restores the context's previous status (read before applying), or sets it to success when there was none; not when a newer status was posted for the context since the action (the undo fails saying so)",
  dryRun: "reads the commit's combined status (GET …/commits/{sha}/status) and returns the status that would be posted",
};

export const githubCheckRunSpec: ActionKindSpec = {
  kind: "github.check-run",
  provider: "github",
  summary: "Create a completed check run (POST /repos/{owner}/{repo}/check-runs) with a conclusion and a summary; needs a GitHub App token.",
  params: [
    ...repoParams,
    { name: "headSha", type: "string", required: true, pattern: SHA, description: "full 40-hex commit SHA" },
    { name: "name", type: "string", required: false, default: "vigil", description: "check run name" },
    { name: "conclusion", type: "string", required: true, enum: ["action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out"], description: "check conclusion" },
    { name: "title", type: "string", required: true, description: "output title" },
    { name: "summary", type: "string", required: true, description: "output summary (Markdown)" },
    { name: "text", type: "string", required: false, description: "output details (Markdown)" },
    { name: "detailsUrl", type: "string", required: false, pattern: /^https?:\/\//, description: "link to the decision" },
  ],
  reversible: true,
  undo: "updates the check run (PATCH …/check-runs/{id}) to conclusion success, titled as reverted",
  dryRun: "sends nothing; returns the check run that would be created",
};

export const githubPrCommentSpec: ActionKindSpec = {
  kind: "github.pr-comment",
  provider: "github",
  summary: "Comment on a pull request or issue (POST /repos/{owner}/{repo}/issues/{number}/comments); a comment already posted for the same idempotency key is not posted again.",
  params: [
    ...repoParams,
    { name: "number", type: "integer", required: true, min: 1, description: "pull request (or issue) number" },
    { name: "body", type: "string", required: true, description: "comment text (Markdown)" },
  ],
  reversible: true,
  undo: "deletes the comment (DELETE /repos/{owner}/{repo}/issues/comments/{id})",
  dryRun: "sends nothing; returns the comment that would be posted",
};

/** The hidden marker that makes a PR comment findable by idempotency key. */
export function commentMarker(idempotencyKey: string): string {
  return `<!-- vigil:action idempotency-key=${encodeURIComponent(idempotencyKey)} -->`;
}

interface OctokitLikeError {
  readonly status?: number;
  readonly message?: string;
  readonly request?: { readonly method?: string; readonly url?: string };
  readonly response?: { readonly data?: unknown; readonly headers?: Readonly<Record<string, string | number | undefined>> };
}

/** Turns an Octokit RequestError into an ActuatorApiError naming GitHub's message and validation errors. */
function githubError(error: unknown, what: string, attempts = 1): ActuatorApiError {
  const failure = (error ?? {}) as OctokitLikeError;
  const after = attempts > 1 ? ` (after ${attempts} attempts)` : "";
  // Octokit reports a request that got no response (network error, timeout) as status 500 without a response.
  if (typeof failure.status !== "number" || failure.response === undefined) {
    return new ActuatorApiError(`GitHub API ${what} got no answer: ${failure.message ?? String(error)}${after}`, { cause: error });
  }
  const data = (failure.response?.data ?? {}) as { message?: string; errors?: readonly { message?: string; field?: string; code?: string }[] };
  const details = (data.errors ?? []).map((item) => item.message ?? [item.field, item.code].filter(Boolean).join(" ")).filter(Boolean);
  return new ActuatorApiError(
    `GitHub API ${what} answered HTTP ${failure.status}: ${data.message ?? failure.message ?? "(no message)"}${details.length > 0 ? ` (${details.join("; ")})` : ""}${after}`,
    { status: failure.status, ...(data.message ? { apiCode: data.message } : {}), cause: error },
  );
}

type Repo = { owner: string; repo: string };
const repoOf = (plan: ActionPlan): Repo => ({ owner: read.string(plan.params, "owner"), repo: read.string(plan.params, "repo") });

/**
 * The GitHub actuators (`github.commit-status`, `github.check-run`, `github.pr-comment`) over
 * Octokit with token auth, against `baseUrl` (GitHub.com, GHES, or a test server). Every API
 * error becomes a failed result naming GitHub's message.
 */
export function createGitHubActuators(config: GitHubActuatorConfig, runtime: ActuatorRuntime): Actuator[] {
  const token = requireText("actuators.github.token", config.token);
  const baseUrl = config.baseUrl === undefined ? "https://api.github.com" : requireUrl("actuators.github.baseUrl", config.baseUrl);
  const timeoutMs = config.timeoutMs ?? 10_000;
  const quiet = (): void => undefined;
  // Failures are reported in ActionResults; Octokit's own request log would repeat them on stderr.
  const octokit = new Octokit({ auth: token, baseUrl, userAgent: config.userAgent ?? "vigil", log: { debug: quiet, info: quiet, warn: console.warn, error: quiet } });

  optionalPositiveInteger("actuators.github.maxAttempts", config.maxAttempts);
  const maxAttempts = Math.max(1, config.maxAttempts ?? 3);
  const baseDelayMs = config.baseDelayMs ?? 1000;

  /**
   * What to do after a failed attempt, as GitHub documents: a rate limit (403 or 429 with
   * `retry-after`, or `x-ratelimit-remaining: 0` with `x-ratelimit-reset`, or a secondary-limit
   * message) was not processed and is retried after the wait GitHub asks for (at most
   * MAX_RATE_WAIT_MS, else it fails naming the reset time); a 5xx or no answer at all may have been
   * processed ("unknown"); anything else is final.
   */
  function classify(error: unknown, attempt: number): { kind: "final" } | { kind: "rate-limited" | "unknown"; delayMs: number } {
    const failure = (error ?? {}) as OctokitLikeError;
    const backoff = Math.min(baseDelayMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
    if (typeof failure.status !== "number" || failure.response === undefined) return { kind: "unknown", delayMs: backoff };
    const headers = failure.response.headers ?? {};
    const header = (name: string): string | undefined => (headers[name] === undefined ? undefined : String(headers[name]));
    if (failure.status === 403 || failure.status === 429) {
      const retryAfter = header("retry-after");
      const message = String((failure.response.data as { message?: unknown } | undefined)?.message ?? failure.message ?? "");
      let delayMs: number | undefined;
      if (retryAfter !== undefined && /^\d+$/.test(retryAfter.trim())) delayMs = Number(retryAfter.trim()) * 1000;
      else if (header("x-ratelimit-remaining") === "0" && /^\d+$/.test(header("x-ratelimit-reset") ?? "")) delayMs = Math.max(0, Number(header("x-ratelimit-reset")) * 1000 - runtime.clock.now().getTime());
      else if (/secondary rate limit/i.test(message)) delayMs = 60_000; // GitHub: without headers, wait at least a minute
      else if (failure.status === 429) delayMs = backoff;
      if (delayMs === undefined || delayMs > MAX_RATE_WAIT_MS) return { kind: "final" };
      return { kind: "rate-limited", delayMs };
    }
    if (failure.status >= 500) return { kind: "unknown", delayMs: backoff };
    return { kind: "final" };
  }

  /**
   * One GitHub request with retries. A rate-limited request is retried (GitHub did not process
   * it). A 5xx or a request that got no answer (timeout, reset) may have been processed: a read
   * or an idempotent write (PATCH, DELETE) is sent again; a create is first looked for with
   * `readBack` (found: its answer; not found: sent again), so a status or comment created whose
   * answer was lost is recorded applied with its undo data, and never created twice.
   * `goneIsDone`: a DELETE answered 404 after an attempt that may have deleted is done.
   */
  async function call<T>(
    what: string,
    context: OperationContext,
    run: (request: { signal: AbortSignal }) => Promise<{ data: T }>,
    options: { readonly readBack?: () => Promise<T | undefined>; readonly goneIsDone?: T } = {},
  ): Promise<T> {
    let uncertain = false;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return (await run({ signal: withTimeout(timeoutMs, context.signal) })).data;
      } catch (error) {
        if (uncertain && options.goneIsDone !== undefined && (error as OctokitLikeError).status === 404) return options.goneIsDone;
        const verdict = classify(error, attempt);
        if (context.signal?.aborted || verdict.kind === "final" || attempt >= maxAttempts) {
          // A create whose last attempt may have been processed is still looked for.
          if (verdict.kind === "unknown" && options.readBack !== undefined && !context.signal?.aborted) {
            const found = await options.readBack();
            if (found !== undefined) return found;
          }
          throw githubError(error, what, attempt);
        }
        if (verdict.kind === "unknown") {
          uncertain = true;
          if (options.readBack !== undefined) {
            const found = await options.readBack();
            if (found !== undefined) return found;
          }
        }
        await runtime.sleep(verdict.delayMs, context.signal);
      }
    }
  }

  async function contextStatus(plan: ActionPlan, context: OperationContext): Promise<{ id: number; state: string; description: string | null; target_url: string | null } | undefined> {
    const { owner, repo } = repoOf(plan);
    const ref = read.string(plan.params, "sha");
    const name = read.optionalString(plan.params, "context") ?? "vigil";
    // The combined status lists one status per context, 100 a page at most: page through (GitHub's
    // Link header names the next page) until the context is found, so a commit with more contexts
    // than a page still has its previous status read and restored.
    for (let page = 1; page <= MAX_STATUS_PAGES; page += 1) {
      let link: string | undefined;
      const combined = await call(`GET /repos/${owner}/${repo}/commits/${ref}/status`, context, async (request) => {
        const response = await octokit.rest.repos.getCombinedStatusForRef({ owner, repo, ref, per_page: 100, page, request });
        link = response.headers.link;
        return response;
      });
      const found = combined.statuses.find((status) => status.context === name);
      if (found !== undefined) return found;
      const more = link !== undefined ? /rel="next"/.test(link) : page * 100 < combined.total_count;
      if (!more || combined.statuses.length === 0) return undefined;
    }
    throw new ActuatorApiError(`the combined status of ${ref} has more than ${MAX_STATUS_PAGES * 100} contexts and none is ${name}: not read further`);
  }

  /**
   * Posts a status. `before` is the id of the context's latest status read just before (null: none):
   * when the POST's answer is lost, a newer latest status with the same state, description and link
   * is taken as the one posted (read back) instead of posting again. Undefined: nothing to compare, not read back.
   */
  async function postStatus(plan: ActionPlan, status: { state: "error" | "failure" | "pending" | "success"; description?: string | null; target_url?: string | null }, context: OperationContext, before: number | null | undefined) {
    const { owner, repo } = repoOf(plan);
    const sha = read.string(plan.params, "sha");
    const name = read.optionalString(plan.params, "context") ?? "vigil";
    const description = status.description ? status.description.slice(0, 140) : null;
    const readBack = async (): Promise<{ id: number; state: string; context: string; readBack?: true } | undefined> => {
      const latest = await contextStatus(plan, context);
      if (latest === undefined || latest.id === before || latest.state !== status.state || (latest.description || null) !== description || (latest.target_url || null) !== (status.target_url || null)) return undefined;
      return { id: latest.id, state: latest.state, context: name, readBack: true };
    };
    return call(`POST /repos/${owner}/${repo}/statuses/${sha}`, context, async (request) => {
      const { data } = await octokit.rest.repos.createCommitStatus({
        owner,
        repo,
        sha,
        context: name,
        state: status.state,
        ...(description ? { description } : {}),
        ...(status.target_url ? { target_url: status.target_url } : {}),
        request,
      });
      return { data: { id: data.id, state: data.state, context: data.context } };
    }, before === undefined ? {} : { readBack });
  }

  const commitStatus = defineActuator(githubCommitStatusSpec, runtime, {
    async preview(plan, context) {
      const previous = await contextStatus(plan, context);
      return { currentState: previous?.state ?? null, wouldPost: { state: read.string(plan.params, "state"), context: read.optionalString(plan.params, "context") ?? "vigil" } };
    },
    async apply(plan, context) {
      const previous = await contextStatus(plan, context);
      const posted = await postStatus(
        plan,
        {
          state: read.string(plan.params, "state") as "error" | "failure" | "pending" | "success",
          description: read.optionalString(plan.params, "description") ?? null,
          target_url: read.optionalString(plan.params, "targetUrl") ?? null,
        },
        context,
        previous?.id ?? null,
      );
      const undo = {
        ...(previous ? { state: previous.state, description: previous.description, targetUrl: previous.target_url } : { state: "success", description: "Reverted by Vigil", targetUrl: null }),
        postedId: posted.id,
      };
      return { output: { ...posted, previousState: previous?.state ?? null }, undo };
    },
    async revert(plan, undo, context) {
      // The context's latest status decides what a PR shows: one posted after the action's (a CI
      // re-run, a later decision) is newer and stays. Undo data without `postedId` is not checked.
      let before: number | null | undefined;
      if (typeof undo["postedId"] === "number") {
        const latest = await contextStatus(plan, context);
        before = latest?.id ?? null;
        const description = typeof undo["description"] === "string" && undo["description"] !== "" ? undo["description"].slice(0, 140) : null;
        // Already the status undo posts (an earlier undo whose answer was lost): nothing to post.
        if (latest !== undefined && latest.id !== undo["postedId"] && latest.state === undo["state"] && (latest.description || null) === description) {
          return { restored: { id: latest.id, state: latest.state }, changed: false, note: "the context already has the status undo posts" };
        }
        if (latest !== undefined && latest.id !== undo["postedId"]) {
          throw new ActuatorApiError(
            `the ${read.optionalString(plan.params, "context") ?? "vigil"} status of ${read.string(plan.params, "sha")} is ${latest.state} (status ${latest.id}), posted after the action's status ${undo["postedId"]}: nothing was restored, so that newer status is not overwritten`,
          );
        }
      }
      const restored = await postStatus(
        plan,
        {
          state: undo["state"] as "error" | "failure" | "pending" | "success",
          description: typeof undo["description"] === "string" ? undo["description"] : null,
          target_url: typeof undo["targetUrl"] === "string" ? undo["targetUrl"] : null,
        },
        context,
        before,
      );
      return { restored };
    },
  });

  const checkRun = defineActuator(githubCheckRunSpec, runtime, {
    async preview(plan) {
      return { wouldCreate: { name: read.optionalString(plan.params, "name") ?? "vigil", conclusion: read.string(plan.params, "conclusion"), title: read.string(plan.params, "title") } };
    },
    async apply(plan, context) {
      const { owner, repo } = repoOf(plan);
      const text = read.optionalString(plan.params, "text");
      const detailsUrl = read.optionalString(plan.params, "detailsUrl");
      const name = read.optionalString(plan.params, "name") ?? "vigil";
      const headSha = read.string(plan.params, "headSha");
      // A check run carries the idempotency key as external_id: a create whose answer was lost is found by it.
      const readBack = async (): Promise<{ id: number; html_url: string | null; conclusion: string | null; readBack?: true } | undefined> => {
        const listed = await call(`GET /repos/${owner}/${repo}/commits/${headSha}/check-runs`, context, (request) =>
          octokit.rest.checks.listForRef({ owner, repo, ref: headSha, check_name: name, filter: "all", per_page: 100, request }),
        );
        const found = listed.check_runs.find((run) => run.external_id === plan.idempotencyKey);
        return found === undefined ? undefined : { id: found.id, html_url: found.html_url, conclusion: found.conclusion, readBack: true };
      };
      const created: { id: number; html_url: string | null; conclusion: string | null; readBack?: true } = await call(`POST /repos/${owner}/${repo}/check-runs`, context, async (request) => {
        const { data } = await octokit.rest.checks.create({
          owner,
          repo,
          name,
          head_sha: headSha,
          status: "completed",
          conclusion: read.string(plan.params, "conclusion") as "failure",
          completed_at: runtime.clock.now().toISOString(),
          external_id: plan.idempotencyKey,
          ...(detailsUrl === undefined ? {} : { details_url: detailsUrl }),
          output: { title: read.string(plan.params, "title"), summary: read.string(plan.params, "summary"), ...(text === undefined ? {} : { text }) },
          request,
        });
        return { data: { id: data.id, html_url: data.html_url, conclusion: data.conclusion } };
      }, { readBack });
      return { output: { checkRunId: created.id, htmlUrl: created.html_url, conclusion: created.conclusion, ...(created.readBack ? { readBack: true } : {}) }, undo: { checkRunId: created.id } };
    },
    async revert(plan, undo, context) {
      const { owner, repo } = repoOf(plan);
      const checkRunId = Number(undo["checkRunId"]);
      const updated = await call(`PATCH /repos/${owner}/${repo}/check-runs/${checkRunId}`, context, (request) =>
        octokit.rest.checks.update({
          owner,
          repo,
          check_run_id: checkRunId,
          status: "completed",
          conclusion: "success",
          completed_at: runtime.clock.now().toISOString(),
          output: { title: "Reverted by Vigil", summary: `Vigil undid action ${plan.id} (decision ${plan.decisionId}).` },
          request,
        }),
      );
      return { checkRunId: updated.id, conclusion: updated.conclusion };
    },
  });

  const prComment = defineActuator(githubPrCommentSpec, runtime, {
    async preview(plan) {
      return { wouldComment: { number: read.optionalInteger(plan.params, "number"), body: read.string(plan.params, "body") } };
    },
    async apply(plan, context) {
      const { owner, repo } = repoOf(plan);
      const issueNumber = read.optionalInteger(plan.params, "number") ?? 0;
      const marker = commentMarker(plan.idempotencyKey);
      const path = `/repos/${owner}/${repo}/issues/${issueNumber}/comments`;
      // At most one comment per idempotency key: look for the marker in the first 1000 comments
      // (GitHub lists them oldest first; a thread longer than that could get a second comment).
      const findMarked = async (): Promise<{ id: number; html_url: string } | undefined> => {
        for (let page = 1; page <= 10; page += 1) {
          const comments = await call(`GET ${path}`, context, (request) => octokit.rest.issues.listComments({ owner, repo, issue_number: issueNumber, per_page: 100, page, request }));
          const existing = comments.find((comment) => comment.body?.includes(marker) === true);
          if (existing) return { id: existing.id, html_url: existing.html_url };
          if (comments.length < 100) break;
        }
        return undefined;
      };
      const existing = await findMarked();
      if (existing) return { output: { commentId: existing.id, htmlUrl: existing.html_url, deduplicated: true }, undo: { commentId: existing.id } };
      // A comment created whose answer was lost is found by its marker, not posted again.
      const created: { id: number; html_url: string; readBack?: true } = await call(`POST ${path}`, context, async (request) => {
        const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body: `${read.string(plan.params, "body")}\n\n${marker}`, request });
        return { data: { id: data.id, html_url: data.html_url } };
      }, { readBack: async () => { const found = await findMarked(); return found === undefined ? undefined : { ...found, readBack: true as const }; } });
      return { output: { commentId: created.id, htmlUrl: created.html_url, deduplicated: false, ...(created.readBack ? { readBack: true } : {}) }, undo: { commentId: created.id } };
    },
    async revert(plan, undo, context) {
      const { owner, repo } = repoOf(plan);
      const commentId = Number(undo["commentId"]);
      // Deleting is idempotent: a 404 after an attempt whose answer was lost means that attempt deleted it.
      await call(`DELETE /repos/${owner}/${repo}/issues/comments/${commentId}`, context, async (request) => {
        await octokit.rest.issues.deleteComment({ owner, repo, comment_id: commentId, request });
        return { data: true };
      }, { goneIsDone: true });
      return { deletedCommentId: commentId };
    },
  });

  return [commitStatus, checkRun, prComment];
}
