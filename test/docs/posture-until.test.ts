import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { postureSetCommand } from "../../src/cli/commands/operate.js";

/** `--until` must be in the future (the server refuses a past one), so an example with a fixed date stops working once that date passes. */
const fixedUntil = /--until\s+"?\d{4}-\d{2}-\d{2}T/;

describe("vigil posture set --until examples (docs/running.md and --help)", () => {
  it("the help's examples give --until as a time computed from now, as docs/running.md does", () => {
    const untilExamples = (postureSetCommand.examples ?? []).filter((e) => e.includes("--until"));
    expect(untilExamples.length).toBeGreaterThan(0);
    for (const example of untilExamples) expect(example).not.toMatch(fixedUntil);
  });

  it("docs/running.md's posture example does too", () => {
    const page = readFileSync(join(import.meta.dirname, "../../docs/running.md"), "utf8");
    const lines = page.split("\n").filter((l) => l.startsWith("vigil posture set") && l.includes("--until"));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toMatch(fixedUntil);
  });
});
