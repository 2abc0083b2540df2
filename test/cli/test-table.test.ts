import { describe, expect, it } from "vitest";
import { tempDir, vigil } from "./support.js";

describe("vigil test table", () => {
  // A YAML error's message spans lines (the source line and a caret): the DETAIL cell broke the
  // table into lines that were not rows.
  it("keeps a multi-line error message on its row", async () => {
    const dir = tempDir({ "kyverno-test.yaml": "a: [\n" });
    const run = await vigil(["test", "."], { cwd: dir });
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^STATUS\s+SUITE/);
    expect(lines.at(-1)).toBe("0 passed, 1 failed");
    expect(lines.slice(1, -1)).toHaveLength(1);
    expect(lines[1]).toMatch(/^ERROR\s.*cannot read .*kyverno-test\.yaml: .*at line 2, column 1: a: \[ \^$/);
  });
});

describe("vigil test of paths that hold no test", () => {
  // "no tests found" and "0 passed, 0 failed" with exit 0: a CI step pointed at the wrong directory passed.
  it("exit 2 naming the paths and what a test is, in text and json", async () => {
    const dir = tempDir({ "notes.md": "no tests here", "policy.yaml": "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: { name: p }\nspec:\n  rules:\n    - name: r\n      condition: 'false'\n" });
    for (const format of ["text", "json"]) {
      const run = await vigil(["test", ".", "--output", format], { cwd: dir });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("vigil test: no tests found under .: a test is a policy's spec.tests, a *.test.yaml file or a kyverno-test.yaml file; pass the files or directories that hold them [VIGIL_BAD_INPUT]");
      expect(run.stdout).toBe("");
    }
  });
});
