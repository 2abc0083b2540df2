/**
 * Dispatches Kubernetes policy documents to their compiler: Kyverno ClusterPolicy/Policy,
 * Kyverno ValidatingPolicy, ImageValidatingPolicy, MutatingPolicy and GeneratingPolicy and their
 * Namespaced* kinds (Kyverno 1.17: the same spec, confined to the policy's namespace), Kubernetes
 * ValidatingAdmissionPolicy (+ bindings), cleanup policies (ClusterCleanupPolicy, CleanupPolicy,
 * DeletingPolicy: cleanup-policy.ts). Kinds Vigil does not evaluate
 * load as `unsupported` entries. Kyverno PolicyExceptions
 * (kyverno.io/v2, v2beta1, v2alpha1; policies.kyverno.io for the CEL policy kinds) go into the
 * load's exception set, which the policies compiled with it consult.
 */
import { VigilError, toVigilError } from "../../core/errors.js";
import type { CelEnvironment } from "../cel/api.js";
import { kyvernoCelFunctions } from "./cel-libraries.js";
import { extendOnce, namespacedCelKinds } from "./cel-policy-common.js";
import type { ExternalContextResolver } from "./context.js";
import { compileKyvernoPolicy, type KyvernoPolicy } from "./policy.js";
import { isCelPolicyExceptionDocument, isPolicyExceptionDocument, parseCelPolicyException, parsePolicyException, type PolicyExceptionSet } from "./policy-exception.js";
import { compileGeneratingPolicy } from "./generating-policy.js";
import { compileMutatingPolicy } from "./mutating-policy.js";
import { compileValidatingPolicy } from "./validating-policy.js";
import { compileImageValidatingPolicy, imageVerificationCelFunctions } from "./image-validating-policy.js";
import { compileCleanupPolicy, isCleanupPolicyDocument, type CleanupPolicy } from "./cleanup-policy.js";
import { isGlobalContextEntryDocument, parseGlobalContextEntry, type GlobalContextSet } from "./global-context.js";
import { isObject, type Json } from "./test-files.js";

export interface LoadedPolicy {
  readonly name: string;
  readonly kind: string;
  readonly policy?: KyvernoPolicy;
  /** A ClusterCleanupPolicy / CleanupPolicy / DeletingPolicy: run on its schedule by the agent, not by admission or `kyverno test`. */
  readonly cleanup?: CleanupPolicy;
  readonly error?: VigilError;
}

const kyvernoKinds = new Set(["ClusterPolicy", "Policy"]);
const unsupportedKinds = new Set(["ImageVerificationPolicy", "MutatingAdmissionPolicy"]);

type CelCompiler = (document: Json, env: CelEnvironment, options: { readonly source?: string; readonly exceptions?: PolicyExceptionSet; readonly globals?: GlobalContextSet }) => KyvernoPolicy;

/** The `policies.kyverno.io` CEL policy kinds evaluated here (cleanup kinds aside), by cluster kind. */
const celCompilers: ReadonlyMap<string, CelCompiler> = new Map<string, CelCompiler>([
  ["ValidatingPolicy", compileValidatingPolicy],
  ["MutatingPolicy", compileMutatingPolicy],
  ["ImageValidatingPolicy", compileImageValidatingPolicy],
  ["GeneratingPolicy", compileGeneratingPolicy],
]);

/** The compiler of a CEL policy kind, a Namespaced* kind's being its cluster kind's. */
function celCompilerFor(kind: string): CelCompiler | undefined {
  return celCompilers.get(Object.hasOwn(namespacedCelKinds, kind) ? (namespacedCelKinds[kind] as string) : kind);
}

/** True for documents this module compiles or reports (by apiVersion group and kind). */
export function isKubernetesPolicyDocument(doc: unknown): boolean {
  if (!isObject(doc)) return false;
  const apiVersion = String(doc["apiVersion"] ?? "");
  const kind = String(doc["kind"] ?? "");
  if (apiVersion.startsWith("kyverno.io/") && kyvernoKinds.has(kind)) return true;
  if (isCleanupPolicyDocument(doc)) return true;
  if (isGlobalContextEntryDocument(doc)) return true;
  if (isPolicyExceptionDocument(doc)) return true;
  if (apiVersion.startsWith("policies.kyverno.io/")) return true;
  return false;
}

/** The shared environment plus Kyverno's CEL libraries (extended once per environment). */
export const kyvernoEnvironment = extendOnce((env) => env.extend({ functions: [...kyvernoCelFunctions, ...imageVerificationCelFunctions] }));

/**
 * Compiles each document; a broken one becomes an entry with `error`. Never throws. A
 * PolicyException is added to `exceptions` (no entry; a malformed one is an entry with `error`,
 * kind PolicyException); without a set, PolicyExceptions are reported as errors.
 */
export function compilePolicyDocuments(documents: readonly Json[], env: CelEnvironment, source: string, resolver?: ExternalContextResolver, exceptions?: PolicyExceptionSet, globals?: GlobalContextSet): LoadedPolicy[] {
  const out: LoadedPolicy[] = [];
  const kenv = kyvernoEnvironment(env);
  for (const doc of documents) {
    const kind = String(doc["kind"] ?? "");
    const name = isObject(doc["metadata"]) ? String(doc["metadata"]["name"] ?? "") : "";
    const apiVersion = String(doc["apiVersion"] ?? "");
    try {
      if (isCleanupPolicyDocument(doc)) {
        const cleanup = compileCleanupPolicy(doc, kenv, { source, ...(resolver ? { resolver } : {}) });
        out.push({ name: cleanup.meta.name, kind, cleanup });
      }
      else if (isGlobalContextEntryDocument(doc)) {
        const entry = parseGlobalContextEntry(doc, source);
        if (globals) globals.add(entry);
        else out.push({ name, kind, error: new VigilError("VIGIL_POLICY_LOAD", `GlobalContextEntry ${name}: nothing to attach it to here; load it with the policies that reference it.`, { policy: name, field: "kind", file: source }) });
      }
      else if (apiVersion.startsWith("kyverno.io/") && kyvernoKinds.has(kind)) {
        const policy = compileKyvernoPolicy(doc, kenv, { source, ...(resolver ? { resolver } : {}), ...(exceptions ? { exceptions } : {}), ...(globals ? { globals } : {}) });
        out.push({ name: policy.meta.name, kind, policy });
      }
      else if (isPolicyExceptionDocument(doc) || isCelPolicyExceptionDocument(doc)) {
        if (isPolicyExceptionDocument(doc)) {
          const exception = parsePolicyException(doc, source);
          exceptions?.add(exception);
        } else {
          const exception = parseCelPolicyException(doc, kenv, source);
          exceptions?.addCel(exception);
        }
        if (!exceptions) out.push({ name, kind, error: new VigilError("VIGIL_POLICY_LOAD", `PolicyException ${name}: nothing to attach it to here; load it with the policies it excepts.`, { policy: name, field: "kind", file: source }) });
      }
      else if (apiVersion.startsWith("policies.kyverno.io/") && celCompilerFor(kind) !== undefined) {
        // A Namespaced* kind compiles as its cluster kind, confined to its namespace and named `namespace/name` (Kyverno's policy key).
        const compile = celCompilerFor(kind) as CelCompiler;
        const policy = compile(doc, kenv, { source, ...(exceptions ? { exceptions } : {}), ...(globals ? { globals } : {}) });
        out.push({ name: policy.meta.name, kind, policy });
      }
      else if (unsupportedKinds.has(kind) || apiVersion.startsWith("policies.kyverno.io/")) {
        out.push({ name, kind, error: new VigilError("VIGIL_POLICY_UNSUPPORTED", `${kind} ${name}: ${kind} policies are not supported by Vigil; evaluate them with Kyverno.`, { policy: name, field: "kind", file: source }) });
      }
    } catch (cause) {
      const error = toVigilError(cause, "VIGIL_POLICY_COMPILE");
      out.push({ name, kind, error });
    }
  }
  return out;
}
