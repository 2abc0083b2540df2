import { VigilError } from "../core/index.js";

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
 */
export function canonicalJson(value: unknown): string {
  const out = write(value, "$", new Set());
  // A top-level undefined has no JSON text; the record never stores one.
  return out ?? "null";
}

function write(value: unknown, path: string, ancestors: Set<object>): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? (Object.is(value, -0) ? "0" : String(value)) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return Number.isSafeInteger(Number(value)) ? value.toString() : JSON.stringify(value.toString());
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
    case "object":
      break;
  }
  if (value === null) return "null";
  const object = value as object;
  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return write(toJSON.call(object), path, ancestors);
  if (ancestors.has(object)) {
    throw new VigilError("VIGIL_BAD_INPUT", `canonical JSON: circular reference at ${path}; a decision record must be a tree of plain JSON values`, { field: path });
  }
  ancestors.add(object);
  let text: string;
  if (Array.isArray(object)) {
    const items: string[] = new Array<string>(object.length);
    for (let index = 0; index < object.length; index++) {
      items[index] = write(object[index], `${path}[${index}]`, ancestors) ?? "null";
    }
    text = `[${items.join(",")}]`;
  } else {
    const record = object as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is the order RFC 8785 section 3.2.3 requires.
    const keys = Object.keys(record).sort();
    const members: string[] = [];
    for (const key of keys) {
      const member = write(record[key], `${path}.${key}`, ancestors);
      if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
    }
    text = `{${members.join(",")}}`;
  }
  ancestors.delete(object);
  return text;
}
