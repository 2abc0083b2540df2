/**
 * State shared by the code generator's parts: emitted statements, temporaries, hoisted constants,
 * lexical scopes (comprehension and bind variables), activation reads and the static cost count.
 *
 * Generated code conventions: every sub-expression compiles to a JS expression string; nodes with
 * control flow (&&, ||, ?:, loops) first emit statements into the current block and return a
 * temporary. CEL errors are thrown `CelErr` values; constructs that absorb errors catch them.
 */
import type { Expr } from "../parser/ast.js";
import type { FunctionRegistry } from "../runtime/functions.js";

/** What the generator knows statically about a value. */
export type StaticType = "bool" | "int" | "uint" | "double" | "string" | "bytes" | "null" | "list" | "map" | "type" | "optional" | "dyn";

export interface Compiled {
  readonly code: string;
  readonly type: StaticType;
  /** True when evaluating `code` can never throw. */
  readonly safe: boolean;
  /**
   * Set when `code` is a raw activation read that is `undefined` when the variable is missing;
   * the consumer must handle undefined (select does so in its slow path) or call `checked()`.
   */
  readonly unchecked?: string;
  /** Set when the value is a compile-time constant (a literal or a literal list / map). */
  readonly constant?: { readonly value: unknown };
}

export interface LocalVar {
  readonly js: string;
  /** May hold a CelErr value (cel.bind of an erroring init): reads must re-throw it. */
  readonly mayHoldError: boolean;
}

export interface GenOptions {
  readonly registry: FunctionRegistry;
  /** Declared variable names: identifiers resolve statically against them (longest match first). */
  readonly declared: ReadonlySet<string> | undefined;
  readonly container: string;
  /** Unknown functions fail at evaluation instead of at compile time. */
  readonly deferUnknownFunctions: boolean;
  /** `Object{...}` / `Object.x.y{...}` / `JSONPatch{...}` construct maps (CelEnvironmentOptions.objectConstruction). */
  readonly objectConstruction?: boolean;
}

export class CompileError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

export class GenContext {
  lines: string[] = [];
  private tempCount = 0;
  private localCount = 0;
  private labelCount = 0;
  readonly consts: unknown[] = [];
  private readonly constNames = new Map<unknown, string>();
  private readonly scopes: Map<string, LocalVar>[] = [];
  /** Activation variable name → JS const holding `act[name]`. */
  readonly activationReads = new Map<string, string>();
  /** Static cost counters: [0] is the straight-line cost, one more entry per open loop body. */
  private readonly costStack: number[] = [0];
  readonly options: GenOptions;
  /** Set by codegen.ts: compiles one node. */
  compileNode: (ctx: GenContext, node: Expr) => Compiled = () => {
    throw new Error("code generator not initialised");
  };

  constructor(options: GenOptions) {
    this.options = options;
  }

  expr(node: Expr): Compiled {
    this.costStack[this.costStack.length - 1]! += 1;
    return this.compileNode(this, node);
  }

  /** The expression's code, throwing the undeclared-variable error when it is an unchecked read. */
  checked(c: Compiled): string {
    if (c.unchecked === undefined) return c.code;
    return `(${c.code} !== undefined ? ${c.code} : R.undeclared(${JSON.stringify(c.unchecked)}))`;
  }

  temp(): string {
    return `t${this.tempCount++}`;
  }

  tempNames(): string[] {
    return Array.from({ length: this.tempCount }, (_, i) => `t${i}`);
  }

  label(): string {
    return `L${this.labelCount++}`;
  }

  emit(line: string): void {
    this.lines.push(line);
  }

  /** Compiles with a fresh statement list; returns the statements and the value. */
  capture<T>(fn: () => T): { lines: string[]; value: T } {
    const saved = this.lines;
    this.lines = [];
    try {
      const value = fn();
      return { lines: this.lines, value };
    } finally {
      this.lines = saved;
    }
  }

  /** A hoisted constant (`k3`), shared when the same value is used twice. */
  constant(value: unknown): string {
    const existing = this.constNames.get(value);
    if (existing) return existing;
    const name = `k${this.consts.length}`;
    this.consts.push(value);
    if (value !== null && (typeof value === "object" || typeof value === "function")) this.constNames.set(value, name);
    return name;
  }

  /**
   * A string or number literal as a hoisted constant (`k3`), one slot per occurrence. Literal
   * values never enter the generated source, so expressions of the same shape (the same AST with
   * other literals: `principal.department == "eng"` and `principal.department == "sales"`) generate
   * the same source and share one compiled function (see codegen.ts). NaN and infinities stay
   * inline (their spelling is not a value).
   */
  literal(value: string | number): string {
    if (typeof value === "number" && !Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "(-Infinity)";
    const name = `k${this.consts.length}`;
    this.consts.push(value);
    return name;
  }

  /** The JS const reading activation variable `name`. */
  activation(name: string): string {
    let js = this.activationReads.get(name);
    if (!js) {
      js = `a${this.activationReads.size}`;
      this.activationReads.set(name, js);
    }
    return js;
  }

  lookupLocal(name: string): LocalVar | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const v = this.scopes[i]?.get(name);
      if (v) return v;
    }
    return undefined;
  }

  /** Runs `fn` with `names` bound to fresh JS locals; returns fn's result and the local names. */
  withLocals<T>(names: readonly { name: string; mayHoldError: boolean }[], fn: (js: string[]) => T): T {
    const scope = new Map<string, LocalVar>();
    const js = names.map((n) => {
      const v = `v${this.localCount++}`;
      scope.set(n.name, { js: v, mayHoldError: n.mayHoldError });
      return v;
    });
    this.scopes.push(scope);
    try {
      return fn(js);
    } finally {
      this.scopes.pop();
    }
  }

  /** Compiles a loop body, returning it with the static cost of one iteration. */
  loopBody<T>(fn: () => T): { value: T; cost: number } {
    this.costStack.push(0);
    try {
      const value = fn();
      return { value, cost: this.costStack[this.costStack.length - 1] as number };
    } finally {
      this.costStack.pop();
    }
  }

  get staticCost(): number {
    return this.costStack[0] as number;
  }
}

/** A JS property access for a field name: `.name` when it is a plain identifier, `["..."]` otherwise. */
export function propertyAccess(field: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(field) ? `.${field}` : `[${JSON.stringify(field)}]`;
}

/** Names that a plain object inherits from Object.prototype: these need an own-property check. */
export function isInheritedName(name: string): boolean {
  return name in Object.prototype || name === "__proto__";
}
