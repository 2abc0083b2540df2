import { describe, expect, it } from "vitest";
import { mergeApplyConfiguration } from "./apply-configuration.js";

const pod = {
  metadata: { name: "p", labels: { app: "a" }, finalizers: ["x"] },
  spec: {
    containers: [
      { name: "app", image: "nginx", ports: [{ containerPort: 80 }], volumeMounts: [{ name: "v", mountPath: "/v" }], args: ["a", "b"] },
      { name: "side", image: "envoy" },
    ],
    tolerations: [{ key: "k", operator: "Exists" }],
  },
};

describe("mergeApplyConfiguration", () => {
  it("merges maps key by key and replaces scalars", () => {
    const out = mergeApplyConfiguration(pod, { metadata: { labels: { tier: "web", app: "b" } }, spec: { priorityClassName: "high" } }) as typeof pod & { spec: { priorityClassName: string } };
    expect(out.metadata).toEqual({ name: "p", labels: { app: "b", tier: "web" }, finalizers: ["x"] });
    expect(out.spec.priorityClassName).toBe("high");
    expect(out.spec.containers).toBe(pod.spec.containers);
  });

  it("merges containers by name: existing order kept, fields merged, new items appended", () => {
    const out = mergeApplyConfiguration(pod, { spec: { containers: [{ name: "new", image: "busybox" }, { name: "app", imagePullPolicy: "Always" }] } }) as typeof pod;
    expect(out.spec.containers.map((c) => c.name)).toEqual(["app", "side", "new"]);
    expect(out.spec.containers[0]).toMatchObject({ name: "app", image: "nginx", imagePullPolicy: "Always", args: ["a", "b"] });
  });

  it("merges nested keyed lists (volumeMounts by mountPath, container ports by containerPort and defaulted protocol)", () => {
    const out = mergeApplyConfiguration(pod, { spec: { containers: [{ name: "app", volumeMounts: [{ name: "w", mountPath: "/w" }], ports: [{ containerPort: 80, protocol: "TCP", name: "http" }] }] } }) as typeof pod;
    expect(out.spec.containers[0]?.volumeMounts).toEqual([{ name: "v", mountPath: "/v" }, { name: "w", mountPath: "/w" }]);
    expect(out.spec.containers[0]?.ports).toEqual([{ containerPort: 80, protocol: "TCP", name: "http" }]);
  });

  it("replaces atomic lists (args, tolerations) and unions set lists (finalizers)", () => {
    const out = mergeApplyConfiguration(pod, { metadata: { finalizers: ["y", "x"] }, spec: { tolerations: [{ key: "other", operator: "Exists" }], containers: [{ name: "app", args: ["c"] }] } }) as typeof pod;
    expect(out.spec.tolerations).toEqual([{ key: "other", operator: "Exists" }]);
    expect(out.spec.containers[0]?.args).toEqual(["c"]);
    expect(out.metadata.finalizers).toEqual(["x", "y"]);
  });

  it("replaces a keyed list whole when an item lacks its key", () => {
    const out = mergeApplyConfiguration(pod, { spec: { containers: [{ image: "only" }] } }) as typeof pod;
    expect(out.spec.containers).toEqual([{ image: "only" }]);
  });

  it("removes a field set to null and drops nulls inside new subtrees", () => {
    const out = mergeApplyConfiguration(pod, { metadata: { labels: null }, spec: { securityContext: { runAsUser: 1, fsGroup: null } } }) as Record<string, Record<string, unknown>>;
    expect(out["metadata"]).toEqual({ name: "p", finalizers: ["x"] });
    expect(out["spec"]?.["securityContext"]).toEqual({ runAsUser: 1 });
  });

  it("never modifies its inputs and returns the object itself when nothing changes", () => {
    const before = JSON.stringify(pod);
    const config = { spec: { containers: [{ name: "app", image: "nginx" }] } };
    mergeApplyConfiguration(pod, { metadata: { labels: { x: "1" } }, spec: { containers: [{ name: "side", image: "x" }] } });
    expect(JSON.stringify(pod)).toBe(before);
    expect(mergeApplyConfiguration(pod, {})).toBe(pod);
    expect(mergeApplyConfiguration(pod, config)).toBe(pod);
  });
});
