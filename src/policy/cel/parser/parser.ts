/**
 * Recursive-descent CEL parser (cel-spec grammar plus the optional-value syntax `a.?b`, `a[?b]`,
 * `[?e]`, `{?k: v}`). Produces the tree of ast.ts with macros expanded (macros.ts).
 * Throws CelSyntaxError with a 0-based offset; never returns a partial tree.
 */
import type { Expr, ListNode, MapEntry, StructField } from "./ast.js";
import { qualifiedName } from "./ast.js";
import { CelSyntaxError, reservedWords, tokenize, type Token } from "./lexer.js";
import { expandMacro } from "./macros.js";

/** Deep enough for any real policy, shallow enough that the code generator cannot overflow the stack. */
export const MAX_NESTING = 100;
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

export interface ParseResult {
  readonly expr: Expr;
  /** Number of node ids used (ids are 1..count). */
  readonly nodeCount: number;
}

export function parseCel(source: string): ParseResult {
  const parser = new Parser(source);
  const expr = parser.parseExpr();
  parser.expectEnd();
  return { expr, nodeCount: parser.nextId - 1 };
}

export class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  private depth = 0;
  nextId = 1;
  /** End offset of the last consumed token. */
  lastEnd = 0;

  constructor(source: string) {
    this.tokens = tokenize(source);
  }

  id(): number {
    return this.nextId++;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    this.lastEnd = t.end;
    return t;
  }

  private isOp(value: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.t === "op" && t.v === value;
  }

  private expectOp(value: string): Token {
    const t = this.peek();
    if (t.t !== "op" || t.v !== value) throw new CelSyntaxError(`expected '${value}' but found ${describe(t)}`, t.start);
    return this.next();
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.t !== "eof") throw new CelSyntaxError(`unexpected ${describe(t)} after the end of the expression`, t.start);
  }

  private enter(at: number): void {
    if (++this.depth > MAX_NESTING) throw new CelSyntaxError(`expression nested more than ${MAX_NESTING} levels deep`, at);
  }

  parseExpr(): Expr {
    const start = this.peek().start;
    this.enter(start);
    const cond = this.parseOr();
    let result = cond;
    if (this.isOp("?")) {
      const q = this.next();
      const then = this.parseOr();
      this.expectOp(":");
      const otherwise = this.parseExpr();
      result = { kind: "call", id: this.id(), end: this.lastEnd, start: q.start, fn: "_?_:_", target: undefined, args: [cond, then, otherwise] };
    }
    this.depth--;
    return result;
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isOp("||")) {
      const op = this.next();
      const right = this.parseAnd();
      left = { kind: "call", id: this.id(), end: this.lastEnd, start: op.start, fn: "_||_", target: undefined, args: [left, right] };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseRelation();
    while (this.isOp("&&")) {
      const op = this.next();
      const right = this.parseRelation();
      left = { kind: "call", id: this.id(), end: this.lastEnd, start: op.start, fn: "_&&_", target: undefined, args: [left, right] };
    }
    return left;
  }

  private parseRelation(): Expr {
    let left = this.parseAddition();
    while (true) {
      const t = this.peek();
      let fn: string | undefined;
      if (t.t === "op") fn = relops[t.v];
      else if (t.t === "ident" && t.v === "in") fn = "@in";
      if (fn === undefined) return left;
      this.next();
      const right = this.parseAddition();
      left = { kind: "call", id: this.id(), end: this.lastEnd, start: t.start, fn, target: undefined, args: [left, right] };
    }
  }

  private parseAddition(): Expr {
    let left = this.parseMultiplication();
    while (this.isOp("+") || this.isOp("-")) {
      const op = this.next() as Token & { v: string };
      const right = this.parseMultiplication();
      left = { kind: "call", id: this.id(), end: this.lastEnd, start: op.start, fn: `_${op.v}_`, target: undefined, args: [left, right] };
    }
    return left;
  }

  private parseMultiplication(): Expr {
    let left = this.parseUnary();
    while (this.isOp("*") || this.isOp("/") || this.isOp("%")) {
      const op = this.next() as Token & { v: string };
      const right = this.parseUnary();
      left = { kind: "call", id: this.id(), end: this.lastEnd, start: op.start, fn: `_${op.v}_`, target: undefined, args: [left, right] };
    }
    return left;
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (this.isOp("!") || this.isOp("-")) {
      const op = t.t === "op" ? t.v : "";
      const ops: Token[] = [];
      while (this.isOp(op)) ops.push(this.next());
      if (ops.length > MAX_NESTING) throw new CelSyntaxError(`more than ${MAX_NESTING} consecutive '${op}' operators`, t.start);
      const lit = this.peek();
      // `-1` is a negative literal (so -9223372036854775808 parses); `--1` negates twice.
      if (op === "-" && ops.length === 1 && (lit.t === "int" || lit.t === "double")) {
        this.next();
        return this.parseMemberSuffix(this.numberLiteral(lit, true, t.start));
      }
      this.enter(t.start);
      let operand = this.parseMember();
      this.depth--;
      for (let k = ops.length - 1; k >= 0; k--) {
        const o = ops[k] as Token;
        operand = { kind: "call", id: this.id(), end: this.lastEnd, start: o.start, fn: op === "!" ? "!_" : "-_", target: undefined, args: [operand] };
      }
      return operand;
    }
    return this.parseMember();
  }

  private numberLiteral(t: Token, negative: boolean, start: number): Expr {
    if (t.t === "double") return { kind: "literal", id: this.id(), end: this.lastEnd, start, literal: { type: "double", value: negative ? -t.v : t.v } };
    if (t.t === "uint") {
      if (t.v > UINT64_MAX) throw new CelSyntaxError("uint literal out of range (max 18446744073709551615u)", t.start);
      return { kind: "literal", id: this.id(), end: this.lastEnd, start, literal: { type: "uint", value: t.v } };
    }
    if (t.t !== "int") throw new CelSyntaxError(`expected a number but found ${describe(t)}`, t.start);
    const value = negative ? -t.v : t.v;
    if (value > INT64_MAX || value < -INT64_MAX - 1n) throw new CelSyntaxError("int literal out of the 64-bit range", t.start);
    return { kind: "literal", id: this.id(), end: this.lastEnd, start, literal: { type: "int", value } };
  }

  private parseMember(): Expr {
    return this.parseMemberSuffix(this.parsePrimary());
  }

  private parseMemberSuffix(primary: Expr): Expr {
    let expr = primary;
    while (true) {
      const t = this.peek();
      if (this.isOp(".")) {
        this.next();
        let optional = false;
        if (this.isOp("?")) {
          this.next();
          optional = true;
        }
        const name = this.next();
        if (name.t !== "ident" && name.t !== "quoted") throw new CelSyntaxError(`expected a field name after '.' but found ${describe(name)}`, name.start);
        if (!optional && name.t === "ident" && this.isOp("(")) {
          const args = this.parseArgs();
          expr = this.makeCall(name.v, expr, args, name.start);
          continue;
        }
        expr = { kind: "select", id: this.id(), end: this.lastEnd, start: name.start, operand: expr, field: name.v, test: false, optional };
        continue;
      }
      if (this.isOp("[")) {
        this.next();
        let optional = false;
        if (this.isOp("?")) {
          this.next();
          optional = true;
        }
        const index = this.parseExpr();
        this.expectOp("]");
        expr = { kind: "index", id: this.id(), end: this.lastEnd, start: t.start, operand: expr, index, optional };
        continue;
      }
      if (this.isOp("{")) {
        const typeName = qualifiedName(expr);
        if (typeName === undefined) return expr;
        expr = this.parseStruct(typeName, expr.start);
        continue;
      }
      return expr;
    }
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.t) {
      case "int":
      case "uint":
      case "double":
        this.next();
        return this.numberLiteral(t, false, t.start);
      case "string":
        this.next();
        return { kind: "literal", id: this.id(), end: this.lastEnd, start: t.start, literal: { type: "string", value: t.v } };
      case "bytes":
        this.next();
        return { kind: "literal", id: this.id(), end: this.lastEnd, start: t.start, literal: { type: "bytes", value: t.v } };
      case "ident":
        return this.parseIdentOrCall(false);
      case "quoted":
        throw new CelSyntaxError("a quoted identifier is only allowed after '.'", t.start);
      case "eof":
        throw new CelSyntaxError("unexpected end of expression", t.start);
      case "op":
        break;
    }
    if (this.isOp(".")) {
      this.next();
      return this.parseIdentOrCall(true);
    }
    const after = this.peek(1);
    if (this.isOp("-") && (after.t === "int" || after.t === "double")) {
      this.next();
      this.next();
      return this.numberLiteral(after, true, t.start);
    }
    if (this.isOp("(")) {
      this.next();
      const inner = this.parseExpr();
      this.expectOp(")");
      return inner;
    }
    if (this.isOp("[")) return this.parseList();
    if (this.isOp("{")) return this.parseMap();
    throw new CelSyntaxError(`unexpected ${describe(t)}`, t.start);
  }

  private parseIdentOrCall(rooted: boolean): Expr {
    const t = this.next();
    if (t.t !== "ident") throw new CelSyntaxError(`expected an identifier but found ${describe(t)}`, t.start);
    const name = t.v;
    if (!rooted) {
      if (name === "true" || name === "false") return { kind: "literal", id: this.id(), end: this.lastEnd, start: t.start, literal: { type: "bool", value: name === "true" } };
      if (name === "null") return { kind: "literal", id: this.id(), end: this.lastEnd, start: t.start, literal: { type: "null" } };
    }
    if (reservedWords.has(name) || name === "in" || name === "true" || name === "false" || name === "null") {
      throw new CelSyntaxError(`'${name}' is a reserved word and cannot be used as an identifier`, t.start);
    }
    if (this.isOp("(")) {
      const args = this.parseArgs();
      return this.makeCall(rooted ? `.${name}` : name, undefined, args, t.start);
    }
    return { kind: "ident", id: this.id(), end: this.lastEnd, start: t.start, name, rooted };
  }

  private parseArgs(): Expr[] {
    const open = this.expectOp("(");
    this.enter(open.start);
    const args: Expr[] = [];
    if (!this.isOp(")")) {
      args.push(this.parseExpr());
      while (this.isOp(",")) {
        this.next();
        args.push(this.parseExpr());
      }
    }
    this.expectOp(")");
    this.depth--;
    return args;
  }

  private makeCall(fn: string, target: Expr | undefined, args: Expr[], start: number): Expr {
    const global = fn.startsWith(".") ? fn.slice(1) : fn;
    const macro = expandMacro(this, global, target, args, start);
    if (macro) return macro;
    return { kind: "call", id: this.id(), end: this.lastEnd, start, fn: global, target, args };
  }

  private parseList(): ListNode {
    const open = this.expectOp("[");
    this.enter(open.start);
    const elements: Expr[] = [];
    const optionalIndices: number[] = [];
    while (!this.isOp("]")) {
      if (this.isOp("?")) {
        this.next();
        optionalIndices.push(elements.length);
      }
      elements.push(this.parseExpr());
      if (!this.isOp(",")) break;
      this.next();
    }
    this.expectOp("]");
    this.depth--;
    return { kind: "list", id: this.id(), end: this.lastEnd, start: open.start, elements, optionalIndices };
  }

  private parseMap(): Expr {
    const open = this.expectOp("{");
    this.enter(open.start);
    const entries: MapEntry[] = [];
    while (!this.isOp("}")) {
      let optional = false;
      if (this.isOp("?")) {
        this.next();
        optional = true;
      }
      const key = this.parseExpr();
      this.expectOp(":");
      const value = this.parseExpr();
      entries.push({ key, value, optional });
      if (!this.isOp(",")) break;
      this.next();
    }
    this.expectOp("}");
    this.depth--;
    return { kind: "map", id: this.id(), end: this.lastEnd, start: open.start, entries };
  }

  private parseStruct(typeName: string, start: number): Expr {
    const open = this.expectOp("{");
    this.enter(open.start);
    const fields: StructField[] = [];
    while (!this.isOp("}")) {
      let optional = false;
      if (this.isOp("?")) {
        this.next();
        optional = true;
      }
      const name = this.next();
      if (name.t !== "ident" && name.t !== "quoted") throw new CelSyntaxError(`expected a field name but found ${describe(name)}`, name.start);
      this.expectOp(":");
      const value = this.parseExpr();
      fields.push({ name: name.v, value, optional });
      if (!this.isOp(",")) break;
      this.next();
    }
    this.expectOp("}");
    this.depth--;
    return { kind: "struct", id: this.id(), end: this.lastEnd, start, typeName, fields };
  }
}

const relops: Record<string, string> = { "<": "_<_", "<=": "_<=_", ">": "_>_", ">=": "_>=_", "==": "_==_", "!=": "_!=_" };

function describe(t: Token): string {
  switch (t.t) {
    case "eof":
      return "end of expression";
    case "op":
      return `'${t.v}'`;
    case "ident":
      return `'${t.v}'`;
    case "quoted":
      return `\`${t.v}\``;
    case "string":
      return "a string literal";
    case "bytes":
      return "a bytes literal";
    default:
      return "a number";
  }
}
