/**
 * Policy language plugin for Kubernetes `admissionregistration.k8s.io` ValidatingAdmissionPolicy
 * and ValidatingAdmissionPolicyBinding (v1, v1beta1), and MutatingAdmissionPolicy and
 * MutatingAdmissionPolicyBinding (v1alpha1, v1beta1; kyverno/mutating-admission-policy.ts).
 * Bindings are paired with their policy by `spec.policyName`; a binding naming a missing policy
 * is a load error.
 */
import { VigilError, toVigilError } from "../../core/errors.js";
import type { CompileResult, PolicyDocument, PolicyLanguagePlugin } from "../language.js";
import { compileMutatingAdmissionPolicy } from "../kyverno/mutating-admission-policy.js";
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

/** A policy kind this plugin loads and the kind of its bindings. */
const families = [
  { policy: "ValidatingAdmissionPolicy", binding: "ValidatingAdmissionPolicyBinding" },
  { policy: "MutatingAdmissionPolicy", binding: "MutatingAdmissionPolicyBinding" },
] as const;

const nameOf = (doc: PolicyDocument): string => String(((doc.value as Json)["metadata"] as Json | undefined)?.["name"] ?? "");
const policyNameOf = (doc: PolicyDocument): unknown => ((doc.value as Json)["spec"] as Json | undefined)?.["policyName"];

/** Creates the VAP plugin; `params` answers paramRef look-ups (a cluster cache, fixtures). */
export function createVapLanguage(options: { readonly params?: VapParamResolver } = {}): PolicyLanguagePlugin {
  const kinds = new Set<string>(families.flatMap((f) => [f.policy, f.binding]));
  return {
    name: "vap",
    accepts: (doc) => kinds.has(kindOf(doc)),
    compile(documents, env): CompileResult {
      const policies: CompileResult["policies"][number][] = [];
      const errors: VigilError[] = [];
      for (const family of families) {
        const bindings = documents.filter((d) => kindOf(d) === family.binding);
        const defs = documents.filter((d) => kindOf(d) === family.policy);
        const names = new Set(defs.map(nameOf));
        for (const b of bindings) {
          const policyName = String(policyNameOf(b) ?? "");
          if (!names.has(policyName)) {
            errors.push(new VigilError("VIGIL_POLICY_LOAD", `${family.binding} ${nameOf(b)}: spec.policyName ${JSON.stringify(policyName)} names no ${family.policy} in the loaded files; load the policy with its binding.`, { field: "spec.policyName", file: b.file }));
          }
        }
        for (const d of defs) {
          const value = d.value as Json;
          const name = nameOf(d);
          const mine = bindings.filter((b) => policyNameOf(b) === name).map((b) => b.value as Json);
          const compileOptions = { source: `${d.file}#${d.index}`, ...(options.params ? { params: options.params } : {}) };
          try {
            policies.push(family.policy === "ValidatingAdmissionPolicy" ? compileVap(value, mine, env, compileOptions) : compileMutatingAdmissionPolicy(value, mine, env, compileOptions));
          } catch (cause) {
            const e = toVigilError(cause, "VIGIL_POLICY_COMPILE");
            errors.push(new VigilError(e.code, e.message, { ...e.details, policy: name, file: d.file }, cause));
          }
        }
      }
      return { policies, errors };
    },
  };
}

/** The plugin with no param resolver (params-using bindings then deny per parameterNotFoundAction). */
export const vapLanguage: PolicyLanguagePlugin = createVapLanguage();
