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

  it("runs every kyverno-test.yaml and computes every validate and ClusterPolicy mutate expectation as Kyverno does", () => {
    expect(new Set(clusterPolicyAndValidating.map((r) => r.suite)).size).toBe(25);
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

  it("reports generate expectations as unsupported, never as passed", () => {
    const unsupported = suites("best-practices/add-network-policy");
    expect(unsupported.length).toBeGreaterThan(0);
    expect(unsupported.every((r) => r.status === "unsupported")).toBe(true);
    expect(summaryLine(summarize(unsupported))).toMatch(/^0 passed, 0 failed, \d+ unsupported$/);
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
