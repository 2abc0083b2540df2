/**
 * Feedback records (core Feedback): what people said about a decision. Approvals, denials and
 * overrides record one automatically; the learner (issue 6) reads them.
 */
import { randomUUID } from "node:crypto";
import { VigilError } from "../core/errors.js";
import { feedbackLabels, type Feedback, type FeedbackLabel } from "../core/feedback.js";
import { requireRole, type Actor } from "../act/actor.js";
import { listDocsByTime, timeCursor } from "../act/time-page.js";
import { FEEDBACK_COLLECTION, nowIso, type ReviewDeps } from "./context.js";

export interface FeedbackInput {
  readonly decisionId: string;
  readonly label: FeedbackLabel;
  readonly reason?: string;
  /** review | override | api | cli | event (default api). */
  readonly via?: string;
}

export interface FeedbackQuery {
  readonly decisionId?: string;
  readonly label?: FeedbackLabel;
  readonly by?: string;
  readonly limit?: number;
  /** `feedbackCursor` of the last record of the previous page: the records given before it. */
  readonly after?: string;
}

/** The cursor that continues `list` after this record. */
export const feedbackCursor = (feedback: Feedback): string => timeCursor(feedback.at, feedback.id);

export function checkLabel(label: unknown, field = "label"): FeedbackLabel {
  if (typeof label !== "string" || !feedbackLabels.includes(label as FeedbackLabel)) {
    throw new VigilError("VIGIL_BAD_INPUT", `${field} must be one of ${feedbackLabels.join(", ")}, got ${JSON.stringify(label)}`, { field });
  }
  return label as FeedbackLabel;
}

/** Stores one feedback record and its audit entry; no role check (callers check). */
export async function storeFeedback(deps: ReviewDeps, input: FeedbackInput, by: string): Promise<Feedback> {
  const at = nowIso(deps);
  const feedback: Feedback = {
    id: `fb-${randomUUID()}`, decisionId: input.decisionId, label: input.label, by, at, via: input.via ?? "api",
    ...(input.reason ? { reason: input.reason } : {}),
  };
  await deps.storage.putDocs([{ collection: FEEDBACK_COLLECTION, id: feedback.id, value: feedback, expectVersion: 0 }], at);
  await deps.storage.appendAudit([{ at, actor: by, action: "feedback.record", target: input.decisionId, detail: { id: feedback.id, label: input.label, via: feedback.via } }]);
  return feedback;
}

export interface FeedbackApi {
  /** Records feedback on a recorded decision (approver or admin). Unknown decision → VIGIL_NOT_FOUND; bad label → VIGIL_BAD_INPUT; nothing is stored then. */
  record(input: FeedbackInput, actor: Actor): Promise<Feedback>;
  /** Newest first (by `at`, then id). Bad `after` → VIGIL_BAD_INPUT (field `cursor`). */
  list(query?: FeedbackQuery): Promise<Feedback[]>;
}

export function createFeedbackApi(deps: ReviewDeps): FeedbackApi {
  return {
    async record(input, actor) {
      requireRole(actor, ["approver"], "give feedback");
      const label = checkLabel(input.label);
      if (typeof input.decisionId !== "string" || input.decisionId === "") throw new VigilError("VIGIL_BAD_INPUT", "decisionId is required", { field: "decisionId" });
      if (input.reason !== undefined && typeof input.reason !== "string") throw new VigilError("VIGIL_BAD_INPUT", `reason must be a string (why the decision was right or wrong), got ${JSON.stringify(input.reason)}`, { field: "reason" });
      if (input.via !== undefined && (typeof input.via !== "string" || input.via.trim() === "")) throw new VigilError("VIGIL_BAD_INPUT", `via must name where the feedback came from (api, cli, event), got ${JSON.stringify(input.via)}`, { field: "via" });
      if ((await deps.storage.getDecision(input.decisionId)) === undefined) {
        throw new VigilError("VIGIL_NOT_FOUND", `decision ${input.decisionId} is not in the decision record; check the id (vigil decisions list)`, { field: "decisionId" });
      }
      return storeFeedback(deps, { ...input, label }, actor.id);
    },
    async list(query = {}) {
      const where: Record<string, string> = {};
      if (query.decisionId !== undefined) where["decisionId"] = query.decisionId;
      if (query.label !== undefined) where["label"] = query.label;
      if (query.by !== undefined) where["by"] = query.by;
      // fb-<uuid> ids are random: the store's id order is no order of time.
      return listDocsByTime<Feedback>(deps.storage, FEEDBACK_COLLECTION, {
        where, order: "newest", timeOf: (doc) => doc.value.at, cursorField: "cursor",
        ...(query.limit === undefined ? {} : { limit: query.limit }), ...(query.after === undefined ? {} : { after: query.after }),
      });
    },
  };
}
