/**
 * `vigil scan <dir>`: the background scan of Kubernetes manifests. Every object under the
 * directory becomes an `io.k8s.resource` event and is evaluated as Kyverno's background scan
 * evaluates existing resources (a CREATE of the object with no user, no dry run; policies with
 * `spec.background: false` are skipped), by every policy that applies to `io.k8s.resource`.
 * Results are the PolicyReport results (pass, fail, warn, error, skip) of report.ts.
 */
import { resolve } from "node:path";
import { createEvaluator, loadPolicySet, openImageRegistry, type LookupSources } from "../../agent.js";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import { VigilError } from "../../core/errors.js";
import { EventTypes } from "../../core/event.js";
import { eventTypeMatches, type PolicySet } from "../../policy/policy-set.js";
import { buildPolicyReports, type PolicyReportObject, type PolicyReportResult, type ScannedResource } from "../../policy/kyverno/index.js";
import { kubernetesSubject, readKubernetesManifestDirectory } from "../../sources/kubernetes.js";
import { isClusterScopedKind } from "../../policy/kyverno/kinds.js";
import { flag, stringOption, write, type Command, type CliIo, type CliOption, type ParsedArgs } from "../command.js";
import { configFrom, configOption, policiesOption, positioned, reportLoadErrors, requirePolicies } from "../shared.js";

/** A manifest that could not be read or is not a Kubernetes object (reported, the scan goes on). */
export interface ScanProblem {
  readonly file: string;
  readonly line?: number;
  readonly field?: string;
  readonly message: string;
}

export interface ScanOutcome {
  /** Each object with the findings about it (passes included), in file order. */
  readonly scanned: readonly ScannedResource[];
  readonly problems: readonly ScanProblem[];
  /** Policies that apply to `io.k8s.resource` (evaluated in the scan). */
  readonly policies: readonly CompiledPolicy[];
  /** Policies that failed to load (reported on stderr by scanFromArgs); a scan without them fails. */
  readonly policyErrors?: number;
}

/**
 * A namespaced object without `metadata.namespace` lands in the namespace it is applied to, as
 * `kubectl apply` does: the scan evaluates (and reports) it there.
 */
function inNamespace(object: Record<string, unknown>, namespace: string): Record<string, unknown> {
  const meta = object["metadata"] as Record<string, unknown>;
  if (isClusterScopedKind(String(object["kind"])) || (typeof meta["namespace"] === "string" && meta["namespace"] !== "")) return object;
  return { ...object, metadata: { ...meta, namespace } };
}

/**
 * Reads every manifest under `directory` and evaluates each object against `policySet`, with
 * passes, as a background scan. Namespaced objects without a namespace are placed in
 * `namespace` (default `default`). Never throws for bad manifests (they are `problems`); rejects
 * only when the directory cannot be listed.
 */
export async function scanManifestDirectory(directory: string, policySet: PolicySet, options: { readonly namespace?: string; readonly now?: () => Date; readonly lookups?: LookupSources } = {}): Promise<ScanOutcome> {
  const now = options.now ?? (() => new Date());
  const namespace = options.namespace ?? "default";
  let results;
  try {
    results = await readKubernetesManifestDirectory(directory);
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_INPUT", `cannot read manifest directory ${directory}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}; pass a directory of YAML or JSON manifests`, { field: "dir", file: directory }, cause);
  }
  const evaluator = createEvaluator(policySet, { clock: { now } });
  const scanned: ScannedResource[] = [];
  const problems: ScanProblem[] = [];
  for (const result of results) {
    if (!result.ok) {
      problems.push({ file: result.file, ...(result.line === undefined ? {} : { line: result.line }), ...(result.error.details.field ? { field: result.error.details.field } : {}), message: result.error.message });
      continue;
    }
    const object = inNamespace(result.event.data as Record<string, unknown>, namespace);
    const event = object === result.event.data ? result.event : { ...result.event, data: object, subject: kubernetesSubject(object) };
    const decideOptions = { explain: true, record: false, enforced: false };
    // With admission.registries, verifyImages and imageRegistry rules read the images' registries, as the webhooks do.
    const draft = options.lookups === undefined ? evaluator.decideEvent(event, decideOptions) : await evaluator.decideEventWithLookups(event, options.lookups, decideOptions);
    scanned.push({ resource: object, findings: draft.findings });
  }
  const applicable = policySet.policies.filter((p) => p.meta.on.length === 0 || p.meta.on.some((on) => eventTypeMatches(on, EventTypes.kubernetesResource)));
  return { scanned, problems, policies: applicable };
}

/** Options shared by `vigil scan` and `vigil report --scan`. */
export const scanOptions: Record<string, CliOption> = {
  "audit-warn": { type: "boolean", description: "Report violations of Audit (non-deny) rules as warn instead of fail, as `kyverno apply --audit-warn` does" },
  namespace: { type: "string", short: "n", value: "<ns>", description: "Namespace of namespaced objects that name none (as kubectl apply -n)", default: "default" },
};

/** Loads the configured (or `-p`) policies and scans `directory`; load errors go to stderr. */
export async function scanFromArgs(directory: string, args: ParsedArgs, io: CliIo): Promise<ScanOutcome> {
  const config = configFrom(args, io);
  const { policySet, load } = loadPolicySet(config.policies, { costLimit: config.cel.costLimit });
  reportLoadErrors(load.errors, io);
  requirePolicies(args, io, load);
  const registry = openImageRegistry(config);
  const outcome = await scanManifestDirectory(resolve(io.cwd, directory), policySet, {
    namespace: stringOption(args, "namespace") ?? "default",
    ...(registry ? { lookups: { registry } } : {}),
  });
  return { ...outcome, policyErrors: load.errors.length };
}

/** Flattens reports into rows, in report order. */
export function reportRows(reports: readonly PolicyReportObject[]): PolicyReportResult[] {
  return reports.flatMap((r) => r.results);
}

function resourceText(result: PolicyReportResult): string {
  const ref = result.resources[0];
  if (!ref) return "";
  return `${ref.kind}/${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}

export function printProblems(problems: readonly ScanProblem[], io: CliIo): void {
  for (const p of problems) write(io.stderr, `manifest error: ${positioned(`${p.file}${p.line === undefined ? "" : `:${p.line}`}`, p.message, p.file)}`);
}

export const scanCommand: Command = {
  path: ["scan"],
  summary: "Background scan: evaluate the Kubernetes manifests of a directory against the policies",
  args: "<dir>",
  description: [
    "Every object of every .yaml/.yml/.json file under <dir> (List objects expanded) is evaluated as an",
    "io.k8s.resource event, the way Kyverno's background scan evaluates existing resources: a CREATE of the",
    "object, no user, no dry run; policies with `background: false` are skipped. Prints one row per result",
    "that is not a pass (`--all`: every result) and a summary. `vigil report --scan <dir>` prints the same",
    "results as PolicyReports. With admission.registries enabled in the configuration (--config), verifyImages",
    "and imageRegistry rules read the images' registries, as the webhooks do (signatures, digests, image configs).",
    "Exit code: 0 no fail or error, 1 a fail, an error, an unreadable manifest or a policy that failed to load, 2 no object under <dir>.",
  ].join("\n"),
  options: {
    ...policiesOption,
    ...configOption,
    ...scanOptions,
    output: { type: "string", short: "o", value: "<format>", description: "Output format: text or json", default: "text" },
    all: { type: "boolean", description: "Also list pass and skip results" },
  },
  examples: ["vigil scan -p policies/ manifests/", "vigil scan -p pod-security/ --audit-warn --output json k8s/"],
  async run(args, io) {
    const directory = args.positionals[0];
    if (directory === undefined) throw new VigilError("VIGIL_BAD_INPUT", "no directory: pass the directory of manifests to scan, e.g. `vigil scan -p policies/ manifests/`", { field: "dir" });
    const format = stringOption(args, "output") ?? "text";
    if (format !== "text" && format !== "json") throw new VigilError("VIGIL_BAD_INPUT", `--output must be "text" or "json", not "${format}"`, { field: "--output" });
    const outcome = await scanFromArgs(directory, args, io);
    // Nothing to evaluate is a wrong directory, not a clean scan ("0 resources ... 0 fail" with exit 0, which passed a CI step).
    // (`vigil report --scan` still prints an empty List: its output, not its exit code, is what it is for.)
    if (outcome.scanned.length === 0 && outcome.problems.length === 0) {
      throw new VigilError("VIGIL_BAD_INPUT", `no Kubernetes object in the .yaml, .yml or .json files under ${directory}: pass the directory that holds the manifests`, { field: "dir" });
    }
    const reports = buildPolicyReports(outcome.scanned, { now: new Date(), auditWarn: flag(args, "audit-warn") });
    const rows = reportRows(reports);
    const summary = { resources: outcome.scanned.length, policies: outcome.policies.length, pass: 0, fail: 0, warn: 0, error: 0, skip: 0, manifestErrors: outcome.problems.length, policyErrors: outcome.policyErrors ?? 0 };
    for (const row of rows) summary[row.result]++;
    printProblems(outcome.problems, io);
    if (format === "json") {
      write(io.stdout, JSON.stringify({ summary, results: rows.map((r) => ({ policy: r.policy, rule: r.rule, result: r.result, resource: resourceText(r), message: r.message, ...(r.severity ? { severity: r.severity } : {}) })), problems: outcome.problems }, null, 2));
    } else {
      const shown = flag(args, "all") ? rows : rows.filter((r) => r.result !== "pass" && r.result !== "skip");
      if (shown.length > 0) {
        const table = shown.map((r) => [r.result.toUpperCase(), `${r.policy}/${r.rule}`, resourceText(r), r.message.replace(/\s+/g, " ")]);
        const widths = [0, 1, 2].map((i) => Math.min(60, Math.max(...table.map((row) => (row[i] ?? "").length), ["RESULT", "POLICY/RULE", "RESOURCE"][i]?.length ?? 0)));
        const line = (cells: readonly string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c)).join("  ");
        write(io.stdout, line(["RESULT", "POLICY/RULE", "RESOURCE", "MESSAGE"]));
        for (const row of table) write(io.stdout, line(row));
      }
      write(io.stdout, `${summary.resources} resources, ${summary.policies} policies: ${summary.pass} pass, ${summary.fail} fail, ${summary.warn} warn, ${summary.error} error, ${summary.skip} skip${summary.manifestErrors ? `; ${summary.manifestErrors} manifest errors` : ""}${summary.policyErrors ? `; ${summary.policyErrors} policy load error${summary.policyErrors === 1 ? "" : "s"}` : ""}`);
    }
    return summary.fail + summary.error + summary.manifestErrors + summary.policyErrors > 0 ? 1 : 0;
  },
};
