/**
 * The source object a Kubernetes action copies content from when it applies: `cloneFrom` of
 * `kubernetes.create` (a Kyverno clone: the copy) and `copyFrom` of `kubernetes.patch` (a
 * synchronized copy brought back to its source). The content is read from the cluster then, so
 * it never appears in the plan or the action record (a Secret's data). Shared by
 * kubernetes-create.ts and kubernetes-patch.ts.
 */
import { VigilError } from "../../core/index.js";
import type { OperationContext } from "./define.js";
import type { KubernetesClient } from "./kubernetes-client.js";
import { asRecord, describeTarget, type ObjectTarget } from "./kubernetes-generic.js";
import type { KubernetesObject, ResourceRef } from "./kubernetes-objects.js";

/** The source named by a plan: an object of the target's apiVersion and kind, and the uid it must still have (optional). */
export interface SourceRef {
  readonly source: ObjectTarget;
  readonly uid?: string;
}

/** Checks `params[param]` as `{namespace?, name, uid?}`; absent is fine. Errors name the field (`params.cloneFrom.name`). */
export function checkSourceParam(kind: string, params: Readonly<Record<string, unknown>>, param: string, purpose: string): void {
  const value = params[param];
  if (value === undefined) return;
  const source = asRecord(value);
  if (source === undefined) throw new VigilError("VIGIL_BAD_INPUT", `${kind}: params.${param} must be an object {namespace, name, uid?} naming the object to ${purpose}`, { field: `params.${param}` });
  for (const field of ["name", "namespace", "uid"] as const) {
    const item = source[field];
    if (item === undefined && field !== "name") continue;
    if (typeof item !== "string" || item === "") throw new VigilError("VIGIL_BAD_INPUT", `${kind}: params.${param}.${field} must be a non-empty string${field === "name" ? ` (the object to ${purpose})` : ""}`, { field: `params.${param}.${field}` });
  }
  const extra = Object.keys(source).find((field) => field !== "name" && field !== "namespace" && field !== "uid");
  if (extra !== undefined) throw new VigilError("VIGIL_BAD_INPUT", `${kind}: params.${param}.${extra} is not a field of ${param} (it takes namespace, name and uid)`, { field: `params.${param}.${extra}` });
}

/** `params[param]` as the source object of `target`'s apiVersion and kind, or undefined when the plan names none. */
export function sourceOf(params: Readonly<Record<string, unknown>>, param: string, target: ObjectTarget): SourceRef | undefined {
  const clone = asRecord(params[param]);
  if (clone === undefined) return undefined;
  const namespace = typeof clone["namespace"] === "string" && clone["namespace"] !== "" ? clone["namespace"] : undefined;
  const uid = typeof clone["uid"] === "string" ? clone["uid"] : undefined;
  return { source: { apiVersion: target.apiVersion, kind: target.kind, name: String(clone["name"]), ...(namespace === undefined ? {} : { namespace }) }, ...(uid === undefined ? {} : { uid }) };
}

export const uidOf = (object: KubernetesObject): string | undefined => {
  const uid = asRecord(object["metadata"])?.["uid"];
  return typeof uid === "string" && uid !== "" ? uid : undefined;
};

/**
 * The live source (in the target's resource `ref`: same apiVersion and kind), checked against its
 * uid when the plan names one. Throws VIGIL_NOT_FOUND (gone) or VIGIL_CONFLICT (another uid: deleted
 * and re-created since); `unchanged` says what was not done ("nothing was created").
 */
export async function readSource(client: KubernetesClient, ref: ResourceRef, named: SourceRef, what: { readonly kind: string; readonly param: string; readonly unchanged: string }, context: OperationContext): Promise<KubernetesObject> {
  const source = await client.getObject({ api: ref.api, name: named.source.name, ...(named.source.namespace === undefined ? {} : { namespace: named.source.namespace }) }, context);
  if (source === undefined) throw new VigilError("VIGIL_NOT_FOUND", `${what.kind}: the source ${describeTarget(named.source)} (params.${what.param}) does not exist (anymore); ${what.unchanged}`, { field: `params.${what.param}` });
  if (named.uid !== undefined && uidOf(source) !== named.uid) {
    throw new VigilError("VIGIL_CONFLICT", `${what.kind}: the source ${describeTarget(named.source)} (params.${what.param}) has uid ${uidOf(source) ?? "none"}, not ${named.uid} as planned (deleted and re-created since); ${what.unchanged}`, { field: `params.${what.param}.uid` });
  }
  return source;
}

/** The fields of an object that are its content: every top-level field but apiVersion, kind, metadata and status. */
export function contentFields(object: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(object).filter((field) => field !== "apiVersion" && field !== "kind" && field !== "metadata" && field !== "status" && object[field] !== undefined);
}
