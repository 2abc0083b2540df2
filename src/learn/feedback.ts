/**
 * Giving feedback on a decision, for every entry point: `POST /v1/feedback` and `vigil feedback`
 * (with an API token), `vigil feedback --direct` (the token verified against the store), and
 * `dev.vigil.feedback` events. Records go to the `feedback` collection — the same records review
 * writes for approvals, denials and overrides — which is what the learner reads.
 *
 * INVARIANT: a rejected call changes nothing (validation and the role check happen before the write).
 */
import { randomUUID } from "node:crypto";
import { VigilError } from "../core/errors.js";
import { EventTypes, type Event } from "../core/event.js";
import { feedbackLabels, type Feedback, type FeedbackLabel } from "../core/feedback.js";
import type { Clock, Storage } from "../core/ports.js";
import { requireRole, type Actor } from "../act/actor.js";
import { FEEDBACK_COLLECTION } from "../review/context.js";
import { checkLabel } from "../review/feedback.js";

export interface FeedbackRequest {
  readonly decisionId: string;
  readonly label: string;
  readonly reason?: string;
  /** api | cli | event (default api). */
  readonly via?: string;
}

/**
 * Validates and stores feedback given by `actor` (approver or admin). Errors, all before any write:
 * VIGIL_FORBIDDEN (role), VIGIL_BAD_INPUT (label, decisionId, reason), VIGIL_NOT_FOUND (decision).
 */
export async function recordFeedback(deps: { readonly storage: Storage; readonly clock: Clock }, request: FeedbackRequest, actor: Actor): Promise<Feedback> {
  requireRole(actor, ["approver"], "give feedback");
  const label = checkLabel(request.label);
  if (typeof request.decisionId !== "string" || request.decisionId.trim() === "") throw new VigilError("VIGIL_BAD_INPUT", "decisionId is required: the id of a recorded decision (vigil explain <id>)", { field: "decisionId" });
  if (request.reason !== undefined && typeof request.reason !== "string") throw new VigilError("VIGIL_BAD_INPUT", "reason must be a string", { field: "reason" });
  if ((await deps.storage.getDecision(request.decisionId)) === undefined) {
    throw new VigilError("VIGIL_NOT_FOUND", `decision ${request.decisionId} is not in the decision record; check the id (GET /v1/decisions)`, { field: "decisionId" });
  }
  const at = deps.clock.now().toISOString();
  // The same record and audit entry review writes (src/review/feedback.ts).
  const feedback: Feedback = { id: `fb-${randomUUID()}`, decisionId: request.decisionId, label, by: actor.id, at, via: request.via ?? "api", ...(request.reason ? { reason: request.reason } : {}) };
  await deps.storage.putDocs([{ collection: FEEDBACK_COLLECTION, id: feedback.id, value: feedback, expectVersion: 0 }], at);
  await deps.storage.appendAudit([{ at, actor: actor.id, action: "feedback.record", target: feedback.decisionId, detail: { id: feedback.id, label, via: feedback.via } }]);
  return feedback;
}

/** A `dev.vigil.feedback` event's payload, validated. */
export interface FeedbackEvent {
  readonly decisionId: string;
  readonly label: FeedbackLabel;
  readonly by: string;
  readonly reason?: string;
}

/**
 * Parses a `dev.vigil.feedback` event (`data: { decisionId, label, by, reason? }`; `subject` may
 * carry the decision id). Throws VIGIL_BAD_EVENT naming the field. The caller decides who `by`
 * may be (an event is as trusted as the token that ingested it) and records it with
 * `recordFeedback` (actor `{ id: by, roles }`).
 */
export function parseFeedbackEvent(event: Event): FeedbackEvent {
  if (event.type !== EventTypes.feedback) throw new VigilError("VIGIL_BAD_EVENT", `type must be ${EventTypes.feedback}, got ${event.type}`, { field: "type" });
  const data = event.data;
  if (data === null || typeof data !== "object" || Array.isArray(data)) throw new VigilError("VIGIL_BAD_EVENT", "data must be an object { decisionId, label, by, reason? }", { field: "data" });
  const d = data as Record<string, unknown>;
  const decisionId = typeof d["decisionId"] === "string" && d["decisionId"] !== "" ? d["decisionId"] : event.subject;
  if (typeof decisionId !== "string" || decisionId === "") throw new VigilError("VIGIL_BAD_EVENT", "data.decisionId (or subject) must name the decision", { field: "data.decisionId" });
  if (typeof d["label"] !== "string" || !feedbackLabels.includes(d["label"] as FeedbackLabel)) {
    throw new VigilError("VIGIL_BAD_EVENT", `data.label must be one of ${feedbackLabels.join(", ")}, got ${JSON.stringify(d["label"])}`, { field: "data.label" });
  }
  if (typeof d["by"] !== "string" || d["by"].trim() === "") throw new VigilError("VIGIL_BAD_EVENT", "data.by must name the person giving the feedback", { field: "data.by" });
  if (d["reason"] !== undefined && typeof d["reason"] !== "string") throw new VigilError("VIGIL_BAD_EVENT", "data.reason must be a string", { field: "data.reason" });
  return { decisionId, label: d["label"] as FeedbackLabel, by: d["by"], ...(typeof d["reason"] === "string" ? { reason: d["reason"] } : {}) };
}
