/**
 * A local stand-in for the Kubernetes API server, for tests: LIST (with `limit`/`continue`
 * paging) and WATCH (newline-delimited JSON events from a resourceVersion, bookmarks, `ERROR 410`
 * once a version has been compacted away) of namespaces, configmaps, rolebindings and
 * clusterrolebindings, bearer-token checked,
 * answering with `Status` objects as the API server does. Other objects (`objects`: pods, jobs,
 * deployments, secrets) are served the way a cleanup sweep and the `kubernetes.delete` actuator
 * use the API: discovery (`/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`), paged LISTs
 * (cluster-wide and per namespace), GET, DELETE with `DeleteOptions` (uid precondition: 409
 * Conflict as the API server answers), POST (409 AlreadyExists) and JSON Patch (a failed `test`
 * is 422 Invalid, as the API server answers; each patch moves resourceVersion). Not used outside tests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type Json = Record<string, unknown>;
type Plural = "namespaces" | "configmaps" | "rolebindings" | "clusterrolebindings" | "policyexceptions";

/** Each resource: its list path, kind, apiVersion, and whether it is namespaced. */
const kinds: Record<Plural, { readonly path: string; readonly kind: string; readonly apiVersion: string; readonly namespaced: boolean }> = {
  namespaces: { path: "/api/v1/namespaces", kind: "Namespace", apiVersion: "v1", namespaced: false },
  configmaps: { path: "/api/v1/configmaps", kind: "ConfigMap", apiVersion: "v1", namespaced: true },
  rolebindings: { path: "/apis/rbac.authorization.k8s.io/v1/rolebindings", kind: "RoleBinding", apiVersion: "rbac.authorization.k8s.io/v1", namespaced: true },
  clusterrolebindings: { path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", kind: "ClusterRoleBinding", apiVersion: "rbac.authorization.k8s.io/v1", namespaced: false },
  // Kyverno's PolicyException CRD (kyverno.io/v2); the CEL one (policies.kyverno.io) is not installed here.
  policyexceptions: { path: "/apis/kyverno.io/v2/policyexceptions", kind: "PolicyException", apiVersion: "kyverno.io/v2", namespaced: true },
};

/** The resources served from `objects`. */
const generic: readonly { readonly groupVersion: string; readonly resource: string; readonly kind: string; readonly namespaced: boolean }[] = [
  { groupVersion: "v1", resource: "pods", kind: "Pod", namespaced: true },
  { groupVersion: "v1", resource: "secrets", kind: "Secret", namespaced: true },
  { groupVersion: "apps/v1", resource: "deployments", kind: "Deployment", namespaced: true },
  { groupVersion: "batch/v1", resource: "jobs", kind: "Job", namespaced: true },
  { groupVersion: "networking.k8s.io/v1", resource: "networkpolicies", kind: "NetworkPolicy", namespaced: true },
];

interface WatchEvent { readonly rv: number; readonly plural: Plural; readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: Json }

export interface FakeKubernetesApi {
  readonly url: string;
  /** Every request: path with query, and its Authorization header. */
  readonly requests: { readonly path: string; readonly authorization: string | undefined }[];
  /** Creates or replaces an object (metadata.name, and metadata.namespace for configmaps); open watches get ADDED / MODIFIED. */
  put(plural: Plural, object: Json): void;
  /** Deletes an object; open watches get DELETED. */
  remove(plural: Plural, name: string, namespace?: string): void;
  /** Other objects (pods, jobs, ...) by `apiVersion kind namespace/name` (see `objects`). */
  readonly objects: Map<string, Json>;
  /** DELETE, POST and PATCH requests (PATCH: JSON Patch), in order, with their JSON bodies. */
  readonly writes: { readonly method: string; readonly path: string; readonly body: unknown }[];
  /** The `data` of a ConfigMap as the server holds it now (undefined when absent). */
  configMapData(namespace: string, name: string): unknown;
  /** Compacts history: open watches get `ERROR 410 Gone` and end, older resourceVersions are refused the same way. */
  compact(): void;
  /** Ends every open watch normally, as the API server does after `timeoutSeconds`. */
  endWatches(): void;
  /** Open watch connections. */
  watching(): number;
  close(): Promise<void>;
}

function keyOf(plural: Plural, object: Json): string {
  const metadata = (object["metadata"] ?? {}) as Json;
  return kinds[plural].namespaced ? `${String(metadata["namespace"] ?? "")}/${String(metadata["name"] ?? "")}` : String(metadata["name"] ?? "");
}

/** A label selector of equalities and existence terms (`a=b,c`) against an object's labels; an absent selector selects everything. */
function selects(selector: string | null, object: Json): boolean {
  if (selector === null || selector === "") return true;
  const labels = (((object["metadata"] ?? {}) as Json)["labels"] ?? {}) as Record<string, string>;
  return selector.split(",").every((term) => {
    if (!term.includes("=")) return Object.hasOwn(labels, term);
    const [key, value] = term.split("=");
    return labels[key as string] === value;
  });
}

/** RFC 6902 add / replace / remove / test on a copy (what the tests' PATCH requests use); throws on a failed test or a bad path. */
function jsonPatch(doc: Json, operations: readonly Json[]): Json {
  const root = JSON.parse(JSON.stringify(doc)) as Json;
  for (const op of operations) {
    const tokens = String(op["path"] ?? "").split("/").slice(1).map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = tokens.pop() as string;
    let parent: unknown = root;
    for (const token of tokens) parent = Array.isArray(parent) ? parent[Number(token)] : (parent as Json | undefined)?.[token];
    if (parent === null || typeof parent !== "object") throw new Error(`path ${String(op["path"])} does not exist`);
    const container = parent as Record<string, unknown> & unknown[];
    const current = Array.isArray(container) ? container[last === "-" ? container.length : Number(last)] : container[last];
    if (op["op"] === "test") {
      if (JSON.stringify(current) !== JSON.stringify(op["value"])) throw new Error(`test failed at ${String(op["path"])}`);
    } else if (op["op"] === "remove") {
      if (Array.isArray(container)) container.splice(Number(last), 1);
      else delete container[last];
    } else if (op["op"] === "add" && Array.isArray(container)) container.splice(last === "-" ? container.length : Number(last), 0, op["value"]);
    else if (op["op"] === "add" || op["op"] === "replace") {
      if (op["op"] === "replace" && current === undefined) throw new Error(`path ${String(op["path"])} does not exist`);
      container[last as never] = op["value"] as never;
    } else throw new Error(`op ${String(op["op"])} is not supported here`);
  }
  return root;
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code }));
}

export async function startFakeKubernetesApi(options: {
  readonly token?: string;
  readonly namespaces?: readonly Json[];
  readonly configMaps?: readonly Json[];
  readonly roleBindings?: readonly Json[];
  readonly clusterRoleBindings?: readonly Json[];
  /** kyverno.io/v2 PolicyExceptions (the CRD is served; the policies.kyverno.io one is not). */
  readonly policyExceptions?: readonly Json[];
  /** Other GETs (path with query → JSON body), e.g. a list Kyverno's apiCall reads. */
  readonly paths?: Readonly<Record<string, Json>>;
  /** Objects of the `generic` resources (pods, jobs, deployments, secrets, networkpolicies), served with discovery, LIST, GET, DELETE and POST; absent: those paths are 404 as before. */
  readonly objects?: readonly Json[];
} = {}): Promise<FakeKubernetesApi> {
  const objects = new Map<string, Json>();
  const writes: { method: string; path: string; body: unknown }[] = [];
  let uid = 0;
  const objectKey = (apiVersion: string, kind: string, namespace: string, name: string): string => `${apiVersion} ${kind} ${namespace}/${name}`;
  const addObject = (object: Json): void => {
    const meta = (object["metadata"] ?? {}) as Json;
    objects.set(objectKey(String(object["apiVersion"]), String(object["kind"]), String(meta["namespace"] ?? ""), String(meta["name"] ?? "")), { ...object, metadata: { uid: `uid-${++uid}`, resourceVersion: "1", ...meta } });
  };
  for (const object of options.objects ?? []) addObject(object);
  let rv = 100;
  let compactedBelow = 0;
  const stores: Record<Plural, Map<string, Json>> = { namespaces: new Map(), configmaps: new Map(), rolebindings: new Map(), clusterrolebindings: new Map(), policyexceptions: new Map() };
  const history: WatchEvent[] = [];
  const watches = new Set<{ plural: Plural; res: ServerResponse; selector: string | null }>();
  const requests: { path: string; authorization: string | undefined }[] = [];

  const stamp = (plural: Plural, object: Json): Json => {
    rv++;
    return { apiVersion: kinds[plural].apiVersion, kind: kinds[plural].kind, ...object, metadata: { ...((object["metadata"] ?? {}) as Json), resourceVersion: String(rv) } };
  };
  const emit = (event: WatchEvent): void => {
    history.push(event);
    for (const watch of watches) if (watch.plural === event.plural && selects(watch.selector, event.object)) watch.res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
  };
  const put = (plural: Plural, object: Json, quiet = false): void => {
    const stamped = stamp(plural, object);
    const key = keyOf(plural, stamped);
    const type = stores[plural].has(key) ? "MODIFIED" : "ADDED";
    stores[plural].set(key, stamped);
    if (!quiet) emit({ rv, plural, type, object: stamped });
  };
  for (const ns of options.namespaces ?? []) put("namespaces", ns, true);
  for (const cm of options.configMaps ?? []) put("configmaps", cm, true);
  for (const rb of options.roleBindings ?? []) put("rolebindings", rb, true);
  for (const crb of options.clusterRoleBindings ?? []) put("clusterrolebindings", crb, true);
  for (const exception of options.policyExceptions ?? []) put("policyexceptions", exception, true);

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push({ path: `${url.pathname}${url.search}`, authorization: req.headers.authorization });
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      status(res, 401, "Unauthorized", "Unauthorized");
      return;
    }
    if (options.objects !== undefined && serveGeneric(req.method ?? "GET", url, req, res)) return;
    const plural = (Object.keys(kinds) as Plural[]).find((p) => kinds[p].path === url.pathname);
    const namespaceGet = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && namespaceGet !== null) {
      const found = stores.namespaces.get(namespaceGet[1] as string);
      if (found === undefined) status(res, 404, "NotFound", `namespaces "${namespaceGet[1] as string}" not found`);
      else {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(found));
      }
      return;
    }
    const single = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && single !== null) {
      const found = stores.configmaps.get(`${single[1] as string}/${single[2] as string}`);
      if (found === undefined) status(res, 404, "NotFound", `configmaps "${single[2] as string}" not found`);
      else {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(found));
      }
      return;
    }
    const patchTarget = /^\/api\/v1\/(?:namespaces\/([^/]+)\/(configmaps)\/([^/]+)|(namespaces)\/([^/]+))$/.exec(url.pathname);
    if (req.method === "PATCH" && patchTarget !== null) {
      const store: Plural = patchTarget[2] !== undefined ? "configmaps" : "namespaces";
      const key = store === "configmaps" ? `${patchTarget[1] as string}/${patchTarget[3] as string}` : (patchTarget[5] as string);
      let text = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => { text += chunk; });
      req.on("end", () => {
        const body: unknown = text === "" ? undefined : JSON.parse(text);
        writes.push({ method: "PATCH", path: url.pathname, body });
        const found = stores[store].get(key);
        if (found === undefined) return status(res, 404, "NotFound", `${store} "${key}" not found`);
        if (req.headers["content-type"] !== "application/json-patch+json") return status(res, 415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
        let patched: Json;
        try {
          patched = jsonPatch(found, Array.isArray(body) ? (body as Json[]) : []);
        } catch (error) {
          return status(res, 422, "Invalid", `the server rejected our request due to an error in our request: ${error instanceof Error ? error.message : String(error)}`);
        }
        put(store, patched);
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(stores[store].get(key)));
      });
      return;
    }
    const other = options.paths?.[`${url.pathname}${url.search}`];
    if (req.method === "GET" && plural === undefined && other !== undefined) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(other));
      return;
    }
    if (req.method !== "GET" || plural === undefined) {
      status(res, 404, "NotFound", `the server could not find the requested resource (${req.method} ${url.pathname})`);
      return;
    }
    if (url.searchParams.get("watch") === "1" || url.searchParams.get("watch") === "true") {
      const from = Number(url.searchParams.get("resourceVersion") ?? "0");
      res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
      if (from < compactedBelow) {
        res.end(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", apiVersion: "v1", status: "Failure", message: `too old resource version: ${from} (${compactedBelow})`, reason: "Expired", code: 410 } })}\n`);
        return;
      }
      const selector = url.searchParams.get("labelSelector");
      for (const event of history) if (event.plural === plural && event.rv > from && selects(selector, event.object)) res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
      if (url.searchParams.get("allowWatchBookmarks") === "true") res.write(`${JSON.stringify({ type: "BOOKMARK", object: { kind: kinds[plural].kind, apiVersion: kinds[plural].apiVersion, metadata: { resourceVersion: String(rv) } } })}\n`);
      const watch = { plural, res, selector };
      watches.add(watch);
      res.on("close", () => watches.delete(watch));
      return;
    }
    const items = [...stores[plural].values()].filter((item) => selects(url.searchParams.get("labelSelector"), item));
    const limit = Number(url.searchParams.get("limit") ?? "0");
    const offset = Number(url.searchParams.get("continue") ?? "0");
    const page = limit > 0 ? items.slice(offset, offset + limit) : items.slice(offset);
    const next = limit > 0 && offset + limit < items.length ? String(offset + limit) : undefined;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ kind: `${kinds[plural].kind}List`, apiVersion: kinds[plural].apiVersion, metadata: { resourceVersion: String(rv), ...(next ? { continue: next } : {}) }, items: page }));
  });
  /** Discovery and the generic resources; false when the path is not theirs. */
  function serveGeneric(method: string, url: URL, req: IncomingMessage, res: ServerResponse): boolean {
    const json = (code: number, body: unknown): true => {
      res.writeHead(code, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
      return true;
    };
    if (method === "GET" && url.pathname === "/apis") {
      const groups = [...new Set(generic.filter((g) => g.groupVersion.includes("/")).map((g) => g.groupVersion))].map((gv) => ({ name: gv.split("/")[0], versions: [{ groupVersion: gv, version: gv.split("/")[1] }], preferredVersion: { groupVersion: gv, version: gv.split("/")[1] } }));
      return json(200, { kind: "APIGroupList", apiVersion: "v1", groups });
    }
    if (method === "GET" && url.pathname === "/api") return json(200, { kind: "APIVersions", versions: ["v1"] });
    const discovery = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))$/.exec(url.pathname);
    if (method === "GET" && discovery !== null) {
      const groupVersion = discovery[1] ?? discovery[2] ?? "";
      const resources = [...generic, ...(groupVersion === "v1" ? [{ groupVersion: "v1", resource: "namespaces", kind: "Namespace", namespaced: false }, { groupVersion: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true }] : [])]
        .filter((g) => g.groupVersion === groupVersion)
        .map((g) => ({ name: g.resource, singularName: g.kind.toLowerCase(), namespaced: g.namespaced, kind: g.kind, verbs: ["create", "delete", "get", "list", "patch", "watch"] }));
      if (resources.length === 0) return json(404, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404, message: "the server could not find the requested resource" });
      return json(200, { kind: "APIResourceList", apiVersion: "v1", groupVersion, resources });
    }
    const route = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (route === null) return false;
    const groupVersion = route[1] ?? route[2] ?? "";
    const resource = generic.find((g) => g.groupVersion === groupVersion && g.resource === route[4]);
    if (resource === undefined) return false;
    const namespace = route[3];
    const name = route[5] !== undefined ? decodeURIComponent(route[5]) : undefined;
    const fail = (code: number, reason: string, message: string): true => json(code, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });
    if (method === "GET" && name === undefined) {
      const items = [...objects.values()].filter((o) => o["apiVersion"] === groupVersion && o["kind"] === resource.kind && (namespace === undefined || ((o["metadata"] ?? {}) as Json)["namespace"] === namespace) && selects(url.searchParams.get("labelSelector"), o));
      const limit = Number(url.searchParams.get("limit") ?? "0");
      const offset = Number(url.searchParams.get("continue") ?? "0");
      const page = limit > 0 ? items.slice(offset, offset + limit) : items.slice(offset);
      const next = limit > 0 && offset + limit < items.length ? String(offset + limit) : undefined;
      // As the API server does, list items carry no apiVersion and kind.
      return json(200, { kind: `${resource.kind}List`, apiVersion: groupVersion, metadata: { resourceVersion: String(rv), ...(next ? { continue: next } : {}) }, items: page.map(({ apiVersion: _a, kind: _k, ...rest }) => rest) });
    }
    const key = objectKey(groupVersion, resource.kind, namespace ?? "", name ?? "");
    if (method === "GET") {
      const found = objects.get(key);
      return found === undefined ? fail(404, "NotFound", `${resource.resource} "${name ?? ""}" not found`) : json(200, found);
    }
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => { text += chunk; });
    req.on("end", () => {
      const body: unknown = text === "" ? undefined : JSON.parse(text);
      writes.push({ method, path: `${url.pathname}${url.search}`, body });
      if (method === "DELETE" && name !== undefined) {
        const found = objects.get(key);
        if (found === undefined) return fail(404, "NotFound", `${resource.resource} "${name}" not found`);
        const wanted = ((body as Json | undefined)?.["preconditions"] as Json | undefined)?.["uid"];
        const actual = ((found["metadata"] ?? {}) as Json)["uid"];
        if (wanted !== undefined && wanted !== actual) return fail(409, "Conflict", `Operation cannot be fulfilled on ${resource.resource} "${name}": Precondition failed: UID in precondition: ${String(wanted)}, UID in object meta: ${String(actual)}`);
        objects.delete(key);
        return json(200, found);
      }
      if (method === "POST" && name === undefined) {
        const created = (body ?? {}) as Json;
        const meta = (created["metadata"] ?? {}) as Json;
        const createdKey = objectKey(groupVersion, resource.kind, String(meta["namespace"] ?? namespace ?? ""), String(meta["name"] ?? ""));
        if (objects.has(createdKey)) return fail(409, "AlreadyExists", `${resource.resource} "${String(meta["name"] ?? "")}" already exists`);
        const stored = { ...created, apiVersion: groupVersion, kind: resource.kind, metadata: { ...meta, ...(namespace ? { namespace } : {}), uid: `uid-${++uid}`, resourceVersion: "1" } };
        objects.set(createdKey, stored);
        return json(201, stored);
      }
      if (method === "PATCH" && name !== undefined) {
        const found = objects.get(key);
        if (found === undefined) return fail(404, "NotFound", `${resource.resource} "${name}" not found`);
        if (req.headers["content-type"] !== "application/json-patch+json") return fail(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
        let patched: Json;
        try {
          patched = jsonPatch(found, Array.isArray(body) ? (body as Json[]) : []);
        } catch (error) {
          return fail(422, "Invalid", `the server rejected our request due to an error in our request: ${error instanceof Error ? error.message : String(error)}`);
        }
        const meta = (patched["metadata"] ?? {}) as Json;
        const stored = { ...patched, metadata: { ...meta, resourceVersion: String(Number(meta["resourceVersion"] ?? "1") + 1) } };
        objects.set(key, stored);
        return json(200, stored);
      }
      return fail(405, "MethodNotAllowed", `${method} is not supported on ${url.pathname}`);
    });
    return true;
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    objects,
    writes,
    configMapData: (namespace, name) => stores.configmaps.get(`${namespace}/${name}`)?.["data"],
    put: (plural, object) => put(plural, object),
    remove(plural, name, namespace) {
      const key = kinds[plural].namespaced ? `${namespace ?? ""}/${name}` : name;
      const existing = stores[plural].get(key);
      if (existing === undefined) return;
      stores[plural].delete(key);
      rv++;
      emit({ rv, plural, type: "DELETED", object: { ...existing, metadata: { ...((existing["metadata"] ?? {}) as Json), resourceVersion: String(rv) } } });
    },
    compact() {
      compactedBelow = rv;
      history.length = 0;
      for (const watch of watches) watch.res.end(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", apiVersion: "v1", status: "Failure", message: "too old resource version", reason: "Expired", code: 410 } })}\n`);
      watches.clear();
    },
    endWatches() {
      for (const watch of watches) watch.res.end();
      watches.clear();
    },
    watching: () => watches.size,
    async close() {
      for (const watch of watches) watch.res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
