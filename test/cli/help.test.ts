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

describe("an unknown command suggests the nearest one", () => {
  // `vigil ingets` said only 'unknown command "ingets"', and `vigil policies lnt` listed the group.
  it("a typo in a command or a sub-command names the nearest, exit 2", async () => {
    const top = await vigil(["ingets", "x.jsonl"]);
    expect(top.code).toBe(2);
    expect(top.stderr).toContain('vigil: unknown command "ingets" (did you mean "ingest"?). Run `vigil --help` for the list.');
    const sub = await vigil(["policies", "lnt"]);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain('vigil policies: unknown command "lnt" (did you mean "policies lint"?); expected one of: policies lint, policies shadow, policies promote');
    const far = await vigil(["zzzzzz"]);
    expect(far.stderr).toContain('vigil: unknown command "zzzzzz". Run `vigil --help` for the list.');
  });
});

describe("option errors name the option and the fix", () => {
  // Node's parseArgs wording: "Unknown option '--polices'. To specify a positional argument starting with a '-', ...",
  // "Option '-p, --policies <value>' argument missing", and ".." before "Run".
  it("an unknown option suggests the nearest one", async () => {
    const run = await vigil(["eval", "--polices", "p.yaml", "-"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('vigil eval: unknown option --polices (did you mean "--policies"?). Run `vigil eval --help` for the options. [VIGIL_BAD_INPUT]');
    const far = await vigil(["eval", "--zzzzzz"]);
    expect(far.stderr).toContain("vigil eval: unknown option --zzzzzz. Run `vigil eval --help`");
    const short = await vigil(["eval", "-x"]);
    expect(short.stderr).toContain("vigil eval: unknown option -x. Run `vigil eval --help`");
  });

  it("a missing value names the option with its placeholder; a value given to a flag is refused by name", async () => {
    const missing = await vigil(["eval", "-p"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("vigil eval: -p, --policies needs a value: -p <path>. Run `vigil eval --help`");
    const flagged = await vigil(["eval", "--explain=yes", "-"]);
    expect(flagged.code).toBe(2);
    expect(flagged.stderr).toContain("vigil eval: --explain takes no value: write --explain alone. Run `vigil eval --help`");
    const ambiguous = await vigil(["replay", "--compare", "old", "--limit", "-1"]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).not.toContain("..");
    expect(ambiguous.stderr).toContain("vigil replay: --limit -1: the value starts with a dash, so it reads as an option; write --limit=-1 if it is the value, or give --limit a value. Run `vigil replay --help`");
  });
});
