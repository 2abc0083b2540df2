/**
 * JMESPath as Kyverno evaluates it: the JMESPath Community dialect (what Kyverno's
 * go-jmespath fork implements) plus Kyverno's own functions. Expressions are compiled once
 * and cached; evaluation returns a result object and never throws.
 */
import { TYPE_ANY, TreeInterpreter, compile, registerFunction, type JSONValue } from "@jmespath-community/jmespath";
import { kyvernoArity, kyvernoFunctions, type JsonValue } from "./jmespath-functions.js";

type Ast = ReturnType<typeof compile>;

let registered = false;

function registerKyvernoFunctions(): void {
  if (registered) return;
  registered = true;
  for (const [name, fn] of Object.entries(kyvernoFunctions)) {
    const arity = kyvernoArity[name];
    registerFunction(name, (args) => {
      if (arity !== undefined && !arity.includes(args.length)) {
        throw new Error(`JMESPath function '${name}' takes ${arity.join(" or ")} argument${arity.length === 1 && arity[0] === 1 ? "" : "s"}, got ${args.length}`);
      }
      return fn(args as JsonValue[]) as JSONValue;
    }, [
      { types: [TYPE_ANY], optional: true },
      { types: [TYPE_ANY], optional: true },
      { types: [TYPE_ANY], optional: true },
      { types: [TYPE_ANY], optional: true },
    ], { override: true });
  }
}

const astCache = new Map<string, Ast | Error>();

export type JmesOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/** Compiles (cached) an expression; returns the parse error instead of throwing. */
export function compileJmes(expression: string): Ast | Error {
  registerKyvernoFunctions();
  let ast = astCache.get(expression);
  if (ast === undefined) {
    try {
      ast = compile(expression);
    } catch (cause) {
      ast = cause instanceof Error ? cause : new Error(String(cause));
    }
    if (astCache.size > 20_000) astCache.clear();
    astCache.set(expression, ast);
  }
  return ast;
}

/**
 * Evaluates `expression` against `data`. A missing key yields `{ ok: true, value: null }`
 * (JMESPath semantics); a syntax or function error yields `{ ok: false }`.
 */
export function searchJmes(expression: string, data: unknown): JmesOutcome {
  const ast = compileJmes(expression);
  if (ast instanceof Error) return { ok: false, error: `invalid JMESPath expression ${JSON.stringify(expression)}: ${ast.message}` };
  try {
    return { ok: true, value: TreeInterpreter.search(ast, data as JSONValue) };
  } catch (cause) {
    return { ok: false, error: `JMESPath query ${JSON.stringify(expression)} failed: ${cause instanceof Error ? cause.message : String(cause)}` };
  }
}
