import { describe, expect, it } from "vitest";
import { activationFor, buildActivation, buildActivationByKeys, readPath, withVariables } from "./activation.js";
import { policyContext } from "../../test/helpers/policy-context.js";

describe("buildActivation", () => {
  it("exposes input, its top-level keys, event, context, now and empty variables", () => {
    const ctx = policyContext({ principal: { id: "alice" }, resource: { kind: "Doc" }, action: "read" }, { type: "dev.vigil.decide", now: "2024-05-01T12:00:00Z" });
    const a = buildActivation(ctx);
    expect(a.input).toBe(ctx.input);
    expect(a["principal"]).toEqual({ id: "alice" });
    expect(a["action"]).toBe("read");
    expect(a.event).toBe(ctx.event);
    expect(a.now).toBeInstanceOf(Date);
    expect(a.now.toISOString()).toBe("2024-05-01T12:00:00.000Z");
    expect(a.variables).toEqual({});
    expect(Object.keys(a.context).sort()).toEqual(["entities", "features", "history", "posture", "signals"]);
    expect(a.context["history"]).toEqual({ violations30d: 0, recent: [] });
  });

  it("never lets input keys take reserved names", () => {
    const ctx = policyContext({ event: "spoofed", now: "spoofed", variables: { x: 1 }, input: 1, int: 3, ok: true });
    const a = buildActivation(ctx);
    expect(a.event).toBe(ctx.event);
    expect(a.now).toBeInstanceOf(Date);
    expect(a.variables).toEqual({});
    expect(a.input).toBe(ctx.input);
    expect(a["int"]).toBeUndefined();
    expect(a["ok"]).toBe(true);
  });

  it("overlays request context with Vigil's own context; Vigil's keys win", () => {
    const ctx = policyContext(
      { context: { mfa: true, network: "corporate", posture: { level: "normal" }, signals: { fake: 1 } } },
      { posture: { level: "freeze", reason: "release" } },
    );
    const a = buildActivation(ctx);
    expect(a.context["mfa"]).toBe(true);
    expect(a.context["network"]).toBe("corporate");
    expect((a.context["posture"] as { level: string }).level).toBe("freeze");
    expect(a.context["signals"]).toEqual({});
  });

  it("adds no input keys when input is not a plain object", () => {
    const a = buildActivation(policyContext(["a", "b"]));
    expect(Object.keys(a).sort()).toEqual(["context", "event", "input", "now", "variables"]);
  });

  it("is cached per context", () => {
    const ctx = policyContext({ a: 1 });
    expect(activationFor(ctx)).toBe(activationFor(ctx));
    expect(activationFor(policyContext({ a: 1 }))).not.toBe(activationFor(ctx));
  });

  it("withVariables copies without touching the base", () => {
    const base = buildActivation(policyContext({ a: 1 }));
    const vars = { x: 2 };
    const next = withVariables(base, vars);
    expect(next.variables).toBe(vars);
    expect(base.variables).toEqual({});
    expect(next["a"]).toBe(1);
  });
});

describe("readPath", () => {
  it("walks objects and maps, undefined when missing", () => {
    const root = { resource: { kind: "Pod", labels: new Map([["app", "web"]]) } };
    expect(readPath(root, ["resource", "kind"])).toBe("Pod");
    expect(readPath(root, ["resource", "labels", "app"])).toBe("web");
    expect(readPath(root, ["resource", "missing", "x"])).toBeUndefined();
    expect(readPath(root, ["resource", "kind", "length"])).toBeUndefined();
  });

  it("reads as CEL selects: lists have no fields; a dotted key only when the root variable is absent", () => {
    expect(readPath({ tags: ["a", "b"] }, ["tags", "length"])).toBeUndefined();
    const root = { "a.b": { c: 1 }, "a.b.c": 2, "x.y": 3, x: { y: 4 } };
    expect(readPath(root, ["a", "b", "c"])).toBe(2);
    expect(readPath(root, ["a", "b"])).toEqual({ c: 1 });
    expect(readPath(root, ["x", "y"])).toBe(4);
    expect(readPath({ "a.b": { c: 1 } }, ["a", "b", "c"])).toBe(1);
    expect(readPath({ a: undefined, "a.b": 5 }, ["a", "b"])).toBe(5);
    expect(readPath({ "a.b": 5 }, ["a"])).toBeUndefined();
  });
});

describe("shaped builders", () => {
  const cases: { name: string; input: unknown; residency?: boolean }[] = [
    { name: "typical", input: { principal: { id: "a" }, action: "read", resource: { kind: "Doc" }, context: { mfa: true, hour: 9 } } },
    { name: "reserved and Vigil keys", input: { event: 1, now: 2, int: 3, ok: true, context: { posture: "spoofed", signals: 1, residency: "spoofed", network: "vpn" } } },
    { name: "numeric and odd keys", input: { "2": "two", "1": "one", "a-b": 1, "x\"y": 2, "\u2028": 3, constructor: 4, toString: 5 } },
    { name: "no request context", input: { a: 1 } },
    { name: "request context not an object", input: { a: 1, context: [1, 2] } },
    { name: "optional parts", input: { a: 1, context: { dependencies: "spoofed", b: 2 } }, residency: true },
    { name: "__proto__ key", input: JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown },
    { name: "__proto__ in request context", input: JSON.parse('{"context": {"__proto__": 1, "b": 2}}') as unknown },
  ];

  for (const { name, input, residency } of cases) {
    it(`build the same activation as key-by-key building, keys in the same order: ${name}`, () => {
      for (let round = 0; round < 3; round++) {
        const base = policyContext(input);
        const ctx = residency === true ? { ...base, residency: { allowed: true } as never, dependencies: { summary: 1 } as never } : base;
        const fast = buildActivation(ctx);
        const slow = buildActivationByKeys(ctx);
        expect(Object.keys(fast)).toEqual(Object.keys(slow));
        expect(Object.keys(fast.context)).toEqual(Object.keys(slow.context));
        expect(Object.getPrototypeOf(fast)).toBe(Object.getPrototypeOf(slow));
        expect(fast).toEqual(slow);
        for (const key of Object.keys(slow)) if (key !== "context") expect(fast[key]).toBe(slow[key]);
        for (const key of Object.keys(slow.context)) expect(fast.context[key]).toBe(slow.context[key]);
      }
    });
  }

  it("alternating shapes each get their own builder", () => {
    const a = policyContext({ x: 1 });
    const b = policyContext({ y: 2, context: { z: 3 } });
    for (let i = 0; i < 4; i++) {
      expect(buildActivation(a)["x"]).toBe(1);
      expect(buildActivation(a)["y"]).toBeUndefined();
      expect(buildActivation(b)["y"]).toBe(2);
      expect(buildActivation(b).context["z"]).toBe(3);
      expect(buildActivation(b)["x"]).toBeUndefined();
    }
  });
});
