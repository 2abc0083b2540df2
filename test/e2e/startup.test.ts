/** `vigil serve` as a process: starts with whatever policies are there (or none), bootstraps the admin token once, refuses bad roles. */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { api, repoRoot, startVigil, tempDir, writeConfig } from "./harness.js";

describe("vigil serve", () => {
  it("starts with no policies and with a missing policy folder (reported, not fatal); generates and prints an admin token once", { timeout: 120_000 }, async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "empty-packs"));
    const configFile = writeConfig(dir, { policies: [join(dir, "empty-packs"), join(dir, "missing-packs")] });
    const first = await startVigil(configFile, { env: { VIGIL_ADMIN_TOKEN: "" } });
    try {
      const health = (await api(first.url, undefined).request("GET", "/healthz")).body;
      expect(health).toMatchObject({ status: "ok", policies: 0, policyErrors: 1, store: "sqlite", role: "all" });
      const token = /\n\s+(vgl_[A-Za-z0-9_-]{43})\n/.exec(first.stderr())?.[1];
      expect(token).toBeDefined();
      expect(first.logs.find((l) => l["msg"] === "vigil listening")).toMatchObject({ adminToken: "generated" });
      expect(JSON.stringify(first.logs)).not.toContain(token as string);
      const policies = await api(first.url, token).request("GET", "/v1/policies");
      expect(policies.status).toBe(200);
      expect(policies.body.loadErrors[0].message).toContain("missing-packs");
    } finally {
      expect(await first.stop()).toBe(0);
    }
    const second = await startVigil(configFile, { env: { VIGIL_ADMIN_TOKEN: "" } });
    try {
      expect(second.stderr()).not.toContain("vgl_");
      expect(second.logs.find((l) => l["msg"] === "vigil listening")).toMatchObject({ adminToken: "existing" });
    } finally {
      await second.stop();
    }
  });

  it("refuses a role that needs the NATS bus, and an unknown role, with exit code 2", () => {
    const dir = tempDir();
    const configFile = writeConfig(dir, { policies: [] });
    for (const [role, message] of [["api", "needs bus.kind nats"], ["boss", "--role must be one of all, api, worker"]] as const) {
      const run = spawnSync(process.execPath, ["--import", "tsx", join(repoRoot, "src", "cli", "main.ts"), "serve", "--config", configFile, "--port", "0", "--role", role], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(message);
    }
  });
});
