/**
 * `spec.evaluation.mutateExisting.enabled: true` of a Kyverno MutatingPolicy: besides mutating the
 * request, an admitted request the policy selects (the trigger) has the policy's mutations applied
 * to the existing objects it targets, as Kyverno's background controller does
 * (pkg/background/mpol: the targets are `spec.targetMatchConstraints` when it has resourceRules,
 * else `spec.matchConstraints`; each rule's group/version/resources is LISTed cluster-wide, or in
 * each namespace `namespaceSelector` selects, with `objectSelector` as the label selector; each
 * target is evaluated with `object` the target and `request` the trigger's request).
 *
 * This file reads the target constraints at load (a wildcard group, version or resource, a CEL
 * `expression` and `targetMatchConditions` fail to load, naming the field: Vigil lists what a
 * policy names) and LISTs the targets through the evaluation's resolver (the cluster view; a LIST
 * not read yet is an error naming it, and the pipeline reads it and decides again).
 */
import { VigilError } from "../../core/errors.js";
import { listObjects, resourcePath } from "./cluster-reads.js";
import type { ExternalContextResolver } from "./context.js";
import { metadataOf } from "./request.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The objects a mutate-existing MutatingPolicy targets: where to LIST them and how to select. */
export interface ExistingTargets {
  /** One LIST per entry: `/api/v1/<resource>` or `/apis/<group>/<version>/<resource>`. */
  readonly resources: readonly { readonly group: string; readonly version: string; readonly resource: string }[];
  readonly namespaceSelector?: Json;
  readonly objectSelector?: Json;
  /** The field the targets come from, for messages (`spec.targetMatchConstraints` or `spec.matchConstraints`). */
  readonly field: string;
}

/** The resolved targets: objects read, and the LISTs that could not be read. */
export interface ExistingTargetRead {
  readonly objects: readonly Json[];
  readonly errors: readonly { readonly target: string; readonly message: string }[];
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/**
 * The targets of a MutatingPolicy with mutateExisting enabled. Throws VigilError
 * (VIGIL_POLICY_UNSUPPORTED or VIGIL_POLICY_LOAD) naming the field Vigil cannot list from.
 */
export function compileExistingTargets(spec: Json, origin: string, policy: string): ExistingTargets {
  const unsupported = (field: string, what: string): VigilError => new VigilError("VIGIL_POLICY_UNSUPPORTED", `${origin}: ${what} is not supported by Vigil with evaluation.mutateExisting.`, { policy, field });
  const target = isObject(spec["targetMatchConstraints"]) ? spec["targetMatchConstraints"] : undefined;
  if (target !== undefined && target["expression"] !== undefined) throw unsupported("spec.targetMatchConstraints.expression", "a CEL expression selecting the targets (name them with resourceRules)");
  if (spec["targetMatchConditions"] !== undefined) throw unsupported("spec.targetMatchConditions", "targetMatchConditions");
  const fromTarget = target !== undefined && Array.isArray(target["resourceRules"]) && target["resourceRules"].length > 0;
  const constraints = fromTarget ? (target as Json) : isObject(spec["matchConstraints"]) ? spec["matchConstraints"] : {};
  const field = fromTarget ? "spec.targetMatchConstraints" : "spec.matchConstraints";
  const resources: { group: string; version: string; resource: string }[] = [];
  const seen = new Set<string>();
  (Array.isArray(constraints["resourceRules"]) ? constraints["resourceRules"] : []).forEach((raw, i) => {
    const rule = isObject(raw) ? raw : {};
    for (const group of strings(rule["apiGroups"])) {
      for (const version of strings(rule["apiVersions"])) {
        for (const named of strings(rule["resources"])) {
          // Kyverno lists the resource of a subresource rule (pods/status → pods).
          const resource = named.split("/")[0] ?? "";
          if ([group, version, resource].some((part) => part.includes("*")) || resource === "") {
            throw unsupported(`${field}.resourceRules[${i}]`, `a wildcard target (${group || '""'}/${version}/${named}): name each group, version and resource to mutate`);
          }
          const key = `${group}/${version}/${resource}`;
          if (!seen.has(key)) {
            seen.add(key);
            resources.push({ group, version, resource });
          }
        }
      }
    }
  });
  if (resources.length === 0) throw new VigilError("VIGIL_POLICY_LOAD", `${origin}: ${field}.resourceRules name no resource to mutate; give apiGroups, apiVersions and resources.`, { policy, field: `${field}.resourceRules` });
  return {
    resources,
    ...(isObject(constraints["namespaceSelector"]) && Object.keys(constraints["namespaceSelector"]).length > 0 ? { namespaceSelector: constraints["namespaceSelector"] } : {}),
    ...(isObject(constraints["objectSelector"]) && Object.keys(constraints["objectSelector"]).length > 0 ? { objectSelector: constraints["objectSelector"] } : {}),
    field,
  };
}

/**
 * Reads the targets: each resource LISTed cluster-wide (the selector sent as `labelSelector` and
 * checked again here: a resolver answering from a cache may ignore it); with a namespaceSelector,
 * only objects in the namespaces it selects (a LIST of namespaces) are kept, and cluster-scoped
 * objects only when the resource is `namespaces` itself. Never throws.
 */
export function readExistingTargets(targets: ExistingTargets, resolver: ExternalContextResolver | undefined): ExistingTargetRead {
  const errors: { target: string; message: string }[] = [];
  let namespaces: Set<string> | undefined;
  if (targets.namespaceSelector !== undefined) {
    const read = listObjects(resolver, "target", "/api/v1/namespaces", targets.namespaceSelector);
    if ("problem" in read) return { objects: [], errors: [{ target: `${targets.field}.namespaceSelector`, message: read.problem }] };
    namespaces = new Set(read.items.map((n) => String(metadataOf(n)["name"] ?? "")));
  }
  const objects: Json[] = [];
  for (const { group, version, resource } of targets.resources) {
    const read = listObjects(resolver, "target", resourcePath(group === "" ? version : `${group}/${version}`, resource), targets.objectSelector);
    if ("problem" in read) {
      errors.push({ target: `${group === "" ? "" : `${group}/`}${version}/${resource}`, message: read.problem });
      continue;
    }
    for (const object of read.items) {
      const meta = metadataOf(object);
      const namespace = typeof meta["namespace"] === "string" ? meta["namespace"] : "";
      if (namespaces !== undefined && !namespaces.has(namespace === "" && resource === "namespaces" && group === "" ? String(meta["name"] ?? "") : namespace)) continue;
      objects.push(object);
    }
  }
  return { objects, errors };
}
