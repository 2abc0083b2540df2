import { createHash } from "node:crypto";
import { canonicalJson as canonicalJsonOf, MAX_INPUT_NESTING, PLAIN_FORM } from "../core/canonical-json.js";
import { problem, type FieldProblem } from "./results.js";

/** Small, dependency-free helpers shared by the adapters: JSON shapes, ids, timestamps. */

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/**
 * Sets an own, enumerable property even when the name is `__proto__` (plain assignment would
 * change the object's prototype instead). Use it for names that come from input.
 */
export function defineField(record: JsonRecord, name: string, value: unknown): void {
  // defineProperty is slow (it turns objects into dictionaries): use it only where needed.
  if (name === "__proto__") Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
  else record[name] = value;
}

/** The deepest nesting of objects and arrays an input item may have (core's MAX_INPUT_NESTING, which the decision record is sized for). */
export const MAX_NESTING_DEPTH = MAX_INPUT_NESTING;

/**
 * The problem of an item nested deeper than {@link MAX_NESTING_DEPTH}, naming its top-level
 * member that holds the deep part (`prefix.member`), else undefined. Iterative: never throws.
 */
export function nestingProblem(value: unknown, prefix = ""): FieldProblem | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const members = Array.isArray(value) ? value.map((item, index) => [`[${index}]`, item] as const) : Object.entries(value);
  // One walk per top-level member, so the problem can name it; parallel stacks, no allocations per node.
  const nodes: object[] = [];
  const depths: number[] = [];
  for (const [member, item] of members) {
    if (typeof item === "object" && item !== null) {
      nodes.push(item);
      depths.push(2);
    }
    while (nodes.length > 0) {
      const node = nodes.pop() as Record<string, unknown>;
      const depth = depths.pop() as number;
      if (depth > MAX_NESTING_DEPTH) {
        const at = prefix === "" ? member : member.startsWith("[") ? `${prefix}${member}` : `${prefix}.${member}`;
        return problem(at, `\`${at}\` is nested deeper than ${MAX_NESTING_DEPTH} levels of objects and arrays, more than Vigil can store: send the record as its system wrote it`);
      }
      if (Array.isArray(node)) {
        for (const child of node) {
          if (typeof child === "object" && child !== null) {
            nodes.push(child as object);
            depths.push(depth + 1);
          }
        }
        continue;
      }
      for (const key in node) {
        const child = node[key];
        if (typeof child === "object" && child !== null) {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return undefined;
}

/** Describes a JSON value's kind for error messages ("a number", "null", "an array"). */
export function kindOf(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return value.length === 0 ? "an empty string" : "a string";
  return `a ${typeof value}`;
}

/**
 * Reads a top-level field whatever its letter case (`eventID`, `eventid`): some log pipelines
 * (data lakes, Panther's test events) lower-case CloudTrail's keys. The exact name wins.
 */
export function field(record: JsonRecord, name: string): unknown {
  if (name in record) return record[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() === lower) return record[key];
  }
  return undefined;
}

/** Like {@link field} but returns the key actually present (for error messages). */
export function fieldName(record: JsonRecord, name: string): string {
  if (name in record) return name;
  const lower = name.toLowerCase();
  return Object.keys(record).find((key) => key.toLowerCase() === lower) ?? name;
}

/**
 * JSON with object keys sorted at every level: equal values give equal text. Content ids are
 * stored (event ids), so they keep their first form: core's canonical JSON in {@link PLAIN_FORM}.
 */
export function canonicalJson(value: unknown): string {
  return canonicalJsonOf(value, PLAIN_FORM);
}

/**
 * A deterministic id for content that has no upstream id: `sha256:` + 32 hex digits of the
 * canonical JSON. Re-ingesting the same content gives the same id (idempotent ingestion).
 */
export function contentId(value: unknown): string {
  return `sha256:${createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 32)}`;
}

/**
 * Hands out content ids within one input: identical items get `id`, `id#2`, `id#3`, ... so two
 * genuinely repeated rows stay two events, and re-reading the same input gives the same ids.
 */
export interface ContentIdAllocator {
  idFor(value: unknown): string;
  /** Same, for content already serialized deterministically (e.g. a CSV row in header order). */
  idForText(text: string): string;
}

export function createContentIdAllocator(): ContentIdAllocator {
  const seen = new Map<string, number>();
  const allocate = (id: string): string => {
    const count = (seen.get(id) ?? 0) + 1;
    seen.set(id, count);
    return count === 1 ? id : `${id}#${count}`;
  };
  return {
    idFor: (value) => allocate(contentId(value)),
    idForText: (text) => allocate(`sha256:${createHash("sha256").update(text).digest("hex").slice(0, 32)}`),
  };
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;
const LENIENT_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*([Zz]|UTC|[+-]\d{2}:?\d{2})?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDateTime(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = mo === 2 && leap ? 29 : (DAYS_IN_MONTH[mo - 1] as number);
  return d <= days;
}

/** True when `value` is an RFC 3339 `date-time` (what CloudEvents `time` requires). */
export function isRfc3339(value: string): boolean {
  const match = RFC3339.exec(value);
  if (!match) return false;
  const [, y, mo, d, h, mi, s, , , oh, om] = match;
  if (oh !== undefined && (Number(oh) > 23 || Number(om) > 59)) return false;
  return validDateTime(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s));
}

/**
 * An RFC 3339 time whose second is 60 (a leap second, which RFC 3339 allows and Date.parse
 * reads as NaN) as the last millisecond of its minute, `23:59:60[.5]Z` → `23:59:59.999Z`, in
 * its own offset, as context's parseTime reads it: later times stay later, the day stays the day.
 */
function withoutLeapSecond(text: string): string {
  return text.replace(/^(.{10}[Tt]\d{2}:\d{2}:)60(?:\.\d+)?(?=[Zz+-])/, "$159.999");
}

/**
 * Turns an upstream timestamp into RFC 3339, keeping its precision: `2024-09-01 00:00:00`
 * (FOCUS samples, Panther) becomes `2024-09-01T00:00:00Z`; a timestamp with no zone is UTC;
 * epoch numbers (seconds, milliseconds, microseconds or nanoseconds) are converted; a leap
 * second (`23:59:60`) becomes `23:59:59.999`, so Date.parse reads every result. Returns
 * undefined when it is not a timestamp.
 */
export function normalizeTimestamp(value: unknown): string | undefined {
  if (typeof value === "number" && Number.isFinite(value)) {
    // Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude (each
    // unit's range ends in the year 5138).
    const size = Math.abs(value);
    const date = new Date(size < 1e11 ? value * 1000 : size < 1e14 ? value : size < 1e17 ? value / 1e3 : value / 1e6);
    const text = Number.isNaN(date.getTime()) ? undefined : date.toISOString();
    return text !== undefined && isRfc3339(text) ? text : undefined;
  }
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (isRfc3339(text)) return withoutLeapSecond(text);
  const match = LENIENT_TIMESTAMP.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h = "00", mi = "00", s = "00", fraction = "", zone] = match;
  if (!validDateTime(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s))) return undefined;
  let offset = "Z";
  if (zone !== undefined && zone !== "Z" && zone !== "z" && zone !== "UTC") {
    offset = zone.includes(":") ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  }
  const normalized = `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction}${offset}`;
  return isRfc3339(normalized) ? withoutLeapSecond(normalized) : undefined;
}

/**
 * Reads an upstream timestamp field for an event's `time`: returns the RFC 3339 text, or a
 * warning when the field is present but not a timestamp (the event is then kept without
 * `time`: the upstream record itself stays unchanged in `data`).
 */
export function upstreamTime(value: unknown, fieldLabel: string): { time?: string; warning?: string } {
  if (value === undefined || value === null || value === "") return {};
  const time = normalizeTimestamp(value);
  if (time !== undefined) return { time };
  return {
    warning: `\`${fieldLabel}\` is ${JSON.stringify(value)}, not a timestamp: the event has no \`time\``,
  };
}

/** Percent-encodes one URI path segment (for sources built from names). */
export function pathSegment(value: string): string {
  return encodeURIComponent(value);
}

/**
 * A file path as a relative URI-reference (for a `source` naming the file): `/` and `\` become
 * `/`, each segment is percent-encoded, so `my app/pod #1.yaml` is `my%20app/pod%20%231.yaml`.
 */
export function filePathReference(path: string): string {
  return path.split(/[\\/]/).map(pathSegment).join("/");
}
