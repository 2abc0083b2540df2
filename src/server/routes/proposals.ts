/**
 * Policy proposals (docs/learning.md#proposals): repeated overrides and exceptions mined into a
 * proposed exception clause with a YAML diff, generated tests and replay evidence. NEVER applied
 * by the agent: accepting writes `<policy file>.<id>.proposed` and `.patch` next to the policy
 * (names the policy loader never loads) for a person to review and commit. The learn stage checks
 * roles and records who decided.
 */
import type { FastifyInstance } from "fastify";
import type { Agent } from "../../agent.js";
import { acceptProposal, getProposal, listProposals, rejectProposal, type ProposalStatus } from "../../learn/index.js";
import { personOnly, route, schemas } from "../route.js";

const statuses = ["open", "accepted", "rejected", "all"] as const;

export function proposalRoutes(app: FastifyInstance, agent: Agent): void {
  route<Record<string, string>, { status: (typeof statuses)[number]; policy?: string }>(app, agent, {
    method: "GET",
    url: "/v1/proposals",
    access: "viewer",
    summary: "Policy proposals mined from repeated overrides and exceptions (default: open ones)",
    tags: ["proposals"],
    querystring: { type: "object", additionalProperties: false, properties: { status: { enum: statuses, default: "open" }, policy: schemas.filter } },
    responses: { 200: { description: "Proposals, oldest first.", schema: { type: "object", properties: { proposals: { type: "array", items: schemas.anyObject } } } } },
    handler: async (request, _reply, { agent: a }) => ({
      proposals: await listProposals(a.storage, { ...(request.query.status === "all" ? {} : { status: request.query.status as ProposalStatus }), ...(request.query.policy ? { policy: request.query.policy } : {}) }),
    }),
  });

  route<{ id: string }>(app, agent, {
    method: "GET",
    url: "/v1/proposals/:id",
    access: "viewer",
    summary: "One proposal: the change as a unified diff, generated tests and their results, replay evidence, where it came from",
    tags: ["proposals"],
    params: schemas.id,
    responses: { 200: { description: "The proposal.", schema: schemas.anyObject }, 404: { description: "No such proposal.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a }) => getProposal(a.storage, request.params.id),
  });

  route<{ id: string }, Record<string, unknown>, { write?: boolean; note?: string } | undefined>(app, agent, {
    method: "POST",
    url: "/v1/proposals/:id/accept",
    access: "approver",
    audit: false,
    summary: "Accept a proposal: writes `<policy file>.<id>.proposed` and `.patch` next to the policy for a person to commit (the policy itself is never edited)",
    description: "`write` defaults to true when the proposal found the policy's file; `write: false` only records the acceptance (the answer holds the diff, or the YAML snippet when the file was not found). 409 when the policy file changed since the proposal was made, or the proposal was already decided.",
    tags: ["proposals"],
    params: schemas.id,
    body: { type: "object", additionalProperties: false, properties: { write: { type: "boolean" }, note: { type: "string", minLength: 1 } } },
    responses: { 200: { description: "The accepted proposal, with the files written.", schema: schemas.anyObject }, 403: personOnly("approver"), 404: { description: "No such proposal.", schema: schemas.error }, 409: { description: "Already decided, or the policy file changed.", schema: schemas.error } },
    async handler(request, _reply, { agent: a, actor }) {
      const { id } = request.params;
      const write = request.body?.write ?? (await getProposal(a.storage, id)).file !== undefined;
      return acceptProposal({ storage: a.storage, clock: a.clock }, id, actor, { write, ...(request.body?.note ? { note: request.body.note } : {}) });
    },
  });

  route<{ id: string }, Record<string, unknown>, { reason: string }>(app, agent, {
    method: "POST",
    url: "/v1/proposals/:id/reject",
    access: "approver",
    audit: false,
    summary: "Reject a proposal (reason required); the same change is never proposed again",
    tags: ["proposals"],
    params: schemas.id,
    body: { type: "object", required: ["reason"], additionalProperties: false, properties: { reason: { type: "string", minLength: 1 } } },
    responses: { 200: { description: "The rejected proposal.", schema: schemas.anyObject }, 403: personOnly("approver"), 404: { description: "No such proposal.", schema: schemas.error }, 409: { description: "Already decided.", schema: schemas.error } },
    handler: async (request, _reply, { agent: a, actor }) => rejectProposal({ storage: a.storage, clock: a.clock }, request.params.id, actor, request.body.reason),
  });
}
