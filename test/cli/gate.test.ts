import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir, vigil } from "./support.js";

const fixture = (path: string): string => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));
const lock = (packages: Record<string, string>, root: Record<string, string>): string =>
  JSON.stringify({ name: "app", lockfileVersion: 3, packages: { "": { dependencies: root }, ...Object.fromEntries(Object.entries(packages).map(([name, version]) => [`node_modules/${name}`, { version }])) } }, null, 2);

// axios 0.21.1 is affected by the shipped Retire.js record x_retire-axios-0 (CVE-2021-3749, high, fixed in 0.21.3).
const base = lock({ axios: "0.21.4", ms: "2.1.3" }, { axios: "^0.21.1", ms: "^2.1.0" });
const vulnerable = lock({ axios: "0.21.1", ms: "2.1.3" }, { axios: "^0.21.1", ms: "^2.1.0" });
const clean = lock({ axios: "0.21.4", ms: "2.1.3", "left-pad": "1.3.0" }, { axios: "^0.21.1", ms: "^2.1.0", "left-pad": "^1.3.0" });

interface SarifLog {
  version: string;
  runs: { tool: { driver: { name: string; rules: { id: string }[] } }; results: { ruleId: string; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[] }[]; invocations: { executionSuccessful: boolean }[] }[];
}

describe("vigil gate", () => {
  it("blocks a change that introduces a vulnerable version: exit 1, the advisory, severity and the fix", async () => {
    const dir = tempDir({ "base.json": base, "head.json": vulnerable });
    const run = await vigil(["gate", "--base", "base.json", "--head", "head.json"], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("BLOCK high     axios@0.21.1 x_retire-axios-0 (CVE-2021-3749)");
    expect(run.stdout).toContain("upgrade to 0.21.3 (within ^0.21.1)");
    expect(run.stdout).toMatch(/deny: supply-chain-vulnerable-dependency-ci\/high-vulnerability: 1 high-severity vulnerable dependency introduced: axios@0\.21\.1 x_retire-axios-0/);
    expect(run.stdout).toMatch(/^BLOCKED: 1 new package versions/m);
  });

  it("passes a clean change (exit 0) and a change that keeps an already accepted vulnerable version", async () => {
    const dir = tempDir({ "base.json": base, "clean.json": clean, "vuln-base.json": vulnerable, "vuln-head.json": lock({ axios: "0.21.1", ms: "2.1.3", "left-pad": "1.3.0" }, { axios: "^0.21.1", ms: "^2.1.0", "left-pad": "^1.3.0" }) });
    const cleanRun = await vigil(["gate", "--base", "base.json", "--head", "clean.json"], { cwd: dir });
    expect(cleanRun.code).toBe(0);
    expect(cleanRun.stdout).toMatch(/^PASSED: 1 new package versions \(1 added, 0 changed, 0 removed\), 0 blocking/m);
    const kept = await vigil(["gate", "--base", "vuln-base.json", "--head", "vuln-head.json", "--output", "json"], { cwd: dir });
    expect(kept.code).toBe(0);
    expect(JSON.parse(kept.stdout).summary).toMatchObject({ preexisting: 1, blocking: 0 });
  });

  it("--severity-threshold moves the bar; an invalid value is a usage error", async () => {
    const dir = tempDir({ "base.json": base, "head.json": vulnerable });
    expect((await vigil(["gate", "--base", "base.json", "--head", "head.json", "--severity-threshold", "critical"], { cwd: dir })).code).toBe(0);
    const bad = await vigil(["gate", "--head", "head.json", "--severity-threshold", "severe"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--severity-threshold must be critical, high, medium or low");
  });

  it("--output json, markdown and sarif (2.1.0, ruleId = advisory, level by severity, location = the lockfile line)", async () => {
    const dir = tempDir({ "base.json": base, "head.json": vulnerable });
    const json = await vigil(["gate", "--base", "base.json", "--head", "head.json", "-o", "json"], { cwd: dir });
    const report = JSON.parse(json.stdout) as { verdict: string; exitCode: number; summary: { vulnerable: { advisory: string; suggestedVersion: string }[] } };
    expect([report.verdict, report.exitCode, report.summary.vulnerable[0]?.advisory, report.summary.vulnerable[0]?.suggestedVersion]).toEqual(["deny", 1, "x_retire-axios-0", "0.21.3"]);
    const markdown = await vigil(["gate", "--base", "base.json", "--head", "head.json", "-o", "markdown"], { cwd: dir });
    expect(markdown.stdout).toContain("### Vigil supply-chain check: 1 vulnerable dependency introduced — merge blocked");
    expect(markdown.stdout).toContain("| `axios` | 0.21.1 |");
    const sarif = await vigil(["gate", "--base", "base.json", "--head", "head.json", "-o", "sarif"], { cwd: dir });
    expect(sarif.code).toBe(1);
    const log = JSON.parse(sarif.stdout) as SarifLog;
    expect(log.version).toBe("2.1.0");
    expect(log.runs[0]?.tool.driver.rules.map((r) => r.id)).toEqual(["x_retire-axios-0"]);
    const result = log.runs[0]?.results[0];
    expect([result?.ruleId, result?.level, result?.locations[0]?.physicalLocation.artifactLocation.uri]).toEqual(["x_retire-axios-0", "error", "head.json"]);
    expect(vulnerable.split("\n")[(result?.locations[0]?.physicalLocation.region?.startLine ?? 0) - 1]).toContain('"node_modules/axios"');
    expect(log.runs[0]?.invocations[0]?.executionSuccessful).toBe(true);
  });

  it("an unparseable lockfile or an unknown lockfileVersion exits 2 naming file and field", async () => {
    const dir = tempDir({ "base.json": JSON.stringify({ lockfileVersion: 9, packages: {} }), "head.json": vulnerable, "broken.json": "{ nope" });
    const run = await vigil(["gate", "--base", "base.json", "--head", "head.json"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("error: base.json: lockfileVersion 9 is not supported (supported: 1, 2, 3)");
    expect(run.stdout.split("\n").find((line) => line.startsWith("error: base.json"))?.match(/base\.json/g)).toHaveLength(1);
    // The head is still checked.
    expect(run.stdout).toContain("axios@0.21.1 x_retire-axios-0");
    expect(run.stdout).toMatch(/^ERROR:/m);
    const broken = await vigil(["gate", "--head", "broken.json", "-o", "sarif"], { cwd: dir });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("error: broken.json:1: not valid JSON");
    expect((JSON.parse(broken.stdout) as SarifLog).runs[0]?.invocations[0]?.executionSuccessful).toBe(false);
    const missing = await vigil(["gate", "--head", "nowhere.json"], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain("error: nowhere.json: --head: cannot read nowhere.json: ENOENT");
  });

  it("an empty head or base lockfile (/dev/null, whitespace) exits 2 naming the file, not a pass over no packages", async () => {
    const dir = tempDir({ "empty.lock": "", "blank.json": "\n  \n", "head.json": vulnerable });
    const devNull = await vigil(["gate", "--head", "/dev/null"], { cwd: dir });
    expect(devNull.code).toBe(2);
    expect(devNull.stdout).toContain("error: /dev/null: --head: /dev/null is empty");
    expect(devNull.stdout).toMatch(/^ERROR:/m);
    const blank = await vigil(["gate", "--head", "blank.json", "-o", "json"], { cwd: dir });
    expect(blank.code).toBe(2);
    expect((JSON.parse(blank.stdout) as { errors: { file: string; field: string }[] }).errors).toEqual([expect.objectContaining({ file: "blank.json", field: "--head" })]);
    const emptyBase = await vigil(["gate", "--base", "empty.lock", "--head", "head.json"], { cwd: dir });
    expect(emptyBase.code).toBe(2);
    expect(emptyBase.stdout).toContain("error: empty.lock: --base: empty.lock is empty");
  });

  it("reads a lockfile that starts with a byte order mark (package-lock.json and yarn.lock)", async () => {
    const yarn = '# yarn lockfile v1\n\n\naxios@^0.21.1:\n  version "0.21.1"\n  resolved "https://registry.yarnpkg.com/axios/-/axios-0.21.1.tgz"\n';
    const dir = tempDir({ "head.json": `\uFEFF${vulnerable}`, "yarn.lock": `\uFEFF${yarn}` });
    for (const head of ["head.json", "yarn.lock"]) {
      const run = await vigil(["gate", "--head", head, "-q"], { cwd: dir });
      expect(run.stdout).not.toContain("error:");
      expect(run.stdout).toContain("BLOCK high     axios@0.21.1 x_retire-axios-0");
      expect(run.code).toBe(1);
    }
  });

  it("a bad advisory record exits 2 naming file, record and field; the good records still match", async () => {
    const osv = [
      { id: "GHSA-good-good-good", modified: "2024-01-01T00:00:00Z", summary: "ms is slow", database_specific: { severity: "CRITICAL" }, affected: [{ package: { ecosystem: "npm", name: "ms" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "3.0.0" }] }] }] },
      { id: "GHSA-bad0-bad0-bad0", modified: "2024-01-01T00:00:00Z", affected: [{ package: { ecosystem: "npm", name: "ms" }, ranges: [{ type: "SEMVER", events: [{ fixed: "3.0.0" }] }] }] },
    ];
    const dir = tempDir({ "head.json": vulnerable, "osv.json": JSON.stringify(osv) });
    const run = await vigil(["gate", "--head", "head.json", "--advisories", "osv.json"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/error: .*osv\.json: \[1\] \(GHSA-bad0-bad0-bad0\) affected\[0\]\.ranges\[0\]\.events: events must contain an introduced event/);
    expect(run.stdout).toContain("BLOCK critical ms@2.1.3 GHSA-good-good-good");
    // --advisories replaces the shipped set: axios is not flagged here.
    expect(run.stdout).not.toContain("axios@0.21.1");
  });

  it("--advisories that hold no OSV record (an empty directory, an empty list) exit 2 naming the option, not a pass against no advisories", async () => {
    const dir = tempDir({ "head.json": vulnerable, "empty-list.json": "[]" });
    mkdirSync(join(dir, "feed"));
    for (const source of ["feed", "empty-list.json"]) {
      const run = await vigil(["gate", "--head", "head.json", "--advisories", source], { cwd: dir });
      expect(run.code).toBe(2);
      expect(run.stdout).toContain(`error: ${source}: --advisories: no OSV advisory record found there, so no version could be flagged; pass OSV JSON files or directories that hold them (or drop --advisories for the shipped and imported sets)`);
      expect(run.stdout).toMatch(/^ERROR: /m);
    }
  });

  it("the osv-scalibr basic scenario with its own advisories: exit 1 only once the threshold covers unrated advisories", async () => {
    const dir = tempDir({});
    const args = ["gate", "--head", fixture("osv-scalibr-npm/fix/basic/package-lock.json"), "--advisories", fixture("osv-scalibr-npm/fix/vulnerabilities.json"), "-q"];
    const normal = await vigil(args, { cwd: dir });
    expect(normal.code).toBe(0); // unrated → medium (unknownSeverity), below the high threshold
    expect(normal.stdout).toContain("warn  medium   baz@1.0.0 OSV-000-000");
    expect((await vigil([...args, "--severity-threshold", "medium"], { cwd: dir })).code).toBe(1);
  });
});

describe("vigil advisories import", () => {
  it("validates, imports the good records, reports each bad one (exit 2), and gate then uses them", async () => {
    const dir = tempDir({ "head.json": clean });
    mkdirSync(join(dir, "feed"));
    writeFileSync(join(dir, "feed", "left-pad.json"), JSON.stringify({ id: "GHSA-lpad-lpad-lpad", modified: "2024-01-01T00:00:00Z", summary: "left-pad removes padding", database_specific: { severity: "HIGH" }, affected: [{ package: { ecosystem: "npm", name: "left-pad" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.3.1" }] }] }] }));
    writeFileSync(join(dir, "feed", "broken.json"), JSON.stringify([{ id: "GHSA-zzzz-zzzz-zzzz", modified: "yesterday", affected: [] }]));
    writeFileSync(join(dir, "feed", "garbage.json"), "{");
    const before = await vigil(["gate", "--head", "head.json"], { cwd: dir });
    expect(before.code).toBe(0);
    const dry = await vigil(["advisories", "import", "feed", "--dry-run"], { cwd: dir });
    expect(dry.code).toBe(2);
    expect(existsSync(join(dir, ".vigil", "advisories"))).toBe(false);
    const run = await vigil(["advisories", "import", "feed"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/error: .*broken\.json record 0 \(GHSA-zzzz-zzzz-zzzz\): modified: modified must be an RFC 3339 UTC timestamp/);
    expect(run.stderr).toMatch(/error: .*garbage\.json: \(file\): not valid JSON/);
    expect(run.stdout).toMatch(/3 files, 1 valid records imported into .*\.vigil\/advisories, 2 rejected; the agent's set now holds \d+ advisories/);
    expect(readdirSync(join(dir, ".vigil", "advisories"))).toEqual(["GHSA-lpad-lpad-lpad.json"]);
    expect(JSON.parse(readFileSync(join(dir, ".vigil", "advisories", "GHSA-lpad-lpad-lpad.json"), "utf8")).id).toBe("GHSA-lpad-lpad-lpad");
    const after = await vigil(["gate", "--head", "head.json"], { cwd: dir });
    expect(after.code).toBe(1);
    expect(after.stdout).toContain("BLOCK high     left-pad@1.3.0 GHSA-lpad-lpad-lpad");
  });

  it("VIGIL_ADVISORIES_DIR chooses the directory; --output json lists what was imported", async () => {
    const dir = tempDir({ "a.json": JSON.stringify({ id: "OSV-2024-1", modified: "2024-01-01T00:00:00Z", affected: [] }) });
    const run = await vigil(["advisories", "import", "a.json", "-o", "json"], { cwd: dir, env: { VIGIL_ADVISORIES_DIR: "store/osv" } });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ files: 1, imported: ["OSV-2024-1"], rejected: 0 });
    expect(existsSync(join(dir, "store", "osv", "OSV-2024-1.json"))).toBe(true);
  });

  it("no input is a usage error", async () => {
    const run = await vigil(["advisories", "import"], { cwd: tempDir({}) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("no input");
  });
});
