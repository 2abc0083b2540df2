/**
 * How routes are declared. Every route states who may call it (`access`) and describes itself
 * with JSON Schema; fastify validates the request with the same schemas that /openapi.json
 * publishes, so the document cannot drift from what the server enforces. `buildServer` refuses
 * to start when a route has no `access` (INVARIANT: every route is authorised).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Agent, Principal, Role } from "../agent.js";
import { VigilError } from "../core/errors.js";
import { kindOf, normalizeTimestamp } from "../sources/values.js";

/**
 * `public`: no token (health only); a role: a bearer token holding it (admin always may;
 * approver and operator also hold viewer); `github-signature`: the GitHub HMAC signature.
 */
export type RouteAccess = Role | "public" | "github-signature";

export type JsonSchema = Readonly<Record<string, unknown>>;

export interface RouteResponseDoc {
  readonly description: string;
  readonly schema?: JsonSchema;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: JsonSchema }>>;
}

/** A request header the route reads and checks itself (documented in /openapi.json, not validated by schema). */
export interface RouteHeaderDoc {
  readonly name: string;
  readonly required: boolean;
  readonly description: string;
}

/** What `route()` puts in fastify's route `config` (read by the auth hook, the audit hook and /openapi.json). */
export interface RouteConfig {
  readonly access: RouteAccess;
  /** Audit-trail action for successful calls; false: not audited here (the service records its own, or ingest). */
  readonly audit: string | false;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly responses: Readonly<Record<number, RouteResponseDoc>>;
  /** Request content types accepted (documentation); default application/json. */
  readonly consumes?: readonly string[];
  readonly produces?: string;
  readonly headers?: readonly RouteHeaderDoc[];
}

export interface RouteSpec<Params = Record<string, string>, Query = Record<string, unknown>, Body = unknown> {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly url: string;
  readonly access: RouteAccess;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly params?: JsonSchema;
  readonly querystring?: JsonSchema;
  readonly body?: JsonSchema;
  /** Documented responses besides the common errors (401, 403, 400...). */
  readonly responses: Readonly<Record<number, RouteResponseDoc>>;
  readonly audit?: string | false;
  readonly consumes?: readonly string[];
  readonly produces?: string;
  /** Request headers the handler reads and checks (documentation only). */
  readonly headers?: readonly RouteHeaderDoc[];
  handler(request: FastifyRequest<{ Params: Params; Querystring: Query; Body: Body }>, reply: FastifyReply, context: RouteContext): Promise<unknown>;
}

export interface RouteContext {
  readonly agent: Agent;
  /** The caller; undefined only on public and signature-checked routes. */
  readonly principal: Principal | undefined;
  /** `{ id, roles }` for library functions that check roles themselves. */
  readonly actor: { readonly id: string; readonly roles: readonly string[] };
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

/** Registers one route on `app` (or an encapsulated plugin instance). */
export function route<Params = Record<string, string>, Query = Record<string, unknown>, Body = unknown>(app: FastifyInstance, agent: Agent, spec: RouteSpec<Params, Query, Body>): void {
  const config: RouteConfig = {
    access: spec.access,
    audit: spec.audit ?? (spec.method === "GET" ? false : `api ${spec.method} ${spec.url}`),
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: spec.tags,
    responses: spec.responses,
    ...(spec.consumes ? { consumes: spec.consumes } : {}),
    ...(spec.produces ? { produces: spec.produces } : {}),
    ...(spec.headers ? { headers: spec.headers } : {}),
  };
  // A body whose fields are all optional may be left out (`POST /v1/reviews/:id/approve` with no
  // reason): it is validated as {} instead of failing "body must be object". An empty body sent
  // with Content-Type: application/json is no body (app.ts).
  // A body that is needed and absent (or empty), or that is not an object, is refused naming what to send.
  // A query parameter on a route that takes none is refused too (not ignored): `POST
  // /v1/decide?explain=full` (OPA's way) recorded a decision without the explanation asked for,
  // `DELETE /v1/tokens/:id?dryRun=true` revoked the token. Open and signature-checked routes
  // (health probes, webhooks whose senders may add their own) keep ignoring them.
  const { body, querystring } = spec;
  const refuseQuery = querystring === undefined && spec.access !== "public" && spec.access !== "github-signature";
  app.route({
    method: spec.method,
    url: spec.url,
    config,
    ...(body || querystring || refuseQuery ? {
      preValidation: async (request: FastifyRequest) => {
        if (refuseQuery) refuseQueryValues(`${spec.method} ${spec.url}`, body !== undefined, request.query as Record<string, unknown>);
        if (body) request.body = withoutLeapSeconds(body, checkedBody(body, request.body));
        if (querystring) withoutLeapSeconds(querystring, readQueryValues(querystring, request.query as Record<string, unknown>));
      },
    } : {}),
    schema: {
      ...(spec.params ? { params: spec.params } : {}),
      ...(spec.querystring ? { querystring: spec.querystring } : {}),
      ...(spec.body ? { body: spec.body } : {}),
    },
    handler: async (request, reply) => {
      const principal = request.principal;
      const actor = { id: principal?.name ?? "anonymous", roles: principal?.roles ?? [] };
      return spec.handler(request as FastifyRequest<{ Params: Params; Querystring: Query; Body: Body }>, reply, { agent, principal, actor });
    },
  });
}

/** The body to validate against `schema`: {} for an absent optional one; throws for an absent required one or one that is not an object. */
function checkedBody(schema: JsonSchema, value: unknown): unknown {
  const required = hasRequired(schema) ? ` with ${(schema["required"] as string[]).join(", ")}` : "";
  if (value === undefined) {
    if (required !== "") throw new VigilError("VIGIL_BAD_INPUT", `the body is empty: send a JSON object${required} (Content-Type: application/json; see /openapi.json)`, { field: "body" });
    return {};
  }
  if (schema["type"] === "object" && (typeof value !== "object" || value === null || Array.isArray(value))) {
    throw new VigilError("VIGIL_BAD_INPUT", `the body is ${kindOf(value)}, not a JSON object: send a JSON object${required} (see /openapi.json)`, { field: "body" });
  }
  return value;
}

/** Throws for the first query parameter given to a route that takes none, naming it. */
function refuseQueryValues(route: string, readsBody: boolean, query: Record<string, unknown>): void {
  const name = Object.keys(query)[0];
  if (name === undefined) return;
  throw new VigilError("VIGIL_BAD_INPUT", `${route} takes no query parameters: remove \`${name}\`${readsBody ? " (the route's options go in the JSON body)" : ""}; see /openapi.json`, { field: name });
}

const LEAP_SECOND = /^.{10}[Tt]\d{2}:\d{2}:60/;

const DECIMAL = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * Query values arrive as text: `limit=5` and `active=true` become the integer and boolean their
 * schema declares (a value that does not read as one is left as text, and validation names it);
 * a parameter that takes one value and is given several is refused naming it.
 * Only the query is read so: the server's JSON Schema validation converts no type (app.ts), so a
 * body's `{"on": null}` or `{"on": 0}` is refused, not taken for `false`.
 */
export function readQueryValues(schema: JsonSchema, query: Record<string, unknown>): Record<string, unknown> {
  const properties = (schema["properties"] ?? {}) as Record<string, JsonSchema | undefined>;
  for (const [name, value] of Object.entries(query)) {
    const type = properties[name]?.["type"];
    if (Array.isArray(value) && properties[name] !== undefined && type !== "array") {
      throw new VigilError("VIGIL_BAD_INPUT", `\`${name}\` is given ${value.length} times: give it once (it takes one value)`, { field: name });
    }
    if (typeof value !== "string") continue;
    // `1e400` stays text: as Infinity it would be refused shown as `null`.
    if ((type === "integer" || type === "number") && DECIMAL.test(value) && Number.isFinite(Number(value))) query[name] = Number(value);
    else if (type === "boolean" && (value === "true" || value === "false")) query[name] = value === "true";
  }
  return query;
}

/**
 * A leap second (`23:59:60`) in a date-time field becomes the last millisecond of its minute, as
 * every source reads one: the published format takes it, but Date.parse does not, so the services
 * refused it as "not an RFC 3339 time". Top-level fields, where the routes declare date-times.
 */
function withoutLeapSeconds(schema: JsonSchema, values: unknown): unknown {
  if (typeof values !== "object" || values === null) return values;
  const properties = (schema["properties"] ?? {}) as Record<string, JsonSchema | undefined>;
  const record = values as Record<string, unknown>;
  for (const [name, property] of Object.entries(properties)) {
    const value = record[name];
    if (property?.["format"] === "date-time" && typeof value === "string" && LEAP_SECOND.test(value)) record[name] = normalizeTimestamp(value) ?? value;
  }
  return values;
}

/** True when a JSON Schema object requires at least one property. */
export function hasRequired(schema: JsonSchema): boolean {
  const required = schema["required"];
  return Array.isArray(required) && required.length > 0;
}

/**
 * A group of routes: `buildServer` takes a list of these (`routes` option), so a feature such as
 * admission (src/server/admission.ts) registers its routes in one call:
 *
 *   export const admissionRoutes: RoutePlugin = (app, agent) => { route(app, agent, { ... }) };
 */
export type RoutePlugin = (app: FastifyInstance, agent: Agent) => void | Promise<void>;

/**
 * The 403 of a route only a person may call: besides a token without the role, one named as one of
 * Vigil's own identities (`vigil:*`) is refused whatever its roles (field `actor.id`); `also`
 * adds the route's own refusal (the two-person rule).
 */
export function personOnly(role: Role, also?: string): RouteResponseDoc {
  return { description: `The token does not hold the ${role} role, or it is named as one of Vigil's own identities (vigil:*): a person does this${also ? `; or ${also}` : ""}.`, schema: schemas.error };
}

/** Common JSON Schema pieces. */
export const schemas = {
  id: { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1 } } },
  error: {
    type: "object",
    required: ["error"],
    properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" }, field: { type: "string" }, hint: { type: "string" } } } },
  },
  anyObject: { type: "object", additionalProperties: true },
  limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  /** A query filter: `?subject=` with no value is refused, not read as "no filter". */
  filter: { type: "string", minLength: 1 },
} as const;
