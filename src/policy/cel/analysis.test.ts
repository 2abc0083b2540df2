/**
 * program.terms, program.references and program.requiredValues, including a soundness property:
 * whenever an expression evaluates to true, every reported constraint holds on the input.
 */
import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "./environment.js";

const env = createCelEnvironment();

describe("terms", () => {
  it("splits a top-level && chain into programs with their source", () => {
    const p = env.compile("principal.role in ['admin', 'editor'] && (resource.project == 'p7') && context.hour >= 8");
    expect(p.terms?.operator).toBe("&&");
    expect(p.terms?.parts.map((t) => t.source)).toEqual(["principal.role in ['admin', 'editor']", "resource.project == 'p7'", "context.hour >= 8"]);
    const input = { principal: { role: "viewer" }, resource: { project: "p7" }, context: { hour: 9 } };
    expect(p.terms?.parts.map((t) => t.evaluate(input))).toEqual([{ ok: true, value: false }, { ok: true, value: true }, { ok: true, value: true }]);
  });

  it("splits || chains, keeps nested groups whole, and has no terms for other shapes", () => {
    const p = env.compile("a == 1 || (b == 2 && c == 3) || d.exists(x, x > 1 || x < -1)");
    expect(p.terms?.operator).toBe("||");
    expect(p.terms?.parts.map((t) => t.source)).toEqual(["a == 1", "b == 2 && c == 3", "d.exists(x, x > 1 || x < -1)"]);
    expect(env.compile("!(a && b)").terms).toBeUndefined();
    expect(env.compile("a ? b : c").terms).toBeUndefined();
  });
});

describe("references", () => {
  it("lists attribute paths read from variables, not loop variables, functions or types", () => {
    const p = env.compile("resource.kind == 'Pod' && has(resource.metadata.labels) && object.spec.containers.all(c, c.image.startsWith(params.registry)) && math.greatest(1, context.n) > 0 && type(x) == int && optional.of(y).hasValue() && m['team'] == 'a'");
    expect(p.references).toEqual(["resource.kind", "resource.metadata.labels", "object.spec.containers", "params.registry", "context.n", "x", "y", "m.team"]);
  });

  it("includes a comprehension's range and a bind's init, but not the bound names", () => {
    const p = env.compile("cel.bind(t, request.tags, t.exists(x, x == user.name))");
    expect(p.references).toEqual(["request.tags", "user.name"]);
  });

  it("is complete: optional selections name their path, other reads of a variable its bare name", () => {
    expect(env.compile("a.?b.orValue(1) + c[?'d'].orValue(2) + e.?f.?g.orValue(3)").references).toEqual(["a.b", "c.d", "e.f"]);
    expect(env.compile("size(v) + w[k] + x.all(i, i > 0) ? 1 : 2").references).toEqual(["v", "w", "k", "x"]);
    expect(env.compile("[1].exists(v, v.f == 1) // v.g").references).toEqual([]);
  });
});

describe("requiredValues", () => {
  it("reports equality and literal-list membership constraints of a conjunction", () => {
    const p = env.compile("resource.kind == 'Pod' && request.action in ['create', 'update'] && 'p7' == resource.project && context.mfa == true && context.level == 3");
    expect(p.requiredValues).toEqual([
      { path: "resource.kind", values: ["Pod"] },
      { path: "request.action", values: ["create", "update"] },
      { path: "resource.project", values: ["p7"] },
      { path: "context.mfa", values: [true] },
      { path: "context.level", values: [3] },
    ]);
  });

  it("intersects constraints on the same path", () => {
    expect(env.compile("a.k in ['x', 'y', 'z'] && a.k in ['y', 'z', 'w'] && a.k != 'z'").requiredValues).toEqual([{ path: "a.k", values: ["y", "z"] }]);
    expect(env.compile("a.k == 'x' && a.k == 'y'").requiredValues).toEqual([{ path: "a.k", values: [] }]);
  });

  it("reports nothing under ||, !, ?:, macros or functions", () => {
    for (const expr of [
      "a.k == 'x' || b.k == 'y'",
      "!(a.k == 'x')",
      "a.k != 'x'",
      "c ? a.k == 'x' : true",
      "[1].all(i, a.k == 'x')",
      "(a.k == 'x') == false",
      "a.k in ['x', b.k]",
      "a.k in b.list",
      "has(a.k) && string(a.k == 'x') == 'true'",
      "x.map(v, v == 'a')[0] && true",
    ]) {
      expect(env.compile(expr).requiredValues, expr).toEqual([]);
    }
  });

  it("is sound: when the expression is true, every constraint holds (random conditions and inputs)", () => {
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[next(xs.length)] as T;
    const paths = ["p.role", "p.dept", "r.project", "c.mfa", "c.level"];
    const values: Record<string, readonly unknown[]> = {
      "p.role": ["admin", "editor", "viewer"], "p.dept": ["eng", "ops"], "r.project": ["p1", "p7", "p8"], "c.mfa": [true, false], "c.level": [1, 2, 3, 2.5],
    };
    const literal = (v: unknown): string => (typeof v === "string" ? `'${v}'` : String(v));
    const term = (): string => {
      const path = pick(paths);
      const vs = values[path] as readonly unknown[];
      switch (next(5)) {
        case 0:
          return `${path} == ${literal(pick(vs))}`;
        case 1:
          return `${path} in [${[pick(vs), pick(vs)].map(literal).join(", ")}]`;
        case 2:
          return `(${path} == ${literal(pick(vs))} || ${pick(paths)} == ${literal(pick(values[pick(paths)] as readonly unknown[]))})`;
        case 3:
          return `!(${path} == ${literal(pick(vs))})`;
        default:
          return `${path} != ${literal(pick(vs))}`;
      }
    };
    let checked = 0;
    for (let i = 0; i < 2000; i++) {
      const expr = Array.from({ length: 1 + next(4) }, term).join(" && ");
      const program = env.compile(expr);
      for (let j = 0; j < 10; j++) {
        const input = {
          p: { role: pick(values["p.role"] as readonly unknown[]), dept: pick(values["p.dept"] as readonly unknown[]) },
          r: { project: pick(values["r.project"] as readonly unknown[]) },
          c: { mfa: pick(values["c.mfa"] as readonly unknown[]), level: pick(values["c.level"] as readonly unknown[]) },
        };
        const outcome = program.evaluate(input);
        if (!(outcome.ok && outcome.value === true)) continue;
        for (const key of program.requiredValues) {
          const [root, field] = key.path.split(".") as [keyof typeof input, string];
          const actual = (input[root] as Record<string, unknown>)[field];
          expect(key.values, `${expr} with ${JSON.stringify(input)}`).toContain(actual);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});
