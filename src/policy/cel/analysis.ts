/**
 * Static facts about a parsed expression, for traces and indexing:
 * - `references`: attribute paths read from activation variables (`resource.kind`); complete: a
 *   variable read other than through a static path (`size(v)`, `v[k]`, a macro over `v`) is
 *   reported as the bare variable name;
 * - `requiredValues`: equality / literal-list membership constraints that hold whenever the
 *   expression is true. Only conjunctions are followed: nothing under `||`, `!`, `?:`, a macro
 *   or a function is reported, so every reported constraint is sound;
 * - `topLevelTerms`: the operands of a top-level `&&` / `||` chain.
 */
import type { IndexKey } from "../../core/policy.js";
import { forEachChild, isIdentifier, type Expr } from "./parser/ast.js";
import { isInheritedName } from "./compiler/context.js";
import { typeIdentifiers } from "./runtime/values.js";

const identifierLike = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** The key of `a["key"]` when it can be a path segment (identifier-like, not an inherited name). */
function staticKey(index: Expr): string | undefined {
  if (index.kind !== "literal" || index.literal.type !== "string") return undefined;
  const key = index.literal.value;
  return identifierLike.test(key) && !isInheritedName(key) ? key : undefined;
}

/**
 * The dotted path of a chain of field selections (and identifier-like string-literal indexes)
 * rooted at a variable that is not bound by a macro, or undefined.
 */
export function attributePath(node: Expr, locals: ReadonlySet<string>): string | undefined {
  if (node.kind === "ident") return locals.has(node.name) ? undefined : node.name;
  // A dotted path has identifier segments only: a backquoted `a.b` field would split in two.
  if (node.kind === "select" && !node.optional && !node.test && isIdentifier(node.field)) {
    const base = attributePath(node.operand, locals);
    return base === undefined ? undefined : `${base}.${node.field}`;
  }
  if (node.kind === "index" && !node.optional) {
    const key = staticKey(node.index);
    if (key === undefined) return undefined;
    const base = attributePath(node.operand, locals);
    return base === undefined ? undefined : `${base}.${key}`;
  }
  return undefined;
}

/**
 * Every attribute path the expression reads, longest chains only, in first-seen order.
 * `isFunction(name)` tells namespaced functions (`math.greatest`) from variables; type names
 * (`int`, `google.protobuf.Timestamp`) are not references.
 */
export function collectReferences(expr: Expr, isFunction: (name: string) => boolean = () => false): string[] {
  const out = new Set<string>();
  const visit = (node: Expr, locals: ReadonlySet<string>): void => {
    if (node.kind === "call" && node.target) {
      const ns = attributePath(node.target, locals);
      if (ns !== undefined && isFunction(`${ns}.${node.fn}`)) {
        node.args.forEach((a) => visit(a, locals));
        return;
      }
    }
    const path = attributePath(node, locals);
    if (path !== undefined && !path.startsWith("@")) {
      if (!typeIdentifiers.has(path)) out.add(path);
      return;
    }
    // has(a.b), a.?b and a[?"b"] read the path a.b (when present) like a.b does.
    const tested = node.kind === "select" && (node.test || node.optional) && isIdentifier(node.field) ? node.field
      : node.kind === "index" && node.optional ? staticKey(node.index) : undefined;
    if (tested !== undefined && (node.kind === "select" || node.kind === "index")) {
      const base = attributePath(node.operand, locals);
      if (base !== undefined) {
        out.add(`${base}.${tested}`);
        return;
      }
    }
    if (node.kind === "comprehension") {
      visit(node.range, locals);
      const inner = new Set(locals);
      inner.add(node.iterVar);
      if (node.iterVar2 !== undefined) inner.add(node.iterVar2);
      if (node.predicate) visit(node.predicate, inner);
      if (node.transform) visit(node.transform, inner);
      return;
    }
    if (node.kind === "bind") {
      visit(node.init, locals);
      visit(node.body, new Set([...locals, node.name]));
      return;
    }
    if (node.kind === "optMap") {
      visit(node.target, locals);
      visit(node.body, new Set([...locals, node.varName]));
      return;
    }
    forEachChild(node, (child) => visit(child, locals));
  };
  visit(expr, new Set());
  return [...out];
}

type Scalar = string | number | boolean;

function scalarLiteral(node: Expr): Scalar | undefined {
  if (node.kind !== "literal") return undefined;
  const lit = node.literal;
  switch (lit.type) {
    case "string":
    case "bool":
      return lit.value;
    case "int":
      return lit.value >= -9007199254740991n && lit.value <= 9007199254740991n ? Number(lit.value) : undefined;
    case "double":
      return Number.isFinite(lit.value) ? lit.value : undefined;
    default:
      return undefined;
  }
}

function conjuncts(node: Expr): Expr[] {
  if (node.kind === "call" && node.fn === "_&&_" && node.target === undefined) {
    return [...conjuncts(node.args[0] as Expr), ...conjuncts(node.args[1] as Expr)];
  }
  return [node];
}

/**
 * The path of a chain of plain field selections from a variable (`a.b.c`), or undefined. Only such
 * paths make index constraints: reading one fails only as a missing attribute, and it is read
 * like a qualified name (`a.b` may be an activation key when there is no `a`), as readPath reads
 * it. `a["b"]` is an index on `a`, which fails otherwise on a list and is never a qualified name.
 */
function selectionPath(node: Expr): string | undefined {
  if (node.kind === "ident") return node.name;
  if (node.kind !== "select" || node.optional || node.test || !isIdentifier(node.field)) return undefined;
  const base = selectionPath(node.operand);
  return base === undefined ? undefined : `${base}.${node.field}`;
}

/** A chain of plain field selections from a variable, backquoted fields included: reading it fails only as a missing attribute. */
function selectionsOnly(node: Expr): boolean {
  return node.kind === "ident" || (node.kind === "select" && !node.optional && !node.test && selectionsOnly(node.operand));
}

/**
 * `selection == literal`, `literal == selection` or `selection in [literals]`, which is false, true
 * or a missing-attribute error (`==` against a literal and `in` over a literal list never fail
 * otherwise); `key` is the constraint when the selection has a dotted path.
 */
function constraintOf(node: Expr): { key: IndexKey | undefined } | undefined {
  if (node.kind !== "call" || node.target !== undefined || node.args.length !== 2) return undefined;
  const [a, b] = node.args as [Expr, Expr];
  if (node.fn === "_==_") {
    const [selection, literal] = selectionsOnly(a) && scalarLiteral(b) !== undefined ? [a, b] : selectionsOnly(b) && scalarLiteral(a) !== undefined ? [b, a] : [];
    if (selection === undefined || literal === undefined) return undefined;
    const path = selectionPath(selection);
    return { key: path === undefined ? undefined : { path, values: [scalarLiteral(literal) as Scalar] } };
  }
  if (node.fn === "@in" && b.kind === "list" && b.optionalIndices.length === 0 && selectionsOnly(a)) {
    const values = b.elements.map(scalarLiteral);
    if (values.some((v) => v === undefined)) return undefined;
    const path = selectionPath(a);
    return { key: path === undefined ? undefined : { path, values: [...new Set(values as Scalar[])] } };
  }
  return undefined;
}

/**
 * Constraints implied by the expression being true. Paths constrained twice keep the
 * intersection (an empty list means the expression can never be true). A constraint is marked
 * `absentUndecided` when a conjunct before it is no constraint: only with constraints alone
 * before it does an absent value make the whole expression false or a missing-attribute error
 * (`&&` is false when an operand is false, else it raises its first error).
 */
export function collectRequiredValues(expr: Expr): IndexKey[] {
  const byPath = new Map<string, { values: Scalar[]; absentUndecided: boolean }>();
  let onlyConstraints = true;
  for (const c of conjuncts(expr)) {
    const found = constraintOf(c);
    const decided: boolean = onlyConstraints && found !== undefined;
    onlyConstraints = decided;
    const key = found?.key;
    if (key === undefined || key.path.startsWith("@")) continue;
    const prev = byPath.get(key.path);
    byPath.set(key.path, prev
      ? { values: prev.values.filter((v) => key.values.includes(v)), absentUndecided: prev.absentUndecided && !decided }
      : { values: [...key.values], absentUndecided: !decided });
  }
  return [...byPath].map(([path, { values, absentUndecided }]) => (absentUndecided ? { path, values, absentUndecided } : { path, values }));
}

/** Operands of a top-level `&&` / `||` chain (left to right), or undefined. */
export function topLevelTerms(expr: Expr): { operator: "&&" | "||"; parts: Expr[] } | undefined {
  if (expr.kind !== "call" || expr.target !== undefined) return undefined;
  const operator = expr.fn === "_&&_" ? "&&" : expr.fn === "_||_" ? "||" : undefined;
  if (!operator) return undefined;
  const flatten = (n: Expr): Expr[] =>
    n.kind === "call" && n.fn === expr.fn && n.target === undefined ? [...flatten(n.args[0] as Expr), ...flatten(n.args[1] as Expr)] : [n];
  return { operator, parts: flatten(expr) };
}
