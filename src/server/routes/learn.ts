/**
 * Learning (docs/learning.md): the learned state in use and as stored (with its checksum check),
 * a new version now, a reset, and a shadow-mode policy's figures. The learner checks roles and
 * audits (`learn.update`, `learn.reset`); reading needs the viewer role.
 */
import type { FastifyInstance } from "fastify";
import type { Agent } from "../../agent.js";
import { VigilError } from "../../core/errors.js";
import { loadLearnedState, shadowReport, stateChecksum, type LearnedEntry, type LearnedState } from "../../learn/index.js";
import { route, schemas } from "../route.js";

const changes = (entry: LearnedEntry): boolean => (entry.riskDelta ?? 0) !== 0 || (entry.tierShift ?? 0) !== 0;

/** A state without its entries and settings: what a person reads first. */
function summaryOf(state: LearnedState): Record<string, unknown> {
  return {
    version: state.version, parent: state.parent, kind: state.kind, createdAt: state.createdAt, createdBy: state.createdBy, reason: state.reason,
    ...(state.feedbackSince ? { feedbackSince: state.feedbackSince } : {}),
    feedbackUsed: state.feedbackUsed, reviewers: state.reviewers, checksum: stateChecksum(state),
    lessons: {
      lowering: state.entries.filter((e) => (e.riskDelta ?? 0) < 0 || (e.tierShift ?? 0) < 0).length,
      raising: state.entries.filter((e) => (e.riskDelta ?? 0) > 0 || (e.tierShift ?? 0) > 0).length,
      held: state.entries.filter((e) => e.held !== undefined).length,
      slices: state.entries.length,
    },
    calibration: { entities: Object.keys(state.calibration.entities ?? {}).length, peers: Object.keys(state.calibration.peers ?? {}).length },
  };
}

const stateSummarySchema = {
  type: "object",
  properties: {
    version: { type: "integer" }, parent: { type: ["integer", "null"] }, kind: { enum: ["update", "reset"] }, createdAt: { type: "string" }, createdBy: { type: "string" },
    reason: { type: "string" }, feedbackSince: { type: "string" }, feedbackUsed: { type: "integer" }, reviewers: { type: "integer" }, checksum: { type: "string" },
    lessons: { type: "object", properties: { lowering: { type: "integer" }, raising: { type: "integer" }, held: { type: "integer" }, slices: { type: "integer" } } },
    calibration: { type: "object", properties: { entities: { type: "integer" }, peers: { type: "integer" } } },
  },
} as const;

const reasonBody = { type: "object", additionalProperties: false, properties: { reason: { type: "string", minLength: 1 } } } as const;

export function learnRoutes(app: FastifyInstance, agent: Agent): void {
  route<Record<string, string>, { policy?: string; all?: boolean; limit: number }>(app, agent, {
    method: "GET",
    url: "/v1/learn",
    access: "viewer",
    summary: "Learned state: the version in use, the stored head with its checksum check, lessons with citations, detector thresholds",
    description: "`stored.status` is `ok` (verified), `none` (nothing learned yet) or `corrupt` (head, version or checksum wrong: the agent runs on the policies' declared tiers until the next update or a reset). `entries` lists the lessons that change something (`all=true` adds the slices held back or confirmed), at most `limit`; with learning off (`learn.enabled: false`) the stored state is shown, though nothing of it applies.",
    tags: ["learning"],
    querystring: { type: "object", additionalProperties: false, properties: { policy: schemas.filter, all: { type: "boolean" }, limit: schemas.limit } },
    responses: {
      200: {
        description: "The learned state.",
        schema: {
          type: "object",
          properties: {
            enabled: { type: "boolean" }, leader: { type: "boolean" },
            inUse: { anyOf: [stateSummarySchema, { type: "null" }] },
            stored: { type: "object", properties: { status: { enum: ["none", "ok", "corrupt"] }, version: { type: "integer" }, checksumOk: { type: "boolean" }, problem: { type: "string" } } },
            entries: { type: "array", items: schemas.anyObject },
            calibration: schemas.anyObject,
            schedule: schemas.anyObject,
          },
        },
      },
    },
    async handler(request, _reply, { agent: a }) {
      const stored = await loadLearnedState(a.storage);
      const inUse = a.learner?.current();
      // Learning off: the stored state is still inspectable (nothing of it applies).
      const shown = a.learner ? inUse : stored.state;
      const q = request.query;
      const entries = (shown?.entries ?? []).filter((e) => (q.policy === undefined || e.policy === q.policy) && (q.all === true || changes(e))).slice(0, q.limit);
      return {
        enabled: a.learner !== undefined,
        leader: a.learning.leader,
        inUse: inUse ? summaryOf(inUse) : null,
        stored: {
          status: stored.status,
          ...(stored.headVersion === undefined ? {} : { version: stored.headVersion }),
          ...(stored.status === "none" ? {} : { checksumOk: stored.status === "ok" }),
          ...(stored.problem ? { problem: stored.problem } : {}),
        },
        entries,
        calibration: shown?.calibration ?? {},
        schedule: a.learning.schedule(),
      };
    },
  });

  route<Record<string, string>, Record<string, unknown>, { reason?: string } | undefined>(app, agent, {
    method: "POST",
    url: "/v1/learn/update",
    access: "approver",
    audit: false,
    summary: "Learn a new version from all feedback now (the leader also does it on its schedule)",
    description: "Reads every feedback record since the last reset, joined with its decision, and writes a new verified version (parent: the current head). The agent applies it at once; other processes within `learn.refreshIntervalMs`. Audited as `learn.update`. 409 when `learn.enabled` is false.",
    tags: ["learning"],
    body: reasonBody,
    responses: {
      200: { description: "The new version.", schema: { type: "object", properties: { state: stateSummarySchema, observations: { type: "integer" }, skipped: schemas.anyObject } } },
      409: { description: "Learning is off, or another process moved the head at the same time (retry).", schema: schemas.error },
    },
    async handler(request, _reply, { agent: a, actor }) {
      const result = await a.learning.update(actor, request.body?.reason);
      return { state: summaryOf(result.state), observations: result.observations, skipped: result.skipped };
    },
  });

  route<Record<string, string>, Record<string, unknown>, { reason?: string } | undefined>(app, agent, {
    method: "POST",
    url: "/v1/learn/reset",
    access: "approver",
    audit: false,
    summary: "Reset learning: a new empty version; feedback given until now is no longer used",
    description: "Decisions go back to the policies' declared tiers at once in this process. Audited as `learn.reset`. 409 when `learn.enabled` is false.",
    tags: ["learning"],
    body: reasonBody,
    responses: { 200: { description: "The reset version.", schema: stateSummarySchema }, 409: { description: "Learning is off.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => summaryOf(await a.learning.reset(actor, request.body?.reason)),
  });

  route<{ name: string }, { since?: string; examples?: number }>(app, agent, {
    method: "GET",
    url: "/v1/policies/:name/shadow",
    access: "viewer",
    summary: "Shadow-mode figures of a policy: what it would have changed if enforced, and how people labelled those decisions",
    description: "Over the decisions recorded for the policy's current revision (other revisions counted apart): allowed → denied and stronger tiers at its declared start tier, with false-positive / true-positive / incident labels, per rule, and examples. The same figures come with `POST /v1/policies/:name/promote`.",
    tags: ["policies"],
    params: { type: "object", required: ["name"], properties: { name: { type: "string", minLength: 1 } } },
    querystring: { type: "object", additionalProperties: false, properties: { since: { type: "string", format: "date-time" }, examples: { type: "integer", minimum: 0, maximum: 100, default: 10 } } },
    responses: { 200: { description: "The figures (src/learn/shadow.ts ShadowReport).", schema: schemas.anyObject }, 404: { description: "No such policy.", schema: schemas.error } },
    async handler(request, _reply, { agent: a }) {
      const { name } = request.params;
      const policy = a.catalog.lookup(name);
      if (!policy) throw new VigilError("VIGIL_NOT_FOUND", `no policy named ${name}; list them with GET /v1/policies`, { field: "name" });
      return shadowReport(a.storage, name, { policy: policy.meta, ...(request.query.since ? { since: request.query.since } : {}), ...(request.query.examples === undefined ? {} : { examples: request.query.examples }) });
    },
  });
}
