/**
 * A local stand-in for the Kubernetes API server, for tests: LIST (with `limit`/`continue`
 * paging) and WATCH (newline-delimited JSON events from a resourceVersion, bookmarks, `ERROR 410`
 * once a version has been compacted away) of namespaces, configmaps, rolebindings and
 * clusterrolebindings, bearer-token checked,
 * answering with `Status` objects as the API server does. Not used outside tests.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type Json = Record<string, unknown>;
type Plural = "namespaces" | "configmaps" | "rolebindings" | "clusterrolebindings";

/** Each resource: its list path, kind, apiVersion, and whether it is namespaced. */
const kinds: Record<Plural, { readonly path: string; readonly kind: string; readonly apiVersion: string; readonly namespaced: boolean }> = {
  namespaces: { path: "/api/v1/namespaces", kind: "Namespace", apiVersion: "v1", namespaced: false },
  configmaps: { path: "/api/v1/configmaps", kind: "ConfigMap", apiVersion: "v1", namespaced: true },
  rolebindings: { path: "/apis/rbac.authorization.k8s.io/v1/rolebindings", kind: "RoleBinding", apiVersion: "rbac.authorization.k8s.io/v1", namespaced: true },
  clusterrolebindings: { path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", kind: "ClusterRoleBinding", apiVersion: "rbac.authorization.k8s.io/v1", namespaced: false },
};

interface WatchEvent { readonly rv: number; readonly plural: Plural; readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: Json }

export interface FakeKubernetesApi {
  readonly url: string;
  /** Every request: path with query, and its Authorization header. */
  readonly requests: { readonly path: string; readonly authorization: string | undefined }[];
  /** Creates or replaces an object (metadata.name, and metadata.namespace for configmaps); open watches get ADDED / MODIFIED. */
  put(plural: Plural, object: Json): void;
  /** Deletes an object; open watches get DELETED. */
  remove(plural: Plural, name: string, namespace?: string): void;
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

/** An equality label selector (`a=b,c=d`) against an object's labels; an absent selector selects everything. */
function selects(selector: string | null, object: Json): boolean {
  if (selector === null || selector === "") return true;
  const labels = (((object["metadata"] ?? {}) as Json)["labels"] ?? {}) as Record<string, string>;
  return selector.split(",").every((term) => {
    const [key, value] = term.split("=");
    return labels[key as string] === value;
  });
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
  /** Other GETs (path with query → JSON body), e.g. a list Kyverno's apiCall reads. */
  readonly paths?: Readonly<Record<string, Json>>;
} = {}): Promise<FakeKubernetesApi> {
  let rv = 100;
  let compactedBelow = 0;
  const stores: Record<Plural, Map<string, Json>> = { namespaces: new Map(), configmaps: new Map(), rolebindings: new Map(), clusterrolebindings: new Map() };
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

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push({ path: `${url.pathname}${url.search}`, authorization: req.headers.authorization });
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      status(res, 401, "Unauthorized", "Unauthorized");
      return;
    }
    const plural = (Object.keys(kinds) as Plural[]).find((p) => kinds[p].path === url.pathname);
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
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
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
