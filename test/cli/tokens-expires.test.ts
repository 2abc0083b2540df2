import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir, vigil } from "./support.js";

describe("vigil tokens create --expires", () => {
  // The API answered "body/expiresAt must match format \"date-time\"", --direct "expiresAt must be ...": neither named --expires.
  it("a time that is not RFC 3339 is a usage error naming --expires, before the server or the store is used", async () => {
    const dir = tempDir();
    const store = join(dir, "store", "vigil.db");
    for (const mode of [[], ["--direct"]]) {
      const run = await vigil(["tokens", "create", ...mode, "--name", "ci", "--role", "viewer", "--expires", "next week"], { cwd: dir, env: { VIGIL_SERVER: "http://127.0.0.1:9", VIGIL_TOKEN: "t", VIGIL_STORE_PATH: store } });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('--expires must be an RFC 3339 time such as 2027-01-01T00:00:00Z, not "next week"');
    }
    expect(existsSync(store)).toBe(false);
  });

  it("a leap second (23:59:60, valid RFC 3339) is taken, as the last millisecond of its minute", async () => {
    const dir = tempDir();
    const run = await vigil(["tokens", "create", "--direct", "--name", "ci", "--role", "viewer", "--expires", "2030-12-31T23:59:60Z", "-o", "json"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "vigil.db") } });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { record: { expiresAt: string } }).record.expiresAt).toBe("2030-12-31T23:59:59.999Z");
  });
});
