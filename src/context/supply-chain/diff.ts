/**
 * Base → head diff of two lockfiles, by package name:
 * - added: a name only in head; removed: a name only in base;
 * - changed: a name in both whose set of locked versions differs (`1.2.0` → `1.2.3`).
 * `introduced` lists head instances whose `name@version` the base did not have: the versions this
 * change brings in. A version the base already had (even at another path) was accepted before and
 * is not introduced again.
 */
import type { LockedPackage, Lockfile } from "./lockfile.js";
import { compareVersionText } from "./versions.js";

export interface PackageChange {
  readonly name: string;
  readonly kind: "added" | "changed" | "removed";
  /** Versions in base (ascending; empty when added). */
  readonly from: readonly string[];
  /** Versions in head (ascending; empty when removed). */
  readonly to: readonly string[];
  /** Install paths in head (base for removed packages), at most a few. */
  readonly paths: readonly string[];
  /** Every instance is dev-only. */
  readonly dev: boolean;
}

export interface LockfileDiff {
  readonly added: readonly PackageChange[];
  readonly changed: readonly PackageChange[];
  readonly removed: readonly PackageChange[];
  /** Head instances whose name@version is new. */
  readonly introduced: readonly LockedPackage[];
  /** Head instances whose name@version the base already had. */
  readonly kept: readonly LockedPackage[];
}

const MAX_PATHS = 5;

interface Group {
  readonly versions: Set<string>;
  readonly paths: string[];
  dev: boolean;
}

function groupByName(packages: readonly LockedPackage[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const pkg of packages) {
    let group = groups.get(pkg.name);
    if (!group) groups.set(pkg.name, (group = { versions: new Set(), paths: [], dev: true }));
    group.versions.add(pkg.version);
    if (group.paths.length < MAX_PATHS) group.paths.push(pkg.path);
    if (!pkg.dev) group.dev = false;
  }
  return groups;
}

const sorted = (versions: Iterable<string>): string[] => [...versions].sort(compareVersionText);

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const value of a) if (!b.has(value)) return false;
  return true;
}

/** Diffs base (absent: an empty lockfile, everything is added) against head. Pure. */
export function diffLockfiles(base: Lockfile | undefined, head: Lockfile): LockfileDiff {
  const before = groupByName(base?.packages ?? []);
  const after = groupByName(head.packages);
  const added: PackageChange[] = [];
  const changed: PackageChange[] = [];
  const removed: PackageChange[] = [];
  for (const [name, group] of after) {
    const old = before.get(name);
    if (!old) added.push({ name, kind: "added", from: [], to: sorted(group.versions), paths: group.paths, dev: group.dev });
    else if (!sameSet(old.versions, group.versions)) changed.push({ name, kind: "changed", from: sorted(old.versions), to: sorted(group.versions), paths: group.paths, dev: group.dev });
  }
  for (const [name, group] of before) {
    if (!after.has(name)) removed.push({ name, kind: "removed", from: sorted(group.versions), to: [], paths: group.paths, dev: group.dev });
  }
  const introduced: LockedPackage[] = [];
  const kept: LockedPackage[] = [];
  for (const pkg of head.packages) {
    if (before.get(pkg.name)?.versions.has(pkg.version)) kept.push(pkg);
    else introduced.push(pkg);
  }
  const byName = (a: PackageChange, b: PackageChange): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { added: added.sort(byName), changed: changed.sort(byName), removed: removed.sort(byName), introduced, kept };
}
