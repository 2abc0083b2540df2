import { describe, expect, it } from "vitest";
import { applyJsonPatch, diffJsonPatch, getAtPointer, jsonEqual, parsePointer } from "./json-patch.js";

describe("applyJsonPatch (RFC 6902)", () => {
  const pod = { metadata: { name: "p", labels: { app: "a" } }, spec: { containers: [{ name: "c1" }, { name: "c2" }] } };

  it("adds, replaces and removes without touching the input", () => {
    const frozen = JSON.parse(JSON.stringify(pod)) as typeof pod;
    const out = applyJsonPatch(pod, [
      { op: "add", path: "/metadata/labels/team", value: "t" },
      { op: "replace", path: "/metadata/name", value: "q" },
      { op: "remove", path: "/spec/containers/0" },
      { op: "add", path: "/spec/containers/-", value: { name: "c3" } },
      { op: "add", path: "/spec/containers/0", value: { name: "c0" } },
    ]);
    expect(out).toEqual({ metadata: { name: "q", labels: { app: "a", team: "t" } }, spec: { containers: [{ name: "c0" }, { name: "c2" }, { name: "c3" }] } });
    expect(pod).toEqual(frozen);
  });

  it("unescapes ~1 and ~0 in pointers", () => {
    expect(parsePointer("/metadata/annotations/a.b~1c~0d")).toEqual(["metadata", "annotations", "a.b/c~d"]);
    const out = applyJsonPatch(pod, [{ op: "add", path: "/metadata/annotations", value: {} }, { op: "add", path: "/metadata/annotations/kyverno.io~1x", value: "1" }]);
    expect(getAtPointer(out, "/metadata/annotations/kyverno.io~1x")).toBe("1");
  });

  it("moves and copies, and tests values", () => {
    const out = applyJsonPatch(pod, [
      { op: "copy", from: "/metadata/labels", path: "/spec/labels" },
      { op: "move", from: "/metadata/name", path: "/spec/name" },
      { op: "test", path: "/spec/name", value: "p" },
    ]);
    expect(out).toEqual({ metadata: { labels: { app: "a" } }, spec: { containers: pod.spec.containers, labels: { app: "a" }, name: "p" } });
  });

  it("fails the whole patch with the operation's index and path", () => {
    expect(() => applyJsonPatch(pod, [{ op: "add", path: "/metadata/x", value: 1 }, { op: "replace", path: "/spec/missing", value: 1 }])).toThrow(/operation 1 \(replace \/spec\/missing\).*does not exist/);
    expect(() => applyJsonPatch(pod, [{ op: "test", path: "/metadata/name", value: "other" }])).toThrow(/test failed/);
    expect(() => applyJsonPatch(pod, [{ op: "add", path: "/spec/containers/5", value: 1 }])).toThrow(/out of range/);
    expect(() => applyJsonPatch(pod, [{ op: "merge", path: "/a" }])).toThrow(/unknown op "merge"/);
    expect(() => applyJsonPatch(pod, [{ op: "add", path: "/a/b", value: 1 }])).toThrow(/does not exist/);
  });
});

describe("diffJsonPatch", () => {
  const cases: [string, unknown, unknown][] = [
    ["label added", { metadata: { labels: { a: "1" } } }, { metadata: { labels: { a: "1", b: "2" } } }],
    ["key removed and value changed", { a: 1, b: { c: [1, 2] } }, { b: { c: [1, 3] } }],
    ["array grown at the end", { l: [{ n: 1 }] }, { l: [{ n: 1 }, { n: 2 }, { n: 3 }] }],
    ["array shortened", { l: [1, 2, 3] }, { l: [1] }],
    ["array changed in length and content", { l: [1, 2, 3] }, { l: [3, 1] }],
    ["keys needing escapes", { m: {} }, { m: { "a/b": 1, "c~d": 2 } }],
    ["type changes", { a: [1], b: "x" }, { a: { x: 1 }, b: null }],
  ];
  for (const [name, before, after] of cases) {
    it(`round-trips: ${name}`, () => {
      const ops = diffJsonPatch(before, after);
      expect(ops.length).toBeGreaterThan(0);
      expect(applyJsonPatch(before, ops)).toEqual(after);
    });
  }

  it("is empty for equal documents whatever their key order", () => {
    expect(diffJsonPatch({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 })).toEqual([]);
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] })).toBe(false);
  });

  it("names only what changed", () => {
    expect(diffJsonPatch({ metadata: { name: "p", labels: { a: "1" } } }, { metadata: { name: "p", labels: { a: "2" } } })).toEqual([{ op: "replace", path: "/metadata/labels/a", value: "2" }]);
  });
});
