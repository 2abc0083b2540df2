/**
 * Adapts CelFunctionDefinition (the public extension API) to registry overloads: argument and
 * result conversion between CEL runtime values and plain JS, typed-overload matching, and errors
 * thrown by an implementation turned into CEL errors.
 */
import type { CelErrorKind, CelFunctionDefinition } from "./api.js";
import { fromPlainResult, toPlainArgument } from "./runtime/convert.js";
import type { Overload } from "./runtime/functions.js";
import { CelErr, CostExceeded, typeOf } from "./runtime/values.js";

const errorKinds = new Set<CelErrorKind>([
  "no_such_key", "no_such_field", "undeclared_reference", "no_matching_overload", "division_by_zero", "overflow", "invalid_argument", "other",
]);

const typeAliases: Record<string, string> = {
  timestamp: "google.protobuf.Timestamp",
  duration: "google.protobuf.Duration",
  null: "null_type",
  optional: "optional_type",
};

/** An exception from an extension function as a CEL error (a `kind` property on it is kept when valid). */
export function toCelError(e: unknown, fn: string): CelErr | CostExceeded {
  if (e instanceof CelErr || e instanceof CostExceeded) return e;
  const kind = (e as { kind?: unknown } | null)?.kind;
  const message = e instanceof Error ? e.message : String(e);
  return new CelErr(typeof kind === "string" && errorKinds.has(kind as CelErrorKind) ? (kind as CelErrorKind) : "other", `${fn}: ${message}`);
}

function accepts(types: readonly string[]): (args: readonly unknown[]) => boolean {
  const wanted = types.map((t) => typeAliases[t] ?? t);
  return (args) => {
    if (args.length !== wanted.length) return false;
    for (let i = 0; i < args.length; i++) {
      const w = wanted[i] as string;
      if (w === "dyn") continue;
      let actual: string;
      try {
        actual = typeOf(args[i]).name;
      } catch {
        return false;
      }
      if (actual !== w) return false;
    }
    return true;
  };
}

export function overloadFromDefinition(def: CelFunctionDefinition): Overload {
  const receiver = def.receiver === true;
  const impl = def.raw
    ? (...args: unknown[]) => {
      try {
        return def.impl(...args);
      } catch (e) {
        throw toCelError(e, def.name);
      }
    }
    : (...args: unknown[]) => {
      let result: unknown;
      try {
        result = def.impl(...args.map(toPlainArgument));
      } catch (e) {
        throw toCelError(e, def.name);
      }
      return fromPlainResult(result);
    };
  const base = { name: def.name, receiver, arity: def.arity, impl };
  return def.argTypes ? { ...base, accepts: accepts(def.argTypes) } : base;
}
