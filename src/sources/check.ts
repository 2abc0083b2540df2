import { problem, type FieldProblem } from "./results.js";
import { isRecord, isRfc3339, kindOf, normalizeTimestamp, type JsonRecord } from "./values.js";

/**
 * A tiny field checker for data-shape validators: each check records a problem naming the
 * full path (`data.from.region`) and the fix, and returns whether the value was good.
 */
export class ShapeChecker {
  constructor(
    private readonly prefix: string,
    readonly problems: FieldProblem[] = [],
  ) {}

  /** A checker for a nested object that records into the same problem list. */
  child(name: string): ShapeChecker {
    return new ShapeChecker(this.path(name), this.problems);
  }

  path(name: string): string {
    if (name === "") return this.prefix;
    return this.prefix === "" ? name : `${this.prefix}.${name}`;
  }

  add(name: string, message: string): false {
    this.problems.push(problem(this.path(name), message));
    return false;
  }

  /** The value must be an object; reports against the prefix itself. */
  object(value: unknown, example: string): value is JsonRecord {
    if (isRecord(value)) return true;
    const where = this.prefix === "" ? "the record" : `\`${this.prefix}\``;
    return this.add("", `${where} is ${kindOf(value)}, not an object: send ${example}`);
  }

  string(record: JsonRecord, name: string, fix: string, required = true): boolean {
    const value = record[name];
    if (value === undefined || value === null) {
      return required ? this.add(name, `\`${this.path(name)}\` is missing: ${fix}`) : true;
    }
    if (typeof value !== "string" || value.length === 0) {
      return this.add(name, `\`${this.path(name)}\` is ${kindOf(value)}, not a non-empty string: ${fix}`);
    }
    return true;
  }

  number(record: JsonRecord, name: string, fix: string, options: { required?: boolean; min?: number; integer?: boolean } = {}): boolean {
    const value = record[name];
    if (value === undefined || value === null) {
      return options.required === false ? true : this.add(name, `\`${this.path(name)}\` is missing: ${fix}`);
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      return this.add(name, `\`${this.path(name)}\` is ${kindOf(value)}${typeof value === "string" ? ` (${JSON.stringify(value)})` : ""}, not a number: ${fix}`);
    }
    if (options.integer === true && !Number.isInteger(value)) {
      return this.add(name, `\`${this.path(name)}\` is ${value}, not a whole number: ${fix}`);
    }
    if (options.min !== undefined && value < options.min) {
      return this.add(name, `\`${this.path(name)}\` is ${value}, below ${options.min}: ${fix}`);
    }
    return true;
  }

  oneOf(record: JsonRecord, name: string, allowed: readonly string[], required = true): boolean {
    const value = record[name];
    if (value === undefined || value === null) {
      return required ? this.add(name, `\`${this.path(name)}\` is missing: set one of ${allowed.join(", ")}`) : true;
    }
    if (typeof value !== "string" || !allowed.includes(value)) {
      return this.add(name, `\`${this.path(name)}\` is ${JSON.stringify(value)}: use one of ${allowed.join(", ")}`);
    }
    return true;
  }

  /** RFC 3339 timestamp (strict when `strict`, else any form normalizeTimestamp accepts). */
  timestamp(record: JsonRecord, name: string, required: boolean, strict = true): boolean {
    const value = record[name];
    if (value === undefined || value === null) {
      return required ? this.add(name, `\`${this.path(name)}\` is missing: set an RFC 3339 timestamp, e.g. "2024-05-01T12:00:00Z"`) : true;
    }
    const ok = strict ? typeof value === "string" && isRfc3339(value) : normalizeTimestamp(value) !== undefined;
    if (!ok) {
      return this.add(name, `\`${this.path(name)}\` is ${JSON.stringify(value)}, not an RFC 3339 timestamp: use e.g. "2024-05-01T12:00:00Z"`);
    }
    return true;
  }

  /** An optional map of string values (labels, tags). */
  stringMap(record: JsonRecord, name: string): boolean {
    const value = record[name];
    if (value === undefined || value === null) return true;
    if (!isRecord(value)) return this.add(name, `\`${this.path(name)}\` is ${kindOf(value)}, not an object of strings: send {"key": "value"}`);
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== "string") {
        return this.add(`${name}.${key}`, `\`${this.path(`${name}.${key}`)}\` is ${kindOf(item)}: ${name} values are strings; quote it`);
      }
    }
    return true;
  }

  optionalObject(record: JsonRecord, name: string): boolean {
    const value = record[name];
    if (value === undefined || value === null || isRecord(value)) return true;
    return this.add(name, `\`${this.path(name)}\` is ${kindOf(value)}, not an object`);
  }
}
