/** Posture, policies, tokens, feedback, the audit trail and the manual-clock test hook. */
import type { FastifyInstance } from "fastify";
import { parseRoles, type Agent, type Role } from "../../agent.js";
import type { PostureLevel } from "../../core/entity.js";
import { postureLevels } from "../../core/entity.js";
import { feedbackLabels, type FeedbackLabel } from "../../core/feedback.js";
import { VigilError } from "../../core/errors.js";
import { pageOf } from "../../act/time-page.js";
import { feedbackCursor } from "../../review/feedback.js";
import { personOnly, route, schemas } from "../route.js";

const postureSchema = {
  type: "object",
  properties: { level: { enum: postureLevels }, scope: { type: "string" }, reason: { type: "string" }, setBy: { type: "string" }, since: { type: "string" }, until: { type: "string" } },
} as const;

const tokenInfoSchema = {
  type: "object",
  properties: { id: { type: "string" }, name: { type: "string" }, roles: { type: "array", items: { type: "string" } }, createdAt: { type: "string" }, createdBy: { type: "string" }, expiresAt: { type: "string" }, revokedAt: { type: "string" }, revokedBy: { type: "string" } },
} as const;

/** The last instant a JavaScript Date holds (ECMA-262 21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

const roleNames = ["admin", "approver", "operator", "ingest", "viewer"];

export function adminRoutes(app: FastifyInstance, agent: Agent): void {
  route(app, agent, {
    method: "GET",
    url: "/v1/posture",
    access: "viewer",
    summary: "Postures in force, by scope",
    tags: ["posture"],
    responses: { 200: { description: "Unexpired postures (org first).", schema: { type: "object", properties: { postures: { type: "array", items: postureSchema } } } } },
    handler: async (_request, _reply, { agent: a }) => ({ postures: await a.context.posture.list() }),
  });

  route<Record<string, string>, Record<string, unknown>, { level: PostureLevel; scope?: string; reason?: string; until?: string }>(app, agent, {
    method: "PUT",
    url: "/v1/posture",
    access: "operator",
    audit: false,
    summary: "Set the posture of a scope (normal, elevated, incident, freeze), optionally until a time",
    description: "Scope `org` (default), `account:<id>`, `namespace:<ns>` or `repo:<owner>/<name>`. Policies see it as `context.posture` and adaptive rules may raise tiers with it.",
    tags: ["posture"],
    body: { type: "object", required: ["level"], additionalProperties: false, properties: { level: { enum: postureLevels }, scope: { type: "string" }, reason: { type: "string" }, until: { type: "string", format: "date-time" } } },
    responses: { 200: { description: "The posture now in force for the scope.", schema: postureSchema } },
    handler: async (request, _reply, { agent: a, actor }) => a.context.posture.set({ ...request.body, setBy: actor.id }),
  });

  route(app, agent, {
    method: "GET",
    url: "/v1/policies",
    access: "viewer",
    summary: "Loaded policies with revision and enforcement state, and the policies that failed to load",
    tags: ["policies"],
    responses: {
      200: {
        description: "Policies and load errors.",
        schema: { type: "object", properties: { policies: { type: "array", items: schemas.anyObject }, loadErrors: { type: "array", items: schemas.error.properties.error } } },
      },
    },
    async handler(_request, _reply, { agent: a }) {
      return { policies: await a.policyStates(), loadErrors: a.loadErrors.map((e) => e.toJSON()) };
    },
  });

  route<{ name: string }, Record<string, unknown>, { reason?: string }>(app, agent, {
    method: "POST",
    url: "/v1/policies/:name/promote",
    access: "approver",
    audit: false,
    summary: "Promote a policy out of dry-run (its actions run for real) and out of shadow mode (it is enforced)",
    description: "Applies to the policy's current revision; a changed policy file starts again in its declared mode. The answer carries `shadow`: what the policy would have changed while in shadow mode and how people labelled it (as `GET /v1/policies/:name/shadow`, computed before the promotion). 409 when the policy is already enforced with real actions.",
    tags: ["policies"],
    params: { type: "object", required: ["name"], properties: { name: { type: "string", minLength: 1 } } },
    body: { type: "object", additionalProperties: false, properties: { reason: { type: "string" } } },
    responses: { 200: { description: "The policy's state after promotion, with the shadow period's figures (`shadow`).", schema: schemas.anyObject }, 403: personOnly("approver"), 404: { description: "No such policy.", schema: schemas.error }, 409: { description: "Nothing to promote.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => a.promotePolicy(request.params.name, actor, request.body?.reason),
  });

  route(app, agent, {
    method: "GET",
    url: "/v1/tokens",
    access: "admin",
    summary: "API tokens (names, roles, state; never the secrets)",
    tags: ["tokens"],
    responses: { 200: { description: "Tokens.", schema: { type: "object", properties: { tokens: { type: "array", items: tokenInfoSchema } } } } },
    handler: async (_request, _reply, { agent: a }) => ({ tokens: await a.tokens.list() }),
  });

  route<Record<string, string>, Record<string, unknown>, { name: string; roles: Role[]; expiresAt?: string }>(app, agent, {
    method: "POST",
    url: "/v1/tokens",
    access: "admin",
    audit: false,
    summary: "Create an API token; the answer is the only time the secret is shown",
    tags: ["tokens"],
    body: { type: "object", required: ["name", "roles"], additionalProperties: false, properties: { name: { type: "string", minLength: 1, maxLength: 200 }, roles: { type: "array", minItems: 1, items: { enum: roleNames } }, expiresAt: { type: "string", format: "date-time" } } },
    responses: { 201: { description: "The token and its record.", schema: { type: "object", properties: { token: { type: "string" }, record: tokenInfoSchema } } } },
    async handler(request, reply, { agent: a, actor }) {
      const { expiresAt } = request.body;
      if (expiresAt !== undefined && Date.parse(expiresAt) <= a.clock.now().getTime()) {
        throw new VigilError("VIGIL_BAD_INPUT", `expiresAt ${expiresAt} is not in the future (now ${a.clock.now().toISOString()}): such a token would never work; give a later time or leave expiresAt out`, { field: "expiresAt" });
      }
      const created = await a.tokens.create({ name: request.body.name, roles: parseRoles(request.body.roles), ...(request.body.expiresAt ? { expiresAt: request.body.expiresAt } : {}) }, actor.id);
      return reply.code(201).send(created);
    },
  });

  route<{ id: string }>(app, agent, {
    method: "DELETE",
    url: "/v1/tokens/:id",
    access: "admin",
    audit: false,
    summary: "Revoke a token (takes effect at once in this process, within seconds on other workers)",
    tags: ["tokens"],
    params: schemas.id,
    responses: { 200: { description: "The revoked token.", schema: tokenInfoSchema }, 404: { description: "No such token.", schema: schemas.error }, 409: { description: "The last admin token in force while other tokens still sign in: create another admin token first.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => a.tokens.revoke(request.params.id, actor.id),
  });

  route<Record<string, string>, Record<string, unknown>, { decisionId: string; label: FeedbackLabel; reason?: string }>(app, agent, {
    method: "POST",
    url: "/v1/feedback",
    access: "approver",
    audit: false,
    summary: "Give feedback on a decision: true_positive, false_positive or incident",
    description: "Recorded with the caller as `by`; learning (calibration, proposals) reads it.",
    tags: ["feedback"],
    body: { type: "object", required: ["decisionId", "label"], additionalProperties: false, properties: { decisionId: { type: "string", minLength: 1 }, label: { enum: feedbackLabels }, reason: { type: "string" } } },
    responses: { 201: { description: "The feedback record.", schema: schemas.anyObject }, 404: { description: "No such decision.", schema: schemas.error } },
    async handler(request, reply, { agent: a, actor }) {
      // The learn stage's checks (role, label, known decision) before anything is written.
      const feedback = await a.feedback.record({ ...request.body, via: "api" }, actor);
      return reply.code(201).send(feedback);
    },
  });

  route<Record<string, string>, { decisionId?: string; label?: FeedbackLabel; limit: number; cursor?: string }>(app, agent, {
    method: "GET",
    url: "/v1/feedback",
    access: "viewer",
    summary: "Feedback given on decisions (API, reviews, overrides, events), newest first",
    description: "Ordered by when each label was given (then id), newest first. `nextCursor` is set when more records follow: pass it as `cursor` (with the same filters) for the next page.",
    tags: ["feedback"],
    querystring: { type: "object", additionalProperties: false, properties: { decisionId: schemas.filter, label: { enum: feedbackLabels }, limit: schemas.limit, cursor: { ...schemas.filter, description: "The `nextCursor` of the previous page." } } },
    responses: { 200: { description: "Feedback records, newest first, and `nextCursor` when more follow.", schema: { type: "object", properties: { feedback: { type: "array", items: schemas.anyObject }, nextCursor: { type: "string" } } } } },
    handler: async (request, _reply, { agent: a }) => {
      const q = request.query;
      const records = await a.reviews.feedback.list({ limit: q.limit + 1, ...(q.decisionId ? { decisionId: q.decisionId } : {}), ...(q.label ? { label: q.label } : {}), ...(q.cursor === undefined ? {} : { after: q.cursor }) });
      const { items, nextCursor } = pageOf(records, q.limit, feedbackCursor);
      return { feedback: items, ...(nextCursor === undefined ? {} : { nextCursor }) };
    },
  });

  route<Record<string, string>, { actor?: string; since?: string; limit: number }>(app, agent, {
    method: "GET",
    url: "/v1/audit",
    access: "admin",
    summary: "The audit trail: who did what (token, review, exception, kill switch, undo, posture, promotion, refused calls)",
    tags: ["audit"],
    querystring: { type: "object", additionalProperties: false, properties: { actor: schemas.filter, since: { type: "string", format: "date-time" }, limit: schemas.limit } },
    responses: { 200: { description: "Entries, newest first.", schema: { type: "object", properties: { entries: { type: "array", items: { type: "object", properties: { at: { type: "string" }, actor: { type: "string" }, action: { type: "string" }, target: { type: "string" }, detail: schemas.anyObject } } } } } } },
    handler: async (request, _reply, { agent: a }) => ({ entries: await a.storage.listAudit({ limit: request.query.limit, ...(request.query.actor ? { actor: request.query.actor } : {}), ...(request.query.since ? { since: request.query.since } : {}) }) }),
  });

  if (agent.manualClock) {
    const clock = agent.manualClock;
    route<Record<string, string>, Record<string, unknown>, { time?: string; advanceMs?: number }>(app, agent, {
      method: "PUT",
      url: "/v1/clock",
      access: "admin",
      summary: "Test hook (clock.mode manual only): move the agent's clock forward, then run the scheduler once",
      description: "Registered only when `clock.mode: manual`. Escalation timeouts and expiries are then tested without sleeping.",
      tags: ["testing"],
      body: { type: "object", additionalProperties: false, properties: { time: { type: "string", format: "date-time" }, advanceMs: { type: "integer", minimum: 0 } } },
      responses: { 200: { description: "The clock's time after the move.", schema: { type: "object", properties: { now: { type: "string" } } } } },
      async handler(request, _reply, { agent: a }) {
        const { time, advanceMs } = request.body;
        // A clock moved past the last time a Date holds is an Invalid Date from then on, and it
        // only moves forward: every later call failed with 500. Checked before anything moves.
        const from = time === undefined ? clock.now().getTime() : Math.max(clock.now().getTime(), Date.parse(time));
        if (advanceMs !== undefined && from + advanceMs > MAX_DATE_MS) {
          throw new VigilError("VIGIL_BAD_INPUT", `advanceMs ${advanceMs} moves the clock past +275760-09-13T00:00:00Z, the last time a date can hold: advance by at most ${MAX_DATE_MS - from} ms`, { field: "advanceMs" });
        }
        if (time !== undefined) clock.set(time);
        if (advanceMs !== undefined) clock.advance(advanceMs);
        await a.tick();
        return { now: clock.now().toISOString() };
      },
    });
  }
}
