import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { parseAllDocuments, type Tags } from "yaml";
import { EventTypes, VigilError, type Event } from "../core/index.js";
import { ShapeChecker } from "./check.js";
import { failure, place, position, problem, type Conversion, type FieldProblem, type IngestResult } from "./results.js";
import { decodeTextBytes } from "./utf16.js";
import { createContentIdAllocator, filePathReference, isRecord, nestingProblem, type ContentIdAllocator, type JsonRecord } from "./values.js";

/**
 * Kubernetes objects → `io.k8s.resource` (background scan, inventory, `vigil scan` of manifest
 * files). Mapping: subject = `kind/namespace/name` (`kind/name` when cluster-scoped), id =
 * `metadata.uid@metadata.resourceVersion` when the object came from a cluster, else a content
 * hash (manifests), source = the configured cluster or the manifest file path (as a URI-reference:
 * `my app/x.yaml` → `my%20app/x.yaml`), data = the
 * object unchanged. `kind: List` (and `*List`) objects are expanded into their items.
 */

export interface KubernetesOptions {
  /** CloudEvents `source`; default `/k8s`. For manifests, default the file path. */
  readonly source?: string;
  readonly ids?: ContentIdAllocator;
}

/**
 * How kubectl reads a manifest: sigs.k8s.io/yaml (go-yaml v2) resolves YAML 1.1 scalars, so
 * `defaultMode: 0644` is octal (420) and unquoted yes/no/on/off are booleans; go-yaml v2 has no
 * sexagesimal numbers (`1:30`) and leaves timestamps as strings.
 */
export const KUBERNETES_YAML_OPTIONS = {
  version: "1.1",
  customTags: (tags: Tags) => tags.filter((t) => typeof t === "string" || (t.tag !== "tag:yaml.org,2002:timestamp" && t.format !== "TIME")),
} as const;

/** Checks a Kubernetes object: `apiVersion`, `kind`, `metadata.name` (or generateName). Never throws. */
export function validateKubernetesObject(value: unknown, prefix = ""): FieldProblem[] {
  const check = new ShapeChecker(prefix);
  if (!check.object(value, '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}')) return check.problems;
  check.string(value, "apiVersion", 'give the object\'s apiVersion, e.g. "apps/v1"');
  check.string(value, "kind", 'give the object\'s kind, e.g. "Deployment"');
  const metadata = check.child("metadata");
  if (metadata.object(value["metadata"], '{"name": "web", "namespace": "default"}')) {
    const meta = value["metadata"] as JsonRecord;
    // Objects with only generateName are named by the API server; that is fine for scans.
    const generated = meta["name"] === undefined && typeof meta["generateName"] === "string" && meta["generateName"].length > 0;
    if (!generated) metadata.string(meta, "name", "give metadata.name (or metadata.generateName)");
    metadata.string(meta, "namespace", "give the namespace or leave it out for cluster-scoped objects", false);
  }
  return check.problems;
}

/** `kind/namespace/name`, or `kind/name` for cluster-scoped objects. */
export function kubernetesSubject(object: JsonRecord): string {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  const name = typeof metadata["name"] === "string" ? metadata["name"] : String(metadata["generateName"] ?? "");
  const namespace = typeof metadata["namespace"] === "string" && metadata["namespace"].length > 0 ? metadata["namespace"] : undefined;
  return namespace === undefined ? `${String(object["kind"])}/${name}` : `${String(object["kind"])}/${namespace}/${name}`;
}

function isList(value: unknown): value is JsonRecord & { items: unknown[] } {
  return isRecord(value) && typeof value["kind"] === "string" && value["kind"].endsWith("List") && Array.isArray(value["items"]);
}

/**
 * The objects of a list. A typed list as the API server returns it (`PodList`, `GET
 * /api/v1/pods`) leaves `apiVersion` and `kind` out of its items: they are the list's, so each
 * item missing them gets the list's `apiVersion` and the kind without `List` (what kubectl
 * shows). A plain `List` (kubectl's) says nothing about its items' types.
 */
export function kubernetesListItems(list: JsonRecord & { items: readonly unknown[] }): unknown[] {
  const listKind = String(list["kind"]);
  if (listKind === "List") return [...list.items];
  const kind = listKind.slice(0, -"List".length);
  const apiVersion = list["apiVersion"];
  return list.items.map((item) => {
    if (!isRecord(item) || (item["kind"] !== undefined && item["apiVersion"] !== undefined)) return item;
    return {
      ...(item["apiVersion"] === undefined && typeof apiVersion === "string" ? { apiVersion } : {}),
      ...(item["kind"] === undefined ? { kind } : {}),
      ...item,
    };
  });
}

export function convertKubernetesObject(value: unknown, ids: ContentIdAllocator, source = "/k8s", prefix = ""): Conversion {
  const problems = validateKubernetesObject(value, prefix);
  const deep = nestingProblem(value, prefix);
  if (deep !== undefined) problems.push(deep);
  if (problems.length > 0 || !isRecord(value)) return { problems };
  const metadata = value["metadata"] as JsonRecord;
  const uid = metadata["uid"];
  const version = metadata["resourceVersion"];
  const id = typeof uid === "string" && uid.length > 0 && typeof version === "string" && version.length > 0 ? `${uid}@${version}` : ids.idFor(value);
  const event: Event = {
    specversion: "1.0",
    id,
    source,
    type: EventTypes.kubernetesResource,
    subject: kubernetesSubject(value),
    datacontenttype: "application/json",
    data: value,
  };
  return { event, warnings: [] };
}

/**
 * Kubernetes objects (already parsed) → one result each; `List` objects are expanded, so
 * `index` counts the expanded objects. Never throws.
 */
export function kubernetesObjectsToEvents(values: readonly unknown[], options: KubernetesOptions = {}): IngestResult[] {
  const ids = options.ids ?? createContentIdAllocator();
  const results: IngestResult[] = [];
  for (const value of values) {
    const list = isList(value);
    const items = list ? kubernetesListItems(value) : [value];
    items.forEach((item, itemIndex) => {
      results.push(place(convertKubernetesObject(item, ids, options.source, list ? `items[${itemIndex}]` : ""), position(results.length)));
    });
  }
  return results;
}

/**
 * Multi-document YAML (or JSON) manifests → one result per object, with the 1-based line where
 * each document starts. Empty documents are skipped; a document with a YAML syntax error is a
 * failure naming its line, and the other documents are still read. Never throws.
 */
export function kubernetesManifestsToEvents(text: string, options: KubernetesOptions & { file?: string } = {}): IngestResult[] {
  const ids = options.ids ?? createContentIdAllocator();
  const source = options.source ?? (options.file === undefined ? "/k8s/manifests" : filePathReference(options.file));
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const lineOf = (offset: number): number => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] as number) <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
  const results: IngestResult[] = [];
  let documents;
  try {
    documents = parseAllDocuments(text, { ...KUBERNETES_YAML_OPTIONS, prettyErrors: false });
  } catch (cause) {
    return [failure([problem("(yaml)", `the YAML could not be read: ${cause instanceof Error ? cause.message : String(cause)}`)], position(0, 1), "VIGIL_BAD_INPUT")];
  }
  const list = Array.isArray(documents) ? documents : [documents];
  for (const document of list) {
    const start = document.contents?.range?.[0] ?? document.range[0];
    const line = lineOf(start);
    if (document.errors.length > 0) {
      const first = document.errors[0];
      const errorLine = first?.pos?.[0] === undefined ? line : lineOf(first.pos[0]);
      results.push(failure([problem("(yaml)", `YAML syntax error at line ${errorLine}: ${first?.message ?? "unreadable document"}; fix the document (other documents are still read)`)], position(results.length, errorLine), "VIGIL_BAD_INPUT"));
      continue;
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const items = isList(value) ? kubernetesListItems(value) : [value];
    items.forEach((item, itemIndex) => {
      const prefix = items.length > 1 || isList(value) ? `items[${itemIndex}]` : "";
      results.push(place(convertKubernetesObject(item, ids, source, prefix), position(results.length, line)));
    });
  }
  return results;
}

/**
 * Reads every `.yaml`, `.yml` and `.json` file under `directory` (recursively, sorted by path,
 * skipping dot-folders and node_modules) as Kubernetes manifests, in UTF-8 or, after its byte
 * order mark, UTF-16. Each result's error carries
 * the file; each event's `source` is the file path relative to `directory` (as a URI-reference),
 * `file` the path as it is. Resolves with one
 * result per object; an unreadable file is one failure. Never rejects for bad content.
 */
export async function readKubernetesManifestDirectory(directory: string): Promise<Array<IngestResult & { file: string }>> {
  const files: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.(ya?ml|json)$/i.test(entry.name)) files.push(path);
    }
  };
  await walk(directory);
  const ids = createContentIdAllocator();
  const out: Array<IngestResult & { file: string }> = [];
  for (const path of files) {
    const file = relative(directory, path);
    let text: string;
    try {
      // Windows PowerShell 5's `>` writes UTF-16: read as UTF-8 the whole file was one garbled string.
      text = decodeTextBytes(await readFile(path));
    } catch (cause) {
      const failed = failure([problem("(file)", `could not read ${file}: ${cause instanceof Error ? cause.message : String(cause)}`)], position(out.length), "VIGIL_BAD_INPUT");
      out.push({ ...failed, file, error: withFile(failed.error, file) });
      continue;
    }
    for (const result of kubernetesManifestsToEvents(text, { ids, file })) {
      out.push(result.ok ? { ...result, index: out.length, file } : { ...result, index: out.length, file, error: withFile(result.error, file) });
    }
  }
  return out;
}

function withFile(error: VigilError, file: string): VigilError {
  return new VigilError(error.code, `${file}: ${error.message}`, { ...error.details, file }, error.cause);
}

/** True when a value looks like a Kubernetes object (apiVersion + kind, not an AdmissionReview). */
export function looksLikeKubernetesObject(value: unknown): boolean {
  return isRecord(value) && typeof value["apiVersion"] === "string" && typeof value["kind"] === "string" && value["kind"] !== "AdmissionReview";
}
