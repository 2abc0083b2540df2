/**
 * What both admission webhooks do around their decision: read the review (an event plus the
 * request fields the answer needs, a 400 naming the field when it is malformed), keep the
 * per-review deadline, and record the decision before answering (`admission.awaitRecord`).
 */
import type { DecisionDraft } from "../core/decision.js";
import { toVigilError, VigilError } from "../core/errors.js";
import type { Event } from "../core/event.js";
import { timeOrderedId } from "../core/ids.js";
import type { Clock } from "../core/ports.js";
import { admissionReviewToEvent } from "../sources/admission.js";
import { admissionResourceName, type AdmissionRequestInfo, type AdmissionSettings } from "./admission-review.js";
import { DeadlineExceeded, withDeadline } from "./deadline.js";

/** One review being answered. */
export interface ReviewExchange {
  /** `performance.now()` when the review was parsed. */
  readonly started: number;
  readonly receivedAt: Date;
  readonly event: Event;
  readonly request: AdmissionRequestInfo;
  /** The decision's id (time-ordered). */
  readonly id: string;
  /** False for a dry run. */
  readonly enforced: boolean;
  /** Labels every decision of this review carries (source, operation, dry run), plus `extra`. */
  readonly labels: Readonly<Record<string, string>>;
  /** Milliseconds left before `admission.timeoutMs`. */
  remaining(): number;
}

/** Reads an AdmissionReview body. Throws VigilError(VIGIL_BAD_EVENT, field) for a malformed review. */
export function openReview(body: unknown, settings: AdmissionSettings, clock: Clock, extraLabels: Readonly<Record<string, string>> = {}): ReviewExchange {
  const started = performance.now();
  const deadline = started + settings.timeoutMs;
  const receivedAt = clock.now();
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    const kind = body === undefined ? "missing" : body === null ? "null" : Array.isArray(body) ? "an array" : `a ${typeof body}`;
    throw new VigilError("VIGIL_BAD_EVENT", `the body is ${kind}, not an AdmissionReview: send the AdmissionReview object as the API server does ({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {...}})`, { field: "body" });
  }
  const converted = admissionReviewToEvent(body, { receivedAt, ...(settings.source ? { source: settings.source } : {}) });
  if (!converted.ok) throw converted.error;
  const review = body as { apiVersion: string; request: Record<string, unknown> };
  const request: AdmissionRequestInfo = {
    apiVersion: review.apiVersion,
    uid: String(review.request["uid"]),
    dryRun: review.request["dryRun"] === true,
    operation: String(review.request["operation"]),
    resource: admissionResourceName(review.request),
  };
  return {
    started,
    receivedAt,
    event: converted.event,
    request,
    id: timeOrderedId(),
    enforced: !request.dryRun,
    labels: { source: "admission", ...extraLabels, "admission.operation": request.operation, ...(request.dryRun ? { "admission.dryRun": "true" } : {}) },
    remaining: () => deadline - performance.now(),
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Hands the decision to the record. With `admission.awaitRecord` (the default) waits until it is
 * durable — for what is left of the deadline, and at least half of it again (a late decision is
 * still recorded) — and returns why it is not, or undefined when it is. A failure that comes
 * later (awaitRecord false, or after the wait) is reported through `onProblem`.
 */
export async function recordReview(exchange: ReviewExchange, settings: AdmissionSettings, draft: DecisionDraft, record: (draft: DecisionDraft) => Promise<unknown>, onProblem?: (text: string, error?: unknown) => void): Promise<string | undefined> {
  // A record function that throws at once fails like one that rejects: the answer then follows
  // admission.failurePolicy, instead of a 500 that leaves it to the API server's failurePolicy.
  const recording = new Promise<unknown>((resolve) => resolve(record(draft)));
  recording.catch((error: unknown) => onProblem?.(`admission review ${exchange.request.uid}: decision ${exchange.id} not recorded: ${message(error)}`, error));
  if (settings.awaitRecord === false) return undefined;
  try {
    await withDeadline(recording, Math.max(exchange.remaining(), settings.timeoutMs / 2));
    return undefined;
  } catch (error) {
    return error instanceof DeadlineExceeded ? "the decision record did not answer before the deadline" : toVigilError(error).message;
  }
}
