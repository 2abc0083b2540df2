/**
 * The enforcement ladder (src/act/ladder.ts; the cost pack's idle resources): list the episodes,
 * snooze a mark (its owner, an operator or an approver), release it, undo what it applied.
 * Snooze and release are open to viewer tokens at the route because the ladder itself allows the
 * item's owner — a token whose name is the owner on record — besides operators and approvers, and
 * refuses everyone else with 403.
 */
import type { FastifyInstance } from "fastify";
import type { Agent } from "../../agent.js";
import { ladderCursor, type Ladder, type LadderStatus } from "../../act/ladder.js";
import { pageOf } from "../../act/time-page.js";
import { VigilError } from "../../core/errors.js";
import { route, schemas } from "../route.js";

const statuses: readonly LadderStatus[] = ["notified", "waiting", "pending-approval", "applied", "previewed", "failed", "released", "lapsed", "undone", "closed"];

function ladderOf(agent: Agent): Ladder {
  if (!agent.ladder) throw new VigilError("VIGIL_NOT_FOUND", "the enforcement ladder is not configured: no pack settings or vigil.yaml `ladder` section (the cost pack sets one)", { field: "ladder" });
  return agent.ladder;
}

/** Snooze and release: the route takes any viewer token, the ladder then refuses all but these. */
const notAllowed = { description: "The token is not the item's owner (a token named like the owner on record), nor does it hold the operator or approver role (or not even viewer).", schema: schemas.error };

const reason = (required: boolean) => ({
  type: "object",
  ...(required ? { required: ["reason"] } : {}),
  additionalProperties: false,
  properties: { reason: { type: "string", minLength: 1 } },
});

export function ladderRoutes(app: FastifyInstance, agent: Agent): void {
  route<Record<string, string>, { status?: LadderStatus; policy?: string; limit: number; cursor?: string }>(app, agent, {
    method: "GET",
    url: "/v1/ladder",
    access: "viewer",
    summary: "Enforcement ladder episodes, newest first: notified, marked (waiting for their grace period), sent for approval, applied, released…",
    description: "Ordered by when each item's current episode opened (then id), newest first. `nextCursor` is set when more items follow: pass it as `cursor` (with the same filters) for the next page.",
    tags: ["ladder"],
    querystring: { type: "object", additionalProperties: false, properties: { status: { enum: statuses }, policy: schemas.filter, limit: schemas.limit, cursor: { ...schemas.filter, description: "The `nextCursor` of the previous page." } } },
    responses: { 200: { description: "Ladder items (one per policy and target: its current episode), newest first, and `nextCursor` when more follow.", schema: { type: "object", properties: { items: { type: "array", items: schemas.anyObject }, nextCursor: { type: "string" } } } }, 404: { description: "No ladder is configured.", schema: schemas.error } },
    async handler(request, _reply, { agent: a }) {
      const q = request.query;
      // One more than the page, to tell whether a next page exists.
      const items = await ladderOf(a).list({ limit: q.limit + 1, ...(q.status ? { status: q.status } : {}), ...(q.policy ? { policy: q.policy } : {}), ...(q.cursor === undefined ? {} : { after: q.cursor }) });
      const page = pageOf(items, q.limit, ladderCursor);
      return { items: page.items, ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }) };
    },
  });

  route<{ id: string }>(app, agent, {
    method: "GET",
    url: "/v1/ladder/:id",
    access: "viewer",
    summary: "One ladder item: held actions, due time, snoozes, history",
    tags: ["ladder"],
    params: schemas.id,
    responses: { 200: { description: "The item.", schema: schemas.anyObject }, 404: { description: "No such item, or no ladder.", schema: schemas.error } },
    async handler(request, _reply, { agent: a }) {
      const item = await ladderOf(a).get(request.params.id);
      if (!item) throw new VigilError("VIGIL_NOT_FOUND", `no ladder item ${request.params.id}; list them with GET /v1/ladder`, { field: "id" });
      return item;
    },
  });

  route<{ id: string }, Record<string, unknown>, { reason: string; businessDays?: number }>(app, agent, {
    method: "POST",
    url: "/v1/ladder/:id/snooze",
    access: "viewer",
    audit: false,
    summary: "Snooze a mark: its held actions wait more business days (owner, operator or approver; reason required)",
    description: "Allowed to the item's owner (a token named like the owner on record), operators and approvers; anyone else gets 403. At most maxSnoozes per episode (409 after). Audited as ladder.snooze with who and why.",
    tags: ["ladder"],
    params: schemas.id,
    body: { type: "object", required: ["reason"], additionalProperties: false, properties: { reason: { type: "string", minLength: 1 }, businessDays: { type: "number", exclusiveMinimum: 0, maximum: 60 } } },
    responses: { 200: { description: "The item with its new due time.", schema: schemas.anyObject }, 403: notAllowed, 404: { description: "No such item.", schema: schemas.error }, 409: { description: "Not waiting, or snoozed too often.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => ladderOf(a).snooze(request.params.id, actor, { reason: request.body.reason, ...(request.body.businessDays === undefined ? {} : { businessDays: request.body.businessDays }) }),
  });

  route<{ id: string }, Record<string, unknown>, { reason: string }>(app, agent, {
    method: "POST",
    url: "/v1/ladder/:id/release",
    access: "viewer",
    audit: false,
    summary: "Release a mark: its held actions never run (owner, operator or approver; reason required)",
    description: "Same people as snooze. Audited as ladder.release.",
    tags: ["ladder"],
    params: schemas.id,
    body: reason(true),
    responses: { 200: { description: "The released item.", schema: schemas.anyObject }, 403: notAllowed, 404: { description: "No such item.", schema: schemas.error }, 409: { description: "Not waiting or notified.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => ladderOf(a).release(request.params.id, actor, request.body.reason),
  });

  route<{ id: string }, Record<string, unknown>, { reason?: string } | undefined>(app, agent, {
    method: "POST",
    url: "/v1/ladder/:id/undo",
    access: "operator",
    audit: false,
    summary: "Undo what the ladder applied (start the stopped instance, restore the replica count)",
    tags: ["ladder"],
    params: schemas.id,
    body: reason(false),
    responses: { 200: { description: "The item, the undone action records, and `failed`: the actions whose undo failed, with the reason (then the item stays applied; undo again retries them).", schema: schemas.anyObject }, 404: { description: "No such item.", schema: schemas.error }, 409: { description: "Nothing applied.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => ladderOf(a).undo(request.params.id, actor, request.body?.reason),
  });
}
