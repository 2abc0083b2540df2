/**
 * The JSON document Kyverno variables are evaluated against (`request`, `images`,
 * `serviceAccountName`, `element`, context entries) and the loading of rule `context` entries:
 * `variable` (value / jmesPath / default), and `configMap`, `apiCall`, `imageRegistry`,
 * `globalReference` fed from test values or a configured resolver.
 */
import type { ApiAnswer, ClusterView, ImageRegistry, ServiceCall, ServiceCaller } from "../../core/context.js";
import { searchJmes } from "./jmespath.js";
import { subjectObject, requestDocument, type AdmissionInput } from "./request.js";
import { substituteAll } from "./variables.js";

export type Doc = Record<string, unknown>;

/** What an external context entry asks for. `kind` is the context entry type. */
export interface ExternalContextRequest {
  readonly kind: "configMap" | "apiCall" | "imageRegistry" | "globalReference" | "imageSignature";
  readonly name: string;
  /** The entry's spec after variable substitution. */
  readonly spec: Readonly<Record<string, unknown>>;
}

/**
 * Resolves configMap / apiCall / imageRegistry / globalReference entries (a cluster client, a
 * cache, a fixture). Returns `undefined` when it cannot answer; the rule then errors. Must not throw.
 */
export type ExternalContextResolver = (request: ExternalContextRequest) => unknown;

/** What a resolver returns when it knows why it has no value (the rule's error then says so). */
export class UnresolvedContext {
  constructor(readonly reason: string) {}
}

const clusterResolvers = new WeakMap<object, ExternalContextResolver>();

/**
 * Kyverno's `apiCall` with `service`: method (GET, or POST with `data` as a JSON object of its
 * key/value pairs), `service.url`, `service.caBundle`, `service.headers` (key/value pairs).
 */
function serviceCallOf(spec: Readonly<Record<string, unknown>>): ServiceCall | undefined {
  const service = spec["service"];
  if (!isObject(service) || typeof service["url"] !== "string" || service["url"] === "") return undefined;
  const method = spec["method"] === "POST" ? "POST" : spec["method"] === undefined || spec["method"] === "GET" ? "GET" : undefined;
  if (method === undefined) return undefined;
  const data: Record<string, unknown> = {};
  for (const entry of Array.isArray(spec["data"]) ? spec["data"] : []) if (isObject(entry) && typeof entry["key"] === "string") data[entry["key"]] = entry["value"];
  const headers: Record<string, string> = {};
  for (const entry of Array.isArray(service["headers"]) ? service["headers"] : []) if (isObject(entry) && typeof entry["key"] === "string") headers[entry["key"]] = String(entry["value"] ?? "");
  return {
    method,
    url: service["url"],
    ...(method === "POST" ? { data } : {}),
    ...(typeof service["caBundle"] === "string" && service["caBundle"] !== "" ? { caBundle: service["caBundle"] } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
  };
}

/** What a cluster resolver reads: the view, and (per event) the GETs fetched and the ones asked for. */
export interface ClusterSource {
  readonly cluster?: ClusterView;
  readonly registry?: ImageRegistry;
  readonly services?: ServiceCaller;
  readonly fetched?: ReadonlyMap<string, ApiAnswer>;
  readonly unanswered?: Set<string>;
}

/** An apiCall GET of what the cache holds: `/api/v1/namespaces[/<name>]`, `/api/v1/namespaces/<ns>/configmaps/<name>`. */
function cachedGet(cluster: ClusterView, urlPath: string): unknown {
  if (urlPath.includes("?")) return undefined;
  const parts = urlPath.replace(/^\/+|\/+$/g, "").split("/");
  if (parts[0] !== "api" || parts[1] !== "v1" || parts[2] !== "namespaces") return undefined;
  if (parts.length === 4) return cluster.namespace(parts[3] as string);
  if (parts.length === 6 && parts[4] === "configmaps") return cluster.configMap(parts[3] as string, parts[5] as string);
  return undefined;
}

/**
 * A resolver answering from the cluster (ctx.kubernetes): `configMap` entries (the ConfigMap
 * object; namespace `default` when the entry names none, as Kyverno does), and `apiCall` GETs of
 * the Kubernetes API: from what the pipeline fetched for this event, else from the cache
 * (namespaces and configmaps); any other GET is recorded in `unanswered` for the pipeline to
 * fetch, and stays unanswered meanwhile (the rule errors). POST calls and `service` URLs are not
 * answered. `imageRegistry` entries are answered from what the pipeline fetched from the
 * registries for this event, else recorded (`image:<reference>`) for it to fetch; so are the
 * signature checks of verifyImages rules (`imageSignature`, keyed `verify:<the check as JSON>`).
 */
export function clusterContextResolver(source: ClusterSource): ExternalContextResolver {
  let resolver = clusterResolvers.get(source);
  if (resolver !== undefined) return resolver;
  const { cluster, registry, services, fetched, unanswered } = source;
  /** An answer fetched for `key`, an UnresolvedContext naming its failure, or undefined after recording `key` as asked for. */
  const answered = (key: string, what: string): unknown => {
    const answer = fetched?.get(key);
    if (answer !== undefined) return answer.ok ? answer.body : new UnresolvedContext(what === "" ? answer.error : `${what}: ${answer.error}`);
    unanswered?.add(key);
    return undefined;
  };
  resolver = (request) => {
    if (request.kind === "apiCall" && isObject(request.spec["service"])) {
      const call = serviceCallOf(request.spec);
      if (services === undefined || call === undefined) return undefined;
      return answered(`call:${JSON.stringify(call)}`, `${call.method} ${call.url}`);
    }
    if (request.kind === "imageSignature") {
      if (registry?.verify === undefined) return undefined;
      return answered(`verify:${JSON.stringify(request.spec)}`, "");
    }
    if (request.kind === "imageRegistry") {
      const reference = request.spec["reference"];
      if (registry === undefined || typeof reference !== "string" || reference === "") return undefined;
      return answered(`image:${reference}`, reference);
    }
    if (cluster === undefined) return undefined;
    if (request.kind === "configMap") {
      const name = request.spec["name"];
      const namespace = request.spec["namespace"];
      if (typeof name !== "string" || name === "") return undefined;
      const ns = typeof namespace === "string" && namespace !== "" ? namespace : "default";
      const cached = cluster.configMap(ns, name);
      if (cached !== undefined) return cached;
      // Not kept in memory (admission.cluster.configMapSelector, or not listed yet): a live GET, as Kyverno falls back to its client.
      if (cluster.fetch === undefined) return undefined;
      const path = `/api/v1/namespaces/${ns}/configmaps/${name}`;
      return answered(path, `GET ${path}`);
    }
    if (request.kind !== "apiCall") return undefined;
    const method = request.spec["method"];
    const urlPath = request.spec["urlPath"];
    if ((method !== undefined && method !== "GET") || typeof urlPath !== "string" || !/^\/apis?\//.test(urlPath)) return undefined;
    const answer = fetched?.get(urlPath);
    if (answer !== undefined) return answer.ok ? answer.body : new UnresolvedContext(`GET ${urlPath} failed: ${answer.error}`);
    const cached = cachedGet(cluster, urlPath);
    if (cached === undefined) unanswered?.add(urlPath);
    return cached;
  };
  clusterResolvers.set(source, resolver);
  return resolver;
}

function isObject(value: unknown): value is Doc {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Sets `a.b.c` in a document, creating objects on the way. Copy-on-write: objects on the path are
 * copied, so a document that shares sub-objects with another one never changes the other.
 */
export function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split(".");
  let node: Doc = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i] as string;
    const next = node[key];
    node[key] = isObject(next) ? { ...next } : {};
    node = node[key] as Doc;
  }
  node[parts[parts.length - 1] as string] = value;
}

/** Parses an image reference into Kyverno's ImageInfo fields. */
export function imageInfo(image: string): Record<string, string> {
  let rest = image;
  let digest = "";
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let registry = "docker.io";
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag = "";
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (tag === "" && digest === "") tag = "latest";
  const name = rest.slice(rest.lastIndexOf("/") + 1);
  const reference = `${registry}/${rest}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
  return { registry, path: rest, name, tag, digest, reference, referenceWithTag: `${registry}/${rest}:${tag}` };
}

function podSpecOf(object: Doc): Doc | undefined {
  const spec = object["spec"];
  if (!isObject(spec)) return undefined;
  if (object["kind"] === "Pod") return spec;
  if (object["kind"] === "CronJob") {
    const jt = spec["jobTemplate"];
    const inner = isObject(jt) && isObject(jt["spec"]) ? jt["spec"]["template"] : undefined;
    return isObject(inner) && isObject(inner["spec"]) ? inner["spec"] : undefined;
  }
  const template = spec["template"];
  return isObject(template) && isObject(template["spec"]) ? template["spec"] : undefined;
}

/** `images.containers.<name>`, `images.initContainers.<name>`, `images.ephemeralContainers.<name>`. */
export function imagesDocument(object: Doc): Doc | undefined {
  const podSpec = podSpecOf(object);
  if (!podSpec) return undefined;
  const out: Doc = {};
  for (const field of ["containers", "initContainers", "ephemeralContainers"]) {
    const list = podSpec[field];
    if (!Array.isArray(list)) continue;
    const byName: Doc = {};
    for (const c of list) {
      if (isObject(c) && typeof c["image"] === "string") byName[String(c["name"] ?? "")] = imageInfo(c["image"]);
    }
    if (Object.keys(byName).length > 0) out[field] = byName;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The base variable document for a request (before context entries and test values). */
export function baseDocument(input: AdmissionInput): Doc {
  const doc: Doc = { request: requestDocument(input) };
  const images = imagesDocument(subjectObject(input));
  if (images) doc["images"] = images;
  const username = input.userInfo.username ?? "";
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  doc["serviceAccountName"] = sa ? sa[2] : "";
  doc["serviceAccountNamespace"] = sa ? sa[1] : "";
  return doc;
}

/** The last input's base document (cheaper than a WeakMap entry per review, which every review would add and look up). */
let lastBase: { readonly input: AdmissionInput; readonly doc: Doc } | undefined;

/**
 * `baseDocument(input)`, built once per AdmissionInput and shared by every rule and policy that
 * evaluates it (they run one after the other, so the last one is kept). INVARIANT: nobody writes
 * into it — per-rule documents are shallow copies and `setPath` copies every object on the path
 * it writes.
 */
export function sharedBaseDocument(input: AdmissionInput): Doc {
  if (lastBase !== undefined && lastBase.input === input) return lastBase.doc;
  const doc = baseDocument(input);
  lastBase = { input, doc };
  return doc;
}

export type LoadResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

export interface ContextLoadOptions {
  /** Entry names whose values are mocked (test values): those entries are not loaded. */
  readonly mocked?: ReadonlySet<string>;
  readonly resolver?: ExternalContextResolver;
  readonly deleteRequest?: boolean;
}

/** Loads context entries in order into `doc`. Never throws. */
export function loadContextEntries(entries: readonly unknown[], doc: Doc, options: ContextLoadOptions): LoadResult {
  for (const entry of entries) {
    if (!isObject(entry)) continue;
    const name = String(entry["name"] ?? "");
    if (options.mocked?.has(name)) continue;
    const sub = { deleteRequest: options.deleteRequest ?? false };
    if (isObject(entry["variable"])) {
      const v = entry["variable"];
      let path = "";
      if (typeof v["jmesPath"] === "string" && v["jmesPath"] !== "") {
        const r = substituteAll(v["jmesPath"], doc, sub);
        if (!r.ok) return { ok: false, error: `failed to substitute variables in context entry ${name}: ${r.error}` };
        path = String(r.value);
      }
      let defaultValue: unknown = null;
      if (v["default"] !== undefined && v["default"] !== null) {
        const r = substituteAll(v["default"], doc, sub);
        if (!r.ok) return { ok: false, error: `failed to substitute variables in context entry ${name}: ${r.error}` };
        defaultValue = r.value;
      }
      let output: unknown = defaultValue;
      if (v["value"] !== undefined && v["value"] !== null) {
        const r = substituteAll(v["value"], doc, sub);
        if (!r.ok) return { ok: false, error: `failed to substitute variables in context entry ${name}: ${r.error}` };
        if (path !== "") {
          const q = searchJmes(path, r.value);
          if (q.ok) output = q.value;
          else if (defaultValue === null) return { ok: false, error: `failed to apply jmespath ${path} to variable: ${q.error}` };
        } else output = r.value;
      } else if (path !== "") {
        const q = searchJmes(options.deleteRequest ? path.replace(/request\.object/g, "request.oldObject") : path, doc);
        if (q.ok) {
          if (q.value !== null && q.value !== undefined) output = q.value;
        } else if (defaultValue === null) return { ok: false, error: `failed to apply jmespath ${path}: ${q.error}` };
      }
      if (output === null || output === undefined) return { ok: false, error: `failed to add context entry for variable ${name} since it evaluated to nil` };
      setPath(doc, name, output);
      continue;
    }
    const kind = (["configMap", "apiCall", "imageRegistry", "globalReference"] as const).find((k) => isObject(entry[k]));
    if (!kind) return { ok: false, error: `context entry ${name} has no supported source (variable, configMap, apiCall, imageRegistry, globalReference)` };
    const spec = substituteAll(entry[kind], doc, sub);
    if (!spec.ok) return { ok: false, error: `failed to substitute variables in context entry ${name}: ${spec.error}` };
    const value = options.resolver?.({ kind, name, spec: spec.value as Record<string, unknown> });
    if (value instanceof UnresolvedContext) return { ok: false, error: `context entry ${name}: ${kind} ${value.reason}` };
    if (value === undefined) return { ok: false, error: `context entry ${name}: no value for ${kind} (provide it in the test values or configure a context resolver)` };
    let output: unknown = value;
    const jmesPath = (spec.value as Doc)["jmesPath"];
    if ((kind === "apiCall" || kind === "imageRegistry" || kind === "globalReference") && typeof jmesPath === "string" && jmesPath !== "") {
      const q = searchJmes(jmesPath, value);
      if (!q.ok) return { ok: false, error: `context entry ${name}: ${q.error}` };
      output = q.value;
    }
    setPath(doc, name, output);
  }
  return { ok: true };
}
