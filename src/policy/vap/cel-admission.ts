/**
 * The CEL admission program shared by Kubernetes ValidatingAdmissionPolicy, Kyverno
 * ValidatingPolicy and Kyverno `validate.cel`: `variables` (in order, each may use earlier ones),
 * `matchConditions`, `validations` (expression, message, messageExpression). Compiled once;
 * evaluation never throws.
 */
import type { TraceStep } from "../../core/finding.js";
import { VigilError } from "../../core/errors.js";
import type { CelActivation, CelEnvironment, CelEvaluateOptions, CelProgram } from "../cel/api.js";
import { celToJson } from "../cel/index.js";

const RAW: CelEvaluateOptions = { raw: true };

export interface NamedExpression {
  readonly name: string;
  readonly expression: string;
}

export interface ValidationSpec {
  readonly expression: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly reason?: string;
}

export interface AdmissionCelSpec {
  readonly variables?: readonly NamedExpression[];
  readonly matchConditions?: readonly NamedExpression[];
  readonly validations: readonly ValidationSpec[];
  /** `auditAnnotations[].{key, valueExpression}`: a string (or null: no annotation); an error follows failurePolicy. */
  readonly auditAnnotations?: readonly { readonly key: string; readonly valueExpression: string }[];
}

export type AdmissionCelStatus = "pass" | "fail" | "skip" | "error";

export interface AdmissionCelResult {
  readonly status: AdmissionCelStatus;
  readonly message: string;
  readonly trace: readonly TraceStep[];
  /** Set when a validation failed: its reason (Forbidden, Invalid...). */
  readonly reason?: string;
  /** Status `fail`: every failing validation in order (the first is `message`/`reason`). */
  readonly failures?: readonly { readonly message: string; readonly reason?: string }[];
  /**
   * Every validation that did not pass, in validation order: a failure or an evaluation error
   * (the API server's decisions, where failurePolicy decides whether an error denies).
   */
  readonly problems?: readonly ValidationProblem[];
  /** The first audit annotation that failed to evaluate (annotations are evaluated whatever the validations gave). */
  readonly annotationError?: string;
}

export interface ValidationProblem {
  readonly kind: "fail" | "error";
  readonly message: string;
  readonly reason?: string;
}

interface CompiledValidation {
  readonly spec: ValidationSpec;
  readonly program: CelProgram;
  readonly messageProgram?: CelProgram;
}

export interface CompiledAdmissionCel {
  /** Evaluates against `object`, `oldObject`, `request`, `params`, `namespaceObject`, ... */
  evaluate(base: CelActivation): AdmissionCelResult;
}

/** The Kubernetes authorizer library's calls (`authorizer.group(...).resource(...).check(...).allowed()`). */
const authorizerUse = /\bauthorizer\s*\.\s*(?:group|path|serviceAccount|requestResource)\b/;

function compileOne(env: CelEnvironment, source: string, origin: string): CelProgram {
  try {
    return env.compile(source, { origin });
  } catch (cause) {
    // The API server answers authorizer checks; Vigil has no API server to ask (docs/cel.md), so say that rather than "unknown function".
    const hint = authorizerUse.test(source) ? "; the Kubernetes authorizer library (authorizer.group/resource/check/allowed) is not available in Vigil, which has no API server to ask: check request.userInfo instead" : "";
    if (cause instanceof VigilError) {
      if (hint === "") throw cause;
      throw new VigilError(cause.code, `${cause.message}${hint}`, cause.details, cause);
    }
    throw new VigilError("VIGIL_POLICY_COMPILE", `${origin}: ${cause instanceof Error ? cause.message : String(cause)}${hint}`, { field: origin }, cause);
  }
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The API server's limit on an evaluated messageExpression (celconfig.MaxEvaluatedMessageExpressionSizeBytes). */
const MAX_MESSAGE_BYTES = 5 * 1024;

/**
 * A failed validation's message, as the API server's validator decides it: the messageExpression's
 * string, trimmed, unless it is empty, has a line break or is over 5 KiB; else `message`, trimmed;
 * else `failed expression: <expression>`.
 */
function failureMessage(v: CompiledValidation, activation: CelActivation): string {
  if (v.messageProgram) {
    const m = v.messageProgram.evaluate(activation);
    const text = m.ok && typeof m.value === "string" ? m.value.trim() : "";
    if (text !== "" && !text.includes("\n") && Buffer.byteLength(text, "utf8") <= MAX_MESSAGE_BYTES) return text;
  }
  return v.spec.message?.trim() || `failed expression: ${v.spec.expression.trim()}`;
}

export interface AdmissionCelOptions {
  /**
   * A validation whose result is not a boolean fails (with its message) instead of erring, as the
   * API server's validator judges `result != true` (ValidatingAdmissionPolicy). Default: an error.
   */
  readonly nonBooleanFails?: boolean;
  /**
   * A matchCondition whose value is not a boolean is an error (Kyverno's compiled policies convert
   * it to bool) instead of matching (the API server's matcher skips on false only). Default: it matches.
   */
  readonly nonBooleanConditionErrs?: boolean;
}

/** Compiles the spec. Throws VigilError(VIGIL_POLICY_COMPILE) naming `origin` and the field on a syntax error. */
export function compileAdmissionCel(spec: AdmissionCelSpec, env: CelEnvironment, origin: string, options: AdmissionCelOptions = {}): CompiledAdmissionCel {
  const variables = (spec.variables ?? []).map((v, i) => ({ name: v.name, program: compileOne(env, v.expression, `${origin} variables[${i}] (${v.name})`) }));
  const conditions = (spec.matchConditions ?? []).map((c, i) => ({ name: c.name, program: compileOne(env, c.expression, `${origin} matchConditions[${i}] (${c.name})`) }));
  const validations: CompiledValidation[] = spec.validations.map((v, i) => {
    const program = compileOne(env, v.expression, `${origin} validations[${i}].expression`);
    if (v.messageExpression) return { spec: v, program, messageProgram: compileOne(env, v.messageExpression, `${origin} validations[${i}].messageExpression`) };
    return { spec: v, program };
  });
  const annotations = (spec.auditAnnotations ?? []).map((a, i) => ({ key: a.key, program: compileOne(env, a.valueExpression, `${origin} auditAnnotations[${i}].valueExpression`) }));

  return {
    evaluate(base: CelActivation): AdmissionCelResult {
      const trace: TraceStep[] = [];
      const values: Record<string, unknown> = {};
      // A variable that failed is absent, so reading it says "no such key: <name>"; as the API
      // server composes variables, the error names the variable and its own error instead.
      const failed = new Map<string, string>();
      const explain = (message: string): string => message.replace(/no such key: ([A-Za-z_][A-Za-z0-9_]*)/g, (all, name: string) => {
        const cause = failed.get(name);
        return cause === undefined ? all : `composited variable "${name}" fails to evaluate: ${cause}`;
      });
      const activation: Record<string, unknown> = { ...base, variables: values };
      for (const v of variables) {
        // Raw: a variable keeps its CEL type (a duration, a timestamp, a uint) for the expressions
        // that read it; the trace gets the JSON form.
        const r = v.program.evaluate(activation, RAW);
        if (r.ok) values[v.name] = r.value;
        else failed.set(v.name, explain(r.error.message));
        trace.push({ kind: "variable", expr: `variables.${v.name}`, ...(r.ok ? { value: celToJson(r.value) } : { error: explain(r.error.message) }) });
      }
      // As the API server does: any false condition skips the policy; an error counts only when
      // no condition is false (then failurePolicy decides).
      let conditionError: string | undefined;
      for (const c of conditions) {
        const r = c.program.evaluate(activation);
        if (!r.ok) {
          trace.push({ kind: "match", expr: c.program.source, error: explain(r.error.message) });
          conditionError ??= `matchCondition ${c.name} failed to evaluate: ${explain(r.error.message)}`;
          continue;
        }
        trace.push({ kind: "match", expr: c.program.source, value: r.value });
        // The API server's matcher skips on EvalResult == False only: another value (a dyn result
        // type checking let through) does not skip.
        if (r.value === false) return { status: "skip", message: `matchCondition ${c.name} is false`, trace };
        if (r.value !== true && options.nonBooleanConditionErrs) conditionError ??= `matchCondition ${c.name} must evaluate to bool, got ${describe(r.value)}`;
      }
      if (conditionError !== undefined) return { status: "error", message: conditionError, trace };
      // Every validation is evaluated, as the API server does: one that errs does not hide a later
      // one that fails (under failurePolicy Ignore the error alone would not deny), and each failure
      // is reported (Warn and Audit report them all).
      const problems: ValidationProblem[] = [];
      for (const v of validations) {
        const r = v.program.evaluate(activation);
        if (!r.ok) {
          trace.push({ kind: "condition", expr: v.spec.expression, error: explain(r.error.message) });
          problems.push({ kind: "error", message: `expression '${v.spec.expression}' resulted in error: ${explain(r.error.message)}` });
          continue;
        }
        trace.push({ kind: "condition", expr: v.spec.expression, value: r.value });
        if (typeof r.value !== "boolean" && !options.nonBooleanFails) {
          problems.push({ kind: "error", message: `expression '${v.spec.expression}' must evaluate to bool, got ${describe(r.value)}` });
          continue;
        }
        if (r.value !== true) problems.push({ kind: "fail", message: failureMessage(v, activation), ...(v.spec.reason ? { reason: v.spec.reason } : {}) });
      }
      // As the API server does: the audit annotations are evaluated whatever the validations gave;
      // each value is a string or null (no annotation), and one that fails to evaluate is an error,
      // which the policy's failurePolicy decides.
      let annotationError: string | undefined;
      for (const a of annotations) {
        const r = a.program.evaluate(activation);
        const expr = `auditAnnotations.${a.key}`;
        if (!r.ok || (r.value !== null && typeof r.value !== "string")) {
          const error = r.ok ? `must evaluate to a string or null, got ${describe(r.value)}` : explain(r.error.message);
          trace.push({ kind: "note", expr, error });
          annotationError ??= `auditAnnotations ${a.key} valueExpression '${a.program.source}' resulted in error: ${error}`;
          continue;
        }
        trace.push({ kind: "note", expr, value: r.value });
      }
      const annotated = annotationError === undefined ? {} : { annotationError };
      const failures = problems.filter((p) => p.kind === "fail").map(({ message, reason }) => ({ message, ...(reason ? { reason } : {}) }));
      const first = failures[0];
      if (first !== undefined) return { status: "fail", message: first.message, trace, ...(first.reason ? { reason: first.reason } : {}), failures, problems, ...annotated };
      const validationError = problems[0];
      if (validationError !== undefined) return { status: "error", message: validationError.message, trace, problems, ...annotated };
      if (annotationError !== undefined) return { status: "error", message: annotationError, trace, ...annotated };
      return { status: "pass", message: "", trace };
    },
  };
}

/** Reads `variables`, `matchConditions`, `validations` from a policy spec-like object. */
export function admissionCelSpecOf(spec: Readonly<Record<string, unknown>>, validationsKey = "validations"): AdmissionCelSpec {
  const named = (value: unknown): NamedExpression[] =>
    Array.isArray(value) ? value.filter((x): x is Record<string, unknown> => x !== null && typeof x === "object").map((x) => ({ name: String(x["name"] ?? ""), expression: String(x["expression"] ?? "") })) : [];
  const validations = Array.isArray(spec[validationsKey])
    ? (spec[validationsKey] as unknown[]).filter((x): x is Record<string, unknown> => x !== null && typeof x === "object").map((x) => ({
      expression: String(x["expression"] ?? ""),
      ...(typeof x["message"] === "string" ? { message: x["message"] } : {}),
      ...(typeof x["messageExpression"] === "string" ? { messageExpression: x["messageExpression"] } : {}),
      ...(typeof x["reason"] === "string" ? { reason: x["reason"] } : {}),
    }))
    : [];
  const auditAnnotations = Array.isArray(spec["auditAnnotations"])
    ? (spec["auditAnnotations"] as unknown[]).filter((x): x is Record<string, unknown> => x !== null && typeof x === "object").map((x) => ({ key: String(x["key"] ?? ""), valueExpression: String(x["valueExpression"] ?? "") }))
    : [];
  return { variables: named(spec["variables"]), matchConditions: named(spec["matchConditions"]), validations, ...(auditAnnotations.length > 0 ? { auditAnnotations } : {}) };
}
