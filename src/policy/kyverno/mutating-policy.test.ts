import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VigilError } from "../../core/errors.js";
import { createCelEnvironment } from "../cel/index.js";
import { applyJsonPatch, jsonEqual } from "./json-patch.js";
import { compilePolicyDocuments } from "./load.js";
import { compileMutatingPolicy } from "./mutating-policy.js";
import type { KyvernoPolicy } from "./policy.js";
import { resourceInput, type KubeObject } from "./request.js";
import { discoverTestFiles, isObject, parseValues, readYamlDocuments, relativeTo, type Json } from "./test-files.js";

const env = createCelEnvironment();
const fixtures = join(import.meta.dirname, "..", "..", "..", "test", "fixtures", "kyverno");

function policy(spec: Json, name = "p"): KyvernoPolicy {
  return compileMutatingPolicy({ apiVersion: "policies.kyverno.io/v1alpha1", kind: "MutatingPolicy", metadata: { name }, spec }, env);
}

const podRules = { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["pods"] }] };
const pod: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "p1", namespace: "default" }, spec: { containers: [{ name: "app", image: "nginx" }] } };
const create = (object: KubeObject) => resourceInput(object, { operation: "CREATE", object, oldObject: null });

/** Namespaced resources without a namespace go to `default`, as `kyverno test` does. */
function withNamespace(r: Json): Json {
  const m = isObject(r["metadata"]) ? r["metadata"] : {};
  return r["kind"] === "Namespace" || typeof m["namespace"] === "string" ? r : { ...r, metadata: { namespace: "default", ...m } };
}

interface Expectation {
  readonly label: string;
  readonly expected: string;
  readonly actual: string;
}

/**
 * Runs one corpus kyverno-test.yaml of MutatingPolicies the way `kyverno test` checks it: the
 * policy's result for each listed resource, and, with `patchedResources`, the patched object
 * against the expected one (a mismatch, or no expected object of that kind and name, is `fail`).
 */
function runMutatingTest(file: string): Expectation[] {
  const read = readYamlDocuments(file);
  if (!read.ok) throw new Error(read.error);
  const test = read.documents[0] as Json;
  const policies = new Map<string, KyvernoPolicy>();
  for (const p of (test["policies"] as string[] | undefined) ?? []) {
    const docs = readYamlDocuments(relativeTo(file, p));
    if (!docs.ok) throw new Error(docs.error);
    for (const loaded of compilePolicyDocuments(docs.documents, env, p)) if (loaded.policy) policies.set(loaded.name, loaded.policy);
  }
  const resources: Json[] = [];
  for (const r of (test["resources"] as string[] | undefined) ?? []) {
    const docs = readYamlDocuments(relativeTo(file, r));
    if (docs.ok) resources.push(...docs.documents.map(withNamespace));
  }
  const values = typeof test["variables"] === "string" ? parseValues((readYamlDocuments(relativeTo(file, test["variables"])) as { documents: Json[] }).documents) : undefined;
  const out: Expectation[] = [];
  for (const entry of (test["results"] as Json[] | undefined) ?? []) {
    const patchedFile = entry["patchedResources"];
    const expectedDocs = typeof patchedFile === "string" ? ((readYamlDocuments(relativeTo(file, patchedFile)) as { documents?: Json[] }).documents ?? []).map(withNamespace) : undefined;
    for (const ref of (entry["resources"] as string[] | undefined) ?? []) {
      const name = ref.includes("/") ? ref.slice(ref.indexOf("/") + 1) : ref;
      const label = `${file.slice(fixtures.length + 1)} ${String(entry["policy"])} ${ref}`;
      const resource = resources.find((r) => r["kind"] === entry["kind"] && (r["metadata"] as Json)["name"] === name);
      const p = policies.get(String(entry["policy"]));
      if (!resource || !p?.mutateAdmission) {
        out.push({ label, expected: String(entry["result"]), actual: "missing policy or resource" });
        continue;
      }
      const namespace = String((resource["metadata"] as Json)["namespace"] ?? "");
      const namespaceLabels = values?.namespaceLabels.get(namespace);
      const outcome = p.mutateAdmission(resourceInput(resource, { operation: "CREATE", object: resource, oldObject: null, ...(namespaceLabels ? { namespaceLabels } : {}) }));
      // INVARIANT: the patch turns the input into the patched object
      expect(applyJsonPatch(resource, outcome.patch)).toEqual(outcome.patched);
      let actual = outcome.results[0]?.status ?? "excluded";
      if (expectedDocs) {
        const expected = expectedDocs.find((d) => d["kind"] === entry["kind"] && (d["metadata"] as Json)["name"] === name);
        if (!expected || !jsonEqual(expected, outcome.patched)) actual = "fail";
      }
      out.push({ label, expected: String(entry["result"]), actual });
    }
  }
  return out;
}

describe("MutatingPolicy over the corpus fixtures (test/fixtures/kyverno/*-mpol)", () => {
  const files = discoverTestFiles([fixtures]).filter((f) => /-mpol\//.test(f));
  const all = files.flatMap(runMutatingTest);

  it("meets every expectation: results and patched resources", () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
    expect(all.filter((e) => e.actual !== e.expected).map((e) => `${e.label}: expected ${e.expected}, got ${e.actual}`)).toEqual([]);
  });

  it("covers applied patches, skips and an expected mismatch", () => {
    expect(all.filter((e) => e.expected === "pass").length).toBeGreaterThanOrEqual(20);
    expect(all.some((e) => e.expected === "skip")).toBe(true);
    expect(all.some((e) => e.expected === "fail" && e.actual === "fail")).toBe(true);
  });
});

describe("compileMutatingPolicy", () => {
  it("applies an ApplyConfiguration and reports the patch from the input to the result", () => {
    const p = policy({ matchConstraints: podRules, mutations: [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: "Object{metadata: Object.metadata{labels: {'team': 'a'}}}" } }] });
    const outcome = p.mutateAdmission!(create(pod));
    expect(outcome.results.map((r) => [r.status, r.ruleType])).toEqual([["pass", "mutate"]]);
    expect(outcome.patched["metadata"]).toEqual({ name: "p1", namespace: "default", labels: { team: "a" } });
    expect(outcome.patch).toEqual([{ op: "add", path: "/metadata/labels", value: { team: "a" } }]);
    expect(pod["metadata"]).toEqual({ name: "p1", namespace: "default" });
  });

  it("runs mutations in order, each (and the variables) seeing the previous one's output", () => {
    const p = policy({
      matchConstraints: podRules,
      variables: [{ name: "hasLabels", expression: "has(object.metadata.labels)" }],
      mutations: [
        { patchType: "JSONPatch", jsonPatch: { expression: "variables.hasLabels ? [] : [JSONPatch{op: 'add', path: '/metadata/labels', value: {}}]" } },
        { patchType: "JSONPatch", jsonPatch: { expression: "variables.hasLabels ? [JSONPatch{op: 'add', path: '/metadata/labels/' + jsonpatch.escapeKey('a/b'), value: 'x'}] : []" } },
      ],
    });
    expect(p.mutateAdmission!(create(pod)).patched["metadata"]).toEqual({ name: "p1", namespace: "default", labels: { "a/b": "x" } });
  });

  it("decides nothing on the validating paths: evaluate() gives no findings even when a mutation errors", () => {
    const broken = policy({ matchConstraints: podRules, mutations: [{ patchType: "JSONPatch", jsonPatch: { expression: "[JSONPatch{op: 'replace', path: '/spec/missing', value: 1}]" } }] });
    expect(broken.mutateAdmission!(create(pod)).results.map((r) => r.status)).toEqual(["error"]);
    const review = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u", operation: "CREATE", object: pod, userInfo: {} } };
    expect(broken.evaluate({ input: review } as never, { includePasses: true })).toEqual([]);
  });

  it("a false matchCondition skips even after one that errs; the error counts only when none is false (Kyverno's and the API server's matchers collect errors and go on)", () => {
    const mutations = [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: "Object{spec: Object.spec{hostNetwork: true}}" } }];
    const erring = { name: "errs", expression: "object.spec.missing.field == 1" };
    const skipped = policy({ matchConstraints: podRules, matchConditions: [erring, { name: "never", expression: "false" }], mutations }).mutateAdmission!(create(pod));
    expect(skipped.results.map((r) => [r.status, r.message])).toEqual([["skip", "matchCondition never is false"]]);
    const failed = policy({ matchConstraints: podRules, matchConditions: [erring, { name: "always", expression: "true" }], mutations }).mutateAdmission!(create(pod));
    expect(failed.results.map((r) => r.status)).toEqual(["error"]);
    expect(failed.results[0]?.message).toContain("matchCondition errs failed to evaluate");
  });

  it("a matchCondition giving no bool is an error (Kyverno converts it to bool), not a skip", () => {
    const mutations = [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: "Object{spec: Object.spec{hostNetwork: true}}" } }];
    const out = policy({ matchConstraints: podRules, matchConditions: [{ name: "named", expression: "dyn(object.metadata.name)" }], mutations }).mutateAdmission!(create(pod));
    expect(out.results.map((r) => r.status)).toEqual(["error"]);
    expect(out.results[0]?.message).toContain("matchCondition named must evaluate to bool");
  });

  it("skips when a matchCondition is false and changes nothing", () => {
    const p = policy({ matchConstraints: podRules, matchConditions: [{ name: "never", expression: "object.metadata.name == 'other'" }], mutations: [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: "Object{spec: Object.spec{hostNetwork: true}}" } }] });
    const outcome = p.mutateAdmission!(create(pod));
    expect(outcome.results[0]).toMatchObject({ status: "skip", message: "matchCondition never is false" });
    expect(outcome.patched).toBe(pod);
    expect(outcome.patch).toEqual([]);
    expect(p.evaluateAdmission(create(pod)).map((r) => r.status)).toEqual(["skip"]);
  });

  it("reports a CEL error or a patch that does not apply as an error result and changes nothing (never throws)", () => {
    const cases = [
      "object.spec.missing.field == 1 ? [] : []",
      "[JSONPatch{op: 'replace', path: '/spec/nope', value: 1}]",
      "Object{}",
    ];
    for (const expression of cases) {
      const p = policy({ matchConstraints: podRules, mutations: [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: "Object{metadata: Object.metadata{labels: {'a': 'b'}}}" } }, { patchType: "JSONPatch", jsonPatch: { expression } }] });
      const outcome = p.mutateAdmission!(create(pod));
      expect(outcome.results[0]?.status, expression).toBe("error");
      expect(outcome.results[0]?.message, expression).toContain("spec.mutations[1].jsonPatch.expression");
      expect(outcome.patched).toBe(pod);
      expect(outcome.patch).toEqual([]);
    }
  });

  it("mutates pod controllers through their pod template (autogen), CronJobs through the job template", () => {
    const p = policy({ matchConstraints: podRules, matchConditions: [{ name: "is-pod", expression: "object.kind == 'Pod'" }], mutations: [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: "Object{metadata: Object.metadata{labels: {'x': 'y'}}, spec: Object.spec{containers: [Object.spec.containers{name: 'app', imagePullPolicy: 'Always'}]}}" } }] });
    const template = { metadata: { labels: { app: "a" } }, spec: { containers: [{ name: "app", image: "nginx" }] } };
    const deploy: KubeObject = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "default" }, spec: { replicas: 2, template } };
    const patched = p.mutateAdmission!(create(deploy)).patched as { spec: { replicas: number; template: typeof template } };
    expect(patched.spec.replicas).toBe(2);
    expect(patched.spec.template).toEqual({ metadata: { labels: { app: "a", x: "y" } }, spec: { containers: [{ name: "app", image: "nginx", imagePullPolicy: "Always" }] } });
    const cron: KubeObject = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "c", namespace: "default" }, spec: { schedule: "* * * * *", jobTemplate: { spec: { template } } } };
    const patchedCron = p.mutateAdmission!(create(cron)).patched as { spec: { jobTemplate: { spec: { template: typeof template } } } };
    expect(patchedCron.spec.jobTemplate.spec.template.metadata.labels).toEqual({ app: "a", x: "y" });
    const noAutogen = policy({ matchConstraints: podRules, autogen: { podControllers: { controllers: [] } }, mutations: [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: "Object{}" } }] });
    expect(noAutogen.mutateAdmission!(create(deploy)).results).toEqual([]);
  });

  it("gives the same results from evaluateAdmission and mutateAdmission, for each input in turn", () => {
    const p = policy({ matchConstraints: podRules, matchConditions: [{ name: "named-p1", expression: "object.metadata.name == 'p1'" }], mutations: [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: "Object{metadata: Object.metadata{labels: {'x': 'y'}}}" } }] });
    const options = {};
    const first = create(pod);
    const other = create({ ...pod, metadata: { name: "p2", namespace: "default" } });
    expect(p.evaluateAdmission(first, options).map((r) => r.status)).toEqual(["pass"]);
    expect(p.mutateAdmission!(first, options).results.map((r) => r.status)).toEqual(["pass"]);
    expect(p.mutateAdmission!(other, options).results.map((r) => r.status)).toEqual(["skip"]);
    expect(p.evaluateAdmission(first, options).map((r) => r.status)).toEqual(["pass"]);
  });

  it("returns nomatch only when asked, and nothing for resources it does not select", () => {
    const p = policy({ matchConstraints: podRules, mutations: [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: "Object{}" } }] });
    const ns: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "n" } };
    expect(p.evaluateAdmission(create(ns))).toEqual([]);
    expect(p.evaluateAdmission(create(ns), { includeNoMatch: true }).map((r) => r.status)).toEqual(["nomatch"]);
  });

  it("rejects malformed mutations at compile time, naming the field and the fix", () => {
    const error = (spec: Json): VigilError => {
      try {
        policy(spec);
      } catch (e) {
        if (e instanceof VigilError) return e;
        throw e;
      }
      throw new Error("expected a compile error");
    };
    expect(error({ mutations: [{ patchType: "StrategicMerge" }] }).message).toMatch(/spec\.mutations\[0\]\.patchType "StrategicMerge".*use ApplyConfiguration or JSONPatch/);
    expect(error({ mutations: [{ patchType: "JSONPatch", jsonPatch: {} }] }).details["field"]).toContain("spec.mutations[0].jsonPatch.expression");
    expect(error({ mutations: [] }).message).toContain("spec.mutations must be a non-empty list");
    expect(error({ mutations: [{ patchType: "ApplyConfiguration", applyConfiguration: { expression: "Object{" } }] }).code).toBe("VIGIL_POLICY_COMPILE");
  });

  it("loads through compilePolicyDocuments instead of reporting MutatingPolicy as unsupported", () => {
    const [loaded] = compilePolicyDocuments([{ apiVersion: "policies.kyverno.io/v1alpha1", kind: "MutatingPolicy", metadata: { name: "m" }, spec: { matchConstraints: podRules, mutations: [{ patchType: "JSONPatch", jsonPatch: { expression: "[]" } }] } }], env, "inline");
    expect(loaded?.error).toBeUndefined();
    expect(loaded?.policy?.rules).toEqual([{ name: "", type: "mutate" }]);
    expect(loaded?.policy?.mutateAdmission?.(create(pod)).results.map((r) => r.status)).toEqual(["pass"]);
  });
});
