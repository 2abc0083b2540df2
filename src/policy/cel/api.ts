import type { IndexKey } from "../../core/policy.js";

/**
 * The CEL environment every policy language shares (native Vigil policies, Kyverno
 * validate.cel / ValidatingPolicy, Kubernetes ValidatingAdmissionPolicy).
 *
 * Value model at the boundary (documented in docs/cel.md): activations hold plain JSON-like JS
 * values. A JS number that is an integer maps to CEL `int`, any other number to `double`
 * (the Kubernetes unstructured convention; integers beyond ±(2^53-1) cannot be exact JS numbers and
 * are doubles — pass a bigint for a large int); bigint → int; string, boolean, null, arrays and
 * plain objects (maps with string keys) map as expected; Uint8Array → bytes; Date → timestamp.
 * Results come back JSON-safe (celToJson) unless `{ raw: true }` is asked for.
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
  /**
   * Return the CEL runtime value as is instead of converting it with `celToJson` (ints beyond
   * 2^53 stay bigint, timestamps stay timestamps, ...). A raw value can be put into another
   * activation unchanged, e.g. to feed one expression's result into the next.
   */
  readonly raw?: boolean;
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
  readonly terms?: { readonly operator: "&&" | "||"; readonly parts: readonly CelProgram[] } | undefined;
  /**
   * Attribute paths read from variables, e.g. `["resource.kind", "principal.role"]`, so a trace
   * can show the values that decided the result. Complete: every read of an activation variable
   * is here, as its static path (`a.b`, `a["b"]`, `a.?b`, `has(a.b)`) or, when the read is not a
   * static path (`size(a)`, `a[k]`, a macro over `a`), as the bare name `a`. Native policies
   * rely on it to know which `variables.*` an expression needs.
   */
  readonly references: readonly string[];
  /**
   * Equality / membership constraints that must hold whenever the expression is true,
   * e.g. `resource.kind == "Pod" && ...` yields `{ path: "resource.kind", values: ["Pod"] }`.
   * Used by PolicySet to index policies by their `match`.
   */
  readonly requiredValues: readonly IndexKey[];
  /**
   * `compiled`: generated JavaScript (the normal case). `interpreted`: the expression uses
   * protobuf messages and runs on @bufbuild/cel's interpreter (only with `protobufRegistry`).
   */
  readonly engine?: "compiled" | "interpreted";
}

/**
 * CEL type names for typed overloads: `int`, `uint`, `double`, `bool`, `string`, `bytes`, `list`,
 * `map`, `null_type`, `timestamp`, `duration`, `type`, `optional_type`, an extension type name
 * (`net.IP`, `net.CIDR`, `kubernetes.Quantity`, `kubernetes.Semver`, `kubernetes.URL`), or `dyn`
 * (anything).
 */
export type CelTypeName = string;

/** A function or method added to an environment (Kyverno libraries, Vigil helpers). */
export interface CelFunctionDefinition {
  /** May be namespaced: `image.registry`, `resource.Get` are called as `image.registry(x)`. */
  readonly name: string;
  /** `x.f(a)` when true, `f(x, a)` otherwise. */
  readonly receiver?: boolean;
  /** Number of arguments, not counting the receiver; -1 for a variadic function (one or more). */
  readonly arity: number;
  /**
   * Receives CEL runtime values converted to plain JS (see value model) and returns a plain
   * JS value, or throws to signal a CEL error (the message becomes the error's).
   */
  readonly impl: (...args: unknown[]) => unknown;
  /**
   * Typed overload: the definition applies only when the arguments (receiver first) have these
   * CEL types; otherwise the next definition with the same name and arity is tried (a later
   * `extend` first, then the built-in library). Without it, the definition takes any arguments.
   */
  readonly argTypes?: readonly CelTypeName[];
  /**
   * `true`: impl receives and returns CEL runtime values unconverted (see docs/cel.md, "runtime
   * values"): faster, and exact for ints beyond 2^53, uints, bytes, timestamps and durations.
   */
  readonly raw?: boolean;
}

export interface CelEnvironmentOptions {
  readonly functions?: readonly CelFunctionDefinition[];
  /** Default cost limit for programs of this environment. */
  readonly costLimit?: number;
  /**
   * Declared variable names (e.g. `["object", "oldObject", "request"]`). When given, identifiers
   * resolve statically against them, dotted names such as `a.b` included (longest match first).
   * Without it, any activation key can be read (the top-level name wins over a dotted key).
   */
  readonly variables?: readonly string[];
  /** CEL container (namespace) for name resolution, e.g. `k8s.io`. */
  readonly container?: string;
  /**
   * A @bufbuild/protobuf `Registry`: enables protobuf message construction (`pkg.Msg{...}`) and
   * messages in activations; such expressions run on @bufbuild/cel's interpreter.
   */
  readonly protobufRegistry?: unknown;
  /**
   * Kubernetes object construction (MutatingAdmissionPolicy, Kyverno MutatingPolicy):
   * `Object{...}`, `Object.spec.containers{...}` (any `Object.`-qualified name) and
   * `JSONPatch{op:, path:, value:}` compile to maps with the given fields. Schemaless: field
   * names and value types are not checked against an OpenAPI schema. Off by default; with it
   * off these expressions are compile errors, as without message types. Expressions that do not
   * construct objects compile to the same code either way.
   */
  readonly objectConstruction?: boolean;
}

export interface CelCompileOptions {
  /** Shown in compile errors, e.g. `policy p / spec.rules[0].condition`. */
  readonly origin?: string;
  /**
   * Report a call to an unknown function as an evaluation error (cel-go without type checking)
   * instead of a compile error. Default false.
   */
  readonly deferUnknownFunctions?: boolean;
}

export interface CelEnvironment {
  /**
   * Throws VigilError(VIGIL_POLICY_COMPILE) on syntax errors, unknown functions and invalid
   * literal regular expressions; `details.line` / `details.column` are 1-based positions within
   * `source`, `details.field` is the origin.
   */
  compile(source: string, options?: CelCompileOptions): CelProgram;
  /** Same environment plus more functions. */
  extend(options: CelEnvironmentOptions): CelEnvironment;
}

/** Default budget: generous for real policies, small enough that a runaway loop stops in milliseconds. */
export const DEFAULT_COST_LIMIT = 1_000_000;
