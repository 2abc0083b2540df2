/**
 * Test helper (not used at run time): a local HTTP server on 127.0.0.1 with a random port that
 * plays a remote API for actuator tests. Routes answer like the real API; `authenticate` checks
 * every request before routing (a failed check answers with the API's own 401 and is recorded in
 * `problems`); requests to no route are recorded in `problems` too, so a test can assert that the
 * actuator spoke the protocol exactly.
 */
import { createServer } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ActionPlan } from "../../core/index.js";

export interface WireRequest {
  readonly method: string;
  /** Path as sent (percent-encoded), without the query. */
  readonly rawPath: string;
  /** Decoded path. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The query string as sent, without `?`. */
  readonly rawQuery: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  readonly text: string;
  /** Route parameters (`:name` segments), decoded. */
  readonly params: Readonly<Record<string, string>>;
  json<T = unknown>(): T;
  header(name: string): string | undefined;
}

export interface WireReply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** An object is sent as JSON (`content-type: application/json` unless set). */
  readonly body?: string | Buffer | object;
}

/** Returns undefined to let the next matching route answer. */
export type WireHandler = (request: WireRequest) => WireReply | undefined | Promise<WireReply | undefined>;

export interface WireServer {
  readonly url: string;
  readonly requests: readonly WireRequest[];
  readonly problems: readonly string[];
  /** Adds a route; `pattern` is a path with `:name` segments. Routes added later are tried first. */
  on(method: string, pattern: string, handler: WireHandler): void;
  /** Checks every request; a returned string is the failure reason, answered with `reject(reason)`. */
  authenticate(check: (request: WireRequest) => string | undefined, reject: (reason: string) => WireReply): void;
  /** Requests whose method changes state (anything but GET, HEAD, OPTIONS). */
  mutatingRequests(): WireRequest[];
  close(): Promise<void>;
}

interface Route {
  readonly method: string;
  readonly regex: RegExp;
  readonly names: readonly string[];
  readonly handler: WireHandler;
}

function compile(pattern: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = pattern
    .split("/")
    .map((segment) => {
      if (segment.startsWith(":")) {
        names.push(segment.slice(1));
        return "([^/]+)";
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { regex: new RegExp(`^${source}$`), names };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function send(response: ServerResponse, reply: WireReply): void {
  const headers: Record<string, string> = { ...reply.headers };
  let body: string | Buffer = "";
  if (Buffer.isBuffer(reply.body) || typeof reply.body === "string") {
    body = reply.body;
  } else if (reply.body !== undefined) {
    body = JSON.stringify(reply.body);
    if (!Object.keys(headers).some((name) => name.toLowerCase() === "content-type")) headers["content-type"] = "application/json; charset=utf-8";
  }
  headers["content-length"] = String(Buffer.byteLength(body));
  response.writeHead(reply.status, headers);
  response.end(body);
}

/** Starts the server; close it in afterEach. */
export async function startWireServer(): Promise<WireServer> {
  const routes: Route[] = [];
  const requests: WireRequest[] = [];
  const problems: string[] = [];
  let auth: { check: (request: WireRequest) => string | undefined; reject: (reason: string) => WireReply } | undefined;

  const server = createServer((incoming, response) => {
    void (async () => {
      const rawBody = await readBody(incoming);
      const url = new URL(incoming.url ?? "/", "http://127.0.0.1");
      const rawPath = (incoming.url ?? "/").split("?")[0] ?? "/";
      const base = {
        method: incoming.method ?? "GET",
        rawPath,
        path: decodeURIComponent(url.pathname),
        query: url.searchParams,
        rawQuery: url.search.replace(/^\?/, ""),
        headers: incoming.headers,
        rawBody,
        text: rawBody.toString("utf8"),
        json<T>(): T {
          return JSON.parse(rawBody.toString("utf8")) as T;
        },
        header(name: string): string | undefined {
          const value = incoming.headers[name.toLowerCase()];
          return Array.isArray(value) ? value.join(", ") : value;
        },
      };
      requests.push({ ...base, params: {} });
      if (auth) {
        const reason = auth.check({ ...base, params: {} });
        if (reason !== undefined) {
          problems.push(`${base.method} ${base.path}: ${reason}`);
          send(response, auth.reject(reason));
          return;
        }
      }
      for (const route of [...routes].reverse()) {
        if (route.method !== base.method) continue;
        const match = route.regex.exec(rawPath);
        if (!match) continue;
        const params: Record<string, string> = {};
        route.names.forEach((name, index) => {
          params[name] = decodeURIComponent(match[index + 1] ?? "");
        });
        const reply = await route.handler({ ...base, params });
        if (reply !== undefined) {
          send(response, reply);
          return;
        }
      }
      problems.push(`${base.method} ${rawPath}${base.rawQuery ? `?${base.rawQuery}` : ""}: no route`);
      send(response, { status: 404, body: { message: "Not Found (no route in the test server)" } });
    })().catch((error: unknown) => {
      problems.push(`handler error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      if (!response.headersSent) send(response, { status: 500, body: { message: "test server handler error" } });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    problems,
    on(method, pattern, handler) {
      const { regex, names } = compile(pattern);
      routes.push({ method, regex, names, handler });
    },
    authenticate(check, reject) {
      auth = { check, reject };
    },
    mutatingRequests() {
      return requests.filter((request) => !["GET", "HEAD", "OPTIONS"].includes(request.method));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A runtime for tests: fixed clock, and a sleep that records delays without waiting. */
export function testRuntime(now = new Date("2025-03-01T12:00:00Z")): { clock: { now(): Date }; sleep: (ms: number) => Promise<void>; sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    clock: { now: () => now },
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
    sleeps,
  };
}

/** An ActionPlan for tests with sensible ids; `overrides` replace any field. */
export function testPlan(actuator: string, params: Record<string, unknown>, overrides: Partial<ActionPlan> = {}): ActionPlan {
  return {
    id: "act-0001",
    decisionId: "dec-0001",
    policy: "test-policy",
    actuator,
    target: { kind: "resource", id: "target-1" },
    params,
    idempotencyKey: "idem-0001",
    dryRun: false,
    ...overrides,
  };
}
