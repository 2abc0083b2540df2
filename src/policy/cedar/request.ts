/**
 * Maps a Vigil authorization request (`ctx.input` = `{ principal, action, resource, context }`) to
 * a Cedar request: entity UIDs, the request's own entities (with their attributes) and the context
 * record. The mapping is documented in docs/cedar.md; this file is its one implementation.
 */
import type { CedarValueJson, EntityUidJson, TypeAndId } from "./wasm.js";

/** Keys of a principal/resource object that are not attributes. */
const reservedEntityKeys = new Set(["type", "id", "parents", "attrs"]);

/** A Cedar request built from a Vigil input, ready for `statefulIsAuthorized`. */
export interface CedarRequest {
  readonly principal: TypeAndId;
  readonly action: TypeAndId;
  readonly resource: TypeAndId;
  readonly context: Record<string, CedarValueJson>;
  /** Entities the request itself carries (principal/resource attributes, `input.entities`). */
  readonly entities: RequestEntity[];
}

/**
 * An entity described by the request. `parents` is undefined when the request did not say, so the
 * entity keeps the parents the entities file gives it.
 */
export interface RequestEntity {
  readonly uid: TypeAndId;
  readonly attrs: Record<string, CedarValueJson>;
  readonly parents?: EntityUidJson[];
  /** Cedar entity tags (`input.entities[].tags`), merged over the stored entity's tags. */
  readonly tags?: Record<string, CedarValueJson>;
}

export type RequestMapping =
  | { readonly ok: true; readonly request: CedarRequest }
  /** `notAuthorization`: the input has none of principal/action/resource (not a request for Cedar). */
  | { readonly ok: false; readonly notAuthorization: boolean; readonly field: string; readonly message: string };

class MappingError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * One escape of a Cedar string literal (Rust's: `\n \r \t \\ \0 \' \"`, `\x00`-`\x7F`, `\u{1F600}`);
 * the empty last alternative catches a backslash starting any other escape, which Cedar refuses.
 */
const cedarEscape = /\\(?:([nrt\\0'"])|x([0-7][0-9a-fA-F])|u\{([0-9a-fA-F][0-9a-fA-F_]*)\}|)/g;
const simpleEscapes: Readonly<Record<string, string>> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "0": "\0", "'": "'", '"': '"' };

/** The text of a Cedar string literal's body, or undefined when it has an escape Cedar refuses (`\u0041`, `\/`, `\x80`). */
function unescapeCedarString(body: string): string | undefined {
  let valid = true;
  const text = body.replace(cedarEscape, (_all, simple: string | undefined, ascii: string | undefined, unicode: string | undefined) => {
    if (simple !== undefined) return simpleEscapes[simple] as string;
    if (ascii !== undefined) return String.fromCharCode(parseInt(ascii, 16));
    const digits = unicode?.replace(/_/g, "") ?? "";
    const code = parseInt(digits, 16);
    if (digits.length === 0 || digits.length > 6 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) valid = false;
    return valid ? String.fromCodePoint(code) : "";
  });
  return valid ? text : undefined;
}

/**
 * `User::"alice"`, `My::Ns::Action::"read"` → type and id, read as Cedar reads an entity UID
 * (spaces around `::`, the string escapes of Cedar's literals). Undefined when the text is not a UID.
 */
export function parseEntityUid(text: string): TypeAndId | undefined {
  const match = /^\s*((?:[A-Za-z_][A-Za-z0-9_]*\s*::\s*)*[A-Za-z_][A-Za-z0-9_]*)\s*::\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(text);
  if (!match) return undefined;
  const id = unescapeCedarString(match[2] as string);
  return id === undefined ? undefined : { type: (match[1] as string).replace(/\s+/g, ""), id };
}

const printEscapes: Readonly<Record<string, string>> = { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0" };

/** Renders a UID the way Cedar prints it (`User::"alice"`, control characters as `\u{1}`), which parseEntityUid reads back. */
export function formatEntityUid(uid: TypeAndId): string {
  const id = uid.id.replace(/[\\"\n\r\t\0]|[\x01-\x1f\x7f]/g, (c) => printEscapes[c] ?? `\\u{${c.charCodeAt(0).toString(16)}}`);
  return `${uid.type}::"${id}"`;
}

function toUid(value: unknown, field: string): TypeAndId {
  if (typeof value === "string") {
    const uid = parseEntityUid(value);
    if (uid) return uid;
    throw new MappingError(field, `${field} is the string ${JSON.stringify(value)}, which is not a Cedar entity UID: write it as Type::"id" (e.g. User::"alice") or as an object { type, id }`);
  }
  if (isRecord(value)) {
    const escaped = value["__entity"];
    const target = isRecord(escaped) ? escaped : value;
    const { type, id } = target;
    if (typeof type !== "string" || type === "") {
      throw new MappingError(`${field}.type`, `${field}.type must be the Cedar entity type as a non-empty string (e.g. "User")`);
    }
    if (typeof id !== "string") {
      throw new MappingError(`${field}.id`, `${field}.id must be the entity id as a string (e.g. "alice")`);
    }
    return { type, id };
  }
  throw new MappingError(field, `${field} must be an entity: an object { type, id, ...attributes } or a string Type::"id"`);
}

/**
 * Converts a JSON value to Cedar's JSON value form. Integers stay Longs, other numbers become
 * `decimal` values (at most 4 fraction digits, as Cedar's decimal allows), arrays become sets,
 * objects become records (`__entity` / `__extn` escapes pass through), and `null` record fields are
 * dropped (Cedar has no null: the attribute is absent, so `has` is false).
 */
export function toCedarValue(value: unknown, field: string): CedarValueJson {
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return value;
    // Past ±2^53 a JSON number has already lost digits: Cedar would read the Long exactly, so refuse rather than guess.
    if (Number.isInteger(value)) throw new MappingError(field, `${field} is the integer ${value}, beyond ±2^53 where a JSON number loses digits, so Vigil cannot pass Cedar its exact value: send it as a string`);
    if (Number.isFinite(value)) {
      const text = String(value);
      if (/^-?\d+(\.\d{1,4})?$/.test(text)) {
        return { __extn: { fn: "decimal", arg: text.includes(".") ? text : `${text}.0` } };
      }
    }
    throw new MappingError(field, `${field} is the number ${value}, which Cedar cannot hold: Cedar has 64-bit integers and decimals with at most 4 fraction digits; send an integer or a string`);
  }
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) {
    return value.map((item, index) => {
      if (item === null || item === undefined) throw new MappingError(`${field}[${index}]`, `${field}[${index}] is null: Cedar sets cannot hold null; remove it`);
      return toCedarValue(item, `${field}[${index}]`);
    });
  }
  if (isRecord(value)) {
    if ("__entity" in value || "__extn" in value) return value as CedarValueJson;
    return toCedarRecord(value, field);
  }
  throw new MappingError(field, `${field} has a value Cedar cannot hold (${typeof value})`);
}

function toCedarRecord(value: Record<string, unknown>, field: string): Record<string, CedarValueJson> {
  const record: Record<string, CedarValueJson> = {};
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (item === null || item === undefined) continue;
    record[key] = toCedarValue(item, `${field}.${key}`);
  }
  return record;
}

/** The entity a principal/resource object describes, or undefined when it carries no attributes/parents. */
function toRequestEntity(value: unknown, uid: TypeAndId, field: string): RequestEntity | undefined {
  if (!isRecord(value) || "__entity" in value) return undefined;
  const attrs: Record<string, CedarValueJson> = {};
  let described = false;
  for (const key of Object.keys(value)) {
    if (reservedEntityKeys.has(key)) continue;
    const item = value[key];
    described = true;
    if (item === null || item === undefined) continue;
    attrs[key] = toCedarValue(item, `${field}.${key}`);
  }
  const explicit = value["attrs"];
  if (explicit !== undefined) {
    if (!isRecord(explicit)) throw new MappingError(`${field}.attrs`, `${field}.attrs must be an object of attributes`);
    Object.assign(attrs, toCedarRecord(explicit, `${field}.attrs`));
    described = true;
  }
  const parentsValue = value["parents"];
  let parents: EntityUidJson[] | undefined;
  if (parentsValue !== undefined) {
    if (!Array.isArray(parentsValue)) throw new MappingError(`${field}.parents`, `${field}.parents must be a list of entity UIDs (Type::"id" strings or { type, id } objects)`);
    parents = parentsValue.map((parent, index) => toUid(parent, `${field}.parents[${index}]`));
    described = true;
  }
  if (!described) return undefined;
  return parents === undefined ? { uid, attrs } : { uid, attrs, parents };
}

function toExtraEntities(value: unknown): RequestEntity[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new MappingError("input.entities", "input.entities must be a list of Cedar entities ({ uid, attrs, parents })");
  return value.map((item, index) => {
    const field = `input.entities[${index}]`;
    if (!isRecord(item)) throw new MappingError(field, `${field} must be a Cedar entity object { uid, attrs, parents }`);
    const uid = toUid(item["uid"], `${field}.uid`);
    const attrsValue = item["attrs"] ?? {};
    if (!isRecord(attrsValue)) throw new MappingError(`${field}.attrs`, `${field}.attrs must be an object`);
    const attrs = toCedarRecord(attrsValue, `${field}.attrs`);
    const tagsValue = item["tags"] ?? undefined;
    if (tagsValue !== undefined && !isRecord(tagsValue)) throw new MappingError(`${field}.tags`, `${field}.tags must be an object of tag names to values, as Cedar's entity JSON has it`);
    const tags = tagsValue === undefined ? {} : { tags: toCedarRecord(tagsValue, `${field}.tags`) };
    // No `parents`: the entity keeps the parents the entities files give it (docs/cedar.md).
    const parentsValue = item["parents"];
    if (parentsValue === undefined || parentsValue === null) return { uid, attrs, ...tags };
    if (!Array.isArray(parentsValue)) throw new MappingError(`${field}.parents`, `${field}.parents must be a list of entity UIDs`);
    return { uid, attrs, parents: parentsValue.map((parent, i) => toUid(parent, `${field}.parents[${i}]`)), ...tags };
  });
}

/**
 * Builds the Cedar request for an input. `actionType` is the entity type of bare action names
 * (`"read"` → `Action::"read"`; with a namespaced schema, `Ns::Action`). Never throws: a malformed
 * input comes back as `{ ok: false }` naming the field.
 */
export function mapAuthorizationInput(input: unknown, actionType: string): RequestMapping {
  if (!isRecord(input) || (input["principal"] === undefined && input["action"] === undefined && input["resource"] === undefined)) {
    return { ok: false, notAuthorization: true, field: "input", message: "input has no principal, action or resource: it is not an authorization request" };
  }
  try {
    const principal = toUid(input["principal"], "input.principal");
    const resource = toUid(input["resource"], "input.resource");
    const actionValue = input["action"];
    let action: TypeAndId;
    if (typeof actionValue === "string" && !actionValue.includes("::")) {
      if (actionValue === "") throw new MappingError("input.action", "input.action is empty: give the action name, e.g. \"read\"");
      action = { type: actionType, id: actionValue };
    } else {
      action = toUid(actionValue, "input.action");
    }
    const contextValue = input["context"] ?? {};
    if (!isRecord(contextValue)) throw new MappingError("input.context", "input.context must be an object (a Cedar record)");
    const context = toCedarRecord(contextValue, "input.context");
    const entities: RequestEntity[] = [];
    const principalEntity = toRequestEntity(input["principal"], principal, "input.principal");
    if (principalEntity) entities.push(principalEntity);
    const resourceEntity = toRequestEntity(input["resource"], resource, "input.resource");
    if (resourceEntity) {
      // The resource may be the principal itself (a user editing their own profile): one entity with both descriptions.
      const same = principalEntity !== undefined && resource.type === principal.type && resource.id === principal.id;
      if (!same) entities.push(resourceEntity);
      else {
        const parents = resourceEntity.parents ?? principalEntity.parents;
        entities[0] = { uid: principal, attrs: { ...principalEntity.attrs, ...resourceEntity.attrs }, ...(parents === undefined ? {} : { parents }) };
      }
    }
    for (const extra of toExtraEntities(input["entities"])) entities.push(extra);
    return { ok: true, request: { principal, action, resource, context, entities } };
  } catch (error) {
    if (error instanceof MappingError) return { ok: false, notAuthorization: false, field: error.field, message: error.message };
    return { ok: false, notAuthorization: false, field: "input", message: error instanceof Error ? error.message : String(error) };
  }
}
