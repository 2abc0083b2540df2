/**
 * The public surface of the review stage: approvals queue with escalation, overrides (two-person
 * rule), exceptions with expiry, and feedback records.
 */
export { createReviewService, type ReviewService, type ReviewServiceOptions, type Exemptions } from "./review-service.js";
export type { ApprovalsApi, ApproveResult, TickResult, ReviewQuery, ReviewRecord } from "./approvals.js";
export type { ExceptionApi, ExceptionInput } from "./exceptions.js";
export type { OverrideApi, OverrideInput } from "./overrides.js";
export type { FeedbackApi, FeedbackInput, FeedbackQuery } from "./feedback.js";
export { silentNotifier, type Notifier, type ReviewNotification, type NotificationReason } from "./notifier.js";
export { parseDurationMs } from "./duration.js";
export {
  REVIEWS_COLLECTION, EXCEPTIONS_COLLECTION, OVERRIDES_COLLECTION, FEEDBACK_COLLECTION, ESCALATION_ACTOR,
  type ReviewSettings,
} from "./context.js";
