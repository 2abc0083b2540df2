/**
 * Code generation for calls: logical operators (n-ary, error-absorbing), the conditional,
 * equality / ordering / membership / arithmetic with literal fast paths, and function calls
 * resolved against the registry (namespaced globals such as `math.greatest`, receiver methods).
 */
import { qualifiedName, type CallNode, type Expr } from "../parser/ast.js";
import { compileRegex } from "../runtime/regex.js";
import { CelDouble, CelErr } from "../runtime/values.js";
import { closest, editDistance } from "../../vigil/suggest.js";
import { CompileError, type Compiled, type GenContext } from "./context.js";

export function compileCall(ctx: GenContext, node: CallNode): Compiled {
  if (node.target === undefined) {
    const [a, b] = node.args;
    switch (node.fn) {
      case "_&&_":
        return logic(ctx, "&&", flatten(node, "_&&_"));
      case "_||_":
        return logic(ctx, "||", flatten(node, "_||_"));
      case "_?_:_":
        return conditional(ctx, node.args as [Expr, Expr, Expr]);
      case "!_":
        return not(ctx, a as Expr);
      case "-_":
        return { code: `R.neg(${ctx.checked(ctx.expr(a as Expr))})`, type: "dyn", safe: false };
      case "_==_":
      case "_!=_":
        return equality(ctx, a as Expr, b as Expr, node.fn === "_!=_");
      case "_<_":
      case "_<=_":
      case "_>_":
      case "_>=_":
        return ordering(ctx, node.fn.slice(1, -1), a as Expr, b as Expr);
      case "@in":
        return membership(ctx, a as Expr, b as Expr);
      case "_+_":
      case "_-_":
      case "_*_":
      case "_/_":
      case "_%_":
        return arithmetic(ctx, node.fn.slice(1, -1), a as Expr, b as Expr);
      default:
        break;
    }
  }
  return functionCall(ctx, node);
}

/** `a && b && c` parsed left-associatively → [a, b, c]. */
function flatten(node: Expr, fn: string): Expr[] {
  if (node.kind === "call" && node.fn === fn && node.target === undefined) {
    return [...flatten(node.args[0] as Expr, fn), ...flatten(node.args[1] as Expr, fn)];
  }
  return [node];
}

/**
 * CEL `&&` / `||`: commutative with respect to errors. The first short-circuiting operand
 * decides; otherwise the first error (or non-bool operand) is raised; otherwise the other value.
 */
function logic(ctx: GenContext, op: "&&" | "||", operands: readonly Expr[]): Compiled {
  const short = op === "&&" ? "false" : "true";
  const long = op === "&&" ? "true" : "false";
  const compiled = operands.map((o) => ctx.capture(() => ctx.expr(o)));
  if (compiled.every((c) => c.lines.length === 0 && c.value.safe && c.value.type === "bool")) {
    return { code: `(${compiled.map((c) => c.value.code).join(` ${op} `)})`, type: "bool", safe: true };
  }
  const r = ctx.temp();
  const e = ctx.temp();
  const x = ctx.temp();
  const label = ctx.label();
  ctx.emit(`${label}: {`);
  ctx.emit(`${e} = null;`);
  for (const { lines, value } of compiled) {
    const code = ctx.checked(value);
    if (value.safe) {
      for (const l of lines) ctx.emit(l);
      ctx.emit(`${x} = ${code};`);
    } else {
      ctx.emit("try {");
      for (const l of lines) ctx.emit(l);
      ctx.emit(`${x} = ${code};`);
      ctx.emit(`} catch (ex) { ${x} = R.absorb(ex); }`);
    }
    ctx.emit(`if (${x} === ${short}) { ${r} = ${short}; break ${label}; }`);
    if (!(value.safe && value.type === "bool")) ctx.emit(`if (${x} !== ${long} && ${e} === null) ${e} = R.logicError(${x}, "${op}");`);
  }
  ctx.emit(`if (${e} !== null) throw ${e};`);
  ctx.emit(`${r} = ${long};`);
  ctx.emit("}");
  return { code: r, type: "bool", safe: false };
}

function conditional(ctx: GenContext, [cond, then, otherwise]: [Expr, Expr, Expr]): Compiled {
  const c = ctx.expr(cond);
  if (c.constant && typeof c.constant.value === "boolean") {
    // still counted, but only the taken branch is compiled
    return ctx.expr(c.constant.value ? then : otherwise);
  }
  const tc = ctx.temp();
  const r = ctx.temp();
  const a = ctx.capture(() => ctx.expr(then));
  const b = ctx.capture(() => ctx.expr(otherwise));
  ctx.emit(`${tc} = ${ctx.checked(c)};`);
  ctx.emit(`if (${tc} === true) {`);
  for (const l of a.lines) ctx.emit(l);
  ctx.emit(`${r} = ${ctx.checked(a.value)};`);
  ctx.emit(`} else if (${tc} === false) {`);
  for (const l of b.lines) ctx.emit(l);
  ctx.emit(`${r} = ${ctx.checked(b.value)};`);
  ctx.emit(`} else R.conditionError(${tc});`);
  return { code: r, type: a.value.type === b.value.type ? a.value.type : "dyn", safe: false };
}

function not(ctx: GenContext, arg: Expr): Compiled {
  const a = ctx.expr(arg);
  if (a.type === "bool" && a.safe) return { code: `(!${a.code})`, type: "bool", safe: true };
  const t = ctx.temp();
  return { code: `(typeof (${t} = ${ctx.checked(a)}) === "boolean" ? !${t} : R.not(${t}))`, type: "bool", safe: false };
}

function equality(ctx: GenContext, left: Expr, right: Expr, negate: boolean): Compiled {
  const a = ctx.expr(left);
  const b = ctx.expr(right);
  const [x, k] = b.constant ? [a, b] : a.constant ? [b, a] : [a, undefined];
  if (k?.constant) {
    const v = k.constant.value;
    if (typeof v === "string" || typeof v === "boolean" || v === null) {
      return { code: `(${ctx.checked(x)} ${negate ? "!==" : "==="} ${k.code})`, type: "bool", safe: x.safe };
    }
    if (typeof v === "number" && Number.isSafeInteger(v)) {
      const t = ctx.temp();
      const test = `((${t} = ${ctx.checked(x)}) === ${k.code} || (typeof ${t} !== "number" && R.eq(${t}, ${k.code})))`;
      return { code: negate ? `(!${test})` : test, type: "bool", safe: false };
    }
  }
  const code = `R.eq(${ctx.checked(a)}, ${ctx.checked(b)})`;
  return { code: negate ? `(!${code})` : code, type: "bool", safe: false };
}

const helperOf: Record<string, string> = { "<": "lt", "<=": "le", ">": "gt", ">=": "ge" };
const mirrored: Record<string, string> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

/** True when JS `<` on this string agrees with CEL's code-point order against any other string. */
function codeUnitOrderSafe(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xd800) return false;
  return true;
}

function ordering(ctx: GenContext, op: string, left: Expr, right: Expr): Compiled {
  const a = ctx.expr(left);
  const b = ctx.expr(right);
  const [x, k, jsOp] = b.constant ? [a, b, op] : a.constant ? [b, a, mirrored[op] as string] : [a, undefined, op];
  const helper = `R.${helperOf[jsOp]}`;
  if (k?.constant) {
    const v = k.constant.value;
    const t = ctx.temp();
    if (typeof v === "number" || v instanceof CelDouble) {
      const num = typeof v === "number" ? k.code : ctx.literal(v.v);
      return { code: `(typeof (${t} = ${ctx.checked(x)}) === "number" ? ${t} ${jsOp} ${num} : ${helper}(${t}, ${k.code}))`, type: "bool", safe: false };
    }
    if (typeof v === "string" && codeUnitOrderSafe(v)) {
      return { code: `(typeof (${t} = ${ctx.checked(x)}) === "string" ? ${t} ${jsOp} ${k.code} : ${helper}(${t}, ${k.code}))`, type: "bool", safe: false };
    }
  }
  const ta = ctx.temp();
  const tb = ctx.temp();
  const h = `R.${helperOf[op]}`;
  return {
    code: `((${ta} = ${ctx.checked(a)}), (${tb} = ${ctx.checked(b)}), typeof ${ta} === "number" && typeof ${tb} === "number" ? ${ta} ${op} ${tb} : ${h}(${ta}, ${tb}))`,
    type: "bool",
    safe: false,
  };
}

const INLINE_IN_LIMIT = 6;

function membership(ctx: GenContext, element: Expr, container: Expr): Compiled {
  const x = ctx.expr(element);
  const c = ctx.expr(container);
  const list = c.constant?.value;
  if (Array.isArray(list) && list.length > 0) {
    const t = ctx.temp();
    if (list.every((v) => typeof v === "string")) {
      if (list.length <= INLINE_IN_LIMIT) {
        const checked = ctx.checked(x);
        return { code: `((${t} = ${checked}) === ${list.map((v) => ctx.literal(v as string)).join(` || ${t} === `)})`, type: "bool", safe: x.safe };
      }
      return { code: `${ctx.constant(new Set(list))}.has(${ctx.checked(x)})`, type: "bool", safe: x.safe };
    }
    if (list.every((v) => typeof v === "number" && Number.isSafeInteger(v))) {
      const test = list.length <= INLINE_IN_LIMIT
        ? list.map((v) => `${t} === ${ctx.literal(v as number)}`).join(" || ")
        : `${ctx.constant(new Set(list))}.has(${t})`;
      return { code: `(typeof (${t} = ${ctx.checked(x)}) === "number" ? (${test}) : R.contains(${c.code}, ${t}))`, type: "bool", safe: false };
    }
  }
  return { code: `R.contains(${ctx.checked(c)}, ${ctx.checked(x)})`, type: "bool", safe: false };
}

const arithmeticHelper: Record<string, string> = { "+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod" };

function arithmetic(ctx: GenContext, op: string, left: Expr, right: Expr): Compiled {
  const a = ctx.expr(left);
  const b = ctx.expr(right);
  const helper = `R.${arithmeticHelper[op]}`;
  const kb = b.constant?.value;
  if ((op === "+" || op === "-") && typeof kb === "number" && Number.isSafeInteger(kb)) {
    const t = ctx.temp();
    const r = ctx.temp();
    return {
      code: `(Number.isSafeInteger(${t} = ${ctx.checked(a)}) && Number.isSafeInteger(${r} = ${t} ${op} ${b.code}) ? ${r} : ${helper}(${t}, ${b.code}))`,
      type: "dyn",
      safe: false,
    };
  }
  return { code: `${helper}(${ctx.checked(a)}, ${ctx.checked(b)})`, type: "dyn", safe: false };
}

/** Resolves a call to a registered overload; namespaced names (`math.greatest`) are tried first. */
function functionCall(ctx: GenContext, node: CallNode): Compiled {
  const { registry } = ctx.options;
  const arity = node.args.length;
  if (node.target) {
    const ns = qualifiedName(node.target);
    const root = ns?.replace(/^\./, "").split(".")[0];
    if (ns !== undefined && root !== undefined && !ctx.lookupLocal(root)) {
      const name = `${ns.replace(/^\./, "")}.${node.fn}`;
      const impl = registry.resolve(name, false, arity);
      if (impl) return callImpl(ctx, name, impl, node.args);
    }
    const fast = receiverFastPath(ctx, node);
    if (fast) return fast;
    const impl = registry.resolve(node.fn, true, arity);
    if (impl) return callImpl(ctx, node.fn, impl, [node.target, ...node.args]);
    return unknownFunction(ctx, node, true);
  }
  if (node.fn === "size" && arity === 1 && !registry.isOverridden("size", false, 1)) {
    const a = ctx.expr(node.args[0] as Expr);
    const t = ctx.temp();
    return { code: `(Array.isArray(${t} = ${ctx.checked(a)}) ? ${t}.length : R.size(${t}))`, type: "int", safe: false };
  }
  const impl = registry.resolve(node.fn, false, arity);
  if (impl) return callImpl(ctx, node.fn, impl, node.args);
  return unknownFunction(ctx, node, false);
}

function callImpl(ctx: GenContext, name: string, impl: (...args: unknown[]) => unknown, args: readonly Expr[]): Compiled {
  const codes = args.map((a) => ctx.checked(ctx.expr(a)));
  void name;
  return { code: `${ctx.constant(impl)}(${codes.join(", ")})`, type: "dyn", safe: false };
}

/** Inline forms of the hottest string and list methods (unless an extension overrides them). */
function receiverFastPath(ctx: GenContext, node: CallNode): Compiled | undefined {
  const { registry } = ctx.options;
  const arity = node.args.length;
  if (registry.isOverridden(node.fn, true, arity)) return undefined;
  const target = node.target as Expr;
  if (node.fn === "size" && arity === 0) {
    const a = ctx.expr(target);
    const t = ctx.temp();
    return { code: `(Array.isArray(${t} = ${ctx.checked(a)}) ? ${t}.length : R.size(${t}))`, type: "int", safe: false };
  }
  if (arity !== 1 || !["startsWith", "endsWith", "contains", "matches"].includes(node.fn)) return undefined;
  const arg = node.args[0] as Expr;
  if (arg.kind !== "literal" || arg.literal.type !== "string") return undefined;
  const lit = arg.literal.value;
  const impl = registry.resolve(node.fn, true, 1) as (...args: unknown[]) => unknown;
  const recv = ctx.expr(target);
  ctx.expr(arg);
  const t = ctx.temp();
  const literal = ctx.literal(lit);
  const slow = `${ctx.constant(impl)}(${t}, ${literal})`;
  const recvCode = ctx.checked(recv);
  switch (node.fn) {
    case "startsWith":
    case "endsWith":
      return { code: `(typeof (${t} = ${recvCode}) === "string" ? ${t}.${node.fn}(${literal}) : ${slow})`, type: "bool", safe: false };
    case "contains":
      return { code: `(typeof (${t} = ${recvCode}) === "string" ? (R.chargeSize(${t}.length), ${t}.includes(${literal})) : ${slow})`, type: "bool", safe: false };
    default: {
      let re;
      try {
        re = compileRegex(lit);
      } catch (e) {
        if (e instanceof CelErr) throw new CompileError(e.message, arg.start);
        throw e;
      }
      return { code: `(typeof (${t} = ${recvCode}) === "string" ? R.regexMatches(${ctx.constant(re)}, ${t}) : ${slow})`, type: "bool", safe: false };
    }
  }
}

function unknownFunction(ctx: GenContext, node: CallNode, receiver: boolean): Compiled {
  const { registry, deferUnknownFunctions } = ctx.options;
  const display = receiver ? `.${node.fn}()` : `${node.fn}()`;
  if (deferUnknownFunctions) {
    // arguments are still compiled so references and cost are counted
    if (node.target) ctx.expr(node.target);
    for (const a of node.args) ctx.expr(a);
    return { code: `R.unbound(${JSON.stringify(node.fn)})`, type: "dyn", safe: false };
  }
  let hint = "";
  if (registry.hasStyle(node.fn, !receiver)) hint = receiver ? ` (call it as ${node.fn}(x, ...))` : ` (call it as x.${node.fn}(...))`;
  else if (registry.hasStyle(node.fn, receiver)) hint = ` (no overload takes ${node.args.length} argument${node.args.length === 1 ? "" : "s"})`;
  else hint = misspelt(ctx, node, receiver);
  throw new CompileError(`unknown function ${display}${hint}`, node.start);
}

/** Macros, which are no registered functions: receiver style (`x.exists(...)`) and global (`has`). */
const receiverMacros = ["all", "exists", "exists_one", "existsOne", "map", "filter", "transformList", "transformMap", "transformMapEntry", "sortBy", "optMap", "optFlatMap"];
const globalMacros = ["has", "cel.bind", "cel.block"];

/** ` (did you mean "size"?)` for the closest function or macro of the call's style, or "". */
function misspelt(ctx: GenContext, node: CallNode, receiver: boolean): string {
  const { registry } = ctx.options;
  const globals = [...registry.namesOfStyle(false), ...globalMacros];
  let suggestion = closest(node.fn, receiver ? [...registry.namesOfStyle(true), ...receiverMacros] : globals);
  // `math.gratest(1, 2)` parses as a receiver call on `math`: try the namespaced name too.
  const ns = receiver && node.target ? qualifiedName(node.target)?.replace(/^\./, "") : undefined;
  if (ns !== undefined) {
    const name = `${ns}.${node.fn}`;
    const qualified = closest(name, globals);
    if (qualified !== undefined && (suggestion === undefined || editDistance(name, qualified) <= editDistance(node.fn, suggestion))) suggestion = qualified;
  }
  return suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`;
}
