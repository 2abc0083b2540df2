/**
 * npm semver ranges (`<0.2.1 || >=1.0.0 <1.2.3`, as npm advisories and `npm audit` write
 * `vulnerable_versions`) → OSV `affected` ranges, for converting npm-style advisory data to OSV.
 *
 * Each `||` alternative becomes its own SEMVER range (OSV forbids `fixed` and `last_affected` in
 * one range): the greatest lower bound becomes `introduced` (`>x` becomes the next version after
 * x, so the bound stays exact), the least upper bound `fixed` (`<x`) or `last_affected` (`<=x`);
 * an exact version goes to `versions`. npm's desugared caret/tilde bounds (`<2.0.0-0`) are written
 * as `2.0.0`. One difference with npm remains, on purpose: OSV ranges include prereleases inside
 * the bounds, which npm's `satisfies` would skip — the conversion errs on the side of matching.
 */
import semver from "semver";
import type { OsvRange } from "./osv.js";
import { nextVersion, parseVersion, type SemVerValue } from "./versions.js";

type Comparator = InstanceType<typeof semver.Comparator>;

export interface ConvertedRange {
  readonly ranges: OsvRange[];
  readonly versions: string[];
}

function display(version: SemVerValue): string {
  // `<2.0.0-0` is npm's way of saying "below 2.0.0 and its prereleases".
  if (version.prerelease.length === 1 && version.prerelease[0] === 0) return `${version.major}.${version.minor}.${version.patch}`;
  return version.version;
}

function bound(comparators: readonly Comparator[]): { lower?: { version: SemVerValue; inclusive: boolean }; upper?: { version: SemVerValue; inclusive: boolean }; exact?: SemVerValue } | undefined {
  let lower: { version: SemVerValue; inclusive: boolean } | undefined;
  let upper: { version: SemVerValue; inclusive: boolean } | undefined;
  for (const comparator of comparators) {
    if (comparator.value === "") continue; // ANY
    const version = comparator.semver as SemVerValue;
    switch (comparator.operator) {
      case "":
      case "=":
        return { exact: version };
      case ">=":
      case ">": {
        const inclusive = comparator.operator === ">=";
        if (!lower || version.compare(lower.version) > 0 || (version.compare(lower.version) === 0 && !inclusive)) lower = { version, inclusive };
        break;
      }
      case "<=":
      case "<": {
        const inclusive = comparator.operator === "<=";
        if (!upper || version.compare(upper.version) < 0 || (version.compare(upper.version) === 0 && !inclusive)) upper = { version, inclusive };
        break;
      }
      default:
        return undefined;
    }
  }
  return { ...(lower ? { lower } : {}), ...(upper ? { upper } : {}) };
}

/**
 * Converts an npm range. Returns `undefined` when the text is not a semver range (the caller
 * reports it). `*` gives one range affecting every version.
 */
/** Retire.js's never-fixed sentinels: a `below` whose major version is 99 or has three or more digits. */
const NEVER_FIXED = /^(99|\d{3,})(\.\d+)*$/;

export function npmRangeToOsv(range: string): ConvertedRange | undefined {
  let parsed: InstanceType<typeof semver.Range>;
  try {
    parsed = new semver.Range(range, { loose: true });
  } catch {
    return undefined;
  }
  const ranges: OsvRange[] = [];
  const versions: string[] = [];
  for (const set of parsed.set) {
    const b = bound(set);
    if (!b) return undefined;
    if (b.exact) {
      versions.push(b.exact.version);
      continue;
    }
    if (b.lower && b.upper && b.lower.version.compare(b.upper.version) > 0) continue; // empty
    const introduced = !b.lower ? "0" : b.lower.inclusive ? display(b.lower.version) : nextVersion(b.lower.version);
    const events: { introduced?: string; fixed?: string; last_affected?: string }[] = [{ introduced }];
    if (b.upper) events.push(b.upper.inclusive ? { last_affected: b.upper.version.version } : { fixed: display(b.upper.version) });
    ranges.push({ type: "SEMVER", events });
  }
  return { ranges, versions };
}

/**
 * Retire.js-style bounds (`atOrAbove`, `above`, `below`) → one OSV range. Versions are coerced
 * (`2.0` → `2.0.0`); `below` values that are not versions (`100`, the "never fixed" sentinel, or
 * `~`) leave the range open. Returns `undefined` when a lower bound is not a version.
 */
export function boundsToOsv(bounds: { readonly atOrAbove?: string; readonly above?: string; readonly below?: string }): OsvRange | undefined {
  const coerce = (input: string | undefined): SemVerValue | undefined => {
    if (input === undefined) return undefined;
    const text = input.replace(/-\*$/, "-0"); // `1.3.0-*`: 1.3.0 and its prereleases
    const direct = parseVersion(text.replace(/^(\d+\.\d+\.\d+)\.(?=[a-z])/i, "$1-"));
    if (direct) return direct;
    if (!/^\d+(\.\d+){0,2}$/.test(text)) return undefined;
    return semver.coerce(text) ?? undefined;
  };
  let introduced = "0";
  if (bounds.atOrAbove !== undefined) {
    const version = coerce(bounds.atOrAbove);
    if (!version) return undefined;
    introduced = version.version;
  } else if (bounds.above !== undefined) {
    const version = coerce(bounds.above);
    if (!version) return undefined;
    introduced = nextVersion(version);
  }
  const events: { introduced?: string; fixed?: string }[] = [{ introduced }];
  const below = bounds.below;
  // Retire.js writes "no fix yet" as a `below` past any release: 100, 100.0.0, 99.999.99999,
  // 99.99.9999, 999.99.9999. Such a bound is not a fixed version (the range stays open).
  const neverFixed = below !== undefined && NEVER_FIXED.test(below);
  const fix = below === undefined || neverFixed ? undefined : coerce(below);
  if (fix) events.push({ fixed: fix.version });
  else if (below !== undefined && !neverFixed && below !== "~") return undefined;
  return { type: "SEMVER", events };
}
