/** The compiled form of a native policy: what evaluation needs, immutable after compile. */
import type { PolicyMeta } from "../../core/policy.js";
import type { CelProgram } from "../cel/api.js";
import type { RuleSpec } from "./schema.js";
import type { CompiledTemplate } from "./template.js";

/** A compiled CEL expression with what evaluation and traces need. */
export interface CompiledExpression {
  readonly source: string;
  /** `spec.rules[0].condition` */
  readonly field: string;
  readonly program: CelProgram;
  /** Indices of the policy variables this expression reads directly. */
  readonly deps: readonly number[];
}

export interface CompiledRule {
  readonly spec: RuleSpec;
  readonly condition: CompiledExpression;
  readonly message: CompiledTemplate | undefined;
  /** Exceptions that apply to this rule, in declaration order. */
  readonly exceptions: readonly { readonly name: string; readonly when: CompiledExpression }[];
  /** Variables needed by the message template. */
  readonly messageDeps: readonly number[];
  /** The message when the rule has none: `policy P rule R violated`. */
  readonly defaultMessage: string;
}

/** Everything evaluation needs; immutable after compile. */
export interface NativePolicyPlan {
  readonly meta: PolicyMeta;
  readonly match: CompiledExpression | undefined;
  readonly variables: readonly { readonly name: string; readonly expr: CompiledExpression }[];
  readonly rules: readonly CompiledRule[];
  /** `spec.outputs`: evaluated for each violation into `Finding.outputs`. */
  readonly outputs: readonly { readonly name: string; readonly expr: CompiledExpression }[];
}

