import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import type { Storage } from "../core/ports.js";
import { openStorage } from "./adapters.js";
import { bootstrapAdminToken } from "./bootstrap.js";
import { createManualClock } from "./clock.js";
import { createTokenService, parseRoles, roleAllows, roles, tokenIdOf, TOKEN_COLLECTION, type TokenService } from "./tokens.js";

let storage: Storage;
let tokens: TokenService;
const clock = createManualClock("2025-03-03T10:00:00Z");

beforeEach(async () => {
  storage = await openStorage(parseConfig({ store: { path: ":memory:" } }));
  tokens = createTokenService({ storage, clock });
});
afterEach(async () => {
  await storage.close();
});

describe("roles", () => {
  it("admin holds every role; approver and operator also read; ingest and viewer only themselves", () => {
    const table: Record<string, string[]> = { admin: [...roles], approver: ["approver", "viewer"], operator: ["operator", "viewer"], ingest: ["ingest"], viewer: ["viewer"] };
    for (const held of roles) for (const needed of roles) expect(roleAllows([held], needed), `${held} → ${needed}`).toBe(table[held]?.includes(needed));
    expect(roleAllows(["ingest", "viewer"], "viewer")).toBe(true);
  });

  it("parses role lists and names an unknown role", () => {
    expect(parseRoles("viewer, ingest,viewer")).toEqual(["viewer", "ingest"]);
    expect(() => parseRoles(["root"], "--role")).toThrow(/--role: unknown role "root"/);
    expect(() => parseRoles([])).toThrow(/at least one role/);
  });
});

describe("token service", () => {
  it("stores only the hash and verifies the token in constant time; an unknown or malformed token is undefined", async () => {
    const { token, record } = await tokens.create({ name: "ci", roles: ["ingest"] }, "admin");
    expect(record.id).toBe(tokenIdOf(token));
    const stored = await storage.getDoc<Record<string, unknown>>(TOKEN_COLLECTION, record.id);
    expect(JSON.stringify(stored?.value)).not.toContain(token.slice(4));
    expect(await tokens.verify(token)).toEqual({ tokenId: record.id, name: "ci", roles: ["ingest"] });
    expect(await tokens.verify(`${token}x`)).toBeUndefined();
    expect(await tokens.verify("short")).toBeUndefined();
    expect((await tokens.list())[0]).not.toHaveProperty("hash");
    expect(await storage.listAudit({ limit: 10 })).toContainEqual(expect.objectContaining({ actor: "admin", action: "token.create", target: record.id }));
  });

  it("a token whose stored record was damaged (hash cut short, not hex, missing) does not verify, and verifying does not throw", async () => {
    for (const hash of ["abc", "zz", undefined]) {
      const { token, record } = await tokens.create({ name: "ci", roles: ["ingest"] }, "admin");
      const stored = await storage.getDoc<Record<string, unknown>>(TOKEN_COLLECTION, record.id);
      await storage.putDocs([{ collection: TOKEN_COLLECTION, id: record.id, value: { ...stored?.value, hash } }], "2025-03-03T10:00:00Z");
      await expect(tokens.verify(token)).resolves.toBeUndefined();
    }
  });

  it("the last admin token in force cannot be revoked while other tokens still sign in (nobody could administer, and no restart would restore one); with a second admin token it can", async () => {
    const admin = await tokens.create({ name: "root", roles: ["admin"] }, "vigil:bootstrap");
    const ci = await tokens.create({ name: "ci", roles: ["ingest"] }, admin.record.id);
    await expect(tokens.revoke(admin.record.id, "root")).rejects.toMatchObject({ code: "VIGIL_CONFLICT", details: { field: "id" }, message: expect.stringMatching(/last admin token in force.*create another admin token first/) });
    expect(await tokens.verify(admin.token)).toBeDefined();
    const second = await tokens.create({ name: "root 2", roles: ["admin"] }, admin.record.id);
    await tokens.revoke(admin.record.id, "root 2");
    expect(await tokens.verify(admin.token)).toBeUndefined();
    // Revoking every token is allowed: the next start bootstraps an admin token again.
    await tokens.revoke(ci.record.id, "root 2");
    await tokens.revoke(second.record.id, "root 2");
    expect(await tokens.any()).toBe(false);
  });

  it("an expired admin token does not count as another admin in force", async () => {
    const own = createManualClock("2025-03-03T10:00:00Z");
    const service = createTokenService({ storage, clock: own });
    const admin = await service.create({ name: "root", roles: ["admin"] }, "vigil:bootstrap");
    await service.create({ name: "ci", roles: ["ingest"] }, admin.record.id);
    await service.create({ name: "temp admin", roles: ["admin"], expiresAt: "2025-03-03T10:30:00Z" }, admin.record.id);
    own.advance(3_600_000);
    await expect(service.revoke(admin.record.id, "root")).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
  });

  it("revoked tokens stop verifying at once, and expired ones when their time comes", async () => {
    const a = await tokens.create({ name: "a", roles: ["viewer"] }, "admin");
    const b = await tokens.create({ name: "b", roles: ["viewer"], expiresAt: "2025-03-03T11:00:00Z" }, "admin");
    expect(await tokens.verify(a.token)).toBeDefined();
    await tokens.revoke(a.record.id, "admin");
    expect(await tokens.verify(a.token)).toBeUndefined();
    await expect(tokens.revoke("tok_nope", "admin")).rejects.toThrow(/no token with id tok_nope/);
    // The verification cache runs on real time; a fresh service sees the clock's expiry.
    clock.advance(2 * 3_600_000);
    expect(await createTokenService({ storage, clock }).verify(b.token)).toBeUndefined();
  });

  it("bootstraps the admin token once: from VIGIL_ADMIN_TOKEN, else generated; never again", async () => {
    await expect(bootstrapAdminToken(tokens, { VIGIL_ADMIN_TOKEN: "too-short" })).rejects.toThrow(/at least 16 characters/);
    const first = await bootstrapAdminToken(tokens, { VIGIL_ADMIN_TOKEN: "a-long-enough-admin-token" });
    expect(first.kind).toBe("from-env");
    expect((await tokens.verify("a-long-enough-admin-token"))?.roles).toEqual(["admin"]);
    expect((await bootstrapAdminToken(tokens, { VIGIL_ADMIN_TOKEN: "another-long-admin-token" })).kind).toBe("existing");
    expect(await tokens.verify("another-long-admin-token")).toBeUndefined();

    const fresh = createTokenService({ storage: await openStorage(parseConfig({ store: { path: ":memory:" } })), clock });
    const generated = await bootstrapAdminToken(fresh, {});
    expect(generated.kind).toBe("generated");
    if (generated.kind === "generated") expect((await fresh.verify(generated.token))?.roles).toEqual(["admin"]);
  });

  it("a token verified just before its expiry stops working at the expiry, though verifications are cached; one already expired is not created", async () => {
    const soon = await tokens.create({ name: "soon", roles: ["viewer"], expiresAt: new Date(clock.now().getTime() + 60_000).toISOString() }, "alice");
    expect((await tokens.verify(soon.token))?.name).toBe("soon");
    clock.advance(61_000);
    expect(await tokens.verify(soon.token)).toBeUndefined();
    await expect(tokens.create({ name: "late", roles: ["viewer"], expiresAt: new Date(clock.now().getTime() - 1).toISOString() }, "alice")).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "expiresAt" } });
  });

  it("a store whose tokens are all expired or revoked is bootstrapped again; a revoked VIGIL_ADMIN_TOKEN is refused by name, not restored", async () => {
    const shortLived = await tokens.create({ name: "ci", roles: ["admin"], expiresAt: new Date(clock.now().getTime() + 3_600_000).toISOString() }, "alice");
    expect(await tokens.any()).toBe(true);
    clock.advance(2 * 3_600_000);
    // Only an expired token: nobody can sign in, so VIGIL_ADMIN_TOKEN applies.
    expect(await tokens.any()).toBe(false);
    expect(await createTokenService({ storage, clock }).verify(shortLived.token)).toBeUndefined();
    const imported = await bootstrapAdminToken(tokens, { VIGIL_ADMIN_TOKEN: "a-long-enough-admin-token" });
    expect(imported.kind).toBe("from-env");
    // Revoked, and the same VIGIL_ADMIN_TOKEN still set at the next start: a clear refusal.
    await tokens.revoke(tokenIdOf("a-long-enough-admin-token"), "alice");
    const refused = bootstrapAdminToken(tokens, { VIGIL_ADMIN_TOKEN: "a-long-enough-admin-token" });
    await expect(refused).rejects.toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "VIGIL_ADMIN_TOKEN" } });
    await expect(bootstrapAdminToken(tokens, { VIGIL_ADMIN_TOKEN: "a-long-enough-admin-token" })).rejects.toThrow(/was revoked .* by alice\): it is not restored; set another VIGIL_ADMIN_TOKEN, or unset it/);
    expect(await tokens.verify("a-long-enough-admin-token")).toBeUndefined();
    // Another token is taken.
    expect((await bootstrapAdminToken(tokens, { VIGIL_ADMIN_TOKEN: "a-second-long-admin-token" })).kind).toBe("from-env");
    expect((await tokens.verify("a-second-long-admin-token"))?.roles).toEqual(["admin"]);
  });
});
