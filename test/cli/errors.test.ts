import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bucketPolicy, publicRequest, tempDir, vigil } from "./support.js";

const event = JSON.stringify({ specversion: "1.0", id: "e1", source: "test", type: "dev.vigil.decide", time: "2026-01-01T00:00:00Z", data: publicRequest });

describe("an error whose message names its file", () => {
  // "vigil replay: nope.json: cannot read the setup nope.json: ENOENT", "vigil eval: in: cannot read in: EISDIR".
  it("is printed with the file named once", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "bad.json": "{", "events.jsonl": `${event}\n` });
    mkdirSync(join(dir, "in"));
    const setup = await vigil(["replay", "-p", "p.yaml", "--setup", "nope.json", "events.jsonl"], { cwd: dir });
    expect(setup.code).toBe(2);
    expect(setup.stderr).toMatch(/^vigil replay: cannot read the setup nope\.json: ENOENT;/);
    const badSetup = await vigil(["replay", "-p", "p.yaml", "--setup", "bad.json", "events.jsonl"], { cwd: dir });
    expect(badSetup.stderr).toMatch(/^vigil replay: bad\.json is not JSON: /);
    const directory = await vigil(["eval", "-p", "p.yaml", "in"], { cwd: dir });
    expect(directory.code).toBe(2);
    expect(directory.stderr).toMatch(/^vigil eval: cannot read in: EISDIR;/);
    // A position the message does not carry is still given.
    const json = await vigil(["eval", "-p", "p.yaml", "bad.json"], { cwd: dir });
    expect(json.stderr).toMatch(/^vigil eval: bad\.json:1:2: input is not valid JSON/);
  });
});

describe("an option whose value starts with a dash", () => {
  // Node's own three lines ("Option '--seed' argument is ambiguous. Did you forget to specify ... '--seed=-XYZ'") were printed as they came.
  it("names the option and the value, with the way to write it, on one line", async () => {
    const seed = await vigil(["simulate", "--scenario", "access", "--seed", "-1"]);
    expect(seed.code).toBe(2);
    expect(seed.stderr).toBe("vigil simulate: --seed -1: the value starts with a dash, so it reads as an option; write --seed=-1 if it is the value, or give --seed a value. Run `vigil simulate --help` for the options. [VIGIL_BAD_INPUT]\n");
    const short = await vigil(["eval", "-p", "-x", "--input", "{}"]);
    expect(short.code).toBe(2);
    expect(short.stderr).toBe("vigil eval: -p -x: the value starts with a dash, so it reads as an option; write --policies=-x if it is the value, or give -p a value. Run `vigil eval --help` for the options. [VIGIL_BAD_INPUT]\n");
  });
});

describe("vigil posture set with a bad level or --until", () => {
  // Both went to the server as they were: with no server the error was "cannot reach the Vigil server", not the mistake.
  const env = { VIGIL_SERVER: "http://127.0.0.1:1", VIGIL_TOKEN: "t" };
  it("names the level and the ones it takes, before any request", async () => {
    const run = await vigil(["posture", "set", "incidnet"], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('vigil posture set: <level> must be normal, elevated, incident or freeze, not "incidnet" (did you mean "incident"?) [VIGIL_BAD_INPUT]\n');
  });
  it("names --until and the form it takes, before any request", async () => {
    const run = await vigil(["posture", "set", "incident", "--until", "tomorrow"], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('vigil posture set: --until must be an RFC 3339 time such as 2030-06-01T18:00:00Z, not "tomorrow" [VIGIL_BAD_INPUT]\n');
  });
});

describe("a setup file that is empty, not JSON, or starts with a byte order mark", () => {
  const setup = JSON.stringify({ entities: [{ kind: "principal", id: "ana", attrs: { team: "web" } }], exceptions: [] });
  it("empty: says so with the fix; not JSON: the fix as well (setup import and replay --setup)", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "empty.json": " \n", "bad.json": "{", "events.jsonl": `${event}\n` });
    const env = { VIGIL_STORE_PATH: join(dir, "vigil.db") };
    for (const argv of [["setup", "import", "--direct", "FILE"], ["replay", "-p", "p.yaml", "--setup", "FILE", "events.jsonl"]]) {
      const empty = await vigil(argv.map((a) => (a === "FILE" ? "empty.json" : a)), { cwd: dir, env });
      expect(empty.code).toBe(2);
      expect(empty.stderr).toContain("cannot read the setup empty.json: it is empty; write one with vigil simulate --setup <file> [VIGIL_BAD_INPUT]");
      const bad = await vigil(argv.map((a) => (a === "FILE" ? "bad.json" : a)), { cwd: dir, env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/bad\.json is not JSON: .*; fix it, or write one with vigil simulate --setup <file> \[VIGIL_BAD_INPUT\]/);
    }
  });
  it("a byte order mark (Windows editors) is read past", async () => {
    const dir = tempDir({ "setup.json": `\uFEFF${setup}` });
    const run = await vigil(["setup", "import", "--direct", "setup.json"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "vigil.db") } });
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("imported 1 entities and 0 exceptions");
    expect(run.code).toBe(0);
  });
});
