/**
 * The policy loader: reads files and directories, splits YAML into documents with positions,
 * hands each document to the language plugin that accepts it (src/policy/languages.ts), and
 * collects compiled policies and errors. A broken document never stops the others.
 *
 * Directory scans (recursive, sorted): `.yaml`/`.yml` files plus the extensions a language
 * registers; skipped are dot-files and dot-directories (`.git`, `.kyverno-test`), `node_modules`,
 * and test files (`*.test.yaml`, `*.test.yml`, `kyverno-test.yaml`, `chainsaw-test.yaml`).
 * Documents no plugin accepts: an error when the file was named explicitly, when the document's
 * apiVersion group is a policy group (vigil.dev, kyverno.io, ...), or when its kind looks like a
 * typo of a known kind; otherwise (a Pod, a values file) it is data, listed in `skipped`.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { extname, basename, join } from "node:path";
import { LineCounter, parseAllDocuments, isNode, type Document } from "yaml";
import type { CompiledPolicy } from "../core/compiled-policy.js";
import { VigilError } from "../core/errors.js";
import type { CelEnvironment } from "./cel/api.js";
import { createCelEnvironment } from "./cel/index.js";
import type { PolicyDocument } from "./language.js";
import { nonPolicyKinds, policyApiGroups, policyLanguages, type PolicyLanguageRegistration } from "./languages.js";
import { closest } from "./vigil/suggest.js";

export interface LoadOptions {
  /** CEL environment to compile with; default: the shared environment of `cel/`. */
  readonly env?: CelEnvironment;
  /** Languages to use; default: `policyLanguages`. */
  readonly languages?: readonly PolicyLanguageRegistration[];
}

export interface SkippedDocument {
  readonly file: string;
  readonly index?: number;
  readonly reason: string;
}

export interface LoadResult {
  /** Compiled policies in file order (then document order). */
  readonly policies: CompiledPolicy[];
  /** One error per broken document, unreadable file or duplicate name. */
  readonly errors: VigilError[];
  /** Documents and files passed over as non-policy data. */
  readonly skipped: SkippedDocument[];
  /** Every file read. */
  readonly files: string[];
}

let defaultEnv: CelEnvironment | undefined;

/** The environment used when none is given (created once). */
export function defaultCelEnvironment(): CelEnvironment {
  return (defaultEnv ??= createCelEnvironment());
}

/** `*.test.yaml`, `kyverno-test.yaml` and friends: test suites, never loaded as policies. */
export function isTestFileName(file: string): boolean {
  const name = basename(file);
  return /\.test\.ya?ml$/i.test(name) || /^(kyverno|chainsaw)-test\.ya?ml$/i.test(name);
}

const yamlExtensions = new Set([".yaml", ".yml"]);

/** Files under `root` that a scan considers, sorted; `extensions` = extra non-YAML extensions. */
export function listPolicyFiles(root: string, extensions: ReadonlySet<string>, includeTests = false): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (dir: string): void => {
    let real: string;
    try { real = realpathSync(dir); } catch { return; }
    if (seen.has(real)) return;
    seen.add(real);
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const path = join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try { const s = statSync(path); isDir = s.isDirectory(); isFile = s.isFile(); } catch { continue; }
      }
      if (isDir) walk(path);
      else if (isFile) {
        const ext = extname(entry.name).toLowerCase();
        if (!yamlExtensions.has(ext) && !extensions.has(ext)) continue;
        if (!includeTests && isTestFileName(entry.name)) continue;
        out.push(path);
      }
    }
  };
  walk(root);
  return out;
}

/** Splits YAML text into documents with positions; YAML syntax errors come back as errors. */
export function parseYamlDocuments(file: string, text: string): { documents: PolicyDocument[]; errors: VigilError[] } {
  const lineCounter = new LineCounter();
  const documents: PolicyDocument[] = [];
  const errors: VigilError[] = [];
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: true });
  const list: Document[] = Array.isArray(parsed) ? parsed : [];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      const error = doc.errors[0];
      const pos = error?.linePos?.[0];
      const message = (error?.message ?? "invalid YAML").split("\n")[0] ?? "invalid YAML";
      errors.push(new VigilError("VIGIL_POLICY_LOAD", `${file}${pos === undefined ? "" : `:${pos.line}:${pos.col}`}: document ${index}: YAML error: ${message}`,
        { file, ...(pos === undefined ? {} : { line: pos.line, column: pos.col }), hint: "fix the YAML syntax" }));
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (cause) {
      errors.push(new VigilError("VIGIL_POLICY_LOAD", `${file}: document ${index}: ${(cause as Error).message}`, { file }, cause));
      return;
    }
    if (value === null || value === undefined) return; // an empty document (e.g. a trailing `---`)
    documents.push({
      file,
      index,
      value,
      text,
      position(path) {
        const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
        if (!isNode(node) || node.range === undefined || node.range === null) return undefined;
        const pos = lineCounter.linePos(node.range[0]);
        return { line: pos.line, column: pos.col };
      },
    });
  });
  return { documents, errors };
}

function header(doc: PolicyDocument): { apiVersion: string; kind: string } {
  const value = doc.value as { apiVersion?: unknown; kind?: unknown } | null;
  const str = (x: unknown): string => (typeof x === "string" ? x : x === undefined ? "(none)" : JSON.stringify(x));
  return { apiVersion: str(value?.apiVersion), kind: str(value?.kind) };
}

/**
 * Compiles documents already read (from files or memory). `explicit`: every document must be a
 * policy (no data skipping), as for files named on the command line.
 */
export function compilePolicyDocuments(documents: readonly PolicyDocument[], options: LoadOptions & { readonly explicit?: (doc: PolicyDocument) => boolean } = {}): LoadResult {
  const languages = options.languages ?? policyLanguages;
  const env = options.env ?? defaultCelEnvironment();
  const groups = languages.map(() => [] as PolicyDocument[]);
  const errors: VigilError[] = [];
  const skipped: SkippedDocument[] = [];
  const knownKinds = languages.flatMap((l) => l.kinds);
  for (const doc of documents) {
    let accepted = -1;
    for (let i = 0; i < languages.length && accepted < 0; i++) {
      try { if (languages[i]?.plugin.accepts(doc)) accepted = i; } catch { /* a plugin that throws in accepts() does not accept */ }
    }
    if (accepted >= 0) { groups[accepted]?.push(doc); continue; }
    const { apiVersion, kind } = header(doc);
    if (typeof doc.value === "object" && doc.value !== null && "text" in doc.value && !("apiVersion" in doc.value)) {
      if (options.explicit?.(doc) === true) errors.push(new VigilError("VIGIL_POLICY_UNSUPPORTED", `${doc.file}: no policy language reads ${extname(doc.file) || "this kind of"} files`, { file: doc.file }));
      else skipped.push({ file: doc.file, reason: "no language reads this file" });
      continue;
    }
    if (nonPolicyKinds.includes(`${apiVersion} ${kind}`)) { skipped.push({ file: doc.file, index: doc.index, reason: `${apiVersion} ${kind} is a test suite` }); continue; }
    const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
    const kindSuggestion = closest(kind, knownKinds.map((k) => k.split(" ")[1] ?? k));
    const policyLike = policyApiGroups.includes(group) || (kindSuggestion !== undefined && kindSuggestion !== kind);
    if (options.explicit?.(doc) === true || policyLike) {
      const position = doc.position([]);
      const suggestion = closest(`${apiVersion} ${kind}`, knownKinds);
      errors.push(new VigilError("VIGIL_POLICY_UNSUPPORTED",
        `${doc.file}${position === undefined ? "" : `:${position.line}:${position.column}`}: document ${doc.index}: no policy language accepts apiVersion ${apiVersion} kind ${kind}${suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`}; Vigil knows: ${knownKinds.join(", ")}`,
        { file: doc.file, field: "apiVersion", ...(position === undefined ? {} : { line: position.line, column: position.column }), hint: `Vigil knows: ${knownKinds.join(", ")}` }));
    } else {
      skipped.push({ file: doc.file, index: doc.index, reason: `${apiVersion} ${kind} is not a policy` });
    }
  }
  const policies: CompiledPolicy[] = [];
  languages.forEach((language, i) => {
    const docs = groups[i] ?? [];
    if (docs.length === 0) return;
    try {
      const result = language.plugin.compile(docs, env);
      policies.push(...result.policies);
      errors.push(...result.errors);
    } catch (cause) {
      errors.push(new VigilError("VIGIL_POLICY_COMPILE", `the ${language.plugin.name} language failed on ${docs.map((d) => d.file).join(", ")}: ${cause instanceof Error ? cause.message : String(cause)}`, {}, cause));
    }
  });
  return { policies: dropDuplicates(policies, documents, errors), errors, skipped: collapseSkipped(skipped), files: [] };
}

/** One entry per file when several of its documents were skipped for the same reason. */
function collapseSkipped(skipped: readonly SkippedDocument[]): SkippedDocument[] {
  const out: SkippedDocument[] = [];
  const counts = new Map<string, { entry: SkippedDocument; count: number }>();
  for (const entry of skipped) {
    const key = `${entry.file}\u0000${entry.reason}`;
    const seen = counts.get(key);
    if (seen === undefined) {
      const item = { entry, count: 1 };
      counts.set(key, item);
      out.push(entry);
    } else seen.count++;
  }
  return out.map((entry) => {
    const count = counts.get(`${entry.file}\u0000${entry.reason}`)?.count ?? 1;
    return count === 1 ? entry : { file: entry.file, reason: `${count} documents: ${entry.reason}` };
  });
}

/**
 * Keeps the first policy of each name; each later one is a load error placed, like every other
 * load error, at its document's `metadata.name` (the n-th policy of a name is taken to come from
 * the n-th document naming it).
 */
function dropDuplicates(policies: readonly CompiledPolicy[], documents: readonly PolicyDocument[], errors: VigilError[]): CompiledPolicy[] {
  const seen = new Map<string, CompiledPolicy>();
  const occurrences = new Map<string, number>();
  const out: CompiledPolicy[] = [];
  for (const policy of policies) {
    const name = policy.meta.name;
    const nth = occurrences.get(name) ?? 0;
    occurrences.set(name, nth + 1);
    const first = seen.get(name);
    if (first !== undefined) {
      const doc = documents.filter((d) => nameOf(d) === name)[nth];
      const position = doc?.position(["metadata", "name"]);
      const where = doc === undefined ? policy.meta.source ?? "a policy" : `${doc.file}${position === undefined ? "" : `:${position.line}:${position.column}`}`;
      errors.push(new VigilError("VIGIL_POLICY_LOAD", `${where}: policy name "${name}" is already used by ${first.meta.source ?? "another policy"}; policy names must be unique`,
        { ...(doc === undefined ? {} : { file: doc.file }), policy: name, field: "metadata.name", ...(position === undefined ? {} : { line: position.line, column: position.column }), hint: "rename one of the two policies" }));
      continue;
    }
    seen.set(policy.meta.name, policy);
    out.push(policy);
  }
  return out;
}

/** Compiles policies from text in memory (an API upload, a test). */
export function loadPolicyText(text: string, file = "<inline>", options: LoadOptions = {}): LoadResult {
  const { documents, errors } = parseYamlDocuments(file, text);
  const result = compilePolicyDocuments(documents, { ...options, explicit: () => true });
  return { ...result, errors: [...errors, ...result.errors], files: [file] };
}

/**
 * Loads every policy under `paths` (files or directories, recursively). Never throws for a bad
 * policy or file: problems come back in `errors`; a missing path is an error too.
 */
export function loadPolicies(paths: string | readonly string[], options: LoadOptions = {}): LoadResult {
  const languages = options.languages ?? policyLanguages;
  const extensions = new Set(languages.flatMap((l) => l.extensions ?? []).map((e) => e.toLowerCase()));
  const errors: VigilError[] = [];
  const documents: PolicyDocument[] = [];
  const explicitFiles = new Set<string>();
  const files: string[] = [];
  for (const path of typeof paths === "string" ? [paths] : paths) {
    let stat;
    try { stat = statSync(path); } catch {
      errors.push(new VigilError("VIGIL_NOT_FOUND", `${path}: no such file or directory`, { file: path, hint: "check the policy path" }));
      continue;
    }
    const found = stat.isDirectory() ? listPolicyFiles(path, extensions) : [path];
    if (!stat.isDirectory()) explicitFiles.add(path);
    for (const file of found) {
      if (files.includes(file)) continue;
      files.push(file);
      let text: string;
      try { text = readFileSync(file, "utf8"); } catch (cause) {
        errors.push(new VigilError("VIGIL_POLICY_LOAD", `${file}: cannot read: ${(cause as Error).message}`, { file }, cause));
        continue;
      }
      if (yamlExtensions.has(extname(file).toLowerCase())) {
        const parsed = parseYamlDocuments(file, text);
        documents.push(...parsed.documents);
        errors.push(...parsed.errors);
      } else {
        documents.push({ file, index: 0, value: { text }, text, position: () => undefined });
      }
    }
  }
  const result = compilePolicyDocuments(documents, { ...options, explicit: (doc) => explicitFiles.has(doc.file) });
  return { policies: result.policies, errors: [...errors, ...result.errors], skipped: result.skipped, files };
}

/** A document's `metadata.name`, when it has one. */
function nameOf(doc: PolicyDocument): string | undefined {
  const metadata = typeof doc.value === "object" && doc.value !== null ? (doc.value as { metadata?: unknown }).metadata : undefined;
  const name = typeof metadata === "object" && metadata !== null ? (metadata as { name?: unknown }).name : undefined;
  return typeof name === "string" ? name : undefined;
}
