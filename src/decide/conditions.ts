/**
 * CEL conditions of the decide stage — adaptive enforcement rules (`enforcement.adaptive[].when`)
 * and exception scopes (`PolicyException.when`) — compiled once with the shared environment and
 * evaluated on the same activation as the policy (src/policy/activation.ts), including the
 * policy's own `variables` for native policies.
 */
import type { Context } from "../core/context.js";
import type { CompiledPolicy } from "../core/compiled-policy.js";
import { VigilError } from "../core/errors.js";
import type { PolicyMeta } from "../core/policy.js";
import { activationFor, withVariables, type Activation } from "../policy/activation.js";
import type { CelEnvironment, CelProgram } from "../policy/cel/api.js";
import { isNativePolicy } from "../policy/vigil/compile.js";

/** A policy as the decide and act stages receive it: compiled (variables available) or only its metadata. */
export type PolicyHandle = CompiledPolicy | PolicyMeta;

/** Lookup of a policy by name, e.g. `(name) => policySet.get(name)`. */
export type PolicyLookup = (name: string) => PolicyHandle | undefined;

export function metaOf(handle: PolicyHandle | undefined): PolicyMeta | undefined {
  if (handle === undefined) return undefined;
  return "meta" in handle ? handle.meta : handle;
}

/**
 * A failure carries `nonBoolean` when the condition evaluated but gave something other than a
 * boolean (that value), so a caller can say how to fix it.
 */
export type ConditionOutcome = { readonly ok: true; readonly value: boolean } | { readonly ok: false; readonly error: string; readonly nonBoolean?: { readonly value: unknown } };

/** A condition's non-boolean result as a reader sees it: `"web" (a string)`, `3 (a number)`, `a list`. */
export function describeResult(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} (a string)`;
  if (typeof value === "number" || typeof value === "bigint") return `${String(value)} (a number)`;
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a map" : `a ${typeof value}`;
}

/**
 * Compiles each distinct CEL source once and keeps the program (or the compile error).
 * INVARIANT: `evaluate` never throws; a compile or evaluation error, or a non-boolean result,
 * comes back as `{ ok: false }` with a message naming the origin.
 */
export interface ConditionCache {
  /** The program, or the compile error as a VigilError(VIGIL_POLICY_COMPILE). Cached either way. */
  compile(source: string, origin: string): CelProgram | VigilError;
  evaluate(source: string, origin: string, activation: Activation): ConditionOutcome;
  readonly size: number;
}

const MAX_CACHED = 10_000;

/** Cache key of a source that failed to compile, per origin (programs are keyed by source alone). */
function errorKey(origin: string, source: string): string {
  return `\u0000${origin}\u0000${source}`;
}

export function createConditionCache(env: CelEnvironment): ConditionCache {
  const programs = new Map<string, CelProgram | VigilError>();
  const cache: ConditionCache = {
    compile(source, origin) {
      // A compile error names its origin: the same broken source in another policy compiles (and is cached) under that one's name.
      const cached = programs.get(source) ?? programs.get(errorKey(origin, source));
      if (cached !== undefined) return cached;
      let result: CelProgram | VigilError;
      try {
        result = env.compile(source, { origin });
      } catch (error) {
        result = error instanceof VigilError ? error : new VigilError("VIGIL_POLICY_COMPILE", `CEL error in ${origin}: ${String(error)}`, { field: origin }, error);
      }
      if (programs.size >= MAX_CACHED) programs.clear();
      programs.set(result instanceof VigilError ? errorKey(origin, source) : source, result);
      return result;
    },
    evaluate(source, origin, activation) {
      const program = cache.compile(source, origin);
      if (program instanceof VigilError) return { ok: false, error: program.message };
      const outcome = program.evaluate(activation);
      if (!outcome.ok) return { ok: false, error: `${origin}: ${outcome.error.message}` };
      if (typeof outcome.value !== "boolean") {
        return { ok: false, error: `${origin} must be a boolean, got ${describeResult(outcome.value)}`, nonBoolean: { value: outcome.value } };
      }
      return { ok: true, value: outcome.value };
    },
    get size() {
      return programs.size;
    },
  };
  return cache;
}

/**
 * The values of a native policy's `spec.variables` for a context, in declaration order (a
 * variable sees the earlier ones). A variable that fails is left out, so an expression reading it
 * fails with "no such key" rather than a wrong value. Empty for other languages.
 */
export function policyVariables(policy: PolicyHandle | undefined, ctx: Context): Readonly<Record<string, unknown>> {
  if (policy === undefined || !("meta" in policy) || !isNativePolicy(policy)) return {};
  const variables = policy.plan.variables;
  if (variables.length === 0) return {};
  // A finding's adaptive rules, its exceptions and its actions ask for the same policy's variables
  // one after the other: the last result is kept (the values are a pure function of both).
  if (ctx === lastVariables.ctx && policy === lastVariables.policy) return lastVariables.values;
  const values: Record<string, unknown> = {};
  const activation = withVariables(activationFor(ctx), values);
  for (const variable of variables) {
    const outcome = variable.expr.program.evaluate(activation, { raw: true });
    if (outcome.ok) values[variable.name] = outcome.value;
  }
  lastVariables = { ctx, policy, values };
  return values;
}

let lastVariables: { readonly ctx: Context | undefined; readonly policy: PolicyHandle | undefined; readonly values: Readonly<Record<string, unknown>> } = { ctx: undefined, policy: undefined, values: {} };

/**
 * The activation a policy's own expressions see for a context: the shared activation plus the
 * policy's variables when a source reads `variables` (computed only then).
 */
export function activationForPolicy(policy: PolicyHandle | undefined, ctx: Context, sources: readonly string[]): Activation {
  const base = activationFor(ctx);
  if (!sources.some((s) => s.includes("variables"))) return base;
  return withVariables(base, policyVariables(policy, ctx));
}
