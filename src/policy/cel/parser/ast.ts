/**
 * The CEL syntax tree produced by parser.ts. Macros are expanded at parse time into dedicated
 * nodes (`comprehension`, `bind`, `optMap`) rather than the generic cel-go comprehension shape,
 * so the code generator can emit a specialised loop for each macro.
 *
 * Every node carries `id` (unique within one parse), `start` and `end` (0-based offsets into the
 * source) for error positions and for slicing the source of a sub-expression (`sourceSpan`).
 */

export type LiteralValue =
  | { readonly type: "int"; readonly value: bigint }
  | { readonly type: "uint"; readonly value: bigint }
  | { readonly type: "double"; readonly value: number }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "bytes"; readonly value: Uint8Array }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "null" };

interface NodeBase {
  readonly id: number;
  /** Offset of the node's own token (the operator of a binary expression). */
  readonly start: number;
  /** Offset just after the node's last token. */
  readonly end: number;
}

export interface LiteralNode extends NodeBase {
  readonly kind: "literal";
  readonly literal: LiteralValue;
}

export interface IdentNode extends NodeBase {
  readonly kind: "ident";
  readonly name: string;
  /** A leading dot (`.name`): resolve from the root, ignoring the container. */
  readonly rooted: boolean;
}

export interface SelectNode extends NodeBase {
  readonly kind: "select";
  readonly operand: Expr;
  readonly field: string;
  /** `has(a.b)`. */
  readonly test: boolean;
  /** `a.?b` (optional select). */
  readonly optional: boolean;
}

export interface IndexNode extends NodeBase {
  readonly kind: "index";
  readonly operand: Expr;
  readonly index: Expr;
  /** `a[?b]` (optional index). */
  readonly optional: boolean;
}

export interface CallNode extends NodeBase {
  readonly kind: "call";
  /** Operators use cel-go names: `_&&_`, `_==_`, `@in`, `!_`, `-_`, `_?_:_`, ... */
  readonly fn: string;
  readonly target: Expr | undefined;
  readonly args: readonly Expr[];
}

export interface ListNode extends NodeBase {
  readonly kind: "list";
  readonly elements: readonly Expr[];
  /** Indexes of `?e` elements (included only when the optional has a value). */
  readonly optionalIndices: readonly number[];
}

export interface MapEntry {
  readonly key: Expr;
  readonly value: Expr;
  readonly optional: boolean;
}

export interface MapNode extends NodeBase {
  readonly kind: "map";
  readonly entries: readonly MapEntry[];
}

export interface StructField {
  readonly name: string;
  readonly value: Expr;
  readonly optional: boolean;
}

/** `pkg.Message{field: value}`: protobuf message construction. */
export interface StructNode extends NodeBase {
  readonly kind: "struct";
  readonly typeName: string;
  readonly fields: readonly StructField[];
}

export type ComprehensionKind =
  | "all"
  | "exists"
  | "existsOne"
  | "map"
  | "filter"
  | "transformList"
  | "transformMap"
  | "transformMapEntry"
  | "sortBy";

/**
 * A macro loop over a list (elements; with two variables: index and element) or a map (keys;
 * with two variables: key and value).
 */
export interface ComprehensionNode extends NodeBase {
  readonly kind: "comprehension";
  readonly macro: ComprehensionKind;
  readonly range: Expr;
  readonly iterVar: string;
  readonly iterVar2: string | undefined;
  /** all / exists / existsOne predicate, map / transform filter. */
  readonly predicate: Expr | undefined;
  /** map / transform / sortBy projection. */
  readonly transform: Expr | undefined;
}

/** `cel.bind(name, init, body)` and `cel.block` slots. */
export interface BindNode extends NodeBase {
  readonly kind: "bind";
  readonly name: string;
  readonly init: Expr;
  readonly body: Expr;
}

/** `opt.optMap(v, expr)` / `opt.optFlatMap(v, expr)`. */
export interface OptMapNode extends NodeBase {
  readonly kind: "optMap";
  readonly flat: boolean;
  readonly target: Expr;
  readonly varName: string;
  readonly body: Expr;
}

export type Expr =
  | LiteralNode
  | IdentNode
  | SelectNode
  | IndexNode
  | CallNode
  | ListNode
  | MapNode
  | StructNode
  | ComprehensionNode
  | BindNode
  | OptMapNode;

/** Calls `visit` on every direct child of `node`. */
export function forEachChild(node: Expr, visit: (child: Expr) => void): void {
  switch (node.kind) {
    case "literal":
    case "ident":
      return;
    case "select":
      visit(node.operand);
      return;
    case "index":
      visit(node.operand);
      visit(node.index);
      return;
    case "call":
      if (node.target) visit(node.target);
      node.args.forEach(visit);
      return;
    case "list":
      node.elements.forEach(visit);
      return;
    case "map":
      for (const e of node.entries) {
        visit(e.key);
        visit(e.value);
      }
      return;
    case "struct":
      for (const f of node.fields) visit(f.value);
      return;
    case "comprehension":
      visit(node.range);
      if (node.predicate) visit(node.predicate);
      if (node.transform) visit(node.transform);
      return;
    case "bind":
      visit(node.init);
      visit(node.body);
      return;
    case "optMap":
      visit(node.target);
      visit(node.body);
      return;
  }
}

/** The dotted name of an identifier or select chain (`a.b.c`), or undefined when it is not one. */
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True for a name the grammar reads as an identifier (a backquoted field may be any string). */
export function isIdentifier(name: string): boolean {
  return identifier.test(name);
}

export function qualifiedName(node: Expr): string | undefined {
  if (node.kind === "ident") return node.rooted ? `.${node.name}` : node.name;
  // A backquoted field that is no identifier (`labels.\`app.kubernetes.io/name\``) is a field name only, never part of a qualified name.
  if (node.kind === "select" && !node.test && !node.optional && isIdentifier(node.field)) {
    const base = qualifiedName(node.operand);
    return base === undefined ? undefined : `${base}.${node.field}`;
  }
  return undefined;
}

/** [start, end) of the source text of `node`, including all its operands. */
export function sourceSpan(node: Expr): [number, number] {
  let start = node.start;
  let end = node.end;
  forEachChild(node, (child) => {
    const [s, e] = sourceSpan(child);
    if (s < start) start = s;
    if (e > end) end = e;
  });
  return [start, end];
}
