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
  /**
   * `evaluate` for a caller that has checked every `indexKeys` entry (the value at its path is
   * present and one of its values), as PolicySet's index does. Same findings as `evaluate` for
   * such a context; it may skip work those checks already did (a native policy whose `match` is
   * nothing but those constraints does not evaluate it again). Optional: callers fall back to
   * `evaluate`.
   */
  evaluateIndexed?(ctx: Context, options?: EvaluateOptions): Finding[];
  /**
   * Constraints from the policy's rules: outside explain mode (`includePasses`) and without a
   * `costLimit` override, when `indexKeys` hold and the value at one of these paths is present
   * (not undefined) and not one of its values, `evaluate` returns no findings at all. PolicySet
   * skips such a policy without evaluating it. A policy sets this only when it can prove it
   * (native policies: every rule condition's first `&&` operand is that constraint and `match`
   * is absent or nothing but `indexKeys`).
   */
  readonly reportKeys?: readonly IndexKey[];
}

