/**
 * Map access over both map representations: plain objects (string keys, the JSON shape) and
 * CelMap (any key type, keys normalised so numeric keys match across int / uint / double).
 */
import { CelDouble, CelMap, CelUint, err, isPlainObject } from "./values.js";

/** The normalised key of a CelMap entry, or undefined when `key` can never be a map key. */
export function mapKeyOf(key: unknown): string | undefined {
  switch (typeof key) {
    case "string":
      return `s${key}`;
    case "number":
      return Number.isInteger(key) ? `n${BigInt(key)}` : undefined;
    case "bigint":
      return `n${key}`;
    case "boolean":
      return key ? "bt" : "bf";
    case "object":
      if (key instanceof CelUint) return `n${key.v}`;
      if (key instanceof CelDouble) return `n${BigInt(key.v)}`;
      return undefined;
    default:
      return undefined;
  }
}

/** True for a valid key of a map literal (int, uint, bool, string). */
export function isValidMapKey(key: unknown): boolean {
  return typeof key === "string" || typeof key === "boolean" || typeof key === "bigint" || key instanceof CelUint || (typeof key === "number" && Number.isSafeInteger(key));
}

export function isMap(v: unknown): v is Record<string, unknown> | CelMap {
  return typeof v === "object" && v !== null && (v instanceof CelMap || (!Array.isArray(v) && isPlainObject(v)));
}

/** The value under `key`, or undefined when absent. `m` must be a map (isMap). */
export function mapGet(m: Record<string, unknown> | CelMap, key: unknown): unknown {
  if (m instanceof CelMap) {
    const k = mapKeyOf(key);
    return k === undefined ? undefined : m.entries.get(k)?.[1];
  }
  if (typeof key !== "string") return undefined;
  return Object.hasOwn(m, key) ? m[key] : undefined;
}

export function mapHas(m: Record<string, unknown> | CelMap, key: unknown): boolean {
  return mapGet(m, key) !== undefined;
}

export function mapSize(m: Record<string, unknown> | CelMap): number {
  return m instanceof CelMap ? m.entries.size : Object.keys(m).length;
}

export function mapKeys(m: Record<string, unknown> | CelMap): unknown[] {
  if (m instanceof CelMap) return [...m.entries.values()].map((e) => e[0]);
  return Object.keys(m);
}

export function mapEntries(m: Record<string, unknown> | CelMap): (readonly [unknown, unknown])[] {
  if (m instanceof CelMap) return [...m.entries.values()];
  return Object.entries(m);
}

/**
 * Builds a map from key/value pairs: a null-prototype plain object when every key is a string,
 * a CelMap otherwise. Throws on a repeated or unsupported key.
 */
export function buildMap(pairs: readonly (readonly [unknown, unknown])[]): Record<string, unknown> | CelMap {
  let allStrings = true;
  for (const [k] of pairs) {
    if (typeof k !== "string") {
      allStrings = false;
      break;
    }
  }
  if (allStrings) {
    const o = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of pairs) {
      if (Object.hasOwn(o, k as string)) throw err("invalid_argument", `repeated map key '${k as string}'`);
      o[k as string] = v;
    }
    return o;
  }
  const entries = new Map<string, readonly [unknown, unknown]>();
  for (const [k, v] of pairs) {
    if (!isValidMapKey(k)) throw err("invalid_argument", "unsupported map key type (map keys must be int, uint, bool or string)");
    const nk = mapKeyOf(k) as string;
    if (entries.has(nk)) throw err("invalid_argument", `repeated map key ${String(k instanceof CelUint ? `${k.v}u` : k)}`);
    entries.set(nk, [k, v]);
  }
  return new CelMap(entries);
}
