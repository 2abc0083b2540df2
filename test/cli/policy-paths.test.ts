import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bucketPolicy, publicRequest, tempDir, vigil } from "./support.js";

const event = JSON.stringify({ specversion: "1.0", id: "e1", source: "test", type: "dev.vigil.decide", time: "2026-01-01T00:00:00Z", data: publicRequest });

describe("a --policies (or --compare) path that does not exist", () => {
  // A typo in -p loaded no policy at all: every input was allowed and the command exited 0, so a CI step passed.
  it.each([
    ["eval", ["eval", "-p", "polcies", "--input", JSON.stringify(publicRequest)], "--policies"],
    ["scan", ["scan", "-p", "polcies", "."], "--policies"],
    ["replay --no-context", ["replay", "--no-context", "-p", "polcies", "events.jsonl"], "--policies"],
    ["replay", ["replay", "-p", "polcies", "events.jsonl"], "--policies"],
    ["replay --compare", ["replay", "-p", "policies", "--compare", "polcies", "events.jsonl"], "--compare"],
  ])("%s: exit 2 naming the option and the path, nothing evaluated", async (_name, argv, option) => {
    const dir = tempDir({ "events.jsonl": `${event}\n` });
    const policies = tempDir({ "p.yaml": bucketPolicy });
    const args = argv.map((a) => (a === "policies" ? policies : a));
    const run = await vigil(args, { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${option} polcies`);
    expect(run.stderr).toContain("[VIGIL_BAD_INPUT]");
    expect(run.stdout).toBe("");
  });

  it("an existing -p still works (deny, exit 1)", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["eval", "-p", "p.yaml", "--input", JSON.stringify(publicRequest)], { cwd: dir });
    expect(run.code).toBe(1);
  });
});

describe("a --policies path that holds no policy (an empty file, an empty directory)", () => {
  // It loaded nothing and said nothing: eval allowed every input (exit 0), lint reported "0 policies loaded, 0 errors".
  it.each([
    ["eval", ["eval", "-p", "PATH", "--input", JSON.stringify(publicRequest)], "--policies"],
    ["replay --no-context", ["replay", "--no-context", "-p", "PATH", "events.jsonl"], "--policies"],
    ["replay", ["replay", "-p", "PATH", "events.jsonl"], "--policies"],
    ["replay --compare", ["replay", "-p", "PATH", "--compare", "empty-dir", "events.jsonl"], "--policies"],
    ["scan", ["scan", "-p", "PATH", "manifests"], "--policies"],
    ["gate", ["gate", "--head", "lock.json", "-p", "PATH"], "--policies"],
    ["policies lint", ["policies", "lint", "PATH"], "path"],
  ])("%s: exit 2 naming the option, the path and the fix, nothing evaluated", async (_name, argv, option) => {
    for (const path of ["empty.yaml", "empty-dir"]) {
      const dir = tempDir({ "events.jsonl": `${event}\n`, "empty.yaml": "", "lock.json": JSON.stringify({ name: "app", lockfileVersion: 3, packages: { "": {} } }) });
      mkdirSync(join(dir, "empty-dir"));
      mkdirSync(join(dir, "manifests"));
      const run = await vigil(argv.map((a) => (a === "PATH" ? path : a)), { cwd: dir });
      expect(run.stderr).toContain(`${option === "path" ? "" : `${option} `}${path}: no policy found there (an empty file, or no policy document in it or under it); pass a policy file or directory that holds policies [VIGIL_BAD_INPUT]`);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
    }
  });

  it("a path with policies next to one without: the empty one is named", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "empty.yaml": "  \n" });
    const run = await vigil(["eval", "-p", "p.yaml", "-p", "empty.yaml", "--input", JSON.stringify(publicRequest)], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--policies empty.yaml: no policy found there");
  });

  it("a directory whose files only failed to load is reported by the load errors, not as empty", async () => {
    const dir = tempDir({ "broken.yaml": "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: { name: x }\nspec: { rules: 3 }\n" });
    const run = await vigil(["policies", "lint", "broken.yaml"], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("policy load error:");
    expect(run.stderr).not.toContain("no policy found there");
  });
});
