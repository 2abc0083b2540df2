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
});
