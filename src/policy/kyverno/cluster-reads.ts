/**
 * Reads of Kubernetes objects through an evaluation's resolver (the cluster view, answered in the
 * agent's lookup rounds), shared by what reads the cluster while deciding: generate clone and
 * cloneList sources, generated objects (do they exist?), MutatingPolicy mutate-existing targets.
 * The resolver answers an `apiCall` with the JSON body, an UnresolvedContext with the reason
 * (404s say "not found"), or undefined when it has not read the path yet. Never throws.
 */
import { labelSelectorMatches, resourceForKind, selectorQuery } from "../vap/match-constraints.js";
import { UnresolvedContext, type ExternalContextResolver } from "./context.js";
import { metadataOf } from "./request.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The API path of a resource's objects (or one of them): `/api/v1/...` or `/apis/<group>/<version>/...`; "" namespace for cluster-wide. */
export function resourcePath(apiVersion: string, resource: string, namespace = "", name?: string): string {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion || "v1"}`;
  return `${base}${namespace !== "" ? `/namespaces/${namespace}` : ""}/${resource}${name !== undefined ? `/${name}` : ""}`;
}

/** The API path of one object of a kind (its resource named as Kubernetes names built-in kinds). */
export function objectPath(apiVersion: string, kind: string, namespace: string, name: string): string {
  return resourcePath(apiVersion, resourceForKind(kind), namespace, name);
}

/** A GET: the object (with `apiVersion` and `kind` when the answer lacks them), `absent` (404), or why it is not known. */
export function getObject(resolver: ExternalContextResolver | undefined, name: string, urlPath: string, identity: { readonly apiVersion: string; readonly kind: string }): { readonly object: Json } | { readonly absent: true } | { readonly problem: string } {
  if (resolver === undefined) return { problem: `no cluster to read ${urlPath} from (configure admission.cluster)` };
  const answer = resolver({ kind: "apiCall", name, spec: { urlPath } });
  if (answer instanceof UnresolvedContext) return /\b404\b|not found/i.test(answer.reason) ? { absent: true } : { problem: `GET ${urlPath}: ${answer.reason}` };
  if (!isObject(answer)) return { problem: `GET ${urlPath} is not answered yet (it is read from the cluster)` };
  return { object: Object.assign({ apiVersion: identity.apiVersion, kind: identity.kind }, answer) };
}

function labelsOf(object: Json): Record<string, string> {
  const labels = metadataOf(object)["labels"];
  return isObject(labels) ? Object.fromEntries(Object.entries(labels).filter(([, v]) => typeof v === "string")) as Record<string, string> : {};
}

/**
 * A LIST, `selector` (a label selector) sent as `labelSelector` and checked again on the items (an
 * answer from a cache may ignore the query): the items, each with the list's apiVersion and kind
 * (`identity` when the list does not say), or why there are none.
 */
export function listObjects(resolver: ExternalContextResolver | undefined, name: string, path: string, selector: unknown, identity?: { readonly apiVersion: string; readonly kind: string }): { readonly items: Json[] } | { readonly problem: string } {
  const query = isObject(selector) ? selectorQuery(selector) : "";
  const urlPath = `${path}${query === "" ? "" : `?labelSelector=${encodeURIComponent(query)}`}`;
  if (resolver === undefined) return { problem: `no cluster to list ${path} from (configure admission.cluster)` };
  const answer = resolver({ kind: "apiCall", name, spec: { urlPath } });
  if (answer instanceof UnresolvedContext) return { problem: `LIST ${urlPath}: ${answer.reason}` };
  if (!isObject(answer)) return { problem: `LIST ${urlPath} is not answered yet (it is read from the cluster)` };
  const apiVersion = typeof answer["apiVersion"] === "string" && answer["apiVersion"] !== "" ? answer["apiVersion"] : identity?.apiVersion ?? "";
  const kind = typeof answer["kind"] === "string" && answer["kind"] !== "" ? answer["kind"].replace(/List$/, "") : identity?.kind ?? "";
  // LIST items carry no apiVersion and kind: the list's.
  const items = (Array.isArray(answer["items"]) ? answer["items"].filter(isObject) : []).map((item): Json => Object.assign({ apiVersion, kind }, item));
  return { items: isObject(selector) ? items.filter((o) => labelSelectorMatches(selector, labelsOf(o))) : items };
}
