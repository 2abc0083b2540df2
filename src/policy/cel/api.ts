import type { IndexKey } from "../../core/policy.js";

/**
 * The CEL environment every policy language shares (native Vigil policies, Kyverno
 * validate.cel / ValidatingPolicy, Kubernetes ValidatingAdmissionPolicy).
 *
 * Value model at the boundary (documented in docs/cel.md): activations hold plain JSON-like JS
 * values. A JS number that is an integer maps to CEL `int`, any other number to `double`
 * (the Kubernetes unstructured convention); bigint → int; string, boolean, null, arrays and
 * plain objects (maps with string keys) map as expected; Uint8Array → bytes; Date → timestamp.
 */

export type CelErrorKind =
  | "no_such_key"
  | "no_such_field"
  | "undeclared_reference"
  | "no_matching_overload"
  | "division_by_zero"
  | "overflow"
  | "invalid_argument"
  | "cost_exceeded"
  | "other";

export interface CelEvalError {
  readonly kind: CelErrorKind;
  readonly message: string;
}

export type CelOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: CelEvalError };

/** Variables visible to an expression: a plain object of name → value. */
export type CelActivation = Readonly<Record<string, unknown>>;

export interface CelEvaluateOptions {
  /** Maximum evaluation cost (steps / comprehension iterations). Exceeding it is an error of kind `cost_exceeded`. */
  readonly costLimit?: number;
}

/** A compiled expression. Compile once, evaluate many times. */
export interface CelProgram {
  readonly source: string;
  /** INVARIANT: never throws; errors come back as `{ ok: false }`. */
  evaluate(activation: CelActivation, options?: CelEvaluateOptions): CelOutcome;
  /**
   * The top-level boolean structure, for traces: when the expression is `a && b && c` (or
   * `a || b || c`), the operator and one program per operand; otherwise undefined.
   */
  readonly terms?: { readonly operator: "&&" | "||"; readonly parts: readonly CelProgram[] };
  /**
   * Attribute paths read from variables, e.g. `["resource.kind", "principal.role"]`, so a trace
   * can show the values that decided the result.
   */
  readonly references: readonly string[];
  /**
   * Equality / membership constraints that must hold whenever the expression is true,
   * e.g. `resource.kind == "Pod" && ...` yields `{ path: "resource.kind", values: ["Pod"] }`.
   * Used by PolicySet to index policies by their `match`.
   */
  readonly requiredValues: readonly IndexKey[];
}

/** A function or method added to an environment (Kyverno libraries, Vigil helpers). */
export interface CelFunctionDefinition {
  readonly name: string;
  /** `x.f(a)` when true, `f(x, a)` otherwise. */
  readonly receiver?: boolean;
  /** Number of arguments, not counting the receiver. */
  readonly arity: number;
  /**
   * Receives CEL runtime values converted to plain JS (see value model) and returns a plain
   * JS value, or throws to signal a CEL error (the message becomes the error's).
   */
  readonly impl: (...args: unknown[]) => unknown;
}

export interface CelEnvironmentOptions {
  readonly functions?: readonly CelFunctionDefinition[];
  /** Default cost limit for programs of this environment. */
  readonly costLimit?: number;
}

export interface CelCompileOptions {
  /** Shown in compile errors, e.g. `policy p / spec.rules[0].condition`. */
  readonly origin?: string;
}

export interface CelEnvironment {
  /** Throws VigilError(VIGIL_POLICY_COMPILE) with 1-based line/column on syntax errors. */
  compile(source: string, options?: CelCompileOptions): CelProgram;
  /** Same environment plus more functions. */
  extend(options: CelEnvironmentOptions): CelEnvironment;
}

/** Default budget: generous for real policies, small enough that a runaway loop stops in milliseconds. */
export const DEFAULT_COST_LIMIT = 1_000_000;
