import type { Event } from "../core/index.js";
import { validateEventData } from "./event-data.js";
import {
  failure,
  place,
  position,
  problem,
  type Conversion,
  type FieldProblem,
  type IngestResult,
} from "./results.js";
import { defineField, isRecord, isRfc3339, kindOf, nestingProblem, normalizeTimestamp, type JsonRecord } from "./values.js";

/**
 * CloudEvents 1.0 (spec v1.0.2) in the JSON event format: validation of one structured event
 * and of a JSON batch. Every problem names the attribute and the fix.
 */

export const CLOUDEVENTS_JSON = "application/cloudevents+json";
export const CLOUDEVENTS_BATCH_JSON = "application/cloudevents-batch+json";

const CONTEXT_ATTRIBUTES = new Set([
  "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema",
]);
const EXTENSION_NAME = /^[a-z0-9]+$/;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
// RFC 2046 / RFC 7231 media type: type "/" subtype *( OWS ";" OWS parameter ).
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(
  `^${TOKEN}/${TOKEN}(\\s*;\\s*${TOKEN}=(${TOKEN}|"([^"\\\\]|\\\\.)*"))*\\s*$`,
);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// With the u flag a surrogate range matches only a surrogate that is not part of a pair.
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const NONCHARACTER = /[\ufdd0-\ufdef\ufffe\uffff\u{1fffe}\u{1ffff}\u{2fffe}\u{2ffff}\u{3fffe}\u{3ffff}\u{4fffe}\u{4ffff}\u{5fffe}\u{5ffff}\u{6fffe}\u{6ffff}\u{7fffe}\u{7ffff}\u{8fffe}\u{8ffff}\u{9fffe}\u{9ffff}\u{afffe}\u{affff}\u{bfffe}\u{bffff}\u{cfffe}\u{cffff}\u{dfffe}\u{dffff}\u{efffe}\u{effff}\u{ffffe}\u{fffff}\u{10fffe}\u{10ffff}]/u;
const URI_FORBIDDEN = /[\s"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})/;
const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** Options for reading CloudEvents. */
export interface CloudEventOptions {
  /**
   * Validate `data` of the well-known types (EVENTS.md) too (default true). Unknown types are
   * always accepted unchanged.
   */
  readonly validateData?: boolean;
}

/** True when a media type declares JSON content (`*\/json` or `*\/*+json`). */
export function isJsonMediaType(mediaType: string | undefined): boolean {
  if (mediaType === undefined) return true;
  const essence = (mediaType.split(";")[0] ?? "").trim().toLowerCase();
  const subtype = essence.split("/")[1] ?? "";
  return subtype === "json" || subtype.endsWith("+json");
}

/**
 * The characters the CloudEvents String type disallows (1.0.2 type system): control characters,
 * surrogates not used in pairs, Unicode noncharacters. `label` is how the message names the value.
 */
function characterProblem(name: string, value: string, label: string): FieldProblem | undefined {
  if (CONTROL.test(value)) return problem(name, `${label} contains a control character (U+0000-U+001F, U+007F-U+009F): remove it`);
  if (LONE_SURROGATE.test(value)) {
    return problem(name, `${label} contains a lone UTF-16 surrogate (U+D800-U+DFFF not in a pair), which is no character and cannot be stored as UTF-8: send the text's real characters`);
  }
  if (NONCHARACTER.test(value)) return problem(name, `${label} contains a Unicode noncharacter (U+FDD0-U+FDEF or U+nFFFE/U+nFFFF): remove it`);
  return undefined;
}

/** A string attribute's problems: wrong type, empty, or disallowed characters. */
function stringProblem(name: string, value: unknown, fix: string): FieldProblem | undefined {
  if (typeof value !== "string") {
    return problem(name, `\`${name}\` is ${kindOf(value)}, not a string: ${fix}`);
  }
  if (value.length === 0) return problem(name, `\`${name}\` is empty: ${fix}`);
  return characterProblem(name, value, `\`${name}\``);
}

function uriProblem(name: string, value: string, absolute: boolean): FieldProblem | undefined {
  if (URI_FORBIDDEN.test(value)) {
    return problem(
      name,
      `\`${name}\` ${JSON.stringify(value)} is not a valid URI${absolute ? "" : "-reference"}: ` +
        "percent-encode spaces, quotes, <>\\^`{|} and stray % signs (RFC 3986)",
    );
  }
  if (absolute && !URI_SCHEME.test(value)) {
    return problem(name, `\`${name}\` ${JSON.stringify(value)} is not an absolute URI: give a scheme, e.g. https://example.com/schema.json`);
  }
  return undefined;
}

/** Checks one extension attribute's name and value (JSON format type mapping). */
function extensionProblem(name: string, value: unknown): FieldProblem | undefined {
  if (!EXTENSION_NAME.test(name)) {
    const suggestion = name.toLowerCase().replace(/[^a-z0-9]/g, "");
    const known = CONTEXT_ATTRIBUTES.has(suggestion) ? ` (did you mean \`${suggestion}\`?)` : "";
    return problem(
      name,
      `attribute name \`${name}\` is invalid: CloudEvents attribute names use only lower-case letters a-z and digits 0-9` +
        `${known}; rename it${suggestion.length > 0 ? ` to \`${suggestion}\`` : ""} or move it into \`data\``,
    );
  }
  if (typeof value === "string") return characterProblem(name, value, `extension \`${name}\``);
  if (typeof value === "boolean") return undefined;
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) return undefined;
    return problem(
      name,
      `extension \`${name}\` is ${value}: CloudEvents integers are whole numbers from ${INT32_MIN} to ${INT32_MAX}; send other numbers as a string`,
    );
  }
  return problem(
    name,
    `extension \`${name}\` is ${kindOf(value)}: extension values are strings, booleans or integers; put structured values in \`data\``,
  );
}

/**
 * Validates one structured-mode CloudEvent (a parsed JSON object). Returns the event (null-valued
 * attributes removed, as the JSON format requires) or every problem found. Never throws.
 */
export function convertCloudEvent(value: unknown, options: CloudEventOptions = {}): Conversion {
  if (!isRecord(value)) {
    return {
      problems: [problem("(event)", `a CloudEvent is a JSON object, got ${kindOf(value)}: send {"specversion":"1.0","id":...,"source":...,"type":...}`)],
    };
  }
  const deep = nestingProblem(value);
  if (deep !== undefined) return { problems: [deep] };
  const problems: FieldProblem[] = [];
  const add = (p: FieldProblem | undefined): void => {
    if (p !== undefined) problems.push(p);
  };
  // INVARIANT: a JSON `null` attribute is the same as an absent one (JSON format 2.2).
  const present = (name: string): boolean => value[name] !== undefined && value[name] !== null;

  if (!present("specversion")) {
    add(problem("specversion", '`specversion` is missing: add "specversion": "1.0"'));
  } else if (value["specversion"] !== "1.0") {
    add(problem("specversion", `\`specversion\` is ${JSON.stringify(value["specversion"])}: only CloudEvents "1.0" is supported; set "specversion": "1.0"`));
  }
  if (!present("id")) add(problem("id", "`id` is missing: set a non-empty string, unique within `source`"));
  else add(stringProblem("id", value["id"], "set a non-empty string, unique within `source`"));

  if (!present("source")) add(problem("source", "`source` is missing: set a URI-reference naming the producer, e.g. /myapp/orders"));
  else {
    const bad = stringProblem("source", value["source"], "set a URI-reference naming the producer, e.g. /myapp/orders");
    add(bad ?? uriProblem("source", value["source"] as string, false));
  }
  if (!present("type")) add(problem("type", "`type` is missing: set a reverse-DNS event type, e.g. com.example.order.created"));
  else add(stringProblem("type", value["type"], "set a reverse-DNS event type, e.g. com.example.order.created"));

  if (present("subject")) add(stringProblem("subject", value["subject"], "set a non-empty string or leave `subject` out"));
  if (present("time")) {
    const time = value["time"];
    if (typeof time !== "string" || !isRfc3339(time)) {
      add(problem("time", `\`time\` is ${JSON.stringify(time)}, not an RFC 3339 timestamp: use e.g. "2024-05-01T12:00:00Z" (date, "T", time, and "Z" or an offset)`));
    }
  }
  if (present("datacontenttype")) {
    const contentType = value["datacontenttype"];
    if (typeof contentType !== "string" || !MEDIA_TYPE.test(contentType)) {
      add(problem("datacontenttype", `\`datacontenttype\` is ${JSON.stringify(contentType)}, not a media type (RFC 2046): use e.g. "application/json"`));
    }
  }
  if (present("dataschema")) {
    const bad = stringProblem("dataschema", value["dataschema"], "set an absolute URI or leave `dataschema` out");
    add(bad ?? uriProblem("dataschema", value["dataschema"] as string, true));
  }
  if (value["data"] !== undefined && present("data_base64")) {
    add(problem("data_base64", "both `data` and `data_base64` are set: send binary content in `data_base64` only, anything else in `data` only"));
  } else if (present("data_base64")) {
    const base64 = value["data_base64"];
    if (typeof base64 !== "string" || !BASE64.test(base64)) {
      add(problem("data_base64", "`data_base64` is not Base64 (RFC 4648): encode the binary data with the standard alphabet and padding"));
    }
  }

  const event: JsonRecord = {};
  for (const [name, attribute] of Object.entries(value)) {
    if (name === "data") {
      // `data: null` is an explicit null payload (JSON format 3.1.1), unlike a null attribute.
      if (attribute !== undefined) event[name] = attribute;
      continue;
    }
    if (attribute === null || attribute === undefined) continue;
    if (!CONTEXT_ATTRIBUTES.has(name) && name !== "data_base64") add(extensionProblem(name, attribute));
    // `time` is kept as sent, except a leap second (23:59:60), which Date.parse cannot read downstream.
    defineField(event, name, name === "time" && typeof attribute === "string" && isRfc3339(attribute) ? normalizeTimestamp(attribute) : attribute);
  }
  if (problems.length === 0 && options.validateData !== false) {
    problems.push(...validateEventData(event["type"] as string, event["data"], present("data_base64")));
  }
  if (problems.length > 0) return { problems };
  return { event: event as unknown as Event, warnings: [] };
}

/** Validates one structured-mode CloudEvent; `index` 0. Never throws. */
export function parseCloudEvent(value: unknown, options: CloudEventOptions = {}): IngestResult {
  return place(convertCloudEvent(value, options), position(0));
}

/**
 * Validates a JSON batch (`application/cloudevents-batch+json`): one result per element, in
 * order; good items are kept, bad ones reported by index. A non-array is one failure at
 * index 0 with field `(batch)`. An empty batch gives no results. Never throws.
 */
export function parseCloudEventBatch(value: unknown, options: CloudEventOptions = {}): IngestResult[] {
  if (!Array.isArray(value)) {
    return [
      failure(
        [problem("(batch)", `a CloudEvents batch is a JSON array of events, got ${kindOf(value)}: wrap the events in [ ... ] or send one event as ${CLOUDEVENTS_JSON}`)],
        position(0),
      ),
    ];
  }
  return value.map((item, index) => place(convertCloudEvent(item, options), position(index)));
}

/** True when a JSON value looks like a structured CloudEvent (has `specversion`). */
export function looksLikeCloudEvent(value: unknown): boolean {
  return isRecord(value) && "specversion" in value;
}
