/**
 * Policy language plugin for Kubernetes `admissionregistration.k8s.io` ValidatingAdmissionPolicy
 * and ValidatingAdmissionPolicyBinding (v1, v1beta1). Bindings are paired with their policy by
 * `spec.policyName`; a binding naming a missing policy is a load error.
 */
import { VigilError, toVigilError } from "../../core/errors.js";
import type { CompileResult, PolicyDocument, PolicyLanguagePlugin } from "../language.js";
import { compileVap, type VapParamResolver } from "./policy.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function kindOf(doc: PolicyDocument): string {
  const v = doc.value;
  if (!isObject(v) || !String(v["apiVersion"] ?? "").startsWith("admissionregistration.k8s.io/")) return "";
  return String(v["kind"] ?? "");
}

/** Creates the VAP plugin; `params` answers paramRef look-ups (a cluster cache, fixtures). */
export function createVapLanguage(options: { readonly params?: VapParamResolver } = {}): PolicyLanguagePlugin {
  return {
    name: "vap",
    accepts: (doc) => kindOf(doc) === "ValidatingAdmissionPolicy" || kindOf(doc) === "ValidatingAdmissionPolicyBinding",
    compile(documents, env): CompileResult {
      const policies: CompileResult["policies"][number][] = [];
      const errors: VigilError[] = [];
      const bindings = documents.filter((d) => kindOf(d) === "ValidatingAdmissionPolicyBinding");
      const defs = documents.filter((d) => kindOf(d) === "ValidatingAdmissionPolicy");
      const names = new Set(defs.map((d) => String(((d.value as Json)["metadata"] as Json | undefined)?.["name"] ?? "")));
      for (const b of bindings) {
        const policyName = String(((b.value as Json)["spec"] as Json | undefined)?.["policyName"] ?? "");
        if (!names.has(policyName)) {
          errors.push(new VigilError("VIGIL_POLICY_LOAD", `ValidatingAdmissionPolicyBinding ${String(((b.value as Json)["metadata"] as Json | undefined)?.["name"] ?? "")}: spec.policyName ${JSON.stringify(policyName)} names no ValidatingAdmissionPolicy in the loaded files; load the policy with its binding.`, { field: "spec.policyName", file: b.file }));
        }
      }
      for (const d of defs) {
        const value = d.value as Json;
        const name = String((value["metadata"] as Json | undefined)?.["name"] ?? "");
        const mine = bindings.filter((b) => ((b.value as Json)["spec"] as Json | undefined)?.["policyName"] === name).map((b) => b.value as Json);
        try {
          policies.push(compileVap(value, mine, env, { source: `${d.file}#${d.index}`, ...(options.params ? { params: options.params } : {}) }));
        } catch (cause) {
          const e = toVigilError(cause, "VIGIL_POLICY_COMPILE");
          errors.push(new VigilError(e.code, e.message, { ...e.details, policy: name, file: d.file }, cause));
        }
      }
      return { policies, errors };
    },
  };
}

/** The plugin with no param resolver (params-using bindings then deny per parameterNotFoundAction). */
export const vapLanguage: PolicyLanguagePlugin = createVapLanguage();
