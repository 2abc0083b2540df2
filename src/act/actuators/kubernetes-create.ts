/**
 * `kubernetes.create`: create one object of any kind the API server serves, from a manifest (e.g.
 * what a Kyverno generate rule or GeneratingPolicy generates). An object that already exists is
 * left as it is (Kyverno's generate without synchronize); undo deletes the created object, only
 * while it still has the uid it was created with. Registered by createKubernetesActuators
 * (kubernetes.ts); the object lookup is shared with kubernetes.delete (kubernetes-generic.ts).
 */
import type { Actuator } from "../../core/index.js";
import { VigilError } from "../../core/index.js";
import { ActuatorApiError, defineActuator } from "./define.js";
import type { KubernetesClient } from "./kubernetes-client.js";
import { asRecord, describeTarget, kubernetesDeleteSpec, resolveTarget, SERVER_OWNED_METADATA, targetOf, type ObjectTarget } from "./kubernetes-generic.js";
import type { KubernetesObject } from "./kubernetes-objects.js";
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
        "the object to create: apiVersion, kind, metadata.name, metadata.namespace for a namespaced kind (absent for a cluster-scoped one), and its content; no server-owned metadata (uid, resourceVersion, ...) and no status; not a Secret (its data would be copied into the action record)",
    },
  ],
  reversible: true,
  undo: "deletes the created object, only while it still has the uid it was created with (an object deleted and re-created since is left alone); an object that already existed was not created, so there is nothing to undo",
  dryRun: "reads whether an object of that name exists and says what would be created, or that nothing would be (it exists); no POST is sent",
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
  if (manifest["apiVersion"] === "v1" && manifest["kind"] === "Secret") throw badManifest("kind", "is Secret: Vigil does not create Secrets, because the action record would hold their data");
  const owned = SERVER_OWNED_METADATA.find((field) => metadata[field] !== undefined);
  if (owned !== undefined) throw badManifest(`metadata.${owned}`, "is set by the API server; remove it from the manifest");
  if (manifest["status"] !== undefined) throw badManifest("status", "cannot be created with the object; remove it");
}

const uidOf = (object: KubernetesObject): string | undefined => {
  const uid = asRecord(object["metadata"])?.["uid"];
  return typeof uid === "string" && uid !== "" ? uid : undefined;
};

export function createActuator(client: KubernetesClient, runtime: ActuatorRuntime): Actuator {
  const kind = kubernetesCreateSpec.kind;
  return defineActuator(kubernetesCreateSpec, runtime, {
    checkParams: checkCreateParams,
    async preview(plan, context) {
      const target = manifestTarget(plan.params);
      const live = await client.getObject(await resolveTarget(client, target, kind, context), context);
      if (live !== undefined) return { object: target, exists: true, uid: uidOf(live) ?? null, wouldDo: `nothing: ${describeTarget(target)} already exists (it is left as it is)` };
      return { object: target, exists: false, wouldDo: `create ${describeTarget(target)}` };
    },
    async apply(plan, context) {
      const target = manifestTarget(plan.params);
      const ref = await resolveTarget(client, target, kind, context);
      if ((await client.getObject(ref, context)) !== undefined) return { output: { object: target, created: false, exists: true } };
      let created: KubernetesObject;
      try {
        created = await client.createObject(ref, asRecord(plan.params["manifest"]) as KubernetesObject, context);
      } catch (error) {
        // Created by someone else between the read and the POST: left as it is, as if it had been there.
        if (error instanceof ActuatorApiError && error.status === 409) return { output: { object: target, created: false, exists: true } };
        throw error;
      }
      const uid = uidOf(created);
      if (uid === undefined) return { output: { object: target, created: true, uid: null, undoRecorded: false, undoWithheld: "the API server answered the created object without metadata.uid, so a delete could not be limited to it" } };
      return { output: { object: target, created: true, uid }, undo: { ...target, uid } };
    },
    async revert(_plan, undo, context) {
      const target = targetOf(undo);
      const uid = read.string(undo, "uid");
      const outcome = await client.deleteObject(await resolveTarget(client, target, kind, context), { uid }, context);
      return { object: target, deleted: outcome === "deleted", ...(outcome === "absent" ? { absent: true } : {}) };
    },
  });
}
