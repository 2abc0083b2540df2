/** Decide requests and the decision record: POST /v1/decide, GET /v1/decisions(/:id(/explain)). */
import type { FastifyInstance } from "fastify";
import type { Agent } from "../../agent.js";
import type { Decision } from "../../core/decision.js";
import { VigilError } from "../../core/errors.js";
import type { Tier } from "../../core/policy.js";
import type { DecisionQuery } from "../../core/ports.js";
import { decisionOutput } from "../../decide/output.js";
import { MAX_NESTING_DEPTH, nestingProblem } from "../../sources/values.js";
import { route, schemas } from "../route.js";

const decisionOutputSchema = {
  type: "object",
  required: ["decisionId", "eventId", "time", "verdict", "tier", "risk", "findings", "explanation"],
  properties: {
    decisionId: { type: "string" }, eventId: { type: "string" }, eventType: { type: "string" }, subject: { type: "string" }, time: { type: "string", format: "date-time" },
    verdict: { enum: ["allow", "deny"] }, tier: { enum: ["observe", "notify", "approve", "block", "remediate"] }, enforced: { type: "boolean" },
    risk: { type: "object", properties: { score: { type: "number" }, factors: { type: "array", items: { type: "object", properties: { name: { type: "string" }, contribution: { type: "number" }, detail: { type: "string" } } } } } },
    findings: { type: "array", items: { type: "object", properties: { policy: { type: "string" }, rule: { type: "string" }, effect: { type: "string" }, severity: { type: "string" }, mode: { type: "string" }, message: { type: "string" }, revision: { type: "string" } } } },
    actions: { type: "array", items: schemas.anyObject },
    explanation: { type: "object", properties: { summary: { type: "string" }, steps: { type: "array", items: { type: "string" } } } },
    policyRevisions: { type: "object", additionalProperties: { type: "string" } },
    seq: { type: "integer" }, hash: { type: "string" },
  },
} as const;

const explanationSchema = {
  type: "object",
  properties: {
    decisionId: { type: "string" }, verdict: { type: "string" }, tier: { type: "string" }, risk: schemas.anyObject,
    explanation: { type: "object", properties: { summary: { type: "string" }, steps: { type: "array", items: { type: "object", properties: { kind: { type: "string" }, text: { type: "string" }, policy: { type: "string" }, rule: { type: "string" }, contribution: { type: "number" }, tier: { type: "string" }, ref: { type: "string" } } } } } },
  },
} as const;

interface ListQuery {
  readonly subject?: string;
  readonly policy?: string;
  readonly eventId?: string;
  readonly verdict?: "allow" | "deny";
  readonly tier?: Tier;
  readonly since?: string;
  readonly until?: string;
  readonly afterSeq?: number;
  readonly beforeSeq?: number;
  readonly order?: "asc" | "newest";
  readonly limit: number;
}

async function mustGet(agent: Agent, id: string): Promise<Decision> {
  const decision = await agent.getDecision(id);
  if (!decision) throw new VigilError("VIGIL_NOT_FOUND", `no decision with id ${id} (an accepted event's decision appears once it is processed)`, { field: "id" });
  return decision;
}

export function decisionRoutes(app: FastifyInstance, agent: Agent): void {
  route<Record<string, string>, Record<string, unknown>, { input: unknown; eventType?: string; subject?: string; explain?: boolean; dryRun?: boolean }>(app, agent, {
    method: "POST",
    url: "/v1/decide",
    access: "ingest",
    audit: false,
    summary: "Decide one input (OPA-style data API) and record the decision",
    description: "The input is evaluated as a `dev.vigil.decide` event (or `eventType`) with context, exceptions and overrides applied, and recorded in the decision record. `explain: true` adds the explanation steps and evaluates every matching policy (slower). `dryRun: true` records the decision as not enforced.",
    tags: ["decisions"],
    body: {
      type: "object",
      required: ["input"],
      additionalProperties: false,
      properties: {
        input: { description: "The document policies evaluate." },
        eventType: { type: "string", minLength: 1, description: "Event type for `spec.on` matching; default dev.vigil.decide." },
        subject: { type: "string", minLength: 1, description: "What the request is about (a user, a resource): recorded as the decision's subject. An override or an approval's retry pass of the decision applies to this subject's requests only; without one such a decision cannot be overridden." },
        explain: { type: "boolean" },
        dryRun: { type: "boolean", description: "Record as not enforced (no actions)." },
      },
    },
    responses: { 200: { description: "The decision.", schema: decisionOutputSchema } },
    async handler(request, reply, { agent: a }) {
      const { input, eventType, subject, explain, dryRun } = request.body;
      // As every source refuses such an item: recording it would run out of stack (a 503 before).
      const deep = nestingProblem(input, "input");
      if (deep) throw new VigilError("VIGIL_BAD_INPUT", `\`${deep.field}\` is nested deeper than ${MAX_NESTING_DEPTH} levels of objects and arrays, more than Vigil can record: send only the part the policies read, less deeply nested`, { field: deep.field });
      const decision = await a.decide(input, { ...(eventType ? { eventType } : {}), ...(subject ? { subject } : {}), explain: explain === true, ...(dryRun ? { enforced: false } : {}) });
      return reply.send(decisionOutput(decision, { steps: explain === true }));
    },
  });

  route<Record<string, string>, ListQuery>(app, agent, {
    method: "GET",
    url: "/v1/decisions",
    access: "viewer",
    summary: "List recorded decisions",
    description: "Filters combine, and a page holds up to `limit` decisions that match them all. Default order: newest first, with `nextBeforeSeq` (when the page is full) to pass as `beforeSeq` for the next, older page; `order=asc` with `afterSeq` (`nextAfterSeq`) pages forward through the record.",
    tags: ["decisions"],
    querystring: {
      type: "object",
      additionalProperties: false,
      properties: {
        subject: schemas.filter, policy: { ...schemas.filter, description: "Decisions with a finding of this policy." }, eventId: schemas.filter,
        verdict: { enum: ["allow", "deny"] }, tier: { enum: ["observe", "notify", "approve", "block", "remediate"] },
        since: { type: "string", format: "date-time" }, until: { type: "string", format: "date-time" },
        afterSeq: { type: "integer", minimum: 0 }, beforeSeq: { type: "integer", minimum: 1, description: "Decisions older than this seq: the `nextBeforeSeq` of the previous page." }, order: { enum: ["asc", "newest"], default: "newest" }, limit: schemas.limit,
      },
    },
    responses: { 200: { description: "Decisions (decision-log shape) and the cursor for the next page.", schema: { type: "object", properties: { decisions: { type: "array", items: decisionOutputSchema }, nextAfterSeq: { type: "integer" }, nextBeforeSeq: { type: "integer" } } } } },
    async handler(request, _reply, { agent: a }) {
      const q = request.query;
      if (q.since !== undefined && q.until !== undefined && Date.parse(q.until) < Date.parse(q.since)) {
        throw new VigilError("VIGIL_BAD_INPUT", `until ${q.until} is before since ${q.since}: no decision can be in that window; swap them or widen it`, { field: "until" });
      }
      const query: DecisionQuery = {
        limit: q.limit,
        newestFirst: q.order !== "asc",
        ...(q.subject ? { subject: q.subject } : {}), ...(q.policy ? { policy: q.policy } : {}), ...(q.eventId ? { eventId: q.eventId } : {}),
        ...(q.verdict ? { verdict: q.verdict } : {}), ...(q.tier ? { tier: q.tier } : {}),
        ...(q.since ? { since: q.since } : {}), ...(q.until ? { until: q.until } : {}),
        ...(q.afterSeq !== undefined ? { afterSeq: q.afterSeq } : {}), ...(q.beforeSeq !== undefined ? { beforeSeq: q.beforeSeq } : {}),
      };
      const page = await a.storage.listDecisions(query);
      const last = page.at(-1);
      // A full page may have more after it; the cursor continues in the page's order.
      const cursor = last === undefined || page.length < q.limit ? {} : q.order === "asc" ? { nextAfterSeq: last.seq } : { nextBeforeSeq: last.seq };
      return { decisions: page.map((d) => decisionOutput(d)), ...cursor };
    },
  });

  route<{ id: string }>(app, agent, {
    method: "GET",
    url: "/v1/decisions/:id",
    access: "viewer",
    summary: "Get a recorded decision (the full record: findings with traces, input as masked, chain fields)",
    tags: ["decisions"],
    params: schemas.id,
    responses: { 200: { description: "The decision record.", schema: schemas.anyObject }, 404: { description: "No such decision (yet).", schema: schemas.error } },
    handler: async (request, _reply, { agent: a }) => mustGet(a, request.params.id),
  });

  route<{ id: string }>(app, agent, {
    method: "GET",
    url: "/v1/decisions/:id/explain",
    access: "viewer",
    summary: "Explain a recorded decision: summary and steps (conditions with values, factors, tier, exceptions, actions)",
    tags: ["decisions"],
    params: schemas.id,
    responses: { 200: { description: "The explanation.", schema: explanationSchema }, 404: { description: "No such decision (yet).", schema: schemas.error } },
    async handler(request, _reply, { agent: a }) {
      const decision = await mustGet(a, request.params.id);
      return { decisionId: decision.id, verdict: decision.verdict, tier: decision.tier, risk: decision.risk, explanation: decision.explanation };
    },
  });
}
