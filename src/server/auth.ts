/**
 * Authentication and authorisation of every route, and the who-did-what audit trail.
 *
 * - `onRequest` (before the body is read): the route's `access` decides. Roles need
 *   `Authorization: Bearer <token>`; a missing or unknown token is 401 (with
 *   `WWW-Authenticate: Bearer`), a token without the role is 403. Public routes (/healthz) and
 *   signature-checked routes (the GitHub webhook) pass through to their handler.
 * - `onSend` (before the answer leaves): a successful call of an audited route, and every 403,
 *   is appended to the audit trail with the token's name — recorded before the caller hears back.
 */
import type { FastifyInstance } from "fastify";
import { roleAllows, type Agent } from "../agent.js";
import { VigilError } from "../core/errors.js";
import type { RouteConfig } from "./route.js";

// Any visible ASCII, not only RFC 6750's b64token: VIGIL_ADMIN_TOKEN may hold any characters
// (`!`, `@`, `#`...), and a token the header could not carry would lock its admin out.
const BEARER = /^Bearer[ \t]+([\x21-\x7E]+)[ \t]*$/i;

export function installAuth(app: FastifyInstance, agent: Agent): void {
  app.decorateRequest("principal", undefined);

  app.addHook("onRoute", (options) => {
    const config = options.config as Partial<RouteConfig> | undefined;
    if (options.method === "HEAD" || (Array.isArray(options.method) && options.method.every((m) => m === "HEAD"))) return;
    if (!config?.access) throw new VigilError("VIGIL_INTERNAL", `route ${String(options.method)} ${options.url} declares no access; register it with route() from src/server/route.ts`);
  });

  app.addHook("onRequest", async (request, reply) => {
    const config = request.routeOptions.config as Partial<RouteConfig> | undefined;
    const access = config?.access;
    if (access === undefined || access === "public" || access === "github-signature") return;
    const header = request.headers.authorization;
    if (header === undefined) {
      reply.header("www-authenticate", 'Bearer realm="vigil"');
      throw new VigilError("VIGIL_UNAUTHENTICATED", "missing Authorization header: send `Authorization: Bearer <token>` (create tokens with `vigil tokens create`)", { field: "authorization" });
    }
    const token = BEARER.exec(header)?.[1];
    const principal = token === undefined ? undefined : await agent.tokens.verify(token);
    if (principal === undefined) {
      reply.header("www-authenticate", 'Bearer realm="vigil", error="invalid_token"');
      throw new VigilError("VIGIL_UNAUTHENTICATED", token === undefined ? "the Authorization header must be `Bearer <token>`" : "the bearer token is unknown, revoked or expired", { field: "authorization" });
    }
    request.principal = principal;
    if (!roleAllows(principal.roles, access)) {
      throw new VigilError("VIGIL_FORBIDDEN", `${request.method} ${request.routeOptions.url} needs the ${access} role; token "${principal.name}" has ${principal.roles.join(", ")}`, { field: "authorization" });
    }
  });

  app.addHook("onSend", async (request, reply, payload) => {
    const principal = request.principal;
    const config = request.routeOptions.config as Partial<RouteConfig> | undefined;
    if (!principal || !config?.access) return payload;
    const status = reply.statusCode;
    const params = (request.params ?? {}) as Record<string, unknown>;
    // What the call acted on: the `id` or `name` path parameter, else the other path parameters (`:policy`).
    const others = Object.values(params).filter((value): value is string => typeof value === "string");
    const target = typeof params["id"] === "string" ? params["id"] : typeof params["name"] === "string" ? params["name"] : others.length > 0 ? others.join("/") : undefined;
    const body = request.body as Record<string, unknown> | undefined;
    const reason = typeof body === "object" && body !== null && typeof body["reason"] === "string" ? body["reason"] : undefined;
    if (status === 403) {
      await agent.storage.appendAudit([{ at: agent.clock.now().toISOString(), actor: principal.name, action: "api.forbidden", target: `${request.method} ${request.routeOptions.url}`, detail: { tokenId: principal.tokenId, roles: principal.roles } }]);
    } else if (config.audit && status < 400) {
      await agent.storage.appendAudit([{ at: agent.clock.now().toISOString(), actor: principal.name, action: config.audit, ...(target ? { target } : {}), detail: { status, tokenId: principal.tokenId, ...(reason ? { reason } : {}) } }]);
    }
    return payload;
  });
}
