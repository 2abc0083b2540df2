/**
 * Setup import: what an organisation has already told Vigil, as `vigil simulate --setup` writes it
 * (`{ entities: [{kind, id, attrs, relations?}], exceptions: [PolicyException] }`) — teams and
 * on-call schedules into the entity store, travel notices and transfer mechanisms into the
 * exceptions register under their own ids. Used by `vigil setup import --direct`, `vigil replay
 * --setup` and, item by item through the API, `vigil setup import`.
 */
import { VigilError } from "../core/errors.js";
import { requireRole, type Actor } from "../act/index.js";
import type { ContextStage } from "../context/index.js";
import type { ReviewService } from "../review/index.js";

type Json = Record<string, unknown>;

export interface SetupEntity {
  readonly kind: string;
  readonly id: string;
  readonly attrs?: Json;
  readonly relations?: Readonly<Record<string, readonly string[]>>;
}

/** An exception as a register holds it: the review service's input plus its id and creation. */
export interface SetupException extends Json {
  readonly id: string;
  readonly policies: readonly string[];
  readonly justification: string;
  readonly expiresAt: string;
}

export interface Setup {
  readonly entities: readonly SetupEntity[];
  readonly exceptions: readonly SetupException[];
}

export interface SetupImportResult {
  readonly entities: number;
  readonly exceptions: number;
  /** Items that were not imported, each with its place in the file and why. */
  readonly problems: readonly { readonly item: string; readonly code: string; readonly message: string }[];
}

const isMap = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

/** Checks the file's shape (lists of objects); items are validated when imported. `origin` names the file in errors. */
export function parseSetup(value: unknown, origin = "setup"): Setup {
  if (!isMap(value)) throw new VigilError("VIGIL_BAD_INPUT", `${origin}: a setup is a JSON object {entities: [...], exceptions: [...]} (vigil simulate --setup writes one)`, { file: origin });
  for (const key of Object.keys(value)) {
    if (key !== "entities" && key !== "exceptions") throw new VigilError("VIGIL_BAD_INPUT", `${origin}: "${key}" is not part of a setup; use entities and exceptions`, { file: origin, field: key });
  }
  const list = (key: "entities" | "exceptions"): Json[] => {
    const items = value[key] ?? [];
    if (!Array.isArray(items)) throw new VigilError("VIGIL_BAD_INPUT", `${origin}: ${key} must be a list`, { file: origin, field: key });
    items.forEach((item, index) => {
      if (!isMap(item)) throw new VigilError("VIGIL_BAD_INPUT", `${origin}: ${key}[${index}] must be an object`, { file: origin, field: `${key}[${index}]` });
    });
    return items as Json[];
  };
  return { entities: list("entities") as unknown as SetupEntity[], exceptions: list("exceptions") as unknown as SetupException[] };
}

/**
 * Imports a setup: entities through `context.entities.upsert` (needs the operator role),
 * exceptions through `reviews.exceptions.import` under their own ids (approver). A bad item is
 * reported with its index and the rest is still imported; importing the same setup twice changes
 * nothing. Rejects only when storage fails or the actor may not import at all.
 */
export async function importSetup(target: { readonly context: ContextStage; readonly reviews: ReviewService }, setup: Setup, actor: Actor): Promise<SetupImportResult> {
  if (setup.entities.length > 0) requireRole(actor, ["operator"], "import entities");
  if (setup.exceptions.length > 0) requireRole(actor, ["approver"], "import exceptions");
  const problems: { item: string; code: string; message: string }[] = [];
  let entities = 0;
  let exceptions = 0;
  for (const [index, entity] of setup.entities.entries()) {
    try {
      await target.context.entities.upsert({ kind: entity.kind, id: entity.id, ...(entity.attrs ? { attrs: entity.attrs } : {}), ...(entity.relations ? { relations: entity.relations } : {}) }, actor.id);
      entities++;
    } catch (error) {
      if (!(error instanceof VigilError) || error.code !== "VIGIL_BAD_INPUT") throw error;
      problems.push({ item: `entities[${index}] ${String(entity.kind)}/${String(entity.id)}`, code: error.code, message: error.message });
    }
  }
  for (const [index, exception] of setup.exceptions.entries()) {
    try {
      await target.reviews.exceptions.import(exception as never, actor);
      exceptions++;
    } catch (error) {
      if (!(error instanceof VigilError) || (error.code !== "VIGIL_BAD_INPUT" && error.code !== "VIGIL_CONFLICT")) throw error;
      problems.push({ item: `exceptions[${index}] ${String(exception.id)}`, code: error.code, message: error.message });
    }
  }
  return { entities, exceptions, problems };
}
