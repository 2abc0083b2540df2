import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir, vigil } from "./support.js";

describe("vigil simulate --setup -", () => {
  // Wrote a file named "-", as --out - once did.
  it("is stdout when the events go to a file, and a usage error when they go to stdout too", async () => {
    const dir = tempDir();
    const run = await vigil(["simulate", "--scenario", "access", "--days", "1", "--setup", "-", "--out", "events.jsonl"], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toHaveProperty("entities");
    expect(existsSync(join(dir, "-"))).toBe(false);
    expect(readFileSync(join(dir, "events.jsonl"), "utf8").split("\n").length).toBeGreaterThan(10);
    const both = await vigil(["simulate", "--scenario", "access", "--days", "1", "--setup", "-"], { cwd: dir });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--setup - and the events would both go to stdout: name a file with --out or --setup");
    expect(both.stdout).toBe("");
    expect(existsSync(join(dir, "-"))).toBe(false);
  });
});

describe("vigil simulate --out and --setup naming the same file", () => {
  // The setup was written, then the events over it (or the other way round): one of the two was lost, exit 0.
  it("is refused before anything is written, naming both options", async () => {
    const dir = tempDir({});
    const run = await vigil(["simulate", "--scenario", "access", "--days", "1", "--out", "stream.jsonl", "--setup", "./stream.jsonl"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("vigil simulate: --setup ./stream.jsonl is the --out file: the events and the setup would overwrite each other; name two files [VIGIL_BAD_INPUT]\n");
    expect(existsSync(join(dir, "stream.jsonl"))).toBe(false);
  });
});
