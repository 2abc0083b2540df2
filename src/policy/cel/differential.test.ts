/**
 * Differential test: random expressions over random JSON activations, evaluated by Vigil's
 * compiled CEL and by @bufbuild/cel's interpreter (the reference; activations converted under
 * the same value model: integral numbers → int). Both must agree on the value (type-strictly)
 * or both must fail. Seeded, so a failure is reproducible from the printed seed and expression.
 *
 * The generator avoids the constructs where @bufbuild/cel 0.6 itself departs from the spec and
 * cel-go (has() on a key holding null, `in` on a map with a non-scalar key, unary - and ! on
 * non-numbers / non-bools, list indexes that are bools, int('') / double('') / double('a'));
 * semantics.test.ts
 * pins Vigil's (cel-go's) behaviour for those.
 */
import { celEnv, isCelError, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { describe, expect, it } from "vitest";
import { sameValue } from "./conformance/values.js";
import { createCelEnvironment } from "./environment.js";
import { fromInterpreterValue } from "./fallback.js";

/** Mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(private readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }

  /** A map: the top-level variables are objects, as activations are. */
  map(depth: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const k of ["k", "n", "s", "l"].slice(0, 1 + this.int(4))) {
      let v = this.json(depth - 1);
      while (v === null) v = this.json(depth - 1);
      o[k] = v;
    }
    return o;
  }

  /** A JSON value in the activation. */
  json(depth: number): unknown {
    const kinds = depth <= 0 ? ["int", "double", "string", "bool", "null"] : ["int", "double", "string", "bool", "null", "list", "map", "map"];
    switch (this.pick(kinds)) {
      case "int":
        return this.int(21) - 10;
      case "double":
        return (this.int(40) - 20) / 4 + 0.125;
      case "string":
        return this.pick(["a", "ab", "b", "abc", "Ab", "é", "x y", "10"]);
      case "bool":
        return this.chance(0.5);
      case "null":
        return null;
      case "list":
        return Array.from({ length: this.int(4) }, () => this.json(depth - 1));
      default: {
        const o: Record<string, unknown> = {};
        for (const k of ["k", "n", "s", "l"].slice(0, 1 + this.int(4))) o[k] = this.json(depth - 1);
        return o;
      }
    }
  }

  literal(): string {
    return this.pick(["0", "1", "2", "-3", "7", "1.5", "-0.25", "2.0", "'a'", "'ab'", "''", "'b'", "true", "false", "null", "1u", "3u", "[1, 2]", "['a', 'b']", "{'k': 1}", "b'ab'"]);
  }

  path(): string {
    return this.pick(["a", "b", "a.k", "a.n", "a.s", "b.k", "a.l", "a.k.k", "b.l", "a['k']", "a.l[0]", "b.n", "c"]);
  }

  expr(depth: number): string {
    if (depth <= 0) return this.chance(0.5) ? this.literal() : this.path();
    const d = depth - 1;
    switch (this.int(16)) {
      case 0:
        return `${this.expr(d)} ${this.pick(["==", "!="])} ${this.expr(d)}`;
      case 1:
        return `${this.expr(d)} ${this.pick(["<", "<=", ">", ">="])} ${this.expr(d)}`;
      case 2:
        return `(${this.expr(d)} ${this.pick(["+", "-", "*"])} ${this.expr(d)})`;
      case 3:
        return `(${this.expr(d)} ${this.pick(["/", "%"])} ${this.expr(d)})`;
      case 4:
        return `(${this.expr(d)} ${this.pick(["&&", "||"])} ${this.expr(d)})`;
      case 5:
        return `!(${this.expr(d)} ${this.pick(["==", "<", ">="])} ${this.expr(d)})`;
      case 6:
        return `(${this.expr(d)} ? ${this.expr(d)} : ${this.expr(d)})`;
      case 7:
        return this.chance(0.6)
          ? `${this.expr(d)} in ${this.pick(["[1, 'a', 2.5, true]", "['a', 'b']", "[1, 2, 3]", "[a.k, b.n]"])}`
          : `${this.pick(["'k'", "'zz'", "'n'", "1", "'a'"])} in ${this.pick(["a", "b", "a.l", "b.l", "{'k': 1, 'n': 2}"])}`;
      case 8:
        return `size(${this.expr(d)})`;
      case 9:
        return `has(${this.pick(["a.k", "a.n", "b.k", "b.zz", "a.zz"])})`;
      case 10:
        return this.chance(0.8)
          ? `${this.pick(["int", "string", "type", "bool"])}(${this.pick([this.path(), "1.5", "-2", "'10'", "'a'", "true", "3u"])})`
          : `double(${this.pick(["1", "'2.5'", "3u", "-2", "'1e3'", "0.5"])})`;
      case 11:
        return `${this.pick(["a.l", "b.l", "[1, 2, 3]", "a", "['a', 'b']"])}.${this.pick(["all", "exists", "exists_one"])}(x, ${this.exprWith(d, "x")})`;
      case 12:
        return `${this.pick(["a.l", "[1, 2, 3]", "b.l"])}.${this.pick(["map", "filter"])}(x, ${this.exprWith(d, "x")})`;
      case 13:
        return `${this.expr(d)}.${this.pick(["startsWith", "endsWith", "contains"])}(${this.pick(["'a'", "''", "'b'", this.path()])})`;
      case 14:
        return `-(${this.pick(["size(a.l)", "2", "1.5", "int(a.k)", `(${this.expr(d)} + 1)`])})`;
      default:
        return `[${this.expr(d)}, ${this.expr(d)}][${this.pick(["0", "1", "2", "size(b.l)"])}]`;
    }
  }

  /** Policy-shaped: comparisons of attribute paths with literals, joined by && / ||. */
  policy(terms: number): string {
    const parts: string[] = [];
    for (let i = 0; i < terms; i++) {
      const p = this.pick(["p.role", "p.dept", "p.level", "r.owner", "r.tags", "r.size", "c.mfa", "c.hour", "c.ip", "r.project"]);
      switch (this.int(7)) {
        case 0:
          parts.push(`${p} == ${this.pick(["'admin'", "'eng'", "3", "true", "'p7'", "2.5"])}`);
          break;
        case 1:
          parts.push(`${p} in ${this.pick(["['admin', 'editor']", "[1, 2, 3]", "['p7', 'p8', 'p9', 'p1', 'p2', 'p3', 'p4', 'p5']"])}`);
          break;
        case 2:
          parts.push(`${p} ${this.pick(["<", ">=", "!="])} ${this.pick(["8", "3", "'m'", "1.5"])}`);
          break;
        case 3:
          parts.push(`has(${this.pick(["p.role", "r.owner", "c.zz", "r.tags"])})`);
          break;
        case 4:
          parts.push(`${p}.startsWith('p')`);
          break;
        case 5:
          parts.push(`size(${p}) > 1`);
          break;
        default:
          parts.push(`r.tags.exists(t, t == ${this.pick(["'pii'", "'public'", "p.dept"])})`);
      }
    }
    return parts.join(this.chance(0.7) ? " && " : " || ");
  }

  policyInput(): Record<string, unknown> {
    const maybe = <T>(v: T): T | undefined => (this.chance(0.9) ? v : undefined);
    const strip = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    return {
      p: strip({ role: maybe(this.pick(["admin", "editor", "viewer", 3])), dept: maybe(this.pick(["eng", "ops", "pii"])), level: maybe(this.int(5)) }),
      r: strip({ owner: maybe(this.pick(["alice", "bob"])), tags: maybe(this.pick([["pii"], ["public", "eng"], [], "pii"])), size: maybe(this.pick([1, 2.5, 4, "big"])), project: maybe(this.pick(["p7", "p8", "p1", "q2"])) }),
      c: strip({ mfa: maybe(this.chance(0.5)), hour: maybe(this.int(24)), ip: maybe(this.pick(["10.0.0.1", "192.168.1.1"])) }),
    };
  }

  exprWith(depth: number, v: string): string {
    return this.expr(depth).replace(/\bc\b/g, v);
  }
}

const reference = plan.bind(null, celEnv({ funcs: strings }));

/** The activation as the reference interpreter takes it, under Vigil's value model. */
function toReference(v: unknown): unknown {
  if (typeof v === "number") return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toReference);
  if (v !== null && typeof v === "object") return new Map(Object.entries(v).map(([k, x]) => [k, toReference(x)]));
  return v;
}

type Result = { ok: true; value: unknown } | { ok: false };

function runBoth(expr: string, activation: Record<string, unknown>): { vigil: Result; reference: Result } {
  const program = createCelEnvironment().compile(expr, { deferUnknownFunctions: true });
  const outcome = program.evaluate(activation, { raw: true });
  const refInput = Object.fromEntries(Object.entries(activation).map(([k, v]) => [k, toReference(v)]));
  const refResult = reference(parse(expr))(refInput as never);
  return {
    vigil: outcome.ok ? { ok: true, value: outcome.value } : { ok: false },
    reference: isCelError(refResult) ? { ok: false } : { ok: true, value: fromInterpreterValue(refResult) },
  };
}

function show(r: Result): string {
  return r.ok ? JSON.stringify(r.value, (_, x: unknown) => (typeof x === "bigint" ? `${x}n` : x)) ?? String(r.value) : "error";
}

describe("differential: Vigil compiled CEL vs @bufbuild/cel interpreter", () => {
  it("agrees on 3000 random policy-shaped conditions (attribute comparisons joined by && / ||)", () => {
    const seed = 7;
    const g = new Gen(rng(seed));
    const mismatches: string[] = [];
    let bothOk = 0;
    for (let i = 0; i < 3000; i++) {
      const expr = g.policy(1 + g.int(5));
      const activation = g.policyInput();
      const { vigil, reference: ref } = runBoth(expr, activation);
      if (!vigil.ok && !ref.ok) continue;
      if (vigil.ok && ref.ok && sameValue(vigil.value, ref.value)) {
        bothOk++;
        continue;
      }
      mismatches.push(`${expr} with ${JSON.stringify(activation)}: vigil ${show(vigil)} / reference ${show(ref)}`);
    }
    expect(mismatches.slice(0, 40), `seed ${seed}`).toEqual([]);
    expect(bothOk).toBeGreaterThan(1500);
  });

  it("agrees on 3000 random expressions over random JSON data", () => {
    const seed = 20240611;
    const g = new Gen(rng(seed));
    const mismatches: string[] = [];
    let bothOk = 0;
    for (let i = 0; i < 3000; i++) {
      const expr = g.expr(1 + g.int(3));
      const activation = { a: g.map(3), b: g.map(2), ...(g.chance(0.5) ? { c: g.json(1) } : {}) };
      const { vigil, reference: ref } = runBoth(expr, activation);
      if (!vigil.ok && !ref.ok) continue;
      if (vigil.ok && ref.ok && sameValue(vigil.value, ref.value)) {
        bothOk++;
        continue;
      }
      mismatches.push(`${expr} with ${JSON.stringify(activation)}: vigil ${show(vigil)} / reference ${show(ref)}`);
    }
    expect(mismatches.slice(0, 40), `seed ${seed}`).toEqual([]);
    // the generator must produce mostly evaluable expressions, or the comparison proves little
    expect(bothOk).toBeGreaterThan(700);
  });
});
