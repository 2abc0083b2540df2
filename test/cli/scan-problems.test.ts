import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bucketPolicy, tempDir, vigil } from "./support.js";

describe("vigil scan manifest errors", () => {
  // Printed "manifest error: apps/bad.yaml:2: apps/bad.yaml: YAML syntax error at line 2: ...".
  it("name the file and line once", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    mkdirSync(join(dir, "k8s", "apps"), { recursive: true });
    writeFileSync(join(dir, "k8s", "apps", "bad.yaml"), "a: [\n");
    const run = await vigil(["scan", "-p", "p.yaml", "k8s"], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^manifest error: apps\/bad\.yaml:2: YAML syntax error at line 2: /);
    expect(run.stderr.match(/bad\.yaml/g)).toHaveLength(1);
  });
});

describe("vigil cleanup manifest problems", () => {
  it("name the file and line once", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    mkdirSync(join(dir, "k8s", "apps"), { recursive: true });
    writeFileSync(join(dir, "k8s", "apps", "bad.yaml"), "a: [\n");
    const run = await vigil(["cleanup", "-p", "p.yaml", "k8s"], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^cleanup: apps\/bad\.yaml:2: YAML syntax error at line 2: /);
    expect(run.stderr.match(/bad\.yaml/g)).toHaveLength(1);
  });
});

describe("vigil scan of a directory with no manifest", () => {
  // "0 resources, 1 policies: 0 pass, 0 fail ..." with exit 0: a scan of the wrong directory passed.
  it("exit 2 naming the directory and what it should hold", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    mkdirSync(join(dir, "k8s"));
    writeFileSync(join(dir, "k8s", "README.md"), "manifests go here");
    for (const argv of [["scan", "-p", "p.yaml", "k8s"], ["scan", "-p", "p.yaml", "k8s", "--output", "json"]]) {
      const run = await vigil(argv, { cwd: dir });
      expect(run.code, argv.join(" ")).toBe(2);
      expect(run.stderr).toContain(`vigil ${argv[0]}: no Kubernetes object in the .yaml, .yml or .json files under k8s: pass the directory that holds the manifests [VIGIL_BAD_INPUT]`);
      expect(run.stdout).toBe("");
    }
  });
});
