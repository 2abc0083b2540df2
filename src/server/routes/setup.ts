/**
 * What the organisation tells Vigil before events arrive: entities (teams, owners, on-call
 * schedules, namespace data classes) and exceptions imported from an existing register under their
 * own ids (`vigil setup import` sends a `vigil simulate --setup` file through these routes).
 */
import type { FastifyInstance } from "fastify";
import type { Agent } from "../../agent.js";
import { entityRecordKey } from "../../context/entity-store.js";
import { VigilError } from "../../core/errors.js";
import { personOnly, route, schemas } from "../route.js";
import { exceptionFields } from "./reviews.js";

const entityParams = {
  type: "object",
  required: ["kind", "id"],
  properties: { kind: { type: "string", minLength: 1 }, id: { type: "string", minLength: 1 } },
} as const;

const entityBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    attrs: { type: "object", additionalProperties: true, description: "Attributes to merge (null removes one): owner, team, criticality, classification, environment, labels, tags, schedule, onCall…" },
    relations: { type: "object", additionalProperties: { type: "array", items: { type: "string" } }, description: "Relations replaced per name, e.g. {team: [\"team/payments\"]}" },
  },
} as const;

const exceptionImportBody = {
  type: "object",
  required: ["policies", "justification", "expiresAt"],
  additionalProperties: false,
  properties: {
    id: { type: "string", description: "Must equal the id in the path when given." },
    ...exceptionFields,
    createdBy: { type: "string" }, createdAt: { type: "string", format: "date-time" },
  },
} as const;

export function setupRoutes(app: FastifyInstance, agent: Agent): void {
  route<Record<string, string>, { kind?: string; limit: number; afterId?: string }>(app, agent, {
    method: "GET",
    url: "/v1/entities",
    access: "viewer",
    summary: "Entities in the entity store (attributes, relations, recent violations), by kind",
    tags: ["entities"],
    querystring: {
      type: "object",
      additionalProperties: false,
      properties: { kind: schemas.filter, limit: schemas.limit, afterId: { ...schemas.filter, description: "The `nextAfterId` of the previous page (the last entity's `kind/id` key), with the same `kind`." } },
    },
    responses: { 200: { description: "Entities ordered by key (`kind/id`); `nextAfterId` when the page is full: pass it as afterId for the next page.", schema: { type: "object", properties: { entities: { type: "array", items: schemas.anyObject }, nextAfterId: { type: "string" } } } } },
    async handler(request, _reply, { agent: a }) {
      const { kind, limit, afterId } = request.query;
      // The cursor is a store key, `kind/id`: a bare id sorts before every key, so the listing
      // started over and a client paging by the last id it saw looped on the first page.
      const prefix = kind === undefined ? undefined : entityRecordKey(kind, "");
      if (afterId !== undefined && (prefix === undefined ? !afterId.includes("/") : !afterId.startsWith(prefix))) {
        throw new VigilError("VIGIL_BAD_INPUT", `afterId ${JSON.stringify(afterId)} is not a cursor of this listing: pass the nextAfterId of the previous page (a \`kind/id\` key${prefix === undefined ? "" : ` starting with ${prefix}`}), or leave afterId out for the first page`, { field: "afterId" });
      }
      const entities = await a.context.entities.list({ limit, ...(kind ? { kind } : {}), ...(afterId ? { afterId } : {}) });
      const last = entities.at(-1);
      return { entities, ...(last !== undefined && entities.length === limit ? { nextAfterId: entityRecordKey(last.kind, last.id) } : {}) };
    },
  });

  route<{ kind: string; id: string }>(app, agent, {
    method: "GET",
    url: "/v1/entities/:kind/:id",
    access: "viewer",
    summary: "One entity: attributes, relations and history (violations in the last 30 days, the latest ones)",
    description: "URL-encode the id (`arn:aws:iam::1:user%2Fomar`).",
    tags: ["entities"],
    params: entityParams,
    responses: { 200: { description: "The entity.", schema: schemas.anyObject }, 404: { description: "Vigil knows nothing about it.", schema: schemas.error } },
    async handler(request, _reply, { agent: a }) {
      const entity = await a.context.entities.get(request.params.kind, request.params.id);
      if (!entity) throw new VigilError("VIGIL_NOT_FOUND", `no entity ${request.params.kind}/${request.params.id}; list them with GET /v1/entities?kind=${request.params.kind}`, { field: "id" });
      return entity;
    },
  });

  route<{ kind: string; id: string }, Record<string, unknown>, { attrs?: Record<string, unknown>; relations?: Record<string, string[]> }>(app, agent, {
    method: "PUT",
    url: "/v1/entities/:kind/:id",
    access: "operator",
    audit: false,
    summary: "Create or update an entity: merge attributes (null removes one), replace relations by name",
    description: "The entity store is the system of record for managed attributes: policies see them as `context.entities.<role>.attrs` and they override what an event says. Audited as entity.upsert.",
    tags: ["entities"],
    params: entityParams,
    body: entityBody,
    responses: { 200: { description: "The entity after the update.", schema: schemas.anyObject } },
    handler: async (request, _reply, { agent: a, actor }) => a.context.entities.upsert({
      kind: request.params.kind, id: request.params.id,
      ...(request.body?.attrs ? { attrs: request.body.attrs } : {}),
      ...(request.body?.relations ? { relations: request.body.relations } : {}),
    }, actor.id),
  });

  route<{ id: string }, Record<string, unknown>, Record<string, unknown> & { id?: string }>(app, agent, {
    method: "PUT",
    url: "/v1/exceptions/:id",
    access: "approver",
    audit: false,
    summary: "Import an exception from an existing register under its own id (idempotent)",
    description: "Validated like POST /v1/exceptions, except that its expiry (in the future) is not bounded by review.maxExceptionDays: a register's expiry stands (an SCC valid for a year). The same exception again answers 200 with the stored one; other content under an existing id is 409. Audited as exception.import.",
    tags: ["exceptions"],
    params: schemas.id,
    body: exceptionImportBody,
    responses: { 200: { description: "The exception as stored.", schema: schemas.anyObject }, 403: personOnly("approver"), 409: { description: "Another exception has this id.", schema: schemas.error } },
    async handler(request, _reply, { agent: a, actor }) {
      const body = request.body;
      if (body.id !== undefined && body.id !== request.params.id) throw new VigilError("VIGIL_BAD_INPUT", `id in the body (${String(body.id)}) differs from the path (${request.params.id})`, { field: "id" });
      return a.reviews.exceptions.import({ ...(body as unknown as Parameters<typeof a.reviews.exceptions.import>[0]), id: request.params.id }, actor);
    },
  });
}
