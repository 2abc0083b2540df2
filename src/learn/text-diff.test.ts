import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addToSpec } from "./proposal-yaml.js";
import { unifiedDiff } from "./text-diff.js";

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), "vigil-diff-")); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

/** Writes `before`, applies the diff with `git apply` (as a person accepting a proposal would) and returns the file. */
function applied(before: string, diff: string): string {
  const file = join(dir, "policy.yaml");
  writeFileSync(file, before);
  writeFileSync(join(dir, "change.patch"), diff);
  execFileSync("git", ["apply", "change.patch"], { cwd: dir, stdio: "pipe" });
  return readFileSync(file, "utf8");
}

const policy = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: p }
spec:
  rules:
    - name: r
      condition: input.a == "x"
`;

describe("unifiedDiff: what git apply makes of it is the proposed text", () => {
  const cases: Record<string, [string, string]> = {
    "both end with a newline": [policy, `${policy}  exceptions:\n    - name: e\n      when: "true"\n`],
    "a policy file without a final newline, the clause appended": [policy.trimEnd(), addToSpec({ file: "policy.yaml", text: policy.trimEnd(), index: 0 }, { exceptions: [{ name: "e", when: "true" }] })],
    "the old text ends without a newline, the new one with": ["a\nb\nc", "a\nb\nc\n"],
    "the old text ends with a newline, the new one without": ["a\nb\nc\n", "a\nb\nc"],
    "neither ends with a newline, the last line changes": ["a\nb\nc", "a\nb\nd"],
    "a change far from an unterminated last line": [`x\n${"l\n".repeat(10)}end`, `y\n${"l\n".repeat(10)}end`],
  };
  for (const [name, [before, after]] of Object.entries(cases)) {
    it(name, () => {
      const diff = unifiedDiff(before, after, "policy.yaml");
      expect(diff).not.toBe("");
      expect(applied(before, diff)).toBe(after);
    });
  }

  it("equal texts give no diff", () => {
    expect(unifiedDiff("a\nb", "a\nb", "policy.yaml")).toBe("");
  });
});
