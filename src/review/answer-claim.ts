/**
 * One answer at a time per review: approve, deny and the escalation ladder's safe default claim a
 * review (a versioned save of `answering`) before they touch its actions, so two concurrent
 * answers never both act. A claim lapses after ANSWER_CLAIM_MS (a process that died answering).
 */
import { VigilError } from "../core/errors.js";
import { REVIEWS_COLLECTION, nowIso, type ReviewDeps } from "./context.js";
import type { ReviewRecord } from "./types.js";

/** How long a claim to answer a review holds (a process that died while answering). */
export const ANSWER_CLAIM_MS = 5 * 60_000;

export type Answer = NonNullable<ReviewRecord["answering"]>["answer"];

export interface AnswerClaims {
  beingAnswered(review: ReviewRecord): boolean;
  /** VIGIL_CONFLICT naming who is answering, while another answer is being carried out. */
  refuseWhileAnswered(review: ReviewRecord): void;
  claimAnswer(review: ReviewRecord, version: number, by: string, answer: Answer): Promise<{ review: ReviewRecord; version: number }>;
  releaseAnswer(claimed: ReviewRecord, version: number): Promise<void>;
}

/** `save` is the approvals queue's versioned save (VIGIL_CONFLICT naming the review when it lost). */
export function createAnswerClaims(deps: ReviewDeps, save: (review: ReviewRecord, version: number) => Promise<ReviewRecord>): AnswerClaims {
  /** True while another answer to the review is being carried out (its claim has not lapsed). */
  function beingAnswered(review: ReviewRecord): boolean {
    return review.answering !== undefined && Date.parse(review.answering.at) + ANSWER_CLAIM_MS > deps.clock.now().getTime();
  }

  /**
   * Claims the review for one answer before any action is touched (a versioned save): of two
   * concurrent answers (two approvers, approve and deny, an answer and the safe default) one
   * wins, the other gets VIGIL_CONFLICT having changed nothing. Returns the claimed review and its version.
   */
  function refuseWhileAnswered(review: ReviewRecord): void {
    if (beingAnswered(review)) {
      const a = review.answering!;
      throw new VigilError("VIGIL_CONFLICT", `review ${review.id} is being answered (${a.answer}) by ${a.by} since ${a.at}; reload it`, { field: "id" });
    }
  }

  async function claimAnswer(review: ReviewRecord, version: number, by: string, answer: Answer): Promise<{ review: ReviewRecord; version: number }> {
    refuseWhileAnswered(review);
    const claimed: ReviewRecord = { ...review, answering: { by, answer, at: nowIso(deps) } };
    await save(claimed, version);
    return { review: claimed, version: version + 1 };
  }

  /** Gives the claim back after the answer could not be carried out (kill switch, a failure); best effort. */
  async function releaseAnswer(claimed: ReviewRecord, version: number): Promise<void> {
    const { answering: _claim, ...rest } = claimed;
    try {
      await deps.storage.putDocs([{ collection: REVIEWS_COLLECTION, id: claimed.id, value: rest, expectVersion: version }], nowIso(deps));
    } catch {
      // Left as is, the claim lapses after ANSWER_CLAIM_MS.
    }
  }

  return { beingAnswered, refuseWhileAnswered, claimAnswer, releaseAnswer };
}
