/**
 * `vigil report`: wgpolicyk8s.io/v1alpha2 PolicyReport (one per namespace) and
 * ClusterPolicyReport (cluster-scoped objects) output, as Kyverno's background scan writes them.
 *
 * - `--scan <dir>`: from a background scan of manifests (scan.ts), every result including passes.
 * - otherwise: from the decision record of the configured store — the latest decision of every
 *   `io.k8s.resource` event (objects ingested by the agent: `POST /v1/events`, `vigil ingest`).
 *   The record keeps violations and errors only, so these reports list fail/warn/error results.
 */
import { stringify } from "yaml";
import type { Decision } from "../../core/decision.js";
import { VigilError } from "../../core/errors.js";
import { EventTypes } from "../../core/event.js";
import type { Storage } from "../../core/ports.js";
import { buildPolicyReports, type PolicyReportObject, type ScannedResource } from "../../policy/kyverno/index.js";
import { flag, stringOption, write, type Command } from "../command.js";
import { configFrom, configOption, openExistingStorage, policiesOption } from "../shared.js";
import { scanOptions, printProblems, scanFromArgs } from "./scan.js";

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * The latest recorded decision of every `io.k8s.resource` subject, as scanned resources (the
 * decision's input is the object). Reads the record in pages, oldest first.
 */
export async function resourcesFromRecord(storage: Storage, pageSize = 1000): Promise<ScannedResource[]> {
  const latest = new Map<string, Decision>();
  let afterSeq = 0;
  for (;;) {
    const page = await storage.listDecisions({ afterSeq, limit: pageSize });
    for (const decision of page) {
      if (decision.eventType === EventTypes.kubernetesResource && isRecord(decision.input)) latest.set(decision.subject ?? decision.eventId, decision);
    }
    if (page.length < pageSize) break;
    afterSeq = (page[page.length - 1] as Decision).seq;
  }
  return [...latest.values()].map((d) => ({ resource: d.input as Record<string, unknown>, findings: d.findings }));
}

/** Reports as YAML documents (`---` between them) or a JSON `v1 List` (what `kubectl apply -f` takes). */
export function renderReports(reports: readonly PolicyReportObject[], format: "yaml" | "json"): string {
  if (format === "json") return JSON.stringify({ apiVersion: "v1", kind: "List", items: reports }, null, 2);
  return reports.map((r) => stringify(r, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
}

export const reportCommand: Command = {
  path: ["report"],
  summary: "Print wgpolicyk8s.io/v1alpha2 PolicyReport / ClusterPolicyReport objects",
  description: [
    "With --scan <dir>: a background scan of the manifests under <dir> (as `vigil scan`), every result.",
    "Without it: from the decision record of the configured store, the latest decision of every io.k8s.resource",
    "event the agent ingested (fail, warn and error results; passes are not recorded).",
    "One PolicyReport per namespace, one ClusterPolicyReport for cluster-scoped objects.",
  ].join("\n"),
  options: {
    ...policiesOption,
    ...configOption,
    ...scanOptions,
    scan: { type: "string", value: "<dir>", description: "Scan these manifests instead of reading the decision record" },
    output: { type: "string", short: "o", value: "<format>", description: "Output format: yaml or json (a v1 List)", default: "yaml" },
  },
  examples: ["vigil report --scan manifests/ -p pod-security/", "vigil report -c vigil.yaml --output json > reports.json"],
  async run(args, io) {
    const format = stringOption(args, "output") ?? "yaml";
    if (format !== "yaml" && format !== "json") throw new VigilError("VIGIL_BAD_INPUT", `--output must be "yaml" or "json", not "${format}"`, { field: "--output" });
    const directory = stringOption(args, "scan");
    let scanned: readonly ScannedResource[];
    let failed = false;
    if (directory !== undefined) {
      const outcome = await scanFromArgs(directory, args, io);
      printProblems(outcome.problems, io);
      failed = outcome.problems.length > 0;
      scanned = outcome.scanned;
    } else {
      const storage = await openExistingStorage(configFrom(args, io));
      try {
        scanned = await resourcesFromRecord(storage);
      } finally {
        await storage.close();
      }
    }
    const reports = buildPolicyReports(scanned, { now: new Date(), auditWarn: flag(args, "audit-warn") });
    // JSON is always a List (empty: `items: []`), so `-o json > reports.json` is JSON; YAML with no report is no document.
    if (reports.length > 0 || format === "json") write(io.stdout, renderReports(reports, format));
    if (reports.length === 0) write(io.stderr, directory !== undefined ? `no policy results for the manifests under ${directory}` : "no io.k8s.resource decisions in the decision record");
    return failed ? 1 : 0;
  },
};
