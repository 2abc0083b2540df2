/**
 * What every `policies.kyverno.io` CEL policy (Validating, Mutating, Generating) reads the same
 * way: its metadata, named expressions, and the pod-controller autogen helpers.
 */
import { createHash } from "node:crypto";
import { VigilError } from "../../core/errors.js";
import type { TraceStep } from "../../core/finding.js";
import type { PolicyMeta, Severity } from "../../core/policy.js";
import type { CelEnvironment, CelProgram } from "../cel/api.js";
import { gvkOf, metadataOf, subjectObject, type AdmissionInput } from "./request.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `policies.kyverno.io/severity` (low, medium, high, critical, info); medium when absent or unknown. */
export function kyvernoSeverity(annotations: Readonly<Record<string, string>>): Severity {
  const s = (annotations["policies.kyverno.io/severity"] ?? "").toLowerCase();
  return s === "low" || s === "medium" || s === "high" || s === "critical" || s === "info" ? s : "medium";
}

/**
 * The PolicyMeta of a CEL policy document. `on` defaults to admission and background scans, minus
 * what `spec.evaluation.{admission,background}.enabled: false` turns off.
 */
export function celPolicyMeta(document: Json, name: string, annotations: Readonly<Record<string, string>>, source: string | undefined, on?: readonly string[]): PolicyMeta {
  const spec = isObject(document["spec"]) ? document["spec"] : {};
  const evaluation = isObject(spec["evaluation"]) ? spec["evaluation"] : {};
  const disabled = (mode: string): boolean => isObject(evaluation[mode]) && evaluation[mode]["enabled"] === false;
  const events = on ?? [...(disabled("admission") ? [] : ["io.k8s.admission.review"]), ...(disabled("background") ? [] : ["io.k8s.resource"])];
  return {
    name,
    language: "kyverno-cel",
    revision: createHash("sha256").update(JSON.stringify(document)).digest("hex").slice(0, 16),
    // INVARIANT: never empty (an empty `on` would apply to every event type).
    on: events.length > 0 ? events : ["io.k8s.admission.review"],
    failurePolicy: spec["failurePolicy"] === "Ignore" ? "Ignore" : "Fail",
    ...(annotations["policies.kyverno.io/description"] ? { description: annotations["policies.kyverno.io/description"] } : {}),
    ...(source ? { source } : {}),
  };
}

export interface NamedProgram {
  readonly name: string;
  readonly program: CelProgram;
}

/** Compiles one expression of a policy; a missing or empty one is VIGIL_POLICY_LOAD naming `field`. */
export function compileExpression(env: CelEnvironment, source: unknown, origin: string, field: string): CelProgram {
  if (typeof source !== "string" || source.trim() === "") {
    throw new VigilError("VIGIL_POLICY_LOAD", `${origin}: ${field} is missing; give a CEL expression string.`, { field });
  }
  return env.compile(source, { origin: `${origin} ${field}` });
}

/** `spec.<key>`: a list of `{name, expression}` (variables, matchConditions); [] when absent. */
export function namedExpressions(value: unknown, env: CelEnvironment, origin: string, key: string): NamedProgram[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new VigilError("VIGIL_POLICY_LOAD", `${origin}: spec.${key} must be a list of {name, expression}.`, { field: `spec.${key}` });
  return value.map((raw, i) => {
    const entry = isObject(raw) ? raw : {};
    return { name: String(entry["name"] ?? ""), program: compileExpression(env, entry["expression"], origin, `spec.${key}[${i}].expression`) };
  });
}

/**
 * Evaluates matchConditions as Kyverno's compiled policies and the API server's matcher do: a
 * false one skips at once; one that errs is remembered and the rest still run, so a later false
 * one still skips; the error counts only when none is false. A value that is no bool is an error
 * for Kyverno (`nonBoolean: "error"`, its ConvertToNative[bool]) and matches for the API server
 * (`"match"`: it skips on false only). Steps are appended to `trace`.
 */
export function evaluateMatchConditions(conditions: readonly NamedProgram[], activation: Readonly<Record<string, unknown>>, trace: TraceStep[], nonBoolean: "error" | "match"): { readonly status: "match" } | { readonly status: "skip" | "error"; readonly message: string } {
  let error: string | undefined;
  for (const c of conditions) {
    const r = c.program.evaluate(activation);
    if (!r.ok) {
      trace.push({ kind: "match", expr: c.program.source, error: r.error.message });
      error ??= `matchCondition ${c.name} failed to evaluate: ${r.error.message}`;
      continue;
    }
    trace.push({ kind: "match", expr: c.program.source, value: r.value });
    if (r.value === false) return { status: "skip", message: `matchCondition ${c.name} is false` };
    if (r.value !== true && nonBoolean === "error") error ??= `matchCondition ${c.name} must evaluate to bool, got ${r.value === null ? "null" : Array.isArray(r.value) ? "a list" : typeof r.value}`;
  }
  return error === undefined ? { status: "match" } : { status: "error", message: error };
}

/** The API group of each pod controller autogen reaches. */
export const controllerGroups: Readonly<Record<string, string>> = { Deployment: "apps", DaemonSet: "apps", StatefulSet: "apps", ReplicaSet: "apps", Job: "batch", CronJob: "batch", ReplicationController: "" };

/** True when `matchConstraints.resourceRules` name pods only (autogen applies). */
export function onlyPods(constraints: unknown): boolean {
  if (!isObject(constraints) || !Array.isArray(constraints["resourceRules"])) return false;
  const rules = constraints["resourceRules"].filter(isObject);
  return rules.length > 0 && rules.every((r) => Array.isArray(r["resources"]) && r["resources"].every((x) => x === "pods"));
}

/** The constraints with every resource rule narrowed to pods (to match a controller's pod template). */
export function podConstraints(constraints: unknown): unknown {
  if (!isObject(constraints)) return constraints;
  return { ...constraints, resourceRules: (Array.isArray(constraints["resourceRules"]) ? constraints["resourceRules"] : []).map((r) => (isObject(r) ? { ...r, resources: ["pods"] } : r)) };
}

/** `extend` applied once per base environment: later calls with the same environment get the same extension. */
export function extendOnce(extend: (env: CelEnvironment) => CelEnvironment): (env: CelEnvironment) => CelEnvironment {
  const cache = new WeakMap<CelEnvironment, CelEnvironment>();
  return (env) => {
    let extended = cache.get(env);
    if (!extended) {
      extended = extend(env);
      cache.set(env, extended);
    }
    return extended;
  };
}

/**
 * Kyverno 1.17's namespaced CEL policy kinds and the cluster kind each shares its spec with. A
 * namespaced policy applies only to requests in its own namespace (cel-policy-common's
 * `celPolicyIdentity`); everything else is the cluster kind's.
 */
export const namespacedCelKinds: Readonly<Record<string, string>> = {
  NamespacedValidatingPolicy: "ValidatingPolicy",
  NamespacedMutatingPolicy: "MutatingPolicy",
  NamespacedGeneratingPolicy: "GeneratingPolicy",
  NamespacedImageValidatingPolicy: "ImageValidatingPolicy",
};

/** Who a `policies.kyverno.io` CEL policy document is, and which requests it may see. */
export interface CelPolicyIdentity {
  /** The document's kind (`ValidatingPolicy`, `NamespacedValidatingPolicy`, ...): what PolicyExceptions' `policyRefs[].kind` name. */
  readonly kind: string;
  /** `metadata.name`: what PolicyExceptions' `policyRefs[].name` name. */
  readonly name: string;
  /** The policy's name in Vigil (findings, decisions, reports): Kyverno's policy key, `namespace/name` for a namespaced kind. */
  readonly key: string;
  /** The namespace of a namespaced kind (`metadata.namespace`, `default` when absent); undefined for a cluster kind. */
  readonly namespace?: string;
  /** `<kind> <key>`, the prefix of load errors and trace origins. */
  readonly origin: string;
  /** False for a request outside a namespaced policy's namespace; always true for a cluster kind. */
  inScope(input: AdmissionInput): boolean;
  /** A `nomatch` message for a request `inScope` refused. */
  readonly outOfScope: string;
}

/**
 * The namespace a request is in, as Kyverno selects namespaced policies for it: the
 * AdmissionReview's `request.namespace` when there is one, else the object's namespace, else, for
 * a Namespace object, its own name (the API server puts a Namespace's requests in that namespace).
 */
export function requestNamespace(input: AdmissionInput): string {
  const raw = input.raw?.["namespace"];
  if (typeof raw === "string" && raw !== "") return raw;
  const object = subjectObject(input);
  const meta = metadataOf(object);
  if (typeof meta["namespace"] === "string" && meta["namespace"] !== "") return meta["namespace"];
  const gvk = gvkOf(object);
  return gvk.kind === "Namespace" && gvk.group === "" && typeof meta["name"] === "string" ? meta["name"] : "";
}

const everywhere = (): boolean => true;

/** The identity of a CEL policy document; throws VIGIL_POLICY_LOAD naming `metadata.name` when it has none. */
export function celPolicyIdentity(document: Json, source: string | undefined): CelPolicyIdentity {
  const kind = typeof document["kind"] === "string" ? document["kind"] : "";
  const metadata = isObject(document["metadata"]) ? document["metadata"] : {};
  const name = typeof metadata["name"] === "string" ? metadata["name"] : "";
  if (name === "") throw new VigilError("VIGIL_POLICY_LOAD", `${kind} without metadata.name: add a name.`, { field: "metadata.name", ...(source ? { file: source } : {}) });
  if (!Object.hasOwn(namespacedCelKinds, kind)) return { kind, name, key: name, origin: `${kind} ${name}`, inScope: everywhere, outOfScope: "" };
  const namespace = typeof metadata["namespace"] === "string" && metadata["namespace"] !== "" ? metadata["namespace"] : "default";
  const key = `${namespace}/${name}`;
  return { kind, name, key, namespace, origin: `${kind} ${key}`, inScope: (input) => requestNamespace(input) === namespace, outOfScope: `the resource is outside the policy's namespace ${namespace}` };
}

/** A compiled CEL policy's `kind` and `namespace` (KyvernoPolicy): `Policy` in its namespace for a namespaced kind. */
export function scopeOf(id: CelPolicyIdentity): { readonly kind: "ClusterPolicy" } | { readonly kind: "Policy"; readonly namespace: string } {
  return id.namespace === undefined ? { kind: "ClusterPolicy" } : { kind: "Policy", namespace: id.namespace };
}
