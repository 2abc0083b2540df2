/**
 * Code generation for the macro loops (all, exists, exists_one, map, filter, the two-variable
 * forms, sortBy), cel.bind and optMap / optFlatMap. Every loop iteration charges the static cost
 * of its body against the evaluation budget, so nested loops cannot run away.
 */
import type { BindNode, ComprehensionNode, Expr, OptMapNode } from "../parser/ast.js";
import type { Compiled, GenContext } from "./context.js";

interface LoopVars {
  /** JS locals bound to the one or two loop variables. */
  readonly js: string[];
}

/**
 * Emits the loop header over `range` (list elements / map keys, or index+element / key+value for
 * two variables), then `body`, then the closing brace.
 */
function emitLoop(ctx: GenContext, node: ComprehensionNode, rangeCode: string, body: (vars: LoopVars) => void): void {
  const twoVars = node.iterVar2 !== undefined;
  const keys = ctx.temp();
  const values = ctx.temp();
  const i = ctx.temp();
  const macro = JSON.stringify(node.macro);
  if (twoVars) ctx.emit(`[${keys}, ${values}] = R.iterationPairs(${rangeCode}, ${macro});`);
  else ctx.emit(`${keys} = R.iterationItems(${rangeCode}, ${macro});`);
  const names = [{ name: node.iterVar, mayHoldError: false }];
  if (twoVars) names.push({ name: node.iterVar2 as string, mayHoldError: false });
  ctx.withLocals(names, (js) => {
    const { value: lines, cost } = ctx.loopBody(() => ctx.capture(() => body({ js })).lines);
    ctx.emit(`for (${i} = 0; ${i} < ${keys}.length; ${i}++) {`);
    ctx.emit(`if ((M.left -= ${cost + 1}) < 0) R.costExceeded();`);
    ctx.emit(`const ${js[0]} = ${keys}[${i}];`);
    if (twoVars) ctx.emit(`const ${js[1]} = ${values}[${i}];`);
    for (const l of lines) ctx.emit(l);
    ctx.emit("}");
  });
}

export function compileComprehension(ctx: GenContext, node: ComprehensionNode): Compiled {
  const range = ctx.expr(node.range);
  const tRange = ctx.temp();
  ctx.emit(`${tRange} = ${ctx.checked(range)};`);
  const r = ctx.temp();
  switch (node.macro) {
    case "all":
    case "exists":
      return quantifier(ctx, node, tRange, r, node.macro === "all");
    case "existsOne": {
      const n = ctx.temp();
      const x = ctx.temp();
      ctx.emit(`${n} = 0;`);
      emitLoop(ctx, node, tRange, () => {
        const p = ctx.expr(node.predicate as Expr);
        ctx.emit(`${x} = ${ctx.checked(p)};`);
        ctx.emit(`if (${x} === true) ${n}++; else if (${x} !== false) throw R.logicError(${x}, "exists_one");`);
      });
      ctx.emit(`${r} = ${n} === 1;`);
      return { code: r, type: "bool", safe: false };
    }
    case "map":
    case "filter":
    case "transformList":
    case "transformMap":
    case "transformMapEntry":
    case "sortBy":
      return collect(ctx, node, tRange, r);
  }
}

/** all / exists: the first false (true) decides; otherwise the first error is raised. */
function quantifier(ctx: GenContext, node: ComprehensionNode, tRange: string, r: string, isAll: boolean): Compiled {
  const short = isAll ? "false" : "true";
  const long = isAll ? "true" : "false";
  const e = ctx.temp();
  const x = ctx.temp();
  ctx.emit(`${r} = ${long}; ${e} = null;`);
  emitLoop(ctx, node, tRange, () => {
    const { lines, value } = ctx.capture(() => ctx.expr(node.predicate as Expr));
    ctx.emit("try {");
    for (const l of lines) ctx.emit(l);
    ctx.emit(`${x} = ${ctx.checked(value)};`);
    ctx.emit(`} catch (ex) { ${x} = R.absorb(ex); }`);
    ctx.emit(`if (${x} === ${short}) { ${r} = ${short}; break; }`);
    ctx.emit(`if (${x} !== ${long} && ${e} === null) ${e} = R.logicError(${x}, "${isAll ? "all" : "exists"}");`);
  });
  ctx.emit(`if (${r} === ${long} && ${e} !== null) throw ${e};`);
  return { code: r, type: "bool", safe: false };
}

/** map / filter / transform* / sortBy: strict loops that build a list or a map. */
function collect(ctx: GenContext, node: ComprehensionNode, tRange: string, r: string): Compiled {
  const out = ctx.temp();
  const keys = ctx.temp();
  ctx.emit(`${out} = [];`);
  if (node.macro === "sortBy") ctx.emit(`${keys} = [];`);
  emitLoop(ctx, node, tRange, ({ js }) => {
    if (node.predicate) {
      const p = ctx.expr(node.predicate);
      const tp = ctx.temp();
      ctx.emit(`${tp} = ${ctx.checked(p)};`);
      ctx.emit(`if (${tp} !== true) { if (${tp} !== false) throw R.logicError(${tp}, "${node.macro}"); continue; }`);
    }
    const element = js[0] as string;
    const second = js[1] as string;
    switch (node.macro) {
      case "filter":
        ctx.emit(`${out}.push(${element});`);
        return;
      case "sortBy": {
        const k = ctx.expr(node.transform as Expr);
        ctx.emit(`${keys}.push(${ctx.checked(k)}); ${out}.push(${element});`);
        return;
      }
      case "transformMap": {
        const f = ctx.expr(node.transform as Expr);
        ctx.emit(`${out}.push([${element}, ${ctx.checked(f)}]);`);
        return;
      }
      case "transformMapEntry": {
        const f = ctx.expr(node.transform as Expr);
        ctx.emit(`R.pushMapEntries(${out}, ${ctx.checked(f)});`);
        return;
      }
      default: {
        const f = ctx.expr(node.transform as Expr);
        ctx.emit(`${out}.push(${ctx.checked(f)});`);
        void second;
      }
    }
  });
  switch (node.macro) {
    case "transformMap":
    case "transformMapEntry":
      ctx.emit(`${r} = R.buildMap(${out});`);
      return { code: r, type: "map", safe: false };
    case "sortBy":
      ctx.emit(`${r} = R.sortByKeys(${out}, ${keys});`);
      return { code: r, type: "list", safe: false };
    default:
      ctx.emit(`${r} = ${out};`);
      return { code: r, type: "list", safe: false };
  }
}

/** cel.bind: the init is evaluated once, eagerly; an error is kept and raised only if the body reads it. */
export function compileBind(ctx: GenContext, node: BindNode): Compiled {
  const { lines, value } = ctx.capture(() => ctx.expr(node.init));
  return ctx.withLocals([{ name: node.name, mayHoldError: !value.safe }], ([v]) => {
    if (value.safe) {
      for (const l of lines) ctx.emit(l);
      ctx.emit(`const ${v} = ${value.code};`);
    } else {
      ctx.emit(`let ${v};`);
      ctx.emit("try {");
      for (const l of lines) ctx.emit(l);
      ctx.emit(`${v} = ${ctx.checked(value)};`);
      ctx.emit(`} catch (ex) { ${v} = R.absorb(ex); }`);
    }
    const body = ctx.expr(node.body);
    // the body's code may be an expression over the local: materialise it while it is in scope
    const r = ctx.temp();
    ctx.emit(`${r} = ${ctx.checked(body)};`);
    return { code: r, type: body.type, safe: false };
  });
}

/** `opt.optMap(v, expr)` → optional of expr; `optFlatMap` → expr itself (must be optional). */
export function compileOptMap(ctx: GenContext, node: OptMapNode): Compiled {
  const target = ctx.expr(node.target);
  const t = ctx.temp();
  const r = ctx.temp();
  const fn = node.flat ? "optFlatMap" : "optMap";
  ctx.emit(`${t} = R.asOptional(${ctx.checked(target)}, "${fn}");`);
  ctx.emit(`if (!${t}.has) ${r} = R.NONE; else {`);
  ctx.withLocals([{ name: node.varName, mayHoldError: false }], ([v]) => {
    ctx.emit(`const ${v} = ${t}.v;`);
    const body = ctx.expr(node.body);
    ctx.emit(node.flat ? `${r} = R.asOptional(${ctx.checked(body)}, "${fn}");` : `${r} = R.mkOptional(${ctx.checked(body)});`);
  });
  ctx.emit("}");
  return { code: r, type: "optional", safe: false };
}
