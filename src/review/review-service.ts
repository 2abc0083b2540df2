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
  /** Exceptions and overrides in force now, to pass to `decider.decide` (read from storage each call; cache if hot). */
  exemptions(): Promise<{ readonly exceptions: PolicyException[]; readonly overrides: Override[] }>;
}

export function createReviewService(options: ReviewServiceOptions): ReviewService {
  const deps: ReviewDeps = {
    storage: options.storage,
    clock: options.clock,
    executor: options.executor,
    notifier: options.notifier ?? silentNotifier,
    policy: options.policy,
    conditions: createConditionCache(options.env ?? defaultCelEnvironment()),
    settings: options,
  };
  const approvals = createApprovalsApi(deps);
  const exceptions = createExceptionApi(deps);
  const overrides = createOverrideApi(deps);
  const feedback = createFeedbackApi(deps);
  return {
    ...approvals,
    exceptions,
    overrides,
    feedback,
    async exemptions() {
      const [activeExceptions, activeOverrides] = await Promise.all([exceptions.active(), overrides.active()]);
      return { exceptions: activeExceptions, overrides: activeOverrides };
    },
  };
}
