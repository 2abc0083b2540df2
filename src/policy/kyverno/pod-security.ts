import type { AdmissionInput } from "./request.js";
import type { RuleResponse } from "./rule-env.js";

export function evaluatePodSecurity(spec: unknown, input: AdmissionInput, rule: string): RuleResponse {
  void spec; void input;
  return { status: "error", message: `podSecurity not implemented (${rule})`, trace: [] };
}
