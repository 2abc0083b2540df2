/**
 * The JSON-safe summary of a dependency change that policies read as `context.dependencies`.
 * Absent values are `null` (never missing keys), so CEL can test them with `== null`.
 *
 *   { repo, owner, repoName, pullRequest, ref, headSha, baseSha, action, merged, github,
 *     lockfiles: [{ path, format, lockfileVersion, packages }],
 *     added, changed, removed, introduced, changes: { added, changed, removed } (bounded),
 *     vulnerable: [{ package, version, path, paths, via, dev, lockfile, change, from, advisory,
 *                    aliases, severity, severityKnown, summary, url, fixedVersion,
 *                    suggestedVersion, satisfiesRange, range, fix, blocking, pastFix, pastFixText }],
 *     blocking, belowThreshold, preexisting, highestSeverity, threshold,
 *     errors: [{ file, field, message }], advisories, comment, statusDescription, statusContext,
 *     truncated }
 */
import type { AdvisoryDatabase } from "./advisory-db.js";
import { diffLockfiles, type PackageChange } from "./diff.js";
import type { Lockfile } from "./lockfile.js";
import { findVulnerabilities, type Vulnerability } from "./scan.js";
import { severityRank, type AdvisorySeverity } from "./severity.js";
import type { SupplyChainSettings } from "./settings.js";

/** An earlier fix of the same advisory in the organisation (see past-fixes.ts). */
export interface PastFix {
  readonly advisory: string;
  readonly package: string;
  readonly from: string;
  /** The version it was moved to, or null when the package was removed. */
  readonly to: string | null;
  readonly repo: string;
  readonly pullRequest: number | null;
  /** When the fixing change merged (RFC 3339). */
  readonly date: string;
  /** The decision that had blocked the vulnerable version. */
  readonly blockedDecisionId: string;
  readonly blockedPullRequest: number | null;
}

export interface VulnerableDependency {
  readonly package: string;
  readonly version: string;
  readonly path: string;
  readonly paths: readonly string[];
  readonly via: readonly string[];
  readonly dev: boolean;
  readonly lockfile: string;
  /** `added`: the package is new; `changed`: it was there at other versions (`from`). */
  readonly change: "added" | "changed";
  readonly from: readonly string[] | null;
  readonly advisory: string;
  readonly aliases: readonly string[];
  readonly severity: AdvisorySeverity;
  /** False when the advisory had no severity and `unknownSeverity` was used. */
  readonly severityKnown: boolean;
  readonly summary: string;
  readonly url: string | null;
  readonly fixedVersion: string | null;
  readonly suggestedVersion: string | null;
  readonly satisfiesRange: boolean;
  /** The declared ranges a fix must satisfy, joined with " and " (null: none known); see joinRanges. */
  readonly range: string | null;
  /** One line: what to do ("upgrade to 4.17.21 (within ^4.17.0)"). */
  readonly fix: string;
  /** At or above the threshold (and not a dev-only package when devDependencies is warn). */
  readonly blocking: boolean;
  readonly pastFix: PastFix | null;
  /** The past fix in words ("acme/web#41 moved lodash 4.17.4 → 4.17.21 on 2025-11-02"), or null. */
  readonly pastFixText: string | null;
}

export interface LockfileError {
  readonly file: string;
  readonly field: string;
  readonly message: string;
}

export interface DependencySummary {
  readonly repo: string | null;
  readonly owner: string | null;
  readonly repoName: string | null;
  readonly pullRequest: number | null;
  readonly ref: string | null;
  readonly headSha: string | null;
  readonly baseSha: string | null;
  readonly action: string | null;
  readonly merged: boolean;
  /** Owner, repo name, pull request number and a 40-hex head SHA are all known (GitHub remediation possible). */
  readonly github: boolean;
  readonly lockfiles: readonly { readonly path: string; readonly format: string; readonly lockfileVersion: number; readonly packages: number }[];
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  /** Package instances whose name@version is new in head. */
  readonly introduced: number;
  readonly changes: {
    readonly added: readonly { readonly name: string; readonly to: readonly string[]; readonly dev: boolean; readonly paths: readonly string[] }[];
    readonly changed: readonly { readonly name: string; readonly from: readonly string[]; readonly to: readonly string[]; readonly dev: boolean }[];
    readonly removed: readonly { readonly name: string; readonly from: readonly string[] }[];
  };
  readonly vulnerable: readonly VulnerableDependency[];
  readonly blocking: number;
  readonly belowThreshold: number;
  /** Vulnerable versions the base already had (accepted before; not blocking this change). */
  readonly preexisting: number;
  readonly highestSeverity: AdvisorySeverity | "none";
  readonly threshold: AdvisorySeverity;
  readonly errors: readonly LockfileError[];
  readonly advisories: number;
  /** Markdown for the pull-request comment. */
  readonly comment: string;
  /** At most 140 characters, for a commit status. */
  readonly statusDescription: string;
  /** The commit status context the pack's remediation sets (setting `statusContext`). */
  readonly statusContext: string;
  /** `vulnerable` or `changes` was cut at `maxListed`. */
  readonly truncated: boolean;
}

/** Where the change happened (from the event). */
export interface ChangeMeta {
  readonly repo?: string | undefined;
  readonly pullRequest?: number | undefined;
  readonly ref?: string | undefined;
  readonly headSha?: string | undefined;
  readonly baseSha?: string | undefined;
  readonly action?: string | undefined;
  readonly merged?: boolean | undefined;
}

/** One lockfile's two sides; `base` absent when the lockfile is new. */
export interface LockfilePair {
  readonly path: string;
  readonly base?: Lockfile | undefined;
  readonly head: Lockfile;
}

export interface SummarizeOptions {
  readonly db: AdvisoryDatabase;
  readonly settings: SupplyChainSettings;
  readonly meta?: ChangeMeta;
  /** Problems met while reading lockfiles (reported, never fatal). */
  readonly errors?: readonly LockfileError[];
  /** Most recent past fix per advisory id (or alias). */
  readonly pastFixes?: ReadonlyMap<string, PastFix>;
}

const SHA = /^[0-9a-f]{40}$/i;

/** Declared ranges in one string: `^1.2.0`, `(2 || 3) and ^2.1.0`. */
export function joinRanges(ranges: readonly string[]): string {
  const tidy = ranges.map((r) => r.trim().replace(/([<>]=?|=)\s+/g, "$1"));
  return tidy.map((r) => (tidy.length > 1 && /\s/.test(r) ? `(${r})` : r)).join(" and ");
}

/** The fix line: what to do about one vulnerable dependency. */
export function fixText(v: Pick<Vulnerability, "fixedVersion" | "suggestedVersion" | "satisfiesRange" | "ranges">): string {
  const range = joinRanges(v.ranges);
  if (v.suggestedVersion === null) return "no fixed version published; remove or replace the package";
  if (v.satisfiesRange) return range ? `upgrade to ${v.suggestedVersion} (within ${range})` : `upgrade to ${v.suggestedVersion}`;
  return `upgrade to ${v.suggestedVersion}; no fixed version satisfies ${range}, so the dependent's range must change`;
}

function toEntry(v: Vulnerability, lockfile: string, change: PackageChange | undefined, settings: SupplyChainSettings, pastFixes: ReadonlyMap<string, PastFix> | undefined): VulnerableDependency {
  const severity = v.severity === "unknown" ? settings.unknownSeverity : v.severity;
  const blocking = severityRank[severity] >= severityRank[settings.severityThreshold] && !(v.dev && settings.devDependencies === "warn");
  const pastFix = pastFixes?.get(v.advisory) ?? v.aliases.map((alias) => pastFixes?.get(alias)).find((fix) => fix !== undefined) ?? null;
  return {
    package: v.package,
    version: v.version,
    path: v.path,
    paths: v.paths,
    via: v.via,
    dev: v.dev,
    lockfile,
    change: change?.kind === "changed" ? "changed" : "added",
    from: change?.kind === "changed" ? change.from : null,
    advisory: v.advisory,
    aliases: v.aliases,
    severity,
    severityKnown: v.severity !== "unknown",
    summary: v.summary,
    url: v.url ?? null,
    fixedVersion: v.fixedVersion,
    suggestedVersion: v.suggestedVersion,
    satisfiesRange: v.satisfiesRange,
    range: v.ranges.length > 0 ? joinRanges(v.ranges) : null,
    fix: fixText(v),
    blocking,
    pastFix,
    pastFixText: pastFix ? pastFixLine(pastFix) : null,
  };
}

/** A past fix in words. */
export function pastFixLine(fix: PastFix): string {
  const where = fix.pullRequest === null ? fix.repo : `${fix.repo}#${fix.pullRequest}`;
  const what = fix.to === null ? `removed ${fix.package} ${fix.from}` : `moved ${fix.package} ${fix.from} → ${fix.to}`;
  return `${where} ${what} on ${fix.date.slice(0, 10)}`;
}

/**
 * Summarises base → head for each lockfile pair: the diff, the vulnerabilities the change
 * introduces (versions the base did not have), and what to do about them. Pure; never throws.
 */
export function summarizeDependencyChange(pairs: readonly LockfilePair[], options: SummarizeOptions): DependencySummary {
  const { db, settings } = options;
  const meta = options.meta ?? {};
  const added: PackageChange[] = [], changed: PackageChange[] = [], removed: PackageChange[] = [];
  const vulnerable: VulnerableDependency[] = [];
  let introduced = 0, preexisting = 0;
  for (const pair of pairs) {
    const diff = diffLockfiles(pair.base, pair.head);
    added.push(...diff.added);
    changed.push(...diff.changed);
    removed.push(...diff.removed);
    introduced += diff.introduced.length;
    const byName = new Map<string, PackageChange>();
    for (const change of [...diff.added, ...diff.changed]) byName.set(change.name, change);
    for (const v of findVulnerabilities(db, diff.introduced, { graph: pair.head.packages })) vulnerable.push(toEntry(v, pair.path, byName.get(v.package), settings, options.pastFixes));
    if (pair.base) preexisting += findVulnerabilities(db, diff.kept).length;
  }
  vulnerable.sort((a, b) => Number(b.blocking) - Number(a.blocking) || severityRank[b.severity] - severityRank[a.severity] || (a.package < b.package ? -1 : a.package > b.package ? 1 : 0) || (a.advisory < b.advisory ? -1 : 1));
  const blocking = vulnerable.filter((v) => v.blocking).length;
  const highest = vulnerable.reduce<AdvisorySeverity | "none">((top, v) => (top === "none" || severityRank[v.severity] > severityRank[top] ? v.severity : top), "none");
  const max = settings.maxListed;
  const truncated = vulnerable.length > max || added.length > max || changed.length > max || removed.length > max;
  const [owner, repoName] = meta.repo?.includes("/") ? (meta.repo.split("/", 2) as [string, string]) : [null, null];
  const headSha = meta.headSha ?? (meta.ref && SHA.test(meta.ref) ? meta.ref : undefined);
  const summary: DependencySummary = {
    repo: meta.repo ?? null,
    owner,
    repoName,
    pullRequest: meta.pullRequest ?? null,
    ref: meta.ref ?? null,
    headSha: headSha ?? null,
    baseSha: meta.baseSha ?? null,
    action: meta.action ?? null,
    merged: meta.merged === true,
    github: owner !== null && repoName !== null && meta.pullRequest !== undefined && headSha !== undefined && SHA.test(headSha),
    lockfiles: pairs.map((pair) => ({ path: pair.path, format: pair.head.format, lockfileVersion: pair.head.lockfileVersion, packages: pair.head.packages.length })),
    added: added.length,
    changed: changed.length,
    removed: removed.length,
    introduced,
    changes: {
      added: added.slice(0, max).map((c) => ({ name: c.name, to: c.to, dev: c.dev, paths: c.paths })),
      changed: changed.slice(0, max).map((c) => ({ name: c.name, from: c.from, to: c.to, dev: c.dev })),
      removed: removed.slice(0, max).map((c) => ({ name: c.name, from: c.from })),
    },
    vulnerable: vulnerable.slice(0, max),
    blocking,
    belowThreshold: vulnerable.length - blocking,
    preexisting,
    highestSeverity: highest,
    threshold: settings.severityThreshold,
    errors: options.errors ?? [],
    advisories: db.size,
    comment: "",
    statusDescription: "",
    statusContext: settings.statusContext,
    truncated,
  };
  return { ...summary, comment: commentMarkdown(summary), statusDescription: statusDescription(summary) };
}

function statusDescription(s: DependencySummary): string {
  let text: string;
  if (s.errors.length > 0 && s.lockfiles.length === 0) text = `Could not read the lockfile: ${s.errors[0]?.message ?? "error"}`;
  else if (s.blocking > 0) text = `${s.blocking} vulnerable dependenc${s.blocking === 1 ? "y" : "ies"} introduced (highest ${s.highestSeverity}): ${s.vulnerable.filter((v) => v.blocking).slice(0, 3).map((v) => `${v.package}@${v.version}`).join(", ")}`;
  else if (s.vulnerable.length > 0) text = `No blocking vulnerabilities; ${s.vulnerable.length} below the ${s.threshold} threshold`;
  else text = `No known vulnerabilities introduced (${s.introduced} new package versions checked)`;
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function advisoryCell(v: VulnerableDependency): string {
  const id = v.url ? `[${v.advisory}](${v.url})` : v.advisory;
  const aliases = v.aliases.filter((a) => !a.startsWith("x_")).slice(0, 3);
  return cell(`${id}${aliases.length ? ` (${aliases.join(", ")})` : ""}${v.summary ? `: ${v.summary}` : ""}`);
}

function fixCell(v: VulnerableDependency): string {
  if (v.suggestedVersion === null) return "no fixed version yet";
  if (v.satisfiesRange) return `**${v.suggestedVersion}**${v.range ? ` (within \`${v.range}\`)` : ""}`;
  return `**${v.suggestedVersion}** (outside \`${v.range ?? "*"}\`: widen the range)`;
}

/** The PR comment: a table of every vulnerable dependency, past fixes, and what blocks. */
export function commentMarkdown(s: DependencySummary): string {
  const all = s.vulnerable;
  const total = s.blocking + s.belowThreshold;
  const lines: string[] = [];
  if (s.errors.length > 0) {
    lines.push("### Vigil supply-chain check: lockfile problems", "");
    for (const error of s.errors) lines.push(`- \`${cell(error.file)}\` ${cell(error.field)}: ${cell(error.message)}`);
    lines.push("");
  }
  if (all.length === 0) {
    if (s.errors.length === 0) lines.push("### Vigil supply-chain check: no known vulnerabilities introduced", "", `${s.introduced} new package versions checked against ${s.advisories} advisories.`);
    return lines.join("\n");
  }
  const title = s.blocking > 0 ? `${s.blocking} vulnerable dependenc${s.blocking === 1 ? "y" : "ies"} introduced — merge blocked` : `${total} vulnerable dependenc${total === 1 ? "y" : "ies"} below the blocking threshold`;
  lines.push(`### Vigil supply-chain check: ${title}`, "");
  lines.push("| Package | Version | Advisory | Severity | Suggested version | Blocks |", "|---|---|---|---|---|---|");
  for (const v of all) {
    lines.push(`| \`${cell(v.package)}\`${v.dev ? " (dev)" : ""} | ${cell(v.version)} | ${advisoryCell(v)} | ${v.severity}${v.severityKnown ? "" : " (unrated)"} | ${fixCell(v)} | ${v.blocking ? "yes" : "no"} |`);
  }
  if (total > all.length) lines.push("", `…and ${total - all.length} more (the list is capped at ${all.length}).`);
  const fixes = new Map<string, PastFix>();
  for (const v of all) if (v.pastFix) fixes.set(`${v.pastFix.advisory}|${v.pastFix.repo}|${v.pastFix.pullRequest}`, v.pastFix);
  if (fixes.size > 0) {
    lines.push("", "**Fixed before in this organisation:**");
    for (const fix of fixes.values()) lines.push(`- ${fix.advisory}: ${pastFixLine(fix)}.`);
  }
  lines.push("", `Blocking at severity ${s.threshold} and above${s.belowThreshold > 0 ? `; ${s.belowThreshold} finding${s.belowThreshold === 1 ? "" : "s"} below it (or dev-only) are listed but do not block` : ""}. ${s.preexisting > 0 ? `${s.preexisting} vulnerable version${s.preexisting === 1 ? "" : "s"} already on the base branch are not counted. ` : ""}Advisories: ${s.advisories}.`);
  return lines.join("\n");
}

/** The summary with past fixes attached (by advisory id, else alias) and the comment rewritten. */
export function withPastFixes(summary: DependencySummary, fixes: ReadonlyMap<string, PastFix>): DependencySummary {
  if (fixes.size === 0) return summary;
  const vulnerable = summary.vulnerable.map((v) => {
    const fix = fixes.get(v.advisory) ?? v.aliases.map((alias) => fixes.get(alias)).find((f) => f !== undefined);
    return fix ? { ...v, pastFix: fix, pastFixText: pastFixLine(fix) } : v;
  });
  const next = { ...summary, vulnerable };
  return { ...next, comment: commentMarkdown(next) };
}
