/**
 * The offline advisory database: OSV records indexed by ecosystem + package name, matched with
 * OSV's evaluation algorithm (docs/schema.md "Evaluation" of ossf/osv-schema):
 *
 *   affected when the version is in `versions`, or inside a range: events sorted by version,
 *   `introduced` (≤ v) opens, `fixed` (≤ v) closes, `last_affected` (< v) closes, and any `limit`
 *   events bound the range from above.
 *
 * SEMVER ranges, and ECOSYSTEM ranges of npm (whose versions are semver), are compared with semver
 * precedence. GIT ranges and ECOSYSTEM ranges of other ecosystems are not evaluated (only their
 * `versions` lists are). Withdrawn records never match.
 */
import { npmRangeToOsv } from "./npm-range-osv.js";
import type { OsvAffected, OsvRecord } from "./osv.js";
import { severityOf, type SeverityInfo } from "./severity.js";
import { parseVersion, type SemVerValue } from "./versions.js";

interface CompiledEvent {
  readonly kind: "introduced" | "fixed" | "last_affected";
  /** `undefined` for `introduced: "0"` (before every version). */
  readonly version: SemVerValue | undefined;
  readonly text: string;
}

interface CompiledRange {
  readonly events: readonly CompiledEvent[];
  readonly limits: readonly SemVerValue[];
}

/** One `affected` entry of one advisory, compiled for one package. */
export interface AdvisoryEntry {
  readonly advisory: Advisory;
  readonly affectedIndex: number;
  readonly ranges: readonly CompiledRange[];
  readonly versions: ReadonlySet<string>;
  /**
   * Fix candidates, ascending: versions named by `fixed` events, and, for npm, the lower bounds of
   * the npm-style `database_specific.patched_versions` range (`>=1.6.1`) that advisories converted
   * from npm's format keep when their ranges end in `last_affected` (`<=1.6.0`).
   */
  readonly fixedVersions: readonly string[];
  readonly severity: SeverityInfo;
}

/** A loaded advisory: the record and where it came from. */
export interface Advisory {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly summary: string;
  readonly record: OsvRecord;
  /** The file it was loaded from, when it came from a file. */
  readonly source?: string;
}

export interface AdvisoryDatabase {
  /** Advisories held (after de-duplication by id). */
  readonly size: number;
  /** Entries affecting `name@version` in `ecosystem` (one per advisory + affected entry). */
  match(ecosystem: string, name: string, version: string): AdvisoryEntry[];
  /** Every entry for a package, affected or not (for fix suggestions). */
  entriesFor(ecosystem: string, name: string): readonly AdvisoryEntry[];
  get(id: string): Advisory | undefined;
  advisories(): IterableIterator<Advisory>;
}

/** True when `version` is affected by the compiled entry (OSV evaluation). */
export function entryAffects(entry: AdvisoryEntry, version: string): boolean {
  if (entry.versions.has(version)) return true;
  const parsed = parseVersion(version);
  if (!parsed) return false;
  for (const range of entry.ranges) if (rangeIncludes(range, parsed)) return true;
  return false;
}

function rangeIncludes(range: CompiledRange, version: SemVerValue): boolean {
  if (range.limits.length > 0 && !range.limits.some((limit) => version.compare(limit) < 0)) return false;
  let vulnerable = false;
  for (const event of range.events) {
    if (event.kind === "introduced") {
      if (event.version === undefined || version.compare(event.version) >= 0) vulnerable = true;
    } else if (event.kind === "fixed") {
      if (event.version !== undefined && version.compare(event.version) >= 0) vulnerable = false;
    } else if (event.version !== undefined && version.compare(event.version) > 0) {
      vulnerable = false;
    }
  }
  return vulnerable;
}

/**
 * The versions an npm-style `patched_versions` range (npm audit, nodejs/security-wg) starts at:
 * `>=1.6.1 || >=2.0.3` → 1.6.1, 2.0.3. A `>x` bound names no published version and is left out,
 * as is `<0.0.0` (npm's "no patch").
 */
function patchedLowerBounds(record: OsvRecord): string[] {
  const specific = record.database_specific as Record<string, unknown> | undefined;
  const patched = specific?.["patched_versions"];
  if (typeof patched !== "string" || patched.trim() === "") return [];
  const converted = npmRangeToOsv(patched);
  if (converted === undefined) return [];
  const out: string[] = [...converted.versions];
  for (const range of converted.ranges) {
    const introduced = range.events[0]?.introduced;
    // "0": no lower bound; "-0": the synthetic next version of a `>x` bound.
    if (introduced === undefined || introduced === "0" || introduced.endsWith("-0")) continue;
    if (parseVersion(introduced)) out.push(introduced);
  }
  return out;
}

function compileAffected(advisory: Advisory, affected: OsvAffected, index: number): AdvisoryEntry {
  const ecosystem = affected.package?.ecosystem ?? "";
  const semverOrdered = ecosystem === "npm" || ecosystem.startsWith("npm:");
  const ranges: CompiledRange[] = [];
  const fixed = new Set<string>();
  for (const range of affected.ranges ?? []) {
    if (range.type === "GIT" || (range.type === "ECOSYSTEM" && !semverOrdered)) continue;
    const events: CompiledEvent[] = [];
    const limits: SemVerValue[] = [];
    let usable = true;
    for (const event of range.events) {
      if (event.limit !== undefined) {
        if (event.limit.includes("*")) continue;
        const limit = parseVersion(event.limit);
        if (limit) limits.push(limit);
        else usable = false;
        continue;
      }
      const kind = event.introduced !== undefined ? "introduced" : event.fixed !== undefined ? "fixed" : "last_affected";
      const text = (event.introduced ?? event.fixed ?? event.last_affected) as string;
      if (kind === "introduced" && text === "0") {
        events.push({ kind, version: undefined, text });
        continue;
      }
      const version = parseVersion(text);
      if (!version) {
        usable = false;
        continue;
      }
      if (kind === "fixed") fixed.add(version.version);
      events.push({ kind, version, text });
    }
    // INVARIANT: events sorted by version ("0" first); on equal versions the input order stays.
    events.sort((a, b) => (a.version === undefined ? (b.version === undefined ? 0 : -1) : b.version === undefined ? 1 : a.version.compare(b.version)));
    // A range with a version that is not semver cannot be evaluated (the loader reports it).
    if (usable) ranges.push({ events, limits });
  }
  if (semverOrdered) for (const version of patchedLowerBounds(advisory.record)) fixed.add(version);
  const fixedVersions = [...fixed].sort((a, b) => (parseVersion(a) as SemVerValue).compare(parseVersion(b) as SemVerValue));
  return { advisory, affectedIndex: index, ranges, versions: new Set(affected.versions ?? []), fixedVersions, severity: severityOf(advisory.record, index) };
}

/** Normalises a package name for lookup: npm names are case-sensitive but registry-lowercase. */
function packageKey(ecosystem: string, name: string): string {
  const base = ecosystem.split(":")[0] ?? ecosystem;
  return `${base}\u0000${base === "npm" ? name.toLowerCase() : name}`;
}

/**
 * Builds the database from records (already validated). A later record with the same id replaces
 * an earlier one unless the earlier one's `modified` is newer (an import updates the shipped set).
 */
export function createAdvisoryDatabase(records: readonly { readonly record: OsvRecord; readonly source?: string }[]): AdvisoryDatabase {
  const byId = new Map<string, Advisory>();
  for (const { record, source } of records) {
    const existing = byId.get(record.id);
    if (existing && (existing.record.modified ?? "") > (record.modified ?? "")) continue;
    byId.set(record.id, { id: record.id, aliases: record.aliases ?? [], summary: record.summary ?? record.details?.split("\n")[0] ?? "", record, ...(source === undefined ? {} : { source }) });
  }
  const index = new Map<string, AdvisoryEntry[]>();
  for (const advisory of byId.values()) {
    if (advisory.record.withdrawn !== undefined) continue;
    (advisory.record.affected ?? []).forEach((affected, i) => {
      if (!affected.package) return;
      const key = packageKey(affected.package.ecosystem, affected.package.name);
      let list = index.get(key);
      if (!list) index.set(key, (list = []));
      list.push(compileAffected(advisory, affected, i));
    });
  }
  const empty: readonly AdvisoryEntry[] = [];
  return {
    size: byId.size,
    match(ecosystem, name, version) {
      const entries = index.get(packageKey(ecosystem, name));
      if (!entries) return [];
      return entries.filter((entry) => entryAffects(entry, version));
    },
    entriesFor: (ecosystem, name) => index.get(packageKey(ecosystem, name)) ?? empty,
    get: (id) => byId.get(id),
    advisories: () => byId.values(),
  };
}
