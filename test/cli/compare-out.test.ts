import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bucketPolicy, publicRequest, tempDir, vigil } from "./support.js";

const event = JSON.stringify({ specversion: "1.0", id: "e1", source: "test", type: "dev.vigil.decide", time: "2026-01-01T00:00:00Z", data: publicRequest });

describe("vigil replay --compare --out -", () => {
  // --help says "- is stdout", but the comparison wrote a file named "-".
  it("writes the JSON report to stdout (nothing else there) and the text summary to stderr", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": `${event}\n` });
    const run = await vigil(["replay", "-p", "p.yaml", "--compare", "p.yaml", "--out", "-", "events.jsonl"], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ events: 1, changed: 0 });
    expect(run.stderr).toContain("replayed 1 event(s): 0 decision(s) differ");
    expect(existsSync(join(dir, "-"))).toBe(false);
  });
});
