import { VigilError } from "../core/index.js";
import {
  CLOUDEVENTS_BATCH_JSON,
  CLOUDEVENTS_JSON,
  convertCloudEvent,
  isJsonMediaType,
  parseCloudEventBatch,
  type CloudEventOptions,
} from "./cloudevents.js";
import { mediaTypeEssence, normalizeHeaders, singleHeader, type HeaderBag } from "./headers.js";
import { failure, place, position, problem, type FieldProblem, type IngestResult } from "./results.js";
import { defineField } from "./values.js";

/**
 * The CloudEvents HTTP protocol binding (v1.0.2) for receiving: structured mode
 * (`application/cloudevents+json`), batched mode (`application/cloudevents-batch+json`) and
 * binary mode (`ce-*` headers, body = data, `Content-Type` = `datacontenttype`).
 */

export type HttpContentMode = "structured" | "batch" | "binary";

export interface HttpCloudEventsRequest {
  readonly headers: HeaderBag;
  /**
   * The body: raw bytes or text (preferred), or an already-parsed JSON value when a framework
   * parsed it. `undefined` or empty means no body.
   */
  readonly body?: unknown;
}

export type HttpCloudEventsResult =
  /** Per-item results in order (one for structured and binary mode). */
  | { readonly ok: true; readonly mode: HttpContentMode; readonly results: readonly IngestResult[] }
  /** The request as a whole is unusable (no mode, unparseable batch body): answer 400. */
  | { readonly ok: false; readonly error: VigilError };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A body as text: bytes in the charset `contentType` declares (UTF-8 by default); a leading BOM dropped either way. */
function bodyText(body: unknown, contentType?: string): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  if (body instanceof Uint8Array) return (contentType === undefined ? utf8 : charsetDecoder(contentType) ?? utf8).decode(body);
  return undefined;
}

function isEmptyBody(body: unknown): boolean {
  return body === undefined || body === null || (typeof body === "string" && body.length === 0) || (body instanceof Uint8Array && body.length === 0);
}

/** Parses a JSON body (text, bytes in the declared charset, or a pre-parsed value); `error` says why it is not JSON. */
function jsonBody(body: unknown, contentType?: string): { value?: unknown; error?: string } {
  try {
    const text = bodyText(body, contentType);
    if (text === undefined) return { value: body };
    return { value: JSON.parse(text) as unknown };
  } catch (cause) {
    return { error: cause instanceof Error ? cause.message : String(cause) };
  }
}

/**
 * Undoes the HTTP header encoding of an attribute value: a double-quoted string is unescaped
 * (RFC 7230 3.2.6), then one round of percent-decoding; byte sequences that are not valid
 * UTF-8 (e.g. the overlong `%C0%A0`) are rejected. A value with raw non-ASCII bytes (a sender
 * that did not percent-encode: Node hands them over as one latin1 character per byte) is read
 * as the UTF-8 text it was when those bytes are valid UTF-8. Returns undefined when invalid.
 */
export function decodeHeaderValue(raw: string): string | undefined {
  let value = raw.trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1).replace(/\\(.)/g, "$1");
  }
  if (/[\x80-\xff]/.test(value) && !/[^\x00-\xff]/.test(value)) {
    const bytes = headerBytes(value, true);
    if (bytes !== undefined) {
      try {
        return utf8.decode(new Uint8Array(bytes));
      } catch {
        // not UTF-8 bytes: text a program put in the header bag (e.g. "café"), read below
      }
    }
  }
  if (!value.includes("%")) return value;
  const bytes = headerBytes(value, false);
  if (bytes === undefined) return undefined;
  try {
    return utf8.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

/** The bytes of a header value with %XY decoded; other characters are bytes (`latin1`) or UTF-8 encoded. Undefined for a broken escape. */
function headerBytes(value: string, latin1: boolean): number[] | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const char = value.charCodeAt(i);
    if (char === 0x25) {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (char < 0x80 || (latin1 && char <= 0xff)) {
      bytes.push(char);
    } else {
      const codePoint = value.codePointAt(i) as number;
      bytes.push(...Buffer.from(String.fromCodePoint(codePoint), "utf8"));
      if (codePoint > 0xffff) i++;
    }
  }
  return bytes;
}

/**
 * The decoder for a text body: the charset the Content-Type declares (`iso-8859-1`,
 * `windows-1252`, ...), UTF-8 when it declares none; undefined for a charset no decoder knows
 * (the body is then kept as bytes in `data_base64`).
 */
interface TextDecoding {
  readonly encoding: string;
  decode(bytes: Uint8Array): string;
}

function charsetDecoder(contentType: string): TextDecoding | undefined {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
  if (charset === undefined) return utf8;
  let decoder: TextDecoding;
  try {
    decoder = new TextDecoder(charset, { fatal: true });
  } catch {
    return undefined;
  }
  return decoder.encoding === "windows-1252" ? windows1252 : decoder;
}

// WHATWG index-windows-1252 for 0x80-0x9F (the rest is latin1): Node 20's decoder maps these
// bytes to C1 control characters, so `€` would arrive as U+0080.
const WINDOWS_1252_HIGH = "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178";
const windows1252: TextDecoding = {
  encoding: "windows-1252",
  decode(bytes: Uint8Array): string {
    let text = "";
    for (const byte of bytes) text += byte >= 0x80 && byte <= 0x9f ? WINDOWS_1252_HIGH[byte - 0x80] : String.fromCharCode(byte);
    return text;
  },
};

function isDataField(name: string): boolean {
  return name === "data" || name === "data_base64" || name.startsWith("data.") || name.startsWith("data[");
}

/**
 * Reads a binary-mode CloudEvent: attributes from `ce-*` headers (names lower-cased, values
 * decoded per 3.1.3.2), `datacontenttype` from Content-Type, `data` from the body — parsed
 * when the content type is JSON (or absent), a string for `text/*` and XML (decoded in the
 * declared charset, UTF-8 by default), otherwise (or in a charset no decoder knows) Base64 in
 * `data_base64`. Header problems name the header (`ce-id`). Never throws.
 */
export function parseBinaryCloudEvent(request: HttpCloudEventsRequest, options: CloudEventOptions = {}): IngestResult {
  const headers = normalizeHeaders(request.headers);
  const problems: FieldProblem[] = [];
  const candidate: Record<string, unknown> = {};
  for (const [name, values] of headers) {
    if (!name.startsWith("ce-")) continue;
    const attribute = name.slice(3);
    if (values.length > 1) {
      problems.push(problem(name, `header ${name} appears ${values.length} times: send each CloudEvents attribute once`));
      continue;
    }
    if (attribute === "datacontenttype") {
      problems.push(problem(name, "header ce-datacontenttype must not be sent in binary mode: put the media type in Content-Type instead"));
      continue;
    }
    if (attribute === "data" || attribute === "data_base64") {
      problems.push(problem(name, `header ${name} is not a CloudEvents attribute: in binary mode the data is the request body`));
      continue;
    }
    const decoded = decodeHeaderValue(values[0] as string);
    if (decoded === undefined) {
      problems.push(problem(name, `header ${name} has an invalid percent-encoding: encode the value's UTF-8 bytes as %XY`));
      continue;
    }
    defineField(candidate, attribute, decoded);
  }
  const contentType = singleHeader(headers, "content-type").value;
  if (contentType !== undefined) candidate["datacontenttype"] = contentType;

  if (!isEmptyBody(request.body)) {
    const essence = mediaTypeEssence(contentType);
    if (contentType === undefined || isJsonMediaType(contentType)) {
      const parsed = jsonBody(request.body, contentType);
      if (parsed.error !== undefined) {
        problems.push(problem("data", `the body is not valid JSON (${parsed.error}) but Content-Type is ${contentType ?? "absent (JSON assumed)"}: fix the JSON or set Content-Type to the data's media type`));
      } else {
        candidate["data"] = parsed.value;
      }
    } else if (typeof request.body === "string") {
      candidate["data"] = request.body;
    } else if (request.body instanceof Uint8Array) {
      const textual = essence !== undefined && (essence.startsWith("text/") || essence.endsWith("/xml") || essence.endsWith("+xml") || /;\s*charset=/i.test(contentType));
      const decoder = textual ? charsetDecoder(contentType as string) : undefined;
      if (decoder !== undefined) {
        try {
          candidate["data"] = decoder.decode(request.body);
        } catch {
          problems.push(problem("data", `the body is not ${decoder.encoding} text but Content-Type is ${contentType}: fix the encoding or the Content-Type`));
        }
      } else {
        candidate["data_base64"] = Buffer.from(request.body).toString("base64");
      }
    } else {
      candidate["data"] = request.body;
    }
  }
  // A body that could not be read is already reported; do not also report its data as missing.
  const bodyFailed = problems.some((p) => p.field === "data");
  const conversion = convertCloudEvent(candidate, bodyFailed ? { ...options, validateData: false } : options);
  // Name headers, not JSON members, for the attributes a binary-mode sender set as headers.
  const named = "problems" in conversion
    ? conversion.problems.map((p) => (isDataField(p.field) ? p : { field: p.field === "datacontenttype" ? "content-type" : `ce-${p.field}`, message: p.message }))
    : [];
  const all = [...problems, ...named];
  if (all.length > 0) return failure(all, position(0));
  return place(conversion, position(0));
}

/**
 * Reads a CloudEvents HTTP request in any content mode, chosen by Content-Type: the
 * CloudEvents JSON media type → structured, the batch media type → batch, any other
 * `application/cloudevents...` type (an event format Vigil does not read) → request-level
 * error, otherwise binary when `ce-specversion` is present. A request that is none of these, or a structured/batch
 * body that is not JSON, is a request-level `VIGIL_BAD_INPUT` (`ok: false`). Never throws.
 */
export function parseHttpCloudEvents(request: HttpCloudEventsRequest, options: CloudEventOptions = {}): HttpCloudEventsResult {
  const headers = normalizeHeaders(request.headers);
  const essence = mediaTypeEssence(singleHeader(headers, "content-type").value);
  // 3: the application/cloudevents prefix means structured (or batched) mode whatever ce-
  // headers are present; Vigil reads the JSON event format only.
  if (essence !== undefined && essence.startsWith("application/cloudevents") && essence !== CLOUDEVENTS_JSON && essence !== CLOUDEVENTS_BATCH_JSON) {
    const batched = essence.startsWith("application/cloudevents-batch");
    const format = /\+([^+]+)$/.exec(essence)?.[1];
    return {
      ok: false,
      error: new VigilError(
        "VIGIL_BAD_INPUT",
        `Content-Type ${essence} is ${batched ? "batched" : "structured"} mode in ${format === undefined ? "no named event format" : `the ${format} event format`}, which Vigil does not read: send ${batched ? CLOUDEVENTS_BATCH_JSON : CLOUDEVENTS_JSON} (the JSON event format), or binary mode with ce- headers and the data's own Content-Type`,
        { field: "content-type" },
      ),
    };
  }
  if (essence === CLOUDEVENTS_JSON || essence === CLOUDEVENTS_BATCH_JSON) {
    const mode: HttpContentMode = essence === CLOUDEVENTS_JSON ? "structured" : "batch";
    if (isEmptyBody(request.body)) {
      return { ok: false, error: new VigilError("VIGIL_BAD_INPUT", `the body is empty: send ${mode === "batch" ? "a JSON array of CloudEvents" : "a CloudEvent as a JSON object"}`, { field: "body" }) };
    }
    const parsed = jsonBody(request.body, singleHeader(headers, "content-type").value);
    if (parsed.error !== undefined) {
      return { ok: false, error: new VigilError("VIGIL_BAD_INPUT", `the body is not valid JSON (${parsed.error}): send ${mode === "batch" ? "a JSON array of CloudEvents" : "a CloudEvent as a JSON object"}`, { field: "body" }) };
    }
    if (mode === "structured") return { ok: true, mode, results: [place(convertCloudEvent(parsed.value, options), position(0))] };
    if (!Array.isArray(parsed.value)) {
      return { ok: false, error: new VigilError("VIGIL_BAD_INPUT", `a ${CLOUDEVENTS_BATCH_JSON} body is a JSON array of CloudEvents, got ${parsed.value === null ? "null" : typeof parsed.value}: wrap the events in [ ... ]`, { field: "body" }) };
    }
    return { ok: true, mode, results: parseCloudEventBatch(parsed.value, options) };
  }
  if (headers.has("ce-specversion")) {
    return { ok: true, mode: "binary", results: [parseBinaryCloudEvent(request, options)] };
  }
  return {
    ok: false,
    error: new VigilError(
      "VIGIL_BAD_INPUT",
      `this is not a CloudEvents request: Content-Type is ${essence ?? "absent"} and there is no ce-specversion header; send Content-Type ${CLOUDEVENTS_JSON} (one event), ${CLOUDEVENTS_BATCH_JSON} (a batch), or binary mode with ce-specversion, ce-id, ce-source and ce-type headers`,
      { field: "content-type" },
    ),
  };
}
