/**
 * The Kubernetes actuators for objects of any kind the API server serves (resource and scope from
 * its discovery document): `kubernetes.delete` (re-created on undo) here, and the object lookup it
 * shares with `kubernetes.patch` (kubernetes-patch.ts). Registered by createKubernetesActuators
 * (kubernetes.ts).
 */
import type { Actuator } from "../../core/index.js";
import { VigilError } from "../../core/index.js";
import { ActuatorApiError, defineActuator } from "./define.js";
import type { OperationContext } from "./define.js";
import type { KubernetesClient } from "./kubernetes-client.js";
import { PROPAGATION_POLICIES } from "./kubernetes-objects.js";
import type { KubernetesObject, PropagationPolicy, ResourceRef } from "./kubernetes-objects.js";
import { read } from "./params.js";
import type { ActionKindSpec, ActuatorRuntime, ParamSpec } from "./types.js";

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
export const namespaceParam: ParamSpec = { name: "namespace", type: "string", required: true, pattern: DNS_LABEL, description: "namespace of the object" };
export const nameParam: ParamSpec = { name: "name", type: "string", required: true, pattern: DNS_SUBDOMAIN, description: "object name" };

/** `v1`, `apps/v1`, `batch/v1`, `example.com/v1beta1`: an optional group (a DNS subdomain), then a version. */
const API_VERSION = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Za-z][A-Za-z0-9]{0,62}$/;
const UID = /^[A-Za-z0-9][-A-Za-z0-9]{0,63}$/;

export const kubernetesDeleteSpec: ActionKindSpec = {
  kind: "kubernetes.delete",
  provider: "kubernetes",
  summary:
    "Delete one object of any kind the API server serves (resource and scope from its discovery document), only while it still has the uid read (or given); e.g. for Kyverno cleanup policies.",
  params: [
    { name: "apiVersion", type: "string", required: true, pattern: API_VERSION, description: "apiVersion of the object, e.g. v1, apps/v1, batch/v1" },
    { name: "kind", type: "string", required: true, pattern: KIND, description: "kind of the object, e.g. Pod, Job, ConfigMap" },
    { ...namespaceParam, required: false, description: "namespace of the object: required for a namespaced kind, absent for a cluster-scoped one (the API server's discovery document decides)" },
    nameParam,
    { name: "uid", type: "string", required: false, pattern: UID, description: "precondition: delete only if the live object still has this uid; default: the uid read just before the delete" },
    { name: "propagationPolicy", type: "string", required: false, enum: PROPAGATION_POLICIES, description: "what happens to dependents (garbage collection); default: the kind's own" },
    { name: "gracePeriodSeconds", type: "integer", required: false, min: 0, max: 3600, description: "termination grace period; default: the object's own" },
  ],
  reversible: true,
  undo: "re-creates the object from the manifest read before the delete: it gets a new uid, its status is not restored (a re-created Job or Pod runs again), objects removed by cascading deletion are not restored, and a deleted Secret records no manifest so it cannot be restored",
  dryRun: "reads the object and says what would be deleted, its uid and whether the uid precondition holds, or that it is already absent",
};

/** Metadata the API server sets and owns; a create must not carry them (resourceVersion is refused). */
export const SERVER_OWNED_METADATA = ["uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"] as const;
/** Labels the API server adds to a Job's pod template, naming the Job's uid; a re-created Job gets a new uid. */
const JOB_CONTROLLER_UID_LABELS = ["controller-uid", "batch.kubernetes.io/controller-uid"] as const;

export const asRecord = (value: unknown): Record<string, unknown> | undefined => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined);
const uidOf = (object: KubernetesObject): string | undefined => {
  const uid = asRecord(object["metadata"])?.["uid"];
  return typeof uid === "string" && uid !== "" ? uid : undefined;
};

/**
 * The manifest undo re-creates an object from: the object as read, without `status` and the
 * metadata the server owns. A Job whose selector the server generated (no `spec.manualSelector`)
 * also loses `spec.selector` and the controller-uid labels of its pod template: they name the old
 * uid, and the server refuses a new Job whose selector it did not generate for the new uid.
 */
export function manifestForRecreate(object: KubernetesObject): KubernetesObject {
  const { status: _status, ...manifest } = structuredClone(object);
  const metadata = asRecord(manifest["metadata"]);
  if (metadata) for (const field of SERVER_OWNED_METADATA) delete metadata[field];
  const spec = asRecord(manifest["spec"]);
  if (manifest["apiVersion"] === "batch/v1" && manifest["kind"] === "Job" && spec && spec["manualSelector"] !== true) {
    delete spec["selector"];
    const labels = asRecord(asRecord(asRecord(spec["template"])?.["metadata"])?.["labels"]);
    if (labels) for (const label of JOB_CONTROLLER_UID_LABELS) delete labels[label];
  }
  return manifest;
}

/** The object kubernetes.delete and kubernetes.patch name: their params (or undo data) without the options. */
export interface ObjectTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export function targetOf(values: Readonly<Record<string, unknown>>): ObjectTarget {
  const namespace = read.optionalString(values, "namespace");
  return { apiVersion: read.string(values, "apiVersion"), kind: read.string(values, "kind"), name: read.string(values, "name"), ...(namespace === undefined ? {} : { namespace }) };
}

export const describeTarget = (target: ObjectTarget): string => `${target.kind} ${target.namespace === undefined ? "" : `${target.namespace}/`}${target.name} (${target.apiVersion})`;

/** Resolves the resource from discovery and checks the namespace against its scope. */
export async function resolveTarget(client: KubernetesClient, target: ObjectTarget, kind: string, context: OperationContext): Promise<ResourceRef> {
  const api = await client.discoverResource(target.apiVersion, target.kind, context);
  if (api.namespaced && target.namespace === undefined) {
    throw new VigilError("VIGIL_BAD_INPUT", `${kind}: params.namespace is required: ${target.kind} (${target.apiVersion}, resource ${api.resource}) is namespaced`, { field: "params.namespace" });
  }
  if (!api.namespaced && target.namespace !== undefined) {
    throw new VigilError("VIGIL_BAD_INPUT", `${kind}: params.namespace must be absent: ${target.kind} (${target.apiVersion}, resource ${api.resource}) is cluster-scoped`, {
      field: "params.namespace",
    });
  }
  return { api, name: target.name, ...(target.namespace === undefined ? {} : { namespace: target.namespace }) };
}

/** True when every value `wanted` sets is in `actual` (the fields the API server defaults, and its metadata, may be more). */
export function contains(actual: unknown, wanted: unknown): boolean {
  if (Array.isArray(wanted)) return Array.isArray(actual) && actual.length === wanted.length && wanted.every((item, i) => contains(actual[i], item));
  const want = asRecord(wanted);
  if (want === undefined) return actual === wanted;
  const have = asRecord(actual);
  return have !== undefined && Object.entries(want).every(([key, item]) => contains(have[key], item));
}

export function deleteActuator(client: KubernetesClient, runtime: ActuatorRuntime): Actuator {
  return defineActuator(kubernetesDeleteSpec, runtime, {
    async preview(plan, context) {
      const target = targetOf(plan.params);
      const live = await client.getObject(await resolveTarget(client, target, kubernetesDeleteSpec.kind, context), context);
      if (live === undefined) return { object: target, absent: true, wouldDo: `nothing: ${describeTarget(target)} is already absent` };
      const uid = uidOf(live);
      const wanted = read.optionalString(plan.params, "uid") ?? uid;
      const preconditionHolds = uid !== undefined && wanted === uid;
      const policy = read.optionalString(plan.params, "propagationPolicy");
      return {
        object: target,
        uid: uid ?? null,
        preconditionUid: wanted ?? null,
        preconditionHolds,
        wouldDo: preconditionHolds
          ? `delete ${describeTarget(target)} (uid ${uid})${policy === undefined ? "" : ` with propagationPolicy ${policy}`}`
          : `nothing: the live object's uid ${uid ?? "(none)"} is not the precondition uid ${wanted ?? "(none)"}, so the API server would refuse the delete (409 Conflict)`,
      };
    },
    async apply(plan, context) {
      const target = targetOf(plan.params);
      const ref = await resolveTarget(client, target, kubernetesDeleteSpec.kind, context);
      // INVARIANT: the manifest undo needs is read before the delete.
      const live = await client.getObject(ref, context);
      if (live === undefined) return { output: { object: target, deleted: false, absent: true } };
      const uid = read.optionalString(plan.params, "uid") ?? uidOf(live);
      if (uid === undefined) {
        throw new ActuatorApiError(`Kubernetes API answered ${describeTarget(target)} without metadata.uid; refusing to delete it without a uid precondition`);
      }
      const propagationPolicy = read.optionalString(plan.params, "propagationPolicy") as PropagationPolicy | undefined;
      const gracePeriodSeconds = read.optionalInteger(plan.params, "gracePeriodSeconds");
      let outcome: "deleted" | "absent";
      let note: { note?: string } = {};
      try {
        outcome = await client.deleteObject(
          ref,
          { uid, ...(propagationPolicy === undefined ? {} : { propagationPolicy }), ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) },
          context,
        );
      } catch (error) {
        // The API server may have deleted it and answered 504 Timeout (the request outlived its
        // deadline), or the answer was lost: read again, so a delete that took effect keeps the
        // manifest undo re-creates it from. A refusal (4xx: 409 Conflict, 403) stands.
        if (!(error instanceof ActuatorApiError) || (error.status !== undefined && error.status < 500)) throw error;
        const now = await client.getObject(ref, context).catch(() => null);
        const deleting = now !== null && now !== undefined && uidOf(now) === uid && asRecord(now["metadata"])?.["deletionTimestamp"] !== undefined;
        if (now !== undefined && !deleting) throw error;
        outcome = "deleted";
        note = { note: `the DELETE failed (${error.message}), but a second read finds it ${now === undefined ? "absent" : "being deleted"}: it took effect` };
      }
      if (outcome === "absent") return { output: { object: target, deleted: false, absent: true } };
      // A Secret's data must not be copied into the action record (results never hold secrets).
      if (ref.api.apiVersion === "v1" && ref.api.kind === "Secret") {
        return { output: { object: target, deleted: true, uid, ...note, undoRecorded: false, undoWithheld: "a Secret's manifest holds its data, which is never copied into the action record" } };
      }
      return { output: { object: target, deleted: true, uid, ...note }, undo: { ...target, manifest: manifestForRecreate(live) } };
    },
    async revert(_plan, undo, context) {
      const target = targetOf(undo);
      const manifest = asRecord(undo["manifest"]);
      if (manifest === undefined) throw new VigilError("VIGIL_BAD_INPUT", `${kubernetesDeleteSpec.kind}: the undo data has no manifest to re-create ${describeTarget(target)} from`, { field: "undo.manifest" });
      const ref = await resolveTarget(client, target, kubernetesDeleteSpec.kind, context);
      try {
        const created = await client.createObject(ref, manifest, context);
        return { object: target, restored: true, uid: uidOf(created) ?? null };
      } catch (error) {
        // An earlier POST stored but answered 504 Timeout (or its answer was lost): the object is
        // there as the manifest makes it (a 409 on an undo again). A different object of that name stands in the way.
        if (!(error instanceof ActuatorApiError) || (error.status !== undefined && error.status !== 409 && error.status < 500)) throw error;
        const now = await client.getObject(ref, context).catch(() => undefined);
        if (now === undefined || !contains(now, manifest)) throw error;
        return { object: target, restored: true, uid: uidOf(now) ?? null, note: `the POST failed (${error.message}), but a second read finds it as the manifest: it was re-created` };
      }
    },
  });
}
