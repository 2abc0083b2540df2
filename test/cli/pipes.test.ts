import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { bucketPolicy, publicRequest, tempDir } from "./support.js";

const repoRoot = resolve(import.meta.dirname, "..", "..");
// `--import tsx` resolves from the child's cwd (a temporary directory): pass the loader's own path.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** Runs the real `vigil` entry (through tsx); closes its stdout after the first chunk, as `| head -1` does. */
function runClosingStdout(argv: readonly string[], cwd: string, temp: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; firstChunk: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", tsx, join(repoRoot, "src", "cli", "main.ts"), ...argv], { cwd, env: { ...process.env, TMPDIR: temp, VIGIL_STORE_PATH: join(cwd, "vigil.db") }, stdio: ["ignore", "pipe", "pipe"] });
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
      const temp = mkdtempSync(join(tmpdir(), "vigil-epipe-"));
      const run = await runClosingStdout(["replay", ...mode, "-p", "p.yaml", "events.jsonl"], dir, temp);
      expect(run.firstChunk).toContain('"eventId":"e0"');
      expect(run.stderr).not.toContain("EPIPE");
      expect(run.stderr).not.toContain("internal error");
      expect(run.code).toBe(0);
      // The replay with context still removes its throwaway store.
      expect(readdirSync(temp).filter((name) => name.startsWith("vigil-replay-"))).toEqual([]);
    }, 60_000);
  }
});

/** Runs `vigil <argv>` in-process with stderr on a terminal (a progress line is drawn there). */
async function onTerminal(argv: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => (out += c.toString()));
  stderr.on("data", (c: Buffer) => (err += c.toString()));
  const code = await runCli(argv, { stdout, stderr, stdin: Readable.from([]), env: { VIGIL_STORE_PATH: join(cwd, "vigil.db") }, cwd });
  return { code, stdout: out, stderr: err };
}

describe("replay on a terminal", () => {
  it("--no-context reports every malformed line, not only the first 20", async () => {
    const good = JSON.stringify({ specversion: "1.0", id: "g1", source: "test", type: "dev.vigil.decide", data: publicRequest });
    const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": [good, ...Array.from({ length: 25 }, (_unused, i) => `{ broken ${i}`)].join("\n") });
    const run = await onTerminal(["replay", "--no-context", "-p", "p.yaml", "events.jsonl"], dir);
    expect(run.code).toBe(1);
    for (const line of [2, 21, 22, 26]) expect(run.stderr).toContain(`bad event: line ${line} is not valid JSON`);
    expect(run.stderr).toContain("25 bad lines");
  });

  it("with context, the pipeline's warnings are shown (they were dropped on a terminal)", async () => {
    const feedback = JSON.stringify({ specversion: "1.0", id: "f1", source: "test", type: "dev.vigil.feedback", data: { decisionId: "nope", label: "false_positive", by: "alice" } });
    const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": feedback });
    const run = await onTerminal(["replay", "-p", "p.yaml", "events.jsonl"], dir);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("warning: feedback event f1 not recorded");
  });
});

describe("replay interrupted (Ctrl-C)", () => {
  it("removes its throwaway store and exits 130", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const scratchParent = mkdtempSync(join(tmpdir(), "vigil-sigint-"));
    const child = spawn(process.execPath, ["--import", tsx, join(repoRoot, "src", "cli", "main.ts"), "replay", "-p", "p.yaml", "-"], { cwd: dir, env: { ...process.env, TMPDIR: scratchParent, VIGIL_STORE_PATH: join(dir, "vigil.db") }, stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
    // Events arrive and the pipe stays open, as from a producer still running.
    child.stdin.write(JSON.stringify({ specversion: "1.0", id: "e1", source: "test", type: "dev.vigil.decide", data: publicRequest }) + "\n");
    const scratch = (): string[] => readdirSync(scratchParent).filter((name) => name.startsWith("vigil-replay-"));
    while (scratch().length === 0) await new Promise((done) => setTimeout(done, 50));
    child.kill("SIGINT");
    const code = await exited;
    expect(stderr).not.toContain("internal error");
    expect(scratch()).toEqual([]);
    expect(code).toBe(130);
  }, 60_000);
});
