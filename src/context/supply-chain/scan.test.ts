/**
 * Matching on real data: the vulnerable-package sets that osv-scalibr, osv-scanner and npm audit
 * expect for their own fixtures. Where a fixture ships its advisories (osv-scalibr's OSV files,
 * npm audit's recorded advisories) the test uses them; osv-scanner's advisories came from the
 * live OSV API and are not in its test data, so that fixture is matched against the shipped set.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createAdvisoryDatabase, type AdvisoryDatabase } from "./advisory-db.js";
import { loadAdvisorySet } from "./advisory-set.js";
import { parseLockfile } from "./lockfile.js";
import { npmRangeToOsv } from "./npm-range-osv.js";
import { collectRecordsFromText, collectRecords, type LoadedAdvisories } from "./osv-load.js";
import type { OsvRecord } from "./osv.js";
import { findVulnerabilities, type Vulnerability } from "./scan.js";

const fixtures = new URL("../../../test/fixtures/", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, fixtures), "utf8");
const json = <T>(path: string): T => JSON.parse(read(path)) as T;

function dbFromFile(path: string): AdvisoryDatabase {
  const out: LoadedAdvisories = { records: [], issues: [], files: 1 };
  collectRecordsFromText(read(path), path, out);
  expect(out.issues.filter((i) => i.level === "error")).toEqual([]);
  return createAdvisoryDatabase(out.records);
}

const scan = (db: AdvisoryDatabase, lockfile: string): Vulnerability[] => findVulnerabilities(db, parseLockfile(read(lockfile), "package-lock.json").packages);
const key = (v: { advisory?: string; id?: string; package?: string; name?: string; version: string }): string => `${v.advisory ?? v.id} ${v.package ?? v.name}@${v.version}`;

interface FixResult {
  readonly vulnerabilities: readonly { readonly id: string; readonly packages: readonly { readonly name: string; readonly version: string }[]; readonly unactionable?: boolean }[];
}
interface Patch {
  readonly packageUpdates?: readonly { readonly name: string; readonly versionFrom: string; readonly versionTo: string }[];
  readonly fixed: readonly { readonly id: string; readonly packages: readonly { readonly name: string; readonly version: string }[] }[];
}

describe("osv-scalibr guided-remediation scenarios (their own OSV records)", () => {
  for (const scenario of ["basic", "basicrelax"]) {
    it(`${scenario}: exactly the vulnerable packages of result.json`, () => {
      const found = scan(dbFromFile("osv-scalibr-npm/fix/vulnerabilities.json"), `osv-scalibr-npm/fix/${scenario}/package-lock.json`);
      const expected = json<FixResult>(`osv-scalibr-npm/fix/${scenario}/result.json`).vulnerabilities.map((v) => `${v.id} ${v.packages[0]?.name}@${v.packages[0]?.version}`);
      expect(found.map(key).sort()).toEqual([...expected].sort());
    });
  }

  it("basic: both copies of baz@1.0.0 are one finding with both install paths and their dependency chains", () => {
    const found = scan(dbFromFile("osv-scalibr-npm/fix/vulnerabilities.json"), "osv-scalibr-npm/fix/basic/package-lock.json");
    const baz = found.find((v) => v.version === "1.0.0");
    expect(baz?.paths).toEqual(["node_modules/bar/node_modules/baz", "node_modules/foo/node_modules/baz"]);
    expect(baz?.via).toEqual(["bar>baz", "foo>baz"]);
    expect(baz).toMatchObject({ fixedVersion: "1.0.1", suggestedVersion: "1.0.1", satisfiesRange: true, ranges: ["^1.0.0"] });
  });

  it("basicrelax: the fix the relax strategy needs (a range change) is the one our suggestion says falls outside the range", () => {
    const found = scan(dbFromFile("osv-scalibr-npm/fix/vulnerabilities.json"), "osv-scalibr-npm/fix/basicrelax/package-lock.json");
    const patches = json<{ patches: Patch[] }>("osv-scalibr-npm/fix/basicrelax/result.json").patches;
    // scalibr fixes OSV-000-001 (vuln@1.0.0) only by relaxing dep ^1.0.0 → ^2.0.0: no in-range fix exists.
    expect(patches.find((p) => p.fixed.some((f) => f.id === "OSV-000-001"))?.packageUpdates?.[0]).toMatchObject({ name: "dep", versionFrom: "^1.0.0", versionTo: "^2.0.0" });
    expect(found.find((v) => v.advisory === "OSV-000-001")).toMatchObject({ package: "vuln", fixedVersion: "2.0.0", satisfiesRange: false });
    expect(found.find((v) => v.advisory === "OSV-000-000")).toMatchObject({ package: "baz", suggestedVersion: "1.0.1", satisfiesRange: true });
  });

  it("in-place: every vulnerability scalibr patches in place has an in-range suggestion that its patch also reaches; the one it cannot patch has none", () => {
    const found = scan(dbFromFile("osv-scalibr-npm/fix/inplace/vulnerabilities.json"), "osv-scalibr-npm/fix/inplace/package-lock.json");
    const patches = json<Patch[]>("osv-scalibr-npm/fix/inplace/patches.json");
    const patched = new Set(patches.flatMap((p) => p.fixed.flatMap((f) => f.packages.map((pkg) => `${f.id} ${pkg.name}@${pkg.version}`))));
    for (const id of patched) expect(found.map(key), id).toContain(id);
    for (const v of found) {
      const inPlace = patched.has(key(v));
      expect(v.satisfiesRange, key(v)).toBe(inPlace);
      if (!inPlace) continue;
      // Our suggestion is the smallest fixed version; scalibr's patch goes at least that far.
      const update = patches.find((p) => p.fixed.some((f) => `${f.id} ${f.packages[0]?.name}@${f.packages[0]?.version}` === key(v)))?.packageUpdates?.[0];
      expect(update && v.suggestedVersion, key(v)).toBeTruthy();
      expect(update?.versionTo.localeCompare(v.suggestedVersion as string, undefined, { numeric: true }), key(v)).toBeGreaterThanOrEqual(0);
    }
    expect(found.filter((v) => !v.satisfiesRange).map(key).sort()).toEqual(["OSV-000-002 d@1.0.0", "OSV-000-002 d@1.2.3"]);
    expect(found.find((v) => key(v) === "OSV-000-000 d@1.0.0")).toMatchObject({ suggestedVersion: "1.2.3", ranges: ["^1.0.0", "<3"] });
  });
});

describe("osv-scanner in-place fix fixture against the shipped advisory set", () => {
  const expected = json<FixResult>("osv-scanner-npm-fix/expected-in-place-fix.json").vulnerabilities;
  const found = scan(loadAdvisorySet().db, "osv-scanner-npm-fix/package-lock.json");
  const expectedPackages = new Set(expected.map((v) => `${v.packages[0]?.name}@${v.packages[0]?.version}`));

  it("finds 20 expected vulnerabilities in 13 package versions; every package we flag is one of them (precision 1.0)", () => {
    expect(expected.length).toBe(20);
    expect(expectedPackages.size).toBe(13);
    for (const v of found) expect(expectedPackages, `${v.package}@${v.version}`).toContain(`${v.package}@${v.version}`);
  });

  it("recall against the shipped set: 6 of 13 package versions, and every expected advisory the set holds", () => {
    const flagged = new Set(found.map((v) => `${v.package}@${v.version}`));
    expect(flagged.size).toBe(6);
    const shipped = loadAdvisorySet().db;
    const held = expected.filter((v) => shipped.get(v.id) !== undefined);
    expect(held.map((v) => v.id).sort()).toEqual(["GHSA-43f8-2h32-f4cj", "GHSA-43f8-2h32-f4cj", "GHSA-72xf-g2v4-qvf3", "GHSA-c2qf-rxjj-qqgw", "GHSA-p8p7-x288-28g6"]);
    for (const v of held) expect(found.map(key), v.id).toContain(`${v.id} ${v.packages[0]?.name}@${v.packages[0]?.version}`);
  });

  it("'unactionable' in osv-scanner (no in-place fix) is exactly 'no suggestion within the declared range' for the shared findings", () => {
    for (const v of found) {
      const theirs = expected.find((e) => e.id === v.advisory && e.packages[0]?.name === v.package && e.packages[0]?.version === v.version);
      if (!theirs) continue;
      expect(v.satisfiesRange, key(v)).toBe(theirs.unactionable !== true);
    }
  });
});

interface AuditAdvisory {
  readonly id: number;
  readonly module_name: string;
  readonly vulnerable_versions: string;
  readonly severity: string;
  readonly title: string;
  readonly findings: readonly { readonly version: string; readonly paths: readonly string[] }[];
}

/** npm audit's recorded advisories, converted to OSV with npmRangeToOsv. */
function auditDb(fixture: string): { db: AdvisoryDatabase; advisories: AuditAdvisory[] } {
  const audit = json<{ advisories: Record<string, AuditAdvisory> }>(`npm-cli-audit-fixtures/${fixture}/audit.json`);
  const advisories = Object.values(audit.advisories);
  const records: OsvRecord[] = advisories.map((a) => {
    const converted = npmRangeToOsv(a.vulnerable_versions);
    if (!converted) throw new Error(`cannot convert ${a.vulnerable_versions}`);
    return { id: `x_npm-${a.id}`, modified: "2020-01-01T00:00:00Z", summary: a.title, database_specific: { severity: a.severity }, affected: [{ package: { ecosystem: "npm", name: a.module_name }, ranges: converted.ranges, ...(converted.versions.length ? { versions: converted.versions } : {}) }] };
  });
  const out: LoadedAdvisories = { records: [], issues: [], files: 1 };
  collectRecords(records, "audit.json", out);
  expect(out.issues).toEqual([]);
  return { db: createAdvisoryDatabase(out.records), advisories };
}

describe("npm audit fixtures (npm/cli arborist): findings and dependency paths", () => {
  const fixtures = ["audit-one-vuln", "audit-mkdirp/mkdirp-unfixable", "minimist-git-dep", "minimist-git-metadep", "audit-nyc-mkdirp", "audit-all-severities", "audit-fix-old-tap", "audit-dep-vuln-with-own-advisory", "audit-missing-packument"];
  const totals = { expected: 0, found: 0, matched: 0 };

  for (const fixture of fixtures) {
    it(`${fixture}: the advisory × version findings of the recorded report`, () => {
      const { db, advisories } = auditDb(fixture);
      const found = new Set(scan(db, `npm-cli-audit-fixtures/${fixture}/package-lock.json`).map(key));
      const expected = new Set(advisories.flatMap((a) => a.findings.map((f) => `x_npm-${a.id} ${a.module_name}@${f.version}`)));
      // minimist-git-metadep's report names @isaacs/no-thing-here@0.0.8, an entry the lockfile holds as `{}` (no
      // version): npm's test mocked the registry; a lockfile scan cannot know the version.
      const knowable = new Set([...expected].filter((e) => e !== "x_npm-42069 @isaacs/no-thing-here@0.0.8"));
      expect([...found].sort()).toEqual([...knowable].sort());
      totals.expected += expected.size;
      totals.found += found.size;
      totals.matched += [...found].filter((f) => expected.has(f)).length;
    });
  }

  it("over all fixtures: precision 1.0, recall 53/54", () => {
    expect(totals).toEqual({ expected: 54, found: 53, matched: 53 });
  });

  for (const fixture of ["audit-one-vuln", "audit-mkdirp/mkdirp-unfixable", "minimist-git-dep", "audit-nyc-mkdirp", "audit-fix-old-tap", "audit-dep-vuln-with-own-advisory"]) {
    it(`${fixture}: dependency chains equal npm audit's paths (at most 20 kept)`, () => {
      const { db, advisories } = auditDb(fixture);
      const found = scan(db, `npm-cli-audit-fixtures/${fixture}/package-lock.json`);
      for (const advisory of advisories) {
        const byVersion = new Map<string, Set<string>>();
        for (const f of advisory.findings) for (const path of f.paths) (byVersion.get(f.version) ?? byVersion.set(f.version, new Set()).get(f.version))?.add(path);
        for (const [version, paths] of byVersion) {
          const mine = found.find((v) => v.advisory === `x_npm-${advisory.id}` && v.version === version);
          expect(mine, `${advisory.module_name}@${version}`).toBeDefined();
          for (const chain of mine?.via ?? []) expect(paths, `${advisory.module_name}@${version}`).toContain(chain);
          expect(mine?.via.length, `${advisory.module_name}@${version}`).toBe(Math.min(20, paths.size));
        }
      }
    });
  }

  it("a v1 lockfile does not record the root's own dependencies: npm audit (which reads package.json) says `minimist`, we can only say who requires it", () => {
    const { db } = auditDb("audit-missing-packument");
    const [minimist] = scan(db, "npm-cli-audit-fixtures/audit-missing-packument/package-lock.json");
    expect(minimist?.via).toEqual(["@isaacs/this-does-not-exist-at-all>minimist"]);
  });
});

describe("fix versions from npm-style patched_versions (advisories converted from npm's format)", () => {
  const record = (id: string, vulnerable: string, patched: string | null): OsvRecord => ({
    schema_version: "1.6.0", id, modified: "2026-01-01T00:00:00Z", summary: id,
    affected: [{ package: { ecosystem: "npm", name: "shell-quote" }, ranges: npmRangeToOsv(vulnerable)!.ranges }],
    database_specific: { source: "nodejs/security-wg", vulnerable_versions: vulnerable, patched_versions: patched },
  });
  const lock = (version: string): string => JSON.stringify({ name: "app", lockfileVersion: 3, packages: { "": { dependencies: { "shell-quote": "^1.6.0" } }, "node_modules/shell-quote": { version } } });
  const found = (records: OsvRecord[], version: string): Vulnerability[] => findVulnerabilities(createAdvisoryDatabase(records.map((r) => ({ record: r }))), parseLockfile(lock(version), "package-lock.json").packages);

  it("a range ending in last_affected (<=1.6.0) suggests the patched range's lower bound (>=1.6.1)", () => {
    expect(found([record("x_NSWG-ECO-117", "<=1.6.0", ">=1.6.1")], "1.6.0")[0]).toMatchObject({ fixedVersion: "1.6.1", suggestedVersion: "1.6.1", satisfiesRange: true });
    // Two patched lines: the smallest one above the locked version that is not itself affected.
    expect(found([record("x_two", "<= 2.4.2 || >= 3.0.0 <=3.0.1", ">=2.5.0 <= 3.0.0 || >=3.1.0")], "3.0.1")[0]).toMatchObject({ fixedVersion: "3.1.0" });
  });

  it("no fix is invented: `>1.6.0` names no published version, `<0.0.0` is npm's 'no patch'", () => {
    expect(found([record("x_gt", "<=1.6.0", ">1.6.0")], "1.6.0")[0]).toMatchObject({ fixedVersion: null });
    expect(found([record("x_never", "<=99.999.99999", "<0.0.0")], "1.6.0")[0]).toMatchObject({ fixedVersion: null });
  });
});
