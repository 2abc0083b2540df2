import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { bucketPolicy, publicRequest, tempDir } from "./support.js";

const repoRoot = resolve(import.meta.dirname, "..", "..");
// `--import tsx` resolves from the child's cwd (a temporary directory): pass the loader's own path.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** Runs the real `vigil` entry (through tsx); closes its stdout after the first chunk, as `| head -1` does. */
function runClosingStdout(argv: readonly string[], cwd: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; firstChunk: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", tsx, join(repoRoot, "src", "cli", "main.ts"), ...argv], { cwd, env: { ...process.env, VIGIL_STORE_PATH: join(cwd, "vigil.db") }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let firstChunk = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.once("data", (c: Buffer) => {
      firstChunk = c.toString();
      child.stdout.destroy();
    });
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code, signal, stderr, firstChunk }));
  });
}

describe("output to a closed pipe", () => {
  for (const mode of [[], ["--no-context"]] as const) {
    it(`vigil replay ${mode.join(" ")} | head -1: stops quietly, no EPIPE stack trace`, async () => {
      const lines = Array.from({ length: 20_000 }, (_unused, i) => JSON.stringify({ specversion: "1.0", id: `e${i}`, source: "test", type: "dev.vigil.decide", data: publicRequest }));
      const dir = tempDir({ "p.yaml": bucketPolicy });
      writeFileSync(join(dir, "events.jsonl"), lines.join("\n") + "\n");
      const run = await runClosingStdout(["replay", ...mode, "-p", "p.yaml", "events.jsonl"], dir);
      expect(run.firstChunk).toContain('"eventId":"e0"');
      expect(run.stderr).not.toContain("EPIPE");
      expect(run.stderr).not.toContain("internal error");
      expect(run.code).toBe(0);
    }, 60_000);
  }
});
