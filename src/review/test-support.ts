/**
 * Test harness of the review stage: the whole decide → act → review loop over a real Storage
 * (the test passes the adapter factory), a manual clock, fake actuators and a recording
 * notifier. Used by tests only.
 */
import type { Decision, DecisionDraft } from "../core/decision.js";
import type { Storage } from "../core/ports.js";
import { createExecutor, type ActOutcome, type Executor } from "../act/executor.js";
import type { GuardrailConfig } from "../act/guardrails.js";
import { createFakeActuators, createTempStore, type FakeActuators, type TempStore } from "../act/test-support.js";
import { createDecider } from "../decide/decider.js";
import { context, manualClock, type ManualClock } from "../decide/test-support.js";
import { loadPolicyText } from "../policy/load.js";
import { createPolicySet, type PolicySet } from "../policy/policy-set.js";
import type { ReviewRecord } from "./types.js";
import type { ReviewNotification } from "./notifier.js";
import { createReviewService, type ReviewService } from "./review-service.js";
import type { ReviewSettings } from "./context.js";

export const admin = { id: "ada", roles: ["admin"] };
export const approver = { id: "ann", roles: ["approver"] };
export const approver2 = { id: "bob", roles: ["approver"] };
export const operator = { id: "otto", roles: ["operator"] };
export const viewer = { id: "vic", roles: ["viewer"] };

/** A policy on `input.bucket` / `input.public` with a fake remediation and the given extra spec lines. */
export function bucketPolicy(name: string, options: { tier: string; severity?: string; remediation?: boolean; extra?: string }): string {
  return `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: ${name} }
spec:
  variables:
    - name: bucket
      expression: input.bucket
  rules:
    - name: no-public
      condition: input.public == true && input.kind == "${name}"
      message: "bucket {{ variables.bucket }} is public"
      severity: ${options.severity ?? "high"}
      effect: deny
${options.remediation === false ? "" : `  remediation:
    - action: fake.set-state
      params: { value: "private" }
      target: '"bucket/" + variables.bucket'
`}  enforcement:
    tier: ${options.tier}
${options.extra ?? ""}`;
}

export interface Loop {
  readonly store: TempStore;
  readonly storage: Storage;
  readonly clock: ManualClock;
  readonly fake: FakeActuators;
  readonly executor: Executor;
  readonly review: ReviewService;
  readonly set: PolicySet;
  readonly notifications: ReviewNotification[];
  /**
   * decide (with the exceptions and overrides in force) → act → record → enqueue reviews → mark
   * once-overrides used. The event's subject is `bucket/<input.bucket>`; `subject: null` sends
   * none (as `POST /v1/decide` does).
   */
  handle(input: Record<string, unknown>, options?: { readonly subject?: null }): Promise<{ decision: Decision; outcome: ActOutcome; reviews: ReviewRecord[] }>;
  dispose(): Promise<void>;
}

export async function createLoop(factory: (options: { path: string }) => Storage, policies: readonly string[], settings: ReviewSettings & { guardrails?: GuardrailConfig } = {}): Promise<Loop> {
  const { policies: compiled, errors } = loadPolicyText(policies.join("---\n"));
  if (errors.length > 0) throw errors[0];
  const set = createPolicySet(compiled);
  const store = await createTempStore(factory);
  const clock = manualClock("2025-02-03T10:00:00.000Z");
  const fake = createFakeActuators(clock);
  const executor = createExecutor({ storage: store.storage, clock, actuators: fake.actuators, guardrails: { notificationKinds: [], ...settings.guardrails } });
  const notifications: ReviewNotification[] = [];
  const review = createReviewService({ storage: store.storage, clock, executor, policy: (n) => set.get(n), notifier: { notify: async (n) => { notifications.push(n); } }, ...settings });
  const decider = createDecider();
  let n = 0;
  return {
    store, storage: store.storage, clock, fake, executor, review, set, notifications,
    async handle(input, options = {}) {
      const ctx = context(input, { now: clock.iso(), ...(options.subject === null ? {} : { subject: `bucket/${String(input["bucket"])}` }), id: `evt-${++n}` });
      const { findings, policyRevisions } = set.evaluate(ctx);
      const exemptions = await review.exemptions();
      const draft: DecisionDraft = decider.decide(ctx, findings, policyRevisions, { id: `dec-${n}`, now: clock.iso(), enforced: true, policy: (name) => set.get(name), ...exemptions });
      const outcome = await executor.act(draft, ctx, (name) => set.get(name));
      const [decision] = await store.storage.appendDecisions([outcome.draft]);
      await review.overrides.markUsed(outcome.draft);
      const reviews = await review.enqueue(outcome.draft, outcome.records);
      return { decision: decision as Decision, outcome, reviews };
    },
    dispose: () => store.dispose(),
  };
}
