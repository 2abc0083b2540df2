/**
 * First start: when the store holds no usable token (none, or only revoked or expired ones),
 * `VIGIL_ADMIN_TOKEN` becomes the admin token (one the store knows as revoked or expired is refused,
 * VIGIL_BAD_CONFIG); without it one is generated and returned so the caller prints it once. Later
 * starts change nothing (VIGIL_ADMIN_TOKEN is ignored while a usable token exists: revoke and
 * create tokens through the API or `vigil tokens`).
 */
import type { TokenService } from "./tokens.js";

export type AdminBootstrap =
  | { readonly kind: "existing" }
  | { readonly kind: "from-env"; readonly id: string }
  | { readonly kind: "generated"; readonly id: string; readonly token: string };

export async function bootstrapAdminToken(tokens: TokenService, env: Readonly<Record<string, string | undefined>>): Promise<AdminBootstrap> {
  if (await tokens.any()) return { kind: "existing" };
  const fromEnv = env["VIGIL_ADMIN_TOKEN"];
  if (fromEnv !== undefined && fromEnv !== "") {
    const record = await tokens.importToken(fromEnv, { name: "admin (VIGIL_ADMIN_TOKEN)", roles: ["admin"] }, "vigil:bootstrap");
    return { kind: "from-env", id: record.id };
  }
  const created = await tokens.create({ name: "admin (generated at first start)", roles: ["admin"] }, "vigil:bootstrap");
  return { kind: "generated", id: created.record.id, token: created.token };
}
