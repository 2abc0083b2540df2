/**
 * Test helpers of the learn stage: recorded decisions with learning labels over a real Storage
 * (the test passes the adapter factory), and feedback from several reviewers. Used by tests only.
 */
import type { Context } from "../core/context.js";
import type { Decision } from "../core/decision.js";
import type { Entity } from "../core/entity.js";
import type { Finding } from "../core/finding.js";
import type { PolicyMeta } from "../core/policy.js";
import type { Storage } from "../core/ports.js";
import { createDecider } from "../decide/decider.js";
import type { LearnedAdjustments } from "../decide/learned.js";
import { afterEach, beforeEach } from "vitest";
import { createTempStore, type TempStore } from "../act/test-support.js";
import { context, manualClock, meta, violation, type ManualClock } from "../decide/test-support.js";
import { recordFeedback } from "./feedback.js";
import { learningLabels } from "./keys.js";

export const reviewers = ["ann", "bob", "cai", "dee"].map((id) => ({ id, roles: ["approver"] }));

/** A warn rule that notifies by default and may go down to observe or up to approve. */
export const noisyMeta: PolicyMeta = meta("noisy", { tier: "notify", floor: "observe", ceiling: "approve" });

/**
 * A fresh temporary store (of the adapter factory the test passes) and a manual clock at
 * 2026-01-10T12:00Z for each test of the calling file (registers beforeEach / afterEach); `use`
 * receives them.
 */
export function useLearnStore(factory: Parameters<typeof createTempStore>[0], use: (store: TempStore, clock: ManualClock) => void): void {
  let store: TempStore | undefined;
  beforeEach(async () => {
    store = await createTempStore(factory);
    use(store, manualClock("2026-01-10T12:00:00.000Z"));
  });
  afterEach(async () => {
    await store?.dispose();
  });
}

/** A context whose principal is `principal` in `environment` with `criticality`. */
export function ctxFor(principal: string, options: { readonly environment?: string; readonly criticality?: string; readonly id?: string; readonly now?: string; readonly signals?: Context["signals"] } = {}): Context {
  const entity: Entity = { kind: "principal", id: principal, attrs: { ...(options.environment ? { environment: options.environment } : {}), ...(options.criticality ? { criticality: options.criticality } : {}) } };
  return context({ who: principal }, { subject: principal, entities: { principal: entity }, ...(options.id ? { id: options.id } : {}), ...(options.now ? { now: options.now } : {}), ...(options.signals ? { signals: options.signals } : {}) });
}

const decider = createDecider();

/** Decides one violation of `finding` for `ctx` (with the policy's meta) and appends it to the record. */
export async function recordDecision(storage: Storage, ctx: Context, finding: Partial<Finding>, meta: PolicyMeta, options: { readonly id: string; readonly learned?: LearnedAdjustments | undefined }): Promise<Decision> {
  const draft = decider.decide(ctx, [violation({ policy: meta.name, ...finding })], { [meta.name]: meta.revision }, {
    id: options.id, now: ctx.now, enforced: true, policy: () => meta, labels: learningLabels(ctx),
    ...(options.learned ? { learned: options.learned } : {}),
  });
  const [decision] = await storage.appendDecisions([draft]);
  return decision as Decision;
}

/** Records `count` decisions for `principal` and labels each with `label`, cycling through `by`. */
export async function labelled(storage: Storage, clock: ManualClock, meta: PolicyMeta, options: {
  readonly principal: string; readonly count: number; readonly label: "true_positive" | "false_positive" | "incident"; readonly by: readonly { id: string; roles: string[] }[];
  readonly finding?: Partial<Finding>; readonly environment?: string; readonly criticality?: string; readonly prefix: string;
}): Promise<Decision[]> {
  const out: Decision[] = [];
  for (let i = 0; i < options.count; i++) {
    const ctx = ctxFor(options.principal, { id: `${options.prefix}-evt-${i}`, now: clock.iso(), ...(options.environment ? { environment: options.environment } : {}), ...(options.criticality ? { criticality: options.criticality } : {}) });
    const decision = await recordDecision(storage, ctx, options.finding ?? {}, meta, { id: `${options.prefix}-${i}` });
    await recordFeedback({ storage, clock }, { decisionId: decision.id, label: options.label, reason: "test" }, options.by[i % options.by.length] as { id: string; roles: string[] });
    out.push(decision);
  }
  return out;
}
