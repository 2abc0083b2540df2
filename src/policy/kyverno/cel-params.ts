/**
 * `validate.cel.paramKind` / `paramRef` of Kyverno ClusterPolicy rules: the parameter resource a
 * rule's CEL reads as `params` (in `celPreconditions`, `variables`, `expressions` and
 * `messageExpression`), as a ValidatingAdmissionPolicy binding's paramRef selects it:
 *
 * - `paramRef.name` (+ `namespace`; for a namespaced kind without one, the request's namespace)
 *   names one object; `paramRef.selector` (a label selector) selects every matching object, and
 *   the rule is evaluated against each (it fails at the first that fails);
 * - `parameterNotFoundAction`: `Deny` (default) fails the rule when nothing is found, `Allow`
 *   passes it.
 *
 * Where the objects come from: `kyverno test` context resources (`clusterResources`), else the
 * cluster through the context resolver — a ConfigMap from the cluster cache (or a live GET), any
 * other kind with a live GET of its API path, fetched by the pipeline's lookup rounds.
 */
import { VigilError } from "../../core/errors.js";
import { labelSelectorMatches, resourceForKind, selectorQuery } from "../vap/match-constraints.js";
import { UnresolvedContext, type ExternalContextResolver } from "./context.js";
import { isClusterScopedKind } from "./kinds.js";
import { metadataOf, stringMap } from "./request.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export interface CelParamSpec {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly selector?: Json;
  readonly notFound: "Allow" | "Deny";
}

/** Reads `validate.cel` paramKind/paramRef; undefined without them. Throws VIGIL_POLICY_LOAD naming the field. */
export function celParamSpec(cel: Json, origin: string, field: string): CelParamSpec | undefined {
  const kind = cel["paramKind"];
  const ref = cel["paramRef"];
  if (kind === undefined && ref === undefined) return undefined;
  if (!isObject(kind) || typeof kind["apiVersion"] !== "string" || typeof kind["kind"] !== "string" || kind["kind"] === "") {
    throw new VigilError("VIGIL_POLICY_LOAD", `${origin}: ${field}.paramKind must name the parameter resource (apiVersion and kind, e.g. v1 ConfigMap).`, { field: `${field}.paramKind` });
  }
  if (!isObject(ref) || (typeof ref["name"] !== "string" && !isObject(ref["selector"]))) {
    throw new VigilError("VIGIL_POLICY_LOAD", `${origin}: ${field}.paramRef must name the parameter object (name, and namespace for a namespaced kind) or select objects (selector).`, { field: `${field}.paramRef` });
  }
  const action = ref["parameterNotFoundAction"];
  if (action !== undefined && action !== "Allow" && action !== "Deny") {
    throw new VigilError("VIGIL_POLICY_LOAD", `${origin}: ${field}.paramRef.parameterNotFoundAction must be Allow or Deny, got ${JSON.stringify(action)}.`, { field: `${field}.paramRef.parameterNotFoundAction` });
  }
  return {
    apiVersion: kind["apiVersion"],
    kind: kind["kind"],
    ...(typeof ref["name"] === "string" && ref["name"] !== "" ? { name: ref["name"] } : {}),
    ...(typeof ref["namespace"] === "string" && ref["namespace"] !== "" ? { namespace: ref["namespace"] } : {}),
    ...(isObject(ref["selector"]) ? { selector: ref["selector"] } : {}),
    notFound: action === "Allow" ? "Allow" : "Deny",
  };
}

/** The parameter objects found, none (`found: []`), or why they could not be read. */
export type CelParamsLookup = { readonly ok: true; readonly found: readonly Json[] } | { readonly ok: false; readonly error: string };

function describe(spec: CelParamSpec, namespace: string | undefined): string {
  const where = spec.name !== undefined ? `${namespace ? `${namespace}/` : ""}${spec.name}` : `selected by ${JSON.stringify(spec.selector)}${namespace ? ` in ${namespace}` : ""}`;
  return `${spec.kind} ${where}`;
}

/** The path of the object (or the list) in the Kubernetes API. */
function apiPath(spec: CelParamSpec, namespace: string | undefined): string {
  const base = spec.apiVersion.includes("/") ? `/apis/${spec.apiVersion}` : `/api/${spec.apiVersion}`;
  const scope = namespace !== undefined ? `/namespaces/${namespace}` : "";
  return `${base}${scope}/${resourceForKind(spec.kind)}${spec.name !== undefined ? `/${spec.name}` : ""}`;
}

function selects(spec: CelParamSpec, namespace: string | undefined, object: Json): boolean {
  if (object["kind"] !== spec.kind || (object["apiVersion"] !== undefined && object["apiVersion"] !== spec.apiVersion)) return false;
  const meta = metadataOf(object);
  if (namespace !== undefined && (meta["namespace"] ?? "default") !== namespace) return false;
  if (spec.name !== undefined) return meta["name"] === spec.name;
  return labelSelectorMatches(spec.selector, stringMap(meta["labels"]));
}

/** Finds the parameter objects of a rule for a request in `requestNamespace`. Never throws. */
export function resolveCelParams(spec: CelParamSpec, requestNamespace: string, sources: { readonly resolver?: ExternalContextResolver; readonly clusterResources?: readonly Json[] }): CelParamsLookup {
  const namespace = spec.namespace ?? (isClusterScopedKind(spec.kind) ? undefined : requestNamespace || "default");
  const what = describe(spec, namespace);
  if (sources.clusterResources !== undefined) return { ok: true, found: sources.clusterResources.filter((o) => selects(spec, namespace, o)) };
  const resolver = sources.resolver;
  if (resolver === undefined) return { ok: false, error: `params: no cluster to read ${what} from (configure admission.cluster)` };
  const answer = spec.kind === "ConfigMap" && spec.apiVersion === "v1" && spec.name !== undefined
    ? resolver({ kind: "configMap", name: "params", spec: { name: spec.name, namespace: namespace ?? "default" } })
    : resolver({ kind: "apiCall", name: "params", spec: { urlPath: `${apiPath(spec, namespace)}${spec.selector !== undefined ? `?labelSelector=${encodeURIComponent(selectorQuery(spec.selector))}` : ""}` } });
  if (answer instanceof UnresolvedContext) {
    // The API server answered that the object does not exist: parameterNotFoundAction decides.
    if (/\b404\b|not found/i.test(answer.reason)) return { ok: true, found: [] };
    return { ok: false, error: `params: ${what}: ${answer.reason}` };
  }
  if (answer === undefined || answer === null) return { ok: false, error: `params: ${what} is not available yet (it is read from the cluster)` };
  if (!isObject(answer)) return { ok: false, error: `params: ${what}: the API server answered something other than an object` };
  if (spec.name !== undefined) return { ok: true, found: [answer] };
  const items = Array.isArray(answer["items"]) ? answer["items"].filter(isObject) : [];
  return { ok: true, found: items.filter((o) => labelSelectorMatches(spec.selector, stringMap(metadataOf(o)["labels"]))) };
}

