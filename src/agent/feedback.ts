/**
 * Feedback into the running agent, through the learn stage's checks (src/learn/feedback.ts):
 *
 * - `record` — `POST /v1/feedback` and `vigil feedback`: `recordFeedback` with the caller as actor
 *   (approver or admin; label, decision id and the decision's existence checked before writing).
 * - `recordEvent` — `dev.vigil.feedback` events: `parseFeedbackEvent` (data.decisionId, data.label,
 *   data.by), then the same checks. An event is as trusted as the ingest token that sent it, so
 *   `data.by` is taken as an approver — unless it names the holder of an API token, whose roles
 *   then apply (a viewer cannot give feedback by naming itself in an event). Stored under the
 *   event's (source, id), so processing the event twice records it once.
 *
 * INVARIANT: a refused feedback changes nothing (every check runs before the write). The records
 * are the ones review writes for approvals, denials and overrides (collection `feedback`), which
 * is what the learner reads.
 */
import { VigilError } from "../core/errors.js";
import type { Event } from "../core/event.js";
import type { Feedback } from "../core/feedback.js";
import type { Clock, Storage } from "../core/ports.js";
import { requireRole, type Actor } from "../act/actor.js";
import { parseFeedbackEvent, recordFeedback, type FeedbackRequest } from "../learn/index.js";

export const FEEDBACK_COLLECTION = "feedback";

export type { FeedbackRequest } from "../learn/index.js";

export interface FeedbackService {
  /** Feedback from an authenticated caller. VIGIL_FORBIDDEN, VIGIL_BAD_INPUT (field), VIGIL_NOT_FOUND (decision); nothing stored then. */
  record(request: FeedbackRequest, actor: Actor): Promise<Feedback>;
  /**
   * Feedback carried by a `dev.vigil.feedback` event. VIGIL_BAD_EVENT (field), VIGIL_FORBIDDEN
   * (`data.by` holds a token without the approver role), VIGIL_NOT_FOUND (decision); nothing
   * stored then. Idempotent per event.
   */
  recordEvent(event: Event): Promise<Feedback>;
}

export interface FeedbackServiceOptions {
  readonly storage: Storage;
  readonly clock: Clock;
  /**
   * The roles of the API token(s) named `name` that are in force, or undefined when no token has
   * that name (a person of the system that sent the event). Default: no tokens.
   */
  readonly rolesOf?: (name: string) => Promise<readonly string[] | undefined>;
}

/** `createFeedbackService(storage, clock)` is the same as `{ storage, clock }` (no token holders known). */
export function createFeedbackService(options: FeedbackServiceOptions): FeedbackService;
export function createFeedbackService(storage: Storage, clock: Clock): FeedbackService;
export function createFeedbackService(first: FeedbackServiceOptions | Storage, second?: Clock): FeedbackService {
  const options: FeedbackServiceOptions = second === undefined ? (first as FeedbackServiceOptions) : { storage: first as Storage, clock: second };
  const { storage, clock } = options;
  return {
    record: (request, actor) => recordFeedback({ storage, clock }, request, actor),
    async recordEvent(event) {
      const parsed = parseFeedbackEvent(event);
      const roles = (await options.rolesOf?.(parsed.by)) ?? ["approver"];
      const actor: Actor = { id: parsed.by, roles };
      requireRole(actor, ["approver"], `feedback event ${event.id} (data.by ${parsed.by}, the name of an API token)`);
      const id = `event:${event.source}:${event.id}`;
      const existing = await storage.getDoc<Feedback>(FEEDBACK_COLLECTION, id);
      if (existing !== undefined) return existing.value;
      if ((await storage.getDecision(parsed.decisionId)) === undefined) {
        throw new VigilError("VIGIL_NOT_FOUND", `data.decisionId ${parsed.decisionId} is not in the decision record; feedback must name a recorded decision`, { field: "data.decisionId" });
      }
      const at = clock.now().toISOString();
      const feedback: Feedback = { id, decisionId: parsed.decisionId, label: parsed.label, by: parsed.by, ...(parsed.reason ? { reason: parsed.reason } : {}), at, via: "event" };
      try {
        await storage.putDocs([{ collection: FEEDBACK_COLLECTION, id, value: feedback, expectVersion: 0 }], at);
      } catch (error) {
        // Another worker recorded the same event meanwhile.
        if (error instanceof VigilError && error.code === "VIGIL_CONFLICT") return (await storage.getDoc<Feedback>(FEEDBACK_COLLECTION, id))?.value ?? feedback;
        throw error;
      }
      await storage.appendAudit([{ at, actor: parsed.by, action: "feedback.record", target: parsed.decisionId, detail: { id, label: parsed.label, via: "event" } }]);
      return feedback;
    },
  };
}
