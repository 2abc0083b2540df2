/**
 * Loads OSV records from files and directories. A file holds one record, an array of records, or
 * `{ "vulns": [...] }` (the OSV API's batch shape); directories are read recursively for `*.json`
 * (names starting with `.` are skipped). Every record is validated (osv.ts) and checked for what
 * matching needs (SEMVER and npm ECOSYSTEM versions must be semver). A bad record is reported with
 * its file, index, id and field, and the others still load; an unreadable file is reported the
 * same way and never stops the rest.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { validateOsvRecord, type OsvIssue, type OsvRecord } from "./osv.js";
import { parseVersion } from "./versions.js";

export interface AdvisoryIssue extends OsvIssue {
  readonly file: string;
  /** Position of the record in the file (0 for a single-record file). */
  readonly index?: number;
  readonly id?: string;
}

export interface LoadedAdvisories {
  readonly records: { readonly record: OsvRecord; readonly source: string }[];
  readonly issues: AdvisoryIssue[];
  /** Files read. */
  readonly files: number;
}

export interface LoadAdvisoryOptions {
  /** Treat warnings (a missing `modified`) as errors that reject the record. */
  readonly strict?: boolean;
}

/** Checks that matching can evaluate every range (beyond the JSON schema). */
function matchingIssues(record: OsvRecord): OsvIssue[] {
  const issues: OsvIssue[] = [];
  (record.affected ?? []).forEach((affected, a) => {
    const ecosystem = affected.package?.ecosystem ?? "";
    const npm = ecosystem === "npm" || ecosystem.startsWith("npm:");
    (affected.ranges ?? []).forEach((range, r) => {
      if (range.type !== "SEMVER" && !(range.type === "ECOSYSTEM" && npm)) return;
      range.events.forEach((event, e) => {
        for (const kind of ["introduced", "fixed", "last_affected", "limit"] as const) {
          const version = event[kind];
          if (version === undefined || (kind === "introduced" && version === "0") || (kind === "limit" && version.includes("*"))) continue;
          if (!parseVersion(version)) issues.push({ field: `affected[${a}].ranges[${r}].events[${e}].${kind}`, message: `"${version}" is not a semver version; ${range.type} ranges${npm ? " of npm" : ""} need versions like 1.2.3`, level: "error" });
        }
      });
    });
  });
  return issues;
}

/** Validates and keeps the records of one parsed file. */
export function collectRecords(value: unknown, file: string, out: LoadedAdvisories, options: LoadAdvisoryOptions = {}): void {
  const list: unknown[] = Array.isArray(value) ? value : value !== null && typeof value === "object" && Array.isArray((value as { vulns?: unknown }).vulns) ? (value as { vulns: unknown[] }).vulns : [value];
  const several = list.length !== 1 || Array.isArray(value) || list[0] !== value;
  list.forEach((item, index) => {
    const schemaIssues = validateOsvRecord(item, options);
    const id = item !== null && typeof item === "object" && typeof (item as { id?: unknown }).id === "string" ? (item as { id: string }).id : undefined;
    const issues = schemaIssues.some((issue) => issue.level === "error") ? schemaIssues : [...schemaIssues, ...matchingIssues(item as OsvRecord)];
    for (const issue of issues) out.issues.push({ ...issue, file, ...(several ? { index } : {}), ...(id === undefined ? {} : { id }) });
    if (!issues.some((issue) => issue.level === "error")) out.records.push({ record: item as OsvRecord, source: file });
  });
}

/** Parses OSV JSON text (one record, an array, or `{vulns}`) into `out`. */
export function collectRecordsFromText(text: string, file: string, out: LoadedAdvisories, options: LoadAdvisoryOptions = {}): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    out.issues.push({ file, field: "(file)", message: `not valid JSON: ${(cause as Error).message}; an OSV file holds one record, an array of records or {"vulns": [...]}`, level: "error" });
    return;
  }
  collectRecords(value, file, out, options);
}

function walk(path: string, files: string[], issues: AdvisoryIssue[], explicit: boolean): void {
  let stat;
  try {
    stat = statSync(path);
  } catch (cause) {
    issues.push({ file: path, field: "(file)", message: `cannot read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}; pass an existing OSV file or directory`, level: "error" });
    return;
  }
  if (stat.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name.startsWith(".") || name === "node_modules") continue;
      const child = join(path, name);
      let isDir = false;
      try {
        isDir = statSync(child).isDirectory();
      } catch {
        isDir = false;
      }
      if (isDir || name.endsWith(".json")) walk(child, files, issues, false);
    }
  } else if (explicit || path.endsWith(".json")) {
    files.push(path);
  }
}

/** The OSV files under the paths, in a stable order (directories sorted, recursively). */
export function listAdvisoryFiles(paths: readonly string[]): { files: string[]; issues: AdvisoryIssue[] } {
  const files: string[] = [];
  const issues: AdvisoryIssue[] = [];
  for (const path of paths) walk(path, files, issues, true);
  return { files, issues };
}

/** Loads every OSV record under the paths. Never throws: problems are in `issues`. */
export function loadAdvisoryFiles(paths: readonly string[], options: LoadAdvisoryOptions = {}): LoadedAdvisories {
  const { files, issues } = listAdvisoryFiles(paths);
  const out: LoadedAdvisories = { records: [], issues, files: files.length };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (cause) {
      out.issues.push({ file, field: "(file)", message: `cannot read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, level: "error" });
      continue;
    }
    collectRecordsFromText(text, file, out, options);
  }
  return out;
}

/** One line per issue: `file[#index] (id) field: message`. */
export function formatAdvisoryIssue(issue: AdvisoryIssue): string {
  return `${issue.level}: ${issue.file}${issue.index === undefined ? "" : ` record ${issue.index}`}${issue.id ? ` (${issue.id})` : ""}: ${issue.field}: ${issue.message}`;
}
