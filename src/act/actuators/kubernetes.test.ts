import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Actuator } from "../../core/index.js";
import { createKubernetesActuators } from "./kubernetes.js";
import { startWireServer, testPlan, testRuntime } from "./test-server.js";
import type { WireRequest, WireServer } from "./test-server.js";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.vigil-service-account.sig";
// A Scale object as the API server returns it (kubernetes/api round-trip test data).
const SCALE_FIXTURE = JSON.parse(readFileSync(new URL("../../../test/fixtures/actuators/kubernetes/autoscaling.v1.Scale.json", import.meta.url), "utf8")) as Record<string, unknown>;

type Meta = { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion: string };
type KubeObject = { kind: string; apiVersion: string; metadata: Meta; spec?: { replicas?: number }; status?: Record<string, unknown> };

/** A Kubernetes `Status` failure body. */
function status(code: number, reason: string, message: string) {
  return { status: code, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code } };
}

/** RFC 7386 JSON merge patch: null removes a key, objects merge recursively. */
function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else if (typeof value === "object" && !Array.isArray(value)) result[key] = mergePatch((result[key] ?? {}) as Record<string, unknown>, value as Record<string, unknown>);
    else result[key] = value;
  }
  return result;
}

/** A small API server: deployments/statefulsets (+ scale), pods, namespaces; bearer auth; merge patch only. */
class FakeApiServer {
  objects = new Map<string, KubeObject>();
  version = 100;

  constructor(server: WireServer) {
    server.authenticate(
      (request) => (request.header("authorization") === `Bearer ${TOKEN}` ? undefined : `bad Authorization ${request.header("authorization") ?? "(none)"}`),
      () => status(401, "Unauthorized", "Unauthorized"),
    );
    const plural: Record<string, string> = { deployments: "Deployment", statefulsets: "StatefulSet", pods: "Pod" };
    const key = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ""}/${name}`;
    const notFound = (resource: string, name: string) => status(404, "NotFound", `${resource} "${name}" not found`);
    const checkPatch = (request: WireRequest) =>
      request.header("content-type") === "application/merge-patch+json"
        ? undefined
        : status(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
    const bump = (object: KubeObject) => {
      object.metadata.resourceVersion = String(++this.version);
    };
    const scaleOf = (object: KubeObject) => ({
      ...SCALE_FIXTURE,
      metadata: { name: object.metadata.name, namespace: object.metadata.namespace, uid: "7a2b9c1e-0000-4000-8000-000000000001", resourceVersion: object.metadata.resourceVersion, creationTimestamp: "2025-01-01T00:00:00Z" },
      spec: { replicas: object.spec?.replicas ?? 0 },
      status: { replicas: object.spec?.replicas ?? 0, selector: `app=${object.metadata.name}` },
    });

    for (const group of ["/apis/apps/v1", "/api/v1"]) {
      server.on("GET", `${group}/namespaces/:ns/:plural/:name`, (request) => {
        const kind = plural[request.params["plural"] ?? ""];
        const object = kind ? this.objects.get(key(kind, request.params["ns"], request.params["name"] ?? "")) : undefined;
        return object ? { status: 200, body: object } : notFound(`${request.params["plural"]}${group.includes("apps") ? ".apps" : ""}`, request.params["name"] ?? "");
      });
      server.on("PATCH", `${group}/namespaces/:ns/:plural/:name`, (request) => {
        const kind = plural[request.params["plural"] ?? ""];
        const object = kind ? this.objects.get(key(kind, request.params["ns"], request.params["name"] ?? "")) : undefined;
        if (!object) return notFound(request.params["plural"] ?? "", request.params["name"] ?? "");
        const problem = checkPatch(request);
        if (problem) return problem;
        const patched = mergePatch(object as unknown as Record<string, unknown>, request.json()) as unknown as KubeObject;
        Object.assign(object, patched);
        object.metadata = patched.metadata;
        bump(object);
        return { status: 200, body: object };
      });
    }
    server.on("GET", "/apis/apps/v1/namespaces/:ns/:plural/:name/scale", (request) => {
      const object = this.objects.get(key(plural[request.params["plural"] ?? ""] ?? "", request.params["ns"], request.params["name"] ?? ""));
      return object ? { status: 200, body: scaleOf(object) } : notFound(`${request.params["plural"]}.apps`, request.params["name"] ?? "");
    });
    server.on("PATCH", "/apis/apps/v1/namespaces/:ns/:plural/:name/scale", (request) => {
      const object = this.objects.get(key(plural[request.params["plural"] ?? ""] ?? "", request.params["ns"], request.params["name"] ?? ""));
      if (!object) return notFound(`${request.params["plural"]}.apps`, request.params["name"] ?? "");
      const problem = checkPatch(request);
      if (problem) return problem;
      const body = request.json<{ spec?: { replicas?: unknown } }>();
      if (typeof body.spec?.replicas !== "number") return status(422, "Invalid", "Scale.autoscaling \"x\" is invalid: spec.replicas: Required value");
      object.spec = { ...object.spec, replicas: body.spec.replicas };
      bump(object);
      return { status: 200, body: scaleOf(object) };
    });
    server.on("DELETE", "/api/v1/namespaces/:ns/pods/:name", (request) => {
      const id = key("Pod", request.params["ns"], request.params["name"] ?? "");
      const pod = this.objects.get(id);
      if (!pod) return notFound("pods", request.params["name"] ?? "");
      this.objects.delete(id);
      return { status: 200, body: { ...pod, metadata: { ...pod.metadata, deletionTimestamp: "2025-03-01T12:00:30Z", deletionGracePeriodSeconds: Number(request.query.get("gracePeriodSeconds") ?? 30) } } };
    });
    server.on("GET", "/api/v1/namespaces/:name", (request) => {
      const object = this.objects.get(key("Namespace", undefined, request.params["name"] ?? ""));
      return object ? { status: 200, body: object } : notFound("namespaces", request.params["name"] ?? "");
    });
    server.on("PATCH", "/api/v1/namespaces/:name", (request) => {
      const object = this.objects.get(key("Namespace", undefined, request.params["name"] ?? ""));
      if (!object) return notFound("namespaces", request.params["name"] ?? "");
      const problem = checkPatch(request);
      if (problem) return problem;
      object.metadata = mergePatch(object.metadata, request.json<{ metadata: Record<string, unknown> }>().metadata) as Meta;
      bump(object);
      return { status: 200, body: object };
    });
  }

  add(object: KubeObject): void {
    this.objects.set(`${object.kind}/${object.metadata.namespace ?? ""}/${object.metadata.name}`, object);
  }
}

describe("kubernetes actuators", () => {
  let server: WireServer;
  let api: FakeApiServer;
  let scale: Actuator;
  let label: Actuator;
  let annotate: Actuator;
  let deletePod: Actuator;
  beforeEach(async () => {
    server = await startWireServer();
    api = new FakeApiServer(server);
    api.add({ kind: "Deployment", apiVersion: "apps/v1", metadata: { name: "web", namespace: "shop", labels: { app: "web", tier: "frontend" }, annotations: { owner: "team-shop" }, resourceVersion: "10" }, spec: { replicas: 3 } });
    api.add({ kind: "StatefulSet", apiVersion: "apps/v1", metadata: { name: "db", namespace: "shop", resourceVersion: "11" }, spec: { replicas: 0 } });
    api.add({ kind: "Pod", apiVersion: "v1", metadata: { name: "web-7d4b9c-x2x9z", namespace: "shop", resourceVersion: "12" }, status: { phase: "Running" } });
    api.add({ kind: "Namespace", apiVersion: "v1", metadata: { name: "shop", labels: { "kubernetes.io/metadata.name": "shop" }, resourceVersion: "13" } });
    [scale, label, annotate, deletePod] = createKubernetesActuators({ server: server.url, token: TOKEN, skipTlsVerify: true }, testRuntime()) as [Actuator, Actuator, Actuator, Actuator];
  });
  afterEach(() => server.close());

  it("scales a deployment to zero with a merge patch of the scale subresource; undo restores the replicas", async () => {
    const plan = testPlan("kubernetes.scale-to-zero", { namespace: "shop", name: "web" });
    const applied = await scale.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.status).toBe("applied");
    expect(applied.output).toMatchObject({ previousReplicas: 3, replicas: 0, changed: true });
    expect(applied.undo).toEqual({ actuator: "kubernetes.scale-to-zero", params: { kind: "Deployment", name: "web", namespace: "shop", replicas: 3 } });
    const patch = server.mutatingRequests()[0];
    expect(patch?.method).toBe("PATCH");
    expect(patch?.path).toBe("/apis/apps/v1/namespaces/shop/deployments/web/scale");
    expect(patch?.header("content-type")).toBe("application/merge-patch+json");
    expect(patch?.json()).toEqual({ spec: { replicas: 0 } });
    expect(api.objects.get("Deployment/shop/web")?.spec?.replicas).toBe(0);

    const undone = await scale.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(api.objects.get("Deployment/shop/web")?.spec?.replicas).toBe(3);
    expect(server.mutatingRequests()[1]?.json()).toEqual({ spec: { replicas: 3 } });
  });

  it("a statefulset already at zero is left alone and its undo changes nothing", async () => {
    const plan = testPlan("kubernetes.scale-to-zero", { kind: "StatefulSet", namespace: "shop", name: "db" });
    const applied = await scale.apply(plan, { dryRun: false });
    expect(applied.output).toMatchObject({ previousReplicas: 0, changed: false });
    const undone = await scale.undo(plan, applied);
    expect(undone.output).toMatchObject({ changed: false });
    expect(server.mutatingRequests()).toHaveLength(0);
  });

  it("dry-run reads the scale and patches nothing", async () => {
    const result = await scale.apply(testPlan("kubernetes.scale-to-zero", { namespace: "shop", name: "web" }), { dryRun: true });
    expect(result).toMatchObject({ status: "dry-run", output: { currentReplicas: 3, wouldDo: "scale from 3 to 0 replicas" } });
    expect(server.mutatingRequests()).toHaveLength(0);
    expect(api.objects.get("Deployment/shop/web")?.spec?.replicas).toBe(3);
  });

  it("labels an object (set, overwrite, remove); undo restores the previous labels exactly", async () => {
    const plan = testPlan("kubernetes.label", { kind: "Deployment", namespace: "shop", name: "web", labels: { "vigil.dev/quarantine": "true", tier: "isolated", app: null } });
    const applied = await label.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.status).toBe("applied");
    const patch = server.mutatingRequests()[0];
    expect(patch?.header("content-type")).toBe("application/merge-patch+json");
    expect(patch?.json()).toEqual({ metadata: { labels: { "vigil.dev/quarantine": "true", tier: "isolated", app: null } } });
    expect(api.objects.get("Deployment/shop/web")?.metadata.labels).toEqual({ tier: "isolated", "vigil.dev/quarantine": "true" });
    expect(applied.undo?.params).toMatchObject({ previous: { "vigil.dev/quarantine": null, tier: "frontend", app: "web" } });

    const undone = await label.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(api.objects.get("Deployment/shop/web")?.metadata.labels).toEqual({ app: "web", tier: "frontend" });
  });

  it("annotates a cluster-scoped Namespace without a namespace param, and undo removes the annotation", async () => {
    const plan = testPlan("kubernetes.annotate", { kind: "Namespace", name: "shop", annotations: { "vigil.dev/frozen-by": "dec-0001" } });
    const applied = await annotate.apply(plan, { dryRun: false });
    expect(applied.status).toBe("applied");
    expect(server.mutatingRequests()[0]?.path).toBe("/api/v1/namespaces/shop");
    expect(api.objects.get("Namespace//shop")?.metadata.annotations).toEqual({ "vigil.dev/frozen-by": "dec-0001" });
    await annotate.undo(plan, applied);
    expect(api.objects.get("Namespace//shop")?.metadata.annotations ?? {}).toEqual({});
  });

  it("a label that already has the wanted value sends no patch", async () => {
    const result = await label.apply(testPlan("kubernetes.label", { kind: "Deployment", namespace: "shop", name: "web", labels: { app: "web" } }), { dryRun: false });
    expect(result.output).toMatchObject({ changed: {} });
    expect(server.mutatingRequests()).toHaveLength(0);
  });

  it("label dry-run lists the changes and patches nothing", async () => {
    const result = await label.apply(testPlan("kubernetes.label", { kind: "Deployment", namespace: "shop", name: "web", labels: { tier: "isolated" } }), { dryRun: true });
    expect(result.output).toMatchObject({ wouldSet: { tier: "isolated" }, currentValues: { tier: "frontend" } });
    expect(server.mutatingRequests()).toHaveLength(0);
  });

  it("deletes a pod (grace period as query param); undo reports it is not reversible", async () => {
    const plan = testPlan("kubernetes.delete-pod", { namespace: "shop", name: "web-7d4b9c-x2x9z", gracePeriodSeconds: 0 });
    const applied = await deletePod.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.status).toBe("applied");
    expect(server.mutatingRequests()[0]?.method).toBe("DELETE");
    expect(server.mutatingRequests()[0]?.query.get("gracePeriodSeconds")).toBe("0");
    expect(api.objects.has("Pod/shop/web-7d4b9c-x2x9z")).toBe(false);
    expect(applied.undo).toBeUndefined();
    const undone = await deletePod.undo(plan, applied);
    expect(undone).toMatchObject({ status: "skipped", output: { reversible: false } });
  });

  it("delete-pod dry-run reads the pod phase only", async () => {
    const result = await deletePod.apply(testPlan("kubernetes.delete-pod", { namespace: "shop", name: "web-7d4b9c-x2x9z" }), { dryRun: true });
    expect(result.output).toMatchObject({ phase: "Running" });
    expect(server.mutatingRequests()).toHaveLength(0);
  });

  it("names the API server's Status reason and message: NotFound, Unauthorized", async () => {
    const missing = await scale.apply(testPlan("kubernetes.scale-to-zero", { namespace: "shop", name: "api" }), { dryRun: false });
    expect(missing.status).toBe("failed");
    expect(missing.error).toBe('kubernetes.scale-to-zero apply failed: Kubernetes API GET /apis/apps/v1/namespaces/shop/deployments/api/scale answered HTTP 404 NotFound: deployments.apps "api" not found');
    expect(missing.output).toEqual({ status: 404, apiCode: "NotFound" });

    const [wrongToken] = createKubernetesActuators({ server: server.url, token: "expired", skipTlsVerify: true }, testRuntime());
    const denied = await wrongToken?.apply(testPlan("kubernetes.scale-to-zero", { namespace: "shop", name: "web" }), { dryRun: false });
    expect(denied?.status).toBe("failed");
    expect(denied?.error).toMatch(/answered HTTP 401 Unauthorized/);
    expect(server.problems).toEqual(["GET /apis/apps/v1/namespaces/shop/deployments/web/scale: bad Authorization Bearer expired"]);
  });

  it("an unreachable API server is a failed result", async () => {
    const [orphan] = createKubernetesActuators({ server: "http://127.0.0.1:1", token: TOKEN, timeoutMs: 2000, skipTlsVerify: true }, testRuntime());
    const result = await orphan?.apply(testPlan("kubernetes.scale-to-zero", { namespace: "shop", name: "web" }), { dryRun: false });
    expect(result?.status).toBe("failed");
    expect(result?.error).toMatch(/got no answer/);
  });

  it("validates namespace scope and names", () => {
    expect(() => label.validate({ kind: "Deployment", name: "web", labels: { a: "b" } })).toThrowError(/params\.namespace is required for kind Deployment/);
    expect(() => label.validate({ kind: "Node", namespace: "x", name: "n1", labels: { a: "b" } })).toThrowError(/must be absent/);
    expect(() => label.validate({ kind: "Secret", namespace: "x", name: "s", labels: { a: "b" } })).toThrowError(/params\.kind must be one of/);
    expect(() => scale.validate({ namespace: "Shop", name: "web" })).toThrowError(/params\.namespace "Shop" does not match/);
    expect(() => label.validate({ kind: "Pod", namespace: "x", name: "p", labels: { a: 1 } })).toThrowError(/params\.labels\.a must be a string, or null/);
  });
});
