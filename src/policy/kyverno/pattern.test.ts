import { describe, expect, it } from "vitest";
import { matchPattern, parseKey } from "./pattern.js";

const pod = (containers: unknown[], extra: Record<string, unknown> = {}) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", labels: { app: "web" } }, spec: { containers, ...extra } });

describe("pattern anchors", () => {
  it("parses every anchor kind", () => {
    expect(parseKey("(image)")).toEqual({ key: "image", anchor: "condition" });
    expect(parseKey("=(hostPath)")).toEqual({ key: "hostPath", anchor: "equality" });
    expect(parseKey("^(volumes)")).toEqual({ key: "volumes", anchor: "existence" });
    expect(parseKey("X(hostPID)")).toEqual({ key: "hostPID", anchor: "negation" });
    expect(parseKey("<(securityContext)")).toEqual({ key: "securityContext", anchor: "global" });
    expect(parseKey("plain")).toEqual({ key: "plain" });
  });

  it("fails a plain key with the path and the value found", () => {
    const r = matchPattern(pod([{ name: "a", image: "nginx:latest" }]), { spec: { containers: [{ image: "!*:latest" }] } });
    expect(r.outcome).toBe("fail");
    expect(r.failure?.path).toBe("/spec/containers/0/image/");
    expect(r.failure?.found).toBe("nginx:latest");
  });

  it("conditional anchor: elements whose condition fails are skipped; no element applying skips the rule", () => {
    const pattern = { spec: { containers: [{ "(name)": "web*", image: "!*:latest" }] } };
    expect(matchPattern(pod([{ name: "db", image: "x:latest" }]), pattern).outcome).toBe("skip");
    expect(matchPattern(pod([{ name: "db", image: "x:latest" }, { name: "web1", image: "x:1" }]), pattern).outcome).toBe("pass");
    expect(matchPattern(pod([{ name: "web1", image: "x:latest" }]), pattern).outcome).toBe("fail");
  });

  it("equality anchor checks only when the key is present", () => {
    const pattern = { spec: { "=(hostNetwork)": false } };
    expect(matchPattern(pod([]), pattern).outcome).toBe("pass");
    expect(matchPattern(pod([], { hostNetwork: false }), pattern).outcome).toBe("pass");
    expect(matchPattern(pod([], { hostNetwork: true }), pattern).outcome).toBe("fail");
  });

  it("negation anchor fails when the key exists", () => {
    const pattern = { spec: { "X(hostPID)": "null" } };
    expect(matchPattern(pod([]), pattern).outcome).toBe("pass");
    const r = matchPattern(pod([], { hostPID: false }), pattern);
    expect(r.outcome).toBe("fail");
    expect(r.failure?.message).toContain("is not allowed");
  });

  it("existence anchor needs at least one matching element", () => {
    const pattern = { spec: { "^(containers)": [{ image: "nginx*" }] } };
    expect(matchPattern(pod([{ image: "redis" }, { image: "nginx:1" }]), pattern).outcome).toBe("pass");
    expect(matchPattern(pod([{ image: "redis" }]), pattern).outcome).toBe("fail");
  });

  it("global anchor skips the whole rule when its condition fails", () => {
    const pattern = { spec: { containers: [{ "<(image)": "nginx*", name: "must-be-this" }] } };
    expect(matchPattern(pod([{ image: "redis", name: "x" }]), pattern).outcome).toBe("skip");
    expect(matchPattern(pod([{ image: "nginx", name: "x" }]), pattern).outcome).toBe("fail");
  });

  it("`*` requires presence; `?*` a non-empty value; wildcard keys expand over labels", () => {
    expect(matchPattern(pod([]), { metadata: { labels: { app: "*" } } }).outcome).toBe("pass");
    expect(matchPattern(pod([]), { metadata: { labels: { team: "?*" } } }).outcome).toBe("fail");
    expect(matchPattern(pod([]), { metadata: { labels: { "ap*": "web" } } }).outcome).toBe("pass");
  });

  // Kyverno's validateMap checks the non-anchor keys in getSortedNestedAnchorResource order: keys whose
  // value holds an anchor (and global anchors) first, in reverse key order, then the others in key order.
  // The first key that fails decides whether the rule fails or is skipped.
  it("checks keys holding anchors before plain keys, so a global anchor that skips wins over a plain failure", () => {
    const pattern = { metadata: { labels: { team: "?*" } }, spec: { containers: [{ "<(image)": "nginx*", imagePullPolicy: "Always" }] } };
    // No team label (a failure) and a redis container (the global anchor skips): spec comes first.
    expect(matchPattern(pod([{ image: "redis" }]), pattern).outcome).toBe("skip");
    expect(matchPattern(pod([{ image: "nginx", imagePullPolicy: "Always" }]), pattern).outcome).toBe("fail");
  });

  it("checks keys holding anchors in reverse key order, after the anchors of the map itself", () => {
    // "a" fails plainly inside a conditional element that applies; "b" holds a global anchor that fails.
    const pattern = {
      a: [{ "(name)": "x", value: "1" }],
      b: { "<(kind)": "Special" },
    };
    const resource = { a: [{ name: "x", value: "2" }], b: { kind: "Ordinary" } };
    expect(matchPattern(resource, pattern).outcome).toBe("skip");
    // A global anchor key of the same map is one of the keys holding anchors: "z" (reverse order) goes first.
    const globalFirst = { "<(a)": "yes", z: [{ "(name)": "x", value: "1" }] };
    expect(matchPattern({ a: "no", z: [{ name: "x", value: "2" }] }, globalFirst).outcome).toBe("fail");
  });

  // Kyverno expands wildcard keys only in metadata.labels and metadata.annotations (ExpandInMetadata);
  // elsewhere a key with * or ? is a literal key, which a resource rarely has.
  it("expands wildcard keys in metadata labels and annotations only", () => {
    const withSelector = pod([], { nodeSelector: { "kubernetes.io/os": "linux" } });
    const selector = { spec: { nodeSelector: { "kubernetes.io/*": "?*" } } };
    expect(matchPattern(withSelector, selector).outcome).toBe("fail");
    expect(matchPattern({ ...withSelector, spec: { containers: [], nodeSelector: { "kubernetes.io/*": "x" } } }, selector).outcome).toBe("pass");
    const template = { spec: { template: { metadata: { labels: { "ap*": "web" } } } } };
    expect(matchPattern({ spec: { template: { metadata: { labels: { app: "web" } } } } }, template).outcome).toBe("pass");
    expect(matchPattern(pod([]), { metadata: { "=(annotations)": { "team-*": "?*" } } }).outcome).toBe("pass");
    expect(matchPattern({ metadata: { annotations: { "team-a": "" } } }, { metadata: { "=(annotations)": { "team-*": "?*" } } }).outcome).toBe("fail");
  });

  it("a structure mismatch fails", () => {
    expect(matchPattern(pod([]), { spec: { containers: { name: "x" } } }).outcome).toBe("fail");
  });
});
