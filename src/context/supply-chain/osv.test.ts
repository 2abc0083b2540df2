import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { validateOsvRecord } from "./osv.js";
import { collectRecords, loadAdvisoryFiles, type LoadedAdvisories } from "./osv-load.js";
import { loadAdvisorySet, shippedAdvisoriesDir } from "./advisory-set.js";

const fixtures = new URL("../../../test/fixtures/", import.meta.url);
const fixturePath = (path: string): string => fileURLToPath(new URL(path, fixtures));

const valid = {
  schema_version: "1.6.0",
  id: "GHSA-aaaa-bbbb-cccc",
  modified: "2024-01-31T00:00:00Z",
  aliases: ["CVE-2024-0001"],
  summary: "Prototype pollution",
  severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }],
  affected: [{ package: { ecosystem: "npm", name: "left-pad" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.3.0" }] }], versions: ["1.0.0"] }],
  references: [{ type: "ADVISORY", url: "https://github.com/advisories/GHSA-aaaa-bbbb-cccc" }],
};

const fields = (record: unknown): string[] => validateOsvRecord(record).filter((i) => i.level === "error").map((i) => i.field);

describe("validateOsvRecord", () => {
  it("accepts real OSV records: the osv-schema GHSA conversion outputs and the shipped set", () => {
    const dir = fixturePath("osv-schema/ghsa/");
    const files = readdirSync(dir).filter((f) => f.endsWith(".osv.json"));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const record = JSON.parse(readFileSync(dir + file, "utf8")) as unknown;
      expect(validateOsvRecord(record, { strict: true }), file).toEqual([]);
    }
    const shipped = loadAdvisorySet();
    expect(shipped.issues).toEqual([]);
    expect(shipped.db.size).toBeGreaterThan(1000);
  });

  it("accepts a minimal valid record", () => {
    expect(validateOsvRecord(valid)).toEqual([]);
  });

  it("names the field of each schema violation", () => {
    expect(fields({ ...valid, id: 7 })).toEqual(["id"]);
    expect(fields({ ...valid, id: "LODASH-1" })).toEqual(["id"]);
    expect(fields({ ...valid, modified: "2024-01-31" })).toEqual(["modified"]);
    expect(fields({ ...valid, sumary: "typo" })).toEqual(["sumary"]);
    expect(fields({ ...valid, aliases: ["CVE-1", 2] })).toEqual(["aliases[1]"]);
    expect(fields({ ...valid, severity: [{ type: "CVSS_V3", score: "9.8" }] })).toEqual(["severity[0].score"]);
    expect(fields({ ...valid, references: [{ type: "BLOG", url: "https://x" }] })).toEqual(["references[0].type"]);
    expect(fields({ ...valid, affected: [{ package: { ecosystem: "npmjs", name: "a" } }] })).toEqual(["affected[0].package.ecosystem"]);
    expect(fields({ ...valid, affected: [{ package: { ecosystem: "npm" } }] })).toEqual(["affected[0].package.name"]);
    expect(fields({ ...valid, affected: [{ package: { ecosystem: "npm", name: "a" }, ranges: [{ type: "SEMVER", events: [{ fixed: "1.0.0" }] }] }] })).toEqual(["affected[0].ranges[0].events"]);
    expect(fields({ ...valid, affected: [{ package: { ecosystem: "npm", name: "a" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0", fixed: "1.0.0" }] }] }] })).toEqual(["affected[0].ranges[0].events[0]", "affected[0].ranges[0].events"]);
    expect(fields({ ...valid, affected: [{ package: { ecosystem: "npm", name: "a" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.0.0" }, { last_affected: "1.1.0" }] }] }] })).toEqual(["affected[0].ranges[0].events"]);
    expect(fields({ ...valid, affected: [{ package: { ecosystem: "npm", name: "a" }, ranges: [{ type: "GIT", events: [{ introduced: "0" }] }] }] })).toEqual(["affected[0].ranges[0].repo"]);
    expect(fields({ ...valid, affected: [{ package: { ecosystem: "npm", name: "a" }, ranges: [{ type: "NPM", events: [{ introduced: "0" }] }] }] })).toEqual(["affected[0].ranges[0].type"]);
    expect(fields({ ...valid, affected: [{ package: { ecosystem: "npm", name: "a" }, severity: [{ type: "Ubuntu", score: "low" }] }] })).toEqual(["affected[0].severity"]);
    expect(fields([valid])).toEqual(["(record)"]);
  });

  it("a missing modified is a warning, an error when strict", () => {
    const { modified: _modified, ...record } = valid;
    expect(validateOsvRecord(record)).toEqual([expect.objectContaining({ field: "modified", level: "warning" })]);
    expect(validateOsvRecord(record, { strict: true })).toEqual([expect.objectContaining({ field: "modified", level: "error" })]);
  });
});

describe("loading OSV files", () => {
  it("reads the osv-detector test database: the invalid file is reported with its file and the rest load", () => {
    const loaded = loadAdvisoryFiles([fixturePath("osv-detector-lockfiles/db/")]);
    expect(loaded.files).toBe(5); // file.yaml is not an OSV JSON file
    const errors = loaded.issues.filter((i) => i.level === "error").map((i) => `${i.file.split("/db/")[1]} ${i.id ?? "-"} ${i.field}`);
    // invalid.json is truncated JSON; osv-1..3 spell the ecosystem "PyPi" (the schema's enum says PyPI).
    expect(errors).toEqual(["nested-1/osv-1.json OSV-1 affected[0].package.ecosystem", "nested-2/invalid.json - (file)", "nested-2/osv-2.json OSV-2 affected[0].package.ecosystem", "nested-2/osv-3.json OSV-3 affected[0].package.ecosystem"]);
    expect(loaded.records.map((r) => r.record.id)).toEqual(["GHSA-1234"]);
    // None of them carries `modified`: a warning only.
    expect(loaded.issues.filter((i) => i.level === "warning").map((i) => i.field)).toEqual(["modified", "modified", "modified", "modified"]);
  });

  it("reads arrays and {vulns} files; a bad record names its position, id and field and the others load", () => {
    const out: LoadedAdvisories = { records: [], issues: [], files: 1 };
    collectRecords({ vulns: [valid, { ...valid, id: "GHSA-bad1-bad1-bad1", affected: [{ package: { ecosystem: "npm", name: "x" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "one.two" }] }] }] }, { ...valid, id: "GHSA-ok22-ok22-ok22" }] }, "feed.json", out);
    expect(out.records.map((r) => r.record.id)).toEqual(["GHSA-aaaa-bbbb-cccc", "GHSA-ok22-ok22-ok22"]);
    expect(out.issues).toEqual([expect.objectContaining({ file: "feed.json", index: 1, id: "GHSA-bad1-bad1-bad1", field: "affected[0].ranges[0].events[1].fixed", level: "error", message: expect.stringContaining("not a semver version") })]);
  });

  it("reports a path that does not exist and still loads the others", () => {
    const loaded = loadAdvisoryFiles(["/nonexistent/osv", shippedAdvisoriesDir]);
    expect(loaded.issues).toEqual([expect.objectContaining({ file: "/nonexistent/osv", field: "(file)", message: expect.stringContaining("ENOENT") })]);
    expect(loaded.records.length).toBeGreaterThan(1000);
  });
});
