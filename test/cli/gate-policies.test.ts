import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir, vigil } from "./support.js";

const head = JSON.stringify({ name: "app", lockfileVersion: 3, packages: { "": { dependencies: { ms: "^2.1.0" } }, "node_modules/ms": { version: "2.1.3" } } });

describe("vigil gate -p with a policy that does not load", () => {
  // Exit 2, but the report said "0 errors" and --output json listed no error: a CI reading the JSON saw no reason.
  it("lists the load error among the errors (text count, JSON errors, once on stderr)", async () => {
    const dir = tempDir({ "head.json": head });
    mkdirSync(join(dir, "policies"));
    writeFileSync(join(dir, "policies", "broken.yaml"), "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: { name: broken }\nspec:\n  rules: [\n");
    const text = await vigil(["gate", "--head", "head.json", "-p", "policies", "-q"], { cwd: dir });
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/^error: .*broken\.yaml/m);
    expect(text.stdout).toMatch(/^ERROR: .* 1 errors$/m);
    const json = await vigil(["gate", "--head", "head.json", "-p", "policies", "-q", "-o", "json"], { cwd: dir });
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as { exitCode: number; errors: { file: string; field: string; message: string }[] };
    expect(report.exitCode).toBe(2);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]?.file).toMatch(/broken\.yaml$/);
    expect(json.stderr.match(/broken\.yaml/g)).toHaveLength(1);
    const sarif = await vigil(["gate", "--head", "head.json", "-p", "policies", "-q", "-o", "sarif"], { cwd: dir });
    expect(sarif.code).toBe(2);
    const invocation = (JSON.parse(sarif.stdout) as { runs: { invocations: { executionSuccessful: boolean; toolExecutionNotifications: { message: { text: string } }[] }[] }[] }).runs[0]?.invocations[0];
    expect(invocation?.executionSuccessful).toBe(false);
    expect(invocation?.toolExecutionNotifications[0]?.message.text).toContain("YAML error");
  });

  it("a -p path that does not exist is a usage error naming it, as in the other commands", async () => {
    const dir = tempDir({ "head.json": head });
    const run = await vigil(["gate", "--head", "head.json", "-p", "polcies"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--policies polcies: no such file or directory");
    expect(run.stdout).toBe("");
  });
});
