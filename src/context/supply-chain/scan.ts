/**
 * Matches locked packages against the advisory database and works out, for each vulnerable
 * `package@version` and advisory, the fix to suggest:
 *
 * - `fixedVersion`: the smallest version named by one of the advisory's `fixed` events that is
 *   above the locked version and not itself affected (a range may re-introduce the flaw);
 * - `suggestedVersion`: the smallest such version that satisfies every range the dependents
 *   declared for this package (from the lockfile: `^1.2.0`, `~4.17.0`; dist-tags and git specs do
 *   not constrain), so the fix is an in-place lockfile update; when none does, the smallest fixed
 *   version overall, with `satisfiesRange: false` (a dependent's range must be widened).
 *
 * Instances of the same `name@version` at several install paths are reported once, with every
 * path. Advisories that are the same flaw (one's id is the other's alias) are merged into one
 * finding: GHSA ids are preferred, then CVE, then the others.
 */
import type { AdvisoryDatabase, AdvisoryEntry } from "./advisory-db.js";
import { entryAffects } from "./advisory-db.js";
import type { LockedPackage } from "./lockfile.js";
import type { AdvisorySeverity } from "./severity.js";
import { isVersion, rangeOfSpec, satisfiesRange, compareVersionText } from "./versions.js";

export interface Vulnerability {
  readonly package: string;
  readonly version: string;
  /** First install path; `paths` has them all (bounded). */
  readonly path: string;
  readonly paths: readonly string[];
  /** Every instance is dev-only. */
  readonly dev: boolean;
  readonly optional: boolean;
  readonly advisory: string;
  readonly aliases: readonly string[];
  readonly severity: AdvisorySeverity | "unknown";
  /** Where the severity came from (database_specific, CVSS_V3, ...). */
  readonly severitySource: string;
  readonly score?: number;
  readonly summary: string;
  /** An advisory URL from the record's references, when it has one. */
  readonly url?: string;
  readonly fixedVersion: string | null;
  readonly suggestedVersion: string | null;
  readonly satisfiesRange: boolean;
  /** The semver ranges dependents declared (empty: none known). */
  readonly ranges: readonly string[];
  /**
   * Dependency chains from the project down to it, npm-audit style (`nyc>istanbul-reports>handlebars`),
   * at most 20, shortest first.
   */
  readonly via: readonly string[];
}

const MAX_LIST = 10;
const MAX_CHAINS = 20;

/** The name an edge uses: the install folder (an alias stays the alias), or the package name. */
function edgeName(pkg: LockedPackage): string {
  const at = pkg.path.lastIndexOf("node_modules/");
  return at >= 0 ? pkg.path.slice(at + "node_modules/".length) : pkg.name;
}

/**
 * Dependency chains to each package, following `dependents` up to the root, memoised and capped
 * (a shared package can be reached by thousands of routes). Cycles are cut.
 */
function chainFinder(packages: readonly LockedPackage[]): (pkg: LockedPackage) => string[] {
  const byPath = new Map<string, LockedPackage>();
  for (const pkg of packages) byPath.set(pkg.path, pkg);
  const memo = new Map<LockedPackage, string[]>();
  const visiting = new Set<LockedPackage>();
  const chains = (pkg: LockedPackage): string[] => {
    const known = memo.get(pkg);
    if (known) return known;
    if (visiting.has(pkg)) return [];
    visiting.add(pkg);
    const name = edgeName(pkg);
    const out = new Set<string>();
    for (const dependent of pkg.dependents) {
      if (out.size >= MAX_CHAINS) break;
      const parent = dependent.from === "" ? undefined : byPath.get(dependent.from);
      if (!parent) {
        out.add(name); // the root, or a workspace folder of the project
        continue;
      }
      for (const chain of chains(parent)) {
        out.add(`${chain}>${name}`);
        if (out.size >= MAX_CHAINS) break;
      }
    }
    visiting.delete(pkg);
    const result = [...out].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
    memo.set(pkg, result);
    return result;
  };
  return chains;
}

interface Instance {
  readonly name: string;
  readonly version: string;
  readonly paths: string[];
  readonly specs: Set<string>;
  readonly members: LockedPackage[];
  dev: boolean;
  optional: boolean;
}

function groupInstances(packages: readonly LockedPackage[]): Map<string, Instance> {
  const groups = new Map<string, Instance>();
  for (const pkg of packages) {
    if (!isVersion(pkg.version)) continue;
    const key = `${pkg.name}@${pkg.version}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { name: pkg.name, version: pkg.version, paths: [], specs: new Set(), members: [], dev: true, optional: true }));
    group.paths.push(pkg.path);
    group.members.push(pkg);
    if (!pkg.dev) group.dev = false;
    if (!pkg.optional) group.optional = false;
    for (const dependent of pkg.dependents) group.specs.add(dependent.spec);
  }
  return groups;
}

/** Fix candidates of one advisory for a package, given every affected entry of it for that package. */
export function suggestFix(entries: readonly AdvisoryEntry[], version: string, declaredSpecs: Iterable<string>): { fixedVersion: string | null; suggestedVersion: string | null; satisfiesRange: boolean; ranges: string[] } {
  const ranges = [...new Set([...declaredSpecs].map(rangeOfSpec).filter((r): r is string => r !== undefined && r !== "*"))];
  const candidates = [...new Set(entries.flatMap((entry) => entry.fixedVersions))]
    .filter((candidate) => compareVersionText(candidate, version) > 0 && !entries.some((entry) => entryAffects(entry, candidate)))
    .sort(compareVersionText);
  const fixedVersion = candidates[0] ?? null;
  if (fixedVersion === null) return { fixedVersion, suggestedVersion: null, satisfiesRange: false, ranges };
  const within = candidates.find((candidate) => ranges.every((range) => satisfiesRange(candidate, range)));
  return within === undefined ? { fixedVersion, suggestedVersion: fixedVersion, satisfiesRange: false, ranges } : { fixedVersion, suggestedVersion: within, satisfiesRange: true, ranges };
}

function preference(id: string): number {
  if (id.startsWith("GHSA-")) return 0;
  if (id.startsWith("CVE-")) return 1;
  if (id.startsWith("x_")) return 3;
  return 2;
}

function advisoryUrl(entry: AdvisoryEntry): string | undefined {
  const references = entry.advisory.record.references ?? [];
  const id = entry.advisory.id;
  return (references.find((r) => r.type === "ADVISORY" && r.url.includes(id)) ?? references.find((r) => r.type === "ADVISORY") ?? references.find((r) => r.type === "WEB"))?.url;
}

/** Merges findings of one package@version whose advisories share an id or alias. */
function mergeSameFlaw(findings: Vulnerability[]): Vulnerability[] {
  const groups: { ids: Set<string>; items: Vulnerability[] }[] = [];
  for (const finding of findings) {
    const ids = new Set([finding.advisory, ...finding.aliases]);
    const overlapping = groups.filter((group) => [...ids].some((id) => group.ids.has(id)));
    const merged = { ids, items: [finding] };
    for (const group of overlapping) {
      for (const id of group.ids) merged.ids.add(id);
      merged.items.push(...group.items);
      groups.splice(groups.indexOf(group), 1);
    }
    groups.push(merged);
  }
  return groups.map(({ ids, items }) => {
    const best = [...items].sort((a, b) => preference(a.advisory) - preference(b.advisory) || (a.severity === "unknown" ? 1 : 0) - (b.severity === "unknown" ? 1 : 0) || (a.advisory < b.advisory ? -1 : 1))[0] as Vulnerability;
    const known = items.find((item) => item.severity !== "unknown");
    const fixes = items.map((item) => item.fixedVersion).filter((v): v is string => v !== null).sort(compareVersionText);
    return {
      ...best,
      aliases: [...ids].filter((id) => id !== best.advisory).sort(),
      ...(best.severity === "unknown" && known ? { severity: known.severity, severitySource: known.severitySource } : {}),
      ...(best.fixedVersion === null && fixes.length > 0 ? { fixedVersion: fixes[0] ?? null } : {}),
    };
  });
}

/**
 * The vulnerabilities among `packages` (non-semver versions — git, file — are skipped), sorted by
 * package, version, advisory. `graph` is the whole lockfile when `packages` is a subset (the
 * introduced ones), so dependency chains can be followed. Pure and deterministic.
 */
export function findVulnerabilities(db: AdvisoryDatabase, packages: readonly LockedPackage[], options: { readonly ecosystem?: string; readonly graph?: readonly LockedPackage[] } = {}): Vulnerability[] {
  const ecosystem = options.ecosystem ?? "npm";
  const out: Vulnerability[] = [];
  let chains: ((pkg: LockedPackage) => string[]) | undefined;
  for (const instance of groupInstances(packages).values()) {
    const matches = db.match(ecosystem, instance.name, instance.version);
    if (matches.length === 0) continue;
    const byAdvisory = new Map<string, AdvisoryEntry[]>();
    for (const entry of matches) {
      const all = db.entriesFor(ecosystem, instance.name).filter((e) => e.advisory === entry.advisory);
      byAdvisory.set(entry.advisory.id, all);
    }
    chains ??= chainFinder(options.graph ?? packages);
    const via = [...new Set(instance.members.flatMap((member) => (chains as (pkg: LockedPackage) => string[])(member)))].sort((a, b) => a.length - b.length || (a < b ? -1 : 1)).slice(0, MAX_CHAINS);
    const found: Vulnerability[] = [];
    for (const [id, entries] of byAdvisory) {
      const first = entries.find((entry) => entryAffects(entry, instance.version)) ?? (entries[0] as AdvisoryEntry);
      const fix = suggestFix(entries, instance.version, instance.specs);
      const url = advisoryUrl(first);
      found.push({
        package: instance.name,
        version: instance.version,
        path: instance.paths[0] ?? "",
        paths: instance.paths.slice(0, MAX_LIST),
        dev: instance.dev,
        optional: instance.optional,
        advisory: id,
        aliases: [...first.advisory.aliases],
        severity: first.severity.severity,
        severitySource: first.severity.source,
        ...(first.severity.score === undefined ? {} : { score: first.severity.score }),
        summary: first.advisory.summary,
        ...(url === undefined ? {} : { url }),
        ...fix,
        via,
      });
    }
    out.push(...mergeSameFlaw(found));
  }
  return out.sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : compareVersionText(a.version, b.version) || (a.advisory < b.advisory ? -1 : a.advisory > b.advisory ? 1 : 0)));
}
