import { mkdirSync } from "node:fs";
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
