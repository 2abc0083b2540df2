import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir, vigil } from "./support.js";

/**
 * Commands that read (or change) what the agent stored: at a store path where no store exists they
 * created an empty SQLite file there and reported "nothing learned yet", "no proposals" or savings
 * of 0.00 with exit 0 — a wrong --config or VIGIL_STORE_PATH looked like an empty record.
 */
describe("commands on the configured store when there is no store at its path", () => {
  const packs = join(process.cwd(), "packs", "access");
  const commands: readonly (readonly string[])[] = [
    ["report", "cost"],
    ["learn", "show"],
    ["learn", "history"],
    ["learn", "update", "--token", "t", "-p", packs],
    ["learn", "reset", "--token", "t"],
    ["proposals", "list"],
    ["proposals", "show", "PROP-1"],
    ["proposals", "mine", "-p", packs],
    ["proposals", "reject", "PROP-1", "--reason", "r", "--token", "t"],
    ["policies", "shadow", "access-okta-restricted", "-p", packs],
    ["feedback", "0193b0c4", "--label", "false_positive", "--direct", "--token", "t"],
  ];
  for (const argv of commands) {
    it(`vigil ${argv.slice(0, 2).join(" ")}: VIGIL_NOT_FOUND naming the path and the fix, exit 2, no file created`, async () => {
      const dir = tempDir();
      const store = join(dir, "nowhere", "vigil.db");
      const run = await vigil(argv, { cwd: dir, env: { VIGIL_STORE_PATH: store } });
      expect(run.stderr).toContain(`no store at ${store} (store.path): run where the agent keeps its store, pass --config, or set VIGIL_STORE_PATH [VIGIL_NOT_FOUND]`);
      expect(run.code).toBe(2);
      expect(existsSync(store)).toBe(false);
    });
  }
});
