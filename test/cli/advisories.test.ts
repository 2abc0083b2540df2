import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir, vigil } from "./support.js";

describe("vigil advisories import of a directory with no JSON file", () => {
  // Exit 2 with nothing on stderr: "0 files, 0 valid records ..., 0 rejected" gave no reason.
  it("says there is nothing to import, naming the path, exit 2", async () => {
    const dir = tempDir({ "notes.txt": "not osv" });
    mkdirSync(join(dir, "feed"));
    for (const format of ["text", "json"]) {
      const run = await vigil(["advisories", "import", "feed", "--dry-run", "-o", format], { cwd: dir });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("nothing to import: no .json file in feed; pass OSV JSON files or directories that hold them");
    }
  });
});

describe("vigil advisories import into a directory that cannot be created", () => {
  // --dir naming a file printed "internal error: Error: EEXIST ... mkdir" with a stack trace, exit 3.
  const record = readFileSync(new URL("../../packs/supply-chain/advisories/github-advisory-database/osv.json", import.meta.url), "utf8");

  it("--dir naming a file: an error naming --dir and the fix, exit 2, nothing written", async () => {
    const dir = tempDir({ "feed.json": record, "taken": "a file, not a directory" });
    const run = await vigil(["advisories", "import", "feed.json", "--dir", "taken"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("vigil advisories import: --dir taken: cannot create the imported-advisories directory: EEXIST");
    expect(run.stderr).toContain("name a directory (or a path where one can be created)");
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(readFileSync(join(dir, "taken"), "utf8")).toBe("a file, not a directory");
  });

  it("VIGIL_ADVISORIES_DIR naming a file: the error names the variable", async () => {
    const dir = tempDir({ "feed.json": record, "taken": "a file" });
    const run = await vigil(["advisories", "import", "feed.json"], { cwd: dir, env: { VIGIL_ADVISORIES_DIR: join(dir, "taken") } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`VIGIL_ADVISORIES_DIR ${join(dir, "taken")}: cannot create the imported-advisories directory: EEXIST`);
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});
