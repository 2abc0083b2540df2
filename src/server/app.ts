import Fastify, { type FastifyInstance } from "fastify";
import { readFileSync } from "node:fs";
import type { Agent } from "../agent.js";
import { VigilError } from "../core/errors.js";
import { decisionOutput } from "../decide/output.js";
import { sendError } from "./errors.js";
import { createMetrics, type Metrics } from "./metrics.js";

export interface ServerOptions {
  readonly agent: Agent;
  readonly logger?: boolean;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * The HTTP API. Routes validate their input where it enters and answer errors as
 * `{ error: { code, message, field } }` with the status mapped in errors.ts.
 */
export function buildServer(options: ServerOptions): { app: FastifyInstance; metrics: Metrics } {
  const { agent } = options;
  const tls = agent.config.server.tls;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: agent.config.server.bodyLimit,
    ...(tls ? { https: { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } } : {}),
  }) as unknown as FastifyInstance;
  const metrics = createMetrics();

  app.setErrorHandler((error, _request, reply) => sendError(reply, error));
  app.setNotFoundHandler((request, reply) => sendError(reply, new VigilError("VIGIL_NOT_FOUND", `no route ${request.method} ${request.url}; see /openapi.json`)));

  app.get("/healthz", async () => ({ status: "ok", policies: agent.policySet.size, policyErrors: agent.loadErrors.length, store: agent.storage.kind }));

  app.get("/metrics", async (_request, reply) => reply.type("text/plain; version=0.0.4").send(metrics.render()));

  /** OPA-style data API: `{ input, eventType?, explain? }` → the decision. */
  app.post("/v1/decide", async (request, reply) => {
    const body = request.body;
    if (!isPlainObject(body)) throw new VigilError("VIGIL_BAD_INPUT", "the body must be a JSON object such as {\"input\": {...}}", { field: "body" });
    if (!("input" in body)) throw new VigilError("VIGIL_BAD_INPUT", "missing field \"input\": send {\"input\": <the document policies evaluate>}", { field: "input" });
    const eventType = body["eventType"];
    if (eventType !== undefined && typeof eventType !== "string") throw new VigilError("VIGIL_BAD_INPUT", "\"eventType\" must be a string such as \"dev.vigil.decide\"", { field: "eventType" });
    const explain = body["explain"];
    if (explain !== undefined && typeof explain !== "boolean") throw new VigilError("VIGIL_BAD_INPUT", "\"explain\" must be true or false", { field: "explain" });
    const started = performance.now();
    const decision = await agent.decide(body["input"], { ...(eventType ? { eventType } : {}), explain: explain === true });
    metrics.observeDecision(decision.verdict, decision.tier, (performance.now() - started) / 1000);
    return reply.send(decisionOutput(decision, { steps: explain === true }));
  });

  app.get<{ Params: { id: string } }>("/v1/decisions/:id", async (request) => {
    const decision = await agent.getDecision(request.params.id);
    if (!decision) throw new VigilError("VIGIL_NOT_FOUND", `no decision with id ${request.params.id}`, { field: "id" });
    return decision;
  });

  app.get<{ Params: { id: string } }>("/v1/decisions/:id/explain", async (request) => {
    const decision = await agent.getDecision(request.params.id);
    if (!decision) throw new VigilError("VIGIL_NOT_FOUND", `no decision with id ${request.params.id}`, { field: "id" });
    return { decisionId: decision.id, verdict: decision.verdict, tier: decision.tier, risk: decision.risk, explanation: decision.explanation };
  });

  return { app, metrics };
}
