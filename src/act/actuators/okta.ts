import type { Actuator } from "../../core/index.js";
import { optionalPositiveInteger, requireText, requireUrl } from "./config-checks.js";
import { ActuatorApiError, defineActuator } from "./define.js";
import type { OperationContext } from "./define.js";
import { parseJson, sendWithRetry, type RetryDelay } from "./http.js";
import { read } from "./params.js";
import type { ActionKindSpec, ActuatorRuntime, OktaActuatorConfig } from "./types.js";

const userIdParam = {
  name: "userId",
  type: "string",
  required: true,
  description: "Okta user id (00u…) or login",
} as const;

export const oktaSuspendSpec: ActionKindSpec = {
  kind: "okta.suspend-user",
  provider: "okta",
  summary: "Suspend an Okta user (POST /api/v1/users/{id}/lifecycle/suspend); a user already SUSPENDED is left as is.",
  params: [userIdParam],
  reversible: true,
  undo: "unsuspends the user, if this action suspended them (the status read before is recorded)",
  dryRun: "reads the user (GET /api/v1/users/{id}) and says whether it would be suspended",
};

export const oktaUnsuspendSpec: ActionKindSpec = {
  kind: "okta.unsuspend-user",
  provider: "okta",
  summary: "Unsuspend an Okta user (POST /api/v1/users/{id}/lifecycle/unsuspend); a user not SUSPENDED is left as is.",
  params: [userIdParam],
  reversible: true,
  undo: "suspends the user again, if this action unsuspended them",
  dryRun: "reads the user (GET /api/v1/users/{id}) and says whether it would be unsuspended",
};

interface OktaErrorBody {
  readonly errorCode?: string;
  readonly errorSummary?: string;
  readonly errorId?: string;
  readonly errorCauses?: readonly { readonly errorSummary?: string }[];
}

type Lifecycle = "suspend" | "unsuspend";

/**
 * How long a 429 asks to wait: Okta sends no Retry-After but `X-Rate-Limit-Reset`, the UTC epoch
 * second its rate-limit window resets, which is counted from the response's `Date` (the server's
 * clock, as Okta's SDKs do) plus 1 s so the new window has begun.
 */
const rateLimitDelay: RetryDelay = (response) => {
  if (response.status !== 429) return undefined;
  const reset = Number(response.headers.get("x-rate-limit-reset") ?? Number.NaN);
  const date = Date.parse(response.headers.get("date") ?? "");
  if (!Number.isFinite(reset) || !Number.isFinite(date)) return undefined;
  return Math.max(reset * 1000 - date, 0) + 1000;
};

/** Okta's lifecycle operations over its REST API with an SSWS API token; retries 429 (until the rate limit resets) and 5xx. */
function createOktaClient(config: OktaActuatorConfig, runtime: ActuatorRuntime) {
  const orgUrl = requireUrl("actuators.okta.orgUrl", config.orgUrl);
  const token = requireText("actuators.okta.token", config.token);
  optionalPositiveInteger("actuators.okta.maxAttempts", config.maxAttempts);

  async function call(method: "GET" | "POST", path: string, context: OperationContext): Promise<unknown> {
    const response = await sendWithRetry(
      "Okta API",
      () => ({
        method,
        url: `${orgUrl}${path}`,
        headers: { accept: "application/json", "content-type": "application/json", authorization: `SSWS ${token}`, "user-agent": "vigil-actuator" },
        ...(method === "POST" ? { body: "" } : {}),
      }),
      config,
      runtime,
      context.signal,
      { retryDelay: rateLimitDelay },
    );
    const body = parseJson(response.text);
    if (response.status >= 200 && response.status < 300) return body;
    const error = (body ?? {}) as OktaErrorBody;
    const causes = (error.errorCauses ?? []).map((cause) => cause.errorSummary).filter((text): text is string => typeof text === "string");
    throw new ActuatorApiError(
      `Okta API ${method} ${path} answered HTTP ${response.status}${error.errorCode ? ` ${error.errorCode}` : ""}: ${error.errorSummary ?? (response.text.slice(0, 200) || "(no body)")}${causes.length > 0 ? ` (${causes.join("; ")})` : ""}`,
      { status: response.status, ...(error.errorCode ? { apiCode: error.errorCode } : {}) },
    );
  }

  return {
    async userStatus(userId: string, context: OperationContext): Promise<string> {
      const user = (await call("GET", `/api/v1/users/${encodeURIComponent(userId)}`, context)) as { status?: unknown } | undefined;
      if (typeof user?.status !== "string") throw new ActuatorApiError(`Okta API GET /api/v1/users/${userId} returned no user status`);
      return user.status;
    },
    async lifecycle(userId: string, operation: Lifecycle, context: OperationContext): Promise<void> {
      await call("POST", `/api/v1/users/${encodeURIComponent(userId)}/lifecycle/${operation}`, context);
    },
  };
}

type OktaClient = ReturnType<typeof createOktaClient>;

/**
 * Runs a lifecycle operation. A POST retried after its answer was lost (a timeout, a 5xx) meets its
 * own effect: Okta refuses the retry (E0000001: the user is no longer ACTIVE / SUSPENDED), yet the
 * user was changed. On a failure the status is read again: when it is the one the operation leads
 * to, the operation took effect (a note says so) — not a failure that leaves the user changed with
 * no undo data. Otherwise the failure stands.
 */
async function transition(client: OktaClient, userId: string, operation: Lifecycle, reached: string, context: OperationContext): Promise<{ note?: string }> {
  try {
    await client.lifecycle(userId, operation, context);
    return {};
  } catch (error) {
    const now = await client.userStatus(userId, context).catch(() => undefined);
    if (now !== reached) throw error;
    return { note: `the ${operation} request failed (${error instanceof Error ? error.message : String(error)}), but the user is now ${reached}: it took effect` };
  }
}

function lifecycleActuator(spec: ActionKindSpec, operation: Lifecycle, client: OktaClient, runtime: ActuatorRuntime): Actuator {
  // The status that makes the operation a no-op, and the one the operation starts from.
  const target = operation === "suspend" ? "SUSPENDED" : "ACTIVE";
  const inverse: Lifecycle = operation === "suspend" ? "unsuspend" : "suspend";
  return defineActuator(spec, runtime, {
    async preview(plan, context) {
      const userId = read.string(plan.params, "userId");
      const status = await client.userStatus(userId, context);
      const noop = operation === "suspend" ? status === "SUSPENDED" : status !== "SUSPENDED";
      return { userId, currentStatus: status, wouldChange: !noop, wouldDo: noop ? `nothing: the user is ${status}` : `POST /api/v1/users/${userId}/lifecycle/${operation}` };
    },
    async apply(plan, context) {
      const userId = read.string(plan.params, "userId");
      const previousStatus = await client.userStatus(userId, context);
      const noop = operation === "suspend" ? previousStatus === "SUSPENDED" : previousStatus !== "SUSPENDED";
      if (noop) return { output: { userId, previousStatus, changed: false }, undo: { userId, previousStatus, changed: false } };
      const note = await transition(client, userId, operation, target, context);
      return { output: { userId, previousStatus, status: target, changed: true, ...note }, undo: { userId, previousStatus, changed: true } };
    },
    async revert(_plan, undo, context) {
      const userId = String(undo["userId"]);
      if (undo["changed"] !== true) return { userId, changed: false, note: `the action changed nothing; the user stays ${String(undo["previousStatus"])}` };
      const note = await transition(client, userId, inverse, inverse === "suspend" ? "SUSPENDED" : "ACTIVE", context);
      return { userId, changed: true, operation: inverse, ...note };
    },
  });
}

/**
 * The Okta actuators (`okta.suspend-user`, `okta.unsuspend-user`). Each reads the user's status
 * first (recorded for undo), acts only when the status calls for it, and names Okta's error code
 * (`E0000001`, `E0000007`, …) in a failed result.
 */
export function createOktaActuators(config: OktaActuatorConfig, runtime: ActuatorRuntime): Actuator[] {
  const client = createOktaClient(config, runtime);
  return [lifecycleActuator(oktaSuspendSpec, "suspend", client, runtime), lifecycleActuator(oktaUnsuspendSpec, "unsuspend", client, runtime)];
}
