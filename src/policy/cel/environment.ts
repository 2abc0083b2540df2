/**
 * The CEL environment every policy language shares: parse (parser/), compile to JavaScript
 * (compiler/), evaluate with a cost budget, never throwing. See docs/cel.md.
 */
import { VigilError } from "../../core/errors.js";
import { collectReferences, collectRequiredValues, topLevelTerms } from "./analysis.js";
import {
  DEFAULT_COST_LIMIT,
  type CelActivation, type CelCompileOptions, type CelEnvironment, type CelEnvironmentOptions, type CelEvalError,
  type CelEvaluateOptions, type CelOutcome, type CelProgram,
} from "./api.js";
import { generate, type GeneratedProgram } from "./compiler/codegen.js";
import { CompileError } from "./compiler/context.js";
import { overloadFromDefinition } from "./extensions.js";
import { allLibraries } from "./lib/index.js";
import { compileFallback, needsFallback, type FallbackProgram } from "./fallback.js";
import { sourceSpan, type Expr } from "./parser/ast.js";
import { CelSyntaxError } from "./parser/lexer.js";
import { parseCel } from "./parser/parser.js";
import { celToJson, celToJsonMetered } from "./runtime/convert.js";
import { costExceeded, meter } from "./runtime/cost.js";
import { FunctionRegistry } from "./runtime/functions.js";
import { CelErr, CostExceeded } from "./runtime/values.js";

export { celToJson };

const baseRegistry = new FunctionRegistry(allLibraries);

/** Longer expressions are rejected at compile time (no real policy condition comes close). */
export const MAX_SOURCE_LENGTH = 100_000;

/** 1-based line and column (in code points) of a 0-based offset. */
export function lineColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, Math.min(offset, source.length)));
  const lines = before.split("\n");
  return { line: lines.length, column: [...(lines[lines.length - 1] ?? "")].length + 1 };
}

function compileError(source: string, origin: string | undefined, message: string, offset: number, cause: unknown): VigilError {
  const { line, column } = lineColumn(source, offset);
  const sourceLine = source.split("\n")[line - 1] ?? "";
  const where = origin ?? "expression";
  return new VigilError(
    "VIGIL_POLICY_COMPILE",
    `CEL error in ${where} at line ${line}, column ${column}: ${message}`,
    { ...(origin ? { field: origin } : {}), line, column, hint: `${sourceLine}\n${" ".repeat(Math.max(0, column - 1))}^` },
    cause,
  );
}

/** Converts whatever an evaluation threw into the API's error shape. */
export function toEvalError(e: unknown): CelEvalError {
  if (e instanceof CelErr) return { kind: e.kind, message: e.message };
  if (e instanceof CostExceeded) return { kind: "cost_exceeded", message: e.message };
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return { kind: "other", message: "value or expression nested too deeply (call stack exhausted)" };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { kind: "other", message: `evaluation failed: ${message}` };
}

/**
 * Raises `error` inside an evaluation as the runtime raises its own errors: for an activation
 * value that stands for a failed computation (a native policy's variable), read through a getter.
 * Absorbed by `&&` / `||` / `?:` / the quantifiers like any CEL error, except `cost_exceeded`,
 * which never is.
 */
export function raiseCelError(error: CelEvalError): never {
  if (error.kind === "cost_exceeded") throw new CostExceeded(error.message);
  throw new CelErr(error.kind, error.message);
}

interface EnvState {
  readonly registry: FunctionRegistry;
  readonly costLimit: number;
  readonly declared: ReadonlySet<string> | undefined;
  readonly container: string;
  readonly protobufRegistry: unknown;
  readonly objectConstruction: boolean;
  readonly options: CelEnvironmentOptions;
}

type Runner = (activation: CelActivation) => unknown;

const OK_TRUE: CelOutcome = Object.freeze({ ok: true, value: true });
const OK_FALSE: CelOutcome = Object.freeze({ ok: true, value: false });

/** A compiled program: the generated function plus its static facts. */
class Program implements CelProgram {
  readonly source: string;
  readonly references: readonly string[];
  readonly requiredValues: CelProgram["requiredValues"];
  readonly engine: "compiled" | "interpreted";
  private readonly run: Runner;
  private readonly staticCost: number;
  private readonly costLimit: number;
  private readonly expr: Expr;
  private readonly env: EnvState;
  private readonly compileOptions: CelCompileOptions;
  private termsCache: CelProgram["terms"] | null = null;

  constructor(source: string, expr: Expr, run: Runner, staticCost: number, engine: "compiled" | "interpreted", env: EnvState, compileOptions: CelCompileOptions) {
    this.source = source;
    this.expr = expr;
    this.run = run;
    this.staticCost = staticCost;
    this.costLimit = env.costLimit;
    this.engine = engine;
    this.env = env;
    this.compileOptions = compileOptions;
    this.references = collectReferences(expr, (name) => env.registry.hasName(name));
    this.requiredValues = collectRequiredValues(expr);
  }

  /** INVARIANT: never throws. */
  evaluate(activation: CelActivation, options?: CelEvaluateOptions): CelOutcome {
    const requested = options?.costLimit;
    // a NaN or negative limit would disable the meter: fall back to the environment's
    const limit = typeof requested === "number" && requested >= 0 ? requested : this.costLimit;
    const savedLeft = meter.left;
    const savedLimit = meter.limit;
    meter.limit = limit;
    meter.left = limit - this.staticCost;
    try {
      if (meter.left < 0) costExceeded();
      const value = this.run(activation);
      // most conditions end in a bool: share the two outcomes instead of allocating one per call
      if (value === true) return OK_TRUE;
      if (value === false) return OK_FALSE;
      if (options?.raw === true || typeof value === "string") return { ok: true, value };
      return { ok: true, value: celToJsonMetered(value) };
    } catch (e) {
      return { ok: false, error: toEvalError(e) };
    } finally {
      meter.left = savedLeft;
      meter.limit = savedLimit;
    }
  }

  /** Compiled lazily: most programs never need their terms. */
  get terms(): CelProgram["terms"] {
    if (this.termsCache !== null) return this.termsCache;
    const t = topLevelTerms(this.expr);
    this.termsCache = t
      ? {
        operator: t.operator,
        parts: t.parts.map((part) => {
          const [start, end] = sourceSpan(part);
          return buildProgram(this.source.slice(start, end), part, this.env, this.compileOptions);
        }),
      }
      : undefined;
    return this.termsCache;
  }
}

function buildProgram(source: string, expr: Expr, env: EnvState, compileOptions: CelCompileOptions): Program {
  let generated: GeneratedProgram;
  try {
    if (env.protobufRegistry !== undefined && needsFallback(expr, env.protobufRegistry, env.container)) {
      const fb: FallbackProgram = compileFallback(expr, env.protobufRegistry, env.container);
      return new Program(source, expr, fb.run, 1, "interpreted", env, compileOptions);
    }
    generated = generate(expr, {
      registry: env.registry,
      declared: env.declared,
      container: env.container,
      deferUnknownFunctions: compileOptions.deferUnknownFunctions === true,
      objectConstruction: env.objectConstruction,
    });
  } catch (e) {
    if (e instanceof CompileError) throw compileError(source, compileOptions.origin, e.message, e.offset, e);
    throw e;
  }
  let run: Runner = generated.run;
  if (env.protobufRegistry !== undefined) {
    // messages may still arrive in the activation: hand those evaluations to the interpreter
    const nativeRun = run;
    let fallback: FallbackProgram | undefined;
    run = (activation) => {
      for (const k in activation) {
        const v = activation[k];
        if (typeof v === "object" && v !== null && "$typeName" in v) {
          fallback ??= compileFallback(expr, env.protobufRegistry, env.container);
          return fallback.run(activation);
        }
      }
      return nativeRun(activation);
    };
  }
  return new Program(source, expr, run, generated.staticCost, "compiled", env, compileOptions);
}

function makeEnvironment(env: EnvState): CelEnvironment {
  return {
    compile(source: string, compileOptions: CelCompileOptions = {}): CelProgram {
      if (typeof source !== "string") {
        throw new VigilError("VIGIL_POLICY_COMPILE", `CEL expression in ${compileOptions.origin ?? "expression"} must be a string`, compileOptions.origin ? { field: compileOptions.origin } : {});
      }
      if (source.length > MAX_SOURCE_LENGTH) {
        throw compileError(source, compileOptions.origin, `expression longer than ${MAX_SOURCE_LENGTH} characters`, 0, undefined);
      }
      try {
        return buildProgram(source, parseCel(source).expr, env, compileOptions);
      } catch (e) {
        if (e instanceof CelSyntaxError) throw compileError(source, compileOptions.origin, e.message, e.offset, e);
        if (e instanceof RangeError) throw compileError(source, compileOptions.origin, "expression too large or too deeply nested", 0, e);
        throw e;
      }
    },
    extend(more: CelEnvironmentOptions): CelEnvironment {
      return createCelEnvironment({
        ...env.options,
        ...more,
        functions: [...(env.options.functions ?? []), ...(more.functions ?? [])],
      });
    },
  };
}

/**
 * Creates an environment with the standard library and every extension library of docs/cel.md,
 * plus `options.functions` (which take precedence over built-ins of the same name and arity).
 */
export function createCelEnvironment(options: CelEnvironmentOptions = {}): CelEnvironment {
  const functions = options.functions ?? [];
  const registry = functions.length > 0 ? baseRegistry.extend(functions.map(overloadFromDefinition)) : baseRegistry;
  return makeEnvironment({
    registry,
    costLimit: typeof options.costLimit === "number" && options.costLimit >= 0 ? options.costLimit : DEFAULT_COST_LIMIT,
    declared: options.variables ? new Set(options.variables) : undefined,
    container: options.container ?? "",
    protobufRegistry: options.protobufRegistry,
    objectConstruction: options.objectConstruction === true,
    options,
  });
}
