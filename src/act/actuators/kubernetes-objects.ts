/**
 * The generic Kubernetes object calls: any kind the API server serves, addressed through its
 * discovery document (GET, DELETE with a uid precondition, POST, JSON Patch). They run over the
 * request function of kubernetes-client.ts, which owns the HTTP stack (auth, TLS, timeout, abort).
 */
import { VigilError } from "../../core/index.js";
import type { JsonPatchOperation } from "../../policy/kyverno/json-patch.js";
import { ActuatorApiError } from "./define.js";
import type { OperationContext } from "./define.js";

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

/**
 * What a JSON Patch came to: the patched object the server answered, or a `test` operation that
 * failed (422: the server changed nothing), with the path it tested.
 */
export type JsonPatchOutcome =
  | { readonly status: "patched"; readonly object: KubernetesObject }
  | { readonly status: "test-failed"; readonly path: string; readonly failure: ActuatorApiError };

/** The generic object calls of KubernetesClient. */
export interface KubernetesObjectCalls {
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
  /**
   * PATCH with `Content-Type: application/json-patch+json`, the operations as the body. A 422 whose
   * Status names a failed `test` operation ("testing value /x failed") is the outcome
   * `test-failed` (the server applies a patch whole or not at all, so nothing changed); any other
   * failure, a 404 included, throws ActuatorApiError naming the Status reason, message and causes.
   */
  jsonPatchObject(ref: ResourceRef, operations: readonly JsonPatchOperation[], context: OperationContext): Promise<JsonPatchOutcome>;
}

/** A request body and its media type. */
export interface RequestBody {
  readonly contentType: string;
  readonly value: unknown;
}

/**
 * One request to an API path through the client's HTTP stack (auth, TLS, timeout, abort); answers
 * the status and the body text, rejects (with ActuatorApiError) only when no answer came.
 */
export type SendRequest = (
  method: "GET" | "POST" | "DELETE" | "PATCH",
  path: string,
  body: RequestBody | undefined,
  context: OperationContext,
) => Promise<{ readonly status: number; readonly text: string }>;

/** RFC 6902 JSON Patch, one of the three patch types the API server accepts. */
export const JSON_PATCH = "application/json-patch+json";

/** A Kubernetes `Status` error body, as the API server returns it. */
interface StatusBody {
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
  readonly details?: { readonly causes?: readonly { readonly message?: string }[] };
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

/** The `details.causes` messages a Status message does not already say (a 422 from a JSON Patch says only "the server rejected our request"). */
function extraCauses(status: StatusBody | undefined): string[] {
  const causes = Array.isArray(status?.details?.causes) ? status.details.causes : [];
  return causes.flatMap((cause) => (typeof cause?.message === "string" && cause.message !== "" && !(status?.message ?? "").includes(cause.message) ? [cause.message] : []));
}

/** Turns the client's ApiException (or a network error) into an ActuatorApiError naming the Status reason, message and causes. */
export function kubernetesError(error: unknown, what: string): ActuatorApiError {
  const failure = error as { code?: unknown; body?: unknown; message?: string };
  if (typeof failure?.code === "number" && failure.code >= 100) {
    const status = statusBody(failure.body);
    const reason = status?.reason ?? (failure.code === 401 ? "Unauthorized" : undefined);
    const causes = extraCauses(status);
    return new ActuatorApiError(
      `Kubernetes API ${what} answered HTTP ${failure.code}${reason ? ` ${reason}` : ""}: ${status?.message ?? "(no Status message)"}${causes.length > 0 ? ` (${causes.join("; ")})` : ""}`,
      { status: failure.code, ...(reason ? { apiCode: reason } : {}), cause: error },
    );
  }
  return new ActuatorApiError(`Kubernetes API ${what} got no answer: ${failure?.message ?? String(error)}`, { cause: error });
}

/** The path a failed `test` operation names in a 422 Status (evanphx/json-patch: "testing value /metadata/resourceVersion failed: test failed"). */
function failedTestPath(text: string): string | undefined {
  const status = statusBody(text);
  const causes = Array.isArray(status?.details?.causes) ? status.details.causes : [];
  for (const message of [status?.message, ...causes.map((cause) => cause?.message)]) {
    const match = typeof message === "string" ? /testing value (\S*) failed/i.exec(message) : null;
    if (match) return match[1] ?? "";
  }
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Creates the generic object calls over `send`; discovery documents are cached in the returned calls. */
export function createKubernetesObjectCalls(send: SendRequest): KubernetesObjectCalls {
  const failure = (status: number, text: string, what: string): ActuatorApiError => kubernetesError({ code: status, body: text }, what);
  /** Re-throws `error` with `consequence` appended, keeping its status and code. */
  const explained = (error: ActuatorApiError, consequence: string): ActuatorApiError =>
    new ActuatorApiError(`${error.message}; ${consequence}`, {
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.apiCode === undefined ? {} : { apiCode: error.apiCode }),
      cause: error,
    });

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
      const answer = await send("DELETE", path, { contentType: "application/json", value: body }, context);
      if (answer.status === 404) return "absent";
      if (answer.status === 409) {
        throw explained(
          failure(answer.status, answer.text, `DELETE ${path}`),
          `${where(ref)} no longer has uid ${options.uid}: it was replaced (deleted and re-created under the same name), so nothing was deleted`,
        );
      }
      if (answer.status < 200 || answer.status > 299) throw failure(answer.status, answer.text, `DELETE ${path}`);
      return "deleted";
    },
    async createObject(ref, manifest, context) {
      const path = collectionPath(ref);
      const answer = await send("POST", path, { contentType: "application/json", value: manifest }, context);
      if (answer.status === 409) {
        throw explained(
          failure(answer.status, answer.text, `POST ${path}`),
          `an object ${where(ref)} exists again (re-created since the delete, or still being deleted), so nothing was restored`,
        );
      }
      if (answer.status < 200 || answer.status > 299) throw failure(answer.status, answer.text, `POST ${path}`);
      return parseObject(answer.text, `POST ${path}`, answer.status);
    },
    async jsonPatchObject(ref, operations, context) {
      const path = objectPath(ref);
      const answer = await send("PATCH", path, { contentType: JSON_PATCH, value: operations }, context);
      if (answer.status === 422) {
        const tested = failedTestPath(answer.text);
        if (tested !== undefined) return { status: "test-failed", path: tested, failure: failure(answer.status, answer.text, `PATCH ${path}`) };
      }
      if (answer.status < 200 || answer.status > 299) throw failure(answer.status, answer.text, `PATCH ${path}`);
      return { status: "patched", object: parseObject(answer.text, `PATCH ${path}`, answer.status) };
    },
  };
}
