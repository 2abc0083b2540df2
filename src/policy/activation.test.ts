import { describe, expect, it } from "vitest";
import { activationFor, buildActivation, readPath, withVariables } from "./activation.js";
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
});
