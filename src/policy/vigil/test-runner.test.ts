import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { summarize } from "../testing.js";
import { loadPolicyText } from "../load.js";
import { contextForTest, defaultEventType, runInlineTests, runNativeTests, runPolicyTestFile } from "./test-runner.js";

const roots: string[] = [];
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "vigil-tests-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
afterAll(() => { for (const root of roots) rmSync(root, { recursive: true, force: true }); });

const policy = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: deletes }
spec:
  on: [dev.vigil.decide]
  match: action == "delete"
  rules:
    - name: no-delete
      condition: principal.role != "admin"
      message: "{{ principal.id }} may not delete"
    - name: broken
      condition: principal.missing == 1
      effect: audit
`;

describe("native test runner", () => {
  it("runs the fixtures' inline tests and PolicyTest files, all passing", () => {
    const results = runNativeTests("test/fixtures/policies");
    expect(results.filter((r) => r.status !== "pass")).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(20);
    expect(results.some((r) => r.suite.endsWith("s3-public-access.test.yaml") && r.name === "PutBucketPolicy allowing AWS \"*\"")).toBe(true);
    expect(results.some((r) => r.policy === "s3-public-access" && r.name === "website bucket is excepted")).toBe(true);
  });

  it("reports failed expectations with what differed", () => {
    const text = policy + `  tests:
    - name: wrong
      input: { action: delete, principal: { id: eve, role: dev } }
      expect:
        allow: true
        violations: [broken]
        findings: [{ rule: no-delete, message: "nobody" }]
    - name: right
      input: { action: delete, principal: { id: eve, role: dev } }
      expect:
        allow: false
        violations: [deletes/no-delete]
        errors: [broken]
        findings: [{ rule: no-delete, message: "eve may not delete", severity: medium, mode: deny }]
    - name: unexpected error
      input: { action: delete, principal: { id: root, role: admin } }
      expect: { violations: [] }
    - name: not matched
      input: { action: read }
      expect:
        violations: []
        findings: [{ rule: no-delete, effect: skip }]
`;
    const { policies, errors } = loadPolicyText(text, "deletes.yaml");
    expect(errors).toEqual([]);
    const results = runInlineTests(policies);
    expect(results.map((r) => [r.name, r.status])).toEqual([["wrong", "fail"], ["right", "pass"], ["unexpected error", "fail"], ["not matched", "pass"]]);
    expect(results[0]?.message).toContain("expected allow=true, got allow=false");
    expect(results[0]?.message).toContain("expected violation broken, got none");
    expect(results[0]?.message).toContain("unexpected violation deletes/no-delete");
    expect(results[0]?.message).toContain('expected a finding violation rule=no-delete message~"nobody"');
    expect(results[2]?.message).toMatch(/unexpected error deletes\/broken \(.+\)/);
    expect(results[1]).toMatchObject({ suite: "deletes.yaml", policy: "deletes", expected: "allow=false violations=[deletes/no-delete] errors=[broken] 1 finding(s)", actual: "allow=false violations=[deletes/no-delete] errors=[deletes/broken]" });
  });

  it("shadow-mode policies do not make allow false", () => {
    const text = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: shadowed }
spec:
  rules: [{ name: r, condition: "true" }]
  enforcement: { mode: shadow }
  tests:
    - name: recorded, not enforced
      expect: { allow: true, violations: [r] }
`;
    expect(runInlineTests(loadPolicyText(text).policies).map((r) => r.status)).toEqual(["pass"]);
  });

  it("a PolicyTest pointing at a missing policy reports the path and the other tests still run", () => {
    const root = tree({
      "policies/deletes.yaml": policy,
      "tests/missing.test.yaml": `apiVersion: vigil.dev/v1\nkind: PolicyTest\nmetadata: { name: m }\nspec:\n  policies: [../policies/nope.yaml]\n  cases:\n    - name: c1\n      input: {}\n      expect: { violations: [] }\n`,
      "tests/deletes.test.yaml": `apiVersion: vigil.dev/v1
kind: PolicyTest
metadata: { name: d }
spec:
  policies: [../policies]
  cases:
    - name: admin deletes
      input: { action: delete, principal: { id: root, role: admin } }
      expect: { allow: true, violations: [], errors: [broken] }
    - name: from file
      inputFile: input.json
      expect: { allow: false, violations: [no-delete], errors: [broken] }
    - name: missing input file
      inputFile: nope.json
      expect: { violations: [] }
    - name: unknown policy
      policies: [ghost]
      input: {}
      expect: { violations: [] }
    - name: wrong event type
      event: { type: com.example.other }
      input: { action: delete }
      expect: { violations: [] }
`,
      "tests/input.json": JSON.stringify({ action: "delete", principal: { id: "eve", role: "dev" } }),
    });
    const results = runNativeTests(root);
    const byName = Object.fromEntries(results.map((r) => [r.name, r]));
    expect(byName["c1"]).toMatchObject({ status: "error" });
    expect(byName["c1"]?.message).toContain(`policy path not found: ${join(root, "policies/nope.yaml")}`);
    expect(byName["admin deletes"]?.status).toBe("pass");
    expect(byName["from file"]?.status).toBe("pass");
    expect(byName["missing input file"]?.status).toBe("error");
    expect(byName["missing input file"]?.message).toContain("nope.json");
    expect(byName["unknown policy"]?.message).toContain("policies not loaded from ../policies: ghost");
    expect(byName["wrong event type"]?.message).toContain("no policy applies to event type com.example.other");
    expect(summarize(results)).toMatchObject({ passed: 2, failed: 1, errors: 3 });
  });

  it("reports an invalid PolicyTest document with its position", () => {
    const root = tree({ "bad.test.yaml": "apiVersion: vigil.dev/v1\nkind: PolicyTest\nspec:\n  policies: [x]\n  cases:\n    - name: c\n      expect: { allow: maybe }\n" });
    const results = runPolicyTestFile(join(root, "bad.test.yaml"));
    expect(results).toHaveLength(1);
    expect(results[0]?.status).toBe("error");
    expect(results[0]?.message).toContain("bad.test.yaml:7:24: spec.cases[0].expect.allow must be true or false, got the string \"maybe\"");
    const typo = tree({ "typo.test.yaml": "apiVersion: vigil.dev/v1\nkind: PolicyTest\nspec:\n  policies: [x]\n  cases:\n    - name: c\n      expect: { allow: true }\n      inputs:\n        a: 1\n" });
    expect(runPolicyTestFile(join(typo, "typo.test.yaml"))[0]?.message).toContain('typo.test.yaml:8:7: spec.cases[0].inputs unknown field "inputs"; did you mean "input"?');
  });

  it("builds the case context: defaults, event envelope, posture and signals", () => {
    const ctx = contextForTest({ name: "t", expect: { violations: [] }, event: { subject: "s", type: "x.y" }, context: { posture: { level: "incident" }, signals: { geo: { score: 0.9 } } } }, { a: 1 }, "dev.vigil.decide");
    expect(ctx.event).toMatchObject({ specversion: "1.0", id: "test-t", source: "vigil-test", type: "x.y", subject: "s", data: { a: 1 } });
    expect(ctx.posture).toMatchObject({ level: "incident", scope: "org" });
    expect(ctx.signals["geo"]).toEqual({ detector: "geo", score: 0.9, confidence: 1, factors: [] });
    expect(ctx.now).toBe("2024-01-01T00:00:00Z");
    expect(defaultEventType(loadPolicyText(policy).policies)).toBe("dev.vigil.decide");
  });
});
