/**
 * A cache of a Kubernetes cluster's Namespaces, ConfigMaps, RoleBindings and ClusterRoleBindings, kept current the way Kyverno's
 * informers keep theirs: LIST (paged), then WATCH from the list's resourceVersion (bookmarks on),
 * applying ADDED / MODIFIED / DELETED; a watch that ends is resumed from the last
 * resourceVersion, a `410 Gone` (resourceVersion too old) lists again, a failure retries with
 * backoff. Lookups are synchronous map reads, so admission evaluation never waits on the API
 * server; until the first list completes a lookup answers `undefined` (the policy then sees no
 * namespace labels / no ConfigMap, as Kyverno does for an object its cache lacks).
 *
 * Wire protocol: the Kubernetes REST API over HTTPS with a bearer token (service-account token,
 * optional CA bundle), or plain HTTP for `kubectl proxy` on 127.0.0.1.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { VigilError } from "../../core/errors.js";
import type { ClusterView } from "../../core/context.js";

export interface KubernetesClusterSettings {
  /** API server URL: `https://...` (with `token`), or `http://127.0.0.1:8001` for `kubectl proxy`. */
  readonly server: string;
  /** Bearer token (a service account's). Needs list and watch on namespaces and configmaps. */
  readonly token?: string | undefined;
  /** Base64 PEM CA bundle (kubeconfig's certificate-authority-data). */
  readonly caData?: string | undefined;
  /** Skip TLS verification (test clusters only). */
  readonly skipTlsVerify?: boolean;
  /** Timeout of one LIST page, ms (default 10,000). */
  readonly timeoutMs?: number;
  /** Watch request `timeoutSeconds` (default 300): the server ends the watch, the cache resumes it. */
  readonly watchSeconds?: number;
  /** Timeout of one live GET for a Kyverno `apiCall` entry (default 1,000 ms). */
  readonly apiCallTimeoutMs?: number;
  /**
   * A label selector for the ConfigMaps kept in memory (e.g. Kyverno's
   * `cache.kyverno.io/enabled=true`); others are read with a live GET when a policy asks.
   * Default: every ConfigMap.
   */
  readonly configMapSelector?: string | undefined;
  /** List and watch Kyverno PolicyExceptions (kyverno.io and policies.kyverno.io) and apply them with the policies' own. Default true. */
  readonly policyExceptions?: boolean;
  /** Only PolicyExceptions in this namespace apply (Kyverno's --exceptionNamespace). Default: every namespace. */
  readonly exceptionNamespace?: string | undefined;
}

export interface ClusterCacheStats {
  readonly namespaces: number;
  readonly configMaps: number;
  readonly roleBindings: number;
  readonly clusterRoleBindings: number;
  /** Completed LISTs (the first ones, then one per 410 Gone or failure). */
  readonly lists: number;
  /** Watch events applied. */
  readonly events: number;
  readonly synced: boolean;
  readonly lastError?: string;
}

export interface KubernetesClusterCache extends ClusterView {
  /** Resolves once every resource was listed (never rejects; see stats().lastError). */
  synced(): Promise<void>;
  stats(): ClusterCacheStats;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function metadataOf(object: Json): Json {
  return isObject(object["metadata"]) ? object["metadata"] : {};
}

/** Checks the settings; throws VIGIL_BAD_CONFIG naming the field. */
export function checkClusterSettings(settings: KubernetesClusterSettings, field = "admission.cluster"): URL {
  let url: URL;
  try {
    url = new URL(settings.server);
  } catch {
    throw new VigilError("VIGIL_BAD_CONFIG", `${field}.server must be the API server URL (https://host:6443, or http://127.0.0.1:8001 for kubectl proxy), got ${JSON.stringify(settings.server)}`, { field: `${field}.server` });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new VigilError("VIGIL_BAD_CONFIG", `${field}.server must use https:// (or http:// for kubectl proxy)`, { field: `${field}.server` });
  if (url.protocol === "http:" && settings.token !== undefined && !["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
    throw new VigilError("VIGIL_BAD_CONFIG", `${field}.server: a token would travel in clear text over http:// to ${url.hostname}; use https://`, { field: `${field}.server` });
  }
  return url;
}

class HttpStatusError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

interface Resource {
  readonly what: string;
  readonly path: string;
  /**
   * A custom resource that may not be installed (Kyverno's PolicyExceptions): a 404 tries the next
   * of `alternatives` (other served versions), then counts as "none" (synced, empty) and is
   * retried quietly every minute.
   */
  readonly alternatives?: readonly string[];
  readonly key: (object: Json) => string;
  /** `labelSelector` of its LIST and WATCH. */
  readonly selector?: string;
}

const nameKey = (o: Json): string => String(metadataOf(o)["name"] ?? "");
const bindingKinds: ReadonlySet<string> = new Set(["rolebindings", "clusterrolebindings"]);
const namespacedKey = (o: Json): string => `${String(metadataOf(o)["namespace"] ?? "")}/${String(metadataOf(o)["name"] ?? "")}`;

const baseResources: readonly Resource[] = [
  { what: "namespaces", path: "/api/v1/namespaces", key: nameKey },
  { what: "configmaps", path: "/api/v1/configmaps", key: namespacedKey },
  { what: "rolebindings", path: "/apis/rbac.authorization.k8s.io/v1/rolebindings", key: namespacedKey },
  { what: "clusterrolebindings", path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", key: nameKey },
];

/** Kyverno PolicyExceptions kept in the cluster: kyverno.io (v2, else v2beta1) and the CEL ones of policies.kyverno.io (v1, v1beta1, v1alpha1). */
const exceptionResources: readonly Resource[] = [
  { what: "policyexceptions", path: "/apis/kyverno.io/v2/policyexceptions", alternatives: ["/apis/kyverno.io/v2beta1/policyexceptions"], key: namespacedKey },
  { what: "celpolicyexceptions", path: "/apis/policies.kyverno.io/v1/policyexceptions", alternatives: ["/apis/policies.kyverno.io/v1beta1/policyexceptions", "/apis/policies.kyverno.io/v1alpha1/policyexceptions"], key: namespacedKey },
];
const exceptionKinds: ReadonlySet<string> = new Set(exceptionResources.map((r) => r.what));

/** Kyverno's matchBindingSubjects: a User by name, a Group among the groups, a ServiceAccount by its user name. */
function bindingNames(binding: Json, user: { readonly username?: string; readonly groups?: readonly string[] }): boolean {
  const subjects = Array.isArray(binding["subjects"]) ? binding["subjects"] : [];
  const bindingNamespace = String(metadataOf(binding)["namespace"] ?? "");
  for (const subject of subjects) {
    if (!isObject(subject)) continue;
    const name = String(subject["name"] ?? "");
    switch (subject["kind"]) {
      case "User": if (user.username === name) return true; break;
      case "Group": if (user.groups?.includes(name)) return true; break;
      case "ServiceAccount": {
        const namespace = typeof subject["namespace"] === "string" && subject["namespace"] !== "" ? subject["namespace"] : bindingNamespace;
        if (user.username === `system:serviceaccount:${namespace}:${name}`) return true;
        break;
      }
    }
  }
  return false;
}

/** Starts listing and watching; `close()` stops. Never throws after the settings check. */
export function watchKubernetesCluster(settings: KubernetesClusterSettings, options: { readonly onProblem?: (message: string) => void } = {}): KubernetesClusterCache {
  const base = checkClusterSettings(settings);
  const timeoutMs = settings.timeoutMs ?? 10_000;
  const watchSeconds = settings.watchSeconds ?? 300;
  const resources: readonly Resource[] = settings.policyExceptions === false ? baseResources : [...baseResources, ...exceptionResources];
  const stores = new Map<string, Map<string, Json>>(resources.map((r) => [r.what, new Map()]));
  /** Changes whenever the PolicyExceptions held change (a list, a watch event). */
  let exceptionsVersion = 0;
  let exceptionsMemo: { version: number; documents: Json[] } | undefined;
  const controller = new AbortController();
  let lists = 0;
  let events = 0;
  let lastError: string | undefined;
  let closed = false;
  const syncedResources = new Set<string>();
  /** rolesOf answers by requester, cleared whenever a binding changes (a list or a watch event). */
  const roleMemo = new Map<string, { roles: string[]; clusterRoles: string[] }>();
  let markSynced: () => void = () => undefined;
  const syncedPromise = new Promise<void>((resolve) => { markSynced = resolve; });

  const headers: Record<string, string> = { Accept: "application/json", "User-Agent": "vigil" };
  if (settings.token !== undefined) headers["Authorization"] = `Bearer ${settings.token}`;
  const tls = base.protocol === "https:" ? { rejectUnauthorized: settings.skipTlsVerify !== true, ...(settings.caData ? { ca: Buffer.from(settings.caData, "base64") } : {}) } : {};

  /** A GET; resolves with the response once its status is 200, rejects with HttpStatusError otherwise. */
  function get(path: string, timeout: number): Promise<IncomingMessage> {
    const url = new URL(path, base);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: "GET", headers, signal: controller.signal, timeout, ...tls }, (res) => {
        if (res.statusCode === 200) {
          resolve(res);
          return;
        }
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => { if (body.length < 2000) body += chunk; });
        res.on("end", () => {
          let message = body.trim().slice(0, 300);
          try { message = String((JSON.parse(body) as { message?: unknown }).message ?? message); } catch { /* not a Status */ }
          reject(new HttpStatusError(res.statusCode ?? 0, `GET ${url.pathname} answered HTTP ${res.statusCode ?? 0}: ${message}`));
        });
      });
      req.on("timeout", () => req.destroy(new Error(`GET ${url.pathname} timed out after ${timeout} ms`)));
      req.on("error", reject);
      req.end();
    });
  }

  async function readJson(res: IncomingMessage): Promise<Json> {
    let text = "";
    res.setEncoding("utf8");
    for await (const chunk of res) text += chunk as string;
    const value: unknown = JSON.parse(text);
    if (!isObject(value)) throw new Error("the API server answered something other than a JSON object");
    return value;
  }

  async function list(resource: Resource): Promise<string> {
    const items = new Map<string, Json>();
    let next: string | undefined;
    let resourceVersion = "";
    do {
      const query = new URLSearchParams({ limit: "500", ...(next ? { continue: next } : {}), ...(resource.selector ? { labelSelector: resource.selector } : {}) });
      const page = await readJson(await get(`${resource.path}?${query}`, timeoutMs));
      for (const item of Array.isArray(page["items"]) ? page["items"] : []) if (isObject(item)) items.set(resource.key(item), item);
      const meta = metadataOf(page);
      resourceVersion = String(meta["resourceVersion"] ?? "");
      next = typeof meta["continue"] === "string" && meta["continue"] !== "" ? meta["continue"] : undefined;
    } while (next !== undefined);
    stores.set(resource.what, items);
    if (bindingKinds.has(resource.what)) roleMemo.clear();
    if (exceptionKinds.has(resource.what)) exceptionsVersion++;
    lists++;
    syncedResources.add(resource.what);
    if (syncedResources.size === resources.length) markSynced();
    return resourceVersion;
  }

  /** Watches from `resourceVersion`; returns the last one seen, or "" when the server said it is gone (list again). */
  async function watch(resource: Resource, resourceVersion: string): Promise<string> {
    const query = new URLSearchParams({ watch: "1", resourceVersion, allowWatchBookmarks: "true", timeoutSeconds: String(watchSeconds), ...(resource.selector ? { labelSelector: resource.selector } : {}) });
    // The server closes the watch after timeoutSeconds; the socket timeout only catches a dead connection.
    const res = await get(`${resource.path}?${query}`, (watchSeconds + 30) * 1000);
    const store = stores.get(resource.what) as Map<string, Json>;
    let rest = "";
    let current = resourceVersion;
    res.setEncoding("utf8");
    for await (const chunk of res) {
      const lines = (rest + (chunk as string)).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        if (line.trim() === "") continue;
        const event = JSON.parse(line) as { type?: unknown; object?: unknown };
        const object = isObject(event.object) ? event.object : {};
        if (event.type === "ERROR") {
          if (object["code"] === 410) return "";
          throw new Error(`watch ${resource.what}: ${String(object["message"] ?? "error event")}`);
        }
        const rv = metadataOf(object)["resourceVersion"];
        if (typeof rv === "string" && rv !== "") current = rv;
        if (event.type === "ADDED" || event.type === "MODIFIED") store.set(resource.key(object), object);
        else if (event.type === "DELETED") store.delete(resource.key(object));
        if (event.type !== "BOOKMARK" && bindingKinds.has(resource.what)) roleMemo.clear();
        if (event.type !== "BOOKMARK" && exceptionKinds.has(resource.what)) exceptionsVersion++;
        if (event.type !== "BOOKMARK") events++;
      }
    }
    return current;
  }

  /** Waits `ms`, or until close(). */
  const pause = (ms: number): Promise<void> => new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    controller.signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

  async function reflect(declared: Resource): Promise<void> {
    let resourceVersion = "";
    let failures = 0;
    const paths = [declared.path, ...(declared.alternatives ?? [])];
    let pathIndex = 0;
    while (!closed) {
      const resource = { ...declared, path: paths[pathIndex] as string };
      try {
        if (resourceVersion === "") resourceVersion = await list(resource);
        resourceVersion = await watch(resource, resourceVersion);
        failures = 0;
      } catch (error) {
        if (closed) return;
        if (declared.alternatives !== undefined && error instanceof HttpStatusError && error.status === 404) {
          // Not served at this version: the next one; none served means not installed — nothing to hold, checked again in a minute.
          resourceVersion = "";
          pathIndex = (pathIndex + 1) % paths.length;
          if (pathIndex === 0) {
            if ((stores.get(declared.what)?.size ?? 0) > 0) exceptionsVersion++;
            stores.set(declared.what, new Map());
            syncedResources.add(declared.what);
            if (syncedResources.size === resources.length) markSynced();
            await pause(60_000);
          }
          continue;
        }
        if (error instanceof HttpStatusError && error.status === 410) resourceVersion = "";
        lastError = `${resource.what}: ${error instanceof Error ? error.message : String(error)}`;
        options.onProblem?.(`kubernetes cluster cache: ${lastError}`);
        failures++;
        // 0.5 s, 1 s, 2 s ... at most 30 s between attempts.
        await pause(Math.min(30_000, 500 * 2 ** Math.min(failures - 1, 6)));
      }
    }
  }

  const watched = resources.map((r) => (r.what === "configmaps" && settings.configMapSelector ? { ...r, selector: settings.configMapSelector } : r));
  const running = watched.map((r) => reflect(r));
  const apiCallTimeoutMs = settings.apiCallTimeoutMs ?? 1000;

  return {
    namespace(name) {
      return stores.get("namespaces")?.get(name);
    },
    configMap(namespace, name) {
      return stores.get("configmaps")?.get(`${namespace}/${name}`);
    },
    rolesOf(user) {
      // Reviews come from a few requesters (controllers, CI): their roles are kept until a binding changes.
      const memoKey = `${user.username ?? ""}\u0000${(user.groups ?? []).join("\u0000")}`;
      const memo = roleMemo.get(memoKey);
      if (memo !== undefined) return memo;
      const roles: string[] = [];
      const clusterRoles: string[] = [];
      for (const binding of stores.get("rolebindings")?.values() ?? []) {
        const ref = isObject(binding["roleRef"]) ? binding["roleRef"] : {};
        if (!bindingNames(binding, user)) continue;
        // Kyverno's GetRoleRef: a RoleBinding to a Role gives `<namespace>:<role>`, to a ClusterRole the cluster role.
        if (ref["kind"] === "Role") roles.push(`${String(metadataOf(binding)["namespace"] ?? "")}:${String(ref["name"] ?? "")}`);
        else if (ref["kind"] === "ClusterRole") clusterRoles.push(String(ref["name"] ?? ""));
      }
      for (const binding of stores.get("clusterrolebindings")?.values() ?? []) {
        const ref = isObject(binding["roleRef"]) ? binding["roleRef"] : {};
        if (ref["kind"] === "ClusterRole" && bindingNames(binding, user)) clusterRoles.push(String(ref["name"] ?? ""));
      }
      const bound = { roles: [...new Set(roles)].sort(), clusterRoles: [...new Set(clusterRoles)].sort() };
      if (roleMemo.size >= 10_000) roleMemo.clear();
      roleMemo.set(memoKey, bound);
      return bound;
    },
    policyExceptions() {
      if (exceptionsMemo?.version !== exceptionsVersion) {
        const namespace = settings.exceptionNamespace;
        const documents = exceptionResources.flatMap((r) => [...(stores.get(r.what)?.values() ?? [])])
          .filter((doc) => namespace === undefined || namespace === "" || metadataOf(doc)["namespace"] === namespace);
        exceptionsMemo = { version: exceptionsVersion, documents };
      }
      return exceptionsMemo;
    },
    async fetch(path) {
      if (!/^\/apis?(?:\/|\?|$)/.test(path)) return { ok: false, error: `${path}: only Kubernetes API paths (/api/..., /apis/...) are fetched` };
      try {
        return { ok: true, body: await readJson(await get(path, apiCallTimeoutMs)) };
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    },
    synced: () => syncedPromise,
    stats: () => ({
      namespaces: stores.get("namespaces")?.size ?? 0,
      configMaps: stores.get("configmaps")?.size ?? 0,
      roleBindings: stores.get("rolebindings")?.size ?? 0,
      clusterRoleBindings: stores.get("clusterrolebindings")?.size ?? 0,
      lists,
      events,
      synced: syncedResources.size === resources.length,
      ...(lastError === undefined ? {} : { lastError }),
    }),
    async close() {
      closed = true;
      controller.abort();
      await Promise.allSettled(running);
    },
  };
}
