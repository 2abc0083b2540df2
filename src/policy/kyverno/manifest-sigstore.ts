/**
 * The parts of sigstore/k8s-manifest-sigstore that Kyverno's `validate.manifests` runs
 * (verify-manifests.ts): the message annotation (base64 of gzip of a tar.gz of YAML files, or of
 * the YAML itself), the lookup of the signed manifest for an object, and the "direct match" of
 * manifest and object with ignore fields — ported from pkg/util/pattern.go, pkg/util/mapnode and
 * pkg/util/yaml.go so the same objects pass and fail.
 */
import { gunzipSync } from "node:zlib";
import { RE2JS } from "@bufbuild/re2";
import { parseAllDocuments } from "yaml";

type Json = Record<string, unknown>;
export type Scalar = string | number | boolean;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const text = (value: unknown): string => (typeof value === "string" ? value : "");

export interface ObjectReference {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}
export interface FieldBinding {
  readonly objects: readonly ObjectReference[];
  readonly fields: readonly string[];
}
// ---------------------------------------------------------------------------------------------
// k8s-manifest-sigstore matching (pkg/util/pattern.go, pkg/util/mapnode, pkg/util/yaml.go)
// ---------------------------------------------------------------------------------------------

/** util.MatchPattern: "" and "*" match all, a trailing `*` is a prefix, a comma a list. */
function matchPattern(pattern: string, value: string): boolean {
  const p = pattern.trim();
  if (p === "" || p === "*" || (p === "-" && value === "")) return true;
  if (p.endsWith("*")) return value.startsWith(p.replace(/\*+$/, ""));
  if (p === value) return true;
  return p.includes(",") && p.split(",").some((part) => matchPattern(part.trim(), value));
}

const regexCache = new Map<string, RE2JS | null>();
/** An unanchored Go (RE2) regexp search; a pattern that does not compile matches nothing (Go drops the error). */
function goRegexFinds(pattern: string, value: string): boolean {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = RE2JS.compile(pattern);
    } catch {
      re = null;
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re !== null && re.test(value);
}

/**
 * mapnode isListed: `*` becomes `.*` and the rule is an UNANCHORED regexp whose dots match any
 * character, so `spec.containers.*.imagePullPolicy` also ignores
 * `spec.template.spec.containers.0.imagePullPolicy`. Kept as upstream has it: it is what Kyverno admits.
 */
function isListed(data: string, rule: string): boolean {
  if (data === rule || rule === "*" || rule === "") return true;
  return rule.includes("*") && goRegexFinds(rule.replaceAll("*", ".*"), data);
}

interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}
function gvk(object: Json): GroupVersionKind {
  const apiVersion = text(object["apiVersion"]);
  const slash = apiVersion.split("/");
  const [group, version] = slash.length === 2 ? [slash[0] as string, slash[1] as string] : slash.length === 1 ? ["", apiVersion] : ["", ""];
  return { group, version, kind: text(object["kind"]) };
}
export function metadata(object: Json): Json {
  return isObject(object["metadata"]) ? object["metadata"] : {};
}

/** ObjectFieldBindingList.Match: the fields of every binding whose objects match (no objects = all). */
export function ignoreFieldsFor(object: Json, list: readonly FieldBinding[]): string[] {
  const { group, version, kind } = gvk(object);
  const name = text(metadata(object)["name"]);
  const namespace = text(metadata(object)["namespace"]);
  const fields: string[] = [];
  for (const binding of list) {
    const matches = binding.objects.length === 0 || binding.objects.some((r) => matchPattern(r.group, group) && matchPattern(r.version, version) && matchPattern(r.kind, kind) && matchPattern(r.name, name) && matchPattern(r.namespace, namespace));
    if (matches) fields.push(...binding.fields);
  }
  return fields;
}

/** mapnode Ravel: leaf values by dotted path (list items by index); nulls and empty maps/lists vanish. */
export function ravel(value: unknown, path: string, out: Map<string, Scalar>): Map<string, Scalar> {
  if (Array.isArray(value)) value.forEach((v, i) => ravel(v, path === "" ? String(i) : `${path}.${i}`, out));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) ravel(v, path === "" ? k : `${path}.${k}`, out);
  else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") out.set(path, value);
  return out;
}

export interface Difference {
  readonly key: string;
  readonly before: unknown;
  readonly after: unknown;
}
const goType = (v: Scalar): string => (typeof v === "string" ? "string" : typeof v === "number" ? "float64" : "bool");
const goPercentS = (v: Scalar): string => (typeof v === "string" ? v : `%!s(${goType(v)}=${String(v)})`);

/** mapnode FindDiffBetweenNodes(manifest, object): created, deleted and updated leaves, sorted by key. */
function findDiff(manifest: Map<string, Scalar>, object: Map<string, Scalar>): Difference[] {
  const items: Difference[] = [];
  const typeDiffs: Difference[] = [];
  for (const key of new Set([...manifest.keys(), ...object.keys()])) {
    const before = manifest.get(key);
    const after = object.get(key);
    if (before !== undefined && after !== undefined && typeof before !== typeof after) {
      typeDiffs.push({ key, before: `(type: ${goType(before)}) ${goPercentS(before)}`, after: `(type: ${goType(after)}) ${goPercentS(after)}` });
    } else if (before !== after) items.push({ key, before: before ?? null, after: after ?? null });
  }
  return [...removeListShifts(items), ...typeDiffs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** mapnode removeKeyDiffsInListNode: a value deleted at one list index and created at another is not a difference. */
function removeListShifts(items: readonly Difference[]): Difference[] {
  const indexed = /\.\d+\./;
  return items.filter((item) => {
    if (!indexed.test(item.key) || (item.before !== null && item.after !== null)) return true;
    const search = item.key.replace(/\.\d+\./g, "\\.\\d+\\.");
    return !items.some((other) => goRegexFinds(search, other.key) && ((item.after === other.before && other.after === null && item.before === null) || (item.before === other.after && other.before === null && item.after === null)));
  });
}

/** removeCanonicalizedImageDiff: `nginx:1.14.2` → `docker.io/nginx:1.14.2` and `ubuntu` → `ubuntu:latest` are the same image. */
function canonicalImage(d: Difference): boolean {
  return d.key.endsWith("image") && typeof d.before === "string" && typeof d.after === "string" && (`docker.io/${d.before}` === d.after || `${d.before}:latest` === d.after);
}

/** matchResourceWithManifest, CASE1 (direct match): the differences left after the ignore fields. */
export function directMatch(manifest: Json, object: Map<string, Scalar>, ignore: readonly string[]): Difference[] {
  const rules = ignore.map((f) => `${f}*`);
  return findDiff(ravel(manifest, "", new Map()), object).filter((d) => !canonicalImage(d) && !rules.some((rule) => isListed(d.key, rule)));
}

export const diffJson = (diff: readonly Difference[]): string => JSON.stringify({ items: diff.map((d) => ({ key: d.key, values: { after: d.after, before: d.before } })) });

// --- finding the manifest for the object (FindManifestYAML) ---

/** Feature text of a raveled leaf: Go's reflect.Value.String() is the string itself, else `<T Value>`. */
const feature = (key: string, value: Scalar): string => `${key}:${typeof value === "string" ? value : `<${goType(value)} Value>`}`;

function similarity(a: Map<string, Scalar>, b: Map<string, Scalar>, weights: readonly (readonly [string, number])[]): number {
  const fa = new Set([...a].map(([k, v]) => feature(k, v)));
  const fb = new Set([...b].map(([k, v]) => feature(k, v)));
  let dot = 0;
  let lenA = 0;
  let lenB = 0;
  for (const f of new Set([...fa, ...fb])) {
    const weight = weights.find(([pattern]) => matchPattern(pattern, f))?.[1] ?? 1;
    if (weight === 0) continue;
    const va = fa.has(f) ? weight : 0;
    const vb = fb.has(f) ? weight : 0;
    dot += va * vb;
    lenA += va * va;
    lenB += vb * vb;
  }
  return dot / (Math.sqrt(lenA) * Math.sqrt(lenB));
}

/** FindManifestYAML: same kind; then group+kind+name (+namespace); else content similarity (>= 0.5, best 3). */
export function findManifests(docs: readonly Json[], object: Json, ignore: readonly string[]): Json[] {
  const kind = text(object["kind"]);
  const sameKind = docs.filter((d) => text(d["kind"]) === kind);
  if (sameKind.length === 0) return [];
  const want = gvk(object);
  const name = text(metadata(object)["name"]);
  const namespace = text(metadata(object)["namespace"]);
  if (text(object["apiVersion"]).split("/").length <= 2) {
    const byName = sameKind.filter((d) => gvk(d).group === want.group && text(metadata(d)["name"]) === name);
    if (byName.length === 1) return byName;
    if (byName.length > 1) return [byName.find((d) => text(metadata(d)["namespace"]) === namespace) ?? (byName[0] as Json)];
  }
  const weightMap = new Map<string, number>();
  for (const f of ignore) weightMap.set(f.endsWith("*") ? f : `${f}*`, 0);
  for (const [f, w] of [["metadata.managedFields*", 0], ["status*", 0], ["spec*", 1.5]] as const) weightMap.set(f, w);
  const weights = [...weightMap].sort((x, y) => y[0].length - x[0].length);
  const objectLeaves = ravel(object, "", new Map());
  if (objectLeaves.size <= 10) return [];
  return sameKind
    .map((doc) => ({ doc, leaves: ravel(doc, "", new Map()) }))
    .filter((c) => c.leaves.size > 10)
    .map((c) => ({ doc: c.doc, score: similarity(c.leaves, objectLeaves, weights) }))
    .filter((c) => c.score >= 0.5)
    .sort((x, y) => y.score - x.score)
    .slice(0, 3)
    .map((c) => c.doc);
}

// --- the message annotation ---

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Go's base64.StdEncoding: strict (Node's decoder would skip bad characters). */
export function strictBase64(value: string): Buffer | undefined {
  return base64Pattern.test(value) ? Buffer.from(value, "base64") : undefined;
}

/** Regular `.yaml`/`.yml` files of a ustar/GNU tar (name = prefix + "/" + name). */
function tarYamlFiles(tar: Buffer): string[] {
  const files: { name: string; body: string }[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number): string => header.subarray(start, start + length).toString("utf8").replace(/\0.*$/s, "");
    const size = parseInt(field(124, 12).trim() || "0", 8);
    const type = field(156, 1);
    const prefix = field(257, 6).startsWith("ustar") ? field(345, 155) : "";
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (!Number.isFinite(size) || offset + 512 + size > tar.length) throw new Error("the tar archive is truncated");
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    if (type === "L") longName = body.toString("utf8").replace(/\0.*$/s, "");
    // INVARIANT: like upstream, names with ".." are skipped (CWE-22) and only .yaml/.yml files count.
    else if ((type === "0" || type === "") && !name.includes("..") && /\.ya?ml$/.test(name)) files.push({ name, body: body.toString("utf8") });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((f) => f.body);
}

/** go-yaml v2 reads YAML 1.1 (yes/no/on/off are booleans) and keeps timestamps as strings. */
function yamlObjects(source: string): Json[] {
  const docs = parseAllDocuments(source, { version: "1.1", customTags: (tags) => tags.filter((t) => (t as { tag?: string }).tag !== "tag:yaml.org,2002:timestamp") });
  if (!Array.isArray(docs)) return [];
  const out: Json[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(doc.errors[0]?.message ?? "YAML error");
    const value: unknown = doc.toJS();
    if (isObject(value)) out.push(value);
  }
  return out;
}

export type MessageRead = { readonly ok: true; readonly blob: Buffer; readonly docs: readonly Json[] } | { readonly ok: false; readonly error: string };

export function readMessage(annotation: string, value: string): MessageRead {
  const gz = strictBase64(value);
  if (gz === undefined) return { ok: false, error: `annotation ${annotation} is not base64; re-sign the manifest (kubectl sigstore sign)` };
  try {
    const blob = gunzipSync(gz);
    const isTarGz = blob[0] === 0x1f && blob[1] === 0x8b;
    const docs = isTarGz ? tarYamlFiles(gunzipSync(blob)).flatMap(yamlObjects) : yamlObjects(blob.toString("utf8"));
    return { ok: true, blob, docs };
  } catch (cause) {
    return { ok: false, error: `annotation ${annotation} does not hold a gzipped YAML manifest or tar.gz (${(cause as Error).message}); re-sign the manifest (kubectl sigstore sign)` };
  }
}

