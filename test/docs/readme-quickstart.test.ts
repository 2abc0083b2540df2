import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { tempDir, vigil } from "../cli/support.js";

/** README "Policies in one minute": the policy, and the text block showing `vigil test` and `vigil eval --explain`. */
const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
const section = readme.slice(readme.indexOf("## Policies in one minute"));
const policy = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
const shown = (/```text\n([\s\S]*?)```/.exec(section)?.[1] ?? "").trimEnd().split("\n");

/** The lines a command printed in the README, up to the next `$ ` line. */
function shownOutput(command: string): string[] {
  const start = shown.findIndex((line) => line.startsWith(`$ vigil ${command}`));
  if (start < 0) throw new Error(`README: no "$ vigil ${command}" line in Policies in one minute`);
  const end = shown.findIndex((line, i) => i > start && line.startsWith("$ "));
  return shown.slice(start + 1, end < 0 ? undefined : end);
}

/** A shown line matches a printed one when every part between the README's "…" elisions appears in order. */
function matches(printed: string, line: string): boolean {
  let at = 0;
  for (const part of line.split("…").map((p) => p.trim()).filter(Boolean)) {
    const found = printed.indexOf(part, at);
    if (found < 0) return false;
    at = found + part.length;
  }
  return true;
}

describe("README: policies in one minute", () => {
  const dir = tempDir({ "s3.yaml": policy });

  it("vigil test s3.yaml passes as shown", async () => {
    const run = await vigil(["test", "s3.yaml"], { cwd: dir });
    expect(run.code).toBe(0);
    const printed = run.stdout.trimEnd().split("\n");
    for (const line of shownOutput("test")) expect(printed.some((p) => matches(p, line)), line).toBe(true);
  });

  it("vigil eval --explain denies with the decision and trace shown", async () => {
    const input = (parse(policy) as { spec: { tests: { input: unknown }[] } }).spec.tests[0]?.input;
    const run = await vigil(["eval", "-p", "s3.yaml", "--event-type", "com.amazonaws.cloudtrail", "--explain", "-i", JSON.stringify(input)], { cwd: dir });
    expect(run.code).toBe(1);
    const printed = run.stdout.trimEnd().split("\n");
    const lines = shownOutput("eval");
    expect(printed[0]).toBe(lines[0]);
    for (const line of lines.slice(1)) expect(printed.some((p) => matches(p, line)), line).toBe(true);
  });
});
