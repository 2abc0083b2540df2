/**
 * The Kubernetes enrichment: for an admission review or a resource event, the Namespace object
 * of the event's object (from the cluster cache) and the cache itself, as `ctx.kubernetes`. Kyverno
 * policies then match `namespaceSelector` and read `configMap` context entries as Kyverno does;
 * ValidatingPolicies and ValidatingAdmissionPolicies see the namespace as `namespaceObject`.
 */
import type { ApiAnswer, ClusterView, Context, ImageRegistry } from "../../core/context.js";
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
  if (event.type === EventTypes.kubernetesResource) return namespaceOfObject(data);
  const request = isObject(data["request"]) ? data["request"] : undefined;
  if (request === undefined) return undefined;
  const kind = isObject(request["kind"]) ? request["kind"]["kind"] : undefined;
  if (kind === "Namespace") return undefined;
  if (typeof request["namespace"] === "string" && request["namespace"] !== "") return request["namespace"];
  return namespaceOfObject(request["object"]) ?? namespaceOfObject(request["oldObject"]);
}

/** The requester of an admission review (request.userInfo), when it names one. */
export function requestUser(event: Event): { username?: string; groups?: readonly string[] } | undefined {
  if (event.type !== EventTypes.admissionReview || !isObject(event.data) || !isObject(event.data["request"])) return undefined;
  const info = event.data["request"]["userInfo"];
  if (!isObject(info)) return undefined;
  const username = typeof info["username"] === "string" ? info["username"] : undefined;
  const groups = Array.isArray(info["groups"]) ? info["groups"].map(String) : undefined;
  if (username === undefined && groups === undefined) return undefined;
  return { ...(username === undefined ? {} : { username }), ...(groups === undefined ? {} : { groups }) };
}

/**
 * How many times a decision fetches what its evaluation could not look up and evaluates again. A
 * rule's context entries load in order and stop at the first unanswered one, so a rule with
 * several lookups finds one more per round, and a URL can depend on another call's answer.
 */
export const MAX_LOOKUP_ROUNDS = 10;

/**
 * Fetches the API GETs an evaluation asked for and neither the cache nor `fetched` answered
 * (Kyverno `apiCall`): the answers so far plus the new ones, or undefined when there is nothing
 * new to fetch (then evaluating again would change nothing). Never rejects.
 */
export async function fetchUnanswered(sources: { readonly cluster?: ClusterView | undefined; readonly registry?: ImageRegistry | undefined }, unanswered: ReadonlySet<string>, fetched: ReadonlyMap<string, ApiAnswer> | undefined): Promise<Map<string, ApiAnswer> | undefined> {
  if (unanswered.size === 0) return undefined;
  const all = new Map(fetched ?? []);
  const keys = [...unanswered].filter((key) => !all.has(key));
  const { cluster, registry } = sources;
  const lookup = (key: string): Promise<ApiAnswer> | undefined => {
    if (key.startsWith("image:")) return registry?.describe(key.slice("image:".length));
    return cluster?.fetch?.(key);
  };
  const pending = keys.map((key) => [key, lookup(key)] as const).filter((entry): entry is readonly [string, Promise<ApiAnswer>] => entry[1] !== undefined);
  if (pending.length === 0) return undefined;
  const answers = await Promise.all(pending.map(([, answer]) => answer));
  pending.forEach(([key], i) => all.set(key, answers[i] as ApiAnswer));
  return all;
}

/** The enrichment for a cluster view, image registries, or both. */
export function createKubernetesEnricher(sources: { readonly cluster?: ClusterView; readonly registry?: ImageRegistry }): ContextEnricher {
  const { cluster, registry } = sources;
  return {
    name: "kubernetes",
    enrich(event: Event, _ctx: Pick<Context, "entities" | "posture" | "now">): ContextExtras | undefined {
      if (event.type !== EventTypes.admissionReview && event.type !== EventTypes.kubernetesResource) return undefined;
      const namespace = cluster === undefined ? undefined : eventNamespace(event);
      const namespaceObject = namespace === undefined ? undefined : cluster?.namespace(namespace);
      const user = cluster === undefined ? undefined : requestUser(event);
      const bound = user === undefined ? undefined : cluster?.rolesOf(user);
      return {
        kubernetes: {
          ...(cluster === undefined ? {} : { cluster }),
          ...(registry === undefined ? {} : { registry }),
          ...(namespaceObject === undefined ? {} : { namespaceObject }),
          ...(bound === undefined ? {} : { roles: bound.roles, clusterRoles: bound.clusterRoles }),
          // Lookups the caches cannot answer (apiCall GETs, images), for the pipeline's fetch pass.
          ...(cluster?.fetch === undefined && registry === undefined ? {} : { unanswered: new Set<string>() }),
        },
      };
    },
  };
}
