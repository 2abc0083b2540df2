/**
 * Kubernetes object construction (`objectConstruction`): `Object{...}`, `Object.a.b{...}` and
 * `JSONPatch{...}` build maps in the MutatingAdmissionPolicy dialect, and only there.
 */
import { describe, expect, it } from "vitest";
import { VigilError } from "../../core/errors.js";
import { generate } from "./compiler/codegen.js";
import { createCelEnvironment } from "./environment.js";
import { allLibraries } from "./lib/index.js";
import { parseCel } from "./parser/parser.js";
import { FunctionRegistry } from "./runtime/functions.js";

const k8s = createCelEnvironment({ objectConstruction: true, variables: ["object", "variables"] });
const plain = createCelEnvironment();

function value(source: string, activation: Record<string, unknown> = {}): unknown {
  const r = k8s.compile(source).evaluate({ object: null, variables: {}, ...activation });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe("object construction", () => {
  it("builds nested apply configurations with typed-message names as maps", () => {
    expect(value(`Object{metadata: Object.metadata{annotations: {"a/b": "true"}}}`)).toEqual({ metadata: { annotations: { "a/b": "true" } } });
    expect(value("Object{}")).toEqual({});
  });

  it("evaluates field values against the activation, inside comprehensions too", () => {
    const object = { spec: { containers: [{ name: "a", image: "x" }, { name: "b", image: "y" }] } };
    expect(value("Object{spec: Object.spec{containers: object.spec.containers.map(c, Object.spec.containers{name: c.name, ready: true})}}", { object }))
      .toEqual({ spec: { containers: [{ name: "a", ready: true }, { name: "b", ready: true }] } });
  });

  it("builds JSONPatch operations whose fields can be selected and tested", () => {
    expect(value(`[JSONPatch{op: "add", path: "/metadata/annotations/" + jsonpatch.escapeKey("a/b~c"), value: dyn(1)}, JSONPatch{op: "test", path: "/", value: null}].filter(p, p.op != "test")`))
      .toEqual([{ op: "add", path: "/metadata/annotations/a~1b~0c", value: 1 }]);
    expect(value(`has(JSONPatch{op: "remove", path: "/x"}.value)`)).toBe(false);
  });

  it("includes optional fields only when they have a value", () => {
    expect(value("Object{?a: optional.of(1), ?b: optional.none()}")).toEqual({ a: 1 });
  });

  it("treats a field named __proto__ as a plain key", () => {
    expect(value("Object{__proto__: 1}")).toEqual(JSON.parse(`{"__proto__": 1}`));
  });

  it("rejects a field set twice at compile time", () => {
    expect(() => k8s.compile("Object{a: 1, a: 2}")).toThrow(/field 'a' is set twice/);
  });

  it("leaves other message names a compile error", () => {
    expect(() => k8s.compile("google.protobuf.Struct{}")).toThrow(VigilError);
    expect(() => k8s.compile("Objects{}")).toThrow(/needs protobuf message types/);
  });

  it("is off unless the environment enables it, and extend keeps it", () => {
    expect(() => plain.compile("Object{}")).toThrow(/needs protobuf message types/);
    const extended = plain.extend({ objectConstruction: true });
    expect(extended.compile("Object{a: 1}").evaluate({})).toEqual({ ok: true, value: { a: 1 } });
    expect(k8s.extend({ functions: [] }).compile("JSONPatch{op: 'remove', path: '/a'}").evaluate({})).toEqual({ ok: true, value: { op: "remove", path: "/a" } });
  });

  it("compiles expressions without construction to the same result in both environments", () => {
    const object = { metadata: { labels: { app: "x" } } };
    const source = "object.metadata.labels.app == 'x' && {'k': 1}.k == 1";
    const both = [k8s, createCelEnvironment({ variables: ["object", "variables"] })].map((e) => e.compile(source).evaluate({ object }));
    expect(both).toEqual([{ ok: true, value: true }, { ok: true, value: true }]);
  });

  it("generates the same code with and without the option for expressions that construct nothing (no per-evaluation cost)", () => {
    const registry = new FunctionRegistry(allLibraries);
    const sources = [
      "object.metadata.labels.app == 'x' && {'k': 1}.k == 1",
      "object.spec.containers.all(c, c.image.startsWith('r/') || has(c.securityContext))",
      "[1, 2].map(x, x * 2).size() > 1 ? 'a' : 'b'",
    ];
    for (const source of sources) {
      const codeOf = (objectConstruction: boolean) => generate(parseCel(source).expr, { registry, declared: undefined, container: "", deferUnknownFunctions: false, objectConstruction }).source;
      expect(codeOf(true), source).toBe(codeOf(false));
    }
  });
});
