import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isVigilError } from "../../core/index.js";
import type { Actuator } from "../../core/index.js";
import { createKubernetesActuators } from "./kubernetes.js";
import { startWireServer, testPlan, testRuntime } from "./test-server.js";
import type { WireRequest, WireServer } from "./test-server.js";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.vigil-service-account.sig";
// A Scale object as the API server returns it (kubernetes/api round-trip test data).
const SCALE_FIXTURE = JSON.parse(readFileSync(new URL("../../../test/fixtures/actuators/kubernetes/autoscaling.v1.Scale.json", import.meta.url), "utf8")) as Record<string, unknown>;

// The API server's discovery documents (APIResourceList) for the core group and batch/v1 (kubernetes/kubernetes api/discovery).
const DISCOVERY: Record<string, object> = {
  "/api/v1": JSON.parse(readFileSync(new URL("../../../test/fixtures/actuators/kubernetes/api__v1.json", import.meta.url), "utf8")),
  "/apis/batch/v1": JSON.parse(readFileSync(new URL("../../../test/fixtures/actuators/kubernetes/apis__batch__v1.json", import.meta.url), "utf8")),
};

type Meta = {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion: string;
  [field: string]: unknown;
};
type KubeObject = { kind: string; apiVersion: string; metadata: Meta; spec?: { replicas?: number; [field: string]: unknown }; status?: Record<string, unknown>; [field: string]: unknown };

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

type PatchOperation = { op: string; path: string; value?: unknown; from?: string };

/**
 * RFC 6902 JSON Patch as the API server applies it (evanphx/json-patch): in order, on a copy, all or
 * nothing; a failure throws the library's message, which the server answers as a 422.
 */
function jsonPatch(document: Record<string, unknown>, operations: readonly PatchOperation[]): Record<string, unknown> {
  const doc = structuredClone(document);
  const tokens = (path: string) => path.slice(1).split("/").map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"));
  type Container = Record<string, unknown> | unknown[];
  const parentOf = (path: string, op: string): [Container, string] => {
    const all = tokens(path);
    let node: unknown = doc;
    for (const token of all.slice(0, -1)) {
      node = Array.isArray(node) ? node[Number(token)] : (node as Record<string, unknown> | undefined)?.[token];
      if (typeof node !== "object" || node === null) throw new Error(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
    }
    return [node as Container, all[all.length - 1] ?? ""];
  };
  const get = (path: string): unknown => {
    const [parent, key] = parentOf(path, "get");
    return Array.isArray(parent) ? parent[Number(key)] : Object.prototype.hasOwnProperty.call(parent, key) ? parent[key] : undefined;
  };
  const add = (path: string, value: unknown, op: string) => {
    const [parent, key] = parentOf(path, op);
    if (!Array.isArray(parent)) parent[key] = value;
    else if (key === "-") parent.push(value);
    else if (Number(key) > parent.length) throw new Error(`Unable to access invalid index: ${key}: invalid index referenced`);
    else parent.splice(Number(key), 0, value);
  };
  const remove = (path: string, op: string) => {
    const [parent, key] = parentOf(path, op);
    if (Array.isArray(parent)) {
      if (Number(key) >= parent.length) throw new Error(`Unable to access invalid index: ${key}: invalid index referenced`);
      parent.splice(Number(key), 1);
    } else {
      if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new Error(`Unable to remove nonexistent key: ${key}: missing value`);
      delete parent[key];
    }
  };
  for (const operation of operations) {
    switch (operation.op) {
      case "add":
        add(operation.path, operation.value, "add");
        break;
      case "remove":
        remove(operation.path, "remove");
        break;
      case "replace":
        if (get(operation.path) === undefined) throw new Error(`replace operation does not apply: doc is missing key: ${operation.path}: missing value`);
        remove(operation.path, "replace");
        add(operation.path, operation.value, "replace");
        break;
      case "move":
      case "copy": {
        const value = get(operation.from ?? "");
        if (value === undefined) throw new Error(`${operation.op} operation does not apply: doc is missing from path: ${operation.from}: missing value`);
        if (operation.op === "move") remove(operation.from ?? "", "move");
        add(operation.path, structuredClone(value), operation.op);
        break;
      }
      case "test":
        if (!isDeepStrictEqual(get(operation.path), operation.value)) throw new Error(`testing value ${operation.path} failed: test failed`);
        break;
      default:
        throw new Error(`Unexpected kind: ${operation.op}`);
    }
  }
  return doc;
}

/** Resources per group/version path, with the `{resource}.{group}` name the API server's messages use. */
const RESOURCES: Record<string, Record<string, { kind: string; qualified: string }>> = {
  "/api/v1": { pods: { kind: "Pod", qualified: "pods" }, configmaps: { kind: "ConfigMap", qualified: "configmaps" }, secrets: { kind: "Secret", qualified: "secrets" } },
  "/apis/apps/v1": { deployments: { kind: "Deployment", qualified: "deployments.apps" }, statefulsets: { kind: "StatefulSet", qualified: "statefulsets.apps" } },
  "/apis/batch/v1": { jobs: { kind: "Job", qualified: "jobs.batch" } },
};

/**
 * A small API server: discovery (/api/v1, /apis/batch/v1), deployments/statefulsets (+ scale),
 * pods, configmaps, secrets, jobs, namespaces; bearer auth; merge patch and JSON Patch; DELETE with DeleteOptions
 * preconditions; POST create (a new uid, Job selector generation and its validation).
 */
class FakeApiServer {
  objects = new Map<string, KubeObject>();
  version = 100;
  created = 0;
  /** Runs as a PATCH arrives, before it applies: a third party writing to the object in between. */
  beforePatch: ((object: KubeObject) => void) | undefined;

  constructor(server: WireServer) {
    server.authenticate(
      (request) => (request.header("authorization") === `Bearer ${TOKEN}` ? undefined : `bad Authorization ${request.header("authorization") ?? "(none)"}`),
      () => status(401, "Unauthorized", "Unauthorized"),
    );
    const key = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ""}/${name}`;
    const notFound = (resource: string, name: string) => status(404, "NotFound", `${resource} "${name}" not found`);
    const unsupported = () =>
      status(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
    const checkPatch = (request: WireRequest) => (request.header("content-type") === "application/merge-patch+json" ? undefined : unsupported());
    const bump = (object: KubeObject) => {
      object.metadata.resourceVersion = String(++this.version);
    };
    /**
     * PATCH of an object: a merge patch, or a JSON Patch applied whole or not at all (a failed
     * operation is the API server's 422 with the library's message as the cause); any other media
     * type is a 415. A change bumps resourceVersion.
     */
    const patch = (request: WireRequest, object: KubeObject) => {
      this.beforePatch?.(object);
      const type = request.header("content-type");
      let patched: KubeObject;
      if (type === "application/merge-patch+json") {
        patched = mergePatch(object as unknown as Record<string, unknown>, request.json()) as unknown as KubeObject;
      } else if (type === "application/json-patch+json") {
        try {
          patched = jsonPatch(object as unknown as Record<string, unknown>, request.json<PatchOperation[]>()) as unknown as KubeObject;
        } catch (error) {
          // apiserver handlers/patch.go: NewGenericServerResponse(422, ..., err.Error()).
          const failure = status(422, "Invalid", "the server rejected our request due to an error in our request");
          return { ...failure, body: { ...failure.body, details: { causes: [{ reason: "UnexpectedServerResponse", message: (error as Error).message }] } } };
        }
      } else return unsupported();
      for (const field of Object.keys(object)) delete object[field];
      Object.assign(object, patched);
      bump(object);
      return { status: 200, body: object };
    };
    const scaleOf = (object: KubeObject) => ({
      ...SCALE_FIXTURE,
      metadata: { name: object.metadata.name, namespace: object.metadata.namespace, uid: "7a2b9c1e-0000-4000-8000-000000000001", resourceVersion: object.metadata.resourceVersion, creationTimestamp: "2025-01-01T00:00:00Z" },
      spec: { replicas: object.spec?.replicas ?? 0 },
      status: { replicas: object.spec?.replicas ?? 0, selector: `app=${object.metadata.name}` },
    });
    /** DELETE as the registry store does it: DeleteOptions.preconditions.uid must match, else 409 Conflict. */
    const remove = (request: WireRequest, id: string, qualified: string, name: string) => {
      const object = this.objects.get(id);
      if (!object) return notFound(qualified, name);
      const options = request.text === "" ? {} : request.json<{ kind?: string; preconditions?: { uid?: string } }>();
      if (request.text !== "" && (request.header("content-type") !== "application/json" || options.kind !== "DeleteOptions")) return status(400, "BadRequest", "not a DeleteOptions body");
      const wanted = options.preconditions?.uid;
      if (wanted !== undefined && wanted !== object.metadata.uid) {
        return status(409, "Conflict", `Operation cannot be fulfilled on ${qualified} "${name}": Precondition failed: UID in precondition: ${wanted}, UID in object meta: ${object.metadata.uid ?? ""}`);
      }
      this.objects.delete(id);
      return { status: 200, body: { ...object, metadata: { ...object.metadata, deletionTimestamp: "2025-03-01T12:00:30Z", deletionGracePeriodSeconds: 0 } } };
    };
    /** POST as the API server does it: a new uid and resourceVersion; a set resourceVersion, a wrong namespace or an existing name is refused. */
    const create = (request: WireRequest, kind: string, qualified: string, namespace: string | undefined) => {
      if (request.header("content-type") !== "application/json") return status(415, "UnsupportedMediaType", "unsupported media type");
      const object = request.json<KubeObject>();
      if (object.kind !== kind) return status(400, "BadRequest", `the API version in the data (${object.apiVersion}) does not match the expected kind ${kind}`);
      if (object.metadata.resourceVersion !== undefined) return status(500, "InternalError", "resourceVersion should not be set on objects to be created");
      if (namespace !== undefined && object.metadata.namespace !== undefined && object.metadata.namespace !== namespace) {
        return status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
      }
      const id = key(kind, namespace, object.metadata.name);
      if (this.objects.has(id)) return status(409, "AlreadyExists", `${qualified} "${object.metadata.name}" already exists`);
      const uid = `0b5e7c2a-0000-4000-8000-${String(++this.created).padStart(12, "0")}`;
      const stored: KubeObject = { ...object, metadata: { ...object.metadata, ...(namespace === undefined ? {} : { namespace }), uid, resourceVersion: String(++this.version), creationTimestamp: "2025-03-01T12:05:00Z" } };
      if (kind === "Job" && stored.spec?.["manualSelector"] !== true) {
        // pkg/registry/batch/job: generateSelector on create, then validateGeneratedSelector.
        const template = (stored.spec?.["template"] ?? {}) as { metadata?: { labels?: Record<string, string> } };
        const labels = { "batch.kubernetes.io/controller-uid": uid, "controller-uid": uid, "batch.kubernetes.io/job-name": object.metadata.name, "job-name": object.metadata.name, ...template.metadata?.labels };
        const selector = (stored.spec?.["selector"] ?? { matchLabels: { "batch.kubernetes.io/controller-uid": uid } }) as { matchLabels?: Record<string, string> };
        if (labels["batch.kubernetes.io/controller-uid"] !== uid || selector.matchLabels?.["batch.kubernetes.io/controller-uid"] !== uid) {
          return status(422, "Invalid", `Job.batch "${object.metadata.name}" is invalid: spec.selector: Invalid value: ${JSON.stringify(selector)}: \`selector\` not auto-generated`);
        }
        stored.spec = { ...stored.spec, selector, template: { ...template, metadata: { ...template.metadata, labels } } };
      }
      this.objects.set(id, stored);
      return { status: 201, body: stored };
    };

    // A group/version the server does not serve: the API server's plain-text 404.
    server.on("GET", "/apis/:group/:version", () => ({ status: 404, headers: { "content-type": "text/plain; charset=utf-8" }, body: "404 page not found\n" }));
    for (const [path, document] of Object.entries(DISCOVERY)) server.on("GET", path, () => ({ status: 200, body: document }));

    for (const [group, resources] of Object.entries(RESOURCES)) {
      const resolve = (request: WireRequest) => resources[request.params["plural"] ?? ""];
      server.on("GET", `${group}/namespaces/:ns/:plural/:name`, (request) => {
        const resource = resolve(request);
        const object = resource ? this.objects.get(key(resource.kind, request.params["ns"], request.params["name"] ?? "")) : undefined;
        return object ? { status: 200, body: object } : notFound(resource?.qualified ?? request.params["plural"] ?? "", request.params["name"] ?? "");
      });
      server.on("PATCH", `${group}/namespaces/:ns/:plural/:name`, (request) => {
        const resource = resolve(request);
        const object = resource ? this.objects.get(key(resource.kind, request.params["ns"], request.params["name"] ?? "")) : undefined;
        if (!object) return notFound(request.params["plural"] ?? "", request.params["name"] ?? "");
        return patch(request, object);
      });
      server.on("DELETE", `${group}/namespaces/:ns/:plural/:name`, (request) => {
        const resource = resolve(request);
        if (!resource) return undefined;
        return remove(request, key(resource.kind, request.params["ns"], request.params["name"] ?? ""), resource.qualified, request.params["name"] ?? "");
      });
      server.on("POST", `${group}/namespaces/:ns/:plural`, (request) => {
        const resource = resolve(request);
        return resource ? create(request, resource.kind, resource.qualified, request.params["ns"]) : undefined;
      });
    }
    server.on("GET", "/apis/apps/v1/namespaces/:ns/:plural/:name/scale", (request) => {
      const resource = RESOURCES["/apis/apps/v1"]?.[request.params["plural"] ?? ""];
      const object = this.objects.get(key(resource?.kind ?? "", request.params["ns"], request.params["name"] ?? ""));
      return object ? { status: 200, body: scaleOf(object) } : notFound(`${request.params["plural"]}.apps`, request.params["name"] ?? "");
    });
    server.on("PATCH", "/apis/apps/v1/namespaces/:ns/:plural/:name/scale", (request) => {
      const resource = RESOURCES["/apis/apps/v1"]?.[request.params["plural"] ?? ""];
      const object = this.objects.get(key(resource?.kind ?? "", request.params["ns"], request.params["name"] ?? ""));
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
      return patch(request, object);
    });
    server.on("DELETE", "/api/v1/namespaces/:name", (request) => remove(request, key("Namespace", undefined, request.params["name"] ?? ""), "namespaces", request.params["name"] ?? ""));
    server.on("POST", "/api/v1/namespaces", (request) => create(request, "Namespace", "namespaces", undefined));
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

  it("undo after the workload was scaled again (by its owner, a GitOps sync) fails saying so and does not overwrite that replica count", async () => {
    const plan = testPlan("kubernetes.scale-to-zero", { namespace: "shop", name: "web" });
    const applied = await scale.apply(plan, { dryRun: false });
    expect(api.objects.get("Deployment/shop/web")?.spec?.replicas).toBe(0);
    // The owner brings it back with more capacity; undo must not cut it back to the 3 recorded.
    api.objects.get("Deployment/shop/web")!.spec = { replicas: 5 };
    const undone = await scale.undo(plan, applied);
    expect(undone.status).toBe("failed");
    expect(undone.error).toBe(
      "kubernetes.scale-to-zero undo failed: Deployment shop/web is at 5 replicas, not the 0 the action left: it was scaled since, so undo does not set it back to 3",
    );
    expect(api.objects.get("Deployment/shop/web")?.spec?.replicas).toBe(5);
    expect(server.mutatingRequests()).toHaveLength(1);
  });

  it("undo of a workload already back at the recorded count (an earlier undo whose answer was lost, its owner) is done without a patch", async () => {
    const plan = testPlan("kubernetes.scale-to-zero", { namespace: "shop", name: "web" });
    const applied = await scale.apply(plan, { dryRun: false });
    api.objects.get("Deployment/shop/web")!.spec = { replicas: 3 };
    const undone = await scale.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(undone.output).toMatchObject({ replicas: 3, changed: false });
    expect(server.mutatingRequests()).toHaveLength(1);
  });

  it("a scale the API server committed but answered 504 Timeout is applied with its undo data (a second read finds it at 0)", async () => {
    // The API server answers 504 when a request outlives its timeout, though the write may be stored.
    server.on("PATCH", "/apis/apps/v1/namespaces/:ns/:plural/:name/scale", (request) => {
      const object = api.objects.get(`Deployment/${request.params["ns"]}/${request.params["name"]}`);
      if (object === undefined) return undefined;
      object.spec = { ...object.spec, replicas: request.json<{ spec: { replicas: number } }>().spec.replicas };
      return status(504, "Timeout", "Timeout: request did not complete within requested timeout - context deadline exceeded");
    });
    const plan = testPlan("kubernetes.scale-to-zero", { namespace: "shop", name: "web" });
    const applied = await scale.apply(plan, { dryRun: false });
    expect(applied.status).toBe("applied");
    expect(applied.output).toMatchObject({ previousReplicas: 3, replicas: 0, changed: true });
    expect(applied.output?.["note"]).toMatch(/answered HTTP 504 Timeout.*it is at 0 replicas/);
    expect(applied.undo?.params).toEqual({ kind: "Deployment", name: "web", namespace: "shop", replicas: 3 });
  });

  it("a scale the API server refused stays failed", async () => {
    server.on("PATCH", "/apis/apps/v1/namespaces/:ns/:plural/:name/scale", () => status(403, "Forbidden", 'deployments.apps "web" is forbidden: User "system:serviceaccount:vigil:vigil" cannot patch resource "deployments/scale"'));
    const applied = await scale.apply(testPlan("kubernetes.scale-to-zero", { namespace: "shop", name: "web" }), { dryRun: false });
    expect(applied.status).toBe("failed");
    expect(applied.error).toMatch(/HTTP 403 Forbidden/);
    expect(api.objects.get("Deployment/shop/web")?.spec?.replicas).toBe(3);
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

  it("undo restores only the labels still as the action set them: one changed since keeps its new value", async () => {
    const plan = testPlan("kubernetes.label", { kind: "Deployment", namespace: "shop", name: "web", labels: { "vigil.dev/quarantine": "true", tier: "isolated", app: null } });
    const applied = await label.apply(plan, { dryRun: false });
    // Since the action: a person moved the tier on, and a deploy put an app label back.
    const labels = api.objects.get("Deployment/shop/web")!.metadata.labels!;
    labels["tier"] = "backend";
    labels["app"] = "web-v2";
    const undone = await label.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(server.mutatingRequests().at(-1)?.json()).toEqual({ metadata: { labels: { "vigil.dev/quarantine": null } } });
    expect(api.objects.get("Deployment/shop/web")?.metadata.labels).toEqual({ tier: "backend", app: "web-v2" });
    expect(undone.output).toMatchObject({ restored: { "vigil.dev/quarantine": null }, changedSince: { tier: "backend", app: "web-v2" } });
  });

  it("a label patch the API server committed but answered 504 Timeout is applied with its undo data", async () => {
    server.on("PATCH", "/apis/apps/v1/namespaces/:ns/:plural/:name", (request) => {
      const object = api.objects.get(`Deployment/${request.params["ns"]}/${request.params["name"]}`);
      if (object === undefined) return undefined;
      Object.assign(object, mergePatch(object as unknown as Record<string, unknown>, request.json()));
      return status(504, "Timeout", "Timeout: request did not complete within requested timeout - context deadline exceeded");
    });
    const plan = testPlan("kubernetes.label", { kind: "Deployment", namespace: "shop", name: "web", labels: { "vigil.dev/quarantine": "true", app: null } });
    const applied = await label.apply(plan, { dryRun: false });
    expect(applied.status).toBe("applied");
    expect(applied.undo?.params).toMatchObject({ previous: { "vigil.dev/quarantine": null, app: "web" } });
    expect(applied.output?.["note"]).toMatch(/answered HTTP 504 Timeout/);
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

describe("kubernetes.delete", () => {
  const JOB_UID = "5f1d7c3e-8a2b-4c6d-9e0f-1a2b3c4d5e6f";
  const CONFIG_UID = "9c8b7a6f-5e4d-4c3b-8a29-180716253443";
  let server: WireServer;
  let api: FakeApiServer;
  let remove: Actuator;
  const discoveryRequests = (path: string) => server.requests.filter((request) => request.method === "GET" && request.path === path).length;

  beforeEach(async () => {
    server = await startWireServer();
    api = new FakeApiServer(server);
    // A finished Job as the API server returns it: server-owned metadata, a generated selector, status.
    api.add({
      kind: "Job",
      apiVersion: "batch/v1",
      metadata: {
        name: "nightly-report",
        namespace: "shop",
        uid: JOB_UID,
        resourceVersion: "4711",
        generation: 1,
        creationTimestamp: "2025-02-28T02:00:00Z",
        labels: { app: "report" },
        annotations: { "batch.kubernetes.io/job-tracking": "" },
        managedFields: [{ manager: "kube-controller-manager", operation: "Update", apiVersion: "batch/v1", time: "2025-02-28T02:03:00Z" }],
      },
      spec: {
        backoffLimit: 2,
        selector: { matchLabels: { "batch.kubernetes.io/controller-uid": JOB_UID } },
        template: {
          metadata: { labels: { app: "report", "batch.kubernetes.io/controller-uid": JOB_UID, "controller-uid": JOB_UID, "batch.kubernetes.io/job-name": "nightly-report", "job-name": "nightly-report" } },
          spec: { restartPolicy: "Never", containers: [{ name: "report", image: "registry.example/report:1.4" }] },
        },
      },
      status: { succeeded: 1, completionTime: "2025-02-28T02:03:00Z" },
    });
    api.add({ kind: "ConfigMap", apiVersion: "v1", metadata: { name: "app-config", namespace: "shop", uid: CONFIG_UID, resourceVersion: "812", creationTimestamp: "2025-01-10T09:00:00Z" }, data: { mode: "strict" } });
    api.add({ kind: "Namespace", apiVersion: "v1", metadata: { name: "scratch", uid: "3e2d1c0b-0000-4000-8000-00000000aaaa", resourceVersion: "77" }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
    api.add({ kind: "Secret", apiVersion: "v1", metadata: { name: "db-password", namespace: "shop", uid: "1d2c3b4a-0000-4000-8000-00000000bbbb", resourceVersion: "90" }, type: "Opaque", data: { password: "aHVudGVyMg==" } });
    remove = createKubernetesActuators({ server: server.url, token: TOKEN, skipTlsVerify: true }, testRuntime()).find((actuator) => actuator.kind === "kubernetes.delete") as Actuator;
  });
  afterEach(() => server.close());

  it("deletes a Job found through batch/v1 discovery (DELETE with the token and a DeleteOptions body); undo re-creates it from the stripped manifest", async () => {
    const plan = testPlan("kubernetes.delete", { apiVersion: "batch/v1", kind: "Job", namespace: "shop", name: "nightly-report", propagationPolicy: "Background", gracePeriodSeconds: 0 });
    const applied = await remove.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.status).toBe("applied");
    expect(applied.output).toEqual({ object: { apiVersion: "batch/v1", kind: "Job", namespace: "shop", name: "nightly-report" }, deleted: true, uid: JOB_UID });
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /apis/batch/v1",
      "GET /apis/batch/v1/namespaces/shop/jobs/nightly-report",
      "DELETE /apis/batch/v1/namespaces/shop/jobs/nightly-report",
    ]);
    const deletion = server.mutatingRequests()[0];
    expect(deletion?.header("authorization")).toBe(`Bearer ${TOKEN}`);
    expect(deletion?.header("content-type")).toBe("application/json");
    expect(deletion?.json()).toEqual({ kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background", gracePeriodSeconds: 0, preconditions: { uid: JOB_UID } });
    expect(api.objects.has("Job/shop/nightly-report")).toBe(false);

    // The manifest: no status, no server-owned metadata; the generated selector and controller-uid labels go too.
    const manifest = {
      kind: "Job",
      apiVersion: "batch/v1",
      metadata: { name: "nightly-report", namespace: "shop", labels: { app: "report" }, annotations: { "batch.kubernetes.io/job-tracking": "" } },
      spec: {
        backoffLimit: 2,
        template: {
          metadata: { labels: { app: "report", "batch.kubernetes.io/job-name": "nightly-report", "job-name": "nightly-report" } },
          spec: { restartPolicy: "Never", containers: [{ name: "report", image: "registry.example/report:1.4" }] },
        },
      },
    };
    expect(applied.undo).toEqual({ actuator: "kubernetes.delete", params: { apiVersion: "batch/v1", kind: "Job", namespace: "shop", name: "nightly-report", manifest } });

    const undone = await remove.undo(plan, applied);
    expect(server.problems).toEqual([]);
    expect(undone.status).toBe("undone");
    const creation = server.mutatingRequests()[1];
    expect(creation?.method).toBe("POST");
    expect(creation?.path).toBe("/apis/batch/v1/namespaces/shop/jobs");
    expect(creation?.header("authorization")).toBe(`Bearer ${TOKEN}`);
    expect(creation?.json()).toEqual(manifest);
    const recreated = api.objects.get("Job/shop/nightly-report");
    expect(recreated?.metadata.uid).toMatch(/^0b5e7c2a-/);
    expect(recreated?.metadata.uid).not.toBe(JOB_UID);
    expect(recreated?.status).toBeUndefined();
    expect(undone.output).toEqual({ object: { apiVersion: "batch/v1", kind: "Job", namespace: "shop", name: "nightly-report" }, restored: true, uid: recreated?.metadata.uid });
    // The discovery document was fetched once for the apply and the undo: it is cached per client.
    expect(discoveryRequests("/apis/batch/v1")).toBe(1);
  });

  it("a DELETE the API server carried out but answered 504 Timeout is applied with its undo data (a second read finds the object gone), so undo can re-create it", async () => {
    server.on("DELETE", "/apis/batch/v1/namespaces/:ns/:plural/:name", () => {
      api.objects.delete("Job/shop/nightly-report");
      return status(504, "Timeout", "Timeout: request did not complete within the allotted timeout");
    });
    const plan = testPlan("kubernetes.delete", { apiVersion: "batch/v1", kind: "Job", namespace: "shop", name: "nightly-report" });
    const applied = await remove.apply(plan, { dryRun: false });
    expect(applied.status).toBe("applied");
    expect(applied.output).toMatchObject({ deleted: true, uid: JOB_UID, note: expect.stringMatching(/HTTP 504 Timeout.*a second read finds it absent: it took effect/) });
    expect(applied.undo?.params).toMatchObject({ kind: "Job", name: "nightly-report", manifest: { metadata: { name: "nightly-report", namespace: "shop" } } });
    expect((await remove.undo(plan, applied)).status).toBe("undone");
    expect(api.objects.get("Job/shop/nightly-report")?.metadata.uid).not.toBe(JOB_UID);
    // A 504 after which the object is still there is a failure: nothing to undo.
    server.on("DELETE", "/apis/batch/v1/namespaces/:ns/:plural/:name", () => status(504, "Timeout", "Timeout: request did not complete within the allotted timeout"));
    const failed = await remove.apply(plan, { dryRun: false });
    expect(failed).toMatchObject({ status: "failed", output: { status: 504 } });
    expect(failed.undo).toBeUndefined();
    expect(server.problems).toEqual([]);
  });

  it("a ConfigMap is resolved through /api/v1; a uid precondition that no longer holds fails with the 409 Conflict and deletes nothing", async () => {
    const replaced = await remove.apply(testPlan("kubernetes.delete", { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "app-config", uid: "11111111-2222-4333-8444-555555555555" }), { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(replaced.status).toBe("failed");
    expect(replaced.error).toBe(
      `kubernetes.delete apply failed: Kubernetes API DELETE /api/v1/namespaces/shop/configmaps/app-config answered HTTP 409 Conflict: Operation cannot be fulfilled on configmaps "app-config": Precondition failed: UID in precondition: 11111111-2222-4333-8444-555555555555, UID in object meta: ${CONFIG_UID}; ConfigMap shop/app-config no longer has uid 11111111-2222-4333-8444-555555555555: it was replaced (deleted and re-created under the same name), so nothing was deleted`,
    );
    expect(replaced.output).toEqual({ status: 409, apiCode: "Conflict" });
    expect(replaced.undo).toBeUndefined();
    expect(server.mutatingRequests()[0]?.json()).toEqual({ kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: "11111111-2222-4333-8444-555555555555" } });
    expect(api.objects.has("ConfigMap/shop/app-config")).toBe(true);

    const matching = await remove.apply(testPlan("kubernetes.delete", { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "app-config", uid: CONFIG_UID }), { dryRun: false });
    expect(matching).toMatchObject({ status: "applied", output: { deleted: true, uid: CONFIG_UID } });
    expect(server.mutatingRequests()[1]?.path).toBe("/api/v1/namespaces/shop/configmaps/app-config");
    expect(api.objects.has("ConfigMap/shop/app-config")).toBe(false);
    expect(discoveryRequests("/api/v1")).toBe(1);
  });

  it("scope comes from discovery: a cluster-scoped Namespace refuses a namespace param, a namespaced Job requires one", async () => {
    const withNamespace = await remove.apply(testPlan("kubernetes.delete", { apiVersion: "v1", kind: "Namespace", namespace: "shop", name: "scratch" }), { dryRun: false });
    expect(withNamespace.status).toBe("failed");
    expect(withNamespace.error).toBe("kubernetes.delete apply failed: kubernetes.delete: params.namespace must be absent: Namespace (v1, resource namespaces) is cluster-scoped");
    expect(withNamespace.output).toEqual({ code: "VIGIL_BAD_INPUT", field: "params.namespace" });

    const withoutNamespace = await remove.apply(testPlan("kubernetes.delete", { apiVersion: "batch/v1", kind: "Job", name: "nightly-report" }), { dryRun: false });
    expect(withoutNamespace.error).toBe("kubernetes.delete apply failed: kubernetes.delete: params.namespace is required: Job (batch/v1, resource jobs) is namespaced");
    expect(withoutNamespace.output).toEqual({ code: "VIGIL_BAD_INPUT", field: "params.namespace" });
    expect(server.mutatingRequests()).toHaveLength(0);

    const plan = testPlan("kubernetes.delete", { apiVersion: "v1", kind: "Namespace", name: "scratch" });
    const applied = await remove.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.status).toBe("applied");
    expect(server.mutatingRequests()[0]?.path).toBe("/api/v1/namespaces/scratch");
    expect(applied.undo?.params).toEqual({ apiVersion: "v1", kind: "Namespace", name: "scratch", manifest: { kind: "Namespace", apiVersion: "v1", metadata: { name: "scratch" }, spec: { finalizers: ["kubernetes"] } } });
    const undone = await remove.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(server.mutatingRequests()[1]?.path).toBe("/api/v1/namespaces");
    expect(api.objects.get("Namespace//scratch")?.metadata.uid).toMatch(/^0b5e7c2a-/);
  });

  it("an object already absent (404 on the read) is applied as absent: no DELETE, no undo", async () => {
    const plan = testPlan("kubernetes.delete", { apiVersion: "batch/v1", kind: "Job", namespace: "shop", name: "weekly-report" });
    const applied = await remove.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied).toMatchObject({ status: "applied", output: { object: { name: "weekly-report" }, deleted: false, absent: true } });
    expect(applied.undo).toBeUndefined();
    expect(server.mutatingRequests()).toHaveLength(0);
    expect(await remove.undo(plan, applied)).toMatchObject({ status: "skipped", error: "kubernetes.delete undo skipped: the result records no undo data" });
  });

  it("dry run reads the object and sends no DELETE: what would be deleted, its uid, whether the precondition holds, or that it is absent", async () => {
    const holds = await remove.apply(testPlan("kubernetes.delete", { apiVersion: "batch/v1", kind: "Job", namespace: "shop", name: "nightly-report", propagationPolicy: "Foreground" }), { dryRun: true });
    expect(holds).toMatchObject({
      status: "dry-run",
      output: { dryRun: true, uid: JOB_UID, preconditionUid: JOB_UID, preconditionHolds: true, wouldDo: `delete Job shop/nightly-report (batch/v1) (uid ${JOB_UID}) with propagationPolicy Foreground` },
    });
    const stale = await remove.apply(testPlan("kubernetes.delete", { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "app-config", uid: "11111111-2222-4333-8444-555555555555" }), { dryRun: true });
    expect(stale.output).toMatchObject({ uid: CONFIG_UID, preconditionHolds: false });
    expect(stale.output?.["wouldDo"]).toMatch(/^nothing: the live object's uid .* is not the precondition uid 11111111-2222-4333-8444-555555555555/);
    const absent = await remove.apply(testPlan("kubernetes.delete", { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "gone" }, { dryRun: true }), { dryRun: false });
    expect(absent).toMatchObject({ status: "dry-run", output: { absent: true, wouldDo: "nothing: ConfigMap shop/gone (v1) is already absent" } });
    expect(server.problems).toEqual([]);
    expect(server.mutatingRequests()).toHaveLength(0);
    expect(api.objects.has("Job/shop/nightly-report")).toBe(true);
  });

  it("undo whose POST the API server stored but answered 504 Timeout is done (a second read finds the object as the manifest), and so is an undo again after it", async () => {
    const plan = testPlan("kubernetes.delete", { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "app-config" });
    const applied = await remove.apply(plan, { dryRun: false });
    let lost = true;
    server.on("POST", "/api/v1/namespaces/:ns/:plural", (request) => {
      if (!lost) return undefined;
      lost = false;
      const object = request.json<KubeObject>();
      api.add({ ...object, metadata: { ...object.metadata, uid: "0b5e7c2a-0000-4000-8000-0000000000aa", resourceVersion: "1001", creationTimestamp: "2025-03-01T12:05:00Z" } });
      return status(504, "Timeout", "Timeout: request did not complete within the allotted timeout");
    });
    const undone = await remove.undo(plan, applied);
    expect(undone).toMatchObject({ status: "undone", output: { restored: true, uid: "0b5e7c2a-0000-4000-8000-0000000000aa", note: expect.stringMatching(/HTTP 504 Timeout.*a second read finds it as the manifest/) } });
    // The record still said applied (the answer was lost): an undo again meets the 409 and is done too.
    expect(await remove.undo(plan, applied)).toMatchObject({ status: "undone", output: { restored: true, note: expect.stringMatching(/409 AlreadyExists/) } });
    expect(server.problems).toEqual([]);
  });

  it("undo when an object of that name exists again fails saying so and restores nothing", async () => {
    const plan = testPlan("kubernetes.delete", { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "app-config" });
    const applied = await remove.apply(plan, { dryRun: false });
    expect(applied.status).toBe("applied");
    api.add({ kind: "ConfigMap", apiVersion: "v1", metadata: { name: "app-config", namespace: "shop", uid: "77777777-0000-4000-8000-000000000007", resourceVersion: "999" }, data: { mode: "lenient" } });
    const undone = await remove.undo(plan, applied);
    expect(undone.status).toBe("failed");
    expect(undone.error).toBe(
      'kubernetes.delete undo failed: Kubernetes API POST /api/v1/namespaces/shop/configmaps answered HTTP 409 AlreadyExists: configmaps "app-config" already exists; an object ConfigMap shop/app-config exists again (re-created since the delete, or still being deleted), so nothing was restored',
    );
    expect(undone.output).toEqual({ status: 409, apiCode: "AlreadyExists" });
    expect(api.objects.get("ConfigMap/shop/app-config")).toMatchObject({ metadata: { uid: "77777777-0000-4000-8000-000000000007" }, data: { mode: "lenient" } });
  });

  it("an unknown kind, or one only a subresource serves, fails naming apiVersion and kind; an unserved apiVersion is named too", async () => {
    const unknown = await remove.apply(testPlan("kubernetes.delete", { apiVersion: "v1", kind: "CronTab", namespace: "shop", name: "x" }), { dryRun: false });
    expect(unknown.status).toBe("failed");
    expect(unknown.error).toMatch(/^kubernetes\.delete apply failed: the Kubernetes API server serves no kind "CronTab" in apiVersion "v1" \(GET \/api\/v1 lists Binding, ComponentStatus, ConfigMap, /);
    expect(unknown.output).toEqual({ code: "VIGIL_BAD_INPUT", field: "params.kind" });
    // pods/eviction serves Eviction, but a subresource is not an object that can be deleted by name.
    const subresource = await remove.apply(testPlan("kubernetes.delete", { apiVersion: "v1", kind: "Eviction", namespace: "shop", name: "x" }), { dryRun: true });
    expect(subresource.error).toMatch(/serves no kind "Eviction" in apiVersion "v1"/);
    const group = await remove.apply(testPlan("kubernetes.delete", { apiVersion: "example.com/v1", kind: "CronTab", namespace: "shop", name: "x" }), { dryRun: false });
    expect(group.error).toBe(
      'kubernetes.delete apply failed: the Kubernetes API server does not serve apiVersion "example.com/v1" (GET /apis/example.com/v1 answered 404): check params.apiVersion (kubectl api-versions lists the served ones)',
    );
    expect(group.output).toEqual({ code: "VIGIL_BAD_INPUT", field: "params.apiVersion" });
    expect(server.problems).toEqual([]);
    expect(server.mutatingRequests()).toHaveLength(0);
  });

  it("a deleted Secret records no manifest: its data never enters the action record", async () => {
    const applied = await remove.apply(testPlan("kubernetes.delete", { apiVersion: "v1", kind: "Secret", namespace: "shop", name: "db-password" }), { dryRun: false });
    expect(applied).toMatchObject({ status: "applied", output: { deleted: true, undoRecorded: false } });
    expect(applied.undo).toBeUndefined();
    expect(JSON.stringify(applied)).not.toContain("aHVudGVyMg==");
    expect(api.objects.has("Secret/shop/db-password")).toBe(false);
  });

  it("validates params before any request", () => {
    const valid = { apiVersion: "batch/v1", kind: "Job", namespace: "shop", name: "nightly-report" };
    expect(() => remove.validate(valid)).not.toThrow();
    expect(() => remove.validate({ ...valid, propagationPolicy: "Cascade" })).toThrowError(/params\.propagationPolicy must be one of Foreground, Background, Orphan/);
    expect(() => remove.validate({ ...valid, gracePeriodSeconds: 3601 })).toThrowError(/params\.gracePeriodSeconds must be at most 3600/);
    expect(() => remove.validate({ ...valid, apiVersion: "batch" })).toThrowError(/params\.apiVersion "batch" does not match/);
    expect(() => remove.validate({ ...valid, name: "Nightly" })).toThrowError(/params\.name "Nightly" does not match/);
    expect(() => remove.validate({ ...valid, kind: undefined })).toThrowError(/params\.kind is required/);
  });
});

describe("kubernetes.patch", () => {
  const CONFIG = { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "app-config" };
  const NAMESPACE = { apiVersion: "v1", kind: "Namespace", name: "team-a" };
  const CONFIG_PATH = "/api/v1/namespaces/shop/configmaps/app-config";
  const JSON_PATCH = "application/json-patch+json";
  let server: WireServer;
  let api: FakeApiServer;
  let patcher: Actuator;
  const configMap = () => api.objects.get("ConfigMap/shop/app-config");
  /** A third party's write: a label on the ConfigMap, with a new resourceVersion. */
  const thirdPartyWrite = (object: KubeObject) => {
    object.metadata = { ...object.metadata, labels: { ...object.metadata.labels, "edited-by": "someone-else" }, resourceVersion: String(++api.version) };
  };

  beforeEach(async () => {
    server = await startWireServer();
    api = new FakeApiServer(server);
    api.add({
      kind: "ConfigMap",
      apiVersion: "v1",
      metadata: {
        name: "app-config",
        namespace: "shop",
        uid: "9c8b7a6f-5e4d-4c3b-8a29-180716253443",
        resourceVersion: "812",
        creationTimestamp: "2025-01-10T09:00:00Z",
        labels: { app: "shop" },
        managedFields: [{ manager: "kubectl-client-side-apply", operation: "Update", apiVersion: "v1", time: "2025-01-10T09:00:00Z" }],
      },
      data: { mode: "strict", level: "3" },
    });
    api.add({
      kind: "Namespace",
      apiVersion: "v1",
      metadata: { name: "team-a", uid: "3e2d1c0b-0000-4000-8000-00000000cccc", resourceVersion: "77", labels: { "kubernetes.io/metadata.name": "team-a", env: "dev" } },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    });
    api.add({
      kind: "Pod",
      apiVersion: "v1",
      metadata: { name: "web-1", namespace: "shop", resourceVersion: "500" },
      spec: { containers: [{ name: "web", image: "registry.example/web:1.0" }, { name: "proxy", image: "registry.example/proxy:2.1" }], tolerations: [{ key: "dedicated", operator: "Exists" }] },
      status: { phase: "Running" },
    });
    api.add({ kind: "Secret", apiVersion: "v1", metadata: { name: "db-password", namespace: "shop", resourceVersion: "90" }, type: "Opaque", data: { password: "aHVudGVyMg==" } });
    patcher = createKubernetesActuators({ server: server.url, token: TOKEN, skipTlsVerify: true }, testRuntime()).find((actuator) => actuator.kind === "kubernetes.patch") as Actuator;
  });
  afterEach(() => server.close());

  it("a PATCH the API server stored but answered 504 Timeout is applied with its undo data when a second read finds the patched values, so undo restores them", async () => {
    let timeout: "stored" | "lost" | undefined = "stored";
    server.on("PATCH", CONFIG_PATH, () => {
      if (timeout === undefined) return undefined;
      if (timeout === "lost") return status(504, "Timeout", "Timeout: request did not complete within the allotted timeout");
      const object = configMap()!;
      object.data = { ...(object["data"] as Record<string, string>), mode: "lenient" };
      object.metadata = { ...object.metadata, resourceVersion: String(++api.version) };
      return status(504, "Timeout", "Timeout: request did not complete within the allotted timeout");
    });
    const plan = testPlan("kubernetes.patch", { ...CONFIG, patch: [{ op: "replace", path: "/data/mode", value: "lenient" }] });
    const applied = await patcher.apply(plan, { dryRun: false });
    expect(applied.status).toBe("applied");
    expect(applied.output).toMatchObject({ patched: true, resourceVersion: configMap()?.metadata.resourceVersion, note: expect.stringMatching(/HTTP 504 Timeout.*a second read finds the patched values: it took effect/) });
    timeout = undefined; // the API server answers again
    expect((await patcher.undo(plan, applied)).status).toBe("undone");
    expect(configMap()?.["data"]).toEqual({ mode: "strict", level: "3" });
    // A 504 after which the values are not there is a failure: nothing to undo.
    timeout = "lost";
    const failed = await patcher.apply(plan, { dryRun: false });
    expect(failed).toMatchObject({ status: "failed", output: { status: 504 } });
    expect(server.problems).toEqual([]);
  });

  it("patches a ConfigMap's data (PATCH application/json-patch+json, the operations after a resourceVersion test); undo restores the data with its own test", async () => {
    const patch = [
      { op: "replace", path: "/data/mode", value: "lenient" },
      { op: "add", path: "/data/owner", value: "team-shop" },
      { op: "remove", path: "/data/level" },
    ];
    const plan = testPlan("kubernetes.patch", { ...CONFIG, patch, resourceVersion: "812" });
    const applied = await patcher.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.status).toBe("applied");
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual(["GET /api/v1", `GET ${CONFIG_PATH}`, `PATCH ${CONFIG_PATH}`]);
    const sent = server.mutatingRequests()[0];
    expect(sent?.header("content-type")).toBe(JSON_PATCH);
    expect(sent?.header("authorization")).toBe(`Bearer ${TOKEN}`);
    expect(sent?.json()).toEqual([{ op: "test", path: "/metadata/resourceVersion", value: "812" }, ...patch]);
    expect(configMap()?.["data"]).toEqual({ mode: "lenient", owner: "team-shop" });
    expect(configMap()?.metadata.resourceVersion).toBe("101");
    expect(applied.output).toEqual({ object: CONFIG, patched: true, resourceVersion: "101" });
    // before: the object read, without status and server-owned metadata, but with its resourceVersion.
    expect(applied.undo).toEqual({
      actuator: "kubernetes.patch",
      params: {
        ...CONFIG,
        before: { kind: "ConfigMap", apiVersion: "v1", metadata: { name: "app-config", namespace: "shop", resourceVersion: "812", labels: { app: "shop" } }, data: { mode: "strict", level: "3" } },
        afterResourceVersion: "101",
        paths: ["/data/level", "/data/mode", "/data/owner"],
      },
    });

    const undone = await patcher.undo(plan, applied);
    expect(server.problems).toEqual([]);
    expect(undone.status).toBe("undone");
    const restore = server.mutatingRequests()[1];
    expect(restore?.method).toBe("PATCH");
    expect(restore?.path).toBe(CONFIG_PATH);
    expect(restore?.header("content-type")).toBe(JSON_PATCH);
    expect(restore?.json()).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "101" },
      { op: "add", path: "/data/level", value: "3" },
      { op: "replace", path: "/data/mode", value: "strict" },
      { op: "remove", path: "/data/owner" },
    ]);
    expect(configMap()?.["data"]).toEqual({ mode: "strict", level: "3" });
    expect(undone.output).toEqual({ object: CONFIG, restored: true, operations: ["add /data/level", "replace /data/mode", "remove /data/owner"], resourceVersion: "102" });
  });

  it("patches a cluster-scoped Namespace's labels; without params.resourceVersion the test uses the version just read; undo restores the labels exactly", async () => {
    const patch = [
      { op: "add", path: "/metadata/labels/vigil.dev~1quarantine", value: "true" },
      { op: "replace", path: "/metadata/labels/env", value: "frozen" },
    ];
    const plan = testPlan("kubernetes.patch", { ...NAMESPACE, patch });
    const applied = await patcher.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.status).toBe("applied");
    const sent = server.mutatingRequests()[0];
    expect(sent?.path).toBe("/api/v1/namespaces/team-a");
    expect(sent?.header("content-type")).toBe(JSON_PATCH);
    expect(sent?.json()).toEqual([{ op: "test", path: "/metadata/resourceVersion", value: "77" }, ...patch]);
    expect(api.objects.get("Namespace//team-a")?.metadata.labels).toEqual({ "kubernetes.io/metadata.name": "team-a", env: "frozen", "vigil.dev/quarantine": "true" });
    expect(applied.undo?.params).toMatchObject({
      before: { kind: "Namespace", apiVersion: "v1", metadata: { name: "team-a", resourceVersion: "77", labels: { "kubernetes.io/metadata.name": "team-a", env: "dev" } }, spec: { finalizers: ["kubernetes"] } },
      afterResourceVersion: "101",
      paths: ["/metadata/labels/env", "/metadata/labels/vigil.dev~1quarantine"],
    });
    expect(applied.undo?.params["before"]).not.toHaveProperty("status");
    expect(applied.undo?.params["before"]).not.toHaveProperty("metadata.uid");

    const undone = await patcher.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(server.mutatingRequests()[1]?.json()).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "101" },
      { op: "replace", path: "/metadata/labels/env", value: "dev" },
      { op: "remove", path: "/metadata/labels/vigil.dev~1quarantine" },
    ]);
    expect(api.objects.get("Namespace//team-a")?.metadata.labels).toEqual({ "kubernetes.io/metadata.name": "team-a", env: "dev" });

    const scoped = await patcher.apply(testPlan("kubernetes.patch", { ...NAMESPACE, namespace: "shop", patch }), { dryRun: false });
    expect(scoped.error).toBe("kubernetes.patch apply failed: kubernetes.patch: params.namespace must be absent: Namespace (v1, resource namespaces) is cluster-scoped");
    expect(server.mutatingRequests()).toHaveLength(2);
  });

  it("a patch inside arrays restores the whole arrays on undo (an insertion shifts the elements after it)", async () => {
    const plan = testPlan("kubernetes.patch", {
      apiVersion: "v1",
      kind: "Pod",
      namespace: "shop",
      name: "web-1",
      patch: [
        { op: "add", path: "/spec/tolerations/0", value: { key: "vigil.dev/quarantine", operator: "Exists", effect: "NoExecute" } },
        { op: "replace", path: "/spec/containers/1/image", value: "registry.example/proxy:2.2" },
      ],
    });
    const applied = await patcher.apply(plan, { dryRun: false });
    expect(applied.status).toBe("applied");
    expect(applied.undo?.params["paths"]).toEqual(["/spec/containers", "/spec/tolerations"]);
    const undone = await patcher.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(server.mutatingRequests()[1]?.json()).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "101" },
      { op: "replace", path: "/spec/containers", value: [{ name: "web", image: "registry.example/web:1.0" }, { name: "proxy", image: "registry.example/proxy:2.1" }] },
      { op: "replace", path: "/spec/tolerations", value: [{ key: "dedicated", operator: "Exists" }] },
    ]);
    expect(api.objects.get("Pod/shop/web-1")?.spec).toEqual({ containers: [{ name: "web", image: "registry.example/web:1.0" }, { name: "proxy", image: "registry.example/proxy:2.1" }], tolerations: [{ key: "dedicated", operator: "Exists" }] });
  });

  it("a stale resourceVersion fails saying the object changed since the patch was computed, and changes nothing", async () => {
    const patch = [{ op: "replace", path: "/data/mode", value: "lenient" }];
    const stale = await patcher.apply(testPlan("kubernetes.patch", { ...CONFIG, patch, resourceVersion: "700" }), { dryRun: false });
    expect(stale.status).toBe("failed");
    expect(stale.error).toBe(
      "kubernetes.patch apply failed: ConfigMap shop/app-config (v1) changed since the patch was computed: it is at resourceVersion 812, the patch was computed from 700; nothing was patched (compute the patch again from the current object)",
    );
    expect(stale.undo).toBeUndefined();
    expect(server.mutatingRequests()).toHaveLength(0);

    // Changed between the read and the PATCH: the API server's test fails (422) and it applies nothing.
    api.beforePatch = thirdPartyWrite;
    const raced = await patcher.apply(testPlan("kubernetes.patch", { ...CONFIG, patch, resourceVersion: "812" }), { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(raced.status).toBe("failed");
    expect(raced.error).toBe(
      `kubernetes.patch apply failed: Kubernetes API PATCH ${CONFIG_PATH} answered HTTP 422 Invalid: the server rejected our request due to an error in our request (testing value /metadata/resourceVersion failed: test failed); ConfigMap shop/app-config (v1) changed since the patch was computed (its resourceVersion is no longer 812): nothing was changed`,
    );
    expect(raced.output).toEqual({ status: 422, apiCode: "Invalid" });
    expect(raced.undo).toBeUndefined();
    expect(server.mutatingRequests()[0]?.json()).toEqual([{ op: "test", path: "/metadata/resourceVersion", value: "812" }, ...patch]);
    expect(configMap()?.["data"]).toEqual({ mode: "strict", level: "3" });
    expect(configMap()?.metadata.labels).toEqual({ app: "shop", "edited-by": "someone-else" });
  });

  it("a failing test operation of the patch itself is named; other 422s carry the server's cause", async () => {
    const failedTest = await patcher.apply(testPlan("kubernetes.patch", { ...CONFIG, patch: [{ op: "test", path: "/data/mode", value: "audit" }, { op: "replace", path: "/data/mode", value: "lenient" }] }), { dryRun: false });
    expect(failedTest.error).toMatch(/\(testing value \/data\/mode failed: test failed\); the patch's test operation on \/data\/mode failed: nothing was changed$/);
    const missing = await patcher.apply(testPlan("kubernetes.patch", { ...CONFIG, patch: [{ op: "remove", path: "/data/absent" }] }), { dryRun: false });
    expect(missing.error).toBe(
      `kubernetes.patch apply failed: Kubernetes API PATCH ${CONFIG_PATH} answered HTTP 422 Invalid: the server rejected our request due to an error in our request (Unable to remove nonexistent key: absent: missing value)`,
    );
    expect(configMap()?.["data"]).toEqual({ mode: "strict", level: "3" });
    expect(server.problems).toEqual([]);
  });

  it("dry run reads the object, applies the patch locally and sends no PATCH: the changes, whether it applies, whether the resourceVersion matches", async () => {
    const patch = [
      { op: "replace", path: "/data/mode", value: "lenient" },
      { op: "copy", from: "/data/mode", path: "/data/previous-mode" },
    ];
    const clean = await patcher.apply(testPlan("kubernetes.patch", { ...CONFIG, patch, resourceVersion: "812" }), { dryRun: true });
    expect(clean).toMatchObject({ status: "dry-run" });
    expect(clean.output).toEqual({
      dryRun: true,
      object: CONFIG,
      resourceVersion: "812",
      expectedResourceVersion: "812",
      resourceVersionMatches: true,
      operations: ["replace /data/mode", "copy /data/mode -> /data/previous-mode"],
      appliesCleanly: true,
      changes: [
        { path: "/data/mode", change: "replace", before: "strict", after: "lenient" },
        { path: "/data/previous-mode", change: "add", after: "lenient" },
      ],
      wouldDo: "patch ConfigMap shop/app-config (v1) at resourceVersion 812 (replace /data/mode, add /data/previous-mode)",
    });

    const stale = await patcher.apply(testPlan("kubernetes.patch", { ...CONFIG, patch, resourceVersion: "700" }, { dryRun: true }), { dryRun: false });
    expect(stale.output).toMatchObject({ resourceVersionMatches: false, appliesCleanly: true });
    expect(stale.output?.["wouldDo"]).toBe(
      "nothing: ConfigMap shop/app-config (v1) is at resourceVersion 812, not 700 the patch was computed from, so its resourceVersion test would fail and the API server would change nothing",
    );

    const broken = await patcher.apply(testPlan("kubernetes.patch", { ...CONFIG, patch: [patch[0], { op: "remove", path: "/data/absent" }] }), { dryRun: true });
    expect(broken.output).toMatchObject({ resourceVersionMatches: null, appliesCleanly: false, problem: 'operation 1 (remove /data/absent) does not apply: path "/data/absent" does not exist', changes: [] });

    const absent = await patcher.apply(testPlan("kubernetes.patch", { ...CONFIG, name: "gone", patch }), { dryRun: true });
    expect(absent.output).toMatchObject({ absent: true, wouldDo: "nothing: ConfigMap shop/gone (v1) does not exist, so the PATCH would fail (404)" });
    expect(server.problems).toEqual([]);
    expect(server.mutatingRequests()).toHaveLength(0);
    expect(configMap()?.["data"]).toEqual({ mode: "strict", level: "3" });
  });

  it("undo after a third party changed the object fails saying so and restores nothing, whether the change is seen on the read or by the test", async () => {
    const plan = testPlan("kubernetes.patch", { ...CONFIG, patch: [{ op: "replace", path: "/data/mode", value: "lenient" }] });
    const applied = await patcher.apply(plan, { dryRun: false });
    expect(applied.status).toBe("applied");
    const object = configMap();
    if (object) thirdPartyWrite(object);
    const seen = await patcher.undo(plan, applied);
    expect(seen.status).toBe("failed");
    expect(seen.error).toBe(
      "kubernetes.patch undo failed: ConfigMap shop/app-config (v1) changed since the patch was applied: it is at resourceVersion 102, the patch left 101; nothing was restored, so that later change is not overwritten (the undo data's before holds the previous values)",
    );
    expect(server.mutatingRequests()).toHaveLength(1);

    // The write lands between the undo's read and its PATCH: the undo's own test op refuses it.
    const again = await patcher.apply(testPlan("kubernetes.patch", { ...CONFIG, patch: [{ op: "replace", path: "/data/level", value: "4" }] }), { dryRun: false });
    expect(again.output).toMatchObject({ patched: true, resourceVersion: "103" });
    api.beforePatch = thirdPartyWrite;
    const raced = await patcher.undo(plan, again);
    expect(raced.status).toBe("failed");
    expect(raced.error).toBe(
      `kubernetes.patch undo failed: Kubernetes API PATCH ${CONFIG_PATH} answered HTTP 422 Invalid: the server rejected our request due to an error in our request (testing value /metadata/resourceVersion failed: test failed); ConfigMap shop/app-config (v1) changed since the patch was applied, so the later change is not overwritten (its resourceVersion is no longer 103): nothing was changed`,
    );
    expect(server.mutatingRequests()[2]?.json()).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "103" },
      { op: "replace", path: "/data/level", value: "3" },
    ]);
    expect(configMap()?.["data"]).toEqual({ mode: "lenient", level: "4" });
    expect(server.problems).toEqual([]);
  });

  it("a patch that changes nothing sends no PATCH and records no undo", async () => {
    const result = await patcher.apply(testPlan("kubernetes.patch", { ...CONFIG, patch: [{ op: "replace", path: "/data/mode", value: "strict" }] }), { dryRun: false });
    expect(result).toMatchObject({ status: "applied", output: { patched: false, resourceVersion: "812", reason: "the operations change nothing" } });
    expect(result.undo).toBeUndefined();
    expect(server.mutatingRequests()).toHaveLength(0);
  });

  it("a patched Secret records no undo, and neither the result nor a dry run shows its values", async () => {
    const secret = { apiVersion: "v1", kind: "Secret", namespace: "shop", name: "db-password" };
    const preview = await patcher.apply(testPlan("kubernetes.patch", { ...secret, patch: [{ op: "test", path: "/data/password", value: "d3Jvbmc=" }, { op: "replace", path: "/data/password", value: "bmV3LXBhc3M=" }] }), { dryRun: true });
    expect(preview.output).toMatchObject({ appliesCleanly: false, problem: "operation 0 (test /data/password) does not apply: the value differs (a Secret's values are not shown)" });
    const changes = await patcher.apply(testPlan("kubernetes.patch", { ...secret, patch: [{ op: "replace", path: "/data/password", value: "bmV3LXBhc3M=" }] }), { dryRun: true });
    expect(changes.output?.["changes"]).toEqual([{ path: "/data/password", change: "replace" }]);
    const applied = await patcher.apply(testPlan("kubernetes.patch", { ...secret, patch: [{ op: "replace", path: "/data/password", value: "bmV3LXBhc3M=" }] }), { dryRun: false });
    expect(applied).toMatchObject({ status: "applied", output: { patched: true, undoRecorded: false } });
    expect(applied.undo).toBeUndefined();
    expect(api.objects.get("Secret/shop/db-password")?.["data"]).toEqual({ password: "bmV3LXBhc3M=" });
    for (const result of [preview, changes, applied]) expect(JSON.stringify(result)).not.toContain("aHVudGVyMg==");
  });

  it("copyFrom: a Secret copy gets its source's data back when the patch applies; the data is in neither the plan, the dry run nor the result; the source's uid is checked", async () => {
    api.add({ kind: "Secret", apiVersion: "v1", metadata: { name: "regcred", namespace: "default", uid: "7e9a782d-3e25-419d-866e-73535a6e562a", resourceVersion: "40" }, type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": "c291cmNlLW5ldw==" } } as never);
    api.add({ kind: "Secret", apiVersion: "v1", metadata: { name: "regcred", namespace: "shop", resourceVersion: "41", labels: { "generate.kyverno.io/policy-name": "sync-secrets", tampered: "yes" } }, type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": "Y29weS1vbGQ=" } } as never);
    const copy = { apiVersion: "v1", kind: "Secret", namespace: "shop", name: "regcred" };
    const copyFrom = { namespace: "default", name: "regcred", uid: "7e9a782d-3e25-419d-866e-73535a6e562a" };
    // Only the metadata change is in the plan; the data comes from the source.
    const plan = testPlan("kubernetes.patch", { ...copy, patch: [{ op: "remove", path: "/metadata/labels/tampered" }], copyFrom, resourceVersion: "41" });
    const dry = await patcher.apply(plan, { dryRun: true });
    expect(dry.output).toMatchObject({ appliesCleanly: true, copyFrom: { kind: "Secret", namespace: "default", name: "regcred" }, operations: ["remove /metadata/labels/tampered", "replace /data"], changes: [{ path: "/data", change: "replace" }, { path: "/metadata/labels/tampered", change: "remove" }] });
    expect(server.mutatingRequests()).toEqual([]);
    const applied = await patcher.apply(plan, { dryRun: false });
    expect(applied).toMatchObject({ status: "applied", output: { patched: true, copiedFrom: { kind: "Secret", namespace: "default", name: "regcred" }, undoRecorded: false } });
    const sent = server.mutatingRequests()[0];
    expect(sent?.json()).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "41" },
      { op: "remove", path: "/metadata/labels/tampered" },
      { op: "replace", path: "/data", value: { ".dockerconfigjson": "c291cmNlLW5ldw==" } },
    ]);
    expect(api.objects.get("Secret/shop/regcred")).toMatchObject({ type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": "c291cmNlLW5ldw==" }, metadata: { labels: { "generate.kyverno.io/policy-name": "sync-secrets" } } });
    for (const result of [plan, dry, applied]) expect(JSON.stringify(result)).not.toMatch(/c291cmNlLW5ldw==|Y29weS1vbGQ=/);
    // Again: the copy matches its source, nothing is sent. With copyFrom alone, no patch is needed.
    const again = await patcher.apply(testPlan("kubernetes.patch", { ...copy, copyFrom }), { dryRun: false });
    expect(again.output).toMatchObject({ patched: false, reason: "the operations change nothing and the content matches Secret default/regcred (v1)" });
    expect(server.mutatingRequests()).toHaveLength(1);
    // A source deleted and re-created since the plan, or gone: refused, nothing patched.
    const other = await patcher.apply(testPlan("kubernetes.patch", { ...copy, copyFrom: { ...copyFrom, uid: "00000000-0000-4000-8000-000000000000" } }), { dryRun: false });
    expect(other).toMatchObject({ status: "failed", output: { code: "VIGIL_CONFLICT", field: "params.copyFrom.uid" } });
    const missing = await patcher.apply(testPlan("kubernetes.patch", { ...copy, copyFrom: { namespace: "default", name: "gone" } }), { dryRun: false });
    expect(missing).toMatchObject({ status: "failed", output: { code: "VIGIL_NOT_FOUND", field: "params.copyFrom" } });
    expect(server.mutatingRequests()).toHaveLength(1);
    // Bad params name the field.
    expect(() => patcher.validate({ ...copy, copyFrom: { namespace: "default" } })).toThrowError(/params\.copyFrom\.name must be a non-empty string/);
    expect(() => patcher.validate({ ...copy, copyFrom: { name: "regcred", namspace: "default" } })).toThrowError(/params\.copyFrom\.namspace is not a field of copyFrom/);
    expect(() => patcher.validate({ ...copy, copyFrom: { name: "regcred" }, patch: [] })).not.toThrow();
  });

  it("validates each patch operation before any request, naming its index", async () => {
    const valid = { ...CONFIG, patch: [{ op: "replace", path: "/data/mode", value: "lenient" }] };
    const fieldOf = (params: Record<string, unknown>): unknown => {
      try {
        patcher.validate(params);
      } catch (error) {
        return isVigilError(error) ? error.details.field : error;
      }
      return undefined;
    };
    expect(() => patcher.validate(valid)).not.toThrow();
    expect(() => patcher.validate({ ...valid, patch: [{ op: "test", path: "/metadata/resourceVersion", value: "812" }, { op: "copy", from: "/status/phase", path: "/data/phase" }] })).not.toThrow();
    expect(() => patcher.validate({ ...valid, patch: [] })).toThrowError(/params\.patch must be a non-empty array of RFC 6902 operations/);
    expect(() => patcher.validate({ ...valid, patch: { op: "add" } })).toThrowError(/params\.patch must be an array/);
    expect(() => patcher.validate({ ...valid, patch: [valid.patch[0], "add"] })).toThrowError(/params\.patch\[1\] must be an object with op and path/);
    expect(() => patcher.validate({ ...valid, patch: [valid.patch[0], { op: "upsert", path: "/data/x", value: 1 }] })).toThrowError(
      'kubernetes.patch: params.patch[1].op must be one of add, remove, replace, move, copy, test; got "upsert"',
    );
    expect(() => patcher.validate({ ...valid, patch: [{ op: "add", path: "data/mode", value: "x" }] })).toThrowError(/params\.patch\[0\]\.path "data\/mode" is not a JSON pointer/);
    expect(() => patcher.validate({ ...valid, patch: [{ op: "add", path: "/data/a~2b", value: "x" }] })).toThrowError(/params\.patch\[0\]\.path "\/data\/a~2b" is not a JSON pointer/);
    expect(() => patcher.validate({ ...valid, patch: [valid.patch[0], valid.patch[0], { op: "add", path: "/data/x" }] })).toThrowError(/params\.patch\[2\]\.value is required by a add operation/);
    expect(() => patcher.validate({ ...valid, patch: [{ op: "move", path: "/data/x" }] })).toThrowError(/params\.patch\[0\]\.from must be a JSON pointer string/);
    expect(() => patcher.validate({ ...valid, patch: [{ op: "remove", path: "/data/mode", value: "strict" }] })).toThrowError(/params\.patch\[0\]\.value is not a member of a remove operation \(it takes op, path\)/);
    expect(() => patcher.validate({ ...valid, patch: [{ op: "replace", path: "/status/phase", value: "Failed" }] })).toThrowError(/params\.patch\[0\]\.path "\/status\/phase" is not a path kubernetes\.patch changes/);
    expect(() => patcher.validate({ ...valid, patch: [{ op: "move", from: "/metadata/uid", path: "/data/uid" }] })).toThrowError(/params\.patch\[0\]\.from "\/metadata\/uid" is not a path/);
    expect(() => patcher.validate({ ...valid, patch: [{ op: "replace", path: "", value: {} }] })).toThrowError(/params\.patch\[0\]\.path "" is not a path/);
    expect(fieldOf({ ...valid, patch: [valid.patch[0], { op: "add", path: 3, value: 1 }] })).toBe("params.patch[1].path");
    expect(fieldOf({ ...valid, patch: [{ op: "add", path: "/data/x", value: 1, vaule: 2 }] })).toBe("params.patch[0].vaule");
    expect(fieldOf({ ...valid, resourceVersion: 812 })).toBe("params.resourceVersion");
    expect(fieldOf({ ...valid, uid: "x" })).toBe("params.uid");

    const rejected = await patcher.apply(testPlan("kubernetes.patch", { ...valid, patch: [{ op: "replace", path: "/metadata/name", value: "other" }] }), { dryRun: false });
    expect(rejected).toMatchObject({ status: "failed", output: { code: "VIGIL_BAD_INPUT", field: "params.patch[0].path" } });
    expect(server.requests).toHaveLength(0);
  });
});

describe("kubernetes.create", () => {
  let server: WireServer;
  let api: FakeApiServer;
  let create: Actuator;
  const manifest = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "defaults", namespace: "shop", labels: { "generate.kyverno.io/policy-name": "add-defaults" } }, data: { mode: "strict" } };
  const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "app-config", namespace: "shop" }, data: { mode: "lenient" } };

  beforeEach(async () => {
    server = await startWireServer();
    api = new FakeApiServer(server);
    api.add({ kind: "ConfigMap", apiVersion: "v1", metadata: { name: "app-config", namespace: "shop", uid: "9c8b7a6f-5e4d-4c3b-8a29-180716253443", resourceVersion: "812" }, data: { mode: "strict" } });
    create = createKubernetesActuators({ server: server.url, token: TOKEN, skipTlsVerify: true }, testRuntime()).find((actuator) => actuator.kind === "kubernetes.create") as Actuator;
  });
  afterEach(() => server.close());

  it("a POST the API server stored but answered 504 Timeout is applied with its undo data (a second read finds the object as the manifest), so undo deletes it", async () => {
    let lost = true;
    server.on("POST", "/api/v1/namespaces/:ns/:plural", (request) => {
      if (!lost) return undefined;
      lost = false;
      const object = request.json<KubeObject>();
      api.add({ ...object, metadata: { ...object.metadata, uid: "0b5e7c2a-0000-4000-8000-0000000000bb", resourceVersion: "1002" } });
      return status(504, "Timeout", "Timeout: request did not complete within the allotted timeout");
    });
    const plan = testPlan("kubernetes.create", { manifest });
    const applied = await create.apply(plan, { dryRun: false });
    expect(applied).toMatchObject({ status: "applied", output: { created: true, uid: "0b5e7c2a-0000-4000-8000-0000000000bb", note: expect.stringMatching(/HTTP 504 Timeout.*a second read finds it as the manifest/) } });
    expect(applied.undo?.params).toMatchObject({ name: "defaults", uid: "0b5e7c2a-0000-4000-8000-0000000000bb" });
    expect((await create.undo(plan, applied)).status).toBe("undone");
    expect(api.objects.has("ConfigMap/shop/defaults")).toBe(false);
    expect(server.problems).toEqual([]);
  });

  it("POSTs the manifest to the collection the discovery document names; undo deletes the created object with its uid as precondition", async () => {
    const plan = testPlan("kubernetes.create", { manifest });
    const applied = await create.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.status).toBe("applied");
    const post = server.mutatingRequests()[0];
    expect(post?.method).toBe("POST");
    expect(post?.path).toBe("/api/v1/namespaces/shop/configmaps");
    expect(post?.header("authorization")).toBe(`Bearer ${TOKEN}`);
    expect(post?.json()).toEqual(manifest);
    const uid = api.objects.get("ConfigMap/shop/defaults")?.metadata.uid;
    expect(uid).toMatch(/^0b5e7c2a-/);
    expect(applied.output).toEqual({ object: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "defaults" }, created: true, uid });
    expect(applied.undo).toEqual({ actuator: "kubernetes.create", params: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "defaults", uid } });
    const undone = await create.undo(plan, applied);
    expect(undone.status).toBe("undone");
    const deletion = server.mutatingRequests()[1];
    expect(deletion?.method).toBe("DELETE");
    expect(deletion?.json()).toMatchObject({ preconditions: { uid } });
    expect(api.objects.has("ConfigMap/shop/defaults")).toBe(false);
  });

  it("leaves an existing object as it is (no POST, no undo); dry-run says what would be created without a POST", async () => {
    const existing = await create.apply(testPlan("kubernetes.create", { manifest: configMap }), { dryRun: false });
    expect(existing.status).toBe("applied");
    expect(existing.output).toEqual({ object: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "app-config" }, created: false, exists: true });
    expect(existing.undo).toBeUndefined();
    expect(api.objects.get("ConfigMap/shop/app-config")?.data).toEqual({ mode: "strict" });
    const dry = await create.apply(testPlan("kubernetes.create", { manifest }), { dryRun: true });
    expect(dry.output).toMatchObject({ exists: false, wouldDo: "create ConfigMap shop/defaults (v1)" });
    const dryExisting = await create.apply(testPlan("kubernetes.create", { manifest: configMap }), { dryRun: true });
    expect(dryExisting.output).toMatchObject({ exists: true, wouldDo: "nothing: ConfigMap shop/app-config (v1) already exists (it is left as it is)" });
    expect(server.mutatingRequests()).toEqual([]);
  });

  it("an object re-created since (another uid) is not deleted by undo: the 409 Conflict is the failure", async () => {
    const plan = testPlan("kubernetes.create", { manifest });
    const applied = await create.apply(plan, { dryRun: false });
    const key = "ConfigMap/shop/defaults";
    const object = api.objects.get(key);
    if (object) object.metadata.uid = "11111111-2222-4333-8444-555555555555";
    const undone = await create.undo(plan, applied);
    expect(undone.status).toBe("failed");
    expect(undone.error).toContain("409 Conflict");
    expect(api.objects.has(key)).toBe(true);
  });

  it("cloneFrom: copies the live source when it applies (a Secret: its data never enters the plan, the output or the record); the source's uid is checked", async () => {
    api.add({ kind: "Secret", apiVersion: "v1", metadata: { name: "regcred", namespace: "default", uid: "7e9a782d-3e25-419d-866e-73535a6e562a", resourceVersion: "40", labels: { team: "platform" }, ownerReferences: [{ kind: "Thing", name: "x", uid: "u", apiVersion: "v1" }] }, type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": "eyJhdXRocyI6e319" } } as never);
    const skeleton = { apiVersion: "v1", kind: "Secret", metadata: { name: "regcred", namespace: "shop", labels: { "generate.kyverno.io/policy-name": "sync-secrets" } } };
    const plan = testPlan("kubernetes.create", { manifest: skeleton, cloneFrom: { namespace: "default", name: "regcred", uid: "7e9a782d-3e25-419d-866e-73535a6e562a" } });
    const dry = await create.apply(plan, { dryRun: true });
    expect(dry.output).toMatchObject({ exists: false, wouldDo: "create Secret shop/regcred (v1) as a copy of Secret default/regcred (v1) (uid 7e9a782d-3e25-419d-866e-73535a6e562a; its content is read when the action applies and is not recorded)" });
    expect(JSON.stringify(dry.output)).not.toContain("eyJhdXRocyI6e319");
    const applied = await create.apply(plan, { dryRun: false });
    expect(applied.status).toBe("applied");
    const post = server.mutatingRequests()[0];
    expect(post?.path).toBe("/api/v1/namespaces/shop/secrets");
    expect(post?.json()).toEqual({
      apiVersion: "v1", kind: "Secret", type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": "eyJhdXRocyI6e319" },
      // The source's labels under the manifest's; no uid, resourceVersion, or ownerReferences from another namespace.
      metadata: { name: "regcred", namespace: "shop", labels: { team: "platform", "generate.kyverno.io/policy-name": "sync-secrets" } },
    });
    expect(JSON.stringify(applied.output)).not.toContain("eyJhdXRocyI6e319");
    expect(applied.output).toMatchObject({ created: true, clonedFrom: { apiVersion: "v1", kind: "Secret", namespace: "default", name: "regcred" } });
    // A source deleted and re-created since the plan: refused, nothing created.
    const other = await create.apply(testPlan("kubernetes.create", { manifest: { ...skeleton, metadata: { ...skeleton.metadata, namespace: "other" } }, cloneFrom: { namespace: "default", name: "regcred", uid: "00000000-0000-4000-8000-000000000000" } }), { dryRun: false });
    expect(other).toMatchObject({ status: "failed", output: { code: "VIGIL_CONFLICT", field: "params.cloneFrom.uid" } });
    const missing = await create.apply(testPlan("kubernetes.create", { manifest: { ...skeleton, metadata: { ...skeleton.metadata, namespace: "other" } }, cloneFrom: { namespace: "default", name: "gone" } }), { dryRun: false });
    expect(missing).toMatchObject({ status: "failed", output: { code: "VIGIL_NOT_FOUND", field: "params.cloneFrom" } });
    expect(server.mutatingRequests()).toHaveLength(1);
  });

  it("cloneFrom: a manifest that carries content too, or a cloneFrom without a name, is refused naming the field", async () => {
    const failed = async (params: Record<string, unknown>) => (await create.apply(testPlan("kubernetes.create", params), { dryRun: false })).output;
    const skeleton = { apiVersion: "v1", kind: "Secret", metadata: { name: "regcred", namespace: "shop" } };
    expect(await failed({ manifest: { ...skeleton, data: { a: "Yg==" } }, cloneFrom: { namespace: "default", name: "regcred" } })).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "params.manifest.data" });
    expect(await failed({ manifest: skeleton, cloneFrom: { namespace: "default" } })).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "params.cloneFrom.name" });
    expect(await failed({ manifest: skeleton, cloneFrom: "default/regcred" })).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "params.cloneFrom" });
    expect(server.requests).toHaveLength(0);
  });

  it("refuses a manifest without a name, with server-owned metadata or status, or a Secret, naming the field; nothing is sent", async () => {
    const failed = async (m: Record<string, unknown>) => (await create.apply(testPlan("kubernetes.create", { manifest: m }), { dryRun: false })).output;
    expect(await failed({ ...configMap, metadata: { namespace: "shop" } })).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "params.manifest.metadata.name" });
    expect(await failed({ ...configMap, metadata: { name: "x", namespace: "shop", resourceVersion: "1" } })).toMatchObject({ field: "params.manifest.metadata.resourceVersion" });
    expect(await failed({ ...configMap, status: {} })).toMatchObject({ field: "params.manifest.status" });
    expect(await failed({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "shop" }, data: { password: "aHVudGVyMg==" } })).toMatchObject({ field: "params.manifest.kind" });
    expect(server.requests).toHaveLength(0);
  });
});
