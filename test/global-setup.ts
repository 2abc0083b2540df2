/**
 * Vitest global setup: every test file's temporary directories (`mkdtempSync(join(tmpdir(), ...))`:
 * SQLite stores, CLI working directories, copies of fixtures) go under one directory per run,
 * removed when the run ends. Node's `os.tmpdir()` reads TMPDIR on each call and the test
 * processes (and the servers they start) inherit it. VIGIL_KEEP_TEST_TMP=1 keeps the directory
 * (its path is printed) to look at what a test left.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const previous = process.env["TMPDIR"];
  const base = mkdtempSync(join(tmpdir(), "vigil-test-run-"));
  process.env["TMPDIR"] = base;
  return () => {
    if (previous === undefined) delete process.env["TMPDIR"];
    else process.env["TMPDIR"] = previous;
    if (process.env["VIGIL_KEEP_TEST_TMP"] !== undefined) {
      process.stderr.write(`test temporary files kept in ${base}\n`);
      return;
    }
    rmSync(base, { recursive: true, force: true });
  };
}
