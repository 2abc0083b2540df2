import { afterEach, describe, expect, it } from "vitest";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "./api-test-server.js";
import { checkClusterSettings, watchKubernetesCluster, type KubernetesClusterCache } from "./cluster-cache.js";

const ns = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels } });
const cm = (namespace: string, name: string, data: Record<string, string>) => ({ metadata: { name, namespace }, data });

/** Polls until `check` holds (the watch is asynchronous); fails with `what` after 5 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let api: FakeKubernetesApi | undefined;
let cache: KubernetesClusterCache | undefined;
afterEach(async () => {
  await cache?.close();
  await api?.close();
  cache = undefined;
  api = undefined;
});

describe("Kubernetes cluster cache (list + watch)", () => {
  it("lists namespaces and configmaps (paged), then follows ADDED, MODIFIED and DELETED from the list's resourceVersion", async () => {
    api = await startFakeKubernetesApi({
      token: "sa-token",
      namespaces: [ns("prod", { tier: "prod" }), ns("dev")],
      configMaps: Array.from({ length: 1203 }, (_, i) => cm("kyverno", `cm-${i}`, { n: String(i) })),
    });
    cache = watchKubernetesCluster({ server: api.url, token: "sa-token", watchSeconds: 60, policyExceptions: false });
    await cache.synced();
    expect(cache.namespace("prod")).toMatchObject({ kind: "Namespace", metadata: { labels: { tier: "prod" } } });
    expect(cache.configMap("kyverno", "cm-1202")).toMatchObject({ data: { n: "1202" } });
    expect(cache.stats()).toMatchObject({ namespaces: 2, configMaps: 1203, synced: true, lists: 4 });
    // 1203 configmaps in pages of 500: three LIST requests, each with the bearer token
    expect(api.requests.filter((r) => r.path.startsWith("/api/v1/configmaps?limit=500")).length).toBe(3);
    expect(api.requests.every((r) => r.authorization === "Bearer sa-token")).toBe(true);
    await until(() => api!.watching() === 4, "the four watches");
    api.put("namespaces", ns("prod", { tier: "prod", team: "payments" }));
    api.put("namespaces", ns("staging", { tier: "staging" }));
    api.put("configmaps", cm("kyverno", "registries", { allowed: "ghcr.io" }));
    api.remove("namespaces", "dev");
    await until(() => cache!.namespace("dev") === undefined && cache!.configMap("kyverno", "registries") !== undefined, "the watch events");
    expect(cache.namespace("prod")).toMatchObject({ metadata: { labels: { team: "payments" } } });
    expect(cache.namespace("staging")).toBeDefined();
    expect(cache.stats().events).toBe(4);
    // a watch request resumes from the resourceVersion the list returned, with bookmarks
    expect(api.requests.some((r) => /^\/api\/v1\/namespaces\?watch=1&resourceVersion=\d+&allowWatchBookmarks=true/.test(r.path))).toBe(true);
  });

  it("keeps only the ConfigMaps configMapSelector selects (the LIST and WATCH carry it)", async () => {
    api = await startFakeKubernetesApi({ configMaps: [{ metadata: { name: "cached", namespace: "kyverno", labels: { "cache.kyverno.io/enabled": "true" } }, data: {} }, cm("kyverno", "other", {})] });
    cache = watchKubernetesCluster({ server: api.url, watchSeconds: 60, configMapSelector: "cache.kyverno.io/enabled=true", policyExceptions: false });
    await cache.synced();
    expect(cache.configMap("kyverno", "cached")).toBeDefined();
    expect(cache.configMap("kyverno", "other")).toBeUndefined();
    expect(api.requests.some((r) => r.path === "/api/v1/configmaps?limit=500&labelSelector=cache.kyverno.io%2Fenabled%3Dtrue")).toBe(true);
    // what it does not keep, a policy reads with a live GET
    expect(await cache.fetch?.("/api/v1/namespaces/kyverno/configmaps/other")).toMatchObject({ ok: true, body: { metadata: { name: "other" } } });
  });

  it("resumes a watch the server ended from the last resourceVersion, without listing again", async () => {
    api = await startFakeKubernetesApi({ namespaces: [ns("prod")] });
    cache = watchKubernetesCluster({ server: api.url, watchSeconds: 60, policyExceptions: false });
    await cache.synced();
    await until(() => api!.watching() === 4, "the four watches");
    api.put("namespaces", ns("before-end"));
    await until(() => cache!.namespace("before-end") !== undefined, "the first event");
    const watchRequests = api.requests.filter((r) => r.path.startsWith("/api/v1/namespaces?watch=1")).length;
    api.endWatches();
    await until(() => api!.watching() === 4, "the watches resumed");
    api.put("namespaces", ns("after-end"));
    await until(() => cache!.namespace("after-end") !== undefined, "an event after the resume");
    expect(cache.stats().lists).toBe(4);
    const resumed = api.requests.filter((r) => r.path.startsWith("/api/v1/namespaces?watch=1"));
    expect(resumed.length).toBe(watchRequests + 1);
    // from the resourceVersion of the last event seen, not from the list's
    expect(Number(new URLSearchParams(resumed.at(-1)!.path.split("?")[1]).get("resourceVersion"))).toBeGreaterThan(Number(new URLSearchParams(resumed[0]!.path.split("?")[1]).get("resourceVersion")));
  });

  it("lists again when the watch answers 410 Gone, and sees what changed meanwhile", async () => {
    api = await startFakeKubernetesApi({ namespaces: [ns("prod")] });
    cache = watchKubernetesCluster({ server: api.url, watchSeconds: 60, policyExceptions: false });
    await cache.synced();
    await until(() => api!.watching() === 4, "the four watches");
    api.compact();
    api.put("namespaces", ns("late", { added: "after-compaction" }));
    await until(() => cache!.namespace("late") !== undefined, "the relisted namespace");
    expect(cache.stats().lists).toBeGreaterThanOrEqual(4);
  });

  it("computes a requester's roles from RoleBindings and ClusterRoleBindings as Kyverno does (users, groups, service accounts)", async () => {
    api = await startFakeKubernetesApi({
      roleBindings: [
        { metadata: { name: "deployers", namespace: "apps" }, roleRef: { kind: "Role", name: "deployer", apiGroup: "rbac.authorization.k8s.io" }, subjects: [{ kind: "ServiceAccount", name: "ci" }, { kind: "User", name: "alice" }] },
        { metadata: { name: "viewers", namespace: "apps" }, roleRef: { kind: "ClusterRole", name: "view", apiGroup: "rbac.authorization.k8s.io" }, subjects: [{ kind: "Group", name: "devs" }] },
      ],
      clusterRoleBindings: [
        { metadata: { name: "admins" }, roleRef: { kind: "ClusterRole", name: "cluster-admin", apiGroup: "rbac.authorization.k8s.io" }, subjects: [{ kind: "Group", name: "platform" }] },
        { metadata: { name: "ci-admin" }, roleRef: { kind: "ClusterRole", name: "ci-runner", apiGroup: "rbac.authorization.k8s.io" }, subjects: [{ kind: "ServiceAccount", name: "ci", namespace: "apps" }] },
      ],
    });
    cache = watchKubernetesCluster({ server: api.url, watchSeconds: 60, policyExceptions: false });
    await cache.synced();
    expect(cache.rolesOf({ username: "system:serviceaccount:apps:ci", groups: ["system:serviceaccounts"] })).toEqual({ roles: ["apps:deployer"], clusterRoles: ["ci-runner"] });
    // a RoleBinding to a ClusterRole counts as that cluster role (Kyverno's GetRoleRef)
    expect(cache.rolesOf({ username: "bob", groups: ["platform", "devs"] })).toEqual({ roles: [], clusterRoles: ["cluster-admin", "view"] });
    expect(cache.rolesOf({ username: "alice" })).toEqual({ roles: ["apps:deployer"], clusterRoles: [] });
    expect(cache.rolesOf({ username: "system:serviceaccount:other:ci" })).toEqual({ roles: [], clusterRoles: [] });
    // answers are kept per requester until a binding changes
    await until(() => api!.watching() === 4, "the four watches");
    api.put("clusterrolebindings", { metadata: { name: "alice-admin" }, roleRef: { kind: "ClusterRole", name: "admin", apiGroup: "rbac.authorization.k8s.io" }, subjects: [{ kind: "User", name: "alice" }] });
    await until(() => cache!.rolesOf({ username: "alice" }).clusterRoles.includes("admin"), "alice's new binding");
    expect(cache.rolesOf({ username: "alice" })).toEqual({ roles: ["apps:deployer"], clusterRoles: ["admin"] });
    api.remove("rolebindings", "deployers", "apps");
    await until(() => cache!.rolesOf({ username: "alice" }).roles.length === 0, "the removed binding");
  });

  it("fetches a live GET for apiCall entries: the body, or an error naming the status; other paths are refused", async () => {
    api = await startFakeKubernetesApi({ token: "t", paths: { "/apis/networking.k8s.io/v1/ingresses": { kind: "IngressList", items: [{ spec: { rules: [{ host: "shop.example.com" }] } }] } } });
    cache = watchKubernetesCluster({ server: api.url, token: "t", watchSeconds: 60, policyExceptions: false });
    expect(await cache.fetch?.("/apis/networking.k8s.io/v1/ingresses")).toEqual({ ok: true, body: { kind: "IngressList", items: [{ spec: { rules: [{ host: "shop.example.com" }] } }] } });
    const missing = await cache.fetch?.("/api/v1/namespaces/prod/pods");
    expect(missing).toMatchObject({ ok: false });
    expect(missing?.ok === false && missing.error).toMatch(/GET \/api\/v1\/namespaces\/prod\/pods answered HTTP 404: the server could not find the requested resource/);
    expect(await cache.fetch?.("https://evil.example/x")).toMatchObject({ ok: false });
    expect(api.requests.filter((r) => r.path === "/apis/networking.k8s.io/v1/ingresses").map((r) => r.authorization)).toEqual(["Bearer t"]);
  });

  it("reports a refused token (HTTP 401 with the Status message) and keeps retrying; lookups answer undefined meanwhile", async () => {
    api = await startFakeKubernetesApi({ token: "right", namespaces: [ns("prod")] });
    const problems: string[] = [];
    cache = watchKubernetesCluster({ server: api.url, token: "wrong" }, { onProblem: (m) => problems.push(m) });
    await until(() => problems.length > 0, "a reported problem");
    expect(problems[0]).toMatch(/kubernetes cluster cache: (namespaces|configmaps|rolebindings|clusterrolebindings): GET \/ap\S+ answered HTTP 401: Unauthorized/);
    expect(cache.stats()).toMatchObject({ synced: false, namespaces: 0 });
    expect(cache.namespace("prod")).toBeUndefined();
  });

  it("refuses a bad server URL, and a token over plain http to another host, naming the field", () => {
    expect(() => checkClusterSettings({ server: "not a url" })).toThrow(/admission\.cluster\.server must be the API server URL/);
    expect(() => checkClusterSettings({ server: "ftp://k8s" })).toThrow(/https:\/\//);
    expect(() => checkClusterSettings({ server: "http://10.0.0.1:6443", token: "t" })).toThrow(/clear text/);
    expect(() => checkClusterSettings({ server: "http://127.0.0.1:8001" })).not.toThrow();
  });
  it("lists and watches the cluster's Kyverno PolicyExceptions (a CRD that is not installed counts as none); exceptionNamespace keeps one namespace's", async () => {
    const exception = (name: string, namespace: string) => ({ apiVersion: "kyverno.io/v2", kind: "PolicyException", metadata: { name, namespace }, spec: { exceptions: [{ policyName: "p", ruleNames: ["r"] }], match: { any: [{ resources: { kinds: ["Pod"] } }] } } });
    api = await startFakeKubernetesApi({ policyExceptions: [exception("a", "kyverno"), exception("b", "team")] });
    cache = watchKubernetesCluster({ server: api.url, watchSeconds: 60 });
    await cache.synced();
    const first = cache.policyExceptions!();
    expect(first.documents.map((d) => (d["metadata"] as { name: string }).name).sort()).toEqual(["a", "b"]);
    // The CEL PolicyException CRD is not served: every version was asked for, none held.
    for (const version of ["v1", "v1beta1", "v1alpha1"]) expect(api.requests.some((r) => r.path.startsWith(`/apis/policies.kyverno.io/${version}/policyexceptions?`))).toBe(true);
    expect(cache.stats().lastError).toBeUndefined();
    api.put("policyexceptions", exception("c", "kyverno"));
    await until(() => cache!.policyExceptions!().documents.length === 3, "the new exception");
    expect(cache.policyExceptions!().version).not.toBe(first.version);
    await cache.close();
    cache = watchKubernetesCluster({ server: api.url, watchSeconds: 60, exceptionNamespace: "kyverno" });
    await cache.synced();
    expect(cache.policyExceptions!().documents.map((d) => (d["metadata"] as { name: string }).name).sort()).toEqual(["a", "c"]);
  });
});
