/** Actions (list, get, undo) and the kill switch. */
import type { FastifyInstance } from "fastify";
import type { Agent } from "../../agent.js";
import type { ActionStatus } from "../../core/action.js";
import { VigilError } from "../../core/errors.js";
import { actionCursor } from "../../act/executor.js";
import { pageOf } from "../../act/time-page.js";
import { route, schemas } from "../route.js";

const actionStatuses = ["planned", "pending-approval", "applied", "dry-run", "skipped", "failed", "undone", "blocked"];

const killSwitchSchema = { type: "object", properties: { on: { type: "boolean" }, by: { type: "string" }, at: { type: "string" }, reason: { type: "string" } } } as const;

export function actionRoutes(app: FastifyInstance, agent: Agent): void {
  route<Record<string, string>, { decisionId?: string; policy?: string; status?: ActionStatus; limit: number; cursor?: string }>(app, agent, {
    method: "GET",
    url: "/v1/actions",
    access: "viewer",
    summary: "Actions the agent planned, applied, dry-ran, blocked or undid, with what undo needs; newest first",
    description: "Ordered by when each action was planned (then id), newest first. `nextCursor` is set when more actions follow: pass it as `cursor` (with the same filters) for the next page.",
    tags: ["actions"],
    querystring: { type: "object", additionalProperties: false, properties: { decisionId: schemas.filter, policy: schemas.filter, status: { enum: actionStatuses }, limit: schemas.limit, cursor: { ...schemas.filter, description: "The `nextCursor` of the previous page." } } },
    responses: { 200: { description: "Action records, newest first, and `nextCursor` when more follow.", schema: { type: "object", properties: { actions: { type: "array", items: schemas.anyObject }, nextCursor: { type: "string" } } } } },
    async handler(request, _reply, { agent: a }) {
      const q = request.query;
      // One more than the page, to tell whether a next page exists.
      const records = await a.executor.listActions({ limit: q.limit + 1, ...(q.decisionId ? { decisionId: q.decisionId } : {}), ...(q.policy ? { policy: q.policy } : {}), ...(q.status ? { status: q.status } : {}), ...(q.cursor === undefined ? {} : { after: q.cursor }) });
      const { items, nextCursor } = pageOf(records, q.limit, actionCursor);
      return { actions: items, ...(nextCursor === undefined ? {} : { nextCursor }) };
    },
  });

  route<{ id: string }>(app, agent, {
    method: "GET",
    url: "/v1/actions/:id",
    access: "viewer",
    summary: "One action record with its history",
    tags: ["actions"],
    params: schemas.id,
    responses: { 200: { description: "The action record.", schema: schemas.anyObject }, 404: { description: "No such action.", schema: schemas.error } },
    async handler(request, _reply, { agent: a }) {
      const action = await a.executor.getAction(request.params.id);
      if (!action) throw new VigilError("VIGIL_NOT_FOUND", `no action with id ${request.params.id}; list them with GET /v1/actions`, { field: "id" });
      return action;
    },
  });

  route<{ id: string }, Record<string, unknown>, { reason?: string } | undefined>(app, agent, {
    method: "POST",
    url: "/v1/actions/:id/undo",
    access: "operator",
    audit: false,
    summary: "Undo an applied action through its actuator, from the recorded undo data",
    description: "409 when the action is not applied or not reversible; 502 when the actuator failed (the record keeps the failed undo result).",
    tags: ["actions"],
    params: schemas.id,
    body: { type: "object", additionalProperties: false, properties: { reason: { type: "string" } } },
    responses: { 200: { description: "The action, now undone.", schema: schemas.anyObject }, 404: { description: "No such action.", schema: schemas.error }, 409: { description: "Not applied, or not reversible.", schema: schemas.error }, 502: { description: "The actuator failed to undo.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => a.executor.undo(request.params.id, actor, request.body?.reason),
  });

  route(app, agent, {
    method: "GET",
    url: "/v1/killswitch",
    access: "viewer",
    summary: "Whether the global kill switch is on (no action is applied while it is)",
    tags: ["actions"],
    responses: { 200: { description: "Kill switch state.", schema: killSwitchSchema } },
    handler: async (_request, _reply, { agent: a }) => a.executor.killSwitch.state(),
  });

  route<Record<string, string>, Record<string, unknown>, { on: boolean; reason?: string }>(app, agent, {
    method: "PUT",
    url: "/v1/killswitch",
    access: "operator",
    audit: false,
    summary: "Turn the global kill switch on or off",
    description: "Persisted and shared by every worker on the store. While on, planned actions are recorded as blocked and approvals wait.",
    tags: ["actions"],
    body: { type: "object", required: ["on"], additionalProperties: false, properties: { on: { type: "boolean" }, reason: { type: "string" } } },
    responses: { 200: { description: "The new state.", schema: killSwitchSchema } },
    handler: async (request, _reply, { agent: a, actor }) => a.executor.killSwitch.set(request.body.on, actor, request.body.reason),
  });
}
