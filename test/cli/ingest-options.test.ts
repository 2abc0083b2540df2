import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { publicRequest, tempDir, vigil } from "./support.js";

const event = JSON.stringify({ specversion: "1.0", id: "e1", source: "test", type: "dev.vigil.decide", data: publicRequest });

describe("vigil ingest options", () => {
  // --direct ignored --batch (even --batch 0) and --server: the events went into the local store
  // in the configured batches, exit 0.
  it.each([[["--batch", "0"], "--batch"], [["--batch", "10"], "--batch"], [["--server", "http://127.0.0.1:9"], "--server"]])("--direct with %j is refused naming the option, nothing written", async (extra, option) => {
    const dir = tempDir({ "e.jsonl": `${event}\n` });
    const store = join(dir, "store", "vigil.db");
    const run = await vigil(["ingest", "--direct", ...extra, "e.jsonl"], { cwd: dir, env: { VIGIL_STORE_PATH: store } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${option} does not apply with --direct`);
    expect(existsSync(store)).toBe(false);
  });

  it("--batch 0 is refused before the input is read or the server called", async () => {
    const run = await vigil(["ingest", "--batch", "0", "missing.jsonl"], { cwd: tempDir(), env: { VIGIL_SERVER: "http://127.0.0.1:9", VIGIL_TOKEN: "t" } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--batch must be a positive whole number");
  });

  // Each rejected item was reported as "rejected line 2: item 1 (line 2): ..." (its place named
  // twice, once 0-based), and --output json listed the whole result (ok, error, problems) as a problem.
  it("names a rejected item's place once, in text and in --output json", async () => {
    const bad = JSON.stringify({ specversion: "1.0", id: "", source: "test", type: "dev.vigil.decide" });
    const dir = tempDir({ "e.jsonl": `${event}\n${bad}\nnot json\n`, "batch.json": `[${event},${bad}]` });
    const env = { VIGIL_STORE_PATH: join(dir, "vigil.db") };
    const text = await vigil(["ingest", "--direct", "e.jsonl"], { cwd: dir, env });
    expect(text.code).toBe(1);
    expect(text.stderr.trim().split("\n")).toEqual([
      "rejected line 2: `id` is empty: set a non-empty string, unique within `source` [VIGIL_BAD_EVENT]",
      expect.stringMatching(/^rejected line 3 is not valid JSON \(.*\): each line must hold one complete JSON object \[VIGIL_BAD_INPUT\]$/),
    ]);
    const json = await vigil(["ingest", "--direct", "batch.json", "-o", "json"], { cwd: dir, env });
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { problems: unknown[] }).problems).toEqual([
      { index: 1, message: "`id` is empty: set a non-empty string, unique within `source`", code: "VIGIL_BAD_EVENT", field: "id" },
    ]);
  });

  // The docs say exit 2 when the input could not be used; an input of no known format, a JSON
  // document that does not parse or a broken .gz exited 1 as if one item had been rejected.
  it("an input it cannot read at all exits 2, the input named, not 'item 0'", async () => {
    const dir = tempDir({ "hello.txt": "hello world\n", "broken.json": '{\n  "a": ' });
    const env = { VIGIL_STORE_PATH: join(dir, "vigil.db") };
    for (const [file, says] of [["hello.txt", "could not tell the format of hello.txt"], ["broken.json", "broken.json is not valid JSON"]] as const) {
      const run = await vigil(["ingest", "--direct", file], { cwd: dir, env });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`rejected the input: ${says}`);
      expect(run.stderr).not.toContain("item 0");
    }
    const json = await vigil(["ingest", "--direct", "broken.json", "-o", "json"], { cwd: dir, env });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ rejected: 1, problems: [{ field: "(input)", code: "VIGIL_BAD_INPUT" }] });
  });
});
