/**
 * npm version and range helpers over the `semver` package (npm's own implementation, so ranges
 * mean exactly what npm makes of them). Parsed versions are cached: a lockfile scan compares the
 * same few thousand strings many times.
 */
import semver from "semver";

const { SemVer, Range } = semver;
type SemVerValue = InstanceType<typeof SemVer>;
type RangeValue = InstanceType<typeof Range>;

const versionCache = new Map<string, SemVerValue | null>();
const rangeCache = new Map<string, RangeValue | null>();
const CACHE_LIMIT = 50_000;

/** Parses a version (loose: `v1.2.3`, `=1.2.3`); `undefined` when it is not a semver version. */
export function parseVersion(text: string): SemVerValue | undefined {
  let parsed = versionCache.get(text);
  if (parsed === undefined) {
    try {
      parsed = new SemVer(text, { loose: true });
    } catch {
      parsed = null;
    }
    if (versionCache.size > CACHE_LIMIT) versionCache.clear();
    versionCache.set(text, parsed);
  }
  return parsed ?? undefined;
}

/** True when the string is a semver version (what registry packages have; git/file/link versions are not). */
export function isVersion(text: string): boolean {
  return parseVersion(text) !== undefined;
}

/** Semver precedence; both must be versions (see parseVersion). */
export function compareVersions(a: SemVerValue, b: SemVerValue): number {
  return a.compare(b);
}

/** Compares two version strings; non-versions sort first, by text. */
export function compareVersionText(a: string, b: string): number {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  if (va && vb) return va.compare(vb);
  if (va) return 1;
  if (vb) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The semver range part of a dependency spec as written in package.json / lockfiles:
 * `^1.2.0` → `^1.2.0`, `npm:lodash@^4` → `^4`, `1.x` → `1.x`. Returns `undefined` for specs that
 * are not version ranges (dist-tags like `latest`, git URLs, `file:`, `link:`, tarball URLs):
 * they do not constrain which registry version is acceptable.
 */
export function rangeOfSpec(spec: string): string | undefined {
  let text = spec.trim();
  if (text.startsWith("npm:")) {
    // `npm:real@^1.0.0` (an alias) or `npm:^1.0.0` (yarn 2+ protocol prefix).
    const rest = text.slice(4);
    const at = rest.lastIndexOf("@");
    text = at > 0 ? rest.slice(at + 1) : rest;
  }
  if (text === "" || text === "*" || text === "x") return "*";
  return parseRange(text) ? text : undefined;
}

/** Parses a range; `undefined` when it is not a semver range. */
export function parseRange(text: string): RangeValue | undefined {
  let parsed = rangeCache.get(text);
  if (parsed === undefined) {
    try {
      parsed = new Range(text, { loose: true });
    } catch {
      parsed = null;
    }
    if (rangeCache.size > CACHE_LIMIT) rangeCache.clear();
    rangeCache.set(text, parsed);
  }
  return parsed ?? undefined;
}

/** npm's `satisfies` (prereleases only match ranges that name the same tuple). Unparseable → false. */
export function satisfiesRange(version: string, range: string): boolean {
  const parsedRange = parseRange(range);
  const parsedVersion = parseVersion(version);
  if (!parsedRange || !parsedVersion) return false;
  return parsedRange.test(parsedVersion);
}

/**
 * The smallest version strictly greater than `version`: `1.2.3` → `1.2.4-0`, `1.0.0-beta` →
 * `1.0.0-beta.0`. Used to turn an exclusive lower bound (`>1.2.3`) into OSV's inclusive
 * `introduced`.
 */
export function nextVersion(version: SemVerValue): string {
  if (version.prerelease.length > 0) return `${version.major}.${version.minor}.${version.patch}-${version.prerelease.join(".")}.0`;
  return `${version.major}.${version.minor}.${version.patch + 1}-0`;
}

export type { SemVerValue, RangeValue };
