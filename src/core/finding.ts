import type { PolicyLanguage, RemediationRef, RuleMode, Severity } from "./policy.js";

/** What a rule's evaluation came to. */
export type FindingEffect = "violation" | "pass" | "skip" | "error";

/**
 * One step of a trace: an expression (a rule condition, a top-level conjunct/disjunct, a
 * variable, a Kyverno pattern path) and the value it evaluated to. This is what answers
 * "which condition failed, and with which value".
 */
export interface TraceStep {
  readonly kind: "match" | "variable" | "condition" | "conjunct" | "disjunct" | "exception" | "pattern" | "precondition" | "note";
  /** Source text of the expression (CEL), or the pattern path for Kyverno. */
  readonly expr: string;
  /** The value it evaluated to (JSON-safe; big values are truncated). */
  readonly value?: unknown;
  /** Error text when the step failed to evaluate. */
  readonly error?: string;
  /** Values of the operands / inputs that explain the result, e.g. `{ "resource.region": "us-east-1" }`. */
  readonly inputs?: Readonly<Record<string, unknown>>;
  readonly children?: readonly TraceStep[];
}

export interface Finding {
  readonly policy: string;
  /** Rule name; for languages without rule names, the policy name or `validations[i]`. */
  readonly rule: string;
  readonly revision: string;
  readonly language: PolicyLanguage;
  readonly effect: FindingEffect;
  /** What the rule asks for when violated. */
  readonly mode: RuleMode;
  readonly severity: Severity;
  /** Rendered message (templates filled in). For `error`, says what broke and where. */
  readonly message: string;
  readonly trace: readonly TraceStep[];
  /** The resource / subject the finding is about, when known (`kind/namespace/name`, an ARN...). */
  readonly resource?: string;
  /** Set when effect is `error`: stable code and detail. */
  readonly error?: { readonly code: string; readonly message: string };
  /** Set when effect is `skip`: why (not matched, precondition false, excepted...). */
  readonly skipReason?: string;
  readonly remediation?: readonly RemediationRef[];
  /**
   * Named values a violation reports (native policies: `spec.outputs`), JSON-safe, e.g.
   * `{ monthlySaving: 123.4, currency: "USD" }`, for reports that aggregate decisions. An output
   * that failed to evaluate is `null` (its error is a `note` step of the trace).
   */
  readonly outputs?: Readonly<Record<string, unknown>>;
}
