/**
 * `kubernetes.create`: create one object of any kind the API server serves, from a manifest (e.g.
 * what a Kyverno generate rule or GeneratingPolicy generates). An object that already exists is
 * left as it is (Kyverno's generate without synchronize); undo deletes the created object, only
 * while it still has the uid it was created with. With `cloneFrom`, the content is copied from
 * another object of the kind when the action applies (a Kyverno clone of a Secret: its data is
 * read from the cluster then, never written into the plan or the action record). Registered by createKubernetesActuators
 * (kubernetes.ts); the object lookup is shared with kubernetes.delete (kubernetes-generic.ts).
 */
import type { Actuator } from "../../core/index.js";
import { VigilError } from "../../core/index.js";
import { ActuatorApiError, defineActuator, type OperationContext } from "./define.js";
import { checkSourceParam, readSource, sourceOf, uidOf, type SourceRef } from "./kubernetes-clone.js";
import type { KubernetesClient } from "./kubernetes-client.js";
import { asRecord, contains, describeTarget, kubernetesDeleteSpec, resolveTarget, SERVER_OWNED_METADATA, targetOf, type ObjectTarget } from "./kubernetes-generic.js";
import type { KubernetesObject, ResourceRef } from "./kubernetes-objects.js";
import { read } from "./params.js";
import type { ActionKindSpec, ActuatorRuntime } from "./types.js";

export const kubernetesCreateSpec: ActionKindSpec = {
  kind: "kubernetes.create",
  provider: "kubernetes",
  summary:
    "Create one object of any kind the API server serves (resource and scope from its discovery document) from a manifest, unless an object of that name exists; e.g. for Kyverno generate rules and GeneratingPolicies.",
  params: [
    {
      name: "manifest",
      type: "object",
      required: true,
      description:
        "the object to create: apiVersion, kind, metadata.name, metadata.namespace for a namespaced kind (absent for a cluster-scoped one), and its content; no server-owned metadata (uid, resourceVersion, ...) and no status; a Secret only with cloneFrom, and then without data or stringData (its data would be copied into the action record)",
    },
    {
      name: "cloneFrom",
      type: "object",
      required: false,
      description:
        "copy the content from this object of the same apiVersion and kind when the action applies: namespace (absent for a cluster-scoped kind), name, and uid (optional: refuse a source deleted and re-created since). The manifest then carries metadata only (its name, namespace, labels and annotations over the source's); the copy drops the source's server-owned metadata, status, and ownerReferences across namespaces, as Kyverno's clone does",
    },
  ],
  reversible: true,
  undo: "deletes the created object, only while it still has the uid it was created with (an object deleted and re-created since is left alone); an object that already existed was not created, so there is nothing to undo",
  dryRun: "reads whether an object of that name exists and says what would be created, or that nothing would be (it exists); with cloneFrom also reads the source (its content is not shown); no POST is sent",
};

function badManifest(field: string, message: string): VigilError {
  return new VigilError("VIGIL_BAD_INPUT", `${kubernetesCreateSpec.kind}: params.manifest${field === "" ? "" : `.${field}`} ${message}`, { field: `params.manifest${field === "" ? "" : `.${field}`}` });
}

/** The manifest's identity, checked: what kubernetes.delete would name it by. */
function manifestTarget(params: Readonly<Record<string, unknown>>): ObjectTarget {
  const manifest = asRecord(params["manifest"]);
  if (manifest === undefined) throw badManifest("", "must be an object (the Kubernetes object to create)");
  const metadata = asRecord(manifest["metadata"]) ?? {};
  const namespace = metadata["namespace"];
  return targetOf({ apiVersion: manifest["apiVersion"], kind: manifest["kind"], name: metadata["name"], ...(typeof namespace === "string" && namespace !== "" ? { namespace } : {}) });
}

function checkCreateParams(params: Readonly<Record<string, unknown>>): void {
  const manifest = asRecord(params["manifest"]);
  if (manifest === undefined) throw badManifest("", "must be an object (the Kubernetes object to create)");
  // apiVersion, kind, name and namespace are checked as kubernetes.delete's params are.
  const identity = kubernetesDeleteSpec.params.filter((p) => ["apiVersion", "kind", "namespace", "name"].includes(p.name));
  const metadata = asRecord(manifest["metadata"]);
  if (metadata === undefined) throw badManifest("metadata", "must be an object with name (and namespace for a namespaced kind)");
  const values: Record<string, unknown> = { apiVersion: manifest["apiVersion"], kind: manifest["kind"], name: metadata["name"], namespace: metadata["namespace"] };
  for (const spec of identity) {
    const value = values[spec.name];
    const field = spec.name === "name" || spec.name === "namespace" ? `metadata.${spec.name}` : spec.name;
    if (value === undefined || value === "") {
      if (spec.required) throw badManifest(field, `is required (${spec.description})`);
      continue;
    }
    if (typeof value !== "string" || (spec.pattern !== undefined && !spec.pattern.test(value))) throw badManifest(field, `${JSON.stringify(value)} is not valid: ${spec.description}`);
  }
  if (params["cloneFrom"] !== undefined) {
    checkSourceParam(kubernetesCreateSpec.kind, params, "cloneFrom", "copy");
    const content = Object.keys(manifest).find((key) => key !== "apiVersion" && key !== "kind" && key !== "metadata");
    if (content !== undefined) throw badManifest(content, "comes from params.cloneFrom: a manifest with cloneFrom carries apiVersion, kind and metadata only");
  } else if (manifest["apiVersion"] === "v1" && manifest["kind"] === "Secret") {
    throw badManifest("kind", "is Secret: Vigil creates a Secret only as a copy of another (params.cloneFrom), because the action record would hold the data of one written in the manifest");
  }
  const owned = SERVER_OWNED_METADATA.find((field) => metadata[field] !== undefined);
  if (owned !== undefined) throw badManifest(`metadata.${owned}`, "is set by the API server; remove it from the manifest");
  if (manifest["status"] !== undefined) throw badManifest("status", "cannot be created with the object; remove it");
}

/** The object to create from the live source: its content, the manifest's metadata over the source's, as Kyverno's clone copies it. */
function copyOf(source: KubernetesObject, manifest: Record<string, unknown>, target: ObjectTarget): KubernetesObject {
  const copy: Record<string, unknown> = { ...source };
  delete copy["status"];
  const sourceMeta = asRecord(source["metadata"]) ?? {};
  const manifestMeta = asRecord(manifest["metadata"]) ?? {};
  const meta: Record<string, unknown> = { ...sourceMeta };
  for (const field of SERVER_OWNED_METADATA) delete meta[field];
  if (sourceMeta["namespace"] !== target.namespace) delete meta["ownerReferences"];
  delete meta["namespace"];
  for (const field of ["labels", "annotations"] as const) {
    const merged = { ...(asRecord(sourceMeta[field]) ?? {}), ...(asRecord(manifestMeta[field]) ?? {}) };
    if (Object.keys(merged).length > 0) meta[field] = merged;
  }
  return { ...copy, apiVersion: target.apiVersion, kind: target.kind, metadata: { ...meta, name: target.name, ...(target.namespace === undefined ? {} : { namespace: target.namespace }) } } as KubernetesObject;
}

export function createActuator(client: KubernetesClient, runtime: ActuatorRuntime): Actuator {
  const kind = kubernetesCreateSpec.kind;
  const source = (ref: ResourceRef, clone: SourceRef, context: OperationContext): Promise<KubernetesObject> => readSource(client, ref, clone, { kind, param: "cloneFrom", unchanged: "nothing was created" }, context);
  return defineActuator(kubernetesCreateSpec, runtime, {
    checkParams: checkCreateParams,
    async preview(plan, context) {
      const target = manifestTarget(plan.params);
      const ref = await resolveTarget(client, target, kind, context);
      const live = await client.getObject(ref, context);
      if (live !== undefined) return { object: target, exists: true, uid: uidOf(live) ?? null, wouldDo: `nothing: ${describeTarget(target)} already exists (it is left as it is)` };
      const clone = sourceOf(plan.params, "cloneFrom", target);
      if (clone === undefined) return { object: target, exists: false, wouldDo: `create ${describeTarget(target)}` };
      const original = await source(ref, clone, context);
      return { object: target, exists: false, cloneFrom: clone.source, wouldDo: `create ${describeTarget(target)} as a copy of ${describeTarget(clone.source)} (uid ${uidOf(original) ?? "unknown"}; its content is read when the action applies and is not recorded)` };
    },
    async apply(plan, context) {
      const target = manifestTarget(plan.params);
      const ref = await resolveTarget(client, target, kind, context);
      if ((await client.getObject(ref, context)) !== undefined) return { output: { object: target, created: false, exists: true } };
      const manifest = asRecord(plan.params["manifest"]) as KubernetesObject;
      const clone = sourceOf(plan.params, "cloneFrom", target);
      const body = clone === undefined ? manifest : copyOf(await source(ref, clone, context), manifest, target);
      let created: KubernetesObject;
      let note: { note?: string } = {};
      try {
        created = await client.createObject(ref, body, context);
      } catch (error) {
        // Created by someone else between the read and the POST: left as it is, as if it had been there.
        if (error instanceof ActuatorApiError && error.status === 409) return { output: { object: target, created: false, exists: true } };
        // Stored, but answered 504 Timeout (or the answer was lost): found as the body makes it, it was created, with undo data.
        if (!(error instanceof ActuatorApiError) || (error.status !== undefined && error.status < 500)) throw error;
        const now = await client.getObject(ref, context).catch(() => undefined);
        if (now === undefined || !contains(now, body)) throw error;
        created = now;
        note = { note: `the POST failed (${error.message}), but a second read finds it as the manifest: it was created` };
      }
      const uid = uidOf(created);
      const copied = clone === undefined ? {} : { clonedFrom: clone.source };
      if (uid === undefined) return { output: { object: target, created: true, ...copied, uid: null, undoRecorded: false, undoWithheld: "the API server answered the created object without metadata.uid, so a delete could not be limited to it" } };
      return { output: { object: target, created: true, ...copied, uid, ...note }, undo: { ...target, uid } };
    },
    async revert(_plan, undo, context) {
      const target = targetOf(undo);
      const uid = read.string(undo, "uid");
      const outcome = await client.deleteObject(await resolveTarget(client, target, kind, context), { uid }, context);
      return { object: target, deleted: outcome === "deleted", ...(outcome === "absent" ? { absent: true } : {}) };
    },
  });
}
