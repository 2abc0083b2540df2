import { describe, expect, it } from "vitest";
import { bucketPolicy, publicRequest, tempDir, vigil } from "./support.js";

const event = JSON.stringify({ specversion: "1.0", id: "e1", source: "test", type: "dev.vigil.decide", time: "2026-01-01T00:00:00Z", data: publicRequest });

describe("a --policies (or --compare) path that does not exist", () => {
  // A typo in -p loaded no policy at all: every input was allowed and the command exited 0, so a CI step passed.
  it.each([
    ["eval", ["eval", "-p", "polcies", "--input", JSON.stringify(publicRequest)], "--policies"],
    ["scan", ["scan", "-p", "polcies", "."], "--policies"],
    ["replay --no-context", ["replay", "--no-context", "-p", "polcies", "events.jsonl"], "--policies"],
    ["replay", ["replay", "-p", "polcies", "events.jsonl"], "--policies"],
    ["replay --compare", ["replay", "-p", "policies", "--compare", "polcies", "events.jsonl"], "--compare"],
  ])("%s: exit 2 naming the option and the path, nothing evaluated", async (_name, argv, option) => {
    const dir = tempDir({ "events.jsonl": `${event}\n` });
    const policies = tempDir({ "p.yaml": bucketPolicy });
    const args = argv.map((a) => (a === "policies" ? policies : a));
    const run = await vigil(args, { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${option} polcies`);
    expect(run.stderr).toContain("[VIGIL_BAD_INPUT]");
    expect(run.stdout).toBe("");
  });

  it("an existing -p still works (deny, exit 1)", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["eval", "-p", "p.yaml", "--input", JSON.stringify(publicRequest)], { cwd: dir });
    expect(run.code).toBe(1);
  });
});
