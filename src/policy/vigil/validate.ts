/**
 * A small hand-written validator for YAML documents: it collects every problem with its JSON path
 * so the loader can name file, policy, field and line/column, and rejects unknown fields with a
 * "did you mean" suggestion. (Hand-written rather than zod so each message names the fix.)
 */
import { isPlainObject } from "../activation.js";
import { closest } from "./suggest.js";

export type FieldPath = readonly (string | number)[];

export interface Issue {
  readonly path: FieldPath;
  readonly message: string;
  readonly hint?: string;
  /** The problem is the key itself (an unknown field): place it at the key, not at its value. */
  readonly atKey?: boolean;
}

/** `spec.rules[0].condition` */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out === "" ? "(document)" : out;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}

export class Validator {
  readonly issues: Issue[] = [];

  report(path: FieldPath, message: string, hint?: string, atKey = false): void {
    this.issues.push({ path, message, ...(hint === undefined ? {} : { hint }), ...(atKey ? { atKey } : {}) });
  }

  /** A map with only known fields; required ones must be present. Unknown fields get a suggestion. */
  object(value: unknown, path: FieldPath, known: readonly string[], required: readonly string[] = []): Record<string, unknown> | undefined {
    if (!isPlainObject(value)) {
      this.report(path, `must be a map, got ${describe(value)}`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const suggestion = closest(key, known);
      const fix = suggestion === undefined ? `known fields here: ${known.join(", ")}` : `did you mean "${suggestion}"?`;
      this.report([...path, key], `unknown field "${key}"; ${fix}`, fix, true);
    }
    for (const key of required) {
      if (value[key] === undefined || value[key] === null) this.report([...path, key], `is required`);
    }
    return value;
  }

  /** `pattern`: a RegExp, or any check with the same `test` (a shape a RegExp alone cannot check). */
  string(value: unknown, path: FieldPath, options: { pattern?: { test(text: string): boolean }; patternHint?: string; nonEmpty?: boolean } = {}): string | undefined {
    if (typeof value !== "string") {
      // YAML reads an unquoted true, 10 or 1.5 as a boolean or a number: quoting it is the fix.
      const fix = typeof value === "boolean" || typeof value === "number" ? `quote it (${JSON.stringify(String(value))}) so YAML reads it as text` : undefined;
      this.report(path, `must be a string, got ${describe(value)}${fix === undefined ? "" : `; ${fix}`}`, fix);
      return undefined;
    }
    if ((options.nonEmpty ?? true) && value.trim() === "") {
      this.report(path, "must not be empty");
      return undefined;
    }
    if (options.pattern !== undefined && !options.pattern.test(value)) {
      this.report(path, `${JSON.stringify(value)} is not valid${options.patternHint === undefined ? "" : `: ${options.patternHint}`}`);
      return undefined;
    }
    return value;
  }

  optionalString(value: unknown, path: FieldPath): string | undefined {
    return value === undefined || value === null ? undefined : this.string(value, path);
  }

  oneOf<T extends string>(value: unknown, path: FieldPath, allowed: readonly T[]): T | undefined {
    if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
    const suggestion = typeof value === "string" ? closest(value, allowed) : undefined;
    this.report(path, `must be one of ${allowed.join(", ")}, got ${describe(value)}${suggestion === undefined ? "" : `; did you mean "${suggestion}"?`}`);
    return undefined;
  }

  boolean(value: unknown, path: FieldPath): boolean | undefined {
    if (typeof value === "boolean") return value;
    this.report(path, `must be true or false, got ${describe(value)}`);
    return undefined;
  }

  number(value: unknown, path: FieldPath, min: number, max: number): number | undefined {
    if (typeof value === "number" && Number.isFinite(value) && value >= min && value <= max) return value;
    this.report(path, `must be a number between ${min} and ${max}, got ${describe(value)}`);
    return undefined;
  }

  /** A list; `null`/absent is accepted as empty when `optional`. */
  list(value: unknown, path: FieldPath): readonly unknown[] | undefined {
    if (Array.isArray(value)) return value;
    this.report(path, `must be a list, got ${describe(value)}`);
    return undefined;
  }

  stringList(value: unknown, path: FieldPath): string[] | undefined {
    const items = this.list(value, path);
    if (items === undefined) return undefined;
    const out: string[] = [];
    items.forEach((item, i) => {
      const s = this.string(item, [...path, i]);
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  stringMap(value: unknown, path: FieldPath): Record<string, string> | undefined {
    if (!isPlainObject(value)) {
      this.report(path, `must be a map of strings, got ${describe(value)}`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === "string") out[key] = item;
      else if (typeof item === "number" || typeof item === "boolean") out[key] = String(item);
      else this.report([...path, key], `must be a string, got ${describe(item)}`);
    }
    return out;
  }
}
