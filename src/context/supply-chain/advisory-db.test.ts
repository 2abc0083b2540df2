import semver from "semver";
import { describe, expect, it } from "vitest";
import { createAdvisoryDatabase } from "./advisory-db.js";
import { boundsToOsv, npmRangeToOsv } from "./npm-range-osv.js";
import type { OsvRecord } from "./osv.js";
import { cvss2BaseScore, cvss3BaseScore, severityOf } from "./severity.js";

const record = (id: string, affected: OsvRecord["affected"], extra: Partial<OsvRecord> = {}): { record: OsvRecord } => ({ record: { id, modified: "2024-01-01T00:00:00Z", ...(affected ? { affected } : {}), ...extra } as OsvRecord });
const npm = (name: string) => ({ ecosystem: "npm", name });

describe("OSV evaluation (schema.md Evaluation)", () => {
  const db = createAdvisoryDatabase([
    record("OSV-1", [{ package: npm("d"), ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.2.0" }, { introduced: "1.3.0" }] }] }]),
    record("OSV-2", [{ package: npm("d"), ranges: [{ type: "SEMVER", events: [{ introduced: "2.0.0" }, { last_affected: "2.4.1" }] }] }]),
    record("OSV-3", [{ package: npm("d"), ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "3.0.0" }, { limit: "3.5.0" }] }] }]),
    record("OSV-4", [{ package: npm("d"), versions: ["9.9.9"] }]),
    record("OSV-5", [{ package: npm("d"), ranges: [{ type: "GIT", repo: "https://github.com/x/d", events: [{ introduced: "0" }] }] }]),
    record("OSV-6", [{ package: npm("d"), ranges: [{ type: "SEMVER", events: [{ introduced: "0" }] }] }], { withdrawn: "2024-02-01T00:00:00Z" }),
    record("OSV-7", [{ package: { ecosystem: "PyPI", name: "d" }, ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }] }] }]),
  ]);
  const hits = (version: string): string[] => db.match("npm", "d", version).map((e) => e.advisory.id).sort();

  it("introduced / fixed, with a re-introduction", () => {
    expect(hits("0.0.1")).toEqual(["OSV-1"]);
    expect(hits("1.1.9")).toEqual(["OSV-1"]);
    expect(hits("1.2.0")).toEqual([]);
    expect(hits("1.2.9")).toEqual([]);
    expect(hits("1.3.0")).toEqual(["OSV-1"]);
  });

  it("last_affected is inclusive; limit bounds from above; versions are exact; GIT ranges, withdrawn records and other ecosystems never match", () => {
    expect(hits("2.4.1")).toEqual(["OSV-1", "OSV-2"]);
    expect(hits("2.4.2")).toEqual(["OSV-1"]);
    expect(hits("3.4.9")).toEqual(["OSV-1", "OSV-3"]);
    expect(hits("3.5.0")).toEqual(["OSV-1"]);
    expect(hits("9.9.9")).toEqual(["OSV-1", "OSV-4"]);
    expect(db.match("npm", "d", "git+https://github.com/x/d#abc")).toEqual([]);
    expect(db.match("PyPI", "d", "1.0.0").map((e) => e.advisory.id)).toEqual([]);
  });

  it("prereleases sort before their release", () => {
    expect(hits("1.2.0-beta.1")).toEqual(["OSV-1"]);
    expect(hits("2.0.0-rc.1")).toEqual(["OSV-1"]);
  });

  it("a newer copy of a record replaces an older one, an older copy does not", () => {
    const old = record("GHSA-xxxx-yyyy-zzzz", [{ package: npm("a"), ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.0.0" }] }] }], { modified: "2023-01-01T00:00:00Z" });
    const updated = record("GHSA-xxxx-yyyy-zzzz", [{ package: npm("a"), ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "2.0.0" }] }] }], { modified: "2024-01-01T00:00:00Z" });
    expect(createAdvisoryDatabase([old, updated]).match("npm", "a", "1.5.0").length).toBe(1);
    expect(createAdvisoryDatabase([updated, old]).match("npm", "a", "1.5.0").length).toBe(1);
    expect(createAdvisoryDatabase([updated, old]).size).toBe(1);
  });
});

describe("npm ranges converted to OSV agree with npm's satisfies", () => {
  const ranges = ["<0.2.1 || >=1.0.0 <1.2.3", "^1.2.3", "~4.17.0", ">=2.0.0-alpha8 <=2.0.0-rc2 || >=2.0.0 <=2.13.0", "<3.4.6 || > 4.0.0 <4.0.5", "1.x || >=2.5.0", "*", "2.0.x || 2.1.x", "<=0.9.4 || 1.0.0", ">1.2.3 <=1.4.0"];
  const versions = ["0.0.0", "0.2.0", "0.2.1", "0.9.4", "1.0.0", "1.2.2", "1.2.3", "1.9.9", "2.0.0", "2.0.7", "2.1.3", "2.13.0", "2.13.1", "2.5.0", "3.4.5", "3.4.6", "4.0.0", "4.0.1", "4.0.5", "4.17.0", "4.17.21", "4.18.0", "1.2.4", "1.4.0", "1.4.1"];
  for (const range of ranges) {
    it(range, () => {
      const converted = npmRangeToOsv(range);
      expect(converted).toBeDefined();
      const db = createAdvisoryDatabase([record("OSV-R", [{ package: npm("p"), ranges: converted?.ranges ?? [], ...(converted?.versions.length ? { versions: converted.versions } : {}) }])]);
      for (const version of versions) expect(db.match("npm", "p", version).length > 0, `${version} in ${range}`).toBe(semver.satisfies(version, range));
    });
  }

  it("rejects text that is not a range", () => {
    expect(npmRangeToOsv("not a range")).toBeUndefined();
  });
});

describe("severity", () => {
  it("CVSS v3 base scores match FIRST's calculator", () => {
    expect(cvss3BaseScore("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")).toBe(9.8);
    expect(cvss3BaseScore("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")).toBe(10);
    expect(cvss3BaseScore("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N")).toBe(5.9);
    expect(cvss3BaseScore("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N")).toBe(6.1);
    expect(cvss3BaseScore("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:N")).toBe(0);
    expect(cvss3BaseScore("CVSS:3.1/AV:N/AC:L")).toBeUndefined();
  });

  it("CVSS v2 base scores", () => {
    expect(cvss2BaseScore("AV:N/AC:L/Au:N/C:P/I:P/A:P")).toBe(7.5);
    expect(cvss2BaseScore("AV:N/AC:M/Au:N/C:N/I:P/A:N")).toBe(4.3);
  });

  it("prefers the database's rating, then CVSS v3, then v2; unknown without either", () => {
    expect(severityOf({ id: "GHSA-a", database_specific: { severity: "MODERATE" }, severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }] })).toEqual({ severity: "medium", source: "database_specific" });
    expect(severityOf({ id: "GHSA-a", severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }] })).toEqual({ severity: "critical", source: "CVSS_V3", score: 9.8 });
    expect(severityOf({ id: "GHSA-a", severity: [{ type: "CVSS_V2", score: "AV:N/AC:L/Au:N/C:P/I:P/A:P" }] })).toEqual({ severity: "high", source: "CVSS_V2", score: 7.5 });
    expect(severityOf({ id: "GHSA-a", severity: [{ type: "CVSS_V4", score: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N" }] })).toEqual({ severity: "unknown", source: "none" });
  });
});

describe("boundsToOsv (Retire.js ranges, as the advisory build script converts them)", () => {
  it("reads Retire.js's never-fixed sentinels (100, 100.0.0, 99.999.99999, 999.99.9999) as no fixed version, and a real bound as the fix", () => {
    for (const below of ["100", "100.0.0", "99.999.99999", "99.99.9999", "999.99.9999"]) {
      expect(boundsToOsv({ atOrAbove: "1.2.0", below })).toEqual({ type: "SEMVER", events: [{ introduced: "1.2.0" }] });
    }
    expect(boundsToOsv({ atOrAbove: "1.2.0", below: "3.5.0" })).toEqual({ type: "SEMVER", events: [{ introduced: "1.2.0" }, { fixed: "3.5.0" }] });
  });
});
