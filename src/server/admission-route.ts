/**
 * The route both admission webhooks share: public (the API server calls webhooks without a bearer
 * token), an AdmissionReview in and out, documented for /openapi.json. The body is checked by the
 * admission source (fields named by path), not by a JSON Schema, so a bad review names the exact
 * field (`request.operation`).
 */
import type { FastifyInstance } from "fastify";
import type { AdmissionReviewResponse } from "./admission-review.js";
import { schemas, type RouteConfig } from "./route.js";

/** Documents the body for /openapi.json; deliberately loose: the admission source checks every field and names it. */
const reviewSchema = {
  type: "object",
  description: "An AdmissionReview (apiVersion admission.k8s.io/v1 or v1beta1, kind AdmissionReview, request {...}) as the API server sends it.",
} as const;

function responseSchema(mutating: boolean): Record<string, unknown> {
  return {
    type: "object",
    properties: {
      apiVersion: { type: "string" },
      kind: { const: "AdmissionReview" },
      response: {
        type: "object",
        properties: {
          uid: { type: "string" },
          allowed: { type: "boolean" },
          ...(mutating ? { patchType: { const: "JSONPatch" }, patch: { type: "string", description: "base64 of the RFC 6902 operations" } } : {}),
          status: { type: "object", properties: { code: { type: "integer" }, message: { type: "string" }, reason: { type: "string" }, status: { type: "string" } } },
          warnings: { type: "array", items: { type: "string" } },
          auditAnnotations: { type: "object", additionalProperties: { type: "string" } },
        },
      },
    },
  };
}

export interface WebhookRoute {
  readonly url: string;
  readonly summary: string;
  readonly description: string;
  /** The 200 answer's description. */
  readonly answered: string;
  /** Adds `patchType` and `patch` to the documented response. */
  readonly mutating: boolean;
  /**
   * Answers one review within the API server's timeout for it (ms, when it sent a readable one);
   * throws VigilError(VIGIL_BAD_EVENT, field) for a malformed one (400).
   */
  answer(body: unknown, apiServerTimeoutMs: number | undefined): Promise<{ readonly body: AdmissionReviewResponse }>;
}

const GO_DURATION_UNITS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, "µs": 1e-3, ns: 1e-6 };

/**
 * The API server's `?timeout=` (a Go duration such as `10s` or `1m0s`, from the webhook's
 * timeoutSeconds) in milliseconds; undefined when absent or not a positive duration.
 */
export function apiServerTimeoutMs(value: unknown): number | undefined {
  if (typeof value !== "string" || !/^(\d+(\.\d+)?(h|ms|m|s|us|µs|ns))+$/.test(value)) return undefined;
  let total = 0;
  for (const [, amount, , unit] of value.matchAll(/(\d+(\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(amount) * (GO_DURATION_UNITS[unit ?? ""] ?? 0);
  return total > 0 ? total : undefined;
}

/** Registers `POST <url>` for an admission webhook. */
export function registerWebhookRoute(app: FastifyInstance, route: WebhookRoute): void {
  const config: RouteConfig = {
    access: "public",
    audit: false,
    summary: route.summary,
    description: route.description,
    tags: ["admission"],
    responses: {
      200: { description: route.answered, schema: responseSchema(route.mutating) },
      400: { description: "Malformed AdmissionReview: `error.field` names the field (e.g. request.uid).", schema: schemas.error },
    },
  };
  app.route({
    method: "POST",
    url: route.url,
    config,
    schema: { body: reviewSchema },
    // The schema documents the body; the admission source checks it and names the field
    // (VIGIL_BAD_EVENT), so fastify does not refuse it first with its own message.
    validatorCompiler: () => () => true,
    handler: async (request, reply) => reply.send((await route.answer(request.body, apiServerTimeoutMs((request.query as Record<string, unknown> | undefined)?.["timeout"]))).body),
  });
}
