import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bucketPolicy, tempDir, vigil } from "./support.js";

describe("vigil policies lint without paths", () => {
  // It linted ./packs whatever vigil.yaml (or VIGIL_POLICIES) named, so the policies the agent loads went unchecked.
  it("lints the configured policies (vigil.yaml policies), as eval and replay load them", async () => {
    const dir = tempDir({ "vigil.yaml": "policies: [rules]\n" });
    mkdirSync(join(dir, "rules"));
    writeFileSync(join(dir, "rules", "p.yaml"), bucketPolicy);
    const clean = await vigil(["policies", "lint"], { cwd: dir });
    expect(clean.stderr).toBe("");
    expect(clean.stdout).toContain("1 policies loaded, 0 errors");
    expect(clean.code).toBe(0);
    writeFileSync(join(dir, "rules", "p.yaml"), bucketPolicy.replace("severity: high", "severty: high"));
    const broken = await vigil(["policies", "lint"], { cwd: dir });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/rules\/p\.yaml:\d+:\d+/);
  });

  it("reads VIGIL_POLICIES too; paths given on the command line win", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "typo.yaml": bucketPolicy.replace("name: no-public-bucket", "name: other").replace("severity: high", "severty: high") });
    const configured = await vigil(["policies", "lint"], { cwd: dir, env: { VIGIL_POLICIES: join(dir, "p.yaml") } });
    expect([configured.code, configured.stdout.trim().split("\n").at(-1)]).toEqual([0, "1 policies loaded, 0 errors, 0 warnings"]);
    const given = await vigil(["policies", "lint", "typo.yaml"], { cwd: dir, env: { VIGIL_POLICIES: join(dir, "p.yaml") } });
    expect(given.code).toBe(1);
  });
});
