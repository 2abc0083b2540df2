/**
 * Macro expansion at parse time: the standard macros (has, all, exists, exists_one, map, filter),
 * the cel-go extensions (two-variable comprehensions, cel.bind, cel.block, optMap, optFlatMap,
 * sortBy). A call that does not have a macro's shape stays an ordinary call.
 */
import type { ComprehensionKind, Expr } from "./ast.js";
import { CelSyntaxError } from "./lexer.js";

interface IdSource {
  id(): number;
  /** End offset of the last consumed token (the macro call's closing parenthesis). */
  readonly lastEnd: number;
}

function varName(arg: Expr | undefined, macro: string): string {
  if (arg?.kind === "ident" && !arg.rooted) return arg.name;
  throw new CelSyntaxError(`${macro}: the loop variable must be a simple name`, arg?.start ?? 0);
}

function comprehension(
  p: IdSource, start: number, macro: ComprehensionKind, range: Expr, iterVar: string,
  iterVar2: string | undefined, predicate: Expr | undefined, transform: Expr | undefined,
): Expr {
  if (iterVar2 !== undefined && iterVar2 === iterVar) {
    throw new CelSyntaxError(`${macro}: the two loop variables must have different names`, start);
  }
  return { kind: "comprehension", id: p.id(), end: p.lastEnd, start, macro, range, iterVar, iterVar2, predicate, transform };
}

const oneVar: Record<string, ComprehensionKind> = { all: "all", exists: "exists", exists_one: "existsOne", existsOne: "existsOne" };

/** Returns the expanded macro, or undefined when `fn(args)` is not a macro call. */
export function expandMacro(p: IdSource, fn: string, target: Expr | undefined, args: Expr[], start: number): Expr | undefined {
  if (target === undefined) {
    if (fn === "has" && args.length === 1) {
      const arg = args[0] as Expr;
      if (arg.kind !== "select" || arg.test || arg.optional) throw new CelSyntaxError("has() needs a field selection such as has(object.field)", arg.start);
      return { ...arg, id: p.id(), end: p.lastEnd, test: true };
    }
    return undefined;
  }
  const isCel = target.kind === "ident" && !target.rooted && target.name === "cel";
  if (isCel) return expandCelNamespace(p, fn, args, start);
  const a0 = args[0];
  const a1 = args[1];
  const a2 = args[2];
  const a3 = args[3];
  const q = oneVar[fn];
  if (q !== undefined) {
    if (args.length === 2) return comprehension(p, start, q, target, varName(a0, fn), undefined, a1, undefined);
    if (args.length === 3) return comprehension(p, start, q, target, varName(a0, fn), varName(a1, fn), a2, undefined);
    return undefined;
  }
  switch (fn) {
    case "map":
      if (args.length === 2) return comprehension(p, start, "map", target, varName(a0, fn), undefined, undefined, a1);
      if (args.length === 3) return comprehension(p, start, "map", target, varName(a0, fn), undefined, a1, a2);
      return undefined;
    case "filter":
      if (args.length === 2) return comprehension(p, start, "filter", target, varName(a0, fn), undefined, a1, undefined);
      return undefined;
    case "transformList":
    case "transformMap":
    case "transformMapEntry":
      if (args.length === 3) return comprehension(p, start, fn, target, varName(a0, fn), varName(a1, fn), undefined, a2);
      if (args.length === 4) return comprehension(p, start, fn, target, varName(a0, fn), varName(a1, fn), a2, a3);
      return undefined;
    case "sortBy":
      if (args.length === 2) return comprehension(p, start, "sortBy", target, varName(a0, fn), undefined, undefined, a1);
      return undefined;
    case "optMap":
    case "optFlatMap":
      if (args.length === 2) {
        return { kind: "optMap", id: p.id(), end: p.lastEnd, start, flat: fn === "optFlatMap", target, varName: varName(a0, fn), body: a1 as Expr };
      }
      return undefined;
    default:
      return undefined;
  }
}

function intArg(arg: Expr | undefined, fn: string): bigint {
  if (arg?.kind === "literal" && arg.literal.type === "int" && arg.literal.value >= 0n) return arg.literal.value;
  throw new CelSyntaxError(`cel.${fn}: expected a non-negative int literal`, arg?.start ?? 0);
}

function expandCelNamespace(p: IdSource, fn: string, args: Expr[], start: number): Expr | undefined {
  switch (fn) {
    case "bind": {
      if (args.length !== 3) return undefined;
      return { kind: "bind", id: p.id(), end: p.lastEnd, start, name: varName(args[0], "cel.bind"), init: args[1] as Expr, body: args[2] as Expr };
    }
    case "index":
      if (args.length !== 1) return undefined;
      return { kind: "ident", id: p.id(), end: p.lastEnd, start, name: `@index${intArg(args[0], fn)}`, rooted: false };
    case "iterVar":
    case "accuVar":
      if (args.length !== 2) return undefined;
      return { kind: "ident", id: p.id(), end: p.lastEnd, start, name: `@${fn === "iterVar" ? "it" : "ac"}:${intArg(args[0], fn)}:${intArg(args[1], fn)}`, rooted: false };
    case "block": {
      if (args.length !== 2) return undefined;
      const slots = args[0] as Expr;
      if (slots.kind !== "list" || slots.optionalIndices.length > 0) throw new CelSyntaxError("cel.block: the first argument must be a list literal", slots.start);
      let body = args[1] as Expr;
      for (let i = slots.elements.length - 1; i >= 0; i--) {
        body = { kind: "bind", id: p.id(), end: p.lastEnd, start, name: `@index${i}`, init: slots.elements[i] as Expr, body };
      }
      return body;
    }
    default:
      return undefined;
  }
}
