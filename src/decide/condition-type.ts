/**
 * The CEL type of a condition's result when it is known from the expression alone, so a
 * condition that can never be true or false (`"yes"`, `1`, `size(x)`) is refused where it is
 * written instead of never applying. Sound, not complete: a type is reported only when every
 * evaluation that succeeds gives a value of that type; anything that depends on the activation
 * (`resource.name`, `a[k]`, an extension function) is `dyn` and is checked when evaluated.
 */
import type { Expr } from "../policy/cel/parser/ast.js";
import { parseCel } from "../policy/cel/parser/parser.js";

/** A CEL type name (`bool`, `string`, `int`, `list`, …) or `dyn` when only evaluation tells. */
export type ConditionType = string;

const BOOLEAN_OPERATORS = new Set(["_&&_", "_||_", "!_", "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_", "@in", "@not_strictly_false"]);
const ARITHMETIC = new Set(["_+_", "_-_", "_*_", "_/_", "_%_"]);
/** Operand types whose every arithmetic overload gives the same type back (`int + int`, `list + list`). */
const CLOSED_UNDER_ARITHMETIC = new Set(["int", "uint", "double", "string", "bytes", "list"]);

/** Standard global functions of one argument whose result type is fixed (conversions and size). */
const GLOBAL_RESULT: Readonly<Record<string, ConditionType>> = {
  size: "int", int: "int", uint: "uint", double: "double", string: "string", bytes: "bytes",
  timestamp: "timestamp", duration: "duration", type: "type",
};

/** Standard methods (core and the strings extension) whose result type is fixed. */
const METHOD_RESULT: Readonly<Record<string, ConditionType>> = {
  size: "int", startsWith: "bool", endsWith: "bool", contains: "bool", matches: "bool",
  lowerAscii: "string", upperAscii: "string", trim: "string", replace: "string", substring: "string", charAt: "string",
  indexOf: "int", lastIndexOf: "int", split: "list", join: "string",
};

const LITERAL_TYPE: Readonly<Record<string, ConditionType>> = {
  int: "int", uint: "uint", double: "double", string: "string", bytes: "bytes", bool: "bool", null: "null_type",
};

function arithmeticType(left: ConditionType, right: ConditionType): ConditionType {
  if (left === right && CLOSED_UNDER_ARITHMETIC.has(left)) return left;
  if (left === "dyn" && CLOSED_UNDER_ARITHMETIC.has(right)) return right;
  if (right === "dyn" && CLOSED_UNDER_ARITHMETIC.has(left)) return left;
  return "dyn";
}

function typeOfExpr(node: Expr): ConditionType {
  switch (node.kind) {
    case "literal":
      return LITERAL_TYPE[node.literal.type] ?? "dyn";
    case "list":
      return "list";
    case "map":
      return "map";
    case "select":
      return node.test ? "bool" : "dyn";
    case "comprehension":
      if (node.macro === "all" || node.macro === "exists" || node.macro === "existsOne") return "bool";
      if (node.macro === "transformMap" || node.macro === "transformMapEntry") return "map";
      return "list";
    case "bind":
      return typeOfExpr(node.body);
    case "call":
      return callType(node.fn, node.target, node.args);
    default:
      // Identifiers, indexes, optionals and messages: what they hold is known at evaluation only.
      return "dyn";
  }
}

function callType(fn: string, target: Expr | undefined, args: readonly Expr[]): ConditionType {
  if (BOOLEAN_OPERATORS.has(fn)) return "bool";
  if (fn === "_?_:_" && args.length === 3) {
    const [then, otherwise] = [typeOfExpr(args[1] as Expr), typeOfExpr(args[2] as Expr)];
    return then === otherwise ? then : "dyn";
  }
  if (ARITHMETIC.has(fn) && args.length === 2) return arithmeticType(typeOfExpr(args[0] as Expr), typeOfExpr(args[1] as Expr));
  if (fn === "-_" && args.length === 1) {
    const operand = typeOfExpr(args[0] as Expr);
    return operand === "int" || operand === "double" ? operand : "dyn";
  }
  // A method on a namespace-like target (`math.greatest`, `strings.quote`) is an extension function: unknown.
  if (target !== undefined) return target.kind !== "ident" || fn === "size" ? METHOD_RESULT[fn] ?? "dyn" : "dyn";
  return args.length === 1 ? GLOBAL_RESULT[fn] ?? "dyn" : "dyn";
}

/**
 * The CEL type of `source`'s result when it is known without evaluating it, else `dyn`; `dyn`
 * too for a source that does not parse (compiling it reports that). Never throws.
 */
export function conditionResultType(source: string): ConditionType {
  try {
    return typeOfExpr(parseCel(source).expr);
  } catch {
    return "dyn";
  }
}
