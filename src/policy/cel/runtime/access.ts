/**
 * Field selection, indexing, presence tests and their optional forms (`a.?b`, `a[?b]`), plus
 * `size()`. The code generator inlines the plain-object fast path and calls these otherwise.
 */
import { isMap, mapGet, mapSize } from "./maps.js";
import { CelDouble, CelOptional, CelUint, NONE, err, mkOptional, noOverload } from "./values.js";

function noSuchKey(key: unknown): never {
  throw err("no_such_key", `no such key: ${typeof key === "string" ? key : String(key instanceof CelUint ? `${key.v}u` : key)}`);
}

/** `obj.field`. An optional operand yields an optional (optional chaining). */
export function select(obj: unknown, field: string): unknown {
  if (typeof obj === "object" && obj !== null) {
    if (isMap(obj)) {
      const v = mapGet(obj, field);
      if (v === undefined) noSuchKey(field);
      return v;
    }
    if (obj instanceof CelOptional) return obj.has ? optSelect(obj.v, field) : NONE;
  }
  if (obj === undefined) throw err("undeclared_reference", `no such attribute: ${field}`);
  throw err("no_such_field", `cannot select field '${field}' from a value of this type (only maps and objects have fields)`);
}

/** `obj.?field`: optional of the field's value, none when absent. */
export function optSelect(obj: unknown, field: string): CelOptional {
  if (obj instanceof CelOptional) return obj.has ? optSelect(obj.v, field) : NONE;
  if (typeof obj === "object" && obj !== null && isMap(obj)) {
    const v = mapGet(obj, field);
    return v === undefined ? NONE : mkOptional(v);
  }
  throw err("no_such_field", `cannot select field '${field}' from a value of this type (only maps and objects have fields)`);
}

/** `has(obj.field)`. */
export function hasField(obj: unknown, field: string): boolean {
  if (typeof obj === "object" && obj !== null) {
    if (isMap(obj)) return mapGet(obj, field) !== undefined;
    if (obj instanceof CelOptional) return obj.has ? hasField(obj.v, field) : false;
  }
  throw noOverload("has", obj);
}

function listIndex(list: readonly unknown[], i: unknown): number | undefined {
  let n: number;
  if (typeof i === "number") {
    if (!Number.isInteger(i)) throw err("invalid_argument", `invalid list index ${i}`);
    n = i;
  } else if (typeof i === "bigint") n = Number(i);
  else if (i instanceof CelUint) n = Number(i.v);
  else if (i instanceof CelDouble) n = i.v;
  else throw err("invalid_argument", "list index must be an int");
  return n >= 0 && n < list.length ? n : undefined;
}

/** `obj[i]`. */
export function index(obj: unknown, i: unknown): unknown {
  if (Array.isArray(obj)) {
    const n = listIndex(obj, i);
    if (n === undefined) throw err("invalid_argument", `index ${String(i instanceof CelUint ? i.v : i instanceof CelDouble ? i.v : i)} out of range for a list of size ${obj.length}`);
    return obj[n];
  }
  if (typeof obj === "object" && obj !== null) {
    if (isMap(obj)) {
      const v = mapGet(obj, i);
      if (v === undefined) noSuchKey(i);
      return v;
    }
    if (obj instanceof CelOptional) return obj.has ? optIndex(obj.v, i) : NONE;
  }
  throw noOverload("_[_]", obj, i);
}

/** `obj[?i]`. */
export function optIndex(obj: unknown, i: unknown): CelOptional {
  if (obj instanceof CelOptional) return obj.has ? optIndex(obj.v, i) : NONE;
  if (Array.isArray(obj)) {
    const n = listIndex(obj, i);
    return n === undefined ? NONE : mkOptional(obj[n]);
  }
  if (typeof obj === "object" && obj !== null && isMap(obj)) {
    const v = mapGet(obj, i);
    return v === undefined ? NONE : mkOptional(v);
  }
  throw noOverload("_[?_]", obj, i);
}

const surrogates = /[\uD800-\uDFFF]/;

/** Number of Unicode code points (a native scan first: most strings have no surrogate pairs). */
export function codePointLength(s: string): number {
  if (!surrogates.test(s)) return s.length;
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

export function size(v: unknown): number {
  if (typeof v === "string") return codePointLength(v);
  if (Array.isArray(v)) return v.length;
  if (v instanceof Uint8Array) return v.length;
  if (typeof v === "object" && v !== null && isMap(v)) return mapSize(v);
  throw noOverload("size", v);
}
