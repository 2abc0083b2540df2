import { VigilError } from "../../core/index.js";
import type { ActionKindSpec, ParamSpec } from "./types.js";

type Params = Readonly<Record<string, unknown>>;

function bad(spec: ActionKindSpec, name: string, message: string, hint?: string): VigilError {
  return new VigilError("VIGIL_BAD_INPUT", `${spec.kind}: params.${name} ${message}`, {
    field: `params.${name}`,
    ...(hint === undefined ? {} : { hint }),
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkOne(spec: ActionKindSpec, param: ParamSpec, value: unknown): void {
  const name = param.name;
  switch (param.type) {
    case "string": {
      if (typeof value !== "string" || value.length === 0) throw bad(spec, name, `must be a non-empty string (${param.description})`);
      if (param.enum && !param.enum.includes(value)) throw bad(spec, name, `must be one of ${param.enum.join(", ")}; got "${value}"`);
      if (param.pattern && !param.pattern.test(value)) throw bad(spec, name, `"${value}" does not match ${String(param.pattern)} (${param.description})`);
      return;
    }
    case "integer": {
      if (typeof value !== "number" || !Number.isInteger(value)) throw bad(spec, name, `must be an integer (${param.description})`);
      if (param.min !== undefined && value < param.min) throw bad(spec, name, `must be at least ${param.min}; got ${value}`);
      if (param.max !== undefined && value > param.max) throw bad(spec, name, `must be at most ${param.max}; got ${value}`);
      return;
    }
    case "boolean":
      if (typeof value !== "boolean") throw bad(spec, name, "must be true or false");
      return;
    case "object":
      if (!isPlainObject(value)) throw bad(spec, name, `must be a JSON object (${param.description})`);
      return;
    case "array":
      if (!Array.isArray(value)) throw bad(spec, name, `must be an array (${param.description})`);
      return;
    case "string[]": {
      if (!Array.isArray(value) || value.length === 0) throw bad(spec, name, `must be a non-empty array of strings (${param.description})`);
      value.forEach((item, index) => {
        if (typeof item !== "string" || item.length === 0) throw bad(spec, `${name}[${index}]`, "must be a non-empty string");
        if (param.pattern && !param.pattern.test(item)) throw bad(spec, `${name}[${index}]`, `"${item}" does not match ${String(param.pattern)}`);
      });
      return;
    }
    case "string-map": {
      if (!isPlainObject(value) || Object.keys(value).length === 0) {
        throw bad(spec, name, `must be a non-empty object of string values (${param.description})`);
      }
      for (const [key, item] of Object.entries(value)) {
        if (typeof item === "string") continue;
        if (item === null && param.nullableValues) continue;
        throw bad(spec, `${name}.${key}`, param.nullableValues ? "must be a string, or null to remove the key" : "must be a string");
      }
      return;
    }
  }
}

/**
 * Checks `params` against the kind's param specs: required params present, types, enums,
 * patterns, bounds, and no unknown names (a typo would otherwise be ignored silently).
 * Throws VigilError(VIGIL_BAD_INPUT) whose `details.field` is `params.<name>`.
 */
export function validateParams(spec: ActionKindSpec, params: Params): void {
  if (!isPlainObject(params)) {
    throw new VigilError("VIGIL_BAD_INPUT", `${spec.kind}: params must be an object`, { field: "params" });
  }
  const known = new Set(spec.params.map((param) => param.name));
  for (const name of Object.keys(params)) {
    if (!known.has(name)) {
      throw bad(spec, name, `is not a parameter of ${spec.kind}`, `known params: ${[...known].join(", ") || "(none)"}`);
    }
  }
  for (const param of spec.params) {
    const value = params[param.name];
    if (value === undefined) {
      if (param.required) throw bad(spec, param.name, `is required (${param.description})`);
      continue;
    }
    checkOne(spec, param, value);
  }
}

/** Typed reads of params that `validateParams` has already checked. */
export const read = {
  string(params: Params, name: string): string {
    return params[name] as string;
  },
  optionalString(params: Params, name: string): string | undefined {
    const value = params[name];
    return typeof value === "string" ? value : undefined;
  },
  optionalInteger(params: Params, name: string): number | undefined {
    const value = params[name];
    return typeof value === "number" ? value : undefined;
  },
  boolean(params: Params, name: string, fallback: boolean): boolean {
    const value = params[name];
    return typeof value === "boolean" ? value : fallback;
  },
  strings(params: Params, name: string): string[] {
    return [...(params[name] as readonly string[])];
  },
  stringMap(params: Params, name: string): Record<string, string | null> {
    return { ...(params[name] as Record<string, string | null>) };
  },
  optionalObject(params: Params, name: string): Record<string, unknown> | undefined {
    const value = params[name];
    return isPlainObject(value) ? value : undefined;
  },
};
