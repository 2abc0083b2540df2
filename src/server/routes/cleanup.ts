/**
 * Kyverno cleanup policies run by the agent (docs/cleanup.md): their schedules, next and last
 * runs, and a run on demand. A run only hands the due objects to the pipeline: each deletion is a
 * decision, and its kubernetes.delete goes through the guardrails like any other action.
 */
import type { FastifyInstance } from "fastify";
import type { Agent, CleanupSweep } from "../../agent.js";
import { VigilError } from "../../core/errors.js";
import { route, schemas } from "../route.js";

function sweepOf(agent: Agent): CleanupSweep {
  if (!agent.cleanup) {
    throw new VigilError("VIGIL_NOT_FOUND", agent.config.cleanup.enabled
      ? "cleanup policies do not run here: set admission.cluster (the cluster to list) in vigil.yaml"
      : "cleanup policies do not run here: cleanup.enabled is false", { field: "cleanup" });
  }
  return agent.cleanup;
}

const runSchema = {
  type: "object",
  properties: {
    policy: { type: "string" }, run: { type: "string" }, listed: { type: "integer" }, selected: { type: "integer" }, ingested: { type: "integer" }, errors: { type: "integer" },
    problems: { type: "array", items: { type: "string" } },
  },
} as const;

export function cleanupRoutes(app: FastifyInstance, agent: Agent): void {
  route(app, agent, {
    method: "GET",
    url: "/v1/cleanup",
    access: "viewer",
    summary: "Cleanup policies (ClusterCleanupPolicy, CleanupPolicy, DeletingPolicy): schedule, next run, last run",
    tags: ["cleanup"],
    responses: {
      200: { description: "One entry per loaded cleanup policy.", schema: { type: "object", properties: { policies: { type: "array", items: schemas.anyObject } } } },
      404: { description: "Cleanup does not run in this process (no admission.cluster, or cleanup.enabled false).", schema: schemas.error },
    },
    handler: async (_request, _reply, { agent: a }) => ({ policies: await sweepOf(a).schedules() }),
  });

  route<{ policy: string }, Record<string, unknown>, { reason?: string } | undefined>(app, agent, {
    method: "POST",
    url: "/v1/cleanup/:policy/run",
    access: "operator",
    summary: "Run a cleanup policy now, outside its schedule: list, select, and hand each due object to the pipeline",
    description: "The deletions are decisions like those of a scheduled run: dry-run until the policy is promoted, then through the guardrails. 404 for a policy that is not a loaded cleanup policy.",
    tags: ["cleanup"],
    params: { type: "object", required: ["policy"], properties: { policy: { type: "string", minLength: 1 } } },
    body: { type: "object", additionalProperties: false, properties: { reason: { type: "string" } } },
    responses: {
      200: { description: "What the run listed, selected and handed over.", schema: runSchema },
      404: { description: "No such cleanup policy, or cleanup does not run here.", schema: schemas.error },
      429: { description: "The ingest queue has no room for this run's due objects (none was handed over); run it again after the Retry-After delay.", schema: schemas.error, headers: { "Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } } } },
    },
    async handler(request, _reply, { agent: a }) {
      const { candidates: _candidates, ...report } = await sweepOf(a).runNow(request.params.policy);
      return report;
    },
  });
}
