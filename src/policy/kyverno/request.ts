/**
 * The admission request as Kyverno policies see it, built from an AdmissionReview, a bare
 * resource (background scan / `kyverno test`), or test values. Pure data, no I/O.
 */
import type { KubernetesContext } from "../../core/context.js";
import { extendableCopy } from "./objects.js";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface UserInfo {
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

export type KubeObject = Record<string, unknown>;

export interface AdmissionInput {
  readonly operation: Operation;
  /** The new object (null on DELETE). */
  readonly object: KubeObject | null;
  readonly oldObject: KubeObject | null;
  readonly userInfo: UserInfo;
  readonly roles: readonly string[];
  readonly clusterRoles: readonly string[];
  readonly subResource: string;
  readonly dryRun: boolean;
  /** Labels of the object's namespace (for namespaceSelector), when known. */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** The Namespace object (CEL `namespaceObject`), when known. */
  readonly namespaceObject?: KubeObject;
  /** Raw AdmissionReview request when the input was one. */
  readonly raw?: Readonly<Record<string, unknown>>;
}

function isObject(value: unknown): value is KubeObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The object a request is about: `object`, or `oldObject` on DELETE. */
export function subjectObject(input: AdmissionInput): KubeObject {
  return input.object ?? input.oldObject ?? {};
}

export function metadataOf(object: KubeObject): Record<string, unknown> {
  return isObject(object["metadata"]) ? object["metadata"] : {};
}

export function stringMap(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) out[k] = typeof v === "string" ? v : String(v);
  return out;
}

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export function gvkOf(object: KubeObject): GroupVersionKind {
  const apiVersion = typeof object["apiVersion"] === "string" ? object["apiVersion"] : "";
  const kind = typeof object["kind"] === "string" ? object["kind"] : "";
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? { group: "", version: apiVersion, kind } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind };
}

/** Builds an AdmissionInput from an AdmissionReview (v1 or v1beta1) or a bare Kubernetes object. */
export function toAdmissionInput(input: unknown): AdmissionInput | undefined {
  if (!isObject(input)) return undefined;
  if (input["kind"] === "AdmissionReview" && isObject(input["request"])) {
    const request = input["request"];
    const userInfo = isObject(request["userInfo"]) ? (request["userInfo"] as UserInfo) : {};
    const operation = (typeof request["operation"] === "string" ? request["operation"] : "CREATE") as Operation;
    return {
      operation,
      object: isObject(request["object"]) ? request["object"] : null,
      oldObject: isObject(request["oldObject"]) ? request["oldObject"] : null,
      userInfo,
      roles: [],
      clusterRoles: [],
      subResource: typeof request["subResource"] === "string" ? request["subResource"] : "",
      dryRun: request["dryRun"] === true,
      raw: request,
    };
  }
  return resourceInput(input);
}

/** The last context's input (cheaper than a WeakMap entry per review, which every review would add and look up). */
let lastInput: { readonly ctx: object; readonly input: AdmissionInput | undefined } | undefined;

/**
 * `toAdmissionInput(ctx.input)`, computed once per evaluation context: every Kyverno policy of a
 * PolicySet evaluation sees the same context object, one after the other, so they share one
 * AdmissionInput (and, through `sharedBaseDocument`, one base variable document).
 * INVARIANT: contexts are not mutated.
 */
export function admissionInputFor(ctx: { readonly input: unknown; readonly kubernetes?: KubernetesContext }): AdmissionInput | undefined {
  if (lastInput !== undefined && lastInput.ctx === ctx) return lastInput.input;
  let input = toAdmissionInput(ctx.input);
  // The namespace the context stage found in the cluster cache: its labels for namespaceSelector, the object for CEL.
  const kubernetes = ctx.kubernetes;
  if (input !== undefined && kubernetes !== undefined) input = withCluster(input, kubernetes.namespaceObject, kubernetes);
  lastInput = { ctx, input };
  return input;
}

/**
 * The input with what the cluster knows: its namespace's labels (namespaceSelector) and object
 * (CEL `namespaceObject`) unless it has labels already, and the requester's roles and cluster
 * roles unless it has some.
 */
export function withCluster(input: AdmissionInput, namespaceObject: Readonly<Record<string, unknown>> | undefined, bound: { readonly roles?: readonly string[]; readonly clusterRoles?: readonly string[] } = {}): AdmissionInput {
  const addNamespace = namespaceObject !== undefined && input.namespaceLabels === undefined;
  const addRoles = (bound.roles?.length ?? 0) + (bound.clusterRoles?.length ?? 0) > 0 && input.roles.length === 0 && input.clusterRoles.length === 0;
  if (!addNamespace && !addRoles) return input;
  return {
    ...input,
    ...(addNamespace ? { namespaceLabels: stringMap(metadataOf(namespaceObject)["labels"]), namespaceObject: namespaceObject as KubeObject } : {}),
    ...(addRoles ? { roles: bound.roles ?? [], clusterRoles: bound.clusterRoles ?? [] } : {}),
  };
}

/** A CREATE request for a resource (how `kyverno test` and background scans evaluate). */
export function resourceInput(object: KubeObject, overrides: Partial<AdmissionInput> = {}): AdmissionInput {
  return {
    operation: "CREATE",
    object,
    oldObject: null,
    userInfo: {},
    roles: [],
    clusterRoles: [],
    subResource: "",
    dryRun: false,
    ...overrides,
  };
}

/** The `request` document Kyverno variables read (`request.object`, `request.userInfo`, ...). */
export function requestDocument(input: AdmissionInput): Record<string, unknown> {
  const object = subjectObject(input);
  const meta = metadataOf(object);
  const gvk = gvkOf(object);
  // `{ ...input.raw, ...base }`, key by key (extendableCopy: a spread clone is slow to extend).
  const doc: Record<string, unknown> = input.raw ? extendableCopy(input.raw) : {};
  doc["operation"] = input.operation;
  doc["object"] = input.object;
  doc["oldObject"] = input.oldObject;
  doc["userInfo"] = input.userInfo;
  doc["roles"] = input.roles;
  doc["clusterRoles"] = input.clusterRoles;
  doc["namespace"] = typeof meta["namespace"] === "string" ? meta["namespace"] : gvk.kind === "Namespace" ? meta["name"] ?? "" : "";
  doc["name"] = meta["name"] ?? "";
  doc["kind"] = { group: gvk.group, version: gvk.version, kind: gvk.kind };
  doc["subResource"] = input.subResource;
  doc["dryRun"] = input.dryRun;
  return doc;
}

/** Where a Secret keeps its values besides data and stringData: the copy kubectl apply leaves in an annotation. */
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** A v1 Secret without its values (`data`, `stringData`, kubectl's last-applied annotation); any other value as it is. */
export function secretWithoutValues(object: unknown): unknown {
  if (object === null || typeof object !== "object" || Array.isArray(object)) return object;
  const record = object as Record<string, unknown>;
  if (record["kind"] !== "Secret" || (record["apiVersion"] !== undefined && record["apiVersion"] !== "v1")) return object;
  const { data: _data, stringData: _stringData, ...rest } = record;
  const meta = rest["metadata"] as Record<string, unknown> | undefined;
  const annotations = meta?.["annotations"] as Record<string, unknown> | undefined;
  if (annotations?.[LAST_APPLIED] === undefined) return rest;
  const { [LAST_APPLIED]: _applied, ...kept } = annotations;
  return { ...rest, metadata: { ...meta, annotations: kept } };
}

/**
 * An AdmissionReview of a Secret with its object and oldObject without their values
 * (secretWithoutValues); any other review as it is. For the `dev.vigil.generate` events Vigil
 * hands to its ingest loop: they are stored in the event store (not masked) and their decisions
 * record them as input, while generation never needs the values (a synchronized copy is compared
 * with its source read from the cluster; a Secret is copied by the actions' cloneFrom / copyFrom
 * when they apply).
 */
export function reviewWithoutSecretValues(review: unknown): unknown {
  const request = (review as { request?: Record<string, unknown> } | null)?.request;
  const kind = request?.["kind"] as { group?: unknown; kind?: unknown } | undefined;
  if (request === undefined || kind?.kind !== "Secret" || (kind.group ?? "") !== "") return review;
  return { ...(review as Record<string, unknown>), request: { ...request, object: secretWithoutValues(request["object"]), oldObject: secretWithoutValues(request["oldObject"]) } };
}
