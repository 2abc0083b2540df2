/**
 * Kyverno GlobalContextEntry (`kyverno.io/v2alpha1`, `v2`; `policies.kyverno.io` too): data shared
 * by every policy, referenced from a rule's context as `globalReference: { name, jmesPath }`.
 *
 * - `spec.kubernetesResource` (`group`, `version`, `resource` — the plural — and an optional
 *   `namespace`): the objects of that resource; the entry's value is their list (an array), as
 *   Kyverno's informer-backed cache holds it.
 * - `spec.apiCall` (`urlPath`, or `service` with `method` / `data`): the call's answer.
 *
 * Kyverno's controller keeps these in memory and refreshes them (`refreshInterval`); here they
 * are read through the same context resolver as `apiCall` entries — from the cluster cache when
 * it holds them, else with a live GET fetched by the lookup rounds — so a policy sees the data the
 * cluster has now. The entries of a load (its files) form one set that its policies read.
 */
import { VigilError } from "../../core/errors.js";
import { UnresolvedContext, type ExternalContextResolver } from "./context.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export interface GlobalContextEntry {
  readonly name: string;
  /** The API path read (kubernetesResource, apiCall urlPath), or the service call. */
  readonly request: { readonly urlPath: string } | { readonly service: Json; readonly method?: string; readonly data?: unknown };
  /** kubernetesResource: the value is the list's items. */
  readonly list: boolean;
}

export interface GlobalContextSet {
  add(entry: GlobalContextEntry): void;
  get(name: string): GlobalContextEntry | undefined;
  readonly size: number;
}

export function createGlobalContextSet(): GlobalContextSet {
  const entries = new Map<string, GlobalContextEntry>();
  return {
    add: (entry) => { entries.set(entry.name, entry); },
    get: (name) => entries.get(name),
    get size() {
      return entries.size;
    },
  };
}

export function isGlobalContextEntryDocument(doc: unknown): boolean {
  if (!isObject(doc) || doc["kind"] !== "GlobalContextEntry") return false;
  const apiVersion = String(doc["apiVersion"] ?? "");
  return apiVersion.startsWith("kyverno.io/") || apiVersion.startsWith("policies.kyverno.io/");
}

function bad(name: string, field: string, message: string, source: string | undefined): VigilError {
  return new VigilError("VIGIL_POLICY_LOAD", `GlobalContextEntry ${name}: ${field} ${message}`, { field, policy: name, ...(source ? { file: source } : {}) });
}

/** Parses a GlobalContextEntry; throws VIGIL_POLICY_LOAD naming the field. */
export function parseGlobalContextEntry(doc: Json, source?: string): GlobalContextEntry {
  const metadata = isObject(doc["metadata"]) ? doc["metadata"] : {};
  const name = typeof metadata["name"] === "string" ? metadata["name"] : "";
  if (name === "") throw bad("(unnamed)", "metadata.name", "is missing: give the name policies reference.", source);
  const spec = isObject(doc["spec"]) ? doc["spec"] : {};
  const resource = spec["kubernetesResource"];
  const call = spec["apiCall"];
  if ((resource === undefined) === (call === undefined)) throw bad(name, "spec", "must set exactly one of kubernetesResource and apiCall.", source);
  if (isObject(resource)) {
    const plural = resource["resource"];
    const version = resource["version"];
    if (typeof plural !== "string" || plural === "" || typeof version !== "string" || version === "") throw bad(name, "spec.kubernetesResource", "needs version and resource (the plural, e.g. deployments).", source);
    const group = typeof resource["group"] === "string" ? resource["group"] : "";
    const namespace = typeof resource["namespace"] === "string" && resource["namespace"] !== "" ? resource["namespace"] : undefined;
    const base = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
    return { name, list: true, request: { urlPath: `${base}${namespace ? `/namespaces/${namespace}` : ""}/${plural}` } };
  }
  if (!isObject(call)) throw bad(name, "spec.apiCall", "must be an object (urlPath, or service).", source);
  if (typeof call["urlPath"] === "string" && call["urlPath"] !== "") return { name, list: false, request: { urlPath: call["urlPath"] } };
  if (isObject(call["service"])) return { name, list: false, request: { service: call["service"], ...(typeof call["method"] === "string" ? { method: call["method"] } : {}), ...(call["data"] !== undefined ? { data: call["data"] } : {}) } };
  throw bad(name, "spec.apiCall", "needs urlPath (a Kubernetes API path) or service (url).", source);
}

/**
 * A resolver that also answers `globalReference` entries from the entries of `globals`, through
 * `base` (an apiCall of the entry's path or service). Without globals, `base` itself.
 */
export function withGlobalContext(base: ExternalContextResolver | undefined, globals: GlobalContextSet | undefined): ExternalContextResolver | undefined {
  if (globals === undefined || globals.size === 0) return base;
  return (request) => {
    if (request.kind !== "globalReference") return base?.(request);
    const name = String(request.spec["name"] ?? "");
    const entry = globals.get(name);
    if (entry === undefined) return new UnresolvedContext(`no GlobalContextEntry named ${JSON.stringify(name)} is loaded (load it with the policies)`);
    if (base === undefined) return undefined;
    const answer = base({ kind: "apiCall", name: request.name, spec: "urlPath" in entry.request ? { urlPath: entry.request.urlPath } : entry.request });
    if (!entry.list || !isObject(answer)) return answer;
    return Array.isArray(answer["items"]) ? answer["items"] : answer;
  };
}

/**
 * CEL `globalContext.Get`'s reader for one evaluation: the entry's data through `resolver`, or an
 * error saying why there is none (not loaded, not read from the cluster yet, the read failed).
 */
export function globalContextReader(resolver: ExternalContextResolver | undefined, globals: GlobalContextSet | undefined): ((name: string) => unknown) | undefined {
  if (globals === undefined || globals.size === 0) return undefined;
  const read = withGlobalContext(resolver, globals) as ExternalContextResolver;
  return (name) => {
    const value = read({ kind: "globalReference", name, spec: { name } });
    if (value instanceof UnresolvedContext) throw new Error(`globalContext.Get(${JSON.stringify(name)}): ${value.reason}`);
    if (value === undefined) throw new Error(`globalContext.Get(${JSON.stringify(name)}): the entry's data is not available (it is read from the cluster of admission.cluster)`);
    return value;
  };
}
