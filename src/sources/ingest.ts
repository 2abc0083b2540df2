import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { convertAdmissionReview, looksLikeAdmissionReview } from "./admission.js";
import { convertCloudEvent, looksLikeCloudEvent } from "./cloudevents.js";
import {
  cloudTrailFileConversions,
  cloudTrailFileToEvents,
  convertCloudTrailRecord,
  convertEventBridge,
  isEventBridgeEnvelope,
  looksLikeCloudTrailRecord,
} from "./cloudtrail.js";
import { convertFocusRow, looksLikeFocusHeader, looksLikeFocusRow, orderByChargePeriod, readFocusCsv } from "./focus.js";
import { readJsonLines, type TextChunks } from "./json-lines.js";
import { convertKubernetesObject, kubernetesListItems, kubernetesManifestsToEvents, looksLikeKubernetesObject } from "./kubernetes.js";
import { convertOktaEvent, looksLikeOktaEvent, looksLikeOktaEventHook, oktaEventHookConversions } from "./okta.js";
import { convertTerraformPlan, looksLikeTerraformPlan } from "./terraform.js";
import { failure, place, position, problem, type Conversion, type IngestResult } from "./results.js";
import { decodeUtf16 } from "./utf16.js";
import { createContentIdAllocator, isRecord, kindOf, type ContentIdAllocator, type JsonRecord } from "./values.js";

/**
 * `vigil ingest <file|->`: detects what a file or pipe holds and converts it to events, with
 * per-item results. Ids come from the upstream where it has them and from a content hash
 * otherwise, so ingesting the same file twice yields the same ids (idempotent).
 */

export type IngestFormat =
  | "json-lines"
  | "cloudevent"
  | "cloudevents-batch"
  | "cloudtrail-records"
  | "cloudtrail-record"
  | "eventbridge"
  | "okta-log"
  | "okta-event"
  | "focus-csv"
  | "focus-json"
  | "kubernetes"
  | "kubernetes-yaml"
  | "admission-review"
  | "terraform-plan"
  | "json-array"
  | "unknown";

/** What one JSON item is. */
export type ItemKind =
  | "cloudevent"
  | "eventbridge"
  | "admission-review"
  | "kubernetes-object"
  | "cloudtrail-record"
  | "okta-event"
  | "focus-row"
  | "terraform-plan"
  | "unknown";

export interface IngestOptions {
  /** Skip detection and read the input as this format. */
  readonly format?: IngestFormat;
  /** File name, for messages and as the `source` of manifest objects. */
  readonly file?: string;
  /** `source` for Okta events (default `okta`). */
  readonly oktaSource?: string;
  /** `source` for Kubernetes objects read from JSON (default `/k8s`). */
  readonly kubernetesSource?: string;
  /** Validate `data` of well-known CloudEvent types (default true). */
  readonly validateData?: boolean;
  /** Largest whole-document input (JSON document, YAML) buffered, in bytes. Default 256 MiB. */
  readonly maxDocumentBytes?: number;
}

export interface IngestOutcome {
  readonly format: IngestFormat;
  readonly results: AsyncIterable<IngestResult>;
}

/** Classifies one parsed JSON value. Order matters: the most specific shape wins. */
export function classifyItem(value: unknown): ItemKind {
  if (!isRecord(value)) return "unknown";
  if (looksLikeCloudEvent(value)) return "cloudevent";
  if (isEventBridgeEnvelope(value)) return "eventbridge";
  if (looksLikeAdmissionReview(value)) return "admission-review";
  if (looksLikeKubernetesObject(value)) return "kubernetes-object";
  if (looksLikeCloudTrailRecord(value)) return "cloudtrail-record";
  // An Okta event hook delivery carries System Log events (itemConversions unwraps it).
  if (looksLikeOktaEvent(value) || looksLikeOktaEventHook(value)) return "okta-event";
  if (looksLikeFocusRow(value)) return "focus-row";
  if (looksLikeTerraformPlan(value)) return "terraform-plan";
  return "unknown";
}

interface ItemContext {
  readonly ids: ContentIdAllocator;
  readonly options: IngestOptions;
}

/** `prefix`: where the item sits in its document (`items[3]` of a Kubernetes List), for field names. */
function convertAs(kind: ItemKind, value: unknown, context: ItemContext, prefix = ""): Conversion {
  const { ids, options } = context;
  switch (kind) {
    case "cloudevent": return convertCloudEvent(value, options);
    case "eventbridge": return convertEventBridge(value, ids);
    case "admission-review": return convertAdmissionReview(value);
    case "kubernetes-object": return convertKubernetesObject(value, ids, options.kubernetesSource, prefix);
    case "cloudtrail-record": return convertCloudTrailRecord(value, ids);
    case "okta-event": return convertOktaEvent(value, ids, options.oktaSource);
    case "focus-row": return convertFocusRow(value, ids);
    case "terraform-plan": return convertTerraformPlan(value, options.file === undefined ? {} : { file: options.file });
    case "unknown":
      return {
        problems: [
          problem("(item)", `this item (${kindOf(value)}) is not a CloudEvent, CloudTrail record, EventBridge event, Okta event, FOCUS row or Kubernetes object: wrap it in a CloudEvent with specversion, id, source and type`),
        ],
      };
  }
}

const ITEM_KIND_OF_FORMAT: Partial<Record<IngestFormat, ItemKind>> = {
  "cloudevent": "cloudevent",
  "cloudevents-batch": "cloudevent",
  "cloudtrail-record": "cloudtrail-record",
  "eventbridge": "eventbridge",
  "okta-log": "okta-event",
  "okta-event": "okta-event",
  "focus-json": "focus-row",
  "kubernetes": "kubernetes-object",
  "admission-review": "admission-review",
  "terraform-plan": "terraform-plan",
};

/** One item's conversions by kind (`auto` detects it); a List or a Records file gives one per item. */
function itemConversions(value: unknown, kind: ItemKind | "auto", context: ItemContext): Conversion[] {
  if (kind === "auto" && isRecord(value) && Array.isArray(value["Records"])) return cloudTrailFileConversions(value["Records"], context.ids);
  // A saved Okta event hook delivery: each System Log event it carries.
  if ((kind === "auto" || kind === "okta-event") && looksLikeOktaEventHook(value)) return oktaEventHookConversions(value, context.ids, context.options.oktaSource);
  const itemKind = kind === "auto" ? classifyItem(value) : kind;
  const list = itemKind === "kubernetes-object" && isRecord(value) && Array.isArray(value["items"]) && String(value["kind"]).endsWith("List");
  const items = list ? kubernetesListItems(value as JsonRecord & { items: unknown[] }) : [value];
  return items.map((item, itemIndex) => convertAs(itemKind, item, context, list ? `items[${itemIndex}]` : ""));
}

/** Converts the items of an array (or a single item) by kind, `auto` detecting each. */
function convertItems(values: readonly unknown[], kind: ItemKind | "auto", context: ItemContext): IngestResult[] {
  return values.flatMap((value) => itemConversions(value, kind, context)).map((conversion, index) => place(conversion, position(index)));
}

/** One line of JSON Lines, detected; a whole document on a line (`jq -c` output) gives its items. */
function lineConversions(value: unknown, context: ItemContext): Conversion[] {
  return (Array.isArray(value) ? value : [value]).flatMap((item) => itemConversions(item, "auto", context));
}

/** The format of a whole parsed JSON document (see {@link IngestFormat}). */
export function classifyDocument(value: unknown): IngestFormat {
  if (Array.isArray(value)) {
    const first = value.find(isRecord);
    switch (first === undefined ? "unknown" : classifyItem(first)) {
      case "cloudevent": return "cloudevents-batch";
      case "okta-event": return "okta-log";
      case "focus-row": return "focus-json";
      default: return "json-array";
    }
  }
  if (isRecord(value) && Array.isArray(value["Records"])) return "cloudtrail-records";
  switch (classifyItem(value)) {
    case "cloudevent": return "cloudevent";
    case "eventbridge": return "eventbridge";
    case "admission-review": return "admission-review";
    case "kubernetes-object": return "kubernetes";
    case "cloudtrail-record": return "cloudtrail-record";
    case "okta-event": return "okta-event";
    case "focus-row": return "focus-json";
    case "terraform-plan": return "terraform-plan";
    default: return "unknown";
  }
}

/** Converts a parsed JSON document read as `format`. */
function convertDocument(value: unknown, format: IngestFormat, context: ItemContext): IngestResult[] {
  if (format === "cloudtrail-records") return cloudTrailFileToEvents(value, { ids: context.ids });
  const values = Array.isArray(value) ? value : [value];
  if (format === "unknown") return convertItems(values, "unknown", context);
  // The rows of a FOCUS document are emitted in ChargePeriodStart order (see focus.ts).
  if (format === "focus-json") return orderByChargePeriod(convertItems(values, "focus-row", context));
  return convertItems(values, ITEM_KIND_OF_FORMAT[format] ?? "auto", context);
}

/**
 * Guesses the format from the first part of the input (at least the first line). Returns
 * `json-document` when the whole input must be parsed as one JSON value to know more.
 */
export function detectFormat(head: string, complete: boolean): IngestFormat | "json-document" {
  const text = head.replace(/^\uFEFF/, "").trimStart();
  if (text.length === 0) return "unknown";
  if (text.startsWith("{") || text.startsWith("[")) {
    if (text.startsWith("{")) {
      const newline = text.indexOf("\n");
      // One line and nothing after it: a single document (parsed once, later, in full).
      if (newline === -1) return "json-document";
      const firstLine = text.slice(0, newline);
      const rest = text.slice(newline + 1, newline + 4096).trimStart();
      try {
        const first: unknown = JSON.parse(firstLine);
        if (isRecord(first) && rest.startsWith("{")) return "json-lines";
        if (isRecord(first) && rest.length === 0 && !complete) return "json-lines";
      } catch {
        // a pretty-printed document: the first line alone is not JSON
      }
    }
    return "json-document";
  }
  const firstLine = text.split(/\r?\n/, 1)[0] ?? "";
  if (looksLikeFocusHeader(firstLine)) return "focus-csv";
  if (/^(---|#|apiVersion:|kind:)/m.test(text) || /^\s*(apiVersion|kind|metadata):/m.test(text)) return "kubernetes-yaml";
  return "unknown";
}

function unknownFormat(options: IngestOptions): IngestResult[] {
  return [
    failure(
      [problem("(input)", `could not tell the format of ${options.file ?? "the input"}: Vigil reads JSON Lines, a CloudEvent or batch, a CloudTrail Records file or record, an EventBridge event, an Okta log array, FOCUS CSV or JSON, Kubernetes YAML/JSON and AdmissionReviews; pass the format explicitly if detection fails`)],
      position(0),
      "VIGIL_BAD_INPUT",
    ),
  ];
}

function parseDocument(text: string, options: IngestOptions, context: ItemContext): { format: IngestFormat; results: IngestResult[] } {
  let value: unknown;
  try {
    // Bytes lose their BOM in the decoder; text (a file read as UTF-8) may still start with one.
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (cause) {
    return {
      format: options.format ?? "unknown",
      results: [failure([problem("(input)", `${options.file ?? "the input"} is not valid JSON (${cause instanceof Error ? cause.message : String(cause)}): fix the document, or write one JSON object per line`)], position(0), "VIGIL_BAD_INPUT")],
    };
  }
  const format = options.format ?? classifyDocument(value);
  return { format, results: convertDocument(value, format, context) };
}

/**
 * Converts a whole input held in memory. See {@link ingestStream} for the formats. Never throws.
 */
export async function ingestText(text: string, options: IngestOptions = {}): Promise<{ format: IngestFormat; results: IngestResult[] }> {
  const outcome = await ingestStream([text], options);
  const results: IngestResult[] = [];
  for await (const result of outcome.results) results.push(result);
  return { format: outcome.format, results };
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** Re-joins the chunks already read with the rest of the iterator. */
async function* rejoin(head: readonly (string | Uint8Array)[], iterator: AsyncIterator<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  yield* head;
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) return;
    yield next.value;
  }
}

const HEAD_BYTES = 64 * 1024;
const HEAD_MAX_BYTES = 1024 * 1024;

function corruptGzip(options: IngestOptions, cause: unknown): IngestResult {
  return failure([problem("(input)", `${options.file ?? "the input"} starts like gzip but could not be gunzipped (${cause instanceof Error ? cause.message : String(cause)}): send the complete .gz file, or the plain text`)], position(0), "VIGIL_BAD_INPUT");
}

/**
 * Detects and converts a file or pipe: JSON Lines (each line auto-detected: CloudEvent,
 * CloudTrail record, EventBridge event, Okta event, FOCUS row, Kubernetes object), a JSON
 * document (CloudEvent, batch, CloudTrail `Records` file or record, EventBridge event, Okta
 * log array, FOCUS JSON rows, Kubernetes object or List, AdmissionReview, or an array of any
 * of these), FOCUS CSV, or multi-document Kubernetes YAML. Gzipped input (CloudTrail's S3
 * files) is gunzipped. JSON Lines stream; JSON documents and YAML are buffered (up to
 * `maxDocumentBytes`), and so are FOCUS CSV rows, to be emitted in `ChargePeriodStart` order. Resolves once the format is known; bad items are failures in
 * `results`, never exceptions.
 */
export async function ingestStream(input: TextChunks, options: IngestOptions = {}): Promise<IngestOutcome> {
  let source: AsyncIterator<string | Uint8Array> = await decodeUtf16(toAsyncIterator(input));
  const head: Array<string | Uint8Array> = [];
  let headText = "";
  let sawNewline = false;
  let done = false;
  let gzipped = false;
  const decoder = new TextDecoder("utf-8");
  const keep = (chunk: string | Uint8Array): void => {
    head.push(chunk);
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    headText += text;
    if (!sawNewline && text.includes("\n")) sawNewline = true;
  };
  try {
    const first = await source.next();
    if (first.done === true) {
      done = true;
    } else if (first.value instanceof Uint8Array && first.value[0] === 0x1f && first.value[1] === 0x8b) {
      gzipped = true;
      const gunzipped = Readable.from(rejoin([first.value], source)).pipe(createGunzip());
      source = toAsyncIterator(gunzipped as AsyncIterable<Uint8Array>);
    } else {
      keep(first.value);
    }
    // Read at least HEAD_BYTES and the first line, but never more than HEAD_MAX_BYTES.
    while (!done && headText.length < HEAD_MAX_BYTES && (headText.length < HEAD_BYTES || !sawNewline)) {
      const next = await source.next();
      if (next.done === true) {
        done = true;
        break;
      }
      keep(next.value);
    }
  } catch (cause) {
    if (!gzipped) throw cause;
    return { format: "unknown", results: fromArray([corruptGzip(options, cause)]) };
  }
  if (done && headText.replace(/^\uFEFF/, "").trim().length === 0) {
    return { format: options.format ?? "unknown", results: fromArray([]) }; // an empty input holds no events
  }
  const chunks = done ? fromArray(head) : rejoin(head, source);
  const context: ItemContext = { ids: createContentIdAllocator(), options };
  const detected = options.format ?? detectFormat(headText, done);

  const convertLine = (value: unknown): Conversion[] => lineConversions(value, context);
  const guard = (results: AsyncIterable<IngestResult>): AsyncIterable<IngestResult> => (gzipped ? guardGzip(results, options) : results);
  if (detected === "json-lines") return { format: "json-lines", results: guard(readJsonLines(chunks, { convert: convertLine })) };
  if (detected === "focus-csv") return { format: "focus-csv", results: guard(readFocusCsv(chunks, { ids: context.ids, ...(options.maxDocumentBytes === undefined ? {} : { maxDocumentBytes: options.maxDocumentBytes }) })) };
  if (detected === "unknown") return { format: "unknown", results: fromArray(unknownFormat(options)) };

  let whole: string | undefined;
  try {
    whole = await readAll(chunks, options.maxDocumentBytes ?? 256 * 1024 * 1024);
  } catch (cause) {
    if (!gzipped) throw cause;
    return { format: "unknown", results: fromArray([corruptGzip(options, cause)]) };
  }
  if (whole === undefined) {
    return {
      format: detected === "json-document" ? "unknown" : detected,
      results: fromArray([failure([problem("(input)", `${options.file ?? "the input"} is larger than maxDocumentBytes and is not line-oriented: split it, or convert it to JSON Lines`)], position(0), "VIGIL_BAD_INPUT")]),
    };
  }
  if (detected === "kubernetes-yaml") {
    return { format: "kubernetes-yaml", results: fromArray(kubernetesManifestsToEvents(whole, { ids: context.ids, ...(options.file === undefined ? {} : { file: options.file }) })) };
  }
  const parsed = parseDocument(whole, detected === "json-document" ? withoutFormat(options) : options, context);
  // JSON Lines whose first line was too long to judge from the head: read them as lines.
  if (detected === "json-document" && parsed.format === "unknown" && firstLineIsJsonObject(whole)) {
    return { format: "json-lines", results: readJsonLines([whole], { convert: convertLine }) };
  }
  return { format: parsed.format, results: fromArray(parsed.results) };
}

function firstLineIsJsonObject(text: string): boolean {
  const body = text.replace(/^\uFEFF/, "").trimStart();
  const newline = body.indexOf("\n");
  if (newline === -1) return false;
  try {
    return isRecord(JSON.parse(body.slice(0, newline)));
  } catch {
    return false;
  }
}

/** Turns a gunzip failure in the middle of a stream into a last failure result. */
async function* guardGzip(results: AsyncIterable<IngestResult>, options: IngestOptions): AsyncGenerator<IngestResult> {
  let count = 0;
  try {
    for await (const result of results) {
      count++;
      yield result;
    }
  } catch (cause) {
    yield { ...corruptGzip(options, cause), index: count };
  }
}

function withoutFormat(options: IngestOptions): IngestOptions {
  const { format: _format, ...rest } = options;
  return rest;
}

async function readAll(chunks: AsyncIterable<string | Uint8Array>, limit: number): Promise<string | undefined> {
  const decoder = new TextDecoder("utf-8");
  const parts: string[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += typeof chunk === "string" ? chunk.length : chunk.byteLength;
    if (size > limit) return undefined;
    parts.push(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
  }
  parts.push(decoder.decode());
  return parts.join("");
}

function toAsyncIterator(input: TextChunks): AsyncIterator<string | Uint8Array> {
  if (typeof input === "string") return toAsyncIterator([input]);
  if (Symbol.asyncIterator in input) return (input as AsyncIterable<string | Uint8Array>)[Symbol.asyncIterator]();
  const iterator = (input as Iterable<string | Uint8Array>)[Symbol.iterator]();
  return {
    next: async () => iterator.next(),
  };
}
