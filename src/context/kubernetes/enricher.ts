/**
 * The Kubernetes enrichment: for an admission review or a resource event, the Namespace object
 * of the event's object (from the cluster cache) and the cache itself, as `ctx.kubernetes`. Kyverno
 * policies then match `namespaceSelector` and read `configMap` context entries as Kyverno does;
 * ValidatingPolicies and ValidatingAdmissionPolicies see the namespace as `namespaceObject`.
 */
import type { ApiAnswer, ClusterView, Context } from "../../core/context.js";
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
 * Fetches the API GETs an evaluation asked for and neither the cache nor `fetched` answered
 * (Kyverno `apiCall`): the answers so far plus the new ones, or undefined when there is nothing
 * new to fetch (then evaluating again would change nothing). Never rejects.
 */
export async function fetchUnanswered(cluster: ClusterView, unanswered: ReadonlySet<string>, fetched: ReadonlyMap<string, ApiAnswer> | undefined): Promise<Map<string, ApiAnswer> | undefined> {
  const fetch = cluster.fetch;
  if (fetch === undefined || unanswered.size === 0) return undefined;
  const all = new Map(fetched ?? []);
  const paths = [...unanswered].filter((path) => !all.has(path));
  if (paths.length === 0) return undefined;
  const answers = await Promise.all(paths.map((path) => fetch.call(cluster, path)));
  paths.forEach((path, i) => all.set(path, answers[i] as ApiAnswer));
  return all;
}

export function createKubernetesEnricher(cluster: ClusterView): ContextEnricher {
  return {
    name: "kubernetes",
    enrich(event: Event, _ctx: Pick<Context, "entities" | "posture" | "now">): ContextExtras | undefined {
      if (event.type !== EventTypes.admissionReview && event.type !== EventTypes.kubernetesResource) return undefined;
      const namespace = eventNamespace(event);
      const namespaceObject = namespace === undefined ? undefined : cluster.namespace(namespace);
      const user = requestUser(event);
      const bound = user === undefined ? undefined : cluster.rolesOf(user);
      return {
        kubernetes: {
          cluster,
          ...(namespaceObject === undefined ? {} : { namespaceObject }),
          ...(bound === undefined ? {} : { roles: bound.roles, clusterRoles: bound.clusterRoles }),
          // apiCall GETs the cache cannot answer, for the pipeline's fetch pass (only when the cluster can fetch).
          ...(cluster.fetch === undefined ? {} : { unanswered: new Set<string>() }),
        },
      };
    },
  };
}
