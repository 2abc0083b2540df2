/**
 * The supply-chain pack's shipped advisory set (packs/supply-chain/advisories/) as data: what a
 * record says must be what its upstream says, so the fix the pack suggests is a real version.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadAdvisorySet, loadSupplyChainSettings, parseLockfile, resolveSupplyChainSettings, summarizeDependencyChange, supplyChainPackDir, supplyChainSettingsFile } from "../../src/context/supply-chain/index.js";
import type { OsvRecord } from "../../src/context/supply-chain/osv.js";

const shipped = (folder: string): OsvRecord[] => JSON.parse(readFileSync(join(supplyChainPackDir, "advisories", folder, "osv.json"), "utf8")) as OsvRecord[];

/** A new lockfile holding one package version. */
function introduce(name: string, version: string): ReturnType<typeof summarizeDependencyChange> {
  const lock = { name: "app", version: "1.0.0", lockfileVersion: 3, requires: true, packages: { "": { name: "app", version: "1.0.0", dependencies: { [name]: `^${version}` } }, [`node_modules/${name}`]: { version } } };
  const settings = resolveSupplyChainSettings({ severityThreshold: "low", importedAdvisories: "/nonexistent-vigil-advisories" }, { base: loadSupplyChainSettings(supplyChainSettingsFile) });
  const advisories = loadAdvisorySet({ sources: settings.advisories });
  return summarizeDependencyChange([{ path: "package-lock.json", base: undefined, head: parseLockfile(JSON.stringify(lock), "package-lock.json") }], { db: advisories.db, settings, meta: { repo: "acme/web" }, errors: [] });
}

describe("supply-chain pack: shipped Retire.js advisories", () => {
  // Retire.js writes "no fix yet" as a `below` far past any release: 100, 100.0.0, 99.999.99999,
  // 99.999.9999, 99.99.9999, 999.99.9999. Such a bound is not a fixed version.
  it("no record names a never-fixed sentinel (a version ≥ 99.0.0) as its fixed version", () => {
    const sentinels = shipped("retirejs").flatMap((r) => (r.affected ?? []).flatMap((a) => a.ranges?.flatMap((g) => g.events.flatMap((e) => ("fixed" in e && /^(99|\d{3,})\./.test(String(e.fixed)) ? [`${r.id} fixed ${String(e.fixed)}`] : []))) ?? []));
    expect(sentinels).toEqual([]);
  });

  it("a package Retire.js lists as never fixed is reported with no fixed version, not 'upgrade to 99.999.99999'", () => {
    const found = introduce("ag-grid", "18.1.0").vulnerable.filter((v) => v.advisory === "x_retire-ag-grid-0");
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ fixedVersion: null, suggestedVersion: null, fix: "no fixed version published; remove or replace the package" });
  });

  it("a bounded record keeps its fix", () => {
    const found = introduce("axios", "0.21.1").vulnerable.filter((v) => v.advisory.startsWith("x_retire-axios"));
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((v) => v.fixedVersion !== null && !v.fixedVersion.startsWith("99"))).toBe(true);
  });
});
