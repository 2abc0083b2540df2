/**
 * Kyverno `validate.cel` rules and `celPreconditions`: the Kubernetes admission CEL program
 * (expressions, messageExpression, variables) evaluated with `object`, `oldObject`, `request`,
 * `namespaceObject` and `params`. Never throws at evaluation.
 */
import type { CelActivation, CelEnvironment } from "../cel/api.js";
import { admissionCelSpecOf, compileAdmissionCel, type CompiledAdmissionCel } from "../vap/cel-admission.js";
import type { Doc } from "./context.js";
import type { AdmissionInput } from "./request.js";
import type { RuleResponse } from "./rule-env.js";

export interface CelRule {
  /** `params`: the rule's parameter object (validate.cel paramKind/paramRef), else null. */
  evaluate(input: AdmissionInput, doc: Doc, params?: unknown): RuleResponse;
}

/** The CEL activation Kubernetes admission policies see. */
export function admissionActivation(input: AdmissionInput, doc: Doc, params: unknown = null): CelActivation {
  const request = (doc["request"] ?? {}) as Record<string, unknown>;
  return {
    object: input.object,
    oldObject: input.oldObject,
    request,
    params,
    namespaceObject: input.namespaceObject ?? null,
  };
}

/** Compiles `validate.cel` (`expressions`, `variables`). Throws VigilError on a CEL syntax error. */
export function compileCelRule(spec: Readonly<Record<string, unknown>>, env: CelEnvironment, origin: string, failurePolicy: "Fail" | "Ignore" | "Error" = "Error"): CelRule {
  const compiled: CompiledAdmissionCel = compileAdmissionCel(admissionCelSpecOf(spec, "expressions"), env, origin);
  return {
    evaluate(input, doc, params = null) {
      const r = compiled.evaluate(admissionActivation(input, doc, params));
      // Kubernetes admission semantics (failurePolicy Fail, Kyverno's default): an evaluation error denies.
      if (r.status === "error" && failurePolicy === "Fail") return { status: "fail", message: r.message, trace: r.trace };
      return { status: r.status, message: r.message, trace: r.trace };
    },
  };
}

/** `celPreconditions`: pass when all hold, `fail` when one is false, `error` when one breaks. */
export function evaluateCelPreconditions(rule: CelRule, input: AdmissionInput, doc: Doc, params: unknown = null): RuleResponse {
  return rule.evaluate(input, doc, params);
}
