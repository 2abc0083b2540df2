/**
 * The admission webhook with `admission.cluster` set: a real agent lists and watches the
 * namespaces and configmaps of a local stand-in for the Kubernetes API server (the REST wire
 * protocol: paged LIST, WATCH streams, bearer token), so Kyverno policies that read a ConfigMap
 * (the library's exclude-namespaces-dynamically) and match with a namespaceSelector, and a
 * ValidatingPolicy reading `namespaceObject`, decide as they would in the cluster; without the
 * cluster the ConfigMap policy cannot be evaluated and its failurePolicy decides. And with
 * `admission.registries`, imageRegistry entries read a local OCI registry (distribution API).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent, createManualClock, type Agent } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../../src/context/kubernetes/api-test-server.js";
import { startFakeRegistry, type FakeRegistry } from "../../src/context/kubernetes/registry-test-server.js";
import { admissionRoutes } from "../../src/server/admission.js";
import { buildServer, type VigilServer } from "../../src/server/app.js";
import { admissionReview, fixtures, tempDir, type KubeObject } from "./admission-support.js";

const excludeNamespaces = join(fixtures, "kyverno/other/exclude-namespaces-dynamically/exclude-namespaces-dynamically.yaml");
const uniqueIngressHost = join(fixtures, "kyverno/other/restrict-ingress-host/restrict-ingress-host.yaml");
const blockStaleImages = join(fixtures, "kyverno/other/block-stale-images/block-stale-images.yaml");
const resolveImageToDigest = join(fixtures, "kyverno/other/resolve-image-to-digest/resolve-image-to-digest.yaml");
const kubecostPolicy = join(fixtures, "kyverno/kubecost/kubecost-proactive-cost-control/kubecost-proactive-cost-control.yaml");

const localPolicies = `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: team-label-in-prod
spec:
  rules:
  - name: team
    match:
      any:
      - resources:
          kinds: [Pod]
          namespaceSelector:
            matchLabels:
              tier: prod
    validate:
      failureAction: Enforce
      message: Pods in production namespaces need a team label.
      pattern:
        metadata:
          labels:
            team: "?*"
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata:
  name: no-pods-in-frozen-namespaces
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  validations:
  - expression: "namespaceObject == null || namespaceObject.metadata.?labels.?frozen.orValue('') != 'true'"
    message: the namespace is frozen
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: owner-from-configmap
spec:
  rules:
  - name: owner
    match:
      any:
      - resources:
          kinds: [Pod]
          namespaceSelector:
            matchLabels:
              tier: prod
    context:
    - name: owners
      configMap:
        name: owners
        namespace: kyverno
    mutate:
      patchStrategicMerge:
        metadata:
          annotations:
            +(owner): "{{ owners.data.prod }}"
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: ingress-count-annotation
spec:
  rules:
  - name: count
    match:
      any:
      - resources:
          kinds: [Pod]
          selector:
            matchLabels:
              count-ingresses: "true"
    context:
    - name: ingresses
      apiCall:
        urlPath: "/apis/networking.k8s.io/v1/ingresses"
        jmesPath: "items | length(@)"
    mutate:
      patchStrategicMerge:
        metadata:
          annotations:
            ingress-count: "{{ to_string(ingresses) }}"
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: no-latest-tag
spec:
  rules:
  - name: latest
    match:
      any:
      - resources:
          kinds: [Pod]
    exclude:
      any:
      - clusterRoles: [ci-deployer]
    validate:
      failureAction: Enforce
      message: "The :latest tag is not allowed."
      pattern:
        spec:
          containers:
          - image: "!*:latest"
`;

const pod = (name: string, namespace: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels }, spec: { containers: [{ name: "app", image: "ghcr.io/acme/app:1.0" }] },
});

interface Running { agent: Agent; server: VigilServer; close(): Promise<void> }

async function start(cluster: Record<string, unknown> | undefined, options: { readonly policies?: readonly string[]; readonly admission?: Record<string, unknown> } = {}): Promise<Running> {
  const dir = tempDir();
  mkdirSync(join(dir, "policies"));
  writeFileSync(join(dir, "policies", "local.yaml"), localPolicies);
  const policies = options.policies ?? [excludeNamespaces, uniqueIngressHost, join(dir, "policies")];
  const config = { policies, store: { path: join(dir, "vigil.db") }, log: { level: "silent" }, admission: { ...(cluster ? { cluster } : {}), ...options.admission } };
  const agent = await createAgent(parseConfig(config), { clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: () => undefined });
  const server = buildServer({ agent, routes: [admissionRoutes] });
  await server.app.ready();
  return { agent, server, async close() { await server.app.close(); await agent.close(); } };
}

async function review(running: Running, object: KubeObject): Promise<{ allowed: boolean; warnings: string[]; message: string }> {
  const response = await running.server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview(object) });
  expect(response.statusCode).toBe(200);
  const body = response.json() as { response: { allowed: boolean; warnings?: string[]; status?: { message?: string } } };
  return { allowed: body.response.allowed, warnings: body.response.warnings ?? [], message: body.response.status?.message ?? "" };
}

describe("admission webhook with the cluster's namespaces and configmaps (admission.cluster)", () => {
  let api: FakeKubernetesApi;
  let running: Running;
  beforeAll(async () => {
    api = await startFakeKubernetesApi({
      token: "webhook-sa-token",
      namespaces: [
        { metadata: { name: "prod", labels: { tier: "prod" } } },
        { metadata: { name: "dev", labels: { tier: "dev" } } },
        { metadata: { name: "platform", labels: { tier: "infra" } } },
        { metadata: { name: "archive", labels: { frozen: "true" } } },
      ],
      configMaps: [
        { metadata: { name: "namespace-filters", namespace: "default" }, data: { exclude: '["kube-system", "platform"]' } },
        { metadata: { name: "owners", namespace: "kyverno" }, data: { prod: "team-payments" } },
      ],
      // what the library's unique-ingress-host policy asks the API server for (apiCall)
      paths: { "/apis/networking.k8s.io/v1/ingresses": { kind: "IngressList", apiVersion: "networking.k8s.io/v1", metadata: {}, items: [{ metadata: { name: "shop", namespace: "web", uid: "u-shop" }, spec: { rules: [{ host: "shop.example.com" }] } }] } },
      // the reviews' requester (admissionReview: system:serviceaccount:ci:deployer) is bound to ci-deployer
      clusterRoleBindings: [{ metadata: { name: "ci-deployer" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "ci-deployer" }, subjects: [{ kind: "ServiceAccount", name: "deployer", namespace: "ci" }] }],
    });
    running = await start({ server: api.url, token: "webhook-sa-token" });
  });
  afterAll(async () => {
    await running.close();
    await api.close();
  });

  it("a configMap context entry reads the cluster's ConfigMap: pods outside its excluded namespaces are warned about (Audit), inside are not", async () => {
    const apps = await review(running, pod("web", "dev"));
    expect(apps.allowed).toBe(true);
    expect(apps.warnings.some((w) => w.startsWith("policy exclude-namespaces-example.exclude-namespaces-dynamically-pods:") && w.includes("which is not in the excluded list of namespaces"))).toBe(true);
    const platform = await review(running, pod("agent", "platform"));
    expect(platform.warnings.filter((w) => w.includes("exclude-namespaces-example"))).toEqual([]);
  });

  it("a namespaceSelector matches on the namespace's labels in the cluster: denied in prod, allowed in dev", async () => {
    const prod = await review(running, pod("api", "prod", { foo: "x" }));
    expect(prod.allowed).toBe(false);
    expect(prod.message).toContain("Pods in production namespaces need a team label.");
    expect((await review(running, pod("api", "prod", { foo: "x", team: "payments" }))).allowed).toBe(true);
    expect((await review(running, pod("api", "dev", { foo: "x" }))).allowed).toBe(true);
  });

  it("a ValidatingPolicy sees the namespace as namespaceObject", async () => {
    const frozen = await review(running, pod("late", "archive", { foo: "x" }));
    expect(frozen.allowed).toBe(false);
    expect(frozen.message).toContain("the namespace is frozen");
  });

  it("roles and clusterRoles come from the cluster's bindings: an exclude on clusterRoles lets the bound service account through, not another user", async () => {
    const latest = { ...pod("tool", "dev", { foo: "x" }), spec: { containers: [{ name: "app", image: "busybox:latest" }] } };
    expect((await review(running, latest)).allowed).toBe(true);
    const asAlice = admissionReview(latest) as { request: Record<string, unknown> };
    asAlice.request["userInfo"] = { username: "alice", groups: ["system:authenticated"] };
    const response = await running.server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: asAlice });
    const body = response.json() as { response: { allowed: boolean; status?: { message?: string } } };
    expect(body.response.allowed).toBe(false);
    expect(body.response.status?.message).toContain("The :latest tag is not allowed.");
  });

  it("an apiCall the cache cannot answer is fetched from the API server and the policy evaluated again (the library's unique-ingress-host)", async () => {
    const ingress = (name: string, host: string): KubeObject => ({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name, namespace: "dev", uid: `u-${name}` }, spec: { rules: [{ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } }] } });
    const taken = await review(running, ingress("shop-copy", "shop.example.com"));
    expect(taken.allowed).toBe(true);
    expect(taken.warnings).toContain("policy unique-ingress-host.check-single-host-create: The Ingress host name must be unique.");
    const free = await review(running, ingress("blog", "blog.example.com"));
    expect(free.warnings.filter((w) => w.includes("unique-ingress-host"))).toEqual([]);
    expect(api.requests.filter((r) => r.path === "/apis/networking.k8s.io/v1/ingresses").length).toBe(2);
  });

  it("the mutating webhook too: a mutate rule selected by namespaceSelector takes its value from a ConfigMap", async () => {
    const mutate = async (object: KubeObject): Promise<unknown[]> => {
      const response = await running.server.app.inject({ method: "POST", url: "/v1/admission/mutate", payload: admissionReview(object) });
      expect(response.statusCode).toBe(200);
      const patch = (response.json() as { response: { patch?: string } }).response.patch;
      return patch === undefined ? [] : JSON.parse(Buffer.from(patch, "base64").toString("utf8")) as unknown[];
    };
    expect(await mutate(pod("api", "prod", { team: "a" }))).toEqual([{ op: "add", path: "/metadata/annotations", value: { owner: "team-payments" } }]);
    expect(await mutate(pod("api", "dev", { team: "a" }))).toEqual([]);
    // an apiCall in a mutate rule is fetched live too, and the chain run again with the answer
    expect(await mutate(pod("api", "dev", { team: "a", "count-ingresses": "true" }))).toEqual([{ op: "add", path: "/metadata/annotations", value: { "ingress-count": "1" } }]);
  });

  it("follows the cluster: a namespace labelled prod later is enforced, a ConfigMap change moves the exclusions", async () => {
    api.put("namespaces", { metadata: { name: "dev", labels: { tier: "prod" } } });
    api.put("configmaps", { metadata: { name: "namespace-filters", namespace: "default" }, data: { exclude: '["kube-system", "dev"]' } });
    for (let i = 0; i < 200 && (await review(running, pod("api", "dev", { foo: "x" }))).allowed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await review(running, pod("api", "dev", { foo: "x" }))).allowed).toBe(false);
    const devNow = await review(running, pod("web", "dev", { team: "a" }));
    expect(devNow.warnings.filter((w) => w.includes("exclude-namespaces-example"))).toEqual([]);
    expect(api.requests.every((r) => r.authorization === "Bearer webhook-sa-token")).toBe(true);
  });

  it("exposes the cache's state in /metrics", () => {
    const text = running.agent.metrics.render();
    expect(text).toMatch(/\nvigil_cluster_cache_synced 1\n/);
    expect(text).toMatch(/\nvigil_cluster_cache_namespaces 4\n/);
    expect(text).toMatch(/\nvigil_cluster_cache_configmaps 2\n/);
  });

  it("records the namespace-aware decision with its explanation", async () => {
    const decisions = await running.agent.storage.listDecisions({ limit: 100 });
    const denied = decisions.find((d) => d.verdict === "deny" && d.findings.some((f) => f.policy === "team-label-in-prod"));
    expect(denied?.explanation.summary).toContain("team-label-in-prod/team");
  });
});

describe("with admission.cluster.configMapSelector, a ConfigMap the cache does not keep is read with a live GET", () => {
  let api: FakeKubernetesApi;
  let running: Running;
  beforeAll(async () => {
    api = await startFakeKubernetesApi({
      namespaces: [{ metadata: { name: "dev", labels: { tier: "dev" } } }],
      configMaps: [{ metadata: { name: "namespace-filters", namespace: "default" }, data: { exclude: '["kube-system", "platform"]' } }],
    });
    running = await start({ server: api.url, configMapSelector: "cache.kyverno.io/enabled=true" });
  });
  afterAll(async () => {
    await running.close();
    await api.close();
  });

  it("the library's exclude-namespaces-dynamically still reads its (unlabelled) ConfigMap", async () => {
    const apps = await review(running, pod("web", "dev"));
    expect(apps.allowed).toBe(true);
    expect(apps.warnings.some((w) => w.startsWith("policy exclude-namespaces-example.exclude-namespaces-dynamically-pods:"))).toBe(true);
    expect(api.requests.some((r) => r.path === "/api/v1/namespaces/default/configmaps/namespace-filters")).toBe(true);
  });
});

describe("the same policies without admission.cluster", () => {
  let running: Running;
  beforeAll(async () => { running = await start(undefined); });
  afterAll(async () => { await running.close(); });

  it("cannot read the ConfigMap: the rule errors and its policy's failurePolicy (Fail) denies; the namespaceSelector matches nothing", async () => {
    const apps = await review(running, pod("web", "dev", { foo: "x" }));
    expect(apps.allowed).toBe(false);
    expect(apps.message).toContain("exclude-namespaces-example");
    expect(apps.message).toMatch(/namespacefilters|configMap/);
    // no namespace labels: the prod-only rule does not select the pod; the library policy still errors
    const prod = await review(running, pod("api", "prod", { foo: "x" }));
    expect(prod.message).not.toContain("team-label-in-prod");
    // nor an apiCall: unique-ingress-host cannot be evaluated, and its failurePolicy (Fail) denies
    const ingress = await review(running, { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "blog", namespace: "dev" }, spec: { rules: [{ host: "blog.example.com" }] } });
    expect(ingress.allowed).toBe(false);
    expect(ingress.message).toContain("unique-ingress-host");
  });
});

describe("imageRegistry context entries from the images' registries (admission.registries)", () => {
  let registry: FakeRegistry;
  let running: Running;
  const fresh = new Date(Date.now() - 86_400_000).toISOString();
  beforeAll(async () => {
    registry = await startFakeRegistry({ "team/old:1.0": { created: "2020-01-01T00:00:00Z" }, "team/new:1.0": { created: fresh, index: true }, "team/new:1.0-a": { created: fresh }, "team/new:1.0-b": { created: fresh } }, { token: "pull-token" });
    running = await start(undefined, { policies: [blockStaleImages, resolveImageToDigest], admission: { registries: { enabled: true, insecure: [registry.host] } } });
  });
  afterAll(async () => {
    await running.close();
    await registry.close();
  });

  it("the library's block-stale-images reads each container image's config from its registry: an image built in 2020 is warned about, one built yesterday is not", async () => {
    const withImage = (name: string, image: string): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "dev" }, spec: { containers: [{ name: "app", image }] } });
    const old = await review(running, withImage("old", `${registry.host}/team/old:1.0`));
    expect(old.allowed).toBe(true);
    expect(old.warnings).toContain("policy block-stale-images.block-stale-images: validation failure: Images built more than 6 months ago are prohibited.");
    const current = await review(running, withImage("new", `${registry.host}/team/new:1.0`));
    expect(current.warnings).toEqual([]);
    // three containers, three images (the foreach asks for all of them; one is stale)
    const three: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "three", namespace: "dev" }, spec: { containers: ["a", "b", "c"].map((tag, i) => ({ name: `c${i}`, image: `${registry.host}/team/${tag === "c" ? "old" : "new"}:${tag === "c" ? "1.0" : `1.0-${tag}`}` })) } };
    const threeAnswer = await review(running, three);
    expect(threeAnswer.allowed).toBe(true);
    expect(threeAnswer.warnings).toContain("policy block-stale-images.block-stale-images: validation failure: Images built more than 6 months ago are prohibited.");
    // a tag the registry does not have: the rule errors naming the registry's answer, and the policy's failurePolicy (Fail) denies
    const missing = await review(running, withImage("gone", `${registry.host}/team/gone:1.0`));
    expect(missing.allowed).toBe(false);
    expect(missing.message).toContain("MANIFEST_UNKNOWN");
    expect(registry.requests.some((r) => r.path === "/token?service=fake-registry&scope=repository%3Ateam%2Fold%3Apull")).toBe(true);
  });

  it("the mutating webhook too: the library's resolve-image-to-digest pins each container image to the digest its registry resolves the tag to", async () => {
    const image = `${registry.host}/team/new:1.0`;
    const response = await running.server.app.inject({ method: "POST", url: "/v1/admission/mutate", payload: admissionReview({ apiVersion: "v1", kind: "Pod", metadata: { name: "pinned", namespace: "dev" }, spec: { containers: [{ name: "app", image }] } }) });
    expect(response.statusCode).toBe(200);
    const patch = JSON.parse(Buffer.from((response.json() as { response: { patch: string } }).response.patch, "base64").toString("utf8")) as unknown[];
    expect(patch).toEqual([{ op: "replace", path: "/spec/containers/0/image", value: `${registry.host}/team/new@${registry.digestOf("team/new:1.0")}` }]);
  });
});

describe("apiCall.service entries call services outside the cluster API (admission.services): the library's Kubecost budget policy", () => {
  let kubecost: Server;
  let running: Running;
  const posted: unknown[] = [];
  beforeAll(async () => {
    // A stand-in for Kubecost's cost-analyzer API: budgets, and the cost prediction of a posted spec.
    kubecost = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => { body += chunk.toString("utf8"); });
      req.on("end", () => {
        res.writeHead(200, { "Content-Type": "application/json" });
        if (req.method === "GET" && req.url === "/model/budgets") {
          res.end(JSON.stringify({ code: 200, data: [{ name: "dev-budget", values: { namespace: ["dev"] }, spendLimit: 100, currentSpend: 90 }] }));
        } else if (req.method === "POST" && req.url === "/model/prediction/speccost?clusterID=cluster-one&defaultNamespace=default") {
          posted.push(JSON.parse(body) as unknown);
          res.end(JSON.stringify([{ costChange: { totalMonthlyRate: 25.5 } }]));
        } else {
          res.writeHead(404);
          res.end("{}");
        }
      });
    });
    await new Promise<void>((resolve) => kubecost.listen(0, "127.0.0.1", resolve));
    const address = `http://127.0.0.1:${(kubecost.address() as AddressInfo).port}`;
    // The library's policy, unchanged but for Kubecost's address (a Service name in a cluster).
    const dir = tempDir();
    const policy = join(dir, "kubecost-proactive-cost-control.yaml");
    writeFileSync(policy, readFileSync(kubecostPolicy, "utf8").replaceAll("http://kubecost-cost-analyzer.kubecost:9090", address));
    running = await start(undefined, { policies: [policy], admission: { services: { enabled: true, allow: [address] } } });
  });
  afterAll(async () => {
    await running.close();
    await new Promise<void>((resolve) => kubecost.close(() => resolve()));
  });

  it("asks for the namespace's budget and the Deployment's predicted cost: over the remaining budget is warned about (Audit), a namespace without a budget is not", async () => {
    const deployment = (namespace: string): KubeObject => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "api", namespace }, spec: { replicas: 3, selector: { matchLabels: { app: "api" } }, template: { metadata: { labels: { app: "api" } }, spec: { containers: [{ name: "api", image: "ghcr.io/acme/api:1.0" }] } } } });
    const over = await review(running, deployment("dev"));
    expect(over.allowed).toBe(true);
    expect(over.warnings).toContain("policy kubecost-proactive-cost-control.enforce-monthly-namespace-budget: This Deployment, which costs $25.5 to run for a month, will overrun the remaining budget of $10. Please seek approval or request a Policy Exception.");
    // the POST carried the Deployment's apiVersion, kind and spec, as the policy's data says
    expect(posted[0]).toEqual({ apiVersion: "apps/v1", kind: "Deployment", spec: deployment("dev")["spec"] });
    const noBudget = await review(running, deployment("prod"));
    expect(noBudget.warnings.filter((w) => w.includes("kubecost"))).toEqual([]);
  });
});

