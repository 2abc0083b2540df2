/**
 * Rule results as Kyverno's engine reports them, and their mapping to Vigil Findings
 * (fail → violation, pass, skip, error; Enforce → mode deny, Audit → mode warn).
 */
import type { Finding, TraceStep } from "../../core/finding.js";
import type { PolicyMeta, RuleMode, Severity } from "../../core/policy.js";
import { gvkOf, metadataOf, subjectObject, type AdmissionInput } from "./request.js";

/** `nomatch`: the rule does not select the resource (Kyverno reports nothing); `unsupported`: a feature Vigil does not evaluate (e.g. a verifyImages key in a KMS whose admission.kms setting is absent). */
export type RuleResultStatus = "pass" | "fail" | "skip" | "error" | "nomatch" | "unsupported";

export interface RuleResult {
  readonly policy: string;
  readonly rule: string;
  readonly ruleType: string;
  readonly status: RuleResultStatus;
  readonly mode: RuleMode;
  readonly severity: Severity;
  readonly message: string;
  readonly trace: readonly TraceStep[];
}

/** `kind/namespace/name` (or `kind/name` for cluster-scoped objects). */
export function resourceKey(input: AdmissionInput): string {
  const object = subjectObject(input);
  const meta = metadataOf(object);
  const kind = gvkOf(object).kind;
  const ns = typeof meta["namespace"] === "string" && meta["namespace"] !== "" ? `${meta["namespace"]}/` : "";
  return `${kind}/${ns}${String(meta["name"] ?? "")}`;
}

export function resultToFinding(result: RuleResult, meta: PolicyMeta, input: AdmissionInput): Finding {
  // A rule Vigil cannot evaluate is an error, never a silent pass: the policy's failurePolicy decides.
  const effect = result.status === "fail" ? "violation" : result.status === "pass" ? "pass" : result.status === "error" || result.status === "unsupported" ? "error" : "skip";
  return {
    policy: result.policy,
    rule: result.rule,
    revision: meta.revision,
    language: meta.language,
    effect,
    mode: result.mode,
    severity: result.severity,
    message: result.message,
    trace: result.trace,
    resource: resourceKey(input),
    ...(effect === "error" ? { error: { code: result.status === "unsupported" ? "VIGIL_POLICY_UNSUPPORTED" : "VIGIL_POLICY_EVAL", message: result.message } } : {}),
    ...(effect === "skip" ? { skipReason: result.status === "nomatch" ? "not matched" : result.message } : {}),
  };
}
