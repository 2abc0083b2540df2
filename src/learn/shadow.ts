/**
 * Shadow-mode figures: what a policy in `enforcement.mode: shadow` would have changed had it been
 * enforced, over the decisions recorded while it ran in shadow, and how people labelled those
 * decisions. A person looks at them before promoting the policy to enforcing (the agent's
 * `promotePolicy`, `POST /v1/policies/:name/promote`, `vigil policies promote`).
 *
 * "Would have changed": a recorded decision where one of the policy's violations, enforced with
 * the policy's declared tier (its start tier: `enforcement.tier`, else by rule mode, within
 * floor..ceiling), would have denied an allowed request or asked for a stronger tier than the one
 * recorded. Adaptive rules and context movement are not re-run (the recorded decision does not
 * keep the context), so the tier is the policy's start tier.
 */
import type { Decision } from "../core/decision.js";
import type { Feedback } from "../core/feedback.js";
import { tierRank, type PolicyMeta, type Tier } from "../core/policy.js";
import type { Storage } from "../core/ports.js";
import { findingTier } from "../decide/decision.js";
import { FEEDBACK_COLLECTION } from "../review/context.js";
import { ignoredActor, listAll, supersedes } from "./observations.js";
import { defaultLearnerSettings } from "./types.js";

export interface ShadowExample {
  readonly decisionId: string;
  readonly time: string;
  readonly subject?: string;
  readonly recorded: { readonly verdict: string; readonly tier: Tier };
  readonly enforced: { readonly verdict: string; readonly tier: Tier };
  readonly rules: readonly string[];
  readonly label?: string;
}

export interface ShadowReport {
  readonly policy: string;
  /** The revision the figures are for (decisions of other revisions are counted apart). */
  readonly revision?: string;
  readonly declaredMode: "shadow" | "enforce" | "unknown";
  readonly from?: string;
  readonly to?: string;
  /** Recorded decisions with a finding of this policy (and revision). */
  readonly decisions: number;
  /** ...with at least one violation of it. */
  readonly violations: number;
  readonly wouldChange: number;
  readonly wouldDeny: number;
  readonly wouldRaiseTier: number;
  /** Labels people gave on the decisions that would have changed. */
  readonly labelled: { readonly falsePositive: number; readonly truePositive: number; readonly incident: number; readonly unlabelled: number };
  readonly byRule: Readonly<Record<string, { readonly violations: number; readonly wouldChange: number; readonly falsePositive: number; readonly truePositive: number }>>;
  readonly otherRevisions: number;
  readonly examples: readonly ShadowExample[];
}

export interface ShadowOptions {
  /** The policy's meta (declared enforcement and current revision); without it, tiers come from rule modes. */
  readonly policy?: PolicyMeta;
  readonly since?: string;
  /** Examples listed (default 10). */
  readonly examples?: number;
  /** Most decisions scanned (default 100,000, newest first). */
  readonly limit?: number;
  /** Labels by these actors (globs) are not people's labels (default `vigil:*`, as the learner). */
  readonly ignoreActors?: readonly string[];
}

/** Computes the figures from the decision record and feedback. Reads only. */
export async function shadowReport(storage: Storage, name: string, options: ShadowOptions = {}): Promise<ShadowReport> {
  const meta = options.policy;
  const enforcedMeta: PolicyMeta | undefined = meta ? { ...meta, enforcement: { ...meta.enforcement, mode: "enforce" } } : undefined;
  const labels = new Map<string, Feedback[]>();
  const ignore = options.ignoreActors ?? defaultLearnerSettings.ignoreActors;
  for (const feedback of await listAll<Feedback>(storage, FEEDBACK_COLLECTION)) {
    if (typeof feedback.by === "string" && ignoredActor(feedback.by, ignore)) continue;
    const list = labels.get(feedback.decisionId) ?? [];
    list.push(feedback);
    labels.set(feedback.decisionId, list);
  }
  const decisions: Decision[] = [];
  const limit = options.limit ?? 100_000;
  let afterSeq = 0;
  // Newest first, as documented: the record is paged in seq order and only the last `limit` kept.
  for (;;) {
    const page = await storage.listDecisions({ policy: name, afterSeq, limit: 1000, ...(options.since ? { since: options.since } : {}) });
    decisions.push(...page);
    if (decisions.length > limit) decisions.splice(0, decisions.length - limit);
    if (page.length < 1000) break;
    afterSeq = page[page.length - 1]?.seq ?? afterSeq;
  }
  let counted = 0, withViolations = 0, wouldChange = 0, wouldDeny = 0, wouldRaise = 0, other = 0;
  const labelled = { falsePositive: 0, truePositive: 0, incident: 0, unlabelled: 0 };
  const byRule: Record<string, { violations: number; wouldChange: number; falsePositive: number; truePositive: number }> = {};
  const examples: ShadowExample[] = [];
  let from: string | undefined, to: string | undefined;
  for (const decision of decisions.slice(0, limit)) {
    if (meta !== undefined && decision.policyRevisions[name] !== undefined && decision.policyRevisions[name] !== meta.revision) { other++; continue; }
    counted++;
    if (from === undefined || decision.time < from) from = decision.time;
    if (to === undefined || decision.time > to) to = decision.time;
    const violations = decision.findings.filter((f) => f.policy === name && f.effect === "violation");
    if (violations.length === 0) continue;
    withViolations++;
    let tier: Tier = "observe";
    let deny = false;
    for (const finding of violations) {
      const chosen = findingTier(finding, enforcedMeta)?.tier ?? "observe";
      if (tierRank(chosen) > tierRank(tier)) tier = chosen;
      if (finding.mode === "deny") deny = true;
    }
    const denies = deny && decision.verdict === "allow";
    const raises = tierRank(tier) > tierRank(decision.tier);
    const given = labels.get(decision.id) ?? [];
    // The latest label; of labels given at the same instant, the one keeping enforcement strongest (as the learner reads them).
    const latest = given.reduce<Feedback | undefined>((chosen, feedback) => (chosen === undefined || supersedes(feedback, chosen) ? feedback : chosen), undefined);
    const rules = [...new Set(violations.map((f) => f.rule))];
    for (const rule of rules) {
      const entry = (byRule[rule] ??= { violations: 0, wouldChange: 0, falsePositive: 0, truePositive: 0 });
      entry.violations++;
      if (denies || raises) {
        entry.wouldChange++;
        if (latest?.label === "false_positive") entry.falsePositive++;
        else if (latest !== undefined) entry.truePositive++;
      }
    }
    if (!denies && !raises) continue;
    wouldChange++;
    if (denies) wouldDeny++;
    if (raises) wouldRaise++;
    if (latest === undefined) labelled.unlabelled++;
    else if (latest.label === "false_positive") labelled.falsePositive++;
    else if (latest.label === "incident") labelled.incident++;
    else labelled.truePositive++;
    if (examples.length < (options.examples ?? 10)) {
      examples.push({
        decisionId: decision.id, time: decision.time, ...(decision.subject === undefined ? {} : { subject: decision.subject }),
        recorded: { verdict: decision.verdict, tier: decision.tier }, enforced: { verdict: denies ? "deny" : decision.verdict, tier: raises ? tier : decision.tier },
        rules, ...(latest ? { label: latest.label } : {}),
      });
    }
  }
  return {
    policy: name, ...(meta ? { revision: meta.revision } : {}),
    declaredMode: meta === undefined ? "unknown" : meta.enforcement?.mode === "shadow" ? "shadow" : "enforce",
    ...(from ? { from } : {}), ...(to ? { to } : {}),
    decisions: counted, violations: withViolations, wouldChange, wouldDeny, wouldRaiseTier: wouldRaise, labelled, byRule, otherRevisions: other, examples,
  };
}

/** The figures in a few lines, for the CLI and the promotion audit entry. */
export function formatShadowReport(report: ShadowReport): string {
  const lines = [
    `policy ${report.policy}${report.revision ? ` (revision ${report.revision.slice(0, 12)})` : ""}, declared mode ${report.declaredMode}`,
    report.decisions === 0
      ? "no recorded decisions with a finding of this policy yet: nothing to judge it by"
      : `${report.decisions} recorded decision(s) ${report.from ? `from ${report.from} to ${report.to}` : ""} had a finding of it; ${report.violations} violated it`,
    `enforced, it would have changed ${report.wouldChange} decision(s): ${report.wouldDeny} allowed → denied, ${report.wouldRaiseTier} at a stronger tier`,
    `of those, people marked ${report.labelled.falsePositive} false positive, ${report.labelled.truePositive} true positive, ${report.labelled.incident} incident; ${report.labelled.unlabelled} unlabelled`,
  ];
  for (const [rule, figures] of Object.entries(report.byRule)) lines.push(`  rule ${rule}: ${figures.violations} violation(s), ${figures.wouldChange} would change (${figures.falsePositive} FP, ${figures.truePositive} TP)`);
  if (report.otherRevisions > 0) lines.push(`(${report.otherRevisions} decision(s) of other revisions not counted)`);
  for (const example of report.examples) lines.push(`  e.g. ${example.decisionId} ${example.time}${example.subject ? ` ${example.subject}` : ""}: ${example.recorded.verdict}/${example.recorded.tier} → ${example.enforced.verdict}/${example.enforced.tier} (${example.rules.join(", ")})${example.label ? ` [${example.label}]` : ""}`);
  return lines.join("\n");
}
