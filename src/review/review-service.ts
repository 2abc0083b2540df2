/**
 * The review service: approvals queue and escalation, overrides, exceptions and feedback, over
 * one Storage and one Clock. Every change on a person's behalf takes an Actor `{ id, roles }`,
 * checks its role (approver or admin; VIGIL_FORBIDDEN otherwise) and is written to the audit trail.
 */
import type { Override, PolicyException } from "../core/review.js";
import type { Clock, Storage } from "../core/ports.js";
import type { Executor } from "../act/executor.js";
import { createConditionCache, type PolicyLookup } from "../decide/conditions.js";
import type { CelEnvironment } from "../policy/cel/api.js";
import { defaultCelEnvironment } from "../policy/load.js";
import { createApprovalsApi, type ApprovalsApi } from "./approvals.js";
import type { ReviewDeps, ReviewSettings } from "./context.js";
import { createExceptionApi, type ExceptionApi } from "./exceptions.js";
import { createFeedbackApi, type FeedbackApi } from "./feedback.js";
import { silentNotifier, type Notifier } from "./notifier.js";
import { createOverrideApi, type OverrideApi } from "./overrides.js";
import { checkReviewSettings } from "./settings.js";

export interface ReviewServiceOptions extends ReviewSettings {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly executor: Executor;
  /** Where review notifications go (default: nowhere). */
  readonly notifier?: Notifier;
  /** Policies by name (escalation ladders and safe defaults): `(name) => policySet.get(name)`. */
  readonly policy?: PolicyLookup;
  /** The shared CEL environment (checks exception `when` conditions at creation). */
  readonly env?: CelEnvironment;
}

export interface ReviewService extends ApprovalsApi {
  readonly exceptions: ExceptionApi;
  readonly overrides: OverrideApi;
  readonly feedback: FeedbackApi;
  /**
   * Exceptions and overrides in force, to pass to `decider.decide`. Kept in memory for
   * `maxAgeMs` (default 5000, by the clock) and reloaded at once after a change made through
   * this service; changes made by another process show within `maxAgeMs`. The decider itself
   * drops anything expired at the decision's time, so a cached exception never outlives its expiry.
   */
  exemptions(options?: { readonly maxAgeMs?: number }): Promise<Exemptions>;
}

export interface Exemptions {
  readonly exceptions: readonly PolicyException[];
  readonly overrides: readonly Override[];
}

/** Throws VigilError(VIGIL_BAD_CONFIG) naming `review.<field>` for settings it cannot honour (settings.ts). */
export function createReviewService(options: ReviewServiceOptions): ReviewService {
  checkReviewSettings(options);
  const deps: ReviewDeps = {
    storage: options.storage,
    clock: options.clock,
    executor: options.executor,
    notifier: options.notifier ?? silentNotifier,
    policy: options.policy,
    conditions: createConditionCache(options.env ?? defaultCelEnvironment()),
    settings: options,
  };
  let cached: { readonly value: Exemptions; readonly atMs: number } | undefined;
  // Bumped by every change: a snapshot whose load overlapped a change is not kept (it may predate it).
  let generation = 0;
  const drop = (): void => {
    cached = undefined;
    generation++;
  };
  const invalidate = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    try {
      return await fn(...args);
    } finally {
      drop();
    }
  };
  const approvals = createApprovalsApi(deps);
  const exceptionApi = createExceptionApi(deps);
  const overrideApi = createOverrideApi(deps);
  const exceptions: ExceptionApi = { ...exceptionApi, create: invalidate(exceptionApi.create), import: invalidate(exceptionApi.import), revoke: invalidate(exceptionApi.revoke) };
  const overrides: OverrideApi = {
    ...overrideApi, create: invalidate(overrideApi.create), confirm: invalidate(overrideApi.confirm), revoke: invalidate(overrideApi.revoke),
    async markUsed(draft) {
      const used = await overrideApi.markUsed(draft);
      if (used.length > 0) drop();
      return used;
    },
    async reconcileUsed(reconcileOptions) {
      const used = await overrideApi.reconcileUsed(reconcileOptions);
      if (used.length > 0) drop();
      return used;
    },
  };
  const feedback = createFeedbackApi(deps);
  return {
    ...approvals,
    // Approving a request or a permissive safe default may create an override.
    approve: invalidate(approvals.approve),
    tick: invalidate(approvals.tick),
    exceptions,
    overrides,
    feedback,
    async exemptions(exemptionOptions = {}) {
      const nowMs = options.clock.now().getTime();
      const maxAge = exemptionOptions.maxAgeMs ?? 5000;
      if (cached !== undefined && nowMs - cached.atMs < maxAge && nowMs >= cached.atMs) return cached.value;
      const loading = generation;
      const [activeExceptions, activeOverrides] = await Promise.all([exceptionApi.active(), overrideApi.active()]);
      const value: Exemptions = { exceptions: activeExceptions, overrides: activeOverrides };
      if (loading === generation) cached = { value, atMs: nowMs };
      return value;
    },
  };
}
