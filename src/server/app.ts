import Fastify, { type FastifyInstance } from "fastify";
import { readFileSync } from "node:fs";
import type { Agent } from "../agent.js";
import { isVigilError, VigilError } from "../core/errors.js";
import { installAuth } from "./auth.js";
import { installBodyReading } from "./body.js";
import { MAX_PATH_VALUE_LENGTH, sendError, writeClientError } from "./errors.js";
import { createOpenApiCollector, type OpenApiCollector } from "./openapi.js";
import { route, type RoutePlugin } from "./route.js";
import { actionRoutes } from "./routes/actions.js";
import { adminRoutes } from "./routes/admin.js";
import { decisionRoutes } from "./routes/decisions.js";
import { eventRoutes } from "./routes/events.js";
import { reviewRoutes } from "./routes/reviews.js";
import { ladderRoutes } from "./routes/ladder.js";
import { cleanupRoutes } from "./routes/cleanup.js";
import { learnRoutes } from "./routes/learn.js";
import { proposalRoutes } from "./routes/proposals.js";
import { setupRoutes } from "./routes/setup.js";

export type { RoutePlugin } from "./route.js";

export interface ServerOptions {
  readonly agent: Agent;
  /** Structured JSON logs (pino) at `log.level`; default off (tests). */
  readonly logger?: boolean;
  /**
   * Extra route groups, registered after the built-in ones (e.g. admission from
   * src/server/admission.ts). Each declares access per route through `route()`.
   */
  readonly routes?: readonly RoutePlugin[];
}

export interface VigilServer {
  readonly app: FastifyInstance;
  readonly metrics: Agent["metrics"];
  readonly openapi: OpenApiCollector;
}

/** The built-in route groups, in registration order (the worker role serves none of them). */
export const builtinRoutes: readonly RoutePlugin[] = [decisionRoutes, reviewRoutes, actionRoutes, adminRoutes, setupRoutes, ladderRoutes, cleanupRoutes, learnRoutes, proposalRoutes];

/**
 * The HTTP API. Every route is registered through `route()` with its access (role) and JSON
 * Schemas; fastify validates requests with them, the auth hook enforces the role, and
 * /openapi.json is generated from them. Errors are `{ error: { code, message, field } }` with the
 * status mapped in errors.ts. Call `app.ready()` (or `listen`) before use.
 */
export function buildServer(options: ServerOptions): VigilServer {
  const { agent } = options;
  const tls = agent.config.server.tls;
  const level = agent.config.log.level;
  const requestTimeoutMs = agent.config.server.requestTimeoutMs;
  const checkingInterval = requestTimeoutMs > 0 ? Math.max(50, Math.min(30_000, Math.floor(requestTimeoutMs / 4))) : 30_000;
  const app = Fastify({
    logger: options.logger && level !== "silent" ? { level, redact: ["req.headers.authorization", "req.headers[\"x-hub-signature-256\"]"] } : false,
    bodyLimit: agent.config.server.bodyLimit,
    // Entity ids in paths (/v1/entities/:kind/:id) are ARNs and e-mail addresses, URL-encoded.
    // A trailing slash reaches the route without it: /v1/decisions/ was /v1/decisions/:id with an
    // empty id (400), /v1/posture/ was 404 — the same slip answered two ways.
    routerOptions: { maxParamLength: MAX_PATH_VALUE_LENGTH, ignoreTrailingSlash: true },
    // A property the schema does not allow is refused (400 naming it), as /openapi.json says —
    // not silently dropped (fastify's default): `{"input": ..., "dry_run": true}` would be
    // recorded as enforced, `?verdit=deny` would list every decision.
    // Nor is a value of the wrong JSON type converted (fastify's default coerceTypes: "array"):
    // `{"on": null}`, `{"on": 0}` or `{"on": [false]}` switched the kill switch off, `"roles":
    // "admin"` created an admin token. Query values, which are text, are read by route() instead.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    // `__proto__` and `constructor` are ordinary keys of the data Vigil judges (a ConfigMap may hold
    // a `__proto__` key): refusing such a body made the admission webhook answer 400, and the API
    // server then applies the webhook's failurePolicy with no policy evaluated. JSON.parse makes
    // them own properties, as the events route (and every source) already reads them.
    onProtoPoisoning: "ignore",
    onConstructorPoisoning: "ignore",
    // Errors the router meets before any route (a URL that cannot be percent-decoded) get
    // Vigil's error shape too, not fastify's default one.
    frameworkErrors: (error, _request, reply) => {
      void sendError(reply, error);
    },
    // Requests Node's HTTP server refuses before any route (two Content-Lengths, headers over its
    // limit, a body not received within requestTimeoutMs) get Vigil's error shape too.
    clientErrorHandler: (error, socket) => writeClientError(error, socket, requestTimeoutMs),
    // A client trickling its request (slowloris) holds a connection only this long; Node checks
    // open requests every connectionsCheckingInterval (30 s by default, shorter for a short limit).
    // Given to the Node server at creation: set afterwards (fastify's requestTimeout alone), Node
    // 20 never enforced it.
    requestTimeout: requestTimeoutMs,
    ...(tls
      ? { https: { cert: readFileSync(tls.cert), key: readFileSync(tls.key), requestTimeout: requestTimeoutMs, connectionsCheckingInterval: checkingInterval } }
      : { http: { requestTimeout: requestTimeoutMs, connectionsCheckingInterval: checkingInterval } }),
  }) as unknown as FastifyInstance;
  installBodyReading(app);
  const openapi = createOpenApiCollector(app);
  installAuth(app, agent);

  app.setErrorHandler((error, _request, reply) => {
    // Every 429 tells the caller when to retry, whichever route met the full ingest queue.
    if (isVigilError(error) && error.code === "VIGIL_BACKPRESSURE" && !reply.hasHeader("retry-after")) reply.header("retry-after", String(agent.config.ingest.retryAfterSeconds));
    return sendError(reply, error);
  });
  app.setNotFoundHandler((request, reply) => {
    // A path that exists with other methods is 405 with Allow (RFC 9110 15.5.6), not 404.
    const path = request.url.split("?")[0] ?? request.url;
    const allow = openapi.methodsOf(path).join(", ");
    if (allow === "") return sendError(reply, new VigilError("VIGIL_NOT_FOUND", `no route ${request.method} ${request.url}; see /openapi.json`));
    return reply.code(405).header("allow", allow).send({ error: { code: "VIGIL_BAD_INPUT", message: `${request.method} is not allowed on ${path}: use ${allow} (see /openapi.json)`, field: "method" } });
  });

  route(app, agent, {
    method: "GET",
    url: "/healthz",
    access: "public",
    summary: "Liveness and a short status (policies loaded, load errors, store, role, queue)",
    tags: ["operations"],
    responses: { 200: { description: "The agent is up.", schema: { type: "object", properties: { status: { type: "string" }, policies: { type: "integer" }, policyErrors: { type: "integer" }, store: { type: "string" }, bus: { type: "string" }, role: { type: "string" }, queue: { type: "object" } } } } },
    handler: async (_request, _reply, { agent: a }) => ({ status: "ok", policies: a.policySet.size, policyErrors: a.loadErrors.length, store: a.storage.kind, bus: a.bus.kind, role: a.role, queue: a.ingestor.stats() }),
  });

  route(app, agent, {
    method: "GET",
    url: "/metrics",
    access: agent.config.server.metricsAuth ? "viewer" : "public",
    summary: "Prometheus metrics (text format 0.0.4): decisions by verdict and tier, evaluation latency, ingest queue",
    description: "Needs the viewer role unless `server.metricsAuth: false`.",
    tags: ["operations"],
    produces: "text/plain",
    responses: { 200: { description: "Metrics.", schema: { type: "string" } } },
    handler: async (_request, reply, { agent: a }) => reply.type("text/plain; version=0.0.4").send(a.metrics.render()),
  });

  route(app, agent, {
    method: "GET",
    url: "/openapi.json",
    access: "viewer",
    summary: "This API as an OpenAPI 3.1 document, generated from the route schemas",
    tags: ["operations"],
    responses: { 200: { description: "The OpenAPI document." } },
    handler: async () => openapi.document({ version: "0.1.0" }),
  });

  if (agent.role !== "worker") {
    void app.register(async (instance) => eventRoutes(instance, agent));
    for (const plugin of [...builtinRoutes, ...(options.routes ?? [])]) void app.register(async (instance) => plugin(instance, agent));
  }
  return { app, metrics: agent.metrics, openapi };
}
