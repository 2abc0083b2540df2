/**
 * The public API of the CEL environment: compile errors, declared variables and containers,
 * the extension-function API (plain, raw, typed overloads, namespaces, extend), raw results.
 */
import { describe, expect, it } from "vitest";
import { VigilError } from "../../core/errors.js";
import type { CelFunctionDefinition } from "./api.js";
import { createCelEnvironment } from "./environment.js";

const env = createCelEnvironment();

function compileError(source: string, origin?: string): VigilError {
  try {
    env.compile(source, origin === undefined ? {} : { origin });
  } catch (e) {
    if (e instanceof VigilError) return e;
    throw e;
  }
  throw new Error(`expected ${source} not to compile`);
}

describe("compile errors", () => {
  it("name the origin and give a 1-based line and column", () => {
    const e = compileError("resource.kind == 'Pod' &&\n  resource.name ==", "policy p / spec.rules[0].condition");
    expect(e.code).toBe("VIGIL_POLICY_COMPILE");
    expect(e.message).toContain("policy p / spec.rules[0].condition");
    expect(e.details).toMatchObject({ field: "policy p / spec.rules[0].condition", line: 2, column: 19 });
    expect(e.details.hint).toContain("^");
  });

  it("locates errors after multi-byte characters by code point", () => {
    expect(compileError("'🐱🐱' == @").details).toMatchObject({ line: 1, column: 9 });
  });

  it("rejects syntax errors, reserved words, bad literals and unknown functions", () => {
    expect(compileError("a = 1").message).toMatch(/did you mean '=='/);
    expect(compileError("if == 1").message).toMatch(/reserved word/);
    expect(compileError("9223372036854775808").message).toMatch(/out of the 64-bit range/);
    expect(compileError("'\\q'").message).toMatch(/invalid escape/);
    expect(compileError("'unterminated").message).toMatch(/unterminated/);
    expect(compileError("x.all(1, true)").message).toMatch(/loop variable must be a simple name/);
    expect(compileError("has(x)").message).toMatch(/has\(\) needs a field selection/);
    // An optional selection is no field selection (cel-go: invalid argument to has() macro); it evaluated to the field's value.
    expect(compileError("has({'a': 1}.?a)").message).toMatch(/has\(\) needs a field selection/);
    expect(env.compile("has(x.?a.b)").evaluate({ x: { a: { b: 1 } } })).toEqual({ ok: true, value: true });
    expect(compileError("nosuchfn(1)").message).toMatch(/unknown function nosuchfn\(\)/);
    expect(compileError("'a'.startsWith()").message).toMatch(/no overload takes 0 arguments/);
    expect(compileError("startsWith('a', 'b')").message).toMatch(/call it as x.startsWith/);
    expect(compileError("Foo{a: 1}").message).toMatch(/message construction/);
  });

  it("suggests the closest known function or macro for a misspelt one, in the same call style", () => {
    expect(compileError("sizee(x) > 1").message).toMatch(/unknown function sizee\(\) \(did you mean "size"\?\)/);
    expect(compileError("x.startwith('a')").message).toMatch(/did you mean "startsWith"\?/);
    expect(compileError("x.exist(e, e > 1)").message).toMatch(/did you mean "exists"\?/);
    expect(compileError("math.gratest(1, 2)").message).toMatch(/did you mean "math.greatest"\?/);
    expect(compileError("nosuchfn(1)").message).not.toMatch(/did you mean/);
  });

  it("can defer unknown functions to evaluation", () => {
    const p = env.compile("nosuchfn(1) || true", { deferUnknownFunctions: true });
    expect(p.evaluate({})).toEqual({ ok: true, value: true });
    const q = env.compile("nosuchfn(1)", { deferUnknownFunctions: true }).evaluate({});
    expect(q.ok === false && q.error.kind).toBe("undeclared_reference");
  });
});

describe("variables and containers", () => {
  it("reads any activation key by default, with dotted keys as a fallback", () => {
    expect(env.compile("a.b").evaluate({ a: { b: 1 } })).toEqual({ ok: true, value: 1 });
    expect(env.compile("a.b").evaluate({ "a.b": 2 })).toEqual({ ok: true, value: 2 });
    const missing = env.compile("principal.role").evaluate({});
    expect(missing.ok === false && missing.error).toMatchObject({ kind: "undeclared_reference", message: expect.stringContaining("principal") });
  });

  it("resolves declared variables statically, longest qualified name first", () => {
    const declared = createCelEnvironment({ variables: ["a", "a.b"] });
    expect(declared.compile("a.b.c").evaluate({ a: { b: { c: 1 } }, "a.b": { c: 2 } })).toEqual({ ok: true, value: 2 });
  });

  it("resolves names in a container before the root", () => {
    const scoped = createCelEnvironment({ container: "x" });
    expect(scoped.compile("y").evaluate({ "x.y": "inner", y: "outer" })).toEqual({ ok: true, value: "inner" });
    expect(scoped.compile(".y").evaluate({ "x.y": "inner", y: "outer" })).toEqual({ ok: true, value: "outer" });
  });

  it("uses type names as values unless the activation defines them", () => {
    expect(env.compile("type(1) == int").evaluate({})).toEqual({ ok: true, value: true });
    expect(env.compile("int == 3").evaluate({ int: 3 })).toEqual({ ok: true, value: true });
  });
});

describe("extension functions", () => {
  it("passes plain JS values and converts the result back (CelFunctionDefinition, as Kyverno's libraries use it)", () => {
    const seen: unknown[] = [];
    const functions: CelFunctionDefinition[] = [
      { name: "image", arity: 1, impl: (ref) => ({ registry: String(ref).split("/")[0], tag: String(ref).split(":")[1] ?? "latest" }) },
      { name: "registry", receiver: true, arity: 0, impl: (img) => (img as { registry: string }).registry },
      { name: "record", arity: 1, impl: (v) => { seen.push(v); return true; } },
    ];
    const e = createCelEnvironment({ functions });
    expect(e.compile("image('ghcr.io/org/app:1.2').registry() == 'ghcr.io' && image('nginx').tag == 'latest'").evaluate({})).toEqual({ ok: true, value: true });
    expect(e.compile("record([1, 2.5, 3u, {'k': b'hi'}, timestamp('2020-01-01T00:00:00Z')])").evaluate({}).ok).toBe(true);
    expect(seen[0]).toEqual([1, 2.5, 3, { k: "aGk=" }, new Date("2020-01-01T00:00:00Z")]);
  });

  it("supports namespaced names, variadic arity and raw values", () => {
    const e = createCelEnvironment({
      functions: [
        { name: "vigil.join", arity: -1, impl: (...parts) => parts.join("/") },
        { name: "exact", arity: 1, raw: true, impl: (v) => typeof v },
      ],
    });
    expect(e.compile("vigil.join('a', 'b', 'c')").evaluate({})).toEqual({ ok: true, value: "a/b/c" });
    expect(e.compile("exact(9223372036854775807)").evaluate({})).toEqual({ ok: true, value: "bigint" });
  });

  it("typed overloads fall through to the next definition and then to the built-ins", () => {
    const e = createCelEnvironment({
      functions: [
        { name: "size", arity: 1, argTypes: ["bytes"], impl: () => -1 },
        { name: "describe", arity: 1, argTypes: ["int"], impl: () => "int" },
        { name: "describe", arity: 1, argTypes: ["string"], impl: () => "string" },
      ],
    });
    expect(e.compile("[size(b'abc'), size('abc'), size([1])]").evaluate({})).toEqual({ ok: true, value: [-1, 3, 1] });
    expect(e.compile("[describe(1), describe('x')]").evaluate({})).toEqual({ ok: true, value: ["int", "string"] });
    const none = e.compile("describe(1.5)").evaluate({});
    expect(none.ok === false && none.error.kind).toBe("no_matching_overload");
  });

  it("maps an error's kind when it names a valid one", () => {
    const e = createCelEnvironment({
      functions: [{ name: "lookup", arity: 1, impl: (k) => { throw Object.assign(new Error(`no ${String(k)}`), { kind: "no_such_key" }); } }],
    });
    expect(e.compile("lookup('x')").evaluate({})).toEqual({ ok: false, error: { kind: "no_such_key", message: "lookup: no x" } });
  });

  it("extend() keeps earlier functions and adds new ones", () => {
    const base = createCelEnvironment({ functions: [{ name: "one", arity: 0, impl: () => 1 }] });
    const more = base.extend({ functions: [{ name: "two", arity: 0, impl: () => 2 }] });
    expect(more.compile("one() + two()").evaluate({})).toEqual({ ok: true, value: 3 });
    expect(() => base.compile("two()")).toThrow(VigilError);
  });
});

describe("programs", () => {
  it("keep their source and engine", () => {
    const p = env.compile("1 + 1");
    expect(p.source).toBe("1 + 1");
    expect(p.engine).toBe("compiled");
  });

  it("are reusable across activations and independent of each other", () => {
    const p = env.compile("x.n * 2");
    expect([1, 2, 3].map((n) => p.evaluate({ x: { n } }))).toEqual([1, 2, 3].map((n) => ({ ok: true, value: n * 2 })));
  });
});
