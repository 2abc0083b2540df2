import type { ActionPlan, Actuator } from "../../core/index.js";
import { VigilError } from "../../core/index.js";
import { ActuatorApiError, defineActuator } from "./define.js";
import type { OperationContext } from "./define.js";
import { CLUSTER_SCOPED, METADATA_KINDS, PROPAGATION_POLICIES, SCALABLE_KINDS, createKubernetesClient } from "./kubernetes-client.js";
import type { KubernetesClient, KubernetesObject, ObjectRef, PropagationPolicy, ResourceRef, ScalableKind } from "./kubernetes-client.js";
import { read } from "./params.js";
import type { ActionKindSpec, ActuatorRuntime, KubernetesActuatorConfig, ParamSpec } from "./types.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const namespaceParam: ParamSpec = { name: "namespace", type: "string", required: true, pattern: DNS_LABEL, description: "namespace of the object" };
const nameParam: ParamSpec = { name: "name", type: "string", required: true, pattern: DNS_SUBDOMAIN, description: "object name" };

export const kubernetesScaleToZeroSpec: ActionKindSpec = {
  kind: "kubernetes.scale-to-zero",
  provider: "kubernetes",
  summary: "Scale a Deployment or StatefulSet to zero replicas through its scale subresource (merge patch of spec.replicas).",
  params: [{ name: "kind", type: "string", required: false, default: "Deployment", enum: SCALABLE_KINDS, description: "workload kind" }, namespaceParam, nameParam],
  reversible: true,
  undo: "scales back to the replica count read before the action",
  dryRun: "reads the scale subresource and says from how many replicas it would scale to 0",
};

const metadataParams = (field: "labels" | "annotations"): ParamSpec[] => [
  { name: "kind", type: "string", required: true, enum: METADATA_KINDS, description: "object kind" },
  { ...namespaceParam, required: false, description: "namespace of the object (required unless kind is Namespace or Node)" },
  nameParam,
  { name: field, type: "string-map", required: true, nullableValues: true, description: `${field} to set; a null value removes the key` },
];

export const kubernetesLabelSpec: ActionKindSpec = {
  kind: "kubernetes.label",
  provider: "kubernetes",
  summary: "Set or remove labels on an object (merge patch of metadata.labels), e.g. a quarantine label.",
  params: metadataParams("labels"),
  reversible: true,
  undo: "restores each changed label to its previous value, removing the ones that did not exist",
  dryRun: "reads the object and lists the label changes it would make",
};

export const kubernetesAnnotateSpec: ActionKindSpec = {
  kind: "kubernetes.annotate",
  provider: "kubernetes",
  summary: "Set or remove annotations on an object (merge patch of metadata.annotations).",
  params: metadataParams("annotations"),
  reversible: true,
  undo: "restores each changed annotation to its previous value, removing the ones that did not exist",
  dryRun: "reads the object and lists the annotation changes it would make",
};

export const kubernetesDeletePodSpec: ActionKindSpec = {
  kind: "kubernetes.delete-pod",
  provider: "kubernetes",
  summary: "Delete a pod (its controller, if any, creates a replacement).",
  params: [namespaceParam, nameParam, { name: "gracePeriodSeconds", type: "integer", required: false, min: 0, max: 3600, description: "termination grace period; default: the pod's own" }],
  reversible: false,
  undo: "not reversible: a deleted pod cannot be restored (its controller recreates a new one)",
  dryRun: "reads the pod and reports its phase",
};

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

function refOf(plan: ActionPlan, defaultKind?: string): ObjectRef {
  const kind = read.optionalString(plan.params, "kind") ?? defaultKind ?? "Pod";
  const namespace = read.optionalString(plan.params, "namespace");
  return { kind, name: read.string(plan.params, "name"), ...(namespace === undefined || CLUSTER_SCOPED.has(kind) ? {} : { namespace }) };
}

function checkScope(spec: ActionKindSpec) {
  return (params: Readonly<Record<string, unknown>>): void => {
    const kind = String(params["kind"]);
    if (!CLUSTER_SCOPED.has(kind) && params["namespace"] === undefined) {
      throw new VigilError("VIGIL_BAD_INPUT", `${spec.kind}: params.namespace is required for kind ${kind}`, { field: "params.namespace" });
    }
    if (CLUSTER_SCOPED.has(kind) && params["namespace"] !== undefined) {
      throw new VigilError("VIGIL_BAD_INPUT", `${spec.kind}: params.namespace must be absent for the cluster-scoped kind ${kind}`, { field: "params.namespace" });
    }
  };
}

function metadataActuator(spec: ActionKindSpec, field: "labels" | "annotations", client: KubernetesClient, runtime: ActuatorRuntime): Actuator {
  const changes = (current: Readonly<Record<string, string>>, wanted: Record<string, string | null>) => {
    const previous: Record<string, string | null> = {};
    const changed: Record<string, string | null> = {};
    for (const [key, value] of Object.entries(wanted)) {
      const before = current[key] ?? null;
      if (before === value) continue;
      previous[key] = before;
      changed[key] = value;
    }
    return { previous, changed };
  };
  return defineActuator(spec, runtime, {
    checkParams: checkScope(spec),
    async preview(plan, context) {
      const ref = refOf(plan);
      const current = (await client.readMetadata(ref, context))[field];
      const { previous, changed } = changes(current, read.stringMap(plan.params, field));
      return { object: ref, wouldSet: changed, currentValues: previous };
    },
    async apply(plan, context) {
      const ref = refOf(plan);
      const current = (await client.readMetadata(ref, context))[field];
      const { previous, changed } = changes(current, read.stringMap(plan.params, field));
      if (Object.keys(changed).length === 0) return { output: { object: ref, changed: {} }, undo: { ...ref, previous: {} } };
      const after = await client.patchMetadata(ref, field, changed, context);
      return { output: { object: ref, changed, [field]: after[field] }, undo: { ...ref, previous } };
    },
    async revert(_plan, undo, context) {
      const ref: ObjectRef = {
        kind: String(undo["kind"]),
        name: String(undo["name"]),
        ...(typeof undo["namespace"] === "string" ? { namespace: undo["namespace"] } : {}),
      };
      const previous = (undo["previous"] ?? {}) as Record<string, string | null>;
      if (Object.keys(previous).length === 0) return { object: ref, restored: {} };
      const after = await client.patchMetadata(ref, field, previous, context);
      return { object: ref, restored: previous, [field]: after[field] };
    },
  });
}

/** Metadata the API server sets and owns; a create must not carry them (resourceVersion is refused). */
const SERVER_OWNED_METADATA = ["uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"] as const;
/** Labels the API server adds to a Job's pod template, naming the Job's uid; a re-created Job gets a new uid. */
const JOB_CONTROLLER_UID_LABELS = ["controller-uid", "batch.kubernetes.io/controller-uid"] as const;

const asRecord = (value: unknown): Record<string, unknown> | undefined => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined);
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

/** What kubernetes.delete names: the params (or the undo data) without the delete options. */
interface DeleteTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

function deleteTargetOf(values: Readonly<Record<string, unknown>>): DeleteTarget {
  const namespace = read.optionalString(values, "namespace");
  return { apiVersion: read.string(values, "apiVersion"), kind: read.string(values, "kind"), name: read.string(values, "name"), ...(namespace === undefined ? {} : { namespace }) };
}

const describeTarget = (target: DeleteTarget): string => `${target.kind} ${target.namespace === undefined ? "" : `${target.namespace}/`}${target.name} (${target.apiVersion})`;

/** Resolves the resource from discovery and checks the namespace against its scope. */
async function resolveTarget(client: KubernetesClient, target: DeleteTarget, context: OperationContext): Promise<ResourceRef> {
  const api = await client.discoverResource(target.apiVersion, target.kind, context);
  const kind = kubernetesDeleteSpec.kind;
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

function deleteActuator(client: KubernetesClient, runtime: ActuatorRuntime): Actuator {
  return defineActuator(kubernetesDeleteSpec, runtime, {
    async preview(plan, context) {
      const target = deleteTargetOf(plan.params);
      const live = await client.getObject(await resolveTarget(client, target, context), context);
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
      const target = deleteTargetOf(plan.params);
      const ref = await resolveTarget(client, target, context);
      // INVARIANT: the manifest undo needs is read before the delete.
      const live = await client.getObject(ref, context);
      if (live === undefined) return { output: { object: target, deleted: false, absent: true } };
      const uid = read.optionalString(plan.params, "uid") ?? uidOf(live);
      if (uid === undefined) {
        throw new ActuatorApiError(`Kubernetes API answered ${describeTarget(target)} without metadata.uid; refusing to delete it without a uid precondition`);
      }
      const propagationPolicy = read.optionalString(plan.params, "propagationPolicy") as PropagationPolicy | undefined;
      const gracePeriodSeconds = read.optionalInteger(plan.params, "gracePeriodSeconds");
      const outcome = await client.deleteObject(
        ref,
        { uid, ...(propagationPolicy === undefined ? {} : { propagationPolicy }), ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) },
        context,
      );
      if (outcome === "absent") return { output: { object: target, deleted: false, absent: true } };
      // A Secret's data must not be copied into the action record (results never hold secrets).
      if (ref.api.apiVersion === "v1" && ref.api.kind === "Secret") {
        return { output: { object: target, deleted: true, uid, undoRecorded: false, undoWithheld: "a Secret's manifest holds its data, which is never copied into the action record" } };
      }
      return { output: { object: target, deleted: true, uid }, undo: { ...target, manifest: manifestForRecreate(live) } };
    },
    async revert(_plan, undo, context) {
      const target = deleteTargetOf(undo);
      const manifest = asRecord(undo["manifest"]);
      if (manifest === undefined) throw new VigilError("VIGIL_BAD_INPUT", `${kubernetesDeleteSpec.kind}: the undo data has no manifest to re-create ${describeTarget(target)} from`, { field: "undo.manifest" });
      const created = await client.createObject(await resolveTarget(client, target, context), manifest, context);
      return { object: target, restored: true, uid: uidOf(created) ?? null };
    },
  });
}

/**
 * The Kubernetes actuators (`kubernetes.scale-to-zero`, `kubernetes.label`, `kubernetes.annotate`,
 * `kubernetes.delete-pod`, `kubernetes.delete`) over @kubernetes/client-node with a bearer token
 * against `server`. Patches use `application/merge-patch+json`. Each reads the state undo needs
 * before changing it.
 */
export function createKubernetesActuators(config: KubernetesActuatorConfig, runtime: ActuatorRuntime, client: KubernetesClient = createKubernetesClient(config)): Actuator[] {
  const scaleToZero = defineActuator(kubernetesScaleToZeroSpec, runtime, {
    async preview(plan, context) {
      const ref = refOf(plan, "Deployment") as ObjectRef & { kind: ScalableKind };
      const replicas = await client.readScale(ref, context);
      return { object: ref, currentReplicas: replicas, wouldDo: replicas === 0 ? "nothing: already at 0 replicas" : `scale from ${replicas} to 0 replicas` };
    },
    async apply(plan, context) {
      const ref = refOf(plan, "Deployment") as ObjectRef & { kind: ScalableKind };
      const previousReplicas = await client.readScale(ref, context);
      if (previousReplicas === 0) return { output: { object: ref, previousReplicas, replicas: 0, changed: false }, undo: { ...ref, replicas: 0 } };
      const replicas = await client.patchScale(ref, 0, context);
      return { output: { object: ref, previousReplicas, replicas, changed: true }, undo: { ...ref, replicas: previousReplicas } };
    },
    async revert(_plan, undo, context) {
      const ref = { kind: String(undo["kind"]) as ScalableKind, name: String(undo["name"]), namespace: String(undo["namespace"]) };
      const wanted = Number(undo["replicas"]);
      if (wanted === 0) return { object: ref, replicas: 0, changed: false };
      const replicas = await client.patchScale(ref, wanted, context);
      return { object: ref, replicas, changed: true };
    },
  });

  const deletePod = defineActuator(kubernetesDeletePodSpec, runtime, {
    async preview(plan, context) {
      const ref = refOf(plan, "Pod");
      const phase = await client.readPodPhase(ref, context);
      return { object: ref, phase, wouldDo: "delete the pod" };
    },
    async apply(plan, context) {
      const ref = refOf(plan, "Pod");
      await client.deletePod(ref, read.optionalInteger(plan.params, "gracePeriodSeconds"), context);
      return { output: { object: ref, deleted: true } };
    },
  });

  return [
    scaleToZero,
    metadataActuator(kubernetesLabelSpec, "labels", client, runtime),
    metadataActuator(kubernetesAnnotateSpec, "annotations", client, runtime),
    deletePod,
    deleteActuator(client, runtime),
  ];
}
