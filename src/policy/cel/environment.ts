/**
 * PROVISIONAL implementation over @bufbuild/cel's interpreter, so the other stages can be
 * built against the API in api.ts. To be replaced by the compiling implementation.
 */
import { celEnv, celFunc, isCelError, parse, plan, CelScalar, type CelValue } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { VigilError } from "../../core/errors.js";
import {
  DEFAULT_COST_LIMIT,
  type CelActivation,
  type CelEnvironment,
  type CelEnvironmentOptions,
  type CelOutcome,
  type CelProgram,
} from "./api.js";

function toCelInput(value: unknown): unknown {
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCelInput);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const map = new Map<string, unknown>();
    for (const [k, v] of Object.entries(value)) map.set(k, toCelInput(v));
    return map;
  }
  return value;
}

/** Converts a CEL runtime value to JSON-safe JS. */
export function celToJson(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(celToJson);
  const v = value as { [Symbol.iterator]?: unknown; entries?: () => Iterable<[unknown, unknown]>; value?: unknown };
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, x]) => [String(celToJson(k)), celToJson(x)]));
  if (typeof v.entries === "function" && typeof (value as { get?: unknown }).get === "function") {
    return Object.fromEntries([...v.entries()].map(([k, x]) => [String(celToJson(k)), celToJson(x)]));
  }
  if (typeof v[Symbol.iterator] === "function") return [...(value as Iterable<unknown>)].map(celToJson);
  return String(value);
}

export function createCelEnvironment(options: CelEnvironmentOptions = {}): CelEnvironment {
  const funcs = (options.functions ?? []).map((f) =>
    celFunc(f.name, Array.from({ length: f.arity }, () => CelScalar.DYN) as never, CelScalar.DYN as never, ((...args: CelValue[]) =>
      toCelInput(f.impl(...args.map(celToJson)))) as never),
  );
  const env = celEnv({ funcs: [...strings, ...funcs] });
  const costLimit = options.costLimit ?? DEFAULT_COST_LIMIT;
  void costLimit;
  return {
    compile(source, compileOptions = {}) {
      let parsed;
      try {
        parsed = parse(source);
      } catch (cause) {
        throw new VigilError("VIGIL_POLICY_COMPILE", `CEL syntax error in ${compileOptions.origin ?? "expression"}: ${(cause as Error).message}`, { ...(compileOptions.origin ? { field: compileOptions.origin } : {}) }, cause);
      }
      const run = plan(env, parsed);
      const program: CelProgram = {
        source,
        references: [],
        requiredValues: [],
        evaluate(activation: CelActivation): CelOutcome {
          try {
            const input: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(activation)) input[k] = toCelInput(v);
            const result = run(input as never);
            if (isCelError(result)) return { ok: false, error: { kind: "other", message: result.message } };
            return { ok: true, value: celToJson(result) };
          } catch (cause) {
            return { ok: false, error: { kind: "other", message: (cause as Error).message } };
          }
        },
      };
      return program;
    },
    extend(more) {
      return createCelEnvironment({ ...options, functions: [...(options.functions ?? []), ...(more.functions ?? [])], ...(more.costLimit === undefined ? {} : { costLimit: more.costLimit }) });
    },
  };
}
