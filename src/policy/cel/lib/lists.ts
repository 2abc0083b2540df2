/**
 * List functions: the Kubernetes list library (isSorted, sum, min, max, indexOf, lastIndexOf),
 * the cel-go lists extension (lists.range, slice, flatten, distinct, reverse, sort, first, last;
 * sortBy is a macro) and the cel-go sets extension (sets.contains, sets.equivalent,
 * sets.intersects).
 */
import { add } from "../runtime/arith.js";
import { charge, chargeSize } from "../runtime/cost.js";
import { checkSortKeys, compare, eq } from "../runtime/equality.js";
import type { Overload } from "../runtime/functions.js";
import { CelDouble, CelDuration, CelUint, NONE, err, isInt, mkOptional, noOverload } from "../runtime/values.js";

function list(fn: string, v: unknown, ...rest: unknown[]): readonly unknown[] {
  if (!Array.isArray(v)) throw noOverload(fn, v, ...rest);
  chargeSize(v.length * 16);
  return v;
}

function int(fn: string, v: unknown): number {
  if (!isInt(v)) throw noOverload(fn, v);
  return Number(v);
}

function isSorted(l: unknown): boolean {
  const items = list("isSorted", l);
  for (let i = 1; i < items.length; i++) if (compare(items[i - 1], items[i], "isSorted") > 0) return false;
  return true;
}

function summable(v: unknown): boolean {
  return typeof v === "number" || typeof v === "bigint" || v instanceof CelDouble || v instanceof CelUint || v instanceof CelDuration;
}

function sum(l: unknown): unknown {
  const items = list("sum", l);
  if (items.length === 0) return 0;
  let total: unknown = items[0];
  if (!summable(total)) throw noOverload("sum", total);
  for (let i = 1; i < items.length; i++) {
    if (!summable(items[i])) throw noOverload("sum", items[i]);
    total = add(total, items[i]);
  }
  return total;
}

function extreme(fn: "min" | "max"): (l: unknown) => unknown {
  return (l) => {
    const items = list(fn, l);
    if (items.length === 0) throw err("invalid_argument", `${fn} called on empty list`);
    let best = items[0];
    for (let i = 1; i < items.length; i++) {
      const c = compare(items[i], best, fn);
      if (fn === "min" ? c < 0 : c > 0) best = items[i];
    }
    return best;
  };
}

function indexOf(l: unknown, x: unknown): number {
  const items = list("indexOf", l, x);
  for (let i = 0; i < items.length; i++) if (eq(items[i], x)) return i;
  return -1;
}

function lastIndexOf(l: unknown, x: unknown): number {
  const items = list("lastIndexOf", l, x);
  for (let i = items.length - 1; i >= 0; i--) if (eq(items[i], x)) return i;
  return -1;
}

function range(n: unknown): number[] {
  const count = int("lists.range", n);
  if (count < 0) throw err("invalid_argument", `lists.range: negative count ${count}`);
  chargeSize(count * 16);
  return Array.from({ length: count }, (_, i) => i);
}

function slice(l: unknown, start: unknown, end: unknown): unknown[] {
  const items = list("slice", l, start, end);
  const a = int("slice", start);
  const b = int("slice", end);
  if (a < 0 || b < 0) throw err("invalid_argument", `cannot slice(${a}, ${b}), negative indexes not supported`);
  if (a > b) throw err("invalid_argument", `cannot slice(${a}, ${b}), start index must be less than or equal to end index`);
  if (b > items.length) throw err("invalid_argument", `cannot slice(${a}, ${b}), list is length ${items.length}`);
  return items.slice(a, b);
}

function flatten(l: unknown, depth?: unknown): unknown[] {
  const items = list("flatten", l);
  const d = depth === undefined ? 1 : int("flatten", depth);
  if (d < 0) throw err("invalid_argument", "level must be non-negative");
  const out: unknown[] = [];
  const walk = (xs: readonly unknown[], level: number): void => {
    charge(xs.length);
    for (const x of xs) {
      if (Array.isArray(x) && level > 0) walk(x, level - 1);
      else out.push(x);
    }
  };
  walk(items, d);
  return out;
}

function distinct(l: unknown): unknown[] {
  const items = list("distinct", l);
  const out: unknown[] = [];
  for (const x of items) {
    charge(out.length);
    if (!out.some((y) => eq(x, y))) out.push(x);
  }
  return out;
}

function sortList(l: unknown): unknown[] {
  const items = list("sort", l);
  checkSortKeys(items);
  charge(items.length * Math.ceil(Math.log2(items.length + 1)));
  return [...items].sort((a, b) => compare(a, b, "sort"));
}

function setContains(fn: string, a: unknown, b: unknown): boolean {
  const xs = list(fn, a, b);
  const ys = list(fn, b, a);
  charge(xs.length * ys.length);
  return ys.every((y) => xs.some((x) => eq(x, y)));
}

const onList = (args: readonly unknown[]): boolean => Array.isArray(args[0]);

function m(name: string, arity: number, impl: (...args: never[]) => unknown): Overload {
  return { name, receiver: true, arity, impl: impl as (...args: unknown[]) => unknown, accepts: onList };
}
function g(name: string, arity: number, impl: (...args: never[]) => unknown): Overload {
  return { name, receiver: false, arity, impl: impl as (...args: unknown[]) => unknown };
}

export const listOverloads: readonly Overload[] = [
  m("isSorted", 0, isSorted),
  m("sum", 0, sum),
  m("min", 0, extreme("min")),
  m("max", 0, extreme("max")),
  m("indexOf", 1, indexOf),
  m("lastIndexOf", 1, lastIndexOf),
  g("lists.range", 1, range),
  m("slice", 2, slice),
  m("flatten", 0, flatten),
  m("flatten", 1, flatten),
  m("distinct", 0, distinct),
  m("reverse", 0, (l: unknown) => [...list("reverse", l)].reverse()),
  m("sort", 0, sortList),
  m("first", 0, (l: unknown) => {
    const items = list("first", l);
    return items.length > 0 ? mkOptional(items[0]) : NONE;
  }),
  m("last", 0, (l: unknown) => {
    const items = list("last", l);
    return items.length > 0 ? mkOptional(items[items.length - 1]) : NONE;
  }),
  g("sets.contains", 2, (a: unknown, b: unknown) => setContains("sets.contains", a, b)),
  g("sets.equivalent", 2, (a: unknown, b: unknown) => setContains("sets.equivalent", a, b) && setContains("sets.equivalent", b, a)),
  g("sets.intersects", 2, (a: unknown, b: unknown) => {
    const xs = list("sets.intersects", a, b);
    const ys = list("sets.intersects", b, a);
    charge(xs.length * ys.length);
    return xs.some((x) => ys.some((y) => eq(x, y)));
  }),
];
