import type { ActionPlan, Actuator } from "../../core/index.js";
import { VigilError } from "../../core/index.js";
import { ActuatorApiError, defineActuator } from "./define.js";
import { CLUSTER_SCOPED, METADATA_KINDS, SCALABLE_KINDS, createKubernetesClient } from "./kubernetes-client.js";
import type { KubernetesClient, ObjectRef, ScalableKind } from "./kubernetes-client.js";
import { read } from "./params.js";
import type { ActionKindSpec, ActuatorRuntime, KubernetesActuatorConfig, ParamSpec } from "./types.js";

import { deleteActuator, nameParam, namespaceParam } from "./kubernetes-generic.js";
import { patchActuator } from "./kubernetes-patch.js";
import { createActuator } from "./kubernetes-create.js";
export { kubernetesDeleteSpec, manifestForRecreate } from "./kubernetes-generic.js";
export { kubernetesPatchSpec, restoreOperations, restorePaths } from "./kubernetes-patch.js";
export { kubernetesCreateSpec } from "./kubernetes-create.js";

export const kubernetesScaleToZeroSpec: ActionKindSpec = {
  kind: "kubernetes.scale-to-zero",
  provider: "kubernetes",
  summary: "Scale a Deployment or StatefulSet to zero replicas through its scale subresource (merge patch of spec.replicas).",
  params: [{ name: "kind", type: "string", required: false, default: "Deployment", enum: SCALABLE_KINDS, description: "workload kind" }, namespaceParam, nameParam],
  reversible: true,
  undo: "scales back to the replica count read before the action, if the workload is still at 0 (one scaled since keeps its count: the undo fails saying so)",
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
  undo: "restores each changed label to its previous value, removing the ones that did not exist; a label changed since the action keeps its newer value",
  dryRun: "reads the object and lists the label changes it would make",
};

export const kubernetesAnnotateSpec: ActionKindSpec = {
  kind: "kubernetes.annotate",
  provider: "kubernetes",
  summary: "Set or remove annotations on an object (merge patch of metadata.annotations).",
  params: metadataParams("annotations"),
  reversible: true,
  undo: "restores each changed annotation to its previous value, removing the ones that did not exist; an annotation changed since the action keeps its newer value",
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

/**
 * Sends a merge patch; when it fails, reads the object again: the API server may have stored a
 * write it answers 504 Timeout (the request outlived its deadline) or whose answer was lost. When
 * `check` finds the wanted state, the patch took effect: its value and a note, so the action is
 * recorded applied with its undo data rather than failed with none. Otherwise the failure stands.
 */
async function tookEffect<T>(send: () => Promise<T>, check: () => Promise<T | undefined>, state: string): Promise<{ value: T; note: { note?: string } }> {
  try {
    return { value: await send(), note: {} };
  } catch (error) {
    const value = await check().catch(() => undefined);
    if (value === undefined) throw error;
    return { value, note: { note: `the PATCH failed (${error instanceof Error ? error.message : String(error)}), but a second read finds ${state}: it took effect` } };
  }
}

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
      const { value: after, note } = await tookEffect(
        () => client.patchMetadata(ref, field, changed, context),
        async () => {
          const now = await client.readMetadata(ref, context);
          return Object.entries(changed).every(([key, value]) => (now[field][key] ?? null) === value) ? now : undefined;
        },
        `its ${field} have the values set`,
      );
      return { output: { object: ref, changed, [field]: after[field], ...note }, undo: { ...ref, previous, set: changed } };
    },
    async revert(_plan, undo, context) {
      const ref: ObjectRef = {
        kind: String(undo["kind"]),
        name: String(undo["name"]),
        ...(typeof undo["namespace"] === "string" ? { namespace: undo["namespace"] } : {}),
      };
      const previous = (undo["previous"] ?? {}) as Record<string, string | null>;
      if (Object.keys(previous).length === 0) return { object: ref, restored: {} };
      // Only the keys still as the action set them go back: a value changed since (by a person, a
      // deploy) is newer than the action and stays. Undo data without `set` restores every key.
      const set = undo["set"] as Record<string, string | null> | undefined;
      const restore: Record<string, string | null> = {};
      const changedSince: Record<string, string | null> = {};
      const current = set === undefined ? undefined : (await client.readMetadata(ref, context))[field];
      for (const [key, value] of Object.entries(previous)) {
        const now = current?.[key] ?? null;
        if (set !== undefined && current !== undefined && now !== (set[key] ?? null)) changedSince[key] = now;
        else restore[key] = value;
      }
      const since = Object.keys(changedSince).length > 0 ? { changedSince } : {};
      if (Object.keys(restore).length === 0) return { object: ref, restored: {}, ...since };
      const after = await client.patchMetadata(ref, field, restore, context);
      return { object: ref, restored: restore, ...since, [field]: after[field] };
    },
  });
}

/**
 * The Kubernetes actuators (`kubernetes.scale-to-zero`, `kubernetes.label`, `kubernetes.annotate`,
 * `kubernetes.delete-pod`, `kubernetes.delete`, `kubernetes.patch`) over @kubernetes/client-node
 * with a bearer token against `server`. Label, annotate and scale patches use
 * `application/merge-patch+json`, kubernetes.patch `application/json-patch+json`. Each reads the
 * state undo needs before changing it.
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
      const { value: replicas, note } = await tookEffect(
        () => client.patchScale(ref, 0, context),
        async () => ((await client.readScale(ref, context)) === 0 ? 0 : undefined),
        "it is at 0 replicas",
      );
      return { output: { object: ref, previousReplicas, replicas, changed: true, ...note }, undo: { ...ref, replicas: previousReplicas } };
    },
    async revert(_plan, undo, context) {
      const ref = { kind: String(undo["kind"]) as ScalableKind, name: String(undo["name"]), namespace: String(undo["namespace"]) };
      const wanted = Number(undo["replicas"]);
      if (wanted === 0) return { object: ref, replicas: 0, changed: false };
      // Scaled again since (its owner, a GitOps sync, an autoscaler): that count is newer than the
      // action and may be larger; undo does not overwrite it.
      const current = await client.readScale(ref, context);
      if (current === wanted) return { object: ref, replicas: wanted, changed: false, note: `already at the ${wanted} replicas read before the action` };
      if (current !== 0) {
        throw new ActuatorApiError(`${ref.kind} ${ref.namespace}/${ref.name} is at ${current} replicas, not the 0 the action left: it was scaled since, so undo does not set it back to ${wanted}`);
      }
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
    patchActuator(client, runtime),
    createActuator(client, runtime),
  ];
}
