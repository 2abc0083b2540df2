import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as SarifTypes from "sarif";
import { describe, expect, it } from "vitest";
import { isVigilError } from "../../core/errors.js";
import { createAdvisoryDatabase } from "./advisory-db.js";
import { diffLockfiles } from "./diff.js";
import { parseLockfile } from "./lockfile.js";
import { lineOfPackage, toSarif } from "./sarif.js";
import { loadSupplyChainSettings, resolveSupplyChainSettings, defaultSupplyChainSettings } from "./settings.js";
import { pastFixLine, summarizeDependencyChange, withPastFixes, type DependencySummary } from "./summary.js";

const lock = (packages: Record<string, { version: string; dev?: boolean }>, root: Record<string, string> = {}): string =>
  JSON.stringify({ lockfileVersion: 3, packages: { "": { dependencies: root }, ...Object.fromEntries(Object.entries(packages).map(([path, value]) => [`node_modules/${path}`, value])) } }, null, 2);

describe("diffLockfiles", () => {
  it("added, changed and removed by name; introduced are the new name@versions only", () => {
    const base = parseLockfile(lock({ a: { version: "1.0.0" }, b: { version: "2.0.0" }, c: { version: "3.0.0" }, "x/node_modules/c": { version: "3.1.0" } }), "base.json");
    const head = parseLockfile(lock({ a: { version: "1.0.0" }, b: { version: "2.1.0" }, d: { version: "4.0.0", dev: true }, "y/node_modules/a": { version: "1.0.0" } }), "head.json");
    const diff = diffLockfiles(base, head);
    expect(diff.added).toEqual([{ name: "d", kind: "added", from: [], to: ["4.0.0"], paths: ["node_modules/d"], dev: true }]);
    expect(diff.changed).toEqual([{ name: "b", kind: "changed", from: ["2.0.0"], to: ["2.1.0"], paths: ["node_modules/b"], dev: false }]);
    expect(diff.removed).toEqual([{ name: "c", kind: "removed", from: ["3.0.0", "3.1.0"], to: [], paths: ["node_modules/c", "node_modules/x/node_modules/c"], dev: false }]);
    // a@1.0.0 at a new path was accepted before: kept, not introduced.
    expect(diff.introduced.map((p) => `${p.name}@${p.version}`)).toEqual(["b@2.1.0", "d@4.0.0"]);
    expect(diff.kept.map((p) => p.path)).toEqual(["node_modules/a", "node_modules/y/node_modules/a"]);
  });
});

const db = createAdvisoryDatabase([
  { record: { id: "GHSA-crit-crit-crit", modified: "2024-01-01T00:00:00Z", summary: "RCE | pipe", severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }], references: [{ type: "ADVISORY", url: "https://github.com/advisories/GHSA-crit-crit-crit" }], affected: [{ package: { ecosystem: "npm", name: "a" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.5.0" }, { fixed: "2.0.1" }] }] }] } },
  { record: { id: "x_unrated-1", modified: "2024-01-01T00:00:00Z", aliases: ["CVE-2024-1"], affected: [{ package: { ecosystem: "npm", name: "b" }, versions: ["2.1.0"] }] } },
  { record: { id: "GHSA-dupe-dupe-dupe", modified: "2024-01-01T00:00:00Z", aliases: ["CVE-2024-1"], database_specific: { severity: "LOW" }, affected: [{ package: { ecosystem: "npm", name: "b" }, ranges: [{ type: "SEMVER", events: [{ introduced: "2.0.0" }, { fixed: "2.2.0" }] }] }] } },
]);

function summarize(head: string, base?: string, overrides: Record<string, unknown> = {}): DependencySummary {
  return summarizeDependencyChange([{ path: "package-lock.json", head: parseLockfile(head, "package-lock.json"), base: base === undefined ? undefined : parseLockfile(base, "package-lock.json") }], { db, settings: resolveSupplyChainSettings(overrides), meta: { repo: "acme/web", pullRequest: 9, headSha: "a".repeat(40) } });
}

describe("summarizeDependencyChange", () => {
  const head = lock({ a: { version: "1.0.0" }, b: { version: "2.1.0" } }, { a: "^1.0.0", b: "~2.1.0" });

  it("merges advisories that are the same flaw, prefers the GHSA id and keeps the known severity", () => {
    const s = summarize(head);
    const b = s.vulnerable.find((v) => v.package === "b");
    expect(b).toMatchObject({ advisory: "GHSA-dupe-dupe-dupe", aliases: ["CVE-2024-1", "x_unrated-1"], severity: "low", severityKnown: true, fixedVersion: "2.2.0", satisfiesRange: false, range: "~2.1.0" });
    expect(s.vulnerable.map((v) => v.advisory)).toEqual(["GHSA-crit-crit-crit", "GHSA-dupe-dupe-dupe"]);
  });

  it("orders blocking first by severity and counts exactly even when the list is capped", () => {
    const s = summarize(head, undefined, { maxListed: 1 });
    expect([s.blocking, s.belowThreshold, s.vulnerable.length, s.truncated, s.highestSeverity]).toEqual([1, 1, 1, true, "critical"]);
    expect(s.vulnerable[0]).toMatchObject({ advisory: "GHSA-crit-crit-crit", severity: "critical", fixedVersion: "1.5.0", suggestedVersion: "1.5.0", satisfiesRange: true, fix: "upgrade to 1.5.0 (within ^1.0.0)" });
    expect(s.comment).toContain("…and 1 more (the list is capped at 1).");
  });

  it("the comment escapes table cells and links the advisory; the status description stays within 140 characters", () => {
    const s = summarize(head);
    expect(s.comment).toContain("[GHSA-crit-crit-crit](https://github.com/advisories/GHSA-crit-crit-crit): RCE \\| pipe | critical | **1.5.0** (within `^1.0.0`) | yes |");
    expect(s.comment).toContain("**2.2.0** (outside `~2.1.0`: widen the range) | no |");
    const many = lock(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`scope${i}/node_modules/a`, { version: `1.0.${i}` }])));
    expect(summarize(many).statusDescription.length).toBeLessThanOrEqual(140);
  });

  it("a clean change says how many new versions were checked", () => {
    const s = summarize(lock({ c: { version: "1.0.0" } }));
    expect([s.blocking, s.vulnerable.length]).toEqual([0, 0]);
    expect(s.statusDescription).toBe("No known vulnerabilities introduced (1 new package versions checked)");
    expect(s.comment).toContain("no known vulnerabilities introduced");
  });

  it("withPastFixes attaches a fix found by alias and rewrites the comment", () => {
    const s = withPastFixes(summarize(head), new Map([["CVE-2024-1", { advisory: "CVE-2024-1", package: "b", from: "2.1.0", to: "2.2.0", repo: "acme/api", pullRequest: 3, date: "2025-01-02T00:00:00Z", blockedDecisionId: "d", blockedPullRequest: 2 }]]));
    expect(s.vulnerable.find((v) => v.package === "b")?.pastFixText).toBe("acme/api#3 moved b 2.1.0 → 2.2.0 on 2025-01-02");
    const removed = { advisory: "GHSA-x", package: "axios", from: "0.21.1", to: null, repo: "acme/web", pullRequest: 7, date: "2025-03-04T10:00:00Z", blockedDecisionId: "d-1", blockedPullRequest: 6 };
    expect(pastFixLine(removed)).toBe("acme/web#7 removed axios 0.21.1 on 2025-03-04");
    expect(s.comment).toContain("- CVE-2024-1: acme/api#3 moved b 2.1.0 → 2.2.0 on 2025-01-02.");
  });
});

describe("SARIF 2.1.0", () => {
  it("one rule per advisory, results with level by severity and the lockfile line, notifications for errors", () => {
    const s = summarize(head());
    // Assigning to @types/sarif's Log checks the shape against the SARIF 2.1.0 object model at compile time.
    const log: SarifTypes.Log = toSarif({ ...s, errors: [{ file: "base.json (base)", field: "lockfileVersion", message: "lockfileVersion 9 is not supported" }] }, { texts: new Map([["package-lock.json", head()]]) });
    expect(log.version).toBe("2.1.0");
    const run = log.runs[0];
    expect(run?.tool.driver.name).toBe("vigil");
    expect(run?.tool.driver.rules?.map((r) => [r.id, r.properties?.["security-severity"]])).toEqual([["GHSA-crit-crit-crit", "9.5"], ["GHSA-dupe-dupe-dupe", "2.0"]]);
    expect(run?.results?.map((r) => [r.ruleId, r.level, r.locations?.[0]?.physicalLocation?.artifactLocation?.uri])).toEqual([["GHSA-crit-crit-crit", "error", "package-lock.json"], ["GHSA-dupe-dupe-dupe", "note", "package-lock.json"]]);
    const line = run?.results?.[0]?.locations?.[0]?.physicalLocation?.region?.startLine;
    expect(head().split("\n")[(line ?? 0) - 1]).toContain('"node_modules/a":');
    expect(run?.results?.[0]?.message.text).toContain("a@1.0.0 is affected by GHSA-crit-crit-crit, severity critical: upgrade to 1.5.0");
    expect(run?.invocations?.[0]?.executionSuccessful).toBe(false);
    expect(run?.invocations?.[0]?.toolExecutionNotifications?.[0]?.locations?.[0]?.physicalLocation?.artifactLocation?.uri).toBe("base.json");
  });

  it("finds yarn.lock entries too", () => {
    const text = "# yarn lockfile v1\n\n\"@s/a@^1.0.0\":\n  version \"1.0.0\"\n\nb@^2.0.0:\n  version \"2.0.0\"\n";
    expect(lineOfPackage(text, { path: "b@2.0.0", package: "b", version: "2.0.0" })).toBe(6);
    expect(lineOfPackage(text, { path: "@s/a@1.0.0", package: "@s/a", version: "1.0.0" })).toBe(3);
  });

  function head(): string {
    return lock({ a: { version: "1.0.0" }, b: { version: "2.1.0" } }, { a: "^1.0.0", b: "~2.1.0" });
  }
});

describe("settings", () => {
  it("defaults, overrides and errors naming the field", () => {
    expect(resolveSupplyChainSettings(undefined)).toBe(defaultSupplyChainSettings);
    expect(resolveSupplyChainSettings({ severityThreshold: "critical", lockfiles: ["yarn.lock"] })).toMatchObject({ severityThreshold: "critical", lockfiles: ["yarn.lock"], unknownSeverity: "medium" });
    const fieldOf = (input: unknown): string | undefined => {
      try {
        resolveSupplyChainSettings(input);
      } catch (error) {
        if (isVigilError(error)) return error.details.field;
      }
      return undefined;
    };
    expect(fieldOf({ severityThreshold: "severe" })).toBe("supplyChain.severityThreshold");
    expect(fieldOf({ severityTreshold: "high" })).toBe("supplyChain.severityTreshold");
    expect(fieldOf({ maxListed: 0 })).toBe("supplyChain.maxListed");
    expect(fieldOf({ devDependencies: "ignore" })).toBe("supplyChain.devDependencies");
    expect(fieldOf(["high"])).toBe("supplyChain");
  });

  it("the pack's settings file loads, with paths relative to it", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-sc-"));
    writeFileSync(join(dir, "settings.yaml"), "severityThreshold: medium\nadvisories: [osv]\nimportedAdvisories: imported\n");
    expect(loadSupplyChainSettings(join(dir, "settings.yaml"))).toMatchObject({ severityThreshold: "medium", advisories: [join(dir, "osv")], importedAdvisories: join(dir, "imported") });
    writeFileSync(join(dir, "bad.yaml"), "unknownSeverity: huge\n");
    expect(() => loadSupplyChainSettings(join(dir, "bad.yaml"))).toThrow(/bad\.yaml: supplyChain\.unknownSeverity must be one of critical, high, medium, low/);
  });
});
