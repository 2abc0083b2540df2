/**
 * `{{ }}` variable substitution as Kyverno does it: a string that is exactly one variable takes
 * the variable's raw value (object, number...); variables inside longer strings are replaced by
 * their text (JSON for non-strings); `\{{` escapes. A field path that reaches an explicit null (a
 * field whose value is null, or a field of a null parent such as `request.oldObject` on CREATE)
 * resolves to null: nil as a whole-string variable, "null" inside a longer string, as Kyverno's
 * go-jmespath answers nil without error there. Any other null result (a key missing from an object,
 * which is Kyverno's NotFoundError) is an error ("variable x not resolved"), except where the
 * caller asks for an empty string (preconditions) or null (mutate).
 */
import { compileJmes, searchJmes } from "./jmespath.js";
import { goJsonMarshal } from "./go-json.js";

export type Substitution = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

export interface SubstituteOptions {
  /**
   * `error` (default): an unresolved variable fails the substitution. `empty`: it becomes "".
   * `null`: it becomes null (a whole-string variable) or "null" (inside a longer string), as
   * Kyverno's mutate substitution does; a failing JMESPath expression is still an error.
   */
  readonly missing?: "error" | "empty" | "null";
  /** DELETE requests read `request.oldObject` where the policy says `request.object`. */
  readonly deleteRequest?: boolean;
}

interface VariableSpan {
  readonly start: number;
  readonly end: number;
  readonly expression: string;
}

const variablePattern = /\{\{(?:\{[^{}]*\}|[^{}])*\}\}/g;

/**
 * Finds innermost `{{ ... }}` spans (single braces inside, e.g. a JMESPath multiselect hash, are
 * allowed), skipping escaped ones. Nested variables resolve inner first, as Kyverno does.
 */
const spansByText = new Map<string, readonly VariableSpan[]>();

function findVariables(text: string): readonly VariableSpan[] {
  // Policy strings are few and short; resolved values (later rounds) may be neither: not cached.
  if (text.length > 512) return scanVariables(text);
  let spans = spansByText.get(text);
  if (spans === undefined) {
    spans = scanVariables(text);
    if (spansByText.size > 10_000) spansByText.clear();
    spansByText.set(text, spans);
  }
  return spans;
}

function scanVariables(text: string): VariableSpan[] {
  const spans: VariableSpan[] = [];
  for (const m of text.matchAll(variablePattern)) {
    const start = m.index;
    if (start > 0 && text[start - 1] === "\\") continue;
    spans.push({ start, end: start + m[0].length, expression: m[0].slice(2, -2).trim() });
  }
  return spans;
}

/** True when the string holds a `{{ }}` variable. */
export function hasVariables(text: string): boolean {
  return findVariables(text).length > 0;
}

/** A value written into a longer string: Go's json.Marshal of it (substituteVarInPattern), a string as it is. */
function stringify(value: unknown): string {
  return typeof value === "string" ? value : goJsonMarshal(value);
}

interface AstNode {
  readonly type: string;
  readonly name?: unknown;
  readonly left?: AstNode;
  readonly right?: AstNode;
}

/** The field names of a plain field path (`a.b."c.d"`), or undefined for any other expression. */
function fieldPath(node: AstNode): string[] | undefined {
  if (node.type === "Field" && typeof node.name === "string") return [node.name];
  if (node.type !== "Subexpression" || !node.left || !node.right) return undefined;
  const left = fieldPath(node.left), right = fieldPath(node.right);
  return left && right ? [...left, ...right] : undefined;
}

/**
 * True when a plain field path that evaluated to null got there without a missing key: Kyverno's
 * go-jmespath (ASTField) returns NotFoundError only for a key absent from a map; a field of nil or
 * of a non-object is nil without error, and ctx.Query (context/evaluate.go) passes that nil on.
 */
function reachesExplicitNull(expression: string, data: unknown): boolean {
  const ast = compileJmes(expression);
  if (ast instanceof Error) return false;
  const names = fieldPath(ast as unknown as AstNode);
  if (!names) return false;
  let current: unknown = data;
  for (const name of names) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return true;
    if (!Object.prototype.hasOwnProperty.call(current, name)) return false;
    current = (current as Record<string, unknown>)[name];
  }
  return current === null;
}

/** Resolves one variable expression against the context document. */
export function resolveVariable(expression: string, data: unknown, options: SubstituteOptions = {}): Substitution {
  let expr = expression;
  if (options.deleteRequest) expr = expr.replace(/request\.object/g, "request.oldObject");
  const result = searchJmes(expr, data);
  if (!result.ok) {
    if (options.missing === "empty") return { ok: true, value: "" };
    return result;
  }
  if (result.value === null || result.value === undefined) {
    if (reachesExplicitNull(expr, data)) return { ok: true, value: null };
    if (options.missing === "empty") return { ok: true, value: "" };
    if (options.missing === "null") return { ok: true, value: null };
    return { ok: false, error: `variable ${expression} not resolved` };
  }
  return { ok: true, value: result.value };
}

/** Substitutes the variables of one string. */
export function substituteString(text: string, data: unknown, options: SubstituteOptions = {}): Substitution {
  let current = text;
  for (let round = 0; round < 10; round++) {
    const spans = findVariables(current);
    if (spans.length === 0) break;
    const only = spans[0];
    if (spans.length === 1 && only && only.start === 0 && only.end === current.length) {
      const resolved = resolveVariable(only.expression, data, options);
      if (!resolved.ok) return resolved;
      if (typeof resolved.value !== "string") return resolved;
      current = resolved.value;
      continue;
    }
    let out = "";
    let last = 0;
    for (const span of spans) {
      const resolved = resolveVariable(span.expression, data, options);
      if (!resolved.ok) return resolved;
      out += current.slice(last, span.start) + stringify(resolved.value);
      last = span.end;
    }
    current = out + current.slice(last);
  }
  return { ok: true, value: current.replace(/\\\{\{/g, "{{") };
}

const variableFree = new WeakMap<object, boolean>();

function computeVariableFree(value: unknown): boolean {
  if (typeof value === "string") return !value.includes("{{");
  if (Array.isArray(value)) return value.every(computeVariableFree);
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) if (k.includes("{{") || !computeVariableFree(v)) return false;
  }
  return true;
}

/**
 * True when no string (key or value) of the tree contains `{{`: substitution would return an
 * equal copy, so the tree itself is returned. Cached per object. INVARIANT: the trees passed to
 * substituteAll (policy documents) are not mutated after loading, and nobody mutates a result.
 */
function isVariableFree(value: object): boolean {
  let free = variableFree.get(value);
  if (free === undefined) {
    free = computeVariableFree(value);
    variableFree.set(value, free);
  }
  return free;
}

/** Substitutes variables in every string (keys excluded) of a JSON-like value. Never throws. */
export function substituteAll(value: unknown, data: unknown, options: SubstituteOptions = {}): Substitution {
  if (typeof value === "string") {
    if (!value.includes("{{")) return { ok: true, value };
    return substituteString(value, data, options);
  }
  if (value !== null && typeof value === "object" && isVariableFree(value)) return { ok: true, value };
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      const r = substituteAll(item, data, options);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      let key = k;
      if (k.includes("{{")) {
        const rk = substituteString(k, data, options);
        if (!rk.ok) return rk;
        key = stringify(rk.value);
      }
      const r = substituteAll(v, data, options);
      if (!r.ok) return r;
      out[key] = r.value;
    }
    return { ok: true, value: out };
  }
  return { ok: true, value };
}
