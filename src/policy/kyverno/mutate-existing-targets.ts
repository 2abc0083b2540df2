/**
 * Reading the objects a `mutate.targets` entry names, as Kyverno's loadTargets / dclient
 * GetResources do: the entry's `apiVersion`, `kind`, `name`, `namespace` and `selector` (a
 * metav1.LabelSelector) with the trigger's `{{ }}` variables substituted, then
 * - an exact name and namespace (no wildcard): a GET of that object; Kyverno does not apply the
 *   selector to it, nor does Vigil;
 * - anything else: a LIST of the kind, whose items are kept when their namespace and name match the
 *   entry's (wildcards `*` `?`; empty matches all) and their labels match the selector.
 *
 * Kyverno always LISTs cluster-wide and filters the namespace itself; Vigil LISTs in the namespace
 * when it is exact (the same objects, a smaller answer). The selector is sent as the LIST's
 * `labelSelector` query and also applied to the items here: a resolver answering from a cache may
 * ignore the query. Vigil keeps one default Kyverno does not have: an exact name of a namespaced
 * kind with neither a namespace nor a selector is read in the trigger's namespace.
 */
import { labelSelectorMatches, resourceForKind, selectorQuery } from "../vap/match-constraints.js";
import { resourcePath } from "./cluster-reads.js";
import { UnresolvedContext, type Doc } from "./context.js";
import { isClusterScopedKind } from "./kinds.js";
import { metadataOf } from "./request.js";
import type { RuleEnv } from "./rule-env.js";
import { substituteAll } from "./variables.js";
import { hasWildcard, wildcardMatch } from "./wildcard.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The label-selector operators Kubernetes defines (metav1.LabelSelectorOperator). */
export const selectorOperators = new Set(["In", "NotIn", "Exists", "DoesNotExist"]);

/** What a target entry read: the objects, or why none could be (an error or a skip naming the target). */
export type TargetRead =
  | { readonly ok: true; readonly objects: readonly Json[] }
  | { readonly ok: false; readonly status: "skip" | "error"; readonly target: string; readonly message: string };

export function targetKey(kind: string, namespace: string | undefined, name: string): string {
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}

/** Why a substituted selector cannot select (Kubernetes rejects it), or undefined. */
function selectorProblem(selector: Json): string | undefined {
  for (const key of Object.keys(selector)) if (key !== "matchLabels" && key !== "matchExpressions") return `unknown field ${key}`;
  const expressions = selector["matchExpressions"];
  if (expressions !== undefined && !Array.isArray(expressions)) return "matchExpressions must be a list";
  for (const [i, e] of (Array.isArray(expressions) ? expressions : []).entries()) {
    const operator = isObject(e) ? String(e["operator"] ?? "") : "";
    if (!selectorOperators.has(operator)) return `matchExpressions[${i}].operator '${operator}' is not In, NotIn, Exists or DoesNotExist`;
    const values = isObject(e) && Array.isArray(e["values"]) ? e["values"] : [];
    if ((operator === "In" || operator === "NotIn") && values.length === 0) return `matchExpressions[${i}] (${operator}) needs values`;
    if ((operator === "Exists" || operator === "DoesNotExist") && values.length > 0) return `matchExpressions[${i}] (${operator}) takes no values`;
  }
  return undefined;
}

function labelsOf(object: Json): Record<string, string> {
  const labels = metadataOf(object)["labels"];
  return isObject(labels) ? Object.fromEntries(Object.entries(labels).filter(([, v]) => typeof v === "string")) as Record<string, string> : {};
}

/** Kyverno's dclient match: an empty pattern matches all; a namespace pattern applies first. */
function namesMatch(namespacePattern: string, namePattern: string, object: Json): boolean {
  const meta = metadataOf(object);
  const namespace = typeof meta["namespace"] === "string" ? meta["namespace"] : "";
  const name = typeof meta["name"] === "string" ? meta["name"] : "";
  if (namespacePattern !== "" && !wildcardMatch(namespacePattern, namespace)) return false;
  return namePattern === "" || wildcardMatch(namePattern, name);
}

/**
 * Reads the objects of one `mutate.targets` entry through the rule's resolver (`doc` is the
 * trigger's variable document). A named target that does not exist is a skip, as in Kyverno.
 * Never throws.
 */
export function readTargets(entry: Json, field: string, doc: Doc, env: RuleEnv): TargetRead {
  const raw = { apiVersion: entry["apiVersion"], kind: entry["kind"], name: entry["name"] ?? "", namespace: entry["namespace"] ?? "", ...(entry["selector"] !== undefined ? { selector: entry["selector"] } : {}) };
  const spec = substituteAll(raw, doc, { deleteRequest: env.deleteRequest, missing: "empty" });
  if (!spec.ok || !isObject(spec.value)) return { ok: false, status: "error", target: field, message: `${field}: variable substitution failed: ${spec.ok ? "not an object" : spec.error}` };
  const apiVersion = String(spec.value["apiVersion"] ?? "");
  const kind = String(spec.value["kind"] ?? "");
  const name = String(spec.value["name"] ?? "");
  if (apiVersion === "" || kind === "") return { ok: false, status: "error", target: field, message: `${field}: apiVersion and kind are required` };
  const rawSelector = spec.value["selector"];
  if (rawSelector !== undefined && rawSelector !== null && !isObject(rawSelector)) return { ok: false, status: "error", target: field, message: `${field}.selector: must be a label selector (matchLabels, matchExpressions)` };
  const selector = isObject(rawSelector) ? rawSelector : undefined;
  const problem = selector ? selectorProblem(selector) : undefined;
  if (problem !== undefined) return { ok: false, status: "error", target: field, message: `${field}.selector: ${problem}` };
  const requestNamespace = isObject(doc["request"]) && typeof doc["request"]["namespace"] === "string" ? doc["request"]["namespace"] : "";
  const exactName = name !== "" && !hasWildcard(name);
  const namespace = String(spec.value["namespace"] ?? "") || (exactName && selector === undefined && !isClusterScopedKind(kind) ? requestNamespace : "");
  const exactNamespace = namespace !== "" && !hasWildcard(namespace);
  // Kyverno GETs only with an exact name and namespace; a cluster-scoped kind has no namespace, so
  // Kyverno LISTs and matches the name: the same object as a GET, which Vigil does (then the selector applies).
  const get = exactName && (exactNamespace || (namespace === "" && isClusterScopedKind(kind)));
  const query = selector !== undefined && !(get && exactNamespace) ? selectorQuery(selector) : "";
  const path = `${resourcePath(apiVersion, resourceForKind(kind), exactNamespace ? namespace : "", get ? name : undefined)}${query !== "" ? `?labelSelector=${encodeURIComponent(query)}` : ""}`;
  const shown = targetKey(kind, namespace || undefined, name || "*");
  const resolver = env.resolver;
  const answer = resolver?.({ kind: "apiCall", name: "target", spec: { urlPath: path } });
  if (answer instanceof UnresolvedContext) {
    // The named target does not exist: nothing to mutate (Kyverno skips it too).
    if (get && /\b404\b|not found/i.test(answer.reason)) return { ok: false, status: "skip", target: shown, message: `target ${shown} does not exist` };
    return { ok: false, status: "error", target: shown, message: `${field}: ${answer.reason}` };
  }
  if (answer === undefined || answer === null || !isObject(answer)) {
    return { ok: false, status: "error", target: shown, message: resolver === undefined ? `${field}: no cluster to read the target from (configure admission.cluster)` : `${field}: GET ${path} is not answered yet (the target is read from the cluster)` };
  }
  if (get) {
    if (exactNamespace || selector === undefined || labelSelectorMatches(selector, labelsOf(answer))) return { ok: true, objects: [answer] };
    return { ok: true, objects: [] };
  }
  // LIST items carry no apiVersion and kind: the entry's.
  const items = (Array.isArray(answer["items"]) ? answer["items"].filter(isObject) : []).map((item): Json => Object.assign({ apiVersion, kind }, item));
  return { ok: true, objects: items.filter((o) => namesMatch(namespace, name, o) && (selector === undefined || labelSelectorMatches(selector, labelsOf(o)))) };
}
