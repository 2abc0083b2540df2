/**
 * The Cedar policy language plugin. File conventions (docs/cedar.md):
 * - every `.cedar` file in one directory belongs to one Cedar policy set (Cedar's semantics hold
 *   across the files: default deny, any satisfied forbid wins);
 * - at most one schema per directory: `*.cedarschema` (Cedar syntax) or `*.cedarschema.json`;
 * - entities: `entities.json` and `*.entities.json` in the same directory (Cedar entities JSON);
 * - the set is named after its directory's base name (`cedar` when that is `.`);
 * - schema and entities files in a set's directory that no document brought (the loader scans
 *   only `.cedar`/`.cedarschema`; a `.cedar` file may be named on its own) are read from disk, so a
 *   set means the same however it was loaded.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { VigilError } from "../../core/errors.js";
import type { CelEnvironment } from "../cel/api.js";
import type { CompileResult, PolicyDocument, PolicyLanguagePlugin } from "../language.js";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import { compileCedarPolicySet } from "./compile.js";
import type { CedarSourceFile } from "./sources.js";

type CedarFileRole = "policy" | "schema" | "entities";

/** Forward slashes, `.`, `..` and repeated slashes resolved: one spelling per file (as `join` gives siblings). */
function normalize(file: string): string {
  return posix.normalize(file.replace(/\\/g, "/"));
}

function basename(file: string): string {
  const normalized = normalize(file);
  return normalized.slice(normalized.lastIndexOf("/") + 1);
}

function dirname(file: string): string {
  const normalized = normalize(file);
  const at = normalized.lastIndexOf("/");
  return at < 0 ? "." : normalized.slice(0, at) || "/";
}

/** Which part of a Cedar policy set a file is, by its name; undefined for other files. */
export function cedarFileRole(file: string): CedarFileRole | undefined {
  const name = basename(file).toLowerCase();
  if (name.endsWith(".cedar")) return "policy";
  if (name.endsWith(".cedarschema") || name.endsWith(".cedarschema.json")) return "schema";
  if (name === "entities.json" || name.endsWith(".entities.json")) return "entities";
  return undefined;
}

/** The policy name of the set in a directory: the directory's base name, `cedar` for `.`, `/` or ``. */
export function cedarSetName(directory: string): string {
  const name = basename(directory.replace(/\/+$/, ""));
  return name === "" || name === "." || name === ".." ? "cedar" : name;
}

export interface CedarCompileOptions {
  /** Read schema/entities files from the set's directory on disk when no document brought them (default true). */
  readonly readSiblings?: boolean;
}

/** Schema and entities files in `directory` on disk that are not among `known`. Never throws. */
function siblingFiles(directory: string, known: ReadonlySet<string>): { file: string; role: CedarFileRole; text: string }[] {
  try {
    if (!existsSync(directory)) return [];
    const out: { file: string; role: CedarFileRole; text: string }[] = [];
    for (const name of readdirSync(directory).sort()) {
      const role = cedarFileRole(name);
      const file = directory === "." ? name : join(directory, name);
      if (role === undefined || role === "policy" || known.has(normalize(file))) continue;
      out.push({ file, role, text: readFileSync(file, "utf8") });
    }
    return out;
  } catch {
    return [];
  }
}

function textOf(document: PolicyDocument): string {
  if (typeof document.text === "string") return document.text;
  const value = document.value as { text?: unknown } | undefined;
  return typeof value?.text === "string" ? value.text : "";
}

/** Groups documents by directory and compiles each group as one Cedar policy set. */
export function compileCedarDocuments(documents: readonly PolicyDocument[], options: CedarCompileOptions = {}): CompileResult {
  const groups = new Map<string, { policies: CedarSourceFile[]; schemas: CedarSourceFile[]; entities: CedarSourceFile[] }>();
  const seenFiles = new Set<string>();
  for (const document of documents) {
    const role = cedarFileRole(document.file);
    if (!role || seenFiles.has(document.file)) continue;
    seenFiles.add(document.file);
    const directory = dirname(document.file);
    let group = groups.get(directory);
    if (!group) {
      group = { policies: [], schemas: [], entities: [] };
      groups.set(directory, group);
    }
    const source = { file: document.file, text: textOf(document) };
    if (role === "policy") group.policies.push(source);
    else if (role === "schema") group.schemas.push(source);
    else group.entities.push(source);
  }
  if (options.readSiblings !== false) {
    const known = new Set([...seenFiles].map(normalize));
    for (const [directory, group] of groups) {
      if (group.policies.length === 0) continue;
      for (const sibling of siblingFiles(directory, known)) {
        (sibling.role === "schema" ? group.schemas : group.entities).push({ file: sibling.file, text: sibling.text });
      }
    }
  }
  const policies: CompiledPolicy[] = [];
  const errors: VigilError[] = [];
  const byName = (a: CedarSourceFile, b: CedarSourceFile) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
  for (const [directory, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (group.schemas.length > 1) {
      const files = group.schemas.map((schema) => schema.file).sort();
      errors.push(new VigilError("VIGIL_POLICY_LOAD", `${directory}: a Cedar policy set has one schema, but this directory has ${files.length}: ${files.join(", ")}; keep one (or move the others into their own directories)`, { file: files[0] ?? directory }));
      continue;
    }
    const schema = group.schemas[0];
    const result = compileCedarPolicySet({
      name: cedarSetName(directory),
      policies: group.policies.sort(byName),
      ...(schema ? { schema } : {}),
      entities: group.entities.sort(byName),
    });
    errors.push(...result.errors);
    if (result.policy) policies.push(result.policy);
  }
  return { policies, errors };
}

/** Creates the Cedar language plugin for the policy loader. */
export function createCedarLanguage(options: CedarCompileOptions = {}): PolicyLanguagePlugin {
  return {
    name: "cedar",
    accepts: (document: PolicyDocument) => cedarFileRole(document.file) !== undefined,
    compile: (documents: readonly PolicyDocument[], _env: CelEnvironment) => compileCedarDocuments(documents, options),
  };
}

/** The Cedar language plugin (stateless; safe to share). */
export const cedarLanguage: PolicyLanguagePlugin = createCedarLanguage();
