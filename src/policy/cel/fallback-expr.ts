/**
 * Converts Vigil's syntax tree to the cel.expr.Expr shape @bufbuild/cel's planner executes, so the
 * protobuf interpreter runs exactly the expression Vigil parsed (one parser for both engines).
 * Macros become the standard cel-go comprehensions. Proto2 extension fields
 * (msg.`pkg.ext`, proto.getExt, proto.hasExt) become calls to functions fallback.ts provides.
 */
import type { Expr, LiteralNode } from "./parser/ast.js";
import { qualifiedName } from "./parser/ast.js";
import { CompileError } from "./compiler/context.js";

/** Names of the extension-field helpers registered in the interpreter's environment. */
export const EXT_GET = "@vigil_ext_get";
export const EXT_HAS = "@vigil_ext_has";

type PlainExpr = { $typeName: "cel.expr.Expr"; id: bigint; exprKind: { case: string; value: unknown } };

let syntheticId = 1_000_000n;

function node(id: number | bigint, kind: string, value: Record<string, unknown>, typeName: string): PlainExpr {
  return { $typeName: "cel.expr.Expr", id: BigInt(id), exprKind: { case: kind, value: { $typeName: typeName, ...value } } };
}

function call(fn: string, args: PlainExpr[], target?: PlainExpr): PlainExpr {
  return node(syntheticId++, "callExpr", { function: fn, args, ...(target ? { target } : {}) }, "cel.expr.Expr.Call");
}

function ident(name: string): PlainExpr {
  return node(syntheticId++, "identExpr", { name }, "cel.expr.Expr.Ident");
}

function constant(kind: string, value: unknown, id: number | bigint = syntheticId++): PlainExpr {
  return node(id, "constExpr", { constantKind: { case: kind, value } }, "cel.expr.Constant");
}

function list(elements: PlainExpr[], optionalIndices: number[] = []): PlainExpr {
  return node(syntheticId++, "listExpr", { elements, optionalIndices }, "cel.expr.Expr.CreateList");
}

function literal(n: LiteralNode): PlainExpr {
  const lit = n.literal;
  switch (lit.type) {
    case "int":
      return constant("int64Value", lit.value, n.id);
    case "uint":
      return constant("uint64Value", lit.value, n.id);
    case "double":
      return constant("doubleValue", lit.value, n.id);
    case "string":
      return constant("stringValue", lit.value, n.id);
    case "bytes":
      return constant("bytesValue", lit.value, n.id);
    case "bool":
      return constant("boolValue", lit.value, n.id);
    case "null":
      return constant("nullValue", 0, n.id);
  }
}

function fold(id: number, iterVar: string, range: PlainExpr, accuVar: string, init: PlainExpr, cond: PlainExpr, step: PlainExpr, result: PlainExpr): PlainExpr {
  return node(id, "comprehensionExpr", {
    iterVar, iterVar2: "", iterRange: range, accuVar, accuInit: init, loopCondition: cond, loopStep: step, result,
  }, "cel.expr.Expr.Comprehension");
}

const RESULT = "@result";

export function toInterpreterExpr(e: Expr): PlainExpr {
  switch (e.kind) {
    case "literal":
      return literal(e);
    case "ident":
      return node(e.id, "identExpr", { name: e.rooted ? `.${e.name}` : e.name }, "cel.expr.Expr.Ident");
    case "select": {
      const operand = toInterpreterExpr(e.operand);
      if (e.field.includes(".")) return call(e.test ? EXT_HAS : EXT_GET, [operand, constant("stringValue", e.field)]);
      if (e.optional) return call("_?._", [operand, constant("stringValue", e.field)]);
      return node(e.id, "selectExpr", { operand, field: e.field, testOnly: e.test }, "cel.expr.Expr.Select");
    }
    case "index":
      return call(e.optional ? "_[?_]" : "_[_]", [toInterpreterExpr(e.operand), toInterpreterExpr(e.index)]);
    case "call": {
      if (e.target && (e.fn === "getExt" || e.fn === "hasExt") && qualifiedName(e.target) === "proto" && e.args.length === 2) {
        const name = qualifiedName(e.args[1] as Expr);
        if (name !== undefined) return call(e.fn === "hasExt" ? EXT_HAS : EXT_GET, [toInterpreterExpr(e.args[0] as Expr), constant("stringValue", name.replace(/^\./, ""))]);
      }
      const args = e.args.map(toInterpreterExpr);
      return node(e.id, "callExpr", { function: e.fn, args, ...(e.target ? { target: toInterpreterExpr(e.target) } : {}) }, "cel.expr.Expr.Call");
    }
    case "list":
      return node(e.id, "listExpr", { elements: e.elements.map(toInterpreterExpr), optionalIndices: [...e.optionalIndices] }, "cel.expr.Expr.CreateList");
    case "map":
      return node(e.id, "structExpr", {
        messageName: "",
        entries: e.entries.map((x) => ({
          $typeName: "cel.expr.Expr.CreateStruct.Entry", id: syntheticId++, keyKind: { case: "mapKey", value: toInterpreterExpr(x.key) }, value: toInterpreterExpr(x.value), optionalEntry: x.optional,
        })),
      }, "cel.expr.Expr.CreateStruct");
    case "struct":
      return node(e.id, "structExpr", {
        messageName: e.typeName,
        entries: e.fields.map((f) => ({
          $typeName: "cel.expr.Expr.CreateStruct.Entry", id: syntheticId++, keyKind: { case: "fieldKey", value: f.name }, value: toInterpreterExpr(f.value), optionalEntry: f.optional,
        })),
      }, "cel.expr.Expr.CreateStruct");
    case "bind":
      return fold(e.id, "#unused", list([]), e.name, toInterpreterExpr(e.init), constant("boolValue", false), ident(e.name), toInterpreterExpr(e.body));
    case "comprehension":
      return comprehension(e);
    case "optMap":
      throw new CompileError(`${e.flat ? "optFlatMap" : "optMap"} is not supported together with protobuf messages`, e.start);
  }
}

function comprehension(e: Extract<Expr, { kind: "comprehension" }>): PlainExpr {
  if (e.iterVar2 !== undefined || !["all", "exists", "existsOne", "map", "filter"].includes(e.macro)) {
    throw new CompileError(`the ${e.macro} macro is not supported together with protobuf messages`, e.start);
  }
  const range = toInterpreterExpr(e.range);
  const acc = ident(RESULT);
  const pred = e.predicate ? toInterpreterExpr(e.predicate) : undefined;
  const fn = e.transform ? toInterpreterExpr(e.transform) : undefined;
  const always = constant("boolValue", true);
  switch (e.macro) {
    case "all":
      return fold(e.id, e.iterVar, range, RESULT, constant("boolValue", true), call("@not_strictly_false", [ident(RESULT)]), call("_&&_", [acc, pred as PlainExpr]), ident(RESULT));
    case "exists":
      return fold(e.id, e.iterVar, range, RESULT, constant("boolValue", false), call("@not_strictly_false", [call("!_", [ident(RESULT)])]), call("_||_", [acc, pred as PlainExpr]), ident(RESULT));
    case "existsOne":
      return fold(e.id, e.iterVar, range, RESULT, constant("int64Value", 0n), always,
        call("_?_:_", [pred as PlainExpr, call("_+_", [acc, constant("int64Value", 1n)]), ident(RESULT)]),
        call("_==_", [ident(RESULT), constant("int64Value", 1n)]));
    case "map": {
      const append = call("_+_", [acc, list([fn as PlainExpr])]);
      const step = pred ? call("_?_:_", [pred, append, ident(RESULT)]) : append;
      return fold(e.id, e.iterVar, range, RESULT, list([]), always, step, ident(RESULT));
    }
    default:
      return fold(e.id, e.iterVar, range, RESULT, list([]), always,
        call("_?_:_", [pred as PlainExpr, call("_+_", [acc, list([ident(e.iterVar)])]), ident(RESULT)]), ident(RESULT));
  }
}
