/**
 * The CEL activation every policy language shares: built ONCE per Context (see activationFor)
 * and handed to every policy evaluated for that context.
 *
 * Variables (documented in docs/policies.md):
 * - `input`: `ctx.input` (for events, `event.data`; for decide requests, the request input).
 * - each top-level key of `ctx.input` when `ctx.input` is a plain object (`principal`, `resource`,
 *   `action`, `request`, `object`, `requestParameters`...), except the reserved names below.
 * - `event`: the CloudEvent envelope (`id`, `source`, `type`, `subject`, `time`, `data`...).
 * - `context`: the fields of `ctx.input.context` (when it is an object) overlaid by Vigil's own
 *   context: `posture`, `signals`, `entities`, `history`, `features`, and `dependencies` when the
 *   context carries a supply-chain summary, `residency` when it carries a residency check. Vigil's
 *   keys always win, so a request cannot spoof its posture, signals, history, dependency or
 *   residency findings.
 * - `now`: the evaluation time (`ctx.now`) as a CEL timestamp (a JS Date at the boundary).
 * - `variables`: a policy's own `spec.variables`; empty here, each policy supplies its own.
 */
import type { Context, EntityHistory } from "../core/context.js";

/** Names an input key can never take: Vigil's own roots, and CEL type names. */
export const reservedActivationNames: ReadonlySet<string> = new Set([
  "input", "event", "context", "now", "variables",
  "int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type", "dyn",
]);

export type Activation = Readonly<Record<string, unknown>> & {
  readonly input: unknown;
  readonly event: unknown;
  readonly context: Readonly<Record<string, unknown>>;
  readonly now: Date;
  readonly variables: Readonly<Record<string, unknown>>;
};

const emptyVariables: Readonly<Record<string, unknown>> = Object.freeze({});
const emptyHistory: EntityHistory = Object.freeze({ violations30d: 0, recent: Object.freeze([]) });
const emptyRecord: Readonly<Record<string, unknown>> = Object.freeze({});

/** True for `{...}` objects (not arrays, Dates, Maps, class instances). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Vigil's optional context parts, in this order: in `context` only when the Context carries them. Add new ones here. */
const optionalContextParts = ["dependencies", "residency"] as const satisfies readonly (keyof Context)[];

/** The bit order shapedBuilder reads the parts in; a compile error here when the list changes. */
const partsOrder: readonly ["dependencies", "residency"] = optionalContextParts;
void partsOrder;

const vigilContextKeys: ReadonlySet<string> = new Set(["posture", "signals", "entities", "history", "features", ...optionalContextParts]);

/**
 * Builds the activation for a context. Pure: the same context always gives an equal activation;
 * values are shared with the context, never copied deeply. Prefer `activationFor`, which caches.
 */
export function buildActivation(ctx: Context): Activation {
  const input = ctx.input;
  const plain = isPlainObject(input);
  const requestContext = plain ? input["context"] : undefined;
  const now = parseNow(ctx.now);
  if (plain) {
    const fast = shapedBuilder(ctx, input, isPlainObject(requestContext) ? requestContext : undefined);
    if (fast !== undefined) return fast(ctx, input, requestContext, now, emptyVariables, emptyRecord, emptyHistory);
  }
  return buildActivationByKeys(ctx, now);
}

/** The activation built key by key: the reference for the shaped builders (tests compare both). */
export function buildActivationByKeys(ctx: Context, now: Date = parseNow(ctx.now)): Activation {
  const input = ctx.input;
  const plain = isPlainObject(input);
  const requestContext = plain ? input["context"] : undefined;
  // Vigil's own keys first, request keys after (skipping Vigil's): same result as "Vigil's keys
  // win", and several times faster than spreading the request context and overwriting.
  const context: Record<string, unknown> = {
    posture: ctx.posture,
    signals: ctx.signals ?? emptyRecord,
    entities: ctx.entities ?? emptyRecord,
    history: ctx.history ?? emptyHistory,
    features: ctx.features ?? emptyRecord,
  };
  for (const part of optionalContextParts) {
    if (ctx[part] !== undefined) context[part] = ctx[part];
  }
  if (isPlainObject(requestContext)) {
    for (const key in requestContext) {
      if (Object.prototype.hasOwnProperty.call(requestContext, key) && !vigilContextKeys.has(key)) context[key] = requestContext[key];
    }
  }
  const activation: Record<string, unknown> = { input, event: ctx.event, context, now, variables: emptyVariables };
  if (plain) {
    for (const key in input) {
      if (Object.prototype.hasOwnProperty.call(input, key) && !reservedActivationNames.has(key)) activation[key] = input[key];
    }
  }
  return activation as Activation;
}

/**
 * Per input shape (the input's own keys, the request context's own keys, which optional context
 * parts are present), a generated builder that writes the same activation as one object literal
 * with constant keys: copying keys one by one through computed names was the largest cost of
 * evaluating a few policies. Streams mostly repeat a few shapes; after MAX_SHAPES distinct ones,
 * new shapes take the generic path. A shape with a `__proto__` key always does.
 */
type ShapeBuilder = (ctx: Context, input: unknown, requestContext: unknown, now: Date, variables: unknown, empty: unknown, emptyHistory: unknown) => Activation;

interface Shape {
  readonly inputKeys: readonly string[];
  /** Own keys of a plain request context; undefined when there is none. */
  readonly contextKeys: readonly string[] | undefined;
  /** Bit i: optionalContextParts[i] is present. */
  readonly parts: number;
  readonly build: ShapeBuilder | undefined;
}

const MAX_SHAPES = 64;
const shapes = new Map<string, Shape>();
let lastShape: Shape | undefined;

function sameKeys(keys: readonly string[], actual: readonly string[]): boolean {
  if (keys.length !== actual.length) return false;
  for (let i = 0; i < keys.length; i++) if (keys[i] !== actual[i]) return false;
  return true;
}

function shapedBuilder(ctx: Context, input: Record<string, unknown>, requestContext: Record<string, unknown> | undefined): ShapeBuilder | undefined {
  let parts = 0;
  // Named reads: a loop over the part names reads `ctx[name]` with a varying key, which V8 cannot
  // cache (a fifth of this function's time). partsOrder fails to compile when a part is added.
  if (ctx.dependencies !== undefined) parts |= 1;
  if (ctx.residency !== undefined) parts |= 2;
  const inputKeys = Object.keys(input);
  const contextKeys = requestContext === undefined ? undefined : Object.keys(requestContext);
  const last = lastShape;
  if (last !== undefined && last.parts === parts && sameKeys(last.inputKeys, inputKeys)
    && (contextKeys === undefined ? last.contextKeys === undefined : last.contextKeys !== undefined && sameKeys(last.contextKeys, contextKeys))) {
    return last.build;
  }
  const signature = `${parts}\u0001${inputKeys.join("\u0000")}\u0001${contextKeys === undefined ? "\u0002" : contextKeys.join("\u0000")}`;
  let shape = shapes.get(signature);
  if (shape === undefined) {
    if (shapes.size >= MAX_SHAPES) return undefined;
    shape = { inputKeys, contextKeys, parts, build: compileShape(inputKeys, contextKeys, parts) };
    shapes.set(signature, shape);
  }
  lastShape = shape;
  return shape.build;
}

/** The builder of one shape: key names enter the code only as JSON string literals. */
function compileShape(inputKeys: readonly string[], contextKeys: readonly string[] | undefined, parts: number): ShapeBuilder | undefined {
  if (inputKeys.includes("__proto__") || contextKeys?.includes("__proto__") === true) return undefined;
  const key = (name: string): string => JSON.stringify(name);
  const context = [
    "posture: ctx.posture", "signals: ctx.signals ?? empty", "entities: ctx.entities ?? empty", "history: ctx.history ?? emptyHistory", "features: ctx.features ?? empty",
    ...optionalContextParts.filter((_, i) => (parts & (1 << i)) !== 0).map((part) => `${key(part)}: ctx[${key(part)}]`),
    ...(contextKeys ?? []).filter((k) => !vigilContextKeys.has(k)).map((k) => `${key(k)}: requestContext[${key(k)}]`),
  ];
  const activation = [
    "input", "event: ctx.event", `context: {${context.join(", ")}}`, "now", "variables",
    ...inputKeys.filter((k) => !reservedActivationNames.has(k)).map((k) => `${key(k)}: input[${key(k)}]`),
  ];
  return new Function("ctx", "input", "requestContext", "now", "variables", "empty", "emptyHistory", `"use strict"; return {${activation.join(", ")}};`) as ShapeBuilder;
}

let lastNow = "";
let lastDate = new Date(0);

/** Parses `ctx.now`; consecutive contexts usually share it (replay, batches), so the last one is kept. */
function parseNow(now: string): Date {
  if (now === lastNow) return lastDate;
  const date = new Date(now);
  lastNow = now;
  lastDate = Number.isNaN(date.getTime()) ? new Date(0) : date;
  return lastDate;
}

/**
 * The activation of a context, built on first use and reused while the same context is
 * evaluated (a PolicySet evaluates all its policies for one context in a row). One entry is
 * kept: cheaper than a WeakMap on the hot path, and an activation is pure, so rebuilding one for
 * an older context gives an equal result.
 */
export function activationFor(ctx: Context): Activation {
  if (ctx === lastContext && lastActivation !== undefined) return lastActivation;
  const activation = buildActivation(ctx);
  lastContext = ctx;
  lastActivation = activation;
  return activation;
}

let lastContext: Context | undefined;
let lastActivation: Activation | undefined;

/** The same activation with a policy's own `variables` object (a shallow copy; the base is untouched). */
export function withVariables(activation: Activation, variables: Readonly<Record<string, unknown>>): Activation {
  return { ...activation, variables } as Activation;
}

/**
 * Reads a dotted path (`resource.kind`, `input.action`) from an activation as CEL selects it;
 * `undefined` when any step is missing or is no map. As in CEL (docs/cel.md, "Variables"), a
 * root variable wins, and only when it is absent is a dotted activation key tried, longest first
 * (`a.b.c` reads `act["a.b"].c` when there is no `act.a`). INVARIANT: a value read here is the
 * value CEL reads for the same path (the index relies on it to skip a `match` it has checked).
 */
export function readPath(root: Readonly<Record<string, unknown>>, segments: readonly string[]): unknown {
  if (segments.length === 0) return root;
  const head = ownValue(root, segments[0] as string);
  if (head !== undefined || segments.length === 1) return readFields(head, segments, 1);
  for (let n = segments.length; n >= 2; n--) {
    const value = ownValue(root, segments.slice(0, n).join("."));
    if (value !== undefined) return readFields(value, segments, n);
  }
  return undefined;
}

function ownValue(object: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

function readFields(start: unknown, segments: readonly string[], from: number): unknown {
  let current: unknown = start;
  for (let i = from; i < segments.length; i++) {
    // Lists have no fields in CEL (`tags.length` is an error), so their own `length` is not read.
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    const segment = segments[i] as string;
    // Own property first: activations are plain objects, and `instanceof` walks the prototype chain.
    if (Object.prototype.hasOwnProperty.call(current, segment)) current = (current as Record<string, unknown>)[segment];
    else if (current instanceof Map) current = current.get(segment);
    else return undefined;
  }
  return current;
}
