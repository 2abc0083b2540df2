import type { AppsV1Api, Configuration, ConfigurationOptions, CoreV1Api, HttpMethod } from "@kubernetes/client-node";
import { VigilError } from "../../core/index.js";
import { requireText, requireUrl } from "./config-checks.js";
import { ActuatorApiError, withTimeout } from "./define.js";
import type { OperationContext } from "./define.js";
import type { KubernetesActuatorConfig } from "./types.js";

/** Workloads with a scale subresource that scale-to-zero supports. */
export const SCALABLE_KINDS = ["Deployment", "StatefulSet"] as const;
export type ScalableKind = (typeof SCALABLE_KINDS)[number];

/** Kinds whose labels and annotations the actuators can patch; Namespace and Node are cluster-scoped. */
export const METADATA_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Pod", "Service", "Namespace", "Node"] as const;
export type MetadataKind = (typeof METADATA_KINDS)[number];
export const CLUSTER_SCOPED: ReadonlySet<string> = new Set(["Namespace", "Node"]);

export interface ObjectRef {
  readonly kind: string;
  readonly name: string;
  /** Absent for cluster-scoped kinds. */
  readonly namespace?: string;
}

export interface ObjectMetadata {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly resourceVersion?: string;
}

/** `DeleteOptions.propagationPolicy` values: how the garbage collector treats the object's dependents. */
export const PROPAGATION_POLICIES = ["Foreground", "Background", "Orphan"] as const;
export type PropagationPolicy = (typeof PROPAGATION_POLICIES)[number];

/** An object as the API server sends it (JSON), of any kind. */
export type KubernetesObject = Record<string, unknown>;

/** The resource that serves a kind, from the API server's discovery document (an APIResourceList entry). */
export interface ApiResource {
  readonly apiVersion: string;
  readonly kind: string;
  /** The plural resource name, the path segment: `jobs`, `configmaps`, `namespaces`. */
  readonly resource: string;
  readonly namespaced: boolean;
}

/** One object of any kind, addressed through its discovered resource; `namespace` is absent for cluster-scoped kinds. */
export interface ResourceRef {
  readonly api: ApiResource;
  readonly name: string;
  readonly namespace?: string;
}

export interface DeleteOptions {
  /** `preconditions.uid`: the server deletes only an object that still has this uid. */
  readonly uid: string;
  readonly propagationPolicy?: PropagationPolicy;
  readonly gracePeriodSeconds?: number;
}

/** A Kubernetes `Status` error body, as the API server returns it. */
interface StatusBody {
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
}

function statusBody(body: unknown): StatusBody | undefined {
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return body.trim() ? { message: body.trim().slice(0, 200) } : undefined;
    }
  }
  return typeof body === "object" && body !== null ? (body as StatusBody) : undefined;
}

/** Turns the client's ApiException (or a network error) into an ActuatorApiError naming the Status reason and message. */
function kubernetesError(error: unknown, what: string): ActuatorApiError {
  const failure = error as { code?: unknown; body?: unknown; message?: string };
  if (typeof failure?.code === "number" && failure.code >= 100) {
    const status = statusBody(failure.body);
    const reason = status?.reason ?? (failure.code === 401 ? "Unauthorized" : undefined);
    return new ActuatorApiError(`Kubernetes API ${what} answered HTTP ${failure.code}${reason ? ` ${reason}` : ""}: ${status?.message ?? "(no Status message)"}`, {
      status: failure.code,
      ...(reason ? { apiCode: reason } : {}),
      cause: error,
    });
  }
  return new ActuatorApiError(`Kubernetes API ${what} got no answer: ${failure?.message ?? String(error)}`, { cause: error });
}

/** The few Kubernetes API calls the actuators make, through @kubernetes/client-node with bearer-token auth. */
export interface KubernetesClient {
  readScale(ref: ObjectRef & { kind: ScalableKind }, context: OperationContext): Promise<number>;
  /** Merge-patches `spec.replicas` of the scale subresource; returns the replicas the server answered. */
  patchScale(ref: ObjectRef & { kind: ScalableKind }, replicas: number, context: OperationContext): Promise<number>;
  readMetadata(ref: ObjectRef, context: OperationContext): Promise<ObjectMetadata>;
  /** Merge-patches `metadata.labels`/`metadata.annotations`; a null value removes the key. */
  patchMetadata(ref: ObjectRef, field: "labels" | "annotations", values: Readonly<Record<string, string | null>>, context: OperationContext): Promise<ObjectMetadata>;
  readPodPhase(ref: ObjectRef, context: OperationContext): Promise<string>;
  deletePod(ref: ObjectRef, gracePeriodSeconds: number | undefined, context: OperationContext): Promise<void>;
  /**
   * The resource serving `kind` in `apiVersion`, from the discovery document (GET /api/v1, or
   * /apis/{group}/{version}); subresources (`pods/status`) are skipped. Discovery documents are
   * cached per client; a kind missing from a cached document is looked up once more (a CRD may
   * have been installed since). Throws VigilError(VIGIL_BAD_INPUT) naming `params.apiVersion` when
   * the server does not serve the group/version, `params.kind` when it serves no such kind.
   */
  discoverResource(apiVersion: string, kind: string, context: OperationContext): Promise<ApiResource>;
  /** GET the object as the server sends it; undefined when the server answers 404. */
  getObject(ref: ResourceRef, context: OperationContext): Promise<KubernetesObject | undefined>;
  /**
   * DELETE with a `DeleteOptions` body carrying `preconditions.uid`. Returns "absent" when the server
   * answers 404; a 409 Conflict (the precondition failed: the object was replaced) throws
   * ActuatorApiError saying so.
   */
  deleteObject(ref: ResourceRef, options: DeleteOptions, context: OperationContext): Promise<"deleted" | "absent">;
  /** POST `manifest` to the collection; returns the created object. A 409 (the name exists) throws ActuatorApiError saying so. */
  createObject(ref: ResourceRef, manifest: KubernetesObject, context: OperationContext): Promise<KubernetesObject>;
}

/** RFC 7386 JSON merge patch (the client library's PatchStrategy.MergePatch). */
const MERGE_PATCH = "application/merge-patch+json";

/** Receives the library's Configuration (auth, TLS agent, base URL) for requests to any path. */
class GenericApi {
  constructor(readonly configuration: Configuration) {}
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Creates the client from the actuator config; throws VIGIL_BAD_CONFIG naming a missing field. */
export function createKubernetesClient(config: KubernetesActuatorConfig): KubernetesClient {
  const server = requireUrl("actuators.kubernetes.server", config.server);
  const token = requireText("actuators.kubernetes.token", config.token);
  if (server.startsWith("http://") && config.skipTlsVerify !== true) {
    // The client refuses plaintext unless TLS verification is explicitly off; say so up front.
    throw new VigilError("VIGIL_BAD_CONFIG", "actuators.kubernetes.server uses http://: use https://, or set actuators.kubernetes.skipTlsVerify: true for a local proxy or test server", {
      field: "actuators.kubernetes.server",
    });
  }
  const timeoutMs = config.timeoutMs ?? 10_000;
  // The client library takes ~0.7 s to import: load it on the first call, not at start-up.
  interface Apis {
    readonly apps: AppsV1Api;
    readonly core: CoreV1Api;
    /** For the generic calls: the same KubeConfig (token, CA, skipTLSVerify) as the typed APIs. */
    readonly generic: Configuration;
    readonly methods: typeof HttpMethod;
  }
  let loading: Promise<Apis> | undefined;
  const apis = (): Promise<Apis> =>
    (loading ??= import("@kubernetes/client-node").then((k8s) => {
      const kubeConfig = new k8s.KubeConfig();
      kubeConfig.loadFromOptions({
        clusters: [{ name: "vigil", server, skipTLSVerify: config.skipTlsVerify ?? false, ...(config.caData === undefined ? {} : { caData: config.caData }) }],
        users: [{ name: "vigil", token }],
        contexts: [{ name: "vigil", cluster: "vigil", user: "vigil" }],
        currentContext: "vigil",
      });
      return {
        apps: kubeConfig.makeApiClient(k8s.AppsV1Api),
        core: kubeConfig.makeApiClient(k8s.CoreV1Api),
        generic: kubeConfig.makeApiClient(GenericApi).configuration,
        methods: k8s.HttpMethod,
      };
    }));

  // Per-call options: a timeout (and the caller's abort signal), plus the patch Content-Type.
  // The Object API runs middlewares through its Observable stub, which only calls `toPromise()`
  // on what `pre`/`post` return; the library's own setHeaderMiddleware does the same.
  const resolved = <T>(value: T) => ({ toPromise: () => Promise.resolve(value) });
  const options = (context: OperationContext, contentType?: string): ConfigurationOptions =>
    ({
      middleware: [
        {
          pre: (request: { setSignal(signal: AbortSignal): void; setHeaderParam(key: string, value: string): void }) => {
            request.setSignal(withTimeout(timeoutMs, context.signal));
            if (contentType !== undefined) request.setHeaderParam("Content-Type", contentType);
            return resolved(request);
          },
          post: <T>(response: T) => resolved(response),
        },
      ],
      middlewareMergeStrategy: "append",
    }) as unknown as ConfigurationOptions;

  async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw kubernetesError(error, what);
    }
  }

  const pathOf = (ref: ObjectRef, suffix = ""): string => {
    const group = ["Deployment", "StatefulSet", "DaemonSet"].includes(ref.kind) ? "/apis/apps/v1" : "/api/v1";
    const plural = `${ref.kind.toLowerCase()}s`;
    return `${group}${ref.namespace === undefined ? "" : `/namespaces/${ref.namespace}`}/${plural}/${ref.name}${suffix}`;
  };
  const namespaced = (ref: ObjectRef) => ({ name: ref.name, namespace: ref.namespace ?? "default" });
  const metadataOf = (object: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string } }): ObjectMetadata => ({
    labels: object.metadata?.labels ?? {},
    annotations: object.metadata?.annotations ?? {},
    ...(object.metadata?.resourceVersion === undefined ? {} : { resourceVersion: object.metadata.resourceVersion }),
  });

  async function readObject(ref: ObjectRef, context: OperationContext) {
    const { apps, core } = await apis();
    const opts = options(context);
    switch (ref.kind as MetadataKind) {
      case "Deployment":
        return apps.readNamespacedDeployment(namespaced(ref), opts);
      case "StatefulSet":
        return apps.readNamespacedStatefulSet(namespaced(ref), opts);
      case "DaemonSet":
        return apps.readNamespacedDaemonSet(namespaced(ref), opts);
      case "Pod":
        return core.readNamespacedPod(namespaced(ref), opts);
      case "Service":
        return core.readNamespacedService(namespaced(ref), opts);
      case "Namespace":
        return core.readNamespace({ name: ref.name }, opts);
      case "Node":
        return core.readNode({ name: ref.name }, opts);
    }
  }

  async function patchObject(ref: ObjectRef, body: object, context: OperationContext) {
    const { apps, core } = await apis();
    const opts = options(context, MERGE_PATCH);
    const request = { ...namespaced(ref), body };
    switch (ref.kind as MetadataKind) {
      case "Deployment":
        return apps.patchNamespacedDeployment(request, opts);
      case "StatefulSet":
        return apps.patchNamespacedStatefulSet(request, opts);
      case "DaemonSet":
        return apps.patchNamespacedDaemonSet(request, opts);
      case "Pod":
        return core.patchNamespacedPod(request, opts);
      case "Service":
        return core.patchNamespacedService(request, opts);
      case "Namespace":
        return core.patchNamespace({ name: ref.name, body }, opts);
      case "Node":
        return core.patchNode({ name: ref.name, body }, opts);
    }
  }

  /**
   * One request to any path through the library's own HTTP stack: its KubeConfig applies the bearer
   * token and the TLS agent (caData, skipTLSVerify), as for the typed APIs; the timeout and the
   * caller's signal abort it. Answers the status and the body text; rejects only when no answer came.
   */
  async function send(method: "GET" | "POST" | "DELETE", path: string, body: object | undefined, context: OperationContext): Promise<{ readonly status: number; readonly text: string }> {
    try {
      const { generic, methods } = await apis();
      const request = generic.baseServer.makeRequestContext(path, methods[method]);
      request.setHeaderParam("Accept", "application/json");
      if (body !== undefined) {
        request.setHeaderParam("Content-Type", "application/json");
        request.setBody(JSON.stringify(body));
      }
      await generic.authMethods.default?.applySecurityAuthentication(request);
      request.setSignal(withTimeout(timeoutMs, context.signal));
      const response = await generic.httpApi.send(request).toPromise();
      return { status: response.httpStatusCode, text: await response.body.text() };
    } catch (error) {
      throw kubernetesError(error, `${method} ${path}`);
    }
  }

  const failure = (status: number, text: string, what: string): ActuatorApiError => kubernetesError({ code: status, body: text }, what);

  function parseObject(text: string, what: string, status: number): KubernetesObject {
    try {
      const value: unknown = JSON.parse(text);
      if (isObject(value)) return value;
    } catch {
      // reported below
    }
    throw new ActuatorApiError(`Kubernetes API ${what} answered HTTP ${status} with a body that is not a JSON object`, { status });
  }

  const groupVersionPath = (apiVersion: string): string => (apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
  const collectionPath = (ref: ResourceRef): string =>
    `${groupVersionPath(ref.api.apiVersion)}${ref.namespace === undefined ? "" : `/namespaces/${encodeURIComponent(ref.namespace)}`}/${ref.api.resource}`;
  const objectPath = (ref: ResourceRef): string => `${collectionPath(ref)}/${encodeURIComponent(ref.name)}`;
  const where = (ref: ResourceRef): string => `${ref.api.kind} ${ref.namespace === undefined ? "" : `${ref.namespace}/`}${ref.name}`;

  // apiVersion -> the top-level resources of its discovery document. Only complete answers are kept.
  const discovered = new Map<string, readonly ApiResource[]>();

  async function fetchDiscovery(apiVersion: string, context: OperationContext): Promise<readonly ApiResource[]> {
    const path = groupVersionPath(apiVersion);
    const answer = await send("GET", path, undefined, context);
    if (answer.status === 404) {
      throw new VigilError("VIGIL_BAD_INPUT", `the Kubernetes API server does not serve apiVersion "${apiVersion}" (GET ${path} answered 404): check params.apiVersion (kubectl api-versions lists the served ones)`, {
        field: "params.apiVersion",
      });
    }
    if (answer.status < 200 || answer.status > 299) throw failure(answer.status, answer.text, `GET ${path}`);
    const list = parseObject(answer.text, `GET ${path}`, answer.status);
    const resources = (Array.isArray(list["resources"]) ? list["resources"] : []).filter(isObject).flatMap((entry): ApiResource[] =>
      // INVARIANT: a name with "/" is a subresource (pods/status, deployments/scale), never the object itself.
      typeof entry["name"] === "string" && !entry["name"].includes("/") && typeof entry["kind"] === "string"
        ? [{ apiVersion, kind: entry["kind"], resource: entry["name"], namespaced: entry["namespaced"] === true }]
        : [],
    );
    discovered.set(apiVersion, resources);
    return resources;
  }

  return {
    async discoverResource(apiVersion, kind, context) {
      const cached = discovered.get(apiVersion)?.find((item) => item.kind === kind);
      if (cached !== undefined) return cached;
      const resources = await fetchDiscovery(apiVersion, context);
      const found = resources.find((item) => item.kind === kind);
      if (found === undefined) {
        throw new VigilError(
          "VIGIL_BAD_INPUT",
          `the Kubernetes API server serves no kind "${kind}" in apiVersion "${apiVersion}" (GET ${groupVersionPath(apiVersion)} lists ${resources.map((item) => item.kind).join(", ") || "no resources"}): check params.kind and params.apiVersion`,
          { field: "params.kind" },
        );
      }
      return found;
    },
    async getObject(ref, context) {
      const path = objectPath(ref);
      const answer = await send("GET", path, undefined, context);
      if (answer.status === 404) return undefined;
      if (answer.status < 200 || answer.status > 299) throw failure(answer.status, answer.text, `GET ${path}`);
      return parseObject(answer.text, `GET ${path}`, answer.status);
    },
    async deleteObject(ref, options, context) {
      const path = objectPath(ref);
      const body = {
        kind: "DeleteOptions",
        apiVersion: "v1",
        ...(options.propagationPolicy === undefined ? {} : { propagationPolicy: options.propagationPolicy }),
        ...(options.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: options.gracePeriodSeconds }),
        preconditions: { uid: options.uid },
      };
      const answer = await send("DELETE", path, body, context);
      if (answer.status === 404) return "absent";
      if (answer.status === 409) {
        const error = failure(answer.status, answer.text, `DELETE ${path}`);
        throw new ActuatorApiError(`${error.message}; ${where(ref)} no longer has uid ${options.uid}: it was replaced (deleted and re-created under the same name), so nothing was deleted`, {
          status: 409,
          ...(error.apiCode === undefined ? {} : { apiCode: error.apiCode }),
          cause: error,
        });
      }
      if (answer.status < 200 || answer.status > 299) throw failure(answer.status, answer.text, `DELETE ${path}`);
      return "deleted";
    },
    async createObject(ref, manifest, context) {
      const path = collectionPath(ref);
      const answer = await send("POST", path, manifest, context);
      if (answer.status === 409) {
        const error = failure(answer.status, answer.text, `POST ${path}`);
        throw new ActuatorApiError(`${error.message}; an object ${where(ref)} exists again (re-created since the delete, or still being deleted), so nothing was restored`, {
          status: 409,
          ...(error.apiCode === undefined ? {} : { apiCode: error.apiCode }),
          cause: error,
        });
      }
      if (answer.status < 200 || answer.status > 299) throw failure(answer.status, answer.text, `POST ${path}`);
      return parseObject(answer.text, `POST ${path}`, answer.status);
    },
    async readScale(ref, context) {
      const { apps } = await apis();
      const scale = await call(`GET ${pathOf(ref, "/scale")}`, () =>
        ref.kind === "Deployment" ? apps.readNamespacedDeploymentScale(namespaced(ref), options(context)) : apps.readNamespacedStatefulSetScale(namespaced(ref), options(context)),
      );
      return scale.spec?.replicas ?? 0;
    },
    async patchScale(ref, replicas, context) {
      const request = { ...namespaced(ref), body: { spec: { replicas } } };
      const opts = options(context, MERGE_PATCH);
      const { apps } = await apis();
      const scale = await call(`PATCH ${pathOf(ref, "/scale")}`, () =>
        ref.kind === "Deployment" ? apps.patchNamespacedDeploymentScale(request, opts) : apps.patchNamespacedStatefulSetScale(request, opts),
      );
      return scale.spec?.replicas ?? 0;
    },
    async readMetadata(ref, context) {
      return metadataOf(await call(`GET ${pathOf(ref)}`, () => readObject(ref, context)));
    },
    async patchMetadata(ref, field, values, context) {
      return metadataOf(await call(`PATCH ${pathOf(ref)}`, () => patchObject(ref, { metadata: { [field]: values } }, context)));
    },
    async readPodPhase(ref, context) {
      const { core } = await apis();
      const pod = await call(`GET ${pathOf(ref)}`, () => core.readNamespacedPod(namespaced(ref), options(context)));
      return pod.status?.phase ?? "Unknown";
    },
    async deletePod(ref, gracePeriodSeconds, context) {
      const { core } = await apis();
      await call(`DELETE ${pathOf(ref)}`, () =>
        core.deleteNamespacedPod({ ...namespaced(ref), ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) }, options(context)),
      );
    },
  };
}
