import type { AppsV1Api, Configuration, ConfigurationOptions, CoreV1Api, HttpMethod } from "@kubernetes/client-node";
import { VigilError } from "../../core/index.js";
import { requireText, requireUrl } from "./config-checks.js";
import { withTimeout } from "./define.js";
import type { OperationContext } from "./define.js";
import { createKubernetesObjectCalls, kubernetesError } from "./kubernetes-objects.js";
import type { KubernetesObjectCalls, SendRequest } from "./kubernetes-objects.js";
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

/**
 * The Kubernetes API calls the actuators make, through @kubernetes/client-node with bearer-token
 * auth: typed calls for the fixed kinds here, the generic object calls of kubernetes-objects.ts.
 */
export interface KubernetesClient extends KubernetesObjectCalls {
  readScale(ref: ObjectRef & { kind: ScalableKind }, context: OperationContext): Promise<number>;
  /** Merge-patches `spec.replicas` of the scale subresource; returns the replicas the server answered. */
  patchScale(ref: ObjectRef & { kind: ScalableKind }, replicas: number, context: OperationContext): Promise<number>;
  readMetadata(ref: ObjectRef, context: OperationContext): Promise<ObjectMetadata>;
  /** Merge-patches `metadata.labels`/`metadata.annotations`; a null value removes the key. */
  patchMetadata(ref: ObjectRef, field: "labels" | "annotations", values: Readonly<Record<string, string | null>>, context: OperationContext): Promise<ObjectMetadata>;
  readPodPhase(ref: ObjectRef, context: OperationContext): Promise<string>;
  deletePod(ref: ObjectRef, gracePeriodSeconds: number | undefined, context: OperationContext): Promise<void>;
}

/** RFC 7386 JSON merge patch (the client library's PatchStrategy.MergePatch). */
const MERGE_PATCH = "application/merge-patch+json";

/** Receives the library's Configuration (auth, TLS agent, base URL) for requests to any path. */
class GenericApi {
  constructor(readonly configuration: Configuration) {}
}

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
  const send: SendRequest = async (method, path, body, context) => {
    try {
      const { generic, methods } = await apis();
      const request = generic.baseServer.makeRequestContext(path, methods[method]);
      request.setHeaderParam("Accept", "application/json");
      if (body !== undefined) {
        request.setHeaderParam("Content-Type", body.contentType);
        request.setBody(JSON.stringify(body.value));
      }
      await generic.authMethods.default?.applySecurityAuthentication(request);
      request.setSignal(withTimeout(timeoutMs, context.signal));
      const response = await generic.httpApi.send(request).toPromise();
      return { status: response.httpStatusCode, text: await response.body.text() };
    } catch (error) {
      throw kubernetesError(error, `${method} ${path}`);
    }
  };

  return {
    ...createKubernetesObjectCalls(send),
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
