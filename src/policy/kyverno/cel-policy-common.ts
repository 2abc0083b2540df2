/**
 * What every `policies.kyverno.io` CEL policy (Validating, Mutating, Generating) reads the same
 * way: its metadata, named expressions, and the pod-controller autogen helpers.
 */
import { createHash } from "node:crypto";
import { VigilError } from "../../core/errors.js";
import type { PolicyMeta, Severity } from "../../core/policy.js";
import type { CelEnvironment, CelProgram } from "../cel/api.js";

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
