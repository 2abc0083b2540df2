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
