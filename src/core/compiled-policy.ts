import type { Context } from "./context.js";
import type { Finding } from "./finding.js";
import type { EvaluateOptions, IndexKey, PolicyMeta } from "./policy.js";

/**
 * A policy compiled once. INVARIANT: `evaluate` never throws — a broken policy or a failing
 * expression becomes a finding with effect `error`, so other policies still run.
 */
export interface CompiledPolicy {
  readonly meta: PolicyMeta;
  /**
   * Returns this policy's findings for the context, in rule order. Passing rules are included
   * only when `options.includePasses` is set (explain mode), to keep the hot path lean.
   */
  evaluate(ctx: Context, options?: EvaluateOptions): Finding[];
  /**
   * Index hints extracted from `match`: attribute paths that must equal one of the values for
   * this policy to match (e.g. `[{ path: "resource.kind", values: ["Pod"] }]`). Used by PolicySet.
   */
  readonly indexKeys?: readonly IndexKey[];
}

