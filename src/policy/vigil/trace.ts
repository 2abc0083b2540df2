/**
 * Trace steps for native findings. Built only for findings that are returned (violations and
 * errors on the hot path; passes and skips in explain mode), never for the common "nothing to
 * report" case.
 */
import type { TraceStep } from "../../core/finding.js";
import type { CelActivation, CelOutcome, CelProgram } from "../cel/api.js";
import { isPlainObject, readPath } from "../activation.js";
import { CelMap, CelOptional, CelUint, celToJson } from "../cel/index.js";

const MAX_STRING = 200;
const MAX_ITEMS = 20;
const MAX_DEPTH = 4;

/**
 * A JSON-safe, bounded copy of a value for traces (long strings and big lists are truncated).
 * CEL runtime values (raw variables: timestamps, durations, big ints, maps with non-string keys,
 * optionals) are walked as they are, and only the parts shown are converted: a variable may hold
 * a value far larger than its cost (shared sub-lists), which converting whole would not bound.
 */
export function traceValue(value: unknown): unknown {
  return bounded(value, 0);
}

function bounded(value: unknown, depth: number): unknown {
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === "string") return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}...(${value.length} chars)` : value;
  if (value === undefined) return null;
  if (typeof value !== "object") return String(value);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof CelOptional) return value.has ? bounded(value.v, depth) : null;
  const isList = Array.isArray(value);
  const isMap = value instanceof CelMap || value instanceof Map || isPlainObject(value);
  // Scalars of the runtime (CelDouble, CelUint, bytes, timestamps, durations, types, ip, quantity...).
  if (!isList && !isMap) return bounded(celToJson(value), depth);
  if (depth >= MAX_DEPTH) return isList ? `<list of ${value.length}>` : "<map>";
  if (isList) {
    const items = value.slice(0, MAX_ITEMS).map((item) => bounded(item, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`...(${value.length - MAX_ITEMS} more)`);
    return items;
  }
  const entries = value instanceof CelMap ? value.entries.values() : value instanceof Map ? value.entries() : Object.entries(value).values();
  const size = value instanceof CelMap ? value.entries.size : value instanceof Map ? value.size : Object.keys(value).length;
  const out: Record<string, unknown> = {};
  let count = 0;
  for (const [key, item] of entries) {
    if (count++ >= MAX_ITEMS) { out["..."] = `${size - MAX_ITEMS} more keys`; break; }
    const text = mapKeyText(key);
    // `__proto__` as data: an own property, not the prototype (plain assignment for the rest: faster).
    if (text === "__proto__") Object.defineProperty(out, text, { value: bounded(item, depth + 1), enumerable: true, writable: true, configurable: true });
    else out[text] = bounded(item, depth + 1);
  }
  return out;
}

/** A map key as celToJson writes it (a uint key without its `u`). */
function mapKeyText(key: unknown): string {
  return key instanceof CelUint ? String(key.v) : String(key);
}

const segmentCache = new WeakMap<CelProgram, readonly (readonly string[])[]>();

function segmentsOf(program: CelProgram): readonly (readonly string[])[] {
  let segments = segmentCache.get(program);
  if (segments === undefined) {
    segments = program.references.map((reference) => reference.split("."));
    segmentCache.set(program, segments);
  }
  return segments;
}

/**
 * Values of the attribute paths an expression references (missing paths are left out, and so
 * are failed policy variables: reading one raises its error, which the trace shows elsewhere).
 */
export function referenceInputs(program: CelProgram, activation: CelActivation): Record<string, unknown> | undefined {
  const references = program.references;
  if (references.length === 0) return undefined;
  const segments = segmentsOf(program);
  let inputs: Record<string, unknown> | undefined;
  for (let i = 0; i < references.length; i++) {
    const reference = references[i] as string;
    let value: unknown;
    try {
      const read = readPath(activation, segments[i] as readonly string[]);
      if (read === undefined) continue;
      value = traceValue(read);
    } catch {
      continue;
    }
    (inputs ??= {})[reference] = value;
  }
  return inputs;
}

/** One step for an expression and its outcome, with its top-level terms as children when asked. */
export function expressionStep(
  kind: TraceStep["kind"],
  program: CelProgram,
  outcome: CelOutcome,
  activation: CelActivation,
  withTerms: boolean,
): TraceStep {
  const inputs = referenceInputs(program, activation);
  const children = withTerms ? termSteps(program, activation) : undefined;
  return {
    kind,
    expr: program.source,
    ...(outcome.ok ? { value: traceValue(outcome.value) } : { error: outcome.error.message }),
    ...(inputs === undefined ? {} : { inputs }),
    ...(children === undefined ? {} : { children }),
  };
}

/** Each top-level conjunct/disjunct evaluated on its own, so a trace says which one decided. */
export function termSteps(program: CelProgram, activation: CelActivation): TraceStep[] | undefined {
  const terms = program.terms;
  if (terms === undefined || terms.parts.length < 2) return undefined;
  const kind = terms.operator === "&&" ? "conjunct" : "disjunct";
  return terms.parts.map((part) => expressionStep(kind, part, part.evaluate(activation), activation, false));
}
