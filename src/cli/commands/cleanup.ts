/**
 * `vigil cleanup`: what the loaded Kyverno cleanup policies (ClusterCleanupPolicy, CleanupPolicy,
 * DeletingPolicy) would delete at a run, and when each runs next. Over a directory of manifests,
 * or — with `--config` naming `admission.cluster` — over the live cluster, listed the way the
 * agent's sweep lists it. A preview: nothing is deleted and nothing is recorded; the agent
 * (`vigil serve`) runs the schedules, through the guardrails.
 */
import { resolve } from "node:path";
import { createCleanupSweep, loadPolicySet, watchKubernetesCluster } from "../../agent.js";
import { parseCron } from "../../core/cron.js";
import { VigilError } from "../../core/errors.js";
import { isCleanupPolicy, type CleanupPolicy } from "../../policy/kyverno/cleanup-policy.js";
import { createTtlCleanupPolicy } from "../../policy/kyverno/cleanup-ttl.js";
import { isClusterScopedKind } from "../../policy/kyverno/kinds.js";
import { readKubernetesManifestDirectory } from "../../sources/kubernetes.js";
import { flag, stringOption, write, type Command } from "../command.js";
import { configFrom, configOption, policiesOption, positioned, reportLoadErrors } from "../shared.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** One object a policy would delete (or could not decide about). */
interface Row {
  readonly policy: string;
  readonly result: "delete" | "keep" | "error";
  readonly resource: string;
  readonly message: string;
}

function resourceOf(object: Json): string {
  const meta = isObject(object["metadata"]) ? object["metadata"] : {};
  const namespace = typeof meta["namespace"] === "string" && meta["namespace"] !== "" ? `${meta["namespace"]}/` : "";
  return `${String(object["kind"] ?? "")}/${namespace}${String(meta["name"] ?? "")}`;
}

export const cleanupCommand: Command = {
  path: ["cleanup"],
  summary: "Preview Kyverno cleanup policies: what each would delete at a run, and when it runs next",
  args: "[dir]",
  description: [
    "Loads the ClusterCleanupPolicy, CleanupPolicy and DeletingPolicy documents among the policies and",
    "evaluates them, at --at (default: now), over the objects of a directory of manifests, or, without <dir>,",
    "over the live cluster of the configuration's admission.cluster (--config): the kinds each policy names",
    "are listed with API discovery and paged LISTs, as the agent's cleanup sweep does. Prints one row per",
    "object a policy would delete or could not decide about (--all: the kept ones too), each policy's",
    "schedule and next run. Nothing is deleted or recorded: `vigil serve` runs the schedules, and each",
    "deletion is a decision whose kubernetes.delete goes through the guardrails (docs/cleanup.md).",
    "Kyverno's TTL label (cleanup.kyverno.io/ttl: a duration from creation such as 4h, or a date such as",
    "2026-10-04) is previewed as the built-in policy kyverno-ttl-label unless cleanup.ttl.enabled is false; on",
    "the live cluster it lists every resource that can be listed and deleted, with that label selector.",
    "Exit code: 0, or 1 when a policy could not decide about an object or a manifest could not be read.",
  ].join("\n"),
  options: {
    ...policiesOption,
    ...configOption,
    at: { type: "string", value: "<time>", description: "The time of the run (RFC 3339), which DeletingPolicy conditions read as now(); default now" },
    namespace: { type: "string", short: "n", value: "<ns>", description: "Namespace of namespaced manifests that name none (as kubectl apply -n)", default: "default" },
    output: { type: "string", short: "o", value: "<format>", description: "Output format: text or json", default: "text" },
    all: { type: "boolean", description: "Also list the objects a policy matched and keeps" },
  },
  examples: ["vigil cleanup -p cleanup/ manifests/", "vigil cleanup --config vigil.yaml", "vigil cleanup -p cleanup/ --at 2026-12-01T01:00:00Z -o json k8s/"],
  async run(args, io) {
    const format = stringOption(args, "output") ?? "text";
    if (format !== "text" && format !== "json") throw new VigilError("VIGIL_BAD_INPUT", `--output must be "text" or "json", not "${format}"`, { field: "--output" });
    const atText = stringOption(args, "at");
    const at = atText === undefined ? new Date() : new Date(atText);
    if (Number.isNaN(at.getTime())) throw new VigilError("VIGIL_BAD_INPUT", `--at must be an RFC 3339 time such as 2026-12-01T01:00:00Z, got ${JSON.stringify(atText)}`, { field: "--at" });
    const config = configFrom(args, io);
    // Kyverno's TTL label is previewed too (cleanup.ttl.enabled), over manifests as over the live cluster.
    const builtins = config.cleanup.enabled && config.cleanup.ttl.enabled ? [createTtlCleanupPolicy({ schedule: config.cleanup.ttl.schedule })] : [];
    const { policySet, load } = loadPolicySet(config.policies, { costLimit: config.cel.costLimit, builtins });
    reportLoadErrors(load.errors, io);
    const policies = policySet.policies.filter(isCleanupPolicy) as CleanupPolicy[];
    const schedules = policies.map((p) => ({ policy: p.meta.name, kind: p.kind, schedule: p.schedule, next: parseCron(p.schedule).next(at)?.toISOString() ?? null }));
    const rows: Row[] = [];
    const problems: string[] = [];
    let objects = 0;
    const directory = args.positionals[0];
    if (directory !== undefined) {
      const namespace = stringOption(args, "namespace") ?? "default";
      const read = await readKubernetesManifestDirectory(resolve(io.cwd, directory)).catch((cause: unknown) => {
        throw new VigilError("VIGIL_BAD_INPUT", `cannot read manifest directory ${directory}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}; pass a directory of YAML or JSON manifests`, { field: "dir", file: directory }, cause);
      });
      const manifests: Json[] = [];
      for (const result of read) {
        if (!result.ok) {
          problems.push(positioned(`${result.file}${result.line === undefined ? "" : `:${result.line}`}`, result.error.message, result.file));
          continue;
        }
        const object = result.event.data as Json;
        const meta = isObject(object["metadata"]) ? object["metadata"] : {};
        const scoped = isClusterScopedKind(String(object["kind"])) || (typeof meta["namespace"] === "string" && meta["namespace"] !== "");
        manifests.push(scoped ? object : { ...object, metadata: { ...meta, namespace } });
      }
      const namespaces = new Map(manifests.filter((o) => o["kind"] === "Namespace").map((o) => [String((o["metadata"] as Json)["name"] ?? ""), o]));
      objects = manifests.length;
      for (const policy of policies) {
        for (const object of manifests) {
          const ns = (object["metadata"] as Json)["namespace"];
          const selection = policy.select(object, { now: at, ...(typeof ns === "string" && namespaces.has(ns) ? { namespaceObject: namespaces.get(ns) as Json } : {}) });
          if (selection.status === "nomatch") continue;
          rows.push({ policy: policy.meta.name, result: selection.status, resource: resourceOf(object), message: selection.message });
        }
      }
    } else {
      const cluster = config.admission.cluster;
      if (cluster === undefined) throw new VigilError("VIGIL_BAD_INPUT", "nothing to evaluate: pass a directory of manifests, or --config with admission.cluster to list the live cluster", { field: "dir" });
      const cache = watchKubernetesCluster(cluster, { onProblem: () => undefined });
      try {
        await Promise.race([cache.synced(), new Promise((done) => setTimeout(done, cluster.syncTimeoutMs > 0 ? cluster.syncTimeoutMs : 10_000).unref())]);
        const sweep = createCleanupSweep({ policies: () => policies, cluster: cache, clock: { now: () => at }, storage: { getDoc: async () => undefined, putDocs: async () => undefined }, ingest: async () => undefined, maxCandidatesPerRun: Number.MAX_SAFE_INTEGER });
        for (const policy of policies) {
          const run = await sweep.runNow(policy.meta.name, { ingest: false });
          objects += run.listed;
          problems.push(...run.problems.map((p) => `${policy.meta.name}: ${p}`));
          for (const candidate of run.candidates) rows.push({ policy: policy.meta.name, result: "delete", resource: resourceOf(candidate.object), message: policy.select(candidate.object, { now: at, ...(candidate.namespaceObject ? { namespaceObject: candidate.namespaceObject } : {}) }).message });
          if (run.errors > 0) rows.push({ policy: policy.meta.name, result: "error", resource: `${run.errors} objects`, message: "could not be decided (see the problems above)" });
        }
      } finally {
        await cache.close();
      }
    }
    const summary = { policies: policies.length, objects, delete: rows.filter((r) => r.result === "delete").length, keep: rows.filter((r) => r.result === "keep").length, error: rows.filter((r) => r.result === "error").length, problems: problems.length };
    for (const problem of problems) write(io.stderr, `cleanup: ${problem}`);
    if (format === "json") {
      write(io.stdout, JSON.stringify({ at: at.toISOString(), summary, schedules, results: rows, problems }, null, 2));
    } else {
      if (policies.length === 0) write(io.stdout, "no cleanup policies (ClusterCleanupPolicy, CleanupPolicy, DeletingPolicy) among the policies loaded");
      for (const s of schedules) write(io.stdout, `${s.kind} ${s.policy}: schedule "${s.schedule}", next run ${s.next ?? "never (within 5 years)"}`);
      const shown = flag(args, "all") ? rows : rows.filter((r) => r.result !== "keep");
      if (shown.length > 0) {
        const table = shown.map((r) => [r.result.toUpperCase(), r.policy, r.resource, r.message.replace(/\s+/g, " ")]);
        const widths = [0, 1, 2].map((i) => Math.min(60, Math.max(...table.map((row) => (row[i] ?? "").length), ["RESULT", "POLICY", "RESOURCE"][i]?.length ?? 0)));
        const line = (cells: readonly string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c)).join("  ");
        write(io.stdout, line(["RESULT", "POLICY", "RESOURCE", "WHY"]));
        for (const row of table) write(io.stdout, line(row));
      }
      write(io.stdout, `${summary.objects} objects, ${summary.policies} cleanup ${summary.policies === 1 ? "policy" : "policies"} at ${at.toISOString()}: ${summary.delete} would be deleted, ${summary.keep} kept, ${summary.error} errors${summary.problems ? `; ${summary.problems} problems` : ""} (a preview: nothing deleted)`);
    }
    return summary.error + problems.length > 0 ? 1 : 0;
  },
};
