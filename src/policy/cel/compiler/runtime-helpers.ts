/**
 * The runtime helpers generated code calls as `R.name(...)`. Each implements the complete CEL
 * semantics of one operation (the generator inlines only the common fast cases).
 */
import { hasField, index, optIndex, optSelect, select, size } from "../runtime/access.js";
import { add, div, mod, mul, neg, not, sub } from "../runtime/arith.js";
import { chargeSize, costExceeded, meter } from "../runtime/cost.js";
import { checkSortKeys, compare, contains, eq, ge, gt, le, lt } from "../runtime/equality.js";
import { buildMap, isMap, mapEntries, mapKeys } from "../runtime/maps.js";
import { regexMatches } from "../runtime/regex.js";
import { CelErr, CelOptional, NONE, err, mkOptional, noOverload, type CelType } from "../runtime/values.js";

function undeclared(name: string): never {
  throw err("undeclared_reference", `undeclared reference to '${name}' (not in the activation)`);
}

/** Reads an own property (for names a plain object would otherwise inherit, like `constructor`). */
function own(obj: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}

/** Re-throws a value a `cel.bind` variable captured as an error. */
function chk(v: unknown): unknown {
  if (v instanceof CelErr) throw v;
  return v;
}

/** In a catch block of an error-absorbing construct: CEL errors become values, anything else propagates. */
function absorb(e: unknown): CelErr {
  if (e instanceof CelErr) return e;
  throw e;
}

/** The error an `&&` / `||` / quantifier operand contributes: itself, or no_matching_overload for a non-bool. */
function logicError(x: unknown, op: string): CelErr {
  if (x instanceof CelErr) return x;
  return noOverload(op, x);
}

function conditionError(c: unknown): never {
  throw noOverload("_?_:_", c);
}

function unbound(name: string): never {
  throw err("undeclared_reference", `unknown function '${name}'`);
}

/** Tries qualified candidates `[variable, ...fields]` in order (longest name first). */
function resolveQualified(act: Readonly<Record<string, unknown>>, candidates: readonly (readonly string[])[], fallback: CelType | undefined, rootName?: string): unknown {
  for (const [name, ...fields] of candidates) {
    const v = own(act, name as string);
    if (v === undefined) continue;
    let out: unknown = v;
    for (const f of fields) out = select(out, f);
    return out;
  }
  if (fallback) return fallback;
  return undeclared(rootName ?? (candidates[0]?.[0] as string));
}

function optionalList(values: readonly unknown[], optionalIndices: readonly number[]): unknown[] {
  const out: unknown[] = [];
  const optional = new Set(optionalIndices);
  values.forEach((v, i) => {
    if (!optional.has(i)) {
      out.push(v);
      return;
    }
    if (!(v instanceof CelOptional)) throw noOverload("optional list element", v);
    if (v.has) out.push(v.v);
  });
  return out;
}

function mapLiteral(triples: readonly (readonly [unknown, unknown, boolean])[]): unknown {
  const pairs: [unknown, unknown][] = [];
  for (const [k, v, optional] of triples) {
    if (!optional) pairs.push([k, v]);
    else {
      if (!(v instanceof CelOptional)) throw noOverload("optional map entry", v);
      if (v.has) pairs.push([k, v.v]);
    }
  }
  return buildMap(pairs);
}

function iterationItems(range: unknown, macro: string): readonly unknown[] {
  if (Array.isArray(range)) return range;
  if (isMap(range)) return mapKeys(range);
  throw noOverload(macro, range);
}

function iterationPairs(range: unknown, macro: string): [readonly unknown[], readonly unknown[]] {
  if (Array.isArray(range)) return [range.map((_, i) => i), range];
  if (isMap(range)) {
    const entries = mapEntries(range);
    return [entries.map((e) => e[0]), entries.map((e) => e[1])];
  }
  throw noOverload(macro, range);
}

function pushMapEntries(out: unknown[], m: unknown): void {
  if (!isMap(m)) throw noOverload("transformMapEntry", m);
  for (const e of mapEntries(m)) out.push(e);
}

function sortByKeys(items: readonly unknown[], keys: readonly unknown[]): unknown[] {
  checkSortKeys(keys);
  const order = items.map((_, i) => i);
  chargeSize(items.length * Math.max(1, Math.ceil(Math.log2(items.length + 1))) * 16);
  order.sort((a, b) => compare(keys[a], keys[b], "sortBy") || a - b);
  return order.map((i) => items[i]);
}

function asOptional(v: unknown, fn: string): CelOptional {
  if (v instanceof CelOptional) return v;
  throw noOverload(fn, v);
}

export const runtimeHelpers = {
  select, optSelect, hasField, index, optIndex, size,
  add, sub, mul, div, mod, neg, not,
  eq, lt, le, gt, ge, contains,
  meter, costExceeded, chargeSize,
  regexMatches,
  undeclared, own, chk, absorb, logicError, conditionError, unbound, resolveQualified,
  optionalList, mapLiteral, buildMap, iterationItems, iterationPairs, pushMapEntries, sortByKeys,
  asOptional, mkOptional, NONE,
};
