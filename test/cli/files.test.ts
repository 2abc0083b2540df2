import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bucketPolicy, privateRequest, publicRequest, tempDir, vigil } from "./support.js";

function event(id: string, data: unknown): string {
  return JSON.stringify({ specversion: "1.0", id, source: "test", type: "dev.vigil.decide", data });
}

describe("input and output files", () => {
  for (const mode of [[], ["--no-context"]] as const) {
    const name = `vigil replay ${mode.join(" ")}`.trim();

    it(`${name} --out into a directory that does not exist yet creates it and writes the decisions`, async () => {
      const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": [event("e1", publicRequest), event("e2", privateRequest)].join("\n") });
      const run = await vigil(["replay", ...mode, "-p", "p.yaml", "--out", "out/decisions/d.jsonl", "events.jsonl"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "vigil.db") } });
      expect(run.stderr).not.toContain("internal error");
      expect(run.code).toBe(0);
      const lines = readFileSync(join(dir, "out", "decisions", "d.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { eventId: string; verdict: string });
      expect(lines.map((d) => [d.eventId, d.verdict])).toEqual([["e1", "deny"], ["e2", "allow"]]);
    });

    it(`${name} of a file that does not exist: exit 2 naming the file, no stack trace`, async () => {
      const dir = tempDir({ "p.yaml": bucketPolicy });
      const run = await vigil(["replay", ...mode, "-p", "p.yaml", "missing.jsonl"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "vigil.db") } });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("missing.jsonl");
      expect(run.stderr).toContain("ENOENT");
      expect(run.stderr).not.toContain("internal error");
      expect(run.stdout).toBe("");
    });

    it(`${name} reads a BOM, CRLF line endings, blank lines and a last line without a newline; a bad line is named and counted`, async () => {
      const text = `\ufeff${event("e1", publicRequest)}\r\n\r\n${event("e2", privateRequest)}\r\n{ nope\r\n\n${event("e3", publicRequest)}`;
      const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": text });
      const run = await vigil(["replay", ...mode, "-p", "p.yaml", "events.jsonl"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "vigil.db") } });
      expect(run.code).toBe(1); // every good line decided; 1 because one line was not an event
      const decisions = run.stdout.trim().split("\n").map((l) => JSON.parse(l) as { eventId: string; verdict: string });
      expect(decisions.map((d) => [d.eventId, d.verdict])).toEqual([["e1", "deny"], ["e2", "allow"], ["e3", "deny"]]);
      expect(run.stderr).toContain("bad event: line 4 is not valid JSON");
      expect(run.stderr).toMatch(/replay: 3 events, 3 decisions .*, 1 bad lines/);
    });

    it(`${name} --out - writes the decisions to stdout, not to a file named "-"`, async () => {
      const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": event("e1", publicRequest) });
      const run = await vigil(["replay", ...mode, "-p", "p.yaml", "--out", "-", "events.jsonl"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "vigil.db") } });
      expect(run.code).toBe(0);
      expect((JSON.parse(run.stdout.trim()) as { eventId: string }).eventId).toBe("e1");
      expect(existsSync(join(dir, "-"))).toBe(false);
    });

    it(`${name} --out naming the input file is refused before the input is truncated`, async () => {
      const events = [event("e1", publicRequest), event("e2", privateRequest)].join("\n");
      const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": events });
      const run = await vigil(["replay", ...mode, "-p", "p.yaml", "--out", "./events.jsonl", "events.jsonl"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "vigil.db") } });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("--out");
      expect(readFileSync(join(dir, "events.jsonl"), "utf8")).toBe(events);
    });

    it(`${name} --out where a file stands in the way of the directory: exit 2 naming --out`, async () => {
      const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": event("e1", publicRequest), "taken": "a file" });
      const run = await vigil(["replay", ...mode, "-p", "p.yaml", "--out", "taken/d.jsonl", "events.jsonl"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "vigil.db") } });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("--out");
      expect(run.stderr).toContain("taken/d.jsonl");
      expect(run.stderr).not.toContain("internal error");
    });
  }

  it("a directory given as the input file is exit 2 naming it (replay, ingest), not an internal error", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    mkdirSync(join(dir, "events"));
    const env = { VIGIL_STORE_PATH: join(dir, "vigil.db") };
    for (const argv of [["replay", "-p", "p.yaml", "events"], ["replay", "--no-context", "-p", "p.yaml", "events"], ["replay", "-p", "p.yaml", "--compare", "p.yaml", "events"], ["ingest", "--direct", "events"]]) {
      const run = await vigil(argv, { cwd: dir, env });
      expect(run.code, argv.join(" ")).toBe(2);
      expect(run.stderr, argv.join(" ")).toContain(`vigil ${argv[0]}: cannot read events: EISDIR`);
      expect(run.stderr).not.toContain("internal error");
    }
  });

  it("an empty (or whitespace-only) input file is exit 2 naming it (replay, ingest), not '0 events' with exit 0", async () => {
    // A file that was never written (a failed export, a wrong name) replayed or ingested nothing and exited 0.
    for (const content of ["", " \n\r\n\t\n"]) {
      const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": content });
      const env = { VIGIL_STORE_PATH: join(dir, "vigil.db"), VIGIL_SERVER: "http://127.0.0.1:1", VIGIL_TOKEN: "t" };
      for (const argv of [["replay", "-p", "p.yaml", "events.jsonl"], ["replay", "--no-context", "-p", "p.yaml", "events.jsonl"], ["replay", "-p", "p.yaml", "--compare", "p.yaml", "events.jsonl"], ["ingest", "--direct", "events.jsonl"], ["ingest", "events.jsonl"]]) {
        const run = await vigil(argv, { cwd: dir, env });
        expect(run.stderr, argv.join(" ")).toContain(`vigil ${argv[0]}: cannot read events.jsonl: it is empty; pass a file that holds events, or - for stdin [VIGIL_BAD_INPUT]`);
        expect(run.code, argv.join(" ")).toBe(2);
        expect(run.stdout).toBe("");
      }
      expect(existsSync(join(dir, "vigil.db"))).toBe(false);
    }
  });

  it("vigil replay --compare of a file that does not exist, and --out into a new directory", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": event("e1", publicRequest) });
    const missing = await vigil(["replay", "-p", "p.yaml", "--compare", "p.yaml", "missing.jsonl"], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing.jsonl");
    expect(missing.stderr).not.toContain("internal error");
    const out = await vigil(["replay", "-p", "p.yaml", "--compare", "p.yaml", "--out", "reports/compare.json", "events.jsonl"], { cwd: dir });
    expect(out.stderr).not.toContain("internal error");
    expect(out.code).toBe(0);
    expect((JSON.parse(readFileSync(join(dir, "reports", "compare.json"), "utf8")) as { events: number }).events).toBe(1);
  });

  it("vigil replay --compare --limit that is not a whole number is a usage error naming it (was 50 silently)", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": event("e1", publicRequest) });
    for (const limit of ["abc", "-1", "2.5"]) {
      const run = await vigil(["replay", "-p", "p.yaml", "--compare", "p.yaml", "--limit", limit, "events.jsonl"], { cwd: dir });
      expect(run.code, limit).toBe(2);
      expect(run.stderr).toContain("--limit");
      expect(run.stdout).toBe("");
    }
    expect((await vigil(["replay", "-p", "p.yaml", "--compare", "p.yaml", "--limit", "0", "events.jsonl"], { cwd: dir })).code).toBe(0);
  });

  it("vigil simulate --out and --setup into directories that do not exist yet", async () => {
    const dir = tempDir();
    const run = await vigil(["simulate", "--scenario", "access", "--days", "1", "--out", "sim/stream.jsonl", "--setup", "sim/setup/setup.json"], { cwd: dir });
    expect(run.stderr).not.toContain("internal error");
    expect(run.code).toBe(0);
    expect(readFileSync(join(dir, "sim", "stream.jsonl"), "utf8").split("\n").length).toBeGreaterThan(1);
    expect(existsSync(join(dir, "sim", "setup", "setup.json"))).toBe(true);
  });

  it("refuses replay options that would be ignored in the mode asked for, naming the option", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": event("e1", publicRequest) });
    const env = { VIGIL_STORE_PATH: join(dir, "vigil.db") };
    const cases: [string[], string][] = [
      [["--fp-budget", "2%"], "--fp-budget"],
      [["--limit", "5"], "--limit"],
      [["--from-store"], "--from-store"],
      [["--with-context"], "--with-context"],
      [["--no-context", "--learned"], "--learned"],
      [["--record-thread", "caller"], "--record-thread"],
      [["--compare", "p.yaml", "--record"], "--record"],
    ];
    for (const [extra, option] of cases) {
      const run = await vigil(["replay", "-p", "p.yaml", ...extra, "events.jsonl"], { cwd: dir, env });
      expect(run.code, extra.join(" ")).toBe(2);
      expect(run.stderr, extra.join(" ")).toContain(option);
      expect(run.stdout, extra.join(" ")).toBe("");
    }
  });
});
