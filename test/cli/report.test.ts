import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bucketPolicy, tempDir, vigil } from "./support.js";

describe("vigil report --output json with no results", () => {
  // stdout was empty, so `vigil report -o json > reports.json` left a file that is not JSON.
  it("prints an empty v1 List (valid JSON) and says why on stderr", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    mkdirSync(join(dir, "manifests"));
    const run = await vigil(["report", "-p", "p.yaml", "--scan", "manifests", "--output", "json"], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ apiVersion: "v1", kind: "List", items: [] });
    expect(run.stderr).toContain("no policy results for the manifests under manifests");
    const yaml = await vigil(["report", "-p", "p.yaml", "--scan", "manifests"], { cwd: dir });
    expect(yaml.stdout).toBe("");
  });
});
