/**
 * The Kubernetes enrichment: for an admission review or a resource event, `ctx.kubernetes` with
 * the Namespace object of the event's object and the requester's roles (from the cluster cache),
 * the cache and the image registries, and an empty set for the lookups evaluation will ask for
 * (lookups.ts). Kyverno policies then match `namespaceSelector` and `roles`/`clusterRoles` and
 * read `configMap`, `apiCall` and `imageRegistry` context entries as Kyverno does;
 * ValidatingPolicies and ValidatingAdmissionPolicies see the namespace as `namespaceObject`.
 */
import type { ClusterView, Context, ImageRegistry, ServiceCaller } from "../../core/context.js";
import { EventTypes, type Event } from "../../core/event.js";
import type { ContextEnricher, ContextExtras } from "../stage-types.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function namespaceOfObject(object: unknown): string | undefined {
  if (!isObject(object) || object["kind"] === "Namespace") return undefined;
  const metadata = isObject(object["metadata"]) ? object["metadata"] : {};
  return typeof metadata["namespace"] === "string" && metadata["namespace"] !== "" ? metadata["namespace"] : undefined;
}

/** The namespace an admission review or a resource event is about (request.namespace first). */
export function eventNamespace(event: Event): string | undefined {
  const data = event.data;
  if (!isObject(data)) return undefined;
  // A mutate-existing or generate trigger carries an AdmissionReview (from the webhook) or an object (policy update).
  if (event.type === EventTypes.kubernetesResource || ((event.type === EventTypes.mutateExistingTrigger || event.type === EventTypes.generateTrigger) && data["kind"] !== "AdmissionReview")) return namespaceOfObject(data);
  const request = isObject(data["request"]) ? data["request"] : undefined;
  if (request === undefined) return undefined;
  const kind = isObject(request["kind"]) ? request["kind"]["kind"] : undefined;
  if (kind === "Namespace") return undefined;
  if (typeof request["namespace"] === "string" && request["namespace"] !== "") return request["namespace"];
  return namespaceOfObject(request["object"]) ?? namespaceOfObject(request["oldObject"]);
}

/** The requester of an admission review (request.userInfo), when it names one. */
export function requestUser(event: Event): { username?: string; groups?: readonly string[] } | undefined {
  if ((event.type !== EventTypes.admissionReview && event.type !== EventTypes.mutateExistingTrigger && event.type !== EventTypes.generateTrigger) || !isObject(event.data) || !isObject(event.data["request"])) return undefined;
  const info = event.data["request"]["userInfo"];
  if (!isObject(info)) return undefined;
  const username = typeof info["username"] === "string" ? info["username"] : undefined;
  const groups = Array.isArray(info["groups"]) ? info["groups"].map(String) : undefined;
  if (username === undefined && groups === undefined) return undefined;
  return { ...(username === undefined ? {} : { username }), ...(groups === undefined ? {} : { groups }) };
}

/** The enrichment for a cluster view, image registries, services, or any of them. */
export function createKubernetesEnricher(sources: { readonly cluster?: ClusterView; readonly registry?: ImageRegistry; readonly services?: ServiceCaller }): ContextEnricher {
  const { cluster, registry, services } = sources;
  return {
    name: "kubernetes",
    enrich(event: Event, _ctx: Pick<Context, "entities" | "posture" | "now">): ContextExtras | undefined {
      if (event.type !== EventTypes.admissionReview && event.type !== EventTypes.kubernetesResource && event.type !== EventTypes.mutateExistingTrigger && event.type !== EventTypes.generateTrigger) return undefined;
      const namespace = cluster === undefined ? undefined : eventNamespace(event);
      const namespaceObject = namespace === undefined ? undefined : cluster?.namespace(namespace);
      const user = cluster === undefined ? undefined : requestUser(event);
      const bound = user === undefined ? undefined : cluster?.rolesOf(user);
      return {
        kubernetes: {
          ...(cluster === undefined ? {} : { cluster }),
          ...(registry === undefined ? {} : { registry }),
          ...(services === undefined ? {} : { services }),
          ...(namespaceObject === undefined ? {} : { namespaceObject }),
          ...(bound === undefined ? {} : { roles: bound.roles, clusterRoles: bound.clusterRoles }),
          // Lookups the caches cannot answer (apiCall GETs, images), for the pipeline's fetch pass.
          ...(cluster?.fetch === undefined && registry === undefined && services === undefined ? {} : { unanswered: new Set<string>() }),
        },
      };
    },
  };
}
