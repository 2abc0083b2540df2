import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { chooseScenarios, interleave, mergedSetup } from "./commands/simulate.js";
import type { CompareReport } from "../learn/index.js";
import { vigil } from "../../test/cli/support.js";

const access = join(import.meta.dirname, "..", "..", "packs", "access");
let dir: string;

beforeAll(() => {
  // `vigil simulate --scenario access --seed 1 --days 3 --setup setup.json`, in memory.
  const chosen = chooseScenarios("access");
  const options = { seed: 1, days: 3, start: new Date("2026-01-05T00:00:00Z") };
  const events = [...interleave(chosen.map((s) => s.generate(options)))];
  dir = mkdtempSync(join(tmpdir(), "vigil-compare-"));
  writeFileSync(join(dir, "events.jsonl"), events.map((e) => JSON.stringify(e)).join("\n") + "\n");
  writeFileSync(join(dir, "setup.json"), JSON.stringify(mergedSetup(chosen, options)));
});

const env = () => ({ VIGIL_STORE_PATH: join(dir, "vigil.db") });

describe("vigil replay --compare --with-context", () => {
  it("decides each side with the same context as vigil replay (pack settings, enrichments, setup)", async () => {
    const replay = await vigil(["replay", "-p", access, "--setup", "setup.json", "events.jsonl"], { cwd: dir, env: env() });
    expect(replay.code).toBe(0);
    const lines = replay.stdout.trim().split("\n").map((line) => JSON.parse(line) as { tier: string; verdict: string; findings: { effect: string }[] });
    const alerts = lines.filter((d) => d.tier !== "observe" && d.findings.some((f) => f.effect === "violation")).length;
    const denies = lines.filter((d) => d.verdict === "deny").length;
    expect(alerts).toBeGreaterThan(0);

    const compare = await vigil(["replay", "-p", access, "--compare", access, "--with-context", "--setup", "setup.json", "--out", "report.json", "events.jsonl"], { cwd: dir, env: env() });
    expect(compare.code, compare.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as CompareReport;
    expect(report.events).toBe(lines.length);
    expect(report.changed).toBe(0);
    // The same alerts and denies as the replay: the on-call schedules of the setup and the pack's
    // settings are part of both sides' context.
    expect(report.after).toMatchObject({ alerts, denies });
    expect(report.before).toMatchObject({ alerts, denies });
    expect(report.after.recall).toBeGreaterThanOrEqual(0.95);
  }, 120_000);

  it("refuses context options without --with-context", async () => {
    const run = await vigil(["replay", "-p", access, "--compare", access, "--setup", "setup.json", "events.jsonl"], { cwd: dir, env: env() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--setup with --compare needs --with-context");
  });
});
