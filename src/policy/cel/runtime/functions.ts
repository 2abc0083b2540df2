/**
 * The function registry: overloads keyed by name, call style (global `f(x)` or receiver `x.f()`)
 * and arity. Several overloads may share a key; the first whose `accepts` admits the arguments
 * runs, and an overload without `accepts` takes everything (standard functions check their own
 * argument types and throw no_matching_overload).
 */
import { noOverload } from "./values.js";

export type FunctionImpl = (...args: unknown[]) => unknown;

export interface Overload {
  /** CEL name, possibly namespaced: `size`, `math.greatest`, `base64.encode`. */
  readonly name: string;
  /** Receiver style `x.f(args)`; the receiver is passed as the first argument to impl. */
  readonly receiver: boolean;
  /** Arguments excluding the receiver; -1 = variadic (one or more). */
  readonly arity: number;
  readonly impl: FunctionImpl;
  /** When present, the overload applies only to arguments (receiver first) it accepts. */
  readonly accepts?: (args: readonly unknown[]) => boolean;
}

export function overloadKey(name: string, receiver: boolean, arity: number): string {
  return `${receiver ? "m" : "g"}:${name}:${arity < 0 ? "*" : arity}`;
}

export class FunctionRegistry {
  private readonly byKey = new Map<string, Overload[]>();
  private readonly names = new Set<string>();
  private readonly dispatchers = new Map<string, FunctionImpl>();
  /** Keys that extensions added to (the code generator's inline fast paths must not apply). */
  private readonly overridden = new Set<string>();

  constructor(overloads: readonly Overload[] = []) {
    for (const o of overloads) this.add(o);
  }

  /** Adds an overload. Later additions take precedence over earlier ones with the same key. */
  add(o: Overload): void {
    const key = overloadKey(o.name, o.receiver, o.arity);
    const list = this.byKey.get(key) ?? [];
    list.unshift(o);
    this.byKey.set(key, list);
    this.names.add(o.name);
    this.dispatchers.delete(key);
  }

  /** Copy of this registry plus `more` (which take precedence). */
  extend(more: readonly Overload[]): FunctionRegistry {
    const copy = new FunctionRegistry();
    for (const [key, list] of this.byKey) copy.byKey.set(key, [...list]);
    for (const n of this.names) copy.names.add(n);
    for (const k of this.overridden) copy.overridden.add(k);
    for (const o of more) {
      copy.add(o);
      copy.overridden.add(overloadKey(o.name, o.receiver, o.arity));
    }
    return copy;
  }

  isOverridden(name: string, receiver: boolean, arity: number): boolean {
    return this.overridden.has(overloadKey(name, receiver, arity));
  }

  hasName(name: string): boolean {
    return this.names.has(name);
  }

  /** True when some overload exists for this name and call style (any arity). */
  hasStyle(name: string, receiver: boolean): boolean {
    const prefix = `${receiver ? "m" : "g"}:${name}:`;
    for (const key of this.byKey.keys()) if (key.startsWith(prefix)) return true;
    return false;
  }

  /** The names callable in this style (receiver: `x.f()`, else `f()`), for "did you mean". */
  namesOfStyle(receiver: boolean): string[] {
    const prefix = receiver ? "m:" : "g:";
    const out = new Set<string>();
    for (const key of this.byKey.keys()) if (key.startsWith(prefix)) out.add(key.slice(2, key.lastIndexOf(":")));
    return [...out];
  }

  /**
   * A single function that runs the right overload for `name` / style / arity, or undefined when
   * none is registered. Receiver calls get the receiver as the first argument.
   */
  resolve(name: string, receiver: boolean, arity: number): FunctionImpl | undefined {
    const key = overloadKey(name, receiver, arity);
    const cached = this.dispatchers.get(key);
    if (cached) return cached;
    const list = this.byKey.get(key) ?? (arity >= 1 ? this.byKey.get(overloadKey(name, receiver, -1)) : undefined);
    if (!list || list.length === 0) return undefined;
    let fn: FunctionImpl;
    const first = list[0] as Overload;
    if (list.length === 1 && !first.accepts) fn = first.impl;
    else {
      const overloads = [...list];
      fn = (...args: unknown[]) => {
        for (const o of overloads) if (!o.accepts || o.accepts(args)) return o.impl(...args);
        throw noOverload(name, ...args);
      };
    }
    this.dispatchers.set(key, fn);
    return fn;
  }
}
