/** What every `policies.kyverno.io` CEL policy (Validating, Mutating, Generating) reads the same way. */
import { createHash } from "node:crypto";
import type { PolicyMeta, Severity } from "../../core/policy.js";

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
