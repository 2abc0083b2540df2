import { randomUUID } from "node:crypto";
import { timeOrderedId } from "../../core/ids.js";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadPolicySet } from "../../agent.js";
import {
  formatAdvisoryIssue,
  loadAdvisorySet,
  loadSupplyChainSettings,
  parseLockfile,
  resolveSupplyChainSettings,
  summarizeDependencyChange,
  supplyChainPackDir,
  supplyChainSettingsFile,
  type DependencySummary,
  type Lockfile,
  type LockfileError,
} from "../../context/supply-chain/index.js";
import { toSarif } from "../../context/supply-chain/sarif.js";
import type { Context } from "../../core/context.js";
import type { DecisionDraft } from "../../core/decision.js";
import { VigilError } from "../../core/errors.js";
import { EventTypes, type Event } from "../../core/event.js";
import { buildDecision } from "../../decide/decision.js";
import { flag, stringList, stringOption, write, type CliIo, type Command, type ParsedArgs } from "../command.js";
import { existingPaths, requirePolicies, withoutBom } from "../shared.js";

const formats = ["text", "json", "sarif", "markdown"] as const;
type GateFormat = (typeof formats)[number];

/** What one gate run found; exit code 0 clean, 1 blocked, 2 error. */
export interface GateResult {
  readonly summary: DependencySummary;
  readonly decision: DecisionDraft;
  /** Lockfile and advisory problems (each names the file and field). */
  readonly errors: readonly LockfileError[];
  /** The policies' load errors (among `errors`; the summary, made before the policies ran, has the others). */
  readonly policyErrors: readonly LockfileError[];
  readonly warnings: readonly string[];
  readonly exitCode: 0 | 1 | 2;
  /** Lockfile path → text, for SARIF line numbers. */
  readonly texts: ReadonlyMap<string, string>;
}

/** Where `vigil advisories import` keeps records: $VIGIL_ADVISORIES_DIR, else .vigil/advisories under the working directory. */
export function importedAdvisoriesDir(io: CliIo): string {
  return resolve(io.cwd, io.env["VIGIL_ADVISORIES_DIR"] ?? ".vigil/advisories");
}

function readSide(path: string | undefined, side: "base" | "head", io: CliIo, errors: LockfileError[], texts: Map<string, string>): Lockfile | undefined {
  if (path === undefined) return undefined;
  let text: string;
  try {
    // A byte order mark made a package-lock.json invalid JSON and a yarn.lock's first line unreadable.
    text = withoutBom(readFileSync(resolve(io.cwd, path), "utf8"));
  } catch (cause) {
    errors.push({ file: path, field: `--${side}`, message: `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}` });
    return undefined;
  }
  // An empty file parsed as a lockfile with no packages, so `--head /dev/null` passed.
  if (text.trim() === "") {
    errors.push({ file: path, field: `--${side}`, message: `${path} is empty; pass the ${side === "head" ? "lockfile after the change" : "lockfile before the change, or omit --base for a new lockfile"} (package-lock.json or yarn.lock)` });
    return undefined;
  }
  if (side === "head") texts.set(path, text);
  try {
    return parseLockfile(text, path);
  } catch (error) {
    if (error instanceof VigilError) errors.push({ file: path, field: error.details.field ?? "(file)", message: error.message });
    else throw error;
    return undefined;
  }
}

/** A policy load error as a gate error: its position as the field, on one line (a YAML error spans lines). */
function policyError(error: VigilError): LockfileError {
  const file = error.details.file ?? "(policies)";
  const message = error.message.startsWith(`${file}:`) ? error.message.slice(file.length + 1).replace(/^\d+:\d+: /, "") : error.message;
  const field = error.details.line === undefined ? error.details.field ?? "(policy)" : `line ${error.details.line}:${error.details.column ?? 0}`;
  return { file, field, message: message.replace(/\s+/g, " ").trim() };
}

/**
 * Runs the supply-chain gate: lockfiles → summary → the pack's policies → decision. Problems in
 * the inputs are collected (never thrown) and make the exit code 2; the rest is still processed.
 */
export function runGate(args: ParsedArgs, io: CliIo): GateResult {
  const errors: LockfileError[] = [];
  const warnings: string[] = [];
  const texts = new Map<string, string>();
  const settingsFile = stringOption(args, "settings");
  let settings = settingsFile ? loadSupplyChainSettings(resolve(io.cwd, settingsFile)) : loadSupplyChainSettings(supplyChainSettingsFile);
  const threshold = stringOption(args, "severity-threshold");
  if (threshold !== undefined && !["critical", "high", "medium", "low"].includes(threshold)) {
    throw new VigilError("VIGIL_BAD_INPUT", `--severity-threshold must be critical, high, medium or low, not "${threshold}"`, { field: "--severity-threshold" });
  }
  settings = resolveSupplyChainSettings({ ...(threshold === undefined ? {} : { severityThreshold: threshold }), importedAdvisories: importedAdvisoriesDir(io) }, { base: settings });
  const advisoryPaths = stringList(args, "advisories").map((p) => resolve(io.cwd, p));
  const set = loadAdvisorySet({ sources: advisoryPaths.length > 0 ? advisoryPaths : settings.advisories, ...(advisoryPaths.length > 0 ? {} : { imported: settings.importedAdvisories }) });
  for (const issue of set.issues) {
    if (issue.level === "error") errors.push({ file: issue.file, field: `${issue.index === undefined ? "" : `[${issue.index}]${issue.id ? ` (${issue.id})` : ""} `}${issue.field}`, message: issue.message });
    else warnings.push(formatAdvisoryIssue(issue));
  }
  // A set with no record flags nothing: an empty --advisories directory passed every lockfile with exit 0.
  if (set.db.size === 0 && !set.issues.some((issue) => issue.level === "error")) {
    const given = advisoryPaths.length > 0;
    errors.push({
      file: given ? stringList(args, "advisories").join(", ") : set.sources.join(", "),
      field: given ? "--advisories" : "advisories",
      message: `no OSV advisory record found there, so no version could be flagged; ${given ? "pass OSV JSON files or directories that hold them (or drop --advisories for the shipped and imported sets)" : "restore the shipped set or point the settings' advisories at OSV files"}`,
    });
  }
  const headPath = stringOption(args, "head");
  if (headPath === undefined) throw new VigilError("VIGIL_BAD_INPUT", "--head is required: the lockfile after the change (package-lock.json or yarn.lock)", { field: "--head" });
  const basePath = stringOption(args, "base");
  const head = readSide(headPath, "head", io, errors, texts);
  const base = readSide(basePath, "base", io, errors, texts);
  const pr = stringOption(args, "pr");
  const summary = summarizeDependencyChange(head ? [{ path: headPath, base, head }] : [], {
    db: set.db,
    settings,
    meta: { repo: stringOption(args, "repo"), pullRequest: pr === undefined ? undefined : Number(pr), headSha: stringOption(args, "sha") },
    errors,
  });
  const policyPaths = existingPaths(args, "policies", io);
  const { policySet, load } = loadPolicySet(policyPaths.length > 0 ? policyPaths : [join(supplyChainPackDir, "policies")]);
  requirePolicies(args, io, load);
  // Listed with the other errors (text, JSON, SARIF's stderr), which exit 2: they were only on stderr, the report said "0 errors".
  const policyErrors = load.errors.map(policyError);
  const now = new Date().toISOString();
  const event: Event = { specversion: "1.0", id: randomUUID(), source: "vigil:gate", type: EventTypes.dependencyChange, time: now, data: { repo: stringOption(args, "repo") ?? null, path: headPath, base: basePath ?? null, head: headPath } };
  const ctx: Context = { event, input: event.data, entities: {}, signals: {}, posture: { level: "normal", scope: "org", since: new Date(0).toISOString() }, dependencies: summary as unknown as Record<string, unknown>, now };
  const evaluated = policySet.evaluate(ctx);
  const decision = buildDecision(ctx, evaluated.findings, evaluated.policyRevisions, { id: timeOrderedId(), now, enforced: true, policy: (name) => policySet.get(name)?.meta, labels: { source: "gate", pack: "supply-chain" } });
  const allErrors = [...errors, ...policyErrors];
  const exitCode = allErrors.length > 0 ? 2 : decision.verdict === "deny" ? 1 : 0;
  return { summary, decision, errors: allErrors, policyErrors, warnings, exitCode, texts };
}

function textReport(result: GateResult): string {
  const { summary: s, decision } = result;
  const lines: string[] = [];
  for (const error of result.errors) lines.push(errorLine(error));
  for (const v of s.vulnerable) {
    lines.push(`${v.blocking ? "BLOCK" : "warn "} ${v.severity.padEnd(8)} ${v.package}@${v.version} ${v.advisory}${v.aliases.length ? ` (${v.aliases.slice(0, 3).join(", ")})` : ""}${v.dev ? " [dev]" : ""}`);
    lines.push(`      ${v.summary ? `${v.summary}; ` : ""}${v.fix}`);
    if (v.via.length) lines.push(`      via ${v.via.slice(0, 3).join(", ")}${v.via.length > 3 ? `, +${v.via.length - 3}` : ""}`);
    if (v.pastFixText) lines.push(`      fixed before: ${v.pastFixText}`);
  }
  for (const f of decision.findings) lines.push(`${f.effect === "error" ? "policy error" : f.mode}: ${f.policy}/${f.rule}: ${f.message}`);
  const verdict = result.exitCode === 2 ? "ERROR" : result.exitCode === 1 ? "BLOCKED" : "PASSED";
  lines.push(`${verdict}: ${s.introduced} new package versions (${s.added} added, ${s.changed} changed, ${s.removed} removed), ${s.blocking} blocking and ${s.belowThreshold} below-threshold vulnerabilities (threshold ${s.threshold}), ${s.preexisting} already on the base, ${s.advisories} advisories, ${result.errors.length} errors`);
  return lines.join("\n");
}

function jsonReport(result: GateResult): string {
  const { comment: _comment, ...summary } = result.summary;
  return JSON.stringify({
    verdict: result.decision.verdict,
    exitCode: result.exitCode,
    tier: result.decision.tier,
    summary,
    findings: result.decision.findings.map((f) => ({ policy: f.policy, rule: f.rule, effect: f.effect, severity: f.severity, mode: f.mode, message: f.message })),
    errors: result.errors,
    warnings: result.warnings,
  }, null, 2);
}

export const gateCommand: Command = {
  path: ["gate"],
  summary: "CI gate: fail when a lockfile change introduces dependency versions with known vulnerabilities",
  description: [
    "Diffs --base against --head (package-lock.json v1-v3 or yarn.lock), matches the versions the change introduces against the",
    "offline OSV advisory set (the shipped set plus `vigil advisories import`s, or --advisories), and evaluates the supply-chain",
    "pack's policies (or -p). Without --base every version in --head counts as introduced.",
    "Exit code: 0 clean, 1 blocked, 2 error (unreadable, empty or unparseable lockfile, unknown lockfileVersion, bad advisory file,",
    "advisories that hold no record:",
    "each is reported with its file and field, and everything else is still processed).",
  ].join("\n"),
  options: {
    base: { type: "string", value: "<lockfile>", description: "Lockfile before the change (omit for a new lockfile)" },
    head: { type: "string", value: "<lockfile>", description: "Lockfile after the change (required)" },
    advisories: { type: "string", multiple: true, value: "<path>", description: "OSV file or directory (repeatable); replaces the shipped and imported sets" },
    output: { type: "string", short: "o", value: "<format>", description: "text, json, sarif (SARIF 2.1.0) or markdown (the PR comment)", default: "text" },
    "severity-threshold": { type: "string", value: "<severity>", description: "Block at this severity and above: critical, high, medium, low (default: the pack setting, high)" },
    settings: { type: "string", value: "<file>", description: "Supply-chain settings YAML (default: packs/supply-chain/settings.yaml)" },
    policies: { type: "string", short: "p", multiple: true, value: "<path>", description: "Policies to evaluate (default: packs/supply-chain/policies)" },
    repo: { type: "string", value: "<owner/name>", description: "Repository, for the report" },
    pr: { type: "string", value: "<number>", description: "Pull request number, for the report" },
    sha: { type: "string", value: "<sha>", description: "Head commit SHA, for the report" },
    quiet: { type: "boolean", short: "q", description: "Do not print advisory warnings on stderr" },
  },
  examples: [
    "vigil gate --base main/package-lock.json --head package-lock.json",
    "vigil gate --head package-lock.json --output sarif > vigil.sarif",
    "vigil gate --base base.lock --head yarn.lock --severity-threshold critical --output markdown",
  ],
  async run(args, io) {
    const format = (stringOption(args, "output") ?? "text") as GateFormat;
    if (!formats.includes(format)) throw new VigilError("VIGIL_BAD_INPUT", `--output must be one of ${formats.join(", ")}, not "${format}"`, { field: "--output" });
    const pr = stringOption(args, "pr");
    if (pr !== undefined && !/^\d+$/.test(pr)) throw new VigilError("VIGIL_BAD_INPUT", `--pr must be a pull request number, not "${pr}"`, { field: "--pr" });
    const result = runGate(args, io);
    if (!flag(args, "quiet")) for (const warning of result.warnings) write(io.stderr, warning);
    if (format === "text") write(io.stdout, textReport(result));
    else if (format === "json") write(io.stdout, jsonReport(result));
    else if (format === "markdown") write(io.stdout, result.summary.comment);
    else write(io.stdout, JSON.stringify(toSarif(result.summary, { texts: result.texts, errors: result.policyErrors }), null, 2));
    if (format !== "text") for (const error of result.errors) write(io.stderr, errorLine(error));
    return result.exitCode;
  },
};

/** `error: <file>: <field>: <message>`, the file named once: a lockfile's own messages start with it (and its line). */
function errorLine(error: { readonly file: string; readonly field: string; readonly message: string }): string {
  return error.message.startsWith(`${error.file}:`) ? `error: ${error.message}` : `error: ${error.file}: ${error.field}: ${error.message}`;
}
