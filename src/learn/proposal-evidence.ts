/**
 * Evidence for a proposed policy change, from recorded decisions: generated test cases (the
 * overridden inputs must no longer violate the rule, a confirmed one still must) and a replay of
 * the policy's recorded decisions with the current and the proposed policy.
 *
 * Recorded decisions keep their (masked) input but not their context, so both replays run without
 * context (no signals, entities or history; normal posture), as `vigil replay` does: a violation
 * that needed a context signal may not reproduce. The evidence says how many did.
 */
import type { CompiledPolicy } from "../core/compiled-policy.js";
import type { Decision } from "../core/decision.js";
import type { Finding } from "../core/finding.js";
import { createPolicySet } from "../policy/policy-set.js";
import { contextForTest } from "../policy/vigil/test-runner.js";
import type { TestCaseSpec } from "../policy/vigil/test-schema.js";

/** Findings of one policy for a recorded decision's input, evaluated as a test case would be. */
export function evaluateRecorded(policy: CompiledPolicy, decision: Decision): Finding[] {
  const test = caseFor(decision, "replay", {});
  const ctx = contextForTest(test as unknown as TestCaseSpec, decision.input ?? {}, decision.eventType);
  return createPolicySet([policy]).evaluate(ctx, { includePasses: false, exhaustive: true }).findings;
}

/** A test case (`spec.tests` entry) for a recorded decision's input and envelope. */
export function caseFor(decision: Decision, name: string, expect: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    input: decision.input ?? {},
    event: { type: decision.eventType, ...(decision.subject === undefined ? {} : { subject: decision.subject }) },
    now: decision.time,
    expect,
  };
}

/** A violation of `rule`, or of any rule when it is undefined (an exception to every rule of the policy). */
const violated = (findings: readonly Finding[], rule: string | undefined): boolean => findings.some((f) => f.effect === "violation" && (rule === undefined || f.rule === rule));

/**
 * Test cases for the proposal: up to `max` overridden decisions that the current policy violates
 * (statelessly) and the proposed one does not, and one confirmed (else unlabelled) violation that
 * both still violate. Expectations are the exact violation sets the proposed policy gives.
 */
export function generateTests(current: CompiledPolicy, proposed: CompiledPolicy, rule: string, overridden: readonly Decision[], keep: readonly Decision[], max = 2): Record<string, unknown>[] {
  const cases: Record<string, unknown>[] = [];
  const expectation = (findings: readonly Finding[]): Record<string, unknown> | undefined => {
    if (findings.some((f) => f.effect === "error")) return undefined;
    return { violations: [...new Set(findings.filter((f) => f.effect === "violation").map((f) => f.rule))].sort() };
  };
  for (const decision of overridden) {
    if (cases.length >= max) break;
    if (!violated(evaluateRecorded(current, decision), rule)) continue;
    const after = evaluateRecorded(proposed, decision);
    const expect = expectation(after);
    if (violated(after, rule) || expect === undefined) continue;
    cases.push(caseFor(decision, `learned: allowed like the overridden decision ${decision.id}`, expect));
  }
  for (const decision of keep) {
    const after = evaluateRecorded(proposed, decision);
    const expect = expectation(after);
    if (expect === undefined || !violated(after, rule) || !violated(evaluateRecorded(current, decision), rule)) continue;
    cases.push(caseFor(decision, `learned: still violated like decision ${decision.id}`, expect));
    break;
  }
  return cases;
}

export interface ReplayEvidence {
  /** Recorded decisions of the policy re-evaluated. */
  readonly decisions: number;
  /** ...with the rule violated in the record. */
  readonly recordedViolations: number;
  /** ...of which the rule is still violated when replayed without context (current policy). */
  readonly reproduced: number;
  /** Violations of the rule with the current and the proposed policy (replayed). */
  readonly violationsBefore: number;
  readonly violationsAfter: number;
  /** Decisions the change would turn from violated to not violated. */
  readonly changed: number;
  /** ...of which overridden, labelled false positive, confirmed (true positive / incident), unlabelled. */
  readonly changedOverridden: number;
  readonly changedFalsePositive: number;
  readonly changedConfirmed: number;
  readonly changedUnlabelled: number;
  readonly note: string;
}

/** Replays the policy's recorded decisions with the current and the proposed policy (`rule` undefined: any rule of it). */
export function replayEvidence(current: CompiledPolicy, proposed: CompiledPolicy, rule: string | undefined, decisions: readonly Decision[], labels: { readonly overridden: ReadonlySet<string>; readonly falsePositive: ReadonlySet<string>; readonly confirmed: ReadonlySet<string> }): ReplayEvidence {
  let recorded = 0, reproduced = 0, before = 0, after = 0, changed = 0, overridden = 0, fp = 0, confirmed = 0, unlabelled = 0;
  for (const decision of decisions) {
    const wasRecorded = decision.findings.some((f) => f.effect === "violation" && f.policy === current.meta.name && (rule === undefined || f.rule === rule));
    const b = violated(evaluateRecorded(current, decision), rule);
    const a = violated(evaluateRecorded(proposed, decision), rule);
    if (wasRecorded) recorded++;
    if (wasRecorded && b) reproduced++;
    if (b) before++;
    if (a) after++;
    if (b && !a) {
      changed++;
      if (labels.overridden.has(decision.id)) overridden++;
      else if (labels.confirmed.has(decision.id)) confirmed++;
      else if (labels.falsePositive.has(decision.id)) fp++;
      else unlabelled++;
    }
  }
  return {
    decisions: decisions.length, recordedViolations: recorded, reproduced, violationsBefore: before, violationsAfter: after,
    changed, changedOverridden: overridden, changedFalsePositive: fp, changedConfirmed: confirmed, changedUnlabelled: unlabelled,
    note: `replayed ${decisions.length} recorded decision(s) without context; ${reproduced} of ${recorded} recorded violation(s) of ${rule ?? `${current.meta.name} (any rule)`} reproduced`,
  };
}
