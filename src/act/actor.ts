/**
 * Who asks: the authenticated principal as the HTTP layer or CLI resolved it. Library functions
 * that change state on a person's behalf take an Actor and check its roles themselves, so every
 * entry point (API, CLI, tests) gets the same rule; the HTTP layer maps VIGIL_FORBIDDEN to 403.
 */
import { VigilError } from "../core/errors.js";

export type Role = "admin" | "approver" | "operator" | "ingest" | "viewer";

export interface Actor {
  /** User or token name, recorded in the audit trail. */
  readonly id: string;
  readonly roles: readonly string[];
}

/**
 * Throws VigilError(VIGIL_FORBIDDEN) unless the actor holds one of `roles` (admin always may).
 * `what` names the operation in the message, e.g. "approve review RV-3".
 */
export function requireRole(actor: Actor, roles: readonly Role[], what: string): void {
  if (actor === undefined || actor === null || typeof actor.id !== "string" || actor.id.trim() === "") {
    throw new VigilError("VIGIL_FORBIDDEN", `${what}: an actor with an id is required`, { field: "actor.id" });
  }
  const held = Array.isArray(actor.roles) ? actor.roles : [];
  if (held.includes("admin") || roles.some((r) => held.includes(r))) return;
  throw new VigilError("VIGIL_FORBIDDEN", `${what} needs the ${[...roles, "admin"].filter((r, i, all) => all.indexOf(r) === i).join(" or ")} role; ${actor.id} has ${held.length > 0 ? held.join(", ") : "no roles"}`, { field: "actor.roles" });
}
