/**
 * The OpenAPI 3.1 document served at GET /openapi.json, generated from the registered routes:
 * their request JSON Schemas (the ones fastify validates with), `access` (security and the
 * required role) and documented responses. Routes are collected as they are registered, so
 * routes added by plugins (admission) appear too.
 */
import type { FastifyInstance } from "fastify";
import type { JsonSchema, RouteConfig } from "./route.js";
import { hasRequired, schemas } from "./route.js";

interface CollectedRoute {
  readonly method: string;
  readonly url: string;
  readonly config: RouteConfig;
  readonly schema: { readonly params?: JsonSchema; readonly querystring?: JsonSchema; readonly body?: JsonSchema };
}

export interface OpenApiCollector {
  /** Every documented route (method, url, access), in registration order: what the auth test iterates over. */
  routes(): readonly { readonly method: string; readonly url: string; readonly access: RouteConfig["access"]; readonly summary: string }[];
  /** The methods a concrete path (`/v1/decisions/d-1`, no query; a trailing slash ignored) is served with, HEAD with GET; empty when no route has the path. */
  methodsOf(path: string): readonly string[];
  /** The route table of docs/api.md (markdown): method, path, who may call it, what it does. */
  table(): string;
  document(info: { readonly version: string }): Record<string, unknown>;
}

const errorResponse = (description: string): Record<string, unknown> => ({ description, content: { "application/json": { schema: schemas.error } } });

/** `/v1/decisions/:id` → a RegExp matching `/v1/decisions/d-1`. */
function pathPattern(url: string): RegExp {
  const segments = url.split("/").map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  return new RegExp(`^${segments.join("/")}$`);
}

function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function parameters(route: CollectedRoute): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const add = (where: "path" | "query", schema: JsonSchema | undefined): void => {
    const properties = (schema?.["properties"] ?? {}) as Record<string, JsonSchema>;
    const required = new Set((schema?.["required"] ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      out.push({ name, in: where, required: where === "path" || required.has(name), schema: property, ...(typeof property["description"] === "string" ? { description: property["description"] } : {}) });
    }
  };
  add("path", route.schema.params);
  add("query", route.schema.querystring);
  for (const header of route.config.headers ?? []) out.push({ name: header.name, in: "header", required: header.required, description: header.description, schema: { type: "string" } });
  return out;
}

export function createOpenApiCollector(app: FastifyInstance): OpenApiCollector {
  const collected: CollectedRoute[] = [];
  app.addHook("onRoute", (options) => {
    const config = options.config as RouteConfig | undefined;
    const methods = Array.isArray(options.method) ? options.method : [options.method];
    if (!config?.access || methods.every((m) => m === "HEAD")) return;
    const schema = (options.schema ?? {}) as CollectedRoute["schema"];
    for (const method of methods) if (method !== "HEAD") collected.push({ method: String(method), url: options.url, config, schema });
  });

  return {
    routes: () => collected.map((r) => ({ method: r.method, url: r.url, access: r.config.access, summary: r.config.summary })),
    methodsOf(path) {
      // As the router reads it (app.ts ignoreTrailingSlash): /v1/killswitch/ is /v1/killswitch.
      const routed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
      const methods = new Set(collected.filter((r) => pathPattern(r.url).test(routed)).map((r) => r.method));
      if (methods.has("GET")) methods.add("HEAD");
      return [...methods].sort();
    },
    table() {
      const who = (access: RouteConfig["access"]): string => (access === "public" ? "open" : access === "github-signature" ? "GitHub signature" : access);
      const rows = collected.map((r) => `| \`${r.method}\` | \`${r.url}\` | ${who(r.config.access)} | ${r.config.summary.replace(/\|/g, "\\|")} |`);
      return ["| method | path | role | what it does |", "|---|---|---|---|", ...rows].join("\n");
    },
    document(info) {
      const paths: Record<string, Record<string, unknown>> = {};
      for (const route of collected) {
        const { config } = route;
        const responses: Record<string, unknown> = {};
        for (const [status, doc] of Object.entries(config.responses)) {
          responses[status] = {
            description: doc.description,
            ...(doc.schema ? { content: { [config.produces ?? "application/json"]: { schema: doc.schema } } } : {}),
            ...(doc.headers ? { headers: doc.headers } : {}),
          };
        }
        const readsBody = route.schema.body !== undefined || config.consumes !== undefined;
        // Routes behind a role refuse query parameters they do not take (route.ts), so every one may answer 400.
        const refusesQuery = config.access !== "public" && config.access !== "github-signature";
        if (readsBody || route.schema.querystring || route.schema.params || refusesQuery) responses["400"] ??= errorResponse("The request is malformed; `error.field` names the field.");
        if (readsBody) responses["413"] ??= errorResponse("The body is larger than server.bodyLimit.");
        const accepted = config.consumes ?? ["application/json"];
        const encoding = "a Content-Encoding other than gzip or deflate";
        if (readsBody) responses["415"] ??= errorResponse(accepted.includes("*/*") ? `The body has ${encoding}.` : `The Content-Type is not one the route reads (${accepted.join(", ")}${accepted.includes("application/json") ? ", JSON in UTF-8" : ""}), or the body has ${encoding}.`);
        if (config.access === "github-signature") responses["401"] ??= errorResponse("The X-Hub-Signature-256 signature does not verify.");
        else if (config.access !== "public") {
          responses["401"] ??= errorResponse("No bearer token, or an unknown, revoked or expired one.");
          responses["403"] ??= errorResponse(`The token does not hold the ${config.access} role.`);
        }
        const operation: Record<string, unknown> = {
          operationId: `${route.method.toLowerCase()}${route.url.replace(/[/:{}.-]+(\w)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
          summary: config.summary,
          ...(config.description ? { description: config.description } : {}),
          tags: config.tags,
          "x-vigil-access": config.access,
          security: config.access === "public" || config.access === "github-signature" ? [] : [{ bearerAuth: [] }],
          parameters: parameters(route),
          ...(route.schema.body || config.consumes
            ? { requestBody: { required: route.schema.body === undefined || hasRequired(route.schema.body), content: Object.fromEntries(accepted.map((type) => [type, { schema: route.schema.body ?? {} }])) } }
            : {}),
          responses,
        };
        const path = openApiPath(route.url);
        (paths[path] ??= {})[route.method.toLowerCase()] = operation;
      }
      return {
        openapi: "3.1.0",
        info: { title: "Vigil API", version: info.version, description: "Policy-as-agent governance: events in, decisions with explanations, human review, guarded actions. Every route but /healthz needs a bearer token with the role named in `x-vigil-access` (admin may call everything; approver and operator may also read)." },
        jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
        components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "An API token (`vigil tokens create`)." } }, schemas: { Error: schemas.error } },
        paths,
      };
    },
  };
}
