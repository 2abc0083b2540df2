/**
 * Compiles a parsed CEL expression into a JavaScript function (via `new Function`), specialised
 * by what is known statically: literal operands get inline comparisons, field selection on plain
 * objects is a property load, `in` over a literal list is a `===` chain or a Set lookup, `&&` /
 * `||` chains short-circuit with CEL's error-absorbing semantics. Everything else calls the
 * runtime helpers (runtime-helpers.ts), which implement the full semantics.
 */
import { qualifiedName, type Expr, type LiteralNode, type MapNode, type SelectNode, type StructNode } from "../parser/ast.js";
import { buildMap } from "../runtime/maps.js";
import { CelDouble, CelErr, CelUint, typeIdentifiers } from "../runtime/values.js";
import { compileCall } from "./calls.js";
import { CompileError, GenContext, isInheritedName, propertyAccess, type Compiled, type GenOptions } from "./context.js";
import { compileBind, compileComprehension, compileOptMap } from "./loops.js";
import { runtimeHelpers } from "./runtime-helpers.js";

export interface GeneratedProgram {
  /** Evaluates against an activation; throws CelErr / CostExceeded / anything a hostile input raises. */
  readonly run: (activation: Readonly<Record<string, unknown>>) => unknown;
  /** Cost of the straight-line part, charged once per evaluation. */
  readonly staticCost: number;
  /** The generated source, for debugging. */
  readonly source: string;
}

export function generate(expr: Expr, options: GenOptions): GeneratedProgram {
  const ctx = new GenContext(options);
  ctx.compileNode = compileNode;
  const result = ctx.expr(expr);
  const value = ctx.checked(result);
  const temps = ctx.tempNames();
  const reads = [...ctx.activationReads].map(([name, js]) =>
    isInheritedName(name) ? `const ${js} = R.own(act, ${JSON.stringify(name)});` : `const ${js} = act${propertyAccess(name)};`,
  );
  const body = [
    ...reads,
    temps.length > 0 ? `let ${temps.join(", ")};` : "",
    ...ctx.lines,
    `return ${value};`,
  ].join("\n");
  // Only the constants the body uses (an all-literal list is one constant, not one per item).
  const used = new Set<number>();
  for (const m of body.matchAll(/\bk(\d+)\b/g)) used.add(Number(m[1]));
  const consts = [...used].filter((i) => i < ctx.consts.length).sort((a, b) => a - b).map((i) => `k${i} = K[${i}]`);
  const source = [
    `"use strict";`,
    "const M = R.meter;",
    consts.length > 0 ? `const ${consts.join(", ")};` : "",
    `return function evaluate(act) {\n${body}\n};`,
  ].join("\n");
  return { run: factoryFor(source)(runtimeHelpers, ctx.consts), staticCost: ctx.staticCost, source };
}

type Factory = (r: typeof runtimeHelpers, k: unknown[]) => GeneratedProgram["run"];

/**
 * One factory per generated source. Literals live in the constants array (`ctx.literal`), so the
 * expressions of one shape — at 2000 policies, hundreds of conditions that differ only in a
 * project, department or number — get the same source and the same factory. The closures one
 * factory returns share V8's feedback and optimised code: a shape that is hot as a whole is
 * optimised even when each of its policies runs a few times per thousand requests (each with its
 * own function, they stayed in V8's baseline tiers). Bounded: past MAX_FACTORIES distinct
 * sources, new ones get a factory of their own.
 */
const factories = new Map<string, Factory>();
const MAX_FACTORIES = 20_000;

function factoryFor(source: string): Factory {
  let factory = factories.get(source);
  if (factory === undefined) {
    factory = new Function("R", "K", source) as Factory;
    if (factories.size < MAX_FACTORIES) factories.set(source, factory);
  }
  return factory;
}

function compileNode(ctx: GenContext, node: Expr): Compiled {
  switch (node.kind) {
    case "literal":
      return literal(ctx, node);
    case "ident":
      return ident(ctx, node.name, node.rooted);
    case "select":
      return select(ctx, node);
    case "index": {
      const operand = ctx.expr(node.operand);
      const index = ctx.expr(node.index);
      if (node.optional) return { code: `R.optIndex(${ctx.checked(operand)}, ${index.code})`, type: "optional", safe: false };
      return { code: `R.index(${ctx.checked(operand)}, ${index.code})`, type: "dyn", safe: false };
    }
    case "call":
      return compileCall(ctx, node);
    case "list":
      return list(ctx, node.elements, node.optionalIndices);
    case "map":
      return map(ctx, node);
    case "comprehension":
      return compileComprehension(ctx, node);
    case "bind":
      return compileBind(ctx, node);
    case "optMap":
      return compileOptMap(ctx, node);
    case "struct":
      if (ctx.options.objectConstruction === true && isKubernetesObjectType(node.typeName)) return map(ctx, structAsMap(node));
      throw new CompileError(`message construction '${node.typeName}{...}' needs protobuf message types, which this environment does not have`, node.start);
  }
}

/**
 * Literal runtime value → JS source: strings and numbers as literal slots (`ctx.literal`, so the
 * source depends on the expression's shape only), objects as hoisted constants.
 */
export function valueCode(ctx: GenContext, v: unknown): string {
  switch (typeof v) {
    case "number":
    case "string":
      return ctx.literal(v);
    case "bigint":
      return `(${v}n)`;
    case "boolean":
      return v ? "true" : "false";
    default:
      return v === null ? "null" : ctx.constant(v);
  }
}

/** The runtime value of a literal node. */
export function literalValue(node: LiteralNode): unknown {
  const lit = node.literal;
  switch (lit.type) {
    case "int":
      return lit.value >= -9007199254740991n && lit.value <= 9007199254740991n ? Number(lit.value) : lit.value;
    case "uint":
      return new CelUint(lit.value);
    case "double":
      return Number.isSafeInteger(lit.value) || Object.is(lit.value, -0) ? new CelDouble(lit.value) : lit.value;
    case "string":
    case "bytes":
    case "bool":
      return lit.value;
    case "null":
      return null;
  }
}

function literal(ctx: GenContext, node: LiteralNode): Compiled {
  const value = literalValue(node);
  const t = node.literal.type;
  return { code: valueCode(ctx, value), type: t, safe: true, ...constantOf(value) };
}

/** Marks a compiled value as a known constant (fast paths in calls.ts read it). */
function constantOf(value: unknown): { constant: { value: unknown } } {
  return { constant: { value } };
}

/** Identifier resolution: locals, then declared / activation variables (container-qualified), then type names. */
function ident(ctx: GenContext, name: string, rooted: boolean): Compiled {
  if (!rooted) {
    const local = ctx.lookupLocal(name);
    if (local) return local.mayHoldError ? { code: `R.chk(${local.js})`, type: "dyn", safe: false } : { code: local.js, type: "dyn", safe: true };
  }
  const candidates = candidateNames(ctx, name, rooted);
  const { declared } = ctx.options;
  const typeValue = typeIdentifiers.get(name);
  if (declared) {
    const hit = candidates.find((c) => declared.has(c));
    if (hit !== undefined) return { code: ctx.activation(hit), type: "dyn", safe: false, unchecked: hit };
    if (typeValue) return { code: ctx.constant(typeValue), type: "type", safe: true };
    return { code: `R.undeclared(${JSON.stringify(name)})`, type: "dyn", safe: false };
  }
  if (candidates.length > 1) {
    return { code: `R.resolveQualified(act, ${JSON.stringify(candidates.map((c) => [c]))}, ${typeValue ? ctx.constant(typeValue) : "undefined"}, ${JSON.stringify(name)})`, type: "dyn", safe: false };
  }
  const js = ctx.activation(name);
  if (typeValue) return { code: `(${js} !== undefined ? ${js} : ${ctx.constant(typeValue)})`, type: "dyn", safe: false };
  return { code: js, type: "dyn", safe: false, unchecked: name };
}

function candidateNames(ctx: GenContext, name: string, rooted: boolean): string[] {
  if (rooted || ctx.options.container === "") return [name];
  const parts = ctx.options.container.split(".");
  const out: string[] = [];
  for (let i = parts.length; i > 0; i--) out.push(`${parts.slice(0, i).join(".")}.${name}`);
  out.push(name);
  return out;
}

/**
 * A select chain rooted at a non-local identifier (`a.b.c`) may name a qualified variable
 * (`a.b`) or a type (`google.protobuf.Timestamp`). Returns the compiled chain when it resolves
 * that way, else undefined (plain field selection applies).
 */
function qualifiedChain(ctx: GenContext, node: SelectNode): Compiled | undefined {
  const q = qualifiedName(node);
  if (q === undefined) return undefined;
  const rooted = q.startsWith(".");
  const parts = (rooted ? q.slice(1) : q).split(".");
  const root = parts[0] as string;
  if (!rooted && ctx.lookupLocal(root)) return undefined;
  const typeValue = typeIdentifiers.get(parts.join("."));
  const { declared } = ctx.options;
  if (declared) {
    for (let n = parts.length; n >= 1; n--) {
      const head = parts.slice(0, n).join(".");
      const hit = candidateNames(ctx, head, rooted).find((c) => declared.has(c));
      if (hit === undefined) continue;
      if (n === 1) return undefined;
      let c: Compiled = { code: ctx.activation(hit), type: "dyn", safe: false, unchecked: hit };
      for (const field of parts.slice(n)) c = selectField(ctx, c, field);
      return c;
    }
    if (typeValue) return { code: ctx.constant(typeValue), type: "type", safe: true };
    return undefined;
  }
  if (ctx.options.container !== "" || rooted || typeValue) {
    const candidates: string[][] = [];
    for (let n = parts.length; n >= 1; n--) {
      for (const c of candidateNames(ctx, parts.slice(0, n).join("."), rooted)) candidates.push([c, ...parts.slice(n)]);
    }
    return { code: `R.resolveQualified(act, ${JSON.stringify(candidates)}, ${typeValue ? ctx.constant(typeValue) : "undefined"})`, type: "dyn", safe: false };
  }
  // Open mode: the root variable wins; dotted activation keys are tried only when it is absent.
  const rootJs = ctx.activation(root);
  let chain: Compiled = { code: rootJs, type: "dyn", safe: false };
  for (const field of parts.slice(1)) chain = selectField(ctx, chain, field);
  const candidates: string[][] = [];
  for (let n = parts.length; n >= 2; n--) candidates.push([parts.slice(0, n).join("."), ...parts.slice(n)]);
  return { code: `(${rootJs} !== undefined ? ${chain.code} : R.resolveQualified(act, ${JSON.stringify(candidates)}, undefined, ${JSON.stringify(root)}))`, type: "dyn", safe: false };
}

function select(ctx: GenContext, node: SelectNode): Compiled {
  if (!node.test && !node.optional) {
    const chain = qualifiedChain(ctx, node);
    if (chain) return chain;
  }
  const operand = ctx.expr(node.operand);
  if (node.optional) return { code: `R.optSelect(${ctx.checked(operand)}, ${JSON.stringify(node.field)})`, type: "optional", safe: false };
  if (node.test) {
    const o = ctx.checked(operand);
    if (isInheritedName(node.field)) return { code: `R.hasField(${o}, ${JSON.stringify(node.field)})`, type: "bool", safe: false };
    const t = ctx.temp();
    return {
      code: `((${t} = ${o})?.constructor === Object ? ${t}${propertyAccess(node.field)} !== undefined : R.hasField(${t}, ${JSON.stringify(node.field)}))`,
      type: "bool",
      safe: false,
    };
  }
  return selectField(ctx, operand, node.field);
}

/** `operand.field` with the plain-object fast path. */
export function selectField(ctx: GenContext, operand: Compiled, field: string): Compiled {
  const f = JSON.stringify(field);
  if (isInheritedName(field)) return { code: `R.select(${ctx.checked(operand)}, ${f})`, type: "dyn", safe: false };
  const o = ctx.temp();
  const v = ctx.temp();
  const slow = operand.unchecked !== undefined
    ? `(${o} === undefined ? R.undeclared(${JSON.stringify(operand.unchecked)}) : R.select(${o}, ${f}))`
    : `R.select(${o}, ${f})`;
  return {
    code: `((${o} = ${operand.code})?.constructor === Object && (${v} = ${o}${propertyAccess(field)}) !== undefined ? ${v} : ${slow})`,
    type: "dyn",
    safe: false,
  };
}

function list(ctx: GenContext, elements: readonly Expr[], optionalIndices: readonly number[]): Compiled {
  const items = elements.map((e) => ctx.expr(e));
  const constants = items.map((c) => c.constant);
  if (optionalIndices.length === 0 && constants.every((c) => c !== undefined)) {
    const value = Object.freeze(constants.map((c) => c!.value));
    return { code: ctx.constant(value), type: "list", safe: true, ...constantOf(value) };
  }
  const codes = items.map((c) => ctx.checked(c));
  if (optionalIndices.length > 0) {
    return { code: `R.optionalList([${codes.join(", ")}], ${ctx.constant(Object.freeze([...optionalIndices]))})`, type: "list", safe: false };
  }
  return { code: `[${codes.join(", ")}]`, type: "list", safe: items.every((c) => c.safe) };
}

function map(ctx: GenContext, node: MapNode): Compiled {
  const keys = node.entries.map((e) => ctx.expr(e.key));
  const values = node.entries.map((e) => ctx.expr(e.value));
  const constKeys = keys.map((c) => c.constant);
  const constValues = values.map((c) => c.constant);
  const anyOptional = node.entries.some((e) => e.optional);
  if (!anyOptional && constKeys.every((k) => k !== undefined) && constValues.every((v) => v !== undefined)) {
    try {
      const value = buildMap(node.entries.map((_, i) => [constKeys[i]?.value, constValues[i]?.value] as const));
      return { code: ctx.constant(value), type: "map", safe: true, ...constantOf(value) };
    } catch (e) {
      if (!(e instanceof CelErr)) throw e;
      // a repeated key: report it at evaluation time, as the spec does
    }
  }
  const pairs = node.entries.map((e, i) => `[${ctx.checked(keys[i] as Compiled)}, ${ctx.checked(values[i] as Compiled)}, ${e.optional}]`);
  return { code: `R.mapLiteral([${pairs.join(", ")}])`, type: "map", safe: false };
}

/** The Kubernetes CEL object types of apply configurations and JSON patches (`Object`, `Object.spec.containers`, `JSONPatch`). */
function isKubernetesObjectType(typeName: string): boolean {
  return typeName === "Object" || typeName === "JSONPatch" || typeName.startsWith("Object.");
}

/**
 * `T{a: x, ?b: y}` as the map literal `{"a": x, ?"b": y}`: schemaless construction (no field
 * checking). A field named twice is a compile error, as in cel-go's checker.
 */
function structAsMap(node: StructNode): MapNode {
  const seen = new Set<string>();
  for (const f of node.fields) {
    if (seen.has(f.name)) throw new CompileError(`field '${f.name}' is set twice in '${node.typeName}{...}'`, node.start);
    seen.add(f.name);
  }
  return {
    kind: "map",
    id: node.id,
    start: node.start,
    end: node.end,
    entries: node.fields.map((f) => ({
      key: { kind: "literal", id: node.id, start: f.value.start, end: f.value.start, literal: { type: "string", value: f.name } },
      value: f.value,
      optional: f.optional,
    })),
  };
}
