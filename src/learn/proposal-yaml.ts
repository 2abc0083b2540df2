/**
 * Finding a native policy's YAML document and adding list items to its `spec` (an exception
 * clause, test cases) by inserting text: everything else in the file — comments, folded
 * scalars, flow maps — stays byte for byte, so the diff a person reviews shows only the change.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { isMap, isScalar, isSeq, parseAllDocuments, stringify, type Document, type YAMLMap } from "yaml";
import { listPolicyFiles } from "../policy/load.js";

export interface PolicyLocation {
  /** The file as found (an absolute path when `paths` were absolute). */
  readonly file: string;
  readonly text: string;
  /** 0-based index of the policy's document in the file. */
  readonly index: number;
}

/** The native policy (`vigil.dev/v1` Policy) named `name` under `paths` (files or directories). */
export function locatePolicy(paths: readonly string[], name: string): PolicyLocation | undefined {
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const files = statSync(path).isDirectory() ? listPolicyFiles(path, new Set()) : [path];
    for (const file of files) {
      if (!/\.ya?ml$/i.test(file)) continue;
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch {
        continue;
      }
      if (!text.includes(name)) continue;
      const docs = parseAllDocuments(text);
      if (!Array.isArray(docs)) continue;
      const index = docs.findIndex((doc) => {
        const value = doc.toJS() as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } } | null;
        return value?.apiVersion === "vigil.dev/v1" && value.kind === "Policy" && value.metadata?.name === name;
      });
      if (index >= 0) return { file, text, index };
    }
  }
  return undefined;
}

const column = (text: string, offset: number): number => offset - (text.lastIndexOf("\n", offset - 1) + 1);

/** The column of the `-` introducing the block-sequence item that starts at `offset` (`-   name:` has spaces after it). */
function dashColumn(text: string, offset: number): number {
  const dash = text.lastIndexOf("-", offset - 1);
  return dash >= 0 && /^\s*$/.test(text.slice(dash + 1, offset)) ? column(text, dash) : Math.max(0, column(text, offset) - 2);
}

/** Block-sequence items at `indent` spaces: `- key: value` with nested lines indented under it. */
export function renderItems(items: readonly unknown[], indent: number): string {
  const pad = " ".repeat(indent);
  return items.map((item) => {
    const body = stringify(item, { indent: 2, lineWidth: 0, minContentWidth: 0 }).replace(/\n$/, "");
    return body.split("\n").map((line, i) => (i === 0 ? `${pad}- ${line}` : line === "" ? "" : `${pad}  ${line}`)).join("\n");
  }).join("\n");
}

/** A text edit; at equal offsets, appending to an existing list (order 0) goes before a new key (order 1). */
/** The offset of the line break (`\n`, or `\r\n`) ending the line a node ends on (`end` may already be just past it). */
function lineEndAt(text: string, end: number): number {
  const next = end > 0 && text[end - 1] === "\n" ? end - 1 : text.indexOf("\n", end);
  if (next < 0) return text.length;
  return next > 0 && text[next - 1] === "\r" ? next - 1 : next;
}

interface Edit { readonly at: number; readonly end: number; readonly text: string; readonly order: number }

/**
 * Replaces a key's value (flow list or null, at `range`) by a block list of `items` under the key's
 * line. A comment after the value stays on the key's line: after the last item it would describe
 * that item (or join its plain scalar).
 */
function blockValue(text: string, range: readonly [number, number, number], items: readonly unknown[], indent: number): Edit {
  const [start, end] = range;
  const lineEnd = lineEndAt(text, end);
  const comment = text.slice(end, lineEnd).trim();
  let at = start;
  while (at > 0 && text[at - 1] === " ") at--;
  return { at, end: lineEnd, text: `${comment === "" ? "" : ` ${comment}`}\n${renderItems(items, indent)}`, order: 0 };
}

function editFor(doc: Document, text: string, key: string, items: readonly unknown[]): Edit {
  const spec = doc.get("spec", true);
  if (!isMap(spec) || spec.range === undefined || spec.range === null) throw new Error("the policy has no spec mapping");
  const map = spec as YAMLMap;
  if (map.flow) return flowEditFor(map, key, items);
  const firstKey = map.items[0]?.key as { range?: [number, number, number] } | undefined;
  const keyIndent = firstKey?.range ? column(text, firstKey.range[0]) : 2;
  const existing = map.get(key, true);
  if (isSeq(existing) && existing.range) {
    if (!existing.flow && existing.items.length > 0) {
      const first = existing.items[0] as { range?: [number, number, number] };
      const itemIndent = first.range ? dashColumn(text, first.range[0]) : keyIndent;
      const at = lineEndAt(text, existing.range[1]);
      return { at, end: at, text: `\n${renderItems(items, itemIndent)}`, order: 0 };
    }
    // `key: []` or a flow list: replaced by a block list holding its items and the new ones.
    return blockValue(text, existing.range, [...(existing.toJS(doc) as unknown[]), ...items], keyIndent + 2);
  }
  // `key:` left empty (or `~`, `null`): the loader reads no items, so it becomes a block list of the new ones.
  if (isScalar(existing) && existing.value === null && existing.range) return blockValue(text, existing.range, items, keyIndent + 2);
  if (existing !== undefined) throw new Error(`spec.${key} is not a list`);
  // After the line where the mapping's last value ends.
  const at = lineEndAt(text, map.range?.[1] ?? text.length);
  return { at, end: at, text: `\n${" ".repeat(keyIndent)}${key}:\n${renderItems(items, keyIndent + 2)}`, order: 1 };
}

/**
 * The edit inside a spec written as a flow mapping (`spec: { on: [...], rules: [...] }`): block
 * lines there would not parse, so the items go in as flow (JSON) after the list's last item, into
 * an empty list, or as a new `key: [...]` after the mapping's last value.
 */
function flowEditFor(map: YAMLMap, key: string, items: readonly unknown[]): Edit {
  const flowItems = items.map((item) => JSON.stringify(item)).join(", ");
  const existing = map.get(key, true);
  if (isSeq(existing) && existing.range) {
    const last = existing.items.at(-1) as { range?: [number, number, number] } | undefined;
    if (last?.range) return { at: last.range[1], end: last.range[1], text: `, ${flowItems}`, order: 0 };
    return { at: existing.range[0], end: existing.range[1], text: `[${flowItems}]`, order: 0 };
  }
  if (isScalar(existing) && existing.value === null && existing.range) return { at: existing.range[0], end: existing.range[1], text: ` [${flowItems}]`, order: 0 };
  if (existing !== undefined) throw new Error(`spec.${key} is not a list`);
  const lastValue = (map.items.at(-1)?.value ?? map.items.at(-1)?.key) as { range?: [number, number, number] } | undefined;
  if (!lastValue?.range) throw new Error("the policy's spec mapping is empty");
  return { at: lastValue.range[1], end: lastValue.range[1], text: `, ${key}: [${flowItems}]`, order: 1 };
}

/**
 * The file text with `additions` (spec key → items) appended to the policy document's `spec`
 * lists. Throws when the document has no `spec` mapping or a key holds something else than a list.
 */
export function addToSpec(location: PolicyLocation, additions: Readonly<Record<string, readonly unknown[]>>): string {
  const docs = parseAllDocuments(location.text);
  if (!Array.isArray(docs)) throw new Error("the file could not be parsed as YAML documents");
  const doc = docs[location.index];
  if (doc === undefined) throw new Error(`the file has no document ${location.index}`);
  const edits = Object.entries(additions).filter(([, items]) => items.length > 0).map(([key, items]) => editFor(doc, location.text, key, items));
  // New lines end the way the file's lines do (a CRLF file stays CRLF).
  const eol = location.text.includes("\r\n") ? "\r\n" : "\n";
  let text = location.text;
  for (const edit of [...edits].sort((a, b) => b.at - a.at || b.order - a.order)) text = text.slice(0, edit.at) + edit.text.replace(/\n/g, eol) + text.slice(edit.end);
  return text;
}
