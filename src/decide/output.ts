import type { Decision, DecisionDraft } from "../core/decision.js";

/**
 * The decision-log line: the shape `vigil replay`, `vigil eval` and the decision API emit
 * (EVENTS.md "Decisions out"). Stable: add fields, never rename.
 */
export interface DecisionOutput {
  readonly decisionId: string;
  readonly eventId: string;
  readonly eventType: string;
  /** Undefined when the event had none (omitted from the JSON text). */
  readonly subject?: string | undefined;
  readonly time: string;
  readonly verdict: string;
  readonly tier: string;
  readonly enforced: boolean;
  readonly risk: { readonly score: number; readonly factors: readonly { readonly name: string; readonly contribution: number; readonly detail?: string }[] };
  readonly findings: readonly { readonly policy: string; readonly rule: string; readonly effect: string; readonly severity: string; readonly mode: string; readonly message: string; readonly revision: string }[];
  readonly actions: readonly unknown[];
  readonly explanation: { readonly summary: string; readonly steps?: readonly string[] };
  readonly policyRevisions: Readonly<Record<string, string>>;
  readonly seq?: number;
  readonly hash?: string;
}

export function decisionOutput(decision: Decision | DecisionDraft, options: { readonly steps?: boolean } = {}): DecisionOutput {
  const chained = "hash" in decision ? (decision as Decision) : undefined;
  return {
    decisionId: decision.id,
    eventId: decision.eventId,
    eventType: decision.eventType,
    // Not a conditional spread: properties after a spread take V8's slow path (src/core/objects.ts).
    subject: decision.subject,
    time: decision.time,
    verdict: decision.verdict,
    tier: decision.tier,
    enforced: decision.enforced,
    risk: { score: decision.risk.score, factors: decision.risk.factors.map((f) => ({ name: f.name, contribution: f.contribution, ...(f.detail === undefined ? {} : { detail: f.detail }) })) },
    findings: decision.findings.map((f) => ({ policy: f.policy, rule: f.rule, effect: f.effect, severity: f.severity, mode: f.mode, message: f.message, revision: f.revision })),
    actions: decision.actions,
    explanation: { summary: decision.explanation.summary, ...(options.steps ? { steps: decision.explanation.steps.map((s) => s.text) } : {}) },
    policyRevisions: decision.policyRevisions,
    ...(chained ? { seq: chained.seq, hash: chained.hash } : {}),
  };
}
