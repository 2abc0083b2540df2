import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bucketPolicy, tempDir, vigil } from "./support.js";

describe("vigil serve --port", () => {
  // 99999 passed the check, so the store was created, pending events processed and an admin token
  // generated and printed before listen() refused the port.
  it.each(["99999", "65536"])("%s (out of range) is a usage error before anything is opened or generated", async (port) => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const store = join(dir, "store", "vigil.db");
    const run = await vigil(["serve", "-p", "p.yaml", "--port", port], { cwd: dir, env: { VIGIL_STORE_PATH: store } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--port must be a port number from 0 to 65535, not "${port}"`);
    expect(run.stderr).not.toContain("admin token was generated");
    expect(existsSync(store)).toBe(false);
  });
});
