/**
 * Feedback carried by `dev.vigil.feedback` events: validated and stored in the `feedback`
 * collection, the same records the review service writes for `POST /v1/feedback`, approvals,
 * denials and overrides (the API path checks the approver role; an event is trusted as its
 * ingest token was). Learning (issue 6) reads the collection.
 */
import { randomUUID } from "node:crypto";
import { VigilError } from "../core/errors.js";
import { feedbackLabels, type Feedback, type FeedbackLabel } from "../core/feedback.js";
import type { Clock, Storage } from "../core/ports.js";

export const FEEDBACK_COLLECTION = "feedback";

export interface FeedbackInput {
  readonly decisionId: string;
  readonly label: string;
  readonly reason?: string;
  /** Who gives it: the authenticated caller, or `data.by` of an event. */
  readonly by: string;
  readonly via: string;
  /** Idempotency: an event's feedback keeps the event's id. */
  readonly id?: string;
}

export interface FeedbackService {
  /** Validates and stores; VIGIL_NOT_FOUND when `requireDecision` and the decision is unknown. */
  record(input: FeedbackInput, options?: { readonly requireDecision?: boolean }): Promise<Feedback>;
}

export function createFeedbackService(storage: Storage, clock: Clock): FeedbackService {
  return {
    async record(input, options = {}) {
      if (typeof input.decisionId !== "string" || input.decisionId === "") throw new VigilError("VIGIL_BAD_INPUT", "decisionId must name the decision the feedback is about", { field: "decisionId" });
      if (!feedbackLabels.includes(input.label as FeedbackLabel)) throw new VigilError("VIGIL_BAD_INPUT", `label must be one of ${feedbackLabels.join(", ")}, got ${JSON.stringify(input.label)}`, { field: "label" });
      if (input.reason !== undefined && typeof input.reason !== "string") throw new VigilError("VIGIL_BAD_INPUT", "reason must be a string", { field: "reason" });
      if (options.requireDecision && !(await storage.getDecision(input.decisionId))) {
        throw new VigilError("VIGIL_NOT_FOUND", `no decision with id ${input.decisionId}; feedback must name a recorded decision`, { field: "decisionId" });
      }
      const at = clock.now().toISOString();
      const feedback: Feedback = { id: input.id ?? randomUUID(), decisionId: input.decisionId, label: input.label as FeedbackLabel, by: input.by, ...(input.reason ? { reason: input.reason } : {}), at, via: input.via };
      await storage.putDocs([{ collection: FEEDBACK_COLLECTION, id: feedback.id, value: feedback }], at);
      await storage.appendAudit([{ at, actor: input.by, action: "feedback.record", target: input.decisionId, detail: { label: feedback.label, via: input.via } }]);
      return feedback;
    },
  };
}
