import { VigilError } from "./errors.js";

/**
 * Canonical JSON in the style of RFC 8785 (JCS): object keys sorted by UTF-16 code units, no
 * whitespace, strings escaped as `JSON.stringify` escapes them, numbers printed as JavaScript
 * prints them (`Number.prototype.toString`, which is what JCS specifies).
 *
 * Where JavaScript values are not JSON, the choices are the ones `JSON.stringify` makes, so a
 * record read back with `JSON.parse` and canonicalized again gives the same text:
 * - `undefined`, functions and symbols: an object property holding one is omitted; an array
 *   item holding one becomes `null`.
 * - `-0` prints as `0` (JCS says so too).
 * - `NaN`, `Infinity`, `-Infinity` print as `null` (JCS forbids them; CEL can produce them in a
 *   trace value, and refusing to record a decision over a trace value would be worse).
 * - `bigint` prints as a JSON number when it is a safe integer, otherwise as a decimal string
 *   (CEL int64/uint64 values can be bigints; a number past 2^53 would not read back the same).
 * - an object with a `toJSON()` method (e.g. `Date`) is replaced by its result.
 *
 * Throws VigilError(VIGIL_BAD_INPUT) on a circular reference, naming the JSON path.
 *
 * `options` select the older form policy revisions and source content ids are computed in
 * ({@link PLAIN_FORM}), so that the ids and revisions already stored do not change.
 */
export function canonicalJson(value: unknown, options?: CanonicalJsonOptions): string {
  const maxDepth = options?.maxDepth ?? MAX_DEPTH;
  const useToJSON = options?.toJSON ?? true;
  try {
    // A top-level undefined has no JSON text; the record never stores one.
    return write(value, maxDepth, useToJSON) ?? "null";
  } catch (error) {
    if (error !== TOO_DEEP) throw error;
    const path = findCycle(value, "$", new Set());
    throw new VigilError("VIGIL_BAD_INPUT", path === undefined
      ? `canonical JSON: nesting deeper than ${maxDepth} levels; a decision record must be a tree of plain JSON values`
      : `canonical JSON: circular reference at ${path}; a decision record must be a tree of plain JSON values`, { field: path ?? "$" });
  }
}

export interface CanonicalJsonOptions {
  /**
   * Replace an object that has a `toJSON()` method by its result (default true). false: every
   * object is written as its own enumerable properties (a `Date` is `{}`, a `Buffer` its bytes
   * keyed by index, as YAML's `!!timestamp` and `!!binary` give them).
   */
  readonly toJSON?: boolean;
  /**
   * Deepest nesting written (default 1300, room for an input nested MAX_INPUT_NESTING deep; deeper or circular: VIGIL_BAD_INPUT). `Infinity`: no
   * limit; a circular reference then overflows the stack (RangeError).
   */
  readonly maxDepth?: number;
}

/**
 * The form of policy revisions (policy/vigil) and source content ids (sources): no `toJSON()`,
 * no depth limit. Their first implementations walked objects by their own keys and recursed
 * without a limit; on values parsed from JSON or YAML (Dates and Buffers included) this form
 * gives exactly their text. They differed only on values no parser gives: a function or symbol
 * member was written as null (here: omitted), a bigint threw (here: printed), an array hole was
 * written as nothing, invalid JSON (here: null).
 */
export const PLAIN_FORM: CanonicalJsonOptions = Object.freeze({ toJSON: false, maxDepth: Number.POSITIVE_INFINITY });

/**
 * The deepest nesting of objects and arrays an input item may have (the sources refuse deeper
 * items): above what upstream systems accept (EventBridge PutEvents reads detail up to 1100
 * levels, one more in its envelope), well below where hashing and serializing, which recurse, run
 * out of stack (a few thousand levels).
 */
export const MAX_INPUT_NESTING = 1200;
/** The record's default limit: an input nested MAX_INPUT_NESTING deep sits inside a decision (and a masked copy), with room for the decision's own levels. */
const MAX_DEPTH = MAX_INPUT_NESTING + 100;
const TOO_DEEP = new Error("canonical JSON: too deep");

/** Object keys repeat from record to record (policy, rule, trace...): their JSON text is cached. */
const quotedKeys = new Map<string, string>();
function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < 10_000) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/**
 * Key orders repeat too (every finding has the same keys): the sorted order of a key list is
 * cached, looked up by its first key and matched by identity of the keys (property names are
 * interned strings, so comparing them is a pointer compare). Sorting was the largest part of
 * canonicalizing a decision.
 */
interface KeyOrder { readonly keys: readonly string[]; readonly sorted: readonly string[] }
const keyOrders = new Map<string, KeyOrder[]>();
let cachedOrders = 0;
const MAX_CACHED_ORDERS = 4096;

function sortedKeys(keys: string[]): readonly string[] {
  const first = keys[0] as string;
  const candidates = keyOrders.get(first);
  if (candidates !== undefined) {
    for (let c = 0; c < candidates.length; c++) {
      const order = candidates[c] as KeyOrder;
      const known = order.keys;
      if (known.length !== keys.length) continue;
      let same = true;
      for (let i = 1; i < known.length; i++) {
        if (known[i] !== keys[i]) { same = false; break; }
      }
      if (same) return order.sorted;
    }
  }
  // Default sort compares UTF-16 code units, which is the order RFC 8785 section 3.2.3 requires.
  const sorted = [...keys].sort();
  if (cachedOrders < MAX_CACHED_ORDERS && keys.length <= 64) {
    cachedOrders++;
    if (candidates === undefined) keyOrders.set(first, [{ keys, sorted }]);
    else candidates.push({ keys, sorted });
  }
  return sorted;
}

/** Characters `JSON.stringify` escapes (quote, backslash, controls) and surrogates (lone ones are escaped; paired ones take the slow path too). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * The hot path: no path strings, no visited set (the depth left bounds cycles); string
 * concatenation. `depthLeft` counts down (Infinity stays Infinity).
 */
function write(value: unknown, depthLeft: number, useToJSON: boolean): string | undefined {
  switch (typeof value) {
    case "string":
      // Most strings need no escaping: quoting them directly skips a call into JSON.stringify.
      return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
    case "number":
      // `value === 0` is also true for -0, which prints as 0.
      return Number.isFinite(value) ? (value === 0 ? "0" : String(value)) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return Number.isSafeInteger(Number(value)) ? value.toString() : JSON.stringify(value.toString());
    case "object":
      break;
    default:
      // undefined, function, symbol
      return undefined;
  }
  if (value === null) return "null";
  if (depthLeft <= 0) throw TOO_DEEP;
  if (useToJSON) {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") return write(toJSON.call(value), depthLeft - 1, useToJSON);
  }
  if (Array.isArray(value)) {
    let out = "[";
    for (let index = 0; index < value.length; index++) {
      if (index > 0) out += ",";
      out += write(value[index], depthLeft - 1, useToJSON) ?? "null";
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const own = Object.keys(record);
  const keys = own.length > 1 ? sortedKeys(own) : own;
  let out = "{";
  let first = true;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as string;
    const member = write(record[key], depthLeft - 1, useToJSON);
    if (member === undefined) continue;
    if (first) first = false;
    else out += ",";
    out += `${quoteKey(key)}:${member}`;
  }
  return `${out}}`;
}

/** The slow path, only for the error message: where does the value refer back to itself? */
function findCycle(value: unknown, path: string, ancestors: Set<object>): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (ancestors.has(value)) return path;
  ancestors.add(value);
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [`${path}[${index}]`, item])
    : Object.entries(value).map(([key, item]) => [`${path}.${key}`, item]);
  for (const [childPath, child] of entries) {
    const found = findCycle(child, childPath, ancestors);
    if (found !== undefined) return found;
  }
  ancestors.delete(value);
  return undefined;
}
