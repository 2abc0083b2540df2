import type { Doc, ExternalContextResolver } from "./context.js";
import type { TraceStep } from "../../core/finding.js";

export type RuleStatus = "pass" | "fail" | "skip" | "error";

/** One rule's outcome for one resource, with Kyverno's message and Vigil's trace. */
export interface RuleResponse {
  readonly status: RuleStatus;
  readonly message: string;
  readonly trace: readonly TraceStep[];
}

/** What a validate block needs besides its variable document. */
export interface RuleEnv {
  readonly ruleName: string;
  /** Context entry names mocked by test values (not loaded). */
  readonly mocked: ReadonlySet<string>;
  readonly resolver?: ExternalContextResolver;
  readonly deleteRequest: boolean;
  /** foreach nesting depth (0 at the rule). */
  readonly nesting: number;
  /** The current element when a foreach is element-scoped: patterns apply to it. */
  readonly element?: unknown;
  /** Evaluates `validate.cel` (set by the policy compiler). */
  readonly cel?: (spec: unknown, doc: Doc) => RuleResponse;
  /** Evaluates `validate.podSecurity` (set by the policy compiler). */
  readonly podSecurity?: (spec: unknown, doc: Doc) => RuleResponse;
}
