import { mkdtempSync, writeFileSync, mkdirSync, cpSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "../src/policy/cel/index.js";
import { runKyvernoTests } from "../src/policy/kyverno/test-runner.js";
import { summarize, summaryLine } from "../src/policy/testing.js";

const fixtures = join(import.meta.dirname, "fixtures", "kyverno");
const celEnv = createCelEnvironment();

describe("kyverno test compatibility over the fixture subset of the Kyverno policy library", () => {
  const results = runKyvernoTests([fixtures], { celEnv });
  const suites = (part: string) => results.filter((r) => r.suite.includes(part));

  // MutatingPolicy suites (`*-mpol`) are checked by src/policy/kyverno/mutating-policy.test.ts.
  const clusterPolicyAndValidating = results.filter((r) => !r.suite.includes("-mpol/"));

  it("runs every kyverno-test.yaml and computes every validate, ClusterPolicy mutate and generate expectation as Kyverno does", () => {
    expect(new Set(clusterPolicyAndValidating.map((r) => r.suite)).size).toBe(31);
    const wrong = clusterPolicyAndValidating.filter((r) => r.status !== "pass" && r.status !== "unsupported");
    expect(wrong.map((r) => `${r.suite}: ${r.name} expected ${r.expected} got ${r.actual} ${r.message ?? ""}`)).toEqual([]);
    expect(summarize(results).passed).toBeGreaterThanOrEqual(150);
  });

  it.each([
    ["pattern + anchors", "best-practices/disallow-latest-tag"],
    ["pattern with namespace defaulting", "other/disallow-all-secrets"],
    ["foreach + deny + JMESPath", "openshift/disallow-security-context-constraint-anyuid"],
    ["context mocks with nested variables", "other/restrict-service-account"],
    ["external context (apiCall mocks)", "other/exclude-namespaces-dynamically"],
    ["validate.cel with namespaceObject", "best-practices-cel/disallow-default-namespace"],
    ["ValidatingPolicy with autogen", "pod-security-vpol/baseline/disallow-host-ports"],
    ["ValidatingPolicy with userinfo", "other-vpol/limit-configmap-for-sa"],
    ["podSecurity with exclusions", "pod-security/subrule/restricted/restricted-exclude-capabilities"],
  ])("%s (%s) has both fail and pass expectations, all met", (_label, dir) => {
    const mine = suites(dir);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.status === "pass")).toBe(true);
    expect(mine.some((r) => r.expected === "fail" && r.actual === "fail")).toBe(true);
  });

  it.each([
    ["data with a substituted namespace (NetworkPolicy per Namespace)", "best-practices/add-network-policy", 1],
    ["two generate rules of one policy, one expected file each", "best-practices/add-ns-quota", 2],
    ["a whole-string variable giving an object (the Deployment's selector)", "other/create-default-pdb", 1],
    ["context variables, a mocked apiCall in preconditions, data.metadata", "kasten/kasten-generate-example-backup-policy", 1],
    ["match selector with matchExpressions, values file request.namespace", "kasten/kasten-generate-policy-by-preset-label", 1],
    ["GeneratingPolicy: generator.Apply with a list from variables", "best-practices-gpol/add-network-policy", 1],
    ["GeneratingPolicy: generator.Apply with objects built from variables", "other-gpol/create-default-pdb", 1],
  ])("generate: %s (%s) matches every status and generated resource", (_label, dir, count) => {
    const mine = suites(`${dir}/`);
    expect(mine).toHaveLength(count);
    expect(mine.map((r) => `${r.name}: ${r.status} ${r.message ?? ""}`)).toEqual(mine.map((r) => `${r.name}: pass ${r.message ?? ""}`));
    expect(mine.every((r) => r.actual === "pass")).toBe(true);
  });

  /** Runs a copy of a fixture directory with one expected file edited. */
  function runEdited(dir: string, file: string, edit: (text: string) => string) {
    const copy = mkdtempSync(join(tmpdir(), "vigil-kyverno-generate-"));
    cpSync(join(fixtures, dir), copy, { recursive: true });
    const path = join(copy, ".kyverno-test", file);
    writeFileSync(path, edit(readFileSync(path, "utf8")));
    return runKyvernoTests([copy], { celEnv });
  }

  it("compares the generated resource: a wrong expected file fails with the first differing path and both values", () => {
    const rows = runEdited("best-practices/add-ns-quota", "generatedResourceQuota.yaml", (t) => t.replace("requests.memory: '16Gi'", "requests.memory: '32Gi'"));
    const quota = rows.filter((r) => r.rule === "generate-resourcequota");
    expect(quota).toHaveLength(1);
    expect(quota[0]).toMatchObject({ status: "fail", actual: "pass" });
    expect(quota[0]?.message).toContain('/spec/hard/requests.memory: actual "16Gi", expected "32Gi"');
    // the other rule's entry, with its own expected file, still passes
    expect(rows.filter((r) => r.rule === "generate-limitrange").map((r) => r.status)).toEqual(["pass"]);
  });

  it("reads a clone rule's source from the entry's cloneSourceResource file, as the CLI's fake cluster does", () => {
    const files: Record<string, string> = {
      "policy.yaml": "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: sync-secrets\nspec:\n  rules:\n  - name: sync-image-pull-secret\n    match:\n      any:\n      - resources:\n          kinds: [Namespace]\n    generate:\n      apiVersion: v1\n      kind: Secret\n      name: regcred\n      namespace: \"{{request.object.metadata.name}}\"\n      synchronize: true\n      clone:\n        namespace: default\n        name: regcred\n",
      "resource.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n",
      "source.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n  namespace: default\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: e30=\n",
      "generated.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n  namespace: team-a\n  labels:\n    generate.kyverno.io/clone-source: \"\"\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: e30=\n",
    };
    // A directory per variant: test files are read once per path.
    const run = (extra: string) => {
      const dir = mkdtempSync(join(tmpdir(), "vigil-kyverno-clone-"));
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      writeFileSync(join(dir, "kyverno-test.yaml"), test(extra));
      return runKyvernoTests([dir], { celEnv });
    };
    const test = (extra: string) => "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata:\n  name: clone\npolicies: [policy.yaml]\nresources: [resource.yaml]\nresults:\n- policy: sync-secrets\n  rule: sync-image-pull-secret\n  resources: [team-a]\n  kind: Namespace\n  result: pass\n  generatedResource: generated.yaml\n" + extra;
    expect(run("  cloneSourceResource: source.yaml\n").map((r) => [r.status, r.message ?? ""])).toEqual([["pass", "generated Secret team-a/regcred"]]);
    // Without it the source is nowhere: the rule errors, the row fails.
    expect(run("").map((r) => [r.status, r.actual])).toEqual([["fail", "error"]]);
    // A missing file is named.
    const missing = run("  cloneSourceResource: nowhere.yaml\n");
    expect(missing.map((r) => r.status)).toEqual(["error"]);
    expect(missing[0]?.message).toContain("cloneSourceResource nowhere.yaml");
  });

  it("compares a GeneratingPolicy's generated resource the same way", () => {
    const rows = runEdited("other-gpol/create-default-pdb", "generatedResource.yaml", (t) => t.replace("minAvailable: 1", "minAvailable: 2"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "fail", actual: "pass" });
    expect(rows[0]?.message).toContain("/spec/minAvailable: actual 1, expected 2");
  });

  it("ignores generate.kyverno.io labels and managed-by: kyverno as Kyverno's FixupGenerateLabels does, but not other labels", () => {
    const kyvernoLabels = (t: string) => t.replace("namespace: hello-world-namespace", "namespace: hello-world-namespace\n  labels:\n    app.kubernetes.io/managed-by: kyverno\n    generate.kyverno.io/policy-name: other");
    expect(runEdited("best-practices/add-network-policy", "generatedResource.yaml", kyvernoLabels).map((r) => r.status)).toEqual(["pass"]);
    const teamLabel = (t: string) => t.replace("namespace: hello-world-namespace", "namespace: hello-world-namespace\n  labels:\n    team: a");
    const rows = runEdited("best-practices/add-network-policy", "generatedResource.yaml", teamLabel);
    expect(rows.map((r) => r.status)).toEqual(["fail"]);
    expect(rows[0]?.message).toContain("/metadata/labels/team");
  });

  it("fails an entry whose expected file has no resource with the generated kind, name and namespace", () => {
    const rows = runEdited("other/create-default-pdb", "generatedResource.yaml", (t) => t.replace("name: nginx-deployment-default-pdb", "name: other-pdb"));
    expect(rows.map((r) => r.status)).toEqual(["fail"]);
    expect(rows[0]?.message).toContain("has no PodDisruptionBudget nginx-deployment-default-pdb in namespace hello-world");
  });

  it.each([
    ["patchStrategicMerge, add-if-not-present and global anchors in a list (pass and skip)", "best-practices/add-safe-to-evict", 4],
    ["conditional anchors inside lists, one element per container", "other/mitigate-log4shell", 4],
    ["foreach + anchors + variables; an unchanged resource is skip", "karpenter/set-karpenter-non-cpu-limits", 8],
    ["patchesJson6902 creating missing parents with -1 indexes", "other/add-node-affinity", 1],
    ["nested foreach, order Descending, JSON patches with elementIndex", "other/remove-hostpath-volumes", 1],
    ["autogen of a mutate rule (autogen-<rule> on a Deployment), values file", "velero/backup-all-volumes", 3],
    ["patchesJson6902 with preconditions (skip)", "kasten/kasten-minimum-retention", 3],
  ])("ClusterPolicy mutate: %s (%s) matches every status and patched resource", (_label, dir, count) => {
    const mine = suites(`${dir}/`);
    expect(mine).toHaveLength(count);
    expect(mine.map((r) => `${r.name}: ${r.status} ${r.message ?? ""}`)).toEqual(mine.map((r) => `${r.name}: pass ${r.message ?? ""}`));
    expect(mine.some((r) => r.actual === "pass")).toBe(true);
  });

  it("compares the patched resource: a wrong expected file fails with the first differing path", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-kyverno-mutate-"));
    cpSync(join(fixtures, "other", "mitigate-log4shell"), dir, { recursive: true });
    const patched = join(dir, ".kyverno-test", "patchedResource.yaml");
    writeFileSync(patched, readFileSync(patched, "utf8").replace('value: "true"', 'value: "false"'));
    const rows = runKyvernoTests([dir], { celEnv }).filter((r) => r.resource === "demo-pod01");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.status === "fail" && r.actual === "pass")).toBe(true);
    expect(rows[0]?.message).toContain("/env/0/value: actual \"true\", expected \"false\"");
  });

  it("gives JSON-able entries with policy, rule, resource, expected and actual", () => {
    const entry = suites("disallow-latest-tag").find((r) => r.expected === "fail");
    expect(entry).toMatchObject({ policy: "disallow-latest-tag", expected: "fail", actual: "fail", status: "pass" });
    expect(JSON.parse(JSON.stringify(entry))).toEqual(entry);
  });
});

describe("kyverno test bad input", () => {
  it("a missing file no result refers to still fails the test, naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-kyverno-"));
    cpSync(join(fixtures, "best-practices", "disallow-latest-tag"), join(dir, "t"), { recursive: true });
    const testFile = join(dir, "t", ".kyverno-test", "kyverno-test.yaml");
    writeFileSync(testFile, readFileSync(testFile, "utf8").replace("- ../disallow-latest-tag.yaml", "- ../disallow-latest-tag.yaml\n- ../forgotten-policy.yaml"));
    const results = runKyvernoTests([dir], { celEnv });
    const errors = results.filter((r) => r.status === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain("policy ../forgotten-policy.yaml");
    // The results that do not depend on it still pass.
    expect(results.filter((r) => r.status === "pass").length).toBeGreaterThan(0);
  });

  it("reports a test pointing at a missing policy or resource with its path and runs the other tests", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-kyverno-"));
    mkdirSync(join(dir, "broken"));
    writeFileSync(join(dir, "broken", "kyverno-test.yaml"), [
      "apiVersion: cli.kyverno.io/v1alpha1", "kind: Test", "metadata: {name: broken}",
      "policies: [missing-policy.yaml]", "resources: [missing-resource.yaml]",
      "results:", "- {policy: p, rule: r, kind: Pod, resources: [x], result: pass}",
    ].join("\n"));
    cpSync(join(fixtures, "best-practices", "disallow-latest-tag"), join(dir, "good"), { recursive: true });
    const results = runKyvernoTests([dir], { celEnv });
    const broken = results.filter((r) => r.suite.includes("broken"));
    expect(broken).toHaveLength(1);
    expect(broken[0]?.status).toBe("error");
    expect(broken[0]?.message).toContain("missing-policy.yaml");
    expect(broken[0]?.message).toContain("missing-resource.yaml");
    const good = results.filter((r) => r.suite.includes("good"));
    expect(good.length).toBeGreaterThan(0);
    expect(good.every((r) => r.status === "pass")).toBe(true);
  });
});
