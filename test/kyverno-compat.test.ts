import { mkdtempSync, writeFileSync, mkdirSync, cpSync } from "node:fs";
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

  it("runs every kyverno-test.yaml and computes every validate-family expectation as Kyverno does", () => {
    expect(new Set(results.map((r) => r.suite)).size).toBe(20);
    const wrong = results.filter((r) => r.status !== "pass" && r.status !== "unsupported");
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

  it("reports mutate, generate and MutatingPolicy expectations as unsupported, never as passed", () => {
    const unsupported = [...suites("add-safe-to-evict"), ...suites("add-network-policy")];
    expect(unsupported.length).toBeGreaterThan(0);
    expect(unsupported.every((r) => r.status === "unsupported")).toBe(true);
    expect(summaryLine(summarize(unsupported))).toMatch(/^0 passed, 0 failed, \d+ unsupported$/);
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
