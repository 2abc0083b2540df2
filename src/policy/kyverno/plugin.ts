/**
 * Policy language plugin for Kyverno: `kyverno.io/v1` and `v2beta1` ClusterPolicy / Policy
 * (validate, mutate and generate rules) and `policies.kyverno.io` ValidatingPolicy,
 * MutatingPolicy, GeneratingPolicy and the cleanup policies (ClusterCleanupPolicy, CleanupPolicy,
 * DeletingPolicy; run on their schedule by the agent). Other policies.kyverno.io kinds and
 * rules using unsupported features (keyless `validate.manifests` attestors, ...) fail to load with a
 * VigilError naming the policy, the rule and the feature; verifyImages rules with KMS keys Vigil
 * cannot fetch (a KMS whose admission.kms setting is absent: aws, vault, gcp, azure) load and report `unsupported`.
 * Kyverno PolicyExceptions load with the policies (policy-exception.ts).
 * Generated resources are computed for `vigil test` only: nothing is written to a cluster.
 */
import { VigilError } from "../../core/errors.js";
import type { CompileResult, PolicyDocument, PolicyLanguagePlugin } from "../language.js";
import type { ExternalContextResolver } from "./context.js";
import { compilePolicyDocuments, isKubernetesPolicyDocument, kyvernoEnvironment } from "./load.js";
import { createPolicyExceptionSet, type ExternalExceptionSource } from "./policy-exception.js";
import { createGlobalContextSet } from "./global-context.js";

/**
 * Creates the Kyverno plugin; `resolver` answers configMap / apiCall context entries; `exceptions`
 * adds PolicyExceptions kept outside the files (the cluster's) to every load's exception set.
 */
export function createKyvernoLanguage(options: { readonly resolver?: ExternalContextResolver; readonly exceptions?: Omit<ExternalExceptionSource, "env"> } = {}): PolicyLanguagePlugin {
  void options.resolver;
  return {
    name: "kyverno",
    accepts: (doc: PolicyDocument) => isKubernetesPolicyDocument(doc.value),
    compile(documents, env): CompileResult {
      const policies: CompileResult["policies"][number][] = [];
      const errors: VigilError[] = [];
      // One set per load: a PolicyException may sit in any file, before or after its policy.
      const external = options.exceptions;
      const exceptions = createPolicyExceptionSet([], external === undefined ? undefined : { ...external, env: kyvernoEnvironment(env) });
      // GlobalContextEntries of this load: globalReference context entries read them.
      const globals = createGlobalContextSet();
      for (const d of documents) {
        for (const loaded of compilePolicyDocuments([d.value as Record<string, unknown>], env, `${d.file}#${d.index}`, options.resolver, exceptions, globals)) {
          if (loaded.policy) policies.push(loaded.policy);
          else if (loaded.cleanup) policies.push(loaded.cleanup);
          else if (loaded.error) {
            const field = loaded.error.details.field;
            const at = typeof field === "string" ? closestPosition(d, field) : undefined;
            errors.push(new VigilError(loaded.error.code, loaded.error.message, { ...loaded.error.details, policy: loaded.name, file: d.file, ...(at ? { line: at.line, column: at.column } : {}) }, loaded.error));
          }
        }
      }
      return { policies, errors };
    },
  };
}

export const kyvernoLanguage: PolicyLanguagePlugin = createKyvernoLanguage();

/** `spec.rules[2].validate.manifests` → ["spec", "rules", 2, "validate", "manifests"]. */
function fieldPath(field: string): (string | number)[] {
  const path: (string | number)[] = [];
  for (const part of field.split(".")) {
    const match = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (match === null) {
      path.push(part);
      continue;
    }
    if (match[1] !== "") path.push(match[1] as string);
    for (const index of (match[2] as string).matchAll(/\[(\d+)\]/g)) path.push(Number(index[1]));
  }
  return path;
}

/** Line and column of an error's field in its file: the field's, or its closest ancestor's that exists. */
function closestPosition(doc: PolicyDocument, field: string): { line: number; column: number } | undefined {
  const path = fieldPath(field);
  for (let length = path.length; length >= 0; length--) {
    const position = doc.position(path.slice(0, length));
    if (position !== undefined) return position;
  }
  return undefined;
}
