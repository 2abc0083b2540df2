import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "../cel/index.js";
import { VigilError } from "../../core/errors.js";
import { applyJson6902 } from "./mutate.js";
import { strategicMergePatch } from "./mutate-merge.js";
import { compileKyvernoPolicy } from "./policy.js";
import { resourceInput } from "./request.js";
import { applyJsonPatch } from "./json-patch.js";

const env = createCelEnvironment();

const pod = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default", ...metadata }, spec });

function policy(rules: unknown[], annotations: Record<string, string> = {}) {
  return compileKyvernoPolicy({ apiVersion: "kyverno.io/v1", kind: "ClusterPolicy", metadata: { name: "m", annotations }, spec: { rules } }, env);
}

const podRule = (name: string, mutate: unknown, extra: Record<string, unknown> = {}) => ({ name, match: { any: [{ resources: { kinds: ["Pod"] } }] }, mutate, ...extra });

describe("patchStrategicMerge (anchors + kustomize strategic merge)", () => {
  it("merges containers by name (patch elements first) and replaces non-keyed lists", () => {
    const base = pod({ containers: [{ name: "a", image: "a:1", args: ["x"] }, { name: "b", image: "b:1" }], tolerations: [{ key: "k" }] });
    const r = strategicMergePatch(base, { spec: { containers: [{ name: "b", image: "b:2" }, { name: "c", image: "c:1" }], tolerations: [{ key: "z" }] } });
    expect(r.ok && (r.value as { spec: unknown }).spec).toEqual({ containers: [{ name: "b", image: "b:2" }, { name: "c", image: "c:1" }, { name: "a", image: "a:1", args: ["x"] }], tolerations: [{ key: "z" }] });
  });

  it("replaces lists of custom resources (no schema) and deletes fields set to null", () => {
    const cr = { apiVersion: "example.io/v1", kind: "Thing", metadata: { name: "t", labels: { a: "1", b: "2" } }, spec: { items: [{ name: "x" }] } };
    const r = strategicMergePatch(cr, { metadata: { labels: { a: null } }, spec: { items: [{ name: "y" }] } });
    expect(r.ok && r.value).toEqual({ ...cr, metadata: { name: "t", labels: { b: "2" } }, spec: { items: [{ name: "y" }] } });
  });

  it("+(key) adds only when absent; (key) conditions gate the whole overlay", () => {
    const base = pod({ containers: [{ name: "a" }] }, { labels: { app: "x" }, annotations: { keep: "me" } });
    const add = strategicMergePatch(base, { metadata: { annotations: { "+(keep)": "other", "+(new)": "v" } } });
    expect(add.ok && (add.value as { metadata: unknown }).metadata).toMatchObject({ annotations: { keep: "me", new: "v" } });
    const gated = strategicMergePatch(base, { metadata: { labels: { "(app)": "y" }, annotations: { x: "1" } } });
    expect(gated.ok && gated.value).toEqual(base);
    const open = strategicMergePatch(base, { metadata: { labels: { "(app)": "x" }, annotations: { x: "1" } } });
    expect(open.ok && (open.value as { metadata: { annotations: unknown } }).metadata.annotations).toEqual({ keep: "me", x: "1" });
  });

  it("conditional anchors in list elements patch every element that matches, by name", () => {
    const base = pod({ containers: [{ name: "a", image: "nginx" }, { name: "b", image: "redis" }] });
    const r = strategicMergePatch(base, { spec: { containers: [{ "(image)": "nginx*", imagePullPolicy: "Always" }] } });
    expect(r.ok && (r.value as { spec: unknown }).spec).toEqual({ containers: [{ name: "a", image: "nginx", imagePullPolicy: "Always" }, { name: "b", image: "redis" }] });
  });

  it("a global anchor in a list that no element satisfies leaves the resource unchanged", () => {
    const base = pod({ volumes: [{ name: "v", hostPath: { path: "/" } }] });
    const overlay = { metadata: { annotations: { "+(safe)": "true" } }, spec: { volumes: [{ "<(emptyDir)": {} }] } };
    expect(strategicMergePatch(base, overlay)).toEqual({ ok: true, value: base });
    const withEmptyDir = pod({ volumes: [{ name: "v", emptyDir: {} }] });
    const r = strategicMergePatch(withEmptyDir, overlay);
    expect(r.ok && r.value).toEqual({ ...withEmptyDir, metadata: { ...withEmptyDir.metadata, annotations: { safe: "true" } } });
  });

  it("$patch: delete removes a map, and a keyed list element; the directive never reaches the result", () => {
    const base = pod({ containers: [{ name: "app", image: "a:1" }, { name: "sidecar", image: "s:1" }], securityContext: { runAsUser: 0 } });
    const r = strategicMergePatch(base, { spec: { containers: [{ name: "sidecar", $patch: "delete" }, { name: "missing", $patch: "delete" }], securityContext: { $patch: "delete" } } });
    expect(r.ok && (r.value as { spec: unknown }).spec).toEqual({ containers: [{ name: "app", image: "a:1" }] });
    expect(JSON.stringify(r)).not.toContain("$patch");
  });

  it("$patch: replace replaces a map or, as a list element of its own, the whole list", () => {
    const base = pod({ containers: [{ name: "app", image: "a:1" }, { name: "sidecar", image: "s:1" }], nodeSelector: { zone: "a", disk: "ssd" } });
    const r = strategicMergePatch(base, { spec: { nodeSelector: { $patch: "replace", zone: "b" }, containers: [{ name: "only", image: "o:1" }, { $patch: "replace" }] } });
    expect(r.ok && (r.value as { spec: unknown }).spec).toEqual({ containers: [{ name: "only", image: "o:1" }], nodeSelector: { zone: "b" } });
    const cleared = strategicMergePatch(base, { spec: { containers: [{ $patch: "delete" }] } });
    expect(cleared.ok && (cleared.value as { spec: unknown }).spec).toEqual({ nodeSelector: { zone: "a", disk: "ssd" } });
    const merged = strategicMergePatch(base, { spec: { nodeSelector: { $patch: "merge", disk: "hdd" } } });
    expect(merged.ok && (merged.value as { spec: unknown }).spec).toMatchObject({ nodeSelector: { zone: "a", disk: "hdd" } });
  });

  it("an unknown $patch value, or deleting the whole object, is an error naming it", () => {
    const base = pod({ containers: [{ name: "app" }] });
    expect(strategicMergePatch(base, { spec: { $patch: "remove" } })).toEqual({ ok: false, error: expect.stringMatching(/unknown patch strategy "remove" at spec\.\$patch/) });
    expect(strategicMergePatch(base, { $patch: "delete" })).toEqual({ ok: false, error: expect.stringMatching(/deletes the whole resource/) });
  });

  it("does not modify its inputs", () => {
    const base = pod({ containers: [{ name: "a" }] });
    const overlay = { spec: { containers: [{ "(name)": "*", env: [{ name: "E", value: "1" }] }] } };
    const before = JSON.stringify([base, overlay]);
    strategicMergePatch(base, overlay);
    expect(JSON.stringify([base, overlay])).toBe(before);
  });
});

describe("patchesJson6902 with Kyverno's options", () => {
  it("creates missing parents, appends at -1 and ignores removing a missing path", () => {
    const r = applyJson6902({ spec: {} }, "- op: add\n  path: /spec/a/b/-1/c\n  value: 1\n- op: remove\n  path: /spec/missing\n");
    expect(r).toEqual({ ok: true, value: { spec: { a: { b: [{ c: 1 }] } } } });
  });

  it("reports a failing test operation as an error, never throws", () => {
    const r = applyJson6902({ a: 1 }, "- op: test\n  path: /a\n  value: 2\n");
    expect(r.ok).toBe(false);
    expect(applyJson6902({}, "not: [a list").ok).toBe(false);
  });
});

describe("ClusterPolicy mutateAdmission", () => {
  it("applies rules in order, each on the previous output; pass, then skip when nothing changes", () => {
    const p = policy([
      podRule("label", { patchStrategicMerge: { metadata: { labels: { team: "{{ request.object.metadata.name }}" } } } }),
      podRule("copy", { patchStrategicMerge: { metadata: { annotations: { team: "{{ request.object.metadata.labels.team }}" } } } }),
      podRule("again", { patchStrategicMerge: { metadata: { labels: { team: "p" } } } }),
    ]);
    const input = resourceInput(pod({ containers: [{ name: "a" }] }));
    const out = p.mutateAdmission?.(input);
    expect(out?.results.map((r) => [r.rule, r.status, r.ruleType])).toEqual([["label", "pass", "mutate"], ["copy", "pass", "mutate"], ["again", "skip", "mutate"]]);
    expect(out?.results[0]?.message).toBe("mutated Pod/p in namespace default");
    expect(out?.patched["metadata"]).toEqual({ name: "p", namespace: "default", labels: { team: "p" }, annotations: { team: "p" } });
    expect(applyJsonPatch(input.object, out?.patch ?? [])).toEqual(out?.patched);
    expect(input.object?.["metadata"]).toEqual({ name: "p", namespace: "default" });
  });

  it("a later rule's variables and preconditions read the earlier rule's output as request.object", () => {
    const p = policy([
      podRule("add-team", { patchStrategicMerge: { metadata: { labels: { "+(team)": "platform" } } } }),
      podRule("annotate-team", { patchStrategicMerge: { metadata: { annotations: { owner: "{{ request.object.metadata.labels.team }}-oncall" } } } }, {
        preconditions: { all: [{ key: "{{ request.object.metadata.labels.team || '' }}", operator: "Equals", value: "platform" }] },
      }),
    ]);
    const out = p.mutateAdmission?.(resourceInput(pod({ containers: [{ name: "a" }] })));
    expect(out?.results.map((r) => [r.rule, r.status])).toEqual([["add-team", "pass"], ["annotate-team", "pass"]]);
    expect((out?.patched["metadata"] as { annotations?: unknown }).annotations).toEqual({ owner: "platform-oncall" });
  });

  it("honours celPreconditions on mutate rules (false: skip, nothing changes)", () => {
    const rule = (expression: string) => podRule("label", { patchStrategicMerge: { metadata: { labels: { team: "a" } } } }, { celPreconditions: [{ name: "c", expression }] });
    const input = resourceInput(pod({ containers: [{ name: "a" }] }));
    const skipped = policy([rule("object.metadata.name == 'other'")]).mutateAdmission?.(input);
    expect(skipped?.results.map((r) => [r.status, r.message])).toEqual([["skip", "cel preconditions not met"]]);
    expect(skipped?.patch).toEqual([]);
    const applied = policy([rule("object.metadata.name == 'p'")]).mutateAdmission?.(input);
    expect(applied?.results.map((r) => r.status)).toEqual(["pass"]);
    expect(applied?.patch).toEqual([{ op: "add", path: "/metadata/labels", value: { team: "a" } }]);
  });

  it("skips on false preconditions, errors on a broken patch without changing the object", () => {
    const p = policy([
      podRule("pre", { patchStrategicMerge: { metadata: { labels: { a: "b" } } } }, { preconditions: { all: [{ key: "{{ request.object.metadata.name }}", operator: "Equals", value: "other" }] } }),
      podRule("broken", { patchesJson6902: "- op: replace\n  path: /spec/nothing/here\n  value: 1\n" }),
    ]);
    const input = resourceInput(pod({ containers: [] }));
    const out = p.mutateAdmission?.(input);
    expect(out?.results.map((r) => r.status)).toEqual(["skip", "error"]);
    expect(out?.patched).toBe(input.object);
    expect(out?.patch).toEqual([]);
  });

  it("foreach: per-element patches, elementIndex, reverse order for JSON patches with order Descending", () => {
    const p = policy([podRule("drop-hostpath", { foreach: [{ list: "request.object.spec.volumes", order: "Descending", preconditions: { all: [{ key: "{{ element.hostPath || '' }}", operator: "NotEquals", value: "" }] }, patchesJson6902: "- op: remove\n  path: /spec/volumes/{{elementIndex}}\n" }] })]);
    const input = resourceInput(pod({ volumes: [{ name: "a", hostPath: { path: "/" } }, { name: "b", emptyDir: {} }, { name: "c", hostPath: { path: "/x" } }] }));
    const out = p.mutateAdmission?.(input);
    expect(out?.results.map((r) => r.status)).toEqual(["pass"]);
    expect((out?.patched["spec"] as { volumes: unknown }).volumes).toEqual([{ name: "b", emptyDir: {} }]);
  });

  it("auto-generates mutate rules for pod controllers under the pod template", () => {
    const p = policy([podRule("add-label", { patchStrategicMerge: { metadata: { labels: { x: "y" } } } })]);
    expect(p.rules.map((r) => r.name)).toEqual(["add-label", "autogen-add-label", "autogen-cronjob-add-label"]);
    const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "default" }, spec: { template: { metadata: {}, spec: { containers: [] } } } };
    const out = p.mutateAdmission?.(resourceInput(deployment), { includeNoMatch: true });
    expect(out?.results.filter((r) => r.status !== "nomatch").map((r) => r.rule)).toEqual(["autogen-add-label"]);
    expect(((out?.patched["spec"] as { template: { metadata: unknown } }).template.metadata)).toEqual({ labels: { x: "y" } });
  });

  it("evaluateAdmission leaves mutate rules out; validate-only policies have no mutateAdmission", () => {
    const p = policy([podRule("label", { patchStrategicMerge: { metadata: { labels: { a: "b" } } } })]);
    expect(p.evaluateAdmission(resourceInput(pod({})), { includeNoMatch: true })).toEqual([]);
    const v = policy([{ name: "v", match: { any: [{ resources: { kinds: ["Pod"] } }] }, validate: { pattern: { metadata: { name: "?*" } } } }]);
    expect(v.mutateAdmission).toBeUndefined();
  });

  it("loads mutate.targets (mutate existing: not applied to the request), and rejects a target key it does not know, naming it", () => {
    const existing = policy([{ name: "existing", match: { any: [{ resources: { kinds: ["ConfigMap"] } }] }, mutate: { targets: [{ apiVersion: "v1", kind: "Secret" }], patchStrategicMerge: { metadata: { labels: { a: "b" } } } } }]);
    expect(existing.mutateAdmission).toBeUndefined();
    expect(existing.mutateExisting?.triggerKinds).toEqual(["ConfigMap"]);
    let error: unknown;
    try {
      policy([{ name: "existing", match: { any: [{ resources: { kinds: ["ConfigMap"] } }] }, mutate: { targets: [{ apiVersion: "v1", kind: "Secret", bogus: 1 }], patchStrategicMerge: { metadata: { labels: { a: "b" } } } } }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VigilError);
    expect((error as VigilError).code).toBe("VIGIL_POLICY_UNSUPPORTED");
    expect((error as VigilError).message).toMatch(/policy m, rule existing: mutate\.targets\[\]\.bogus/);
  });

  it("rejects strategic-merge directives kyaml does not read ($setElementOrder, $retainKeys, $deleteFromPrimitiveList) at load, naming the field", () => {
    const attempts = [
      { patchStrategicMerge: { spec: { "$setElementOrder/containers": [{ name: "a" }] } } },
      { foreach: [{ list: "request.object.spec.containers", patchStrategicMerge: { spec: { containers: [{ name: "{{ element.name }}", $retainKeys: ["image"] }] } } }] },
      { patchStrategicMerge: { metadata: { "$deleteFromPrimitiveList/finalizers": ["x"] } } },
    ];
    const fields = attempts.map((mutate) => {
      try {
        policy([podRule("directive", mutate)]);
        return "loaded";
      } catch (e) {
        return e instanceof VigilError ? `${e.code} ${String(e.details?.["field"])}` : String(e);
      }
    });
    expect(fields).toEqual([
      "VIGIL_POLICY_UNSUPPORTED spec.rules[0].mutate.patchStrategicMerge.spec.$setElementOrder/containers",
      "VIGIL_POLICY_UNSUPPORTED spec.rules[0].mutate.foreach[0].patchStrategicMerge.spec.containers[0].$retainKeys",
      "VIGIL_POLICY_UNSUPPORTED spec.rules[0].mutate.patchStrategicMerge.metadata.$deleteFromPrimitiveList/finalizers",
    ]);
    expect(() => policy([podRule("ok", { patchStrategicMerge: { spec: { containers: [{ name: "a", $patch: "delete" }] } } })])).not.toThrow();
  });
});
