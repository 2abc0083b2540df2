/**
 * Labelled observations: every feedback record (API, CLI, `dev.vigil.feedback` events, and the
 * ones review writes for approvals, denials and overrides) joined with the recorded decision it
 * is about — one observation per violation finding of that decision. Only a person's latest label
 * on a decision counts, so labelling one decision a hundred times weighs as much as once.
 */
import type { Decision } from "../core/decision.js";
import type { Feedback } from "../core/feedback.js";
import { feedbackLabels } from "../core/feedback.js";
import type { Storage } from "../core/ports.js";
import type { Override } from "../core/review.js";
import { globMatch } from "../decide/exemptions.js";
import { FEEDBACK_COLLECTION, OVERRIDES_COLLECTION, REVIEWS_COLLECTION } from "../review/context.js";
import { decisionKeys } from "./keys.js";
import type { Observation } from "./types.js";

export interface CollectOptions {
  /** Ignore feedback given before this time (a reset). */
  readonly since?: string;
  /** Ignore feedback by these actors (globs), e.g. automation. */
  readonly ignoreActors?: readonly string[];
}

export interface Collected {
  readonly observations: Observation[];
  /** Feedback records used (after dedupe and filters). */
  readonly feedbackUsed: number;
  /** Records not used, by reason. */
  readonly skipped: Readonly<Record<string, number>>;
}

const PAGE = 1000;

/** Every document of a collection, in id order. */
export async function listAll<T>(storage: Storage, collection: string, where?: Readonly<Record<string, string | number | boolean | null>>): Promise<T[]> {
  const out: T[] = [];
  let afterId: string | undefined;
  for (;;) {
    const page = await storage.listDocs<T>(collection, { limit: PAGE, ...(afterId === undefined ? {} : { afterId }), ...(where ? { where } : {}) });
    for (const doc of page) out.push(doc.value);
    if (page.length < PAGE) return out;
    afterId = page[page.length - 1]?.id;
  }
}

/**
 * The policies a review-made or override-made feedback record is about (undefined = every violated
 * policy): the ones its author overrode or resolved in review — another person's override or
 * review of another policy of the same decision is not what this label is about.
 */
async function policiesOf(storage: Storage, feedback: Feedback): Promise<Set<string> | undefined> {
  const mine = <T extends { policy: string }>(records: readonly T[], authors: (record: T) => readonly (string | undefined)[]): Set<string> | undefined => {
    if (records.length === 0) return undefined;
    const own = records.filter((r) => authors(r).some((a) => typeof a === "string" && personOf(a) === personOf(feedback.by)));
    return new Set((own.length > 0 ? own : records).map((r) => r.policy));
  };
  if (feedback.via === "override") {
    const overrides = await storage.listDocs<Override>(OVERRIDES_COLLECTION, { where: { decisionId: feedback.decisionId }, limit: 100 });
    return mine(overrides.map((o) => o.value), (o) => [o.by]);
  }
  if (feedback.via === "review") {
    const reviews = await storage.listDocs<{ policy: string; resolvedBy?: string; approvals?: readonly { by: string }[] }>(REVIEWS_COLLECTION, { where: { decisionId: feedback.decisionId }, limit: 100 });
    return mine(reviews.map((r) => r.value), (r) => [r.resolvedBy, ...(r.approvals ?? []).map((a) => a.by)]);
  }
  return undefined;
}

const personOf = (name: string): string => name.trim().toLowerCase();

/**
 * True when `actor` is Vigil's own (`vigil:*`: always, whatever `globs` a configuration lists —
 * the agent never learns from itself) or matches one of the globs (other automation), compared
 * trimmed and case-insensitively.
 */
export function ignoredActor(actor: string, globs: readonly string[]): boolean {
  const person = personOf(actor);
  return person.startsWith("vigil:") || globs.some((glob) => globMatch(personOf(glob), person));
}

/**
 * Labels given by one person at the same instant (one batch of feedback events) have no order —
 * record ids are random — so the one that keeps enforcement strongest counts.
 */
const strength: Readonly<Record<Feedback["label"], number>> = { false_positive: 0, true_positive: 1, incident: 2 };

/** True when `next` is read instead of `previous`: it was given later, or at the same instant and keeps enforcement stronger. */
export function supersedes(next: Pick<Feedback, "at" | "label">, previous: Pick<Feedback, "at" | "label">): boolean {
  return previous.at < next.at || (previous.at === next.at && strength[next.label] > strength[previous.label]);
}

/**
 * The feedback the learner reads: each person's latest label per decision (names compared trimmed
 * and in any case; `by` is returned in that form; at the same instant, the strongest label), given at or after `since` (the last reset),
 * not by automation. `skip` is told why each other record is left out. The learner and the
 * proposal miner both read feedback through this.
 */
export async function latestFeedback(storage: Storage, options: CollectOptions = {}, skip: (reason: string) => void = () => undefined): Promise<Feedback[]> {
  const latest = new Map<string, Feedback>();
  for (const feedback of await listAll<Feedback>(storage, FEEDBACK_COLLECTION)) {
    if (typeof feedback?.decisionId !== "string" || typeof feedback.by !== "string" || !feedbackLabels.includes(feedback.label)) { skip("malformed record"); continue; }
    if (options.since !== undefined && feedback.at < options.since) { skip("before the last reset"); continue; }
    // One person whatever the case or spacing of the name (as review's samePerson and refuseAgent read it).
    const by = personOf(feedback.by);
    if (ignoredActor(by, options.ignoreActors ?? [])) { skip("automation actor"); continue; }
    const key = `${feedback.decisionId}\u0000${by}`;
    const previous = latest.get(key);
    if (previous !== undefined) skip("superseded by the same person's later label");
    if (previous === undefined || supersedes(feedback, previous)) latest.set(key, { ...feedback, by });
  }
  return [...latest.values()];
}

/** Joins the stored feedback with the decision record. Reads only; never changes anything. */
export async function collectObservations(storage: Storage, options: CollectOptions = {}): Promise<Collected> {
  const skipped: Record<string, number> = {};
  const skip = (reason: string): void => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };
  const decisions = new Map<string, Decision | undefined>();
  const observations: Observation[] = [];
  let feedbackUsed = 0;
  for (const feedback of await latestFeedback(storage, options, skip)) {
    let decision = decisions.get(feedback.decisionId);
    if (!decisions.has(feedback.decisionId)) {
      decision = await storage.getDecision(feedback.decisionId);
      decisions.set(feedback.decisionId, decision);
    }
    if (decision === undefined) { skip("decision not in the record"); continue; }
    const only = await policiesOf(storage, feedback);
    const keys = decisionKeys(decision);
    const seen = new Set<string>();
    let used = false;
    for (const finding of decision.findings) {
      if (finding.effect !== "violation" || (only !== undefined && !only.has(finding.policy))) continue;
      const id = `${finding.policy}\u0000${finding.rule}`;
      if (seen.has(id)) continue;
      seen.add(id);
      used = true;
      observations.push({
        feedbackId: feedback.id, decisionId: decision.id, policy: finding.policy, rule: finding.rule, severity: finding.severity, mode: finding.mode,
        label: feedback.label, by: feedback.by, at: feedback.at, via: feedback.via,
        bucket: keys.bucket, ...(keys.entity === undefined ? {} : { entity: keys.entity }), ...(keys.peer === undefined ? {} : { peer: keys.peer }),
        detectors: keys.detectors,
      });
    }
    if (used) feedbackUsed++;
    else skip("decision has no violation to learn from");
  }
  return { observations, feedbackUsed, skipped };
}
