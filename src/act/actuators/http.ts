import { ActuatorApiError, withTimeout } from "./define.js";
import type { ActuatorRuntime, HttpClientConfig } from "./types.js";

export interface HttpRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Attempts made, including the first. */
  readonly attempts: number;
}

const MAX_DELAY_MS = 30_000;

function retryable(status: number): boolean {
  return status >= 500 || status === 429;
}

/**
 * The wait `Retry-After` asks for (RFC 9110 10.2.3), capped: delay-seconds, or an HTTP-date
 * counted from the response's `Date` (the server's clock; without one, `now`). Undefined when
 * absent or unreadable.
 */
function retryAfterMs(headers: Headers, now: number): number | undefined {
  const value = headers.get("retry-after")?.trim();
  if (value === undefined || value === "") return undefined;
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, MAX_DELAY_MS);
  // An HTTP-date ends in "GMT" (IMF-fixdate, or the obsolete RFC 850 and asctime forms Date.parse reads too).
  const at = /[A-Za-z]/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(at)) return undefined;
  const date = Date.parse(headers.get("date") ?? "");
  return Math.min(Math.max(at - (Number.isFinite(date) ? date : now), 0), MAX_DELAY_MS);
}

/** The path of a URL without its query, for error messages (queries and URLs may hold secrets). */
export function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return "(invalid URL)";
  }
}

/** The delay an API asks for before the next attempt (its own rate-limit headers), in ms; undefined when it says nothing. */
export type RetryDelay = (response: { readonly status: number; readonly headers: Headers }) => number | undefined;

export interface SendOptions {
  readonly retryDelay?: RetryDelay;
  /** The URL's path is a secret (a Slack incoming webhook, many webhook receivers): errors name the method only. */
  readonly secretPath?: boolean;
  /**
   * `unsent`: the receiver cannot deduplicate (a Slack incoming webhook), so a request that may have
   * reached it is never sent again: no retry after a 5xx or a timeout / reset connection; only a
   * connection that failed before any byte was sent (refused, DNS, unreachable, connect timeout)
   * and a 429 (rejected, nothing done) are retried. Default `any`.
   */
  readonly retry?: "any" | "unsent";
  /** Who the request is for, in errors (`Slack`). Default "the receiver". */
  readonly receiver?: string;
}

/** Network errors raised before the request was sent: the receiver saw nothing. */
const UNSENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

function unsent(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNSENT_CODES.has(code)) return true;
  }
  return false;
}

/**
 * Sends a request, retrying on 5xx, 429 and network errors (with `retry: "unsent"`, only 429 and
 * errors before anything was sent) with exponential backoff
 * (`baseDelayMs`, doubling, capped at 30 s; `Retry-After` (seconds or an HTTP-date) wins when given, then what
 * `retryDelay` reads from the API's own headers, capped the same). The request
 * is rebuilt per attempt (`build(attempt)`) so signatures and timestamps are fresh.
 * Resolves with the last response — including a final 5xx — and rejects only when no response
 * arrived at all (ActuatorApiError naming `service` and the path, never the full URL).
 */
export async function sendWithRetry(
  service: string,
  build: (attempt: number) => HttpRequest,
  config: HttpClientConfig,
  runtime: ActuatorRuntime,
  signal?: AbortSignal,
  options: SendOptions = {},
): Promise<HttpResponse> {
  const { retryDelay } = options;
  const onlyUnsent = options.retry === "unsent";
  // A Slack incoming webhook's path is its secret: such a caller has the path left out of errors.
  const where = (request: HttpRequest): string => `${request.method} ${options.secretPath === true ? "(the webhook URL is a secret)" : pathOf(request.url)}`;
  const maxAttempts = Math.max(1, config.maxAttempts ?? 3);
  const timeoutMs = config.timeoutMs ?? 10_000;
  const baseDelayMs = config.baseDelayMs ?? 500;
  let lastError: unknown;
  let lastRequest: HttpRequest | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const request = build(attempt);
    lastRequest = request;
    let delay = Math.min(baseDelayMs * 2 ** (attempt - 1), MAX_DELAY_MS);
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: withTimeout(timeoutMs, signal),
        redirect: "manual",
      });
      const text = await response.text();
      if (!retryable(response.status) || attempt === maxAttempts || (onlyUnsent && response.status !== 429)) {
        return { status: response.status, headers: response.headers, text, attempts: attempt };
      }
      const asked = retryAfterMs(response.headers, runtime.clock.now().getTime()) ?? retryDelay?.({ status: response.status, headers: response.headers });
      if (asked !== undefined && Number.isFinite(asked)) delay = Math.min(Math.max(asked, 0), MAX_DELAY_MS);
      lastError = undefined;
    } catch (error) {
      if (signal?.aborted) {
        throw new ActuatorApiError(`${service} request ${where(request)} was aborted`, { cause: error });
      }
      lastError = error;
      if (onlyUnsent && !unsent(error)) {
        throw new ActuatorApiError(`${service} request ${where(request)} got no response after ${attempt} attempt(s) and was not sent again (it may have reached ${options.receiver ?? "the receiver"}, which cannot tell a repeated message apart): ${causeOf(error)}`, { cause: error });
      }
      if (attempt === maxAttempts) break;
    }
    await runtime.sleep(delay, signal);
  }
  const cause = causeOf(lastError);
  const last = lastRequest === undefined ? "" : ` ${where(lastRequest)}`;
  throw new ActuatorApiError(`${service} request${last} got no response after ${maxAttempts} attempt(s): ${cause}`, { cause: lastError });
}

function causeOf(error: unknown): string {
  return error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error);
}

/** Parses a JSON body; undefined for an empty or non-JSON body (never throws). */
export function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
