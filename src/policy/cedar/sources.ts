/**
 * Reads the files of one Cedar policy set (policies, optional schema, optional entities) into the
 * parsed pieces the compiled policy needs, collecting load errors that name the file, line and
 * column of Cedar's message. Never throws.
 */
import { VigilError } from "../../core/errors.js";
import { jsonErrorIndex, positionAtByteOffset, positionAtCharIndex } from "./positions.js";
import { cedarWasm, type DetailedError, type EntityJson, type Schema } from "./wasm.js";

/** One file's text, named as the loader found it. */
export interface CedarSourceFile {
  readonly file: string;
  readonly text: string;
}

/** One Cedar policy of the set, with where it came from. */
export interface CedarPolicyEntry {
  /** `@id("...")` annotation, else `policy<N>` (N counts the set's policies in file order). */
  readonly id: string;
  readonly effect: "permit" | "forbid";
  readonly text: string;
  readonly file: string;
  /** UTF-8 byte offset of `text` in its file (Cedar spans are byte offsets). */
  readonly byteOffset: number;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface ParsedSchema {
  readonly file: string;
  readonly schema: Schema;
  /** Text for Cedar-syntax schemas (positions), undefined for JSON schemas. */
  readonly text?: string;
}

/** Cedar's message plus its help line, the way a person wants to read it. */
export function describeCedarError(error: DetailedError): string {
  const help = error.help ? ` (${error.help})` : "";
  const related = (error.related ?? []).map((r) => `; ${r.message}`).join("");
  return `${error.message}${help}${related}`;
}

/** A load error for a Cedar diagnostic, positioned in `file` when Cedar gave a span. */
export function cedarLoadError(file: string, text: string | undefined, byteOffset: number, error: DetailedError, subject: string, policy?: string): VigilError {
  const span = error.sourceLocations?.[0];
  const position = span && text !== undefined ? positionAtByteOffset(text, byteOffset + span.start) : undefined;
  const where = position ? `${file}:${position.line}:${position.column}` : file;
  return new VigilError("VIGIL_POLICY_COMPILE", `${where}: ${subject}: Cedar: ${describeCedarError(error)}`, {
    file,
    ...(position ? { line: position.line, column: position.column } : {}),
    ...(policy ? { policy } : {}),
  });
}

/** UTF-8 byte offset of a character index. */
function byteOffsetOf(text: string, index: number): number {
  return Buffer.byteLength(text.slice(0, index), "utf8");
}

/**
 * Splits each policy file into its policies, in file order, with ids and annotations.
 * A file that does not parse yields errors (with positions) and no policies.
 */
export function readPolicyFiles(files: readonly CedarSourceFile[]): { policies: CedarPolicyEntry[]; errors: VigilError[] } {
  const policies: CedarPolicyEntry[] = [];
  const errors: VigilError[] = [];
  const seen = new Map<string, string>();
  let counter = 0;
  for (const source of files) {
    // Templates first: parsed as static policies they only fail with "static policy set includes a template".
    const parts = cedarWasm.policySetTextToParts(source.text);
    if (parts.type === "success" && parts.policy_templates.length > 0) {
      errors.push(new VigilError("VIGIL_POLICY_UNSUPPORTED", `${source.file}: Cedar policy templates (policies with ?principal/?resource slots) are not supported: Vigil has no template links; write static policies instead`, { file: source.file }));
      continue;
    }
    const parsed = cedarWasm.checkParsePolicySet({ staticPolicies: source.text });
    if (parsed.type === "failure") {
      for (const error of parsed.errors) errors.push(cedarLoadError(source.file, source.text, 0, error, "Cedar policy file does not parse"));
      continue;
    }
    if (parts.type === "failure") {
      for (const error of parts.errors) errors.push(cedarLoadError(source.file, source.text, 0, error, "Cedar policy file does not split into policies"));
      continue;
    }
    // policySetTextToParts sorts by id; put the policies back in file order.
    const located = locateParts(source.text, parts.policies);
    for (const { text, index } of located) {
      const json = cedarWasm.policyToJson(text);
      const annotations = json.type === "success" ? { ...(json.json.annotations ?? {}) } : {};
      const effect = json.type === "success" ? json.json.effect : text.includes("forbid") ? "forbid" : "permit";
      const id = annotations["id"] ?? `policy${counter}`;
      counter++;
      const previous = seen.get(id);
      if (previous !== undefined) {
        errors.push(new VigilError("VIGIL_POLICY_COMPILE", `${source.file}: two Cedar policies have the id "${id}" (the other is in ${previous}): give each policy a unique @id("...")`, { file: source.file, policy: id, ...positionOf(source.text, index) }));
        continue;
      }
      seen.set(id, source.file);
      policies.push({ id, effect, text, file: source.file, byteOffset: byteOffsetOf(source.text, index), annotations });
    }
  }
  return { policies, errors };
}

function positionOf(text: string, index: number): { line: number; column: number } {
  return positionAtCharIndex(text, index);
}

/**
 * Finds each part's character index in the file, in file order. Cedar names the file's policies
 * policy0, policy1, ... by position and lists them sorted by that id (policy0, policy1, policy10,
 * policy11, policy2, ...), so the list is put back in file order first, then each part is searched
 * after the previous one: a policy whose text also occurs inside an earlier one is found at its own place.
 */
function locateParts(text: string, parts: readonly string[]): { text: string; index: number }[] {
  const ids = parts.map((_, n) => `policy${n}`).sort();
  const inFileOrder: string[] = new Array<string>(parts.length);
  ids.forEach((id, listIndex) => { inFileOrder[Number(id.slice("policy".length))] = parts[listIndex] as string; });
  const located: { text: string; index: number }[] = [];
  let cursor = 0;
  for (const part of inFileOrder) {
    const index = text.indexOf(part, cursor);
    if (index < 0) return locateByOccurrence(text, parts);
    located.push({ text: part, index });
    cursor = index + part.length;
  }
  return located;
}

/** Fallback when a part is not found in order: each part's first unused occurrence, sorted by position. */
function locateByOccurrence(text: string, parts: readonly string[]): { text: string; index: number }[] {
  const used = new Set<number>();
  const located: { text: string; index: number }[] = [];
  for (const part of parts) {
    let index = text.indexOf(part);
    while (index >= 0 && used.has(index)) index = text.indexOf(part, index + 1);
    used.add(index);
    located.push({ text: part, index: Math.max(index, 0) });
  }
  return located.sort((a, b) => a.index - b.index);
}

function parseJson(source: CedarSourceFile, what: string): { ok: true; value: unknown } | { ok: false; error: VigilError } {
  try {
    return { ok: true, value: JSON.parse(source.text) as unknown };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const at = jsonErrorIndex(source.text);
    const position = at === undefined ? undefined : positionAtCharIndex(source.text, at);
    const where = position ? `${source.file}:${position.line}:${position.column}` : source.file;
    return { ok: false, error: new VigilError("VIGIL_POLICY_LOAD", `${where}: ${what} is not valid JSON: ${message}`, { file: source.file, ...(position ?? {}) }, cause) };
  }
}

/** Reads a `.cedarschema` (Cedar syntax) or `.cedarschema.json` (JSON) schema. */
export function readSchema(source: CedarSourceFile): { schema?: ParsedSchema; errors: VigilError[] } {
  let schema: Schema;
  let text: string | undefined;
  if (source.file.endsWith(".json")) {
    const parsed = parseJson(source, "Cedar schema");
    if (!parsed.ok) return { errors: [parsed.error] };
    schema = parsed.value as Schema;
  } else {
    schema = source.text;
    text = source.text;
  }
  const checked = cedarWasm.checkParseSchema(schema);
  if (checked.type === "failure") {
    return { errors: checked.errors.map((error) => cedarLoadError(source.file, text, 0, error, "Cedar schema is invalid")) };
  }
  return { schema: text === undefined ? { file: source.file, schema } : { file: source.file, schema, text }, errors: [] };
}

/**
 * The entity type of bare action names: `Action`, or `Ns::Action` when the schema declares its
 * actions in exactly one namespace.
 */
export function actionTypeOf(schema: ParsedSchema | undefined): string {
  if (!schema) return "Action";
  const json = cedarWasm.schemaToJson(schema.schema);
  if (json.type === "failure") return "Action";
  const namespaces = Object.entries(json.json).filter(([, definition]) => Object.keys(definition.actions ?? {}).length > 0).map(([name]) => name);
  return namespaces.length === 1 && namespaces[0] ? `${namespaces[0]}::Action` : "Action";
}

/** Validates the policies against the schema (strict mode); each validation error is a load error. */
export function validatePolicies(policies: readonly CedarPolicyEntry[], schema: ParsedSchema, texts: ReadonlyMap<string, string>): VigilError[] {
  const staticPolicies: Record<string, string> = {};
  for (const policy of policies) staticPolicies[policy.id] = policy.text;
  const answer = cedarWasm.validate({ schema: schema.schema, policies: { staticPolicies }, validationSettings: { mode: "strict" } });
  if (answer.type === "failure") {
    return answer.errors.map((error) => cedarLoadError(schema.file, schema.text, 0, error, "Cedar validation could not run"));
  }
  const byId = new Map(policies.map((policy) => [policy.id, policy]));
  return answer.validationErrors.map(({ policyId, error }) => {
    const policy = byId.get(policyId);
    const subject = `Cedar policy "${policyId}" does not validate against the schema ${schema.file}`;
    if (!policy) return cedarLoadError(schema.file, undefined, 0, error, subject, policyId);
    return cedarLoadError(policy.file, texts.get(policy.file), policy.byteOffset, error, subject, policyId);
  });
}

/** Reads entities files (Cedar entities JSON: a list of `{ uid, attrs, parents }`), checked against the schema when given. */
export function readEntities(files: readonly CedarSourceFile[], schema: ParsedSchema | undefined): { entities: EntityJson[]; errors: VigilError[] } {
  const entities: EntityJson[] = [];
  const errors: VigilError[] = [];
  const seen = new Set<string>();
  for (const source of files) {
    const parsed = parseJson(source, "Cedar entities file");
    if (!parsed.ok) {
      errors.push(parsed.error);
      continue;
    }
    if (!Array.isArray(parsed.value)) {
      errors.push(new VigilError("VIGIL_POLICY_LOAD", `${source.file}: a Cedar entities file must hold a JSON list of entities [{ "uid": { "type", "id" }, "attrs": {}, "parents": [] }]`, { file: source.file }));
      continue;
    }
    const list = parsed.value as EntityJson[];
    const checked = cedarWasm.checkParseEntities({ entities: list, schema: schema?.schema ?? null });
    if (checked.type === "failure") {
      for (const error of checked.errors) errors.push(cedarLoadError(source.file, undefined, 0, error, "Cedar entities are invalid"));
      continue;
    }
    for (const entity of list) {
      const uid = "__entity" in entity.uid ? entity.uid.__entity : entity.uid;
      const key = `${uid.type}::${JSON.stringify(uid.id)}`;
      if (seen.has(key)) {
        errors.push(new VigilError("VIGIL_POLICY_LOAD", `${source.file}: entity ${key} is defined twice in the entities files: keep one definition`, { file: source.file }));
        continue;
      }
      seen.add(key);
      entities.push({ uid, attrs: entity.attrs ?? {}, parents: entity.parents ?? [], ...(entity.tags ? { tags: entity.tags } : {}) });
    }
  }
  return { entities, errors };
}
