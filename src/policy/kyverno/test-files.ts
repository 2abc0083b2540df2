/**
 * Reading `kyverno test` inputs: discovery of kyverno-test.yaml files, multi-document YAML
 * (and `kind: List`), the Values, UserInfo and Context files. Errors come back as values.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { escapePointerToken } from "./json-patch.js";

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Finds `kyverno-test.yaml` / `kyverno-test.yml` files under the paths (files are taken as given), sorted. */
export function discoverTestFiles(paths: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry === "node_modules" || entry === ".git") continue;
      const full = join(dir, entry);
      let stat;
      try {
        stat = statSync(full);
      } catch {
        continue;
      }
      if (stat.isDirectory()) walk(full);
      else if (entry === "kyverno-test.yaml" || entry === "kyverno-test.yml") found.push(full);
    }
  };
  for (const p of paths) {
    try {
      if (statSync(p).isDirectory()) walk(p);
      else found.push(p);
    } catch {
      found.push(p);
    }
  }
  return [...new Set(found.map((f) => resolve(f)))].sort();
}

export type ReadResult = { readonly ok: true; readonly documents: Json[] } | { readonly ok: false; readonly error: string };

const cache = new Map<string, ReadResult>();

/** Parses every YAML document of a file (a directory: every .yaml/.yml/.json in it), expanding `kind: List`. */
export function readYamlDocuments(path: string): ReadResult {
  const cached = cache.get(path);
  if (cached) return cached;
  let result: ReadResult;
  try {
    if (statSync(path).isDirectory()) {
      const documents: Json[] = [];
      for (const entry of readdirSync(path).sort()) {
        if (!/\.(ya?ml|json)$/.test(entry)) continue;
        const r = readYamlDocuments(join(path, entry));
        if (r.ok) documents.push(...r.documents);
      }
      result = { ok: true, documents };
    } else {
      const text = readFileSync(path, "utf8");
      const documents: Json[] = [];
      for (const doc of parseAllDocuments(text)) {
        if (doc.errors.length > 0) throw new Error(doc.errors[0]?.message ?? "YAML error");
        const value: unknown = doc.toJS({ maxAliasCount: 1000 });
        if (!isObject(value)) continue;
        if (value["kind"] === "List" && Array.isArray(value["items"])) documents.push(...value["items"].filter(isObject));
        else documents.push(value);
      }
      result = { ok: true, documents };
    }
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    result = { ok: false, error: code === "ENOENT" ? `file not found: ${path}` : `cannot read ${path}: ${cause instanceof Error ? cause.message : String(cause)}` };
  }
  if (cache.size > 5000) cache.clear();
  cache.set(path, result);
  return result;
}

export function relativeTo(testFile: string, path: string): string {
  return resolve(dirname(testFile), path);
}

/** The Values file, normalised. */
export interface TestValues {
  readonly globalValues: Json;
  /** policy → rule → values */
  readonly ruleValues: ReadonlyMap<string, Readonly<Record<string, Json>>>;
  /** policy → resource name → values */
  readonly resourceValues: ReadonlyMap<string, ReadonlyMap<string, Json>>;
  /** namespace name → labels */
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** namespace name → Namespace object */
  readonly namespaces: ReadonlyMap<string, Json>;
}

export function parseValues(documents: readonly Json[]): TestValues {
  const ruleValues = new Map<string, Record<string, Json>>();
  const resourceValues = new Map<string, Map<string, Json>>();
  const namespaceLabels = new Map<string, Record<string, string>>();
  const namespaces = new Map<string, Json>();
  let globalValues: Json = {};
  for (const doc of documents) {
    if (isObject(doc["globalValues"])) globalValues = { ...globalValues, ...doc["globalValues"] };
    for (const policy of Array.isArray(doc["policies"]) ? doc["policies"].filter(isObject) : []) {
      const name = String(policy["name"] ?? "");
      const rules = ruleValues.get(name) ?? {};
      for (const rule of Array.isArray(policy["rules"]) ? policy["rules"].filter(isObject) : []) {
        if (isObject(rule["values"])) rules[String(rule["name"] ?? "")] = rule["values"];
      }
      ruleValues.set(name, rules);
      const resources = resourceValues.get(name) ?? new Map<string, Json>();
      for (const resource of Array.isArray(policy["resources"]) ? policy["resources"].filter(isObject) : []) {
        if (isObject(resource["values"])) resources.set(String(resource["name"] ?? ""), resource["values"]);
      }
      resourceValues.set(name, resources);
    }
    for (const ns of Array.isArray(doc["namespaceSelector"]) ? doc["namespaceSelector"].filter(isObject) : []) {
      const labels: Record<string, string> = {};
      if (isObject(ns["labels"])) for (const [k, v] of Object.entries(ns["labels"])) labels[k] = String(v);
      namespaceLabels.set(String(ns["name"] ?? ""), labels);
    }
    for (const ns of Array.isArray(doc["namespaces"]) ? doc["namespaces"].filter(isObject) : []) {
      const meta = isObject(ns["metadata"]) ? ns["metadata"] : {};
      const name = String(meta["name"] ?? "");
      namespaces.set(name, ns);
      if (!namespaceLabels.has(name) && isObject(meta["labels"])) {
        const labels: Record<string, string> = {};
        for (const [k, v] of Object.entries(meta["labels"])) labels[k] = String(v);
        namespaceLabels.set(name, labels);
      }
    }
  }
  return { globalValues, ruleValues, resourceValues, namespaceLabels, namespaces };
}

export const emptyValues: TestValues = parseValues([]);

/** Kyverno's Tidy: drops nulls, empty maps and empty lists, recursively (`undefined` when nothing is left). */
export function tidy(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) {
    const out = value.map(tidy).filter((v) => v !== undefined);
    return out.length === 0 ? undefined : out;
  }
  if (isObject(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      const t = tidy(v);
      if (t !== undefined) out[k] = t;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return value;
}

function metadataOf(o: Json): Json {
  return isObject(o["metadata"]) ? o["metadata"] : {};
}

/** The document of an expected-resource file with the actual resource's kind, name and namespace (apiVersion too when both have one). */
export function findExpectedResource(documents: readonly Json[], actual: Json): Json | undefined {
  const m = metadataOf(actual);
  return documents.find((d) => {
    const dm = metadataOf(d);
    return d["kind"] === actual["kind"] && dm["name"] === m["name"] && (dm["namespace"] ?? "") === (m["namespace"] ?? "") && (d["apiVersion"] === undefined || actual["apiVersion"] === undefined || d["apiVersion"] === actual["apiVersion"]);
  });
}

/**
 * Kyverno's FixupGenerateLabels, applied to both sides before comparing a generated resource:
 * the labels without `generate.kyverno.io/*`, plus `app.kubernetes.io/managed-by: kyverno`.
 */
export function fixupGenerateLabels(resource: Json): Json {
  const meta = metadataOf(resource);
  const labels: Json = { "app.kubernetes.io/managed-by": "kyverno" };
  if (isObject(meta["labels"])) {
    for (const [k, v] of Object.entries(meta["labels"])) if (!k.startsWith("generate.kyverno.io/")) labels[k] = v;
  }
  return { ...resource, metadata: { ...meta, labels } };
}

/**
 * Compares a patched resource with the expected one as `kyverno test` does (both tidied, then
 * equal as JSON; list order matters). Returns undefined when equal, else the first differing
 * JSON pointer with both values.
 */
export function comparePatchedResource(actual: Json, expected: Json): string | undefined {
  return firstDifference(tidy(actual), tidy(expected), "");
}

function show(value: unknown): string {
  const text = value === undefined ? "(absent)" : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function firstDifference(actual: unknown, expected: unknown, path: string): string | undefined {
  if (isObject(actual) && isObject(expected)) {
    for (const k of [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()) {
      const d = firstDifference(actual[k], expected[k], `${path}/${escapePointerToken(k)}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (Array.isArray(actual) && Array.isArray(expected)) {
    for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
      const d = firstDifference(actual[i], expected[i], `${path}/${i}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (actual === expected) return undefined;
  if (typeof actual === "number" && typeof expected === "number" && actual === expected) return undefined;
  return `${path || "/"}: actual ${show(actual)}, expected ${show(expected)}`;
}
