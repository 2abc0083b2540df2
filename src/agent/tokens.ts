/**
 * API tokens with roles. A token is `vgl_` + 43 characters of base64url (256 random bits); only
 * its SHA-256 is stored (collection `auth.tokens`, id `tok_` + the first 16 hex digits of the
 * hash), so a stolen database does not yield usable tokens. Verification recomputes the hash and
 * compares it with the stored one in constant time. Verified tokens are cached for a short time
 * (`cacheMs`) so the hot path does not read storage per request; a revoke in this process takes
 * effect at once, in other processes within `cacheMs`.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { sha256Hex as sha256 } from "../core/hash.js";
import { VigilError } from "../core/errors.js";
import type { Clock, Storage } from "../core/ports.js";

export type Role = "admin" | "approver" | "operator" | "ingest" | "viewer";

export const roles: readonly Role[] = ["admin", "approver", "operator", "ingest", "viewer"];

/** What each role may do besides its own routes: admin everything; approver and operator also read. */
const implied: Readonly<Record<Role, readonly Role[]>> = {
  admin: ["admin", "approver", "operator", "ingest", "viewer"],
  approver: ["approver", "viewer"],
  operator: ["operator", "viewer"],
  ingest: ["ingest"],
  viewer: ["viewer"],
};

/** True when a token holding `held` may use a route that needs `needed`. */
export function roleAllows(held: readonly Role[], needed: Role): boolean {
  return held.some((role) => implied[role].includes(needed));
}

export const TOKEN_COLLECTION = "auth.tokens";

/** A stored token, without its secret. */
export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly roles: readonly Role[];
  /** sha256 hex of the whole token. */
  readonly hash: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly expiresAt?: string;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
}

/** A verified caller: who to record in the audit trail. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  readonly roles: readonly Role[];
}

export interface TokenService {
  /** Creates a token; the returned `token` is the only time the secret is visible. */
  create(input: { readonly name: string; readonly roles: readonly Role[]; readonly expiresAt?: string }, by: string): Promise<{ token: string; record: TokenInfo }>;
  /** Stores an externally chosen token (VIGIL_ADMIN_TOKEN). Needs at least 16 characters. */
  importToken(token: string, input: { readonly name: string; readonly roles: readonly Role[] }, by: string): Promise<TokenInfo>;
  list(): Promise<TokenInfo[]>;
  /** Revokes by id; VIGIL_NOT_FOUND when unknown. Idempotent for an already revoked token. */
  revoke(id: string, by: string): Promise<TokenInfo>;
  /** The principal for a presented token, or undefined (unknown, revoked, expired). Never throws for bad input. */
  verify(token: string): Promise<Principal | undefined>;
  /** True when at least one usable token exists. */
  any(): Promise<boolean>;
}

/** A token as listed: everything but the hash. */
export type TokenInfo = Omit<TokenRecord, "hash">;


export function tokenIdOf(token: string): string {
  return `tok_${sha256(token).slice(0, 16)}`;
}

function info(record: TokenRecord): TokenInfo {
  const { hash: _hash, ...rest } = record;
  return rest;
}

/** Checks a role list from the API or CLI; VIGIL_BAD_INPUT names the field. */
export function parseRoles(value: unknown, field = "roles"): Role[] {
  const list = typeof value === "string" ? value.split(",").map((r) => r.trim()).filter(Boolean) : value;
  if (!Array.isArray(list) || list.length === 0) throw new VigilError("VIGIL_BAD_INPUT", `${field} must name at least one role: ${roles.join(", ")}`, { field });
  for (const role of list) {
    if (!roles.includes(role as Role)) throw new VigilError("VIGIL_BAD_INPUT", `${field}: unknown role ${JSON.stringify(role)}; use one of ${roles.join(", ")}`, { field });
  }
  return [...new Set(list as Role[])];
}

export function createTokenService(options: { readonly storage: Storage; readonly clock: Clock; readonly cacheMs?: number }): TokenService {
  const { storage, clock } = options;
  const cacheMs = options.cacheMs ?? 5_000;
  const cache = new Map<string, { principal: Principal | undefined; until: number; expiresMs?: number }>();
  const now = (): string => clock.now().toISOString();

  async function store(token: string, input: { readonly name: string; readonly roles: readonly Role[]; readonly expiresAt?: string }, by: string): Promise<TokenInfo> {
    const name = input.name.trim();
    if (!name) throw new VigilError("VIGIL_BAD_INPUT", "name must be a non-empty label such as \"ci-ingest\"", { field: "name" });
    if (input.expiresAt !== undefined && Number.isNaN(Date.parse(input.expiresAt))) {
      throw new VigilError("VIGIL_BAD_INPUT", `expiresAt must be an RFC 3339 time, got ${JSON.stringify(input.expiresAt)}`, { field: "expiresAt" });
    }
    const record: TokenRecord = { id: tokenIdOf(token), name, roles: parseRoles(input.roles), hash: sha256(token), createdAt: now(), createdBy: by, ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}) };
    await storage.putDocs([{ collection: TOKEN_COLLECTION, id: record.id, value: record, expectVersion: 0 }], record.createdAt);
    await storage.appendAudit([{ at: record.createdAt, actor: by, action: "token.create", target: record.id, detail: { name, roles: record.roles } }]);
    return info(record);
  }

  const service: TokenService = {
    async create(input, by) {
      if (input.expiresAt !== undefined && Date.parse(input.expiresAt) <= clock.now().getTime()) {
        throw new VigilError("VIGIL_BAD_INPUT", `expiresAt ${input.expiresAt} has already passed: a token that never works is not created; give a future time or leave it out`, { field: "expiresAt" });
      }
      const token = `vgl_${randomBytes(32).toString("base64url")}`;
      return { token, record: await store(token, input, by) };
    },
    async importToken(token, input, by) {
      if (token.length < 16) throw new VigilError("VIGIL_BAD_CONFIG", "VIGIL_ADMIN_TOKEN must be at least 16 characters (use e.g. `openssl rand -base64 32`)", { field: "VIGIL_ADMIN_TOKEN" });
      // A token the store knows was revoked or has expired (import happens only when none is usable): never brought back.
      const known = await storage.getDoc<TokenRecord>(TOKEN_COLLECTION, tokenIdOf(token));
      if (known !== undefined) {
        const state = known.value.revokedAt ? `was revoked (${known.value.revokedAt} by ${known.value.revokedBy ?? "?"})` : "has expired";
        throw new VigilError("VIGIL_BAD_CONFIG", `VIGIL_ADMIN_TOKEN is token ${known.value.id}, which ${state}: it is not restored; set another VIGIL_ADMIN_TOKEN, or unset it to have an admin token generated and printed once`, { field: "VIGIL_ADMIN_TOKEN" });
      }
      return store(token, input, by);
    },
    async list() {
      const docs = await storage.listDocs<TokenRecord>(TOKEN_COLLECTION, { limit: 10_000 });
      return docs.map((doc) => info(doc.value));
    },
    async revoke(id, by) {
      const doc = await storage.getDoc<TokenRecord>(TOKEN_COLLECTION, id);
      if (!doc) throw new VigilError("VIGIL_NOT_FOUND", `no token with id ${id}; list them with \`vigil tokens list\``, { field: "id" });
      if (doc.value.revokedAt) return info(doc.value);
      await refuseLastAdmin(doc.value);
      const at = now();
      const record: TokenRecord = { ...doc.value, revokedAt: at, revokedBy: by };
      await storage.putDocs([{ collection: TOKEN_COLLECTION, id, value: record, expectVersion: doc.version }], at);
      await storage.appendAudit([{ at, actor: by, action: "token.revoke", target: id, detail: { name: record.name } }]);
      for (const [key, entry] of cache) if (entry.principal?.tokenId === id) cache.delete(key);
      return info(record);
    },
    async verify(token) {
      if (typeof token !== "string" || token.length < 16 || token.length > 512) return undefined;
      const hash = sha256(token);
      const nowMs = clock.now().getTime();
      // The cache runs on real time: a manual clock (tests) must not freeze it.
      const realMs = Date.now();
      const cached = cache.get(hash);
      // A cached token also ends at its expiry, by the agent's clock.
      if (cached && cached.until > realMs && (cached.expiresMs === undefined || cached.expiresMs > nowMs)) return cached.principal;
      const doc = await storage.getDoc<TokenRecord>(TOKEN_COLLECTION, `tok_${hash.slice(0, 16)}`);
      let principal: Principal | undefined;
      let expiresMs: number | undefined;
      if (doc && sameHash(doc.value.hash, hash) && !doc.value.revokedAt) {
        expiresMs = doc.value.expiresAt === undefined ? undefined : Date.parse(doc.value.expiresAt);
        const expired = expiresMs !== undefined && expiresMs <= nowMs;
        if (!expired) principal = { tokenId: doc.value.id, name: doc.value.name, roles: doc.value.roles };
      }
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, { principal, until: realMs + cacheMs, ...(expiresMs === undefined ? {} : { expiresMs }) });
      return principal;
    },
    async any() {
      return (await usableTokens()).length > 0;
    },
  };
  return service;

  /** Tokens that sign in now: neither revoked nor expired (a store of expired tokens only lets nobody in). */
  async function usableTokens(): Promise<TokenRecord[]> {
    const docs = await storage.listDocs<TokenRecord>(TOKEN_COLLECTION, { limit: 10_000 });
    const nowMs = clock.now().getTime();
    return docs.map((doc) => doc.value).filter((t) => !t.revokedAt && !(t.expiresAt !== undefined && Date.parse(t.expiresAt) <= nowMs));
  }

  /**
   * Revoking the last admin token in force while other tokens still sign in would leave nobody able
   * to administer, and no restart brings one back (the bootstrap runs only when no token is usable).
   */
  async function refuseLastAdmin(token: TokenRecord): Promise<void> {
    if (!token.roles.includes("admin")) return;
    const others = (await usableTokens()).filter((t) => t.id !== token.id);
    if (others.length === 0 || others.some((t) => t.roles.includes("admin"))) return;
    throw new VigilError("VIGIL_CONFLICT", `token ${token.id} (${token.name}) is the last admin token in force: revoked, nobody could administer Vigil while the other ${others.length} token(s) still sign in; create another admin token first (vigil tokens create --name <who> --role admin), then revoke this one`, { field: "id" });
  }
}

/** Constant-time comparison of a stored hex digest with a computed one; a damaged stored value (wrong length, not hex, missing) is no match. */
function sameHash(stored: unknown, computed: string): boolean {
  if (typeof stored !== "string" || !/^[0-9a-f]+$/i.test(stored)) return false;
  const expected = Buffer.from(computed, "hex");
  const given = Buffer.from(stored, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
