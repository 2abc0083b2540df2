import { describe, expect, it } from "vitest";
import { vigil } from "./support.js";

describe("help of a command group (vigil policies --help)", () => {
  // `vigil policies --help` and `vigil help audit` were usage errors (exit 2: "expected one of ...").
  it.each([[["policies", "--help"]], [["audit", "-h"]], [["help", "policies"]], [["killswitch", "--help"]]])("%j lists the sub-commands with their summaries, exit 0", async (argv) => {
    const run = await vigil(argv);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const group = argv[0] === "help" ? argv[1] : argv[0];
    expect(run.stdout).toContain(`Usage: vigil ${group} <command> [options]`);
    expect(run.stdout).toMatch(new RegExp(`^  ${group} \\S+ +\\S`, "m"));
    expect(run.stdout).toContain(`Run \`vigil ${group} <command> --help\``);
  });

  it("without --help a group with no sub-command is still a usage error naming the sub-commands", async () => {
    for (const argv of [["policies"], ["policies", "nope"], ["policies", "nope", "--help"]]) {
      const run = await vigil(argv);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("expected one of: policies lint, policies shadow, policies promote");
    }
  });
});
