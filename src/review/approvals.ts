/**
 * The approvals queue and the escalation ladder.
 *
 * A review is opened per (decision, policy) for actions waiting for a person (approve tier,
 * blast-radius budget) and for findings at the approve tier. Approving runs the actions through
 * the executor (and, for a denied request with nothing to run, allows its retry once); denying
 * settles them without running. `tick()` — driven by the Clock, never by sleeping — moves
 * unanswered reviews up the policy's escalation ladder and, after the last level, applies the
 * policy's safe default (`enforcement.safeDefault`, default `block`).
 */
import type { DecisionDraft } from "../core/decision.js";
import { VigilError } from "../core/errors.js";
import type { FeedbackLabel } from "../core/feedback.js";
import { severities, tierRank, type Severity } from "../core/policy.js";
import type { Review } from "../core/review.js";
import type { ActionRecord } from "../act/records.js";
import { requireRole, type Actor } from "../act/actor.js";
import { listDocsByTime, timeCursor } from "../act/time-page.js";
import { metaOf, type PolicyLookup } from "../decide/conditions.js";
import { ESCALATION_ACTOR, REVIEWS_COLLECTION, nowIso, refuseAgent, samePerson, twoPersonSeverities, type ReviewDeps } from "./context.js";
import { levelDueAt } from "./duration.js";
import { checkLabel, storeFeedback } from "./feedback.js";
import { nextId } from "./ids.js";
import type { NotificationReason, ReviewNotification } from "./notifier.js";
import type { ReviewRecord } from "./types.js";
import { overrideSubject, storeOverride } from "./overrides.js";
import { createAnswerClaims } from "./answer-claim.js";

export type { ReviewRecord };

export interface ApproveResult {
  readonly review: ReviewRecord;
  /** Records of the actions that ran (empty while a second approver is awaited). */
  readonly actions: readonly ActionRecord[];
  /** False while the two-person rule waits for a second, different approver. */
  readonly complete: boolean;
  /**
   * Set when approving a denied request with no actions: the override that lets its retry through
   * once (at a two-person severity, approved by one person, it waits for another's `overrides.confirm`).
   */
  readonly overrideId?: string;
}

export interface TickResult {
  readonly escalated: readonly ReviewRecord[];
  readonly expired: readonly ReviewRecord[];
  /** Due reviews whose safe default could not act yet (kill switch on); retried on the next tick. */
  readonly deferred: readonly ReviewRecord[];
}

export interface ReviewQuery {
  readonly status?: Review["status"];
  readonly policy?: string;
  readonly decisionId?: string;
  readonly limit?: number;
  /** `reviewCursor` of the last review of the previous page: the reviews opened after it. */
  readonly after?: string;
}

/** The cursor that continues `list` after this review. */
export const reviewCursor = (review: ReviewRecord): string => timeCursor(review.createdAt, review.id);

export interface ApprovalsApi {
  /** Opens reviews for a decision's pending actions and approve-tier findings; idempotent per (decision, policy). */
  enqueue(draft: DecisionDraft, records: readonly ActionRecord[], policy?: PolicyLookup): Promise<ReviewRecord[]>;
  /**
   * Oldest first (by createdAt, then id): a queue is answered in the order it filled, and a page
   * never leaves out an older review than the ones it shows. Bad `after` → VIGIL_BAD_INPUT (field `cursor`).
   */
  list(query?: ReviewQuery): Promise<ReviewRecord[]>;
  get(id: string): Promise<ReviewRecord | undefined>;
  /** Approver or admin. Throws VIGIL_KILL_SWITCH (review stays open) while the kill switch is on. */
  approve(id: string, actor: Actor, reason?: string): Promise<ApproveResult>;
  /**
   * Approver or admin; a reason is required. Feedback label defaults to false_positive (the actions
   * were not needed), or true_positive for a denied request with nothing to run (the denial stands).
   */
  deny(id: string, actor: Actor, reason: string, options?: { readonly label?: FeedbackLabel }): Promise<ReviewRecord>;
  tick(): Promise<TickResult>;
}

const OPEN: readonly Review["status"][] = ["pending", "escalated"];

function isOpen(review: Review): boolean {
  return OPEN.includes(review.status);
}

export function createApprovalsApi(deps: ReviewDeps): ApprovalsApi {
  async function load(id: string): Promise<{ value: ReviewRecord; version: number }> {
    const doc = await deps.storage.getDoc<ReviewRecord>(REVIEWS_COLLECTION, id);
    if (doc === undefined) throw new VigilError("VIGIL_NOT_FOUND", `review ${id} does not exist; list open reviews with GET /v1/reviews`, { field: "id" });
    return doc;
  }

  async function save(review: ReviewRecord, version: number): Promise<ReviewRecord> {
    try {
      await deps.storage.putDocs([{ collection: REVIEWS_COLLECTION, id: review.id, value: review, expectVersion: version }], nowIso(deps));
    } catch (error) {
      if (error instanceof VigilError && error.code === "VIGIL_CONFLICT") {
        throw new VigilError("VIGIL_CONFLICT", `review ${review.id} changed while it was being updated (someone else answered it); reload it`, { field: "id" }, error);
      }
      throw error;
    }
    return review;
  }

  /** A notification recorded on a review before it is sent, and what the notifier is given. */
  interface Outgoing { readonly index: number; readonly notification: ReviewNotification }

  /**
   * Records a notification on the review and queues it in `outbox`. It is sent (`send`) only after
   * the versioned save that records it succeeded: that save is the claim only one worker (or one
   * approver) wins, so nobody is told twice and nothing after it is done twice.
   */
  function withNotification(review: ReviewRecord, level: number, reason: NotificationReason, targets: readonly string[], outbox: Outgoing[]): ReviewRecord {
    if (targets.length === 0) return review;
    outbox.push({ index: review.notifications.length, notification: { reason, level, targets, review } });
    return { ...review, notifications: [...review.notifications, { at: nowIso(deps), level, reason, targets }] };
  }

  /** Sends what `withNotification` queued for the review saved at `version`; failures are audited and written on it (best effort). */
  async function send(saved: ReviewRecord, version: number, outbox: readonly Outgoing[]): Promise<ReviewRecord> {
    const entries = [...saved.notifications];
    let failed = false;
    for (const { index, notification } of outbox) {
      try {
        await deps.notifier.notify(notification);
      } catch (cause) {
        const error = cause instanceof Error ? cause.message : String(cause);
        const { level, reason, targets } = notification;
        await deps.storage.appendAudit([{ at: nowIso(deps), actor: "vigil", action: "review.notify-failed", target: saved.id, detail: { level, reason, targets: [...targets], error } }]);
        const entry = entries[index];
        if (entry !== undefined) entries[index] = { ...entry, error };
        failed = true;
      }
    }
    if (!failed) return saved;
    const updated: ReviewRecord = { ...saved, notifications: entries };
    try {
      await deps.storage.putDocs([{ collection: REVIEWS_COLLECTION, id: saved.id, value: updated, expectVersion: version }], nowIso(deps));
    } catch (error) {
      if (!(error instanceof VigilError && error.code === "VIGIL_CONFLICT")) throw error;
    }
    return updated;
  }

  /** `save`, or false when someone else changed the review first (another worker's tick, a person's answer). */
  async function claim(review: ReviewRecord, version: number): Promise<boolean> {
    try {
      await save(review, version);
      return true;
    } catch (error) {
      if (error instanceof VigilError && error.code === "VIGIL_CONFLICT") return false;
      throw error;
    }
  }

  const { beingAnswered, refuseWhileAnswered, claimAnswer, releaseAnswer } = createAnswerClaims(deps, save);

  /**
   * Allows a denied request's retry once (approval of, or a permissive safe default for, a request
   * with nothing to run). Not for a request without a subject or resource: an override without a
   * subject would let the next request of the policy through, whoever's and whatever it is.
   */
  async function allowRetry(review: ReviewRecord, by: string, reason: string, secondBy?: string, confirmationRequired = false): Promise<string | undefined> {
    if (review.verdict !== "deny" || review.actionIds.length > 0) return undefined;
    const decision = review.subject === undefined ? await deps.storage.getDecision(review.decisionId) : undefined;
    const subject = review.subject ?? (decision === undefined ? undefined : overrideSubject(decision, review.policy));
    if (subject === undefined) return undefined;
    const override = await storeOverride(deps, {
      decisionId: review.decisionId, policy: review.policy, subject,
      // It covers what was reviewed: violations of the policy up to the review's severity, as overrides.create keeps it.
      ...(review.severity === undefined ? {} : { severity: review.severity }),
      scope: "once", reason, by, ...(secondBy ? { secondBy } : {}), ...(confirmationRequired && !secondBy ? { confirmationRequired: true } : {}), review: review.id,
    }, "override.create");
    return override.id;
  }

  const api: ApprovalsApi = {
    async enqueue(draft, records, policy) {
      const lookup = policy ?? deps.policy;
      const pendingByPolicy = new Map<string, string[]>();
      for (const r of records) {
        if (r.status !== "pending-approval" || r.decisionId !== draft.id) continue;
        pendingByPolicy.set(r.policy, [...(pendingByPolicy.get(r.policy) ?? []), r.id]);
      }
      for (const step of draft.explanation.steps) {
        if (step.kind === "tier" && step.tier === "approve" && step.policy !== undefined && !pendingByPolicy.has(step.policy)) pendingByPolicy.set(step.policy, []);
      }
      const out: ReviewRecord[] = [];
      for (const [policyName, pendingIds] of pendingByPolicy) {
        const existing = await deps.storage.listDocs<ReviewRecord>(REVIEWS_COLLECTION, { where: { decisionId: draft.id, policy: policyName } });
        const known = new Set(existing.flatMap((d) => d.value.actionIds));
        const fresh = [...new Set(pendingIds)].filter((a) => !known.has(a));
        // An open review a first approver of the two-person rule already approved is not joined: that
        // approval was for its actions, and the second approver alone would run the fresh ones.
        const joinable = existing.find((d) => isOpen(d.value) && (d.value.approvals ?? []).length === 0);
        const found = joinable ?? existing.find((d) => isOpen(d.value)) ?? existing.at(-1);
        // Fresh actions join an open review, unless an answer to it is being carried out (its final save would then fail).
        if (found !== undefined && (fresh.length === 0 || (found === joinable && !beingAnswered(found.value)))) {
          out.push(fresh.length === 0 ? found.value : await save({ ...found.value, actionIds: [...found.value.actionIds, ...fresh] }, found.version));
          continue;
        }
        // No review yet, or actions that arrived after the decision's review was answered (the ladder
        // sends held actions later) or while it is: a new review asks about them — never merged into a closed one.
        const actionIds = fresh;
        const meta = metaOf(lookup?.(policyName));
        let severity: Severity = "info";
        for (const f of draft.findings) if (f.policy === policyName && f.effect === "violation" && severities.indexOf(f.severity) > severities.indexOf(severity)) severity = f.severity;
        const at = nowIso(deps);
        const escalation = meta?.escalation ?? [];
        const settings = deps.settings.twoPersonRule;
        let review: ReviewRecord = {
          id: await nextId(deps.storage, "RV", at), decisionId: draft.id, policy: policyName, actionIds, status: "pending", createdAt: at, level: 0,
          summary: draft.explanation.summary, explanation: draft.explanation, verdict: draft.verdict, tier: draft.tier, severity,
          ...(draft.subject ? { subject: draft.subject } : {}), escalation, safeDefault: meta?.enforcement?.safeDefault ?? "block",
          ...(settings?.approvals === true && twoPersonSeverities(deps.settings).includes(severity) ? { twoPersonRequired: true } : {}),
          notifications: [],
        };
        const first = levelDueAt(review, 0, deps.clock.now().getTime());
        if (first !== undefined) review = { ...review, dueAt: first };
        const outbox: Outgoing[] = [];
        review = withNotification(review, 0, "created", escalation[0]?.notify ?? deps.settings.defaultNotify ?? [], outbox);
        await deps.storage.putDocs([{ collection: REVIEWS_COLLECTION, id: review.id, value: review, expectVersion: 0 }], at);
        await deps.storage.appendAudit([{ at, actor: "vigil", action: "review.create", target: review.id, detail: { decisionId: draft.id, policy: policyName, actions: actionIds.length } }]);
        out.push(await send(review, 1, outbox));
      }
      return out;
    },

    async list(query = {}) {
      const where: Record<string, string> = {};
      if (query.status !== undefined) where["status"] = query.status;
      if (query.policy !== undefined) where["policy"] = query.policy;
      if (query.decisionId !== undefined) where["decisionId"] = query.decisionId;
      // RV-<n> ids sort as text (RV-10 before RV-2), so the store's id order is not the queue's.
      return listDocsByTime<ReviewRecord>(deps.storage, REVIEWS_COLLECTION, {
        where, order: "oldest", timeOf: (doc) => doc.value.createdAt, cursorField: "cursor",
        ...(query.limit === undefined ? {} : { limit: query.limit }), ...(query.after === undefined ? {} : { after: query.after }),
      });
    },

    async get(id) {
      return (await deps.storage.getDoc<ReviewRecord>(REVIEWS_COLLECTION, id))?.value;
    },

    async approve(id, actor, reason) {
      requireRole(actor, ["approver"], `approve review ${id}`);
      // A person approves (alone, or as either of the two-person rule's approvers); the ladder's safe default is the agent's only answer.
      refuseAgent(actor, `approve review ${id}`);
      const { value, version } = await load(id);
      if (!isOpen(value)) throw new VigilError("VIGIL_CONFLICT", `review ${id} is already ${value.status}${value.resolvedBy ? ` (by ${value.resolvedBy})` : ""}`, { field: "id" });
      // A deny (or the safe default) being carried out settles the review; a first approval saved now would undo its claim.
      refuseWhileAnswered(value);
      const at = nowIso(deps);
      const approvals = value.approvals ?? [];
      if (approvals.some((a) => samePerson(a.by, actor.id))) {
        throw new VigilError("VIGIL_FORBIDDEN", `review ${id}: the two-person rule needs a second, different approver; ${actor.id} already approved`, { field: "actor.id" });
      }
      const approval = { by: actor.id, at, reason: reason ?? "" };
      if (value.twoPersonRequired === true && approvals.length === 0) {
        const waiting = await save({ ...value, approvals: [approval] }, version);
        await deps.storage.appendAudit([{ at, actor: actor.id, action: "review.approve.first", target: id, detail: { decisionId: value.decisionId, ...(reason ? { reason } : {}) } }]);
        return { review: waiting, actions: [], complete: false };
      }
      // Claimed first, so a concurrent deny or safe default cannot settle the same actions. Running
      // approved actions is idempotent (each action runs at most once) and leaves the review open
      // (the claim given back) under the kill switch.
      const claim = value.actionIds.length === 0 ? { review: value, version } : await claimAnswer(value, version, actor.id, "approve");
      let actions: readonly ActionRecord[];
      try {
        actions = value.actionIds.length === 0 ? [] : await deps.executor.runApproved(value.actionIds, actor, reason);
      } catch (error) {
        await releaseAnswer(claim.review, claim.version);
        throw error;
      }
      const first = approvals[0];
      const outbox: Outgoing[] = [];
      const { answering: _claim, ...unclaimed } = claim.review;
      let resolved: ReviewRecord = {
        ...unclaimed, status: "approved", outcome: "approved", resolvedBy: actor.id, resolvedAt: at, approvals: [...approvals, approval], ...(reason ? { reason } : {}),
      };
      resolved = withNotification(resolved, resolved.level, "resolved", resolved.escalation[resolved.level]?.notify ?? [], outbox);
      await save(resolved, claim.version);
      // The retry override is an override: at a two-person severity one approver's yes waits for a second, as overrides.create does.
      const overrideId = await allowRetry(value, first?.by ?? actor.id, `approved in review ${id}${reason ? `: ${reason}` : ""}`, first === undefined ? undefined : actor.id, twoPersonSeverities(deps.settings).includes(value.severity));
      resolved = await send(resolved, claim.version + 1, outbox);
      await storeFeedback(deps, { decisionId: value.decisionId, label: "true_positive", ...(reason ? { reason } : {}), via: "review" }, actor.id);
      await deps.storage.appendAudit([{ at, actor: actor.id, action: "review.approve", target: id, detail: { decisionId: value.decisionId, actions: actions.map((a) => `${a.id}:${a.status}`), ...(reason ? { reason } : {}), ...(overrideId ? { override: overrideId } : {}) } }]);
      return { review: resolved, actions, complete: true, ...(overrideId ? { overrideId } : {}) };
    },

    async deny(id, actor, reason, options = {}) {
      requireRole(actor, ["approver"], `deny review ${id}`);
      if (typeof reason !== "string" || reason.trim() === "") throw new VigilError("VIGIL_BAD_INPUT", "reason is required to deny a review", { field: "reason" });
      const given = options.label === undefined ? undefined : checkLabel(options.label);
      const { value, version } = await load(id);
      // Denying actions says the finding did not need them (false positive); denying a denied
      // request with nothing to run (its retry is not let through) upholds the rule: true positive.
      const label = given ?? (value.verdict === "deny" && value.actionIds.length === 0 ? "true_positive" : "false_positive");
      if (!isOpen(value)) throw new VigilError("VIGIL_CONFLICT", `review ${id} is already ${value.status}`, { field: "id" });
      const at = nowIso(deps);
      const claim = value.actionIds.length === 0 ? { review: value, version } : await claimAnswer(value, version, actor.id, "deny");
      if (value.actionIds.length > 0) {
        try {
          await deps.executor.skipPending(value.actionIds, actor, `denied in review ${id}: ${reason}`);
        } catch (error) {
          await releaseAnswer(claim.review, claim.version);
          throw error;
        }
      }
      const outbox: Outgoing[] = [];
      const { answering: _claim, ...unclaimed } = claim.review;
      let denied: ReviewRecord = { ...unclaimed, status: "denied", outcome: "denied", resolvedBy: actor.id, resolvedAt: at, reason };
      denied = withNotification(denied, denied.level, "resolved", denied.escalation[denied.level]?.notify ?? [], outbox);
      await save(denied, claim.version);
      denied = await send(denied, claim.version + 1, outbox);
      await storeFeedback(deps, { decisionId: value.decisionId, label, reason, via: "review" }, actor.id);
      await deps.storage.appendAudit([{ at, actor: actor.id, action: "review.deny", target: id, detail: { decisionId: value.decisionId, reason } }]);
      return denied;
    },

    async tick() {
      const nowMs = deps.clock.now().getTime();
      const escalated: ReviewRecord[] = [];
      const expired: ReviewRecord[] = [];
      const deferred: ReviewRecord[] = [];
      const failures: string[] = [];
      const open = (await Promise.all(OPEN.map((status) => deps.storage.listDocs<ReviewRecord>(REVIEWS_COLLECTION, { where: { status } })))).flat();
      for (const doc of open) {
        let review = doc.value;
        if (review.dueAt === undefined || Date.parse(review.dueAt) > nowMs) continue;
        // A person's answer is being carried out: it settles the review, not the ladder.
        if (beingAnswered(review)) continue;
        const outbox: Outgoing[] = [];
        const levels: number[] = [];
        // Several levels may have timed out since the last tick: walk them all, notifying each.
        while (review.dueAt !== undefined && Date.parse(review.dueAt) <= nowMs && review.level + 1 < review.escalation.length) {
          const level = review.level + 1;
          const { dueAt: previous, ...rest } = review;
          const next = levelDueAt(review, level, Date.parse(previous));
          review = { ...rest, level, status: "escalated", ...(next === undefined ? {} : { dueAt: next }) };
          review = withNotification(review, level, "escalated", review.escalation[level]?.notify ?? [], outbox);
          levels.push(level);
        }
        /** Saves the escalation (unless another worker or a person changed the review first), then tells each level. */
        const escalate = async (version = doc.version): Promise<ReviewRecord | undefined> => {
          if (!(await claim(review, version))) return undefined;
          for (const level of levels) await deps.storage.appendAudit([{ at: nowIso(deps), actor: "vigil", action: "review.escalate", target: review.id, detail: { level } }]);
          return send(review, version + 1, outbox);
        };
        if (review.dueAt === undefined || Date.parse(review.dueAt) > nowMs) {
          if (levels.length > 0) {
            const saved = await escalate();
            if (saved !== undefined) escalated.push(saved);
          }
          continue;
        }
        // The author's declared safe default went with the policy: a removed policy's actions are not run by Vigil alone.
        const removed = tierRank(review.safeDefault) >= tierRank("remediate") && deps.policy !== undefined && deps.policy(review.policy) === undefined;
        const reason = removed
          ? `no answer after ${review.escalation.length} escalation level(s): policy ${review.policy} no longer exists, so its safe default ${review.safeDefault} does not run; actions skipped`
          : `no answer after ${review.escalation.length} escalation level(s): safe default ${review.safeDefault} applied`;
        // Claimed (as it stood) before its actions are touched: a person answering at this moment
        // and the safe default do not both act. Another worker's tick or a person first: skip it.
        let version = doc.version;
        if (review.actionIds.length > 0) {
          let claimed: { review: ReviewRecord; version: number };
          try {
            claimed = await claimAnswer(doc.value, doc.version, ESCALATION_ACTOR.id, "safe-default");
          } catch (error) {
            if (error instanceof VigilError && error.code === "VIGIL_CONFLICT") continue;
            failures.push(`review ${review.id}: ${error instanceof Error ? error.message : String(error)}`);
            continue;
          }
          version = claimed.version;
          try {
            // Idempotent (each action is settled at most once).
            if (tierRank(review.safeDefault) >= tierRank("remediate") && !removed) await deps.executor.runApproved(review.actionIds, ESCALATION_ACTOR, reason);
            else await deps.executor.skipPending(review.actionIds, ESCALATION_ACTOR, reason);
          } catch (error) {
            await releaseAnswer(claimed.review, claimed.version);
            if (error instanceof VigilError && error.code === "VIGIL_KILL_SWITCH") {
              const saved = levels.length > 0 ? await escalate(claimed.version + 1) : review;
              if (saved !== undefined) deferred.push(saved);
              continue;
            }
            // One review whose safe default cannot run (a missing action record...) does not hold up the others.
            failures.push(`review ${review.id}: ${error instanceof Error ? error.message : String(error)}`);
            continue;
          }
        }
        const at = nowIso(deps);
        const { dueAt: _due, ...rest } = review;
        let done: ReviewRecord = { ...rest, status: "expired", outcome: "safe-default", resolvedBy: ESCALATION_ACTOR.id, resolvedAt: at, reason };
        done = withNotification(done, done.level, "safe-default", done.escalation[done.level]?.notify ?? [], outbox);
        // The claim: only the worker whose save wins applies the rest of the safe default.
        if (!(await claim(done, version))) continue;
        for (const level of levels) await deps.storage.appendAudit([{ at, actor: "vigil", action: "review.escalate", target: done.id, detail: { level } }]);
        const overrideId = tierRank(done.safeDefault) < tierRank("approve") ? await allowRetry(done, ESCALATION_ACTOR.id, reason) : undefined;
        done = await send(done, version + 1, outbox);
        await deps.storage.appendAudit([{ at, actor: ESCALATION_ACTOR.id, action: "review.safe-default", target: done.id, detail: { safeDefault: done.safeDefault, actions: done.actionIds.length, ...(overrideId ? { override: overrideId } : {}) } }]);
        expired.push(done);
      }
      if (failures.length > 0) throw new VigilError("VIGIL_INTERNAL", `escalation tick: the safe default of ${failures.length} review(s) could not be applied (the others were handled; the next tick tries again): ${failures.join("; ")}`);
      return { escalated, expired, deferred };
    },
  };
  return api;
}
