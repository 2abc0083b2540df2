/** Human review: approvals queue, exceptions, overrides. The review service checks roles and audits. */
import type { FastifyInstance } from "fastify";
import type { Agent } from "../../agent.js";
import { VigilError } from "../../core/errors.js";
import { feedbackLabels, type FeedbackLabel } from "../../core/feedback.js";
import { tiers, type Tier } from "../../core/policy.js";
import type { ExceptionInput, OverrideInput, ReviewRecord } from "../../review/index.js";
import { reviewCursor } from "../../review/approvals.js";
import { byTime, pageOf } from "../../act/time-page.js";
import { personOnly, route, schemas } from "../route.js";

/**
 * The fields of an exception, as review/exceptions.ts checks them (POST here, the import PUT in
 * setup.ts): /openapi.json publishes these, so a body the document calls valid is not refused.
 * An optional list or text is left out rather than empty (an empty `subjects` would read as every subject).
 */
export const exceptionFields = {
  policies: { type: "array", minItems: 1, items: { type: "string", minLength: 1 } },
  rules: { type: "array", minItems: 1, items: { type: "string", minLength: 1 } },
  when: { type: "string", minLength: 1 },
  subjects: { type: "array", minItems: 1, items: { type: "string", minLength: 1 } },
  justification: { type: "string", minLength: 10, description: "Why, in at least 10 characters (not counting spaces around it)." },
  ticket: { type: "string", minLength: 1 }, legalBasis: { type: "string", minLength: 1 }, expiresAt: { type: "string", format: "date-time" },
} as const;

const reviewStatuses = ["pending", "escalated", "approved", "denied", "expired"];
const reasonBody = (required: boolean) => ({ type: "object", additionalProperties: false, ...(required ? { required: ["reason"] } : {}), properties: { reason: { type: "string", ...(required ? { minLength: 1 } : {}) } } });

export function reviewRoutes(app: FastifyInstance, agent: Agent): void {
  route<Record<string, string>, { status?: string; policy?: string; decisionId?: string; limit: number; cursor?: string }>(app, agent, {
    method: "GET",
    url: "/v1/reviews",
    access: "viewer",
    summary: "Reviews (approvals queue) with the decision's explanation, oldest first; `status=open` for pending and escalated",
    description: "Ordered by when each review opened (then id), oldest first: the queue in the order it filled. `nextCursor` is set when more reviews follow: pass it as `cursor` (with the same filters) for the next page.",
    tags: ["reviews"],
    querystring: { type: "object", additionalProperties: false, properties: { status: { enum: ["open", ...reviewStatuses] }, policy: schemas.filter, decisionId: schemas.filter, limit: schemas.limit, cursor: { ...schemas.filter, description: "The `nextCursor` of the previous page." } } },
    responses: { 200: { description: "Reviews, oldest first, and `nextCursor` when more follow.", schema: { type: "object", properties: { reviews: { type: "array", items: schemas.anyObject }, nextCursor: { type: "string" } } } } },
    async handler(request, _reply, { agent: a }) {
      const q = request.query;
      // One more than the page, to tell whether a next page exists.
      const base = { limit: q.limit + 1, ...(q.policy ? { policy: q.policy } : {}), ...(q.decisionId ? { decisionId: q.decisionId } : {}), ...(q.cursor === undefined ? {} : { after: q.cursor }) };
      const statuses = q.status === "open" ? ["pending", "escalated"] : q.status ? [q.status] : [undefined];
      const reviews: ReviewRecord[] = [];
      for (const status of statuses) reviews.push(...(await a.reviews.list({ ...base, ...(status ? { status: status as ReviewRecord["status"] } : {}) })));
      // Each status's list is in queue order after the same cursor, so their merge is too.
      reviews.sort(byTime<ReviewRecord>("oldest", (r) => r.createdAt, (r) => r.id));
      const { items, nextCursor } = pageOf(reviews, q.limit, reviewCursor);
      return { reviews: items, ...(nextCursor === undefined ? {} : { nextCursor }) };
    },
  });

  route<{ id: string }>(app, agent, {
    method: "GET",
    url: "/v1/reviews/:id",
    access: "viewer",
    summary: "One review with its explanation, escalation state and notifications",
    tags: ["reviews"],
    params: schemas.id,
    responses: { 200: { description: "The review.", schema: schemas.anyObject }, 404: { description: "No such review.", schema: schemas.error } },
    async handler(request, _reply, { agent: a }) {
      const review = await a.reviews.get(request.params.id);
      if (!review) throw new VigilError("VIGIL_NOT_FOUND", `no review with id ${request.params.id}; list them with GET /v1/reviews`, { field: "id" });
      return review;
    },
  });

  route<{ id: string }, Record<string, unknown>, { reason?: string } | undefined>(app, agent, {
    method: "POST",
    url: "/v1/reviews/:id/approve",
    access: "approver",
    audit: false,
    summary: "Approve a review: its pending actions run",
    description: "423 while the kill switch is on (the review stays open). With the two-person rule, the first approval waits for a second, different approver (`complete: false`).",
    tags: ["reviews"],
    params: schemas.id,
    body: reasonBody(false),
    responses: { 200: { description: "The review, the actions that ran, and whether the approval is complete.", schema: { type: "object", properties: { review: schemas.anyObject, actions: { type: "array", items: schemas.anyObject }, complete: { type: "boolean" }, overrideId: { type: "string" } } } }, 403: personOnly("approver", "it already approved this review (the two-person rule needs a second, different approver)"), 404: { description: "No such review.", schema: schemas.error }, 409: { description: "Already answered.", schema: schemas.error }, 423: { description: "Kill switch on.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => a.reviews.approve(request.params.id, actor, request.body?.reason),
  });

  route<{ id: string }, Record<string, unknown>, { reason: string; label?: FeedbackLabel }>(app, agent, {
    method: "POST",
    url: "/v1/reviews/:id/deny",
    access: "approver",
    audit: false,
    summary: "Deny a review: its actions do not run; recorded as feedback (false_positive by default, true_positive for a denied request with nothing to run)",
    description: "The review's pending actions are settled skipped without running, and the deny is recorded as feedback on the decision (via review). Without `label`: false_positive when the review has actions (they were not needed), true_positive when it is the review of a denied request with nothing to run (denying it upholds the denial; no retry override is created), false_positive otherwise. A `label` given wins.",
    tags: ["reviews"],
    params: schemas.id,
    body: { type: "object", required: ["reason"], additionalProperties: false, properties: { reason: { type: "string", minLength: 1 }, label: { enum: feedbackLabels, description: "Feedback label to record; default true_positive for a denied request with nothing to run, else false_positive." } } },
    responses: { 200: { description: "The review.", schema: schemas.anyObject }, 404: { description: "No such review.", schema: schemas.error }, 409: { description: "Already answered.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => a.reviews.deny(request.params.id, actor, request.body.reason, request.body.label ? { label: request.body.label } : {}),
  });

  route<Record<string, string>, Record<string, unknown>, ExceptionInput>(app, agent, {
    method: "POST",
    url: "/v1/exceptions",
    access: "approver",
    audit: false,
    summary: "Create an exception: scope (policies, rules, subjects, CEL `when`), justification, ticket, expiry",
    description: "Applied the same way on every path (events, decide, admission, replay). It stops applying at `expiresAt` (required, bounded by review.maxExceptionDays).",
    tags: ["exceptions"],
    body: {
      type: "object",
      required: ["policies", "justification", "expiresAt"],
      additionalProperties: false,
      properties: exceptionFields,
    },
    responses: { 201: { description: "The exception.", schema: schemas.anyObject }, 403: personOnly("approver") },
    async handler(request, reply, { agent: a, actor }) {
      return reply.code(201).send(await a.reviews.exceptions.create(request.body, actor));
    },
  });

  route<Record<string, string>, { active?: boolean }>(app, agent, {
    method: "GET",
    url: "/v1/exceptions",
    access: "viewer",
    summary: "Exceptions: all, or only those in force (`active=true`) or not (`active=false`)",
    tags: ["exceptions"],
    querystring: { type: "object", additionalProperties: false, properties: { active: { type: "boolean" } } },
    responses: { 200: { description: "Exceptions.", schema: { type: "object", properties: { exceptions: { type: "array", items: schemas.anyObject } } } } },
    handler: async (request, _reply, { agent: a }) => ({ exceptions: await a.reviews.exceptions.list(request.query.active === undefined ? {} : { active: request.query.active }) }),
  });

  route<{ id: string }>(app, agent, {
    method: "GET",
    url: "/v1/exceptions/:id",
    access: "viewer",
    summary: "One exception",
    tags: ["exceptions"],
    params: schemas.id,
    responses: { 200: { description: "The exception.", schema: schemas.anyObject }, 404: { description: "No such exception.", schema: schemas.error } },
    async handler(request, _reply, { agent: a }) {
      const exception = await a.reviews.exceptions.get(request.params.id);
      if (!exception) throw new VigilError("VIGIL_NOT_FOUND", `no exception with id ${request.params.id}`, { field: "id" });
      return exception;
    },
  });

  route<{ id: string }, Record<string, unknown>, { reason: string }>(app, agent, {
    method: "POST",
    url: "/v1/exceptions/:id/revoke",
    access: "approver",
    audit: false,
    summary: "Revoke an exception now; it stops applying at once",
    tags: ["exceptions"],
    params: schemas.id,
    body: reasonBody(true),
    responses: { 200: { description: "The revoked exception.", schema: schemas.anyObject }, 403: personOnly("approver"), 404: { description: "No such exception.", schema: schemas.error }, 409: { description: "Already revoked.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => a.reviews.exceptions.revoke(request.params.id, actor, request.body.reason),
  });

  route<Record<string, string>, Record<string, unknown>, OverrideInput>(app, agent, {
    method: "POST",
    url: "/v1/overrides",
    access: "approver",
    audit: false,
    summary: "Override a decision: allow once or for a window (reason required; recorded as feedback)",
    description: "With the two-person rule (review.twoPersonRule), a high-severity override is inactive until a second, different approver confirms it.",
    tags: ["overrides"],
    body: {
      type: "object",
      required: ["decisionId", "scope", "reason"],
      additionalProperties: false,
      properties: {
        decisionId: { type: "string", minLength: 1 }, policy: { type: "string" }, scope: { enum: ["once", "window"] }, until: { type: "string", format: "date-time", description: "End of a window (required for window, at most review.maxOverrideDays, default 7, away). Not taken for once: a once override ends maxOverrideDays after its creation if unused." },
        reason: { type: "string", minLength: 1 }, tier: { enum: tiers }, label: { enum: feedbackLabels },
      },
    },
    responses: { 201: { description: "The override.", schema: schemas.anyObject }, 403: personOnly("approver"), 404: { description: "No decision with this decisionId in the decision record.", schema: schemas.error } },
    async handler(request, reply, { agent: a, actor }) {
      const body = request.body as OverrideInput & { tier?: Tier };
      return reply.code(201).send(await a.reviews.overrides.create(body, actor));
    },
  });

  route<Record<string, string>, { active?: boolean; decisionId?: string }>(app, agent, {
    method: "GET",
    url: "/v1/overrides",
    access: "viewer",
    summary: "Overrides: all, only those that can apply now (`active=true`), or of one decision",
    tags: ["overrides"],
    querystring: { type: "object", additionalProperties: false, properties: { active: { type: "boolean" }, decisionId: schemas.filter } },
    responses: { 200: { description: "Overrides.", schema: { type: "object", properties: { overrides: { type: "array", items: schemas.anyObject } } } } },
    handler: async (request, _reply, { agent: a }) => ({ overrides: await a.reviews.overrides.list({ ...(request.query.active === undefined ? {} : { active: request.query.active }), ...(request.query.decisionId ? { decisionId: request.query.decisionId } : {}) }) }),
  });

  route<{ id: string }, Record<string, unknown>, { reason?: string } | undefined>(app, agent, {
    method: "POST",
    url: "/v1/overrides/:id/confirm",
    access: "approver",
    audit: false,
    summary: "Second approver confirms an override (two-person rule); it applies from now",
    tags: ["overrides"],
    params: schemas.id,
    body: reasonBody(false),
    responses: {
      200: { description: "The override.", schema: schemas.anyObject },
      403: personOnly("approver", "it is the one that created the override (the two-person rule)"),
      404: { description: "No such override.", schema: schemas.error },
      409: { description: "Nothing to confirm: no second approver needed, already confirmed, or revoked.", schema: schemas.error },
    },
    handler: async (request, _reply, { agent: a, actor }) => a.reviews.overrides.confirm(request.params.id, actor, request.body?.reason),
  });

  route<{ id: string }, Record<string, unknown>, { reason: string }>(app, agent, {
    method: "POST",
    url: "/v1/overrides/:id/revoke",
    access: "approver",
    audit: false,
    summary: "Revoke an override; it no longer applies",
    tags: ["overrides"],
    params: schemas.id,
    body: reasonBody(true),
    responses: { 200: { description: "The override.", schema: schemas.anyObject }, 403: personOnly("approver"), 404: { description: "No such override.", schema: schemas.error }, 409: { description: "Already revoked.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => a.reviews.overrides.revoke(request.params.id, actor, request.body.reason),
  });
}
