/**
 * The cleanup sweep: runs Kyverno cleanup policies (ClusterCleanupPolicy, CleanupPolicy,
 * DeletingPolicy) on their cron schedules, on the agent's clock.
 *
 * At each scheduled run of a policy the sweep lists the kinds the policy names from the cluster
 * API (discovery, then paged LISTs through the cluster cache's live GET), asks the policy which
 * objects are due (`select`), and ingests one `dev.vigil.cleanup.candidate` event per due object.
 * The pipeline then decides each one like any other event: the policy's violation plans a
 * `kubernetes.delete` of that object (uid precondition), and the executor's guardrails decide
 * whether it runs — dry-run until a person promotes the policy, the allowlist, protected objects,
 * the blast-radius budget, the kill switch, approvals — with the decision recorded and explained
 * and an undo record that re-creates the object.
 *
 * Runs missed while Vigil was down are not caught up (as Kyverno's controller): after a restart the
 * next run is the schedule's next time after the last one recorded. The next run of each policy
 * is stored (docs collection `cleanup-schedule`), so several processes share one schedule.
 */
import { createHash } from "node:crypto";
import type { ApiAnswer, ClusterView } from "../core/context.js";
import type { Event } from "../core/event.js";
import { isVigilError, VigilError } from "../core/errors.js";
import type { Clock, Storage } from "../core/ports.js";
import { CLEANUP_EVENT_TYPE, type CleanupCandidate, type CleanupPolicy, type CleanupTarget } from "../policy/kyverno/cleanup-policy.js";
import { parseCron, type CronSchedule } from "../core/cron.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const COLLECTION = "cleanup-schedule";

/** The stored schedule of a policy: its next run, the schedule it was computed from, and the last run. */
interface ScheduleDoc {
  readonly next: string;
  readonly schedule: string;
  readonly last?: CleanupRun;
}

/** A policy's schedule as `schedules()` reports it. */
export interface CleanupScheduleState {
  readonly policy: string;
  readonly kind: string;
  readonly schedule: string;
  /** The next scheduled run (RFC 3339). */
  readonly next?: string;
  /** The schedule does not parse (the policy does not run). */
  readonly error?: string;
  readonly last?: CleanupRun;
}

/** One run of one policy. */
export interface CleanupRun {
  readonly policy: string;
  /** The scheduled time of the run (RFC 3339). */
  readonly run: string;
  /** Objects listed for the policy's kinds. */
  readonly listed: number;
  /** Objects the policy selected for deletion. */
  readonly selected: number;
  /** Candidate events ingested (selected, up to the per-run cap). */
  readonly ingested: number;
  /** Objects whose selection failed (a condition or context entry error): not deleted. */
  readonly errors: number;
  /** What went wrong (listing, discovery, the first selection errors), in words. */
  readonly problems: readonly string[];
}

export interface CleanupSweepOptions {
  /** The loaded cleanup policies (read at each tick: a policy reload takes effect at once). */
  readonly policies: () => readonly CleanupPolicy[];
  /** The cluster: `fetch` lists objects, `namespace` gives namespace objects (namespaceSelector). */
  readonly cluster: ClusterView;
  readonly clock: Clock;
  readonly storage: Pick<Storage, "getDoc" | "putDocs">;
  /** Hands a run's candidates over at once, all or none (a run on demand answers VIGIL_BACKPRESSURE when they do not fit). */
  readonly ingest: (events: readonly Event[]) => Promise<unknown>;
  /** How a scheduled run hands its candidates over (e.g. in pieces, waiting for room in the queue); default `ingest`. */
  readonly scheduledIngest?: (events: readonly Event[]) => Promise<unknown>;
  /** Candidates ingested per run at most; the rest wait for the next run. Default 1000. */
  readonly maxCandidatesPerRun?: number;
  /**
   * Whether the policy's actions run in dry-run now, and since when they do not (the promotion's
   * time). A dry-run policy's objects are decided once per revision; a promoted policy's at most
   * once per `redecideAfterMs` (`CandidateScope`). Absent: every run decides.
   */
  readonly actState?: (policy: string) => Promise<{ readonly dryRun: boolean; readonly promotedAt?: string }>;
  /** A promoted policy decides the same object again after this long at the earliest (default 1 hour); runs on demand always decide. */
  readonly redecideAfterMs?: number;
  readonly onProblem?: (message: string) => void;
  readonly onRun?: (run: CleanupRun) => void;
}

export interface CleanupSweep {
  /** Runs every policy whose scheduled time has come (at most once per scheduled time). */
  tick(): Promise<CleanupRun[]>;
  /**
   * Runs one policy now, outside its schedule (the CLI preview; `POST /v1/cleanup/{policy}/run`),
   * with the clock's time as the run. VIGIL_NOT_FOUND for a policy that is not a loaded cleanup policy.
   */
  runNow(policy: string, options?: { readonly ingest?: boolean }): Promise<CleanupRun & { readonly candidates: readonly CleanupCandidate[] }>;
  /** Each policy's schedule, next run and last run. */
  schedules(): Promise<CleanupScheduleState[]>;
}

export interface Resolved {
  readonly groupVersion: string;
  readonly kind: string;
  readonly resource: string;
  readonly namespaced: boolean;
}

/** Discovery: which resource (plural) and scope a kind or group/version/resource has; cached per sweep run. */
export function discovery(cluster: ClusterView): { resolve(target: CleanupTarget): Promise<Resolved>; everyDeletable(): Promise<Resolved[]> } {
  const lists = new Map<string, Promise<Json[]>>();
  const fetchJson = async (path: string): Promise<unknown> => {
    const answer: ApiAnswer = cluster.fetch ? await cluster.fetch(path) : { ok: false, error: "the cluster view cannot fetch (configure admission.cluster)" };
    if (!answer.ok) throw new Error(answer.error);
    return answer.body;
  };
  const resourcesOf = (groupVersion: string): Promise<Json[]> => {
    let list = lists.get(groupVersion);
    if (list === undefined) {
      list = fetchJson(groupVersion.includes("/") ? `/apis/${groupVersion}` : `/api/${groupVersion}`).then((body) =>
        (isObject(body) && Array.isArray(body["resources"]) ? body["resources"].filter(isObject) : []).filter((r) => !String(r["name"] ?? "").includes("/")),
      );
      list.catch(() => lists.delete(groupVersion));
      lists.set(groupVersion, list);
    }
    return list;
  };
  let groups: Promise<string[]> | undefined;
  /** Preferred group versions of every API group, core first. */
  const preferred = (): Promise<string[]> =>
    (groups ??= fetchJson("/apis").then((body) => [
      "v1",
      ...(isObject(body) && Array.isArray(body["groups"]) ? body["groups"].filter(isObject) : []).flatMap((g) => {
        const p = isObject(g["preferredVersion"]) ? g["preferredVersion"]["groupVersion"] : undefined;
        return typeof p === "string" ? [p] : [];
      }),
    ]));
  const pick = (groupVersion: string, r: Json): Resolved => ({ groupVersion, kind: String(r["kind"] ?? ""), resource: String(r["name"] ?? ""), namespaced: r["namespaced"] === true });
  return {
    /** Every resource of the preferred versions whose verbs include list and delete (what Kyverno's TTL controller watches). */
    async everyDeletable() {
      const out: Resolved[] = [];
      for (const groupVersion of await preferred()) {
        for (const r of await resourcesOf(groupVersion)) {
          const verbs = Array.isArray(r["verbs"]) ? r["verbs"].map(String) : [];
          if (verbs.includes("list") && verbs.includes("delete")) out.push(pick(groupVersion, r));
        }
      }
      return out;
    },
    async resolve(target) {
      if ("everyResource" in target) throw new Error("every resource: use everyDeletable()");
      if ("resource" in target) {
        const groupVersion = target.group === "" ? target.version : `${target.group}/${target.version}`;
        const found = (await resourcesOf(groupVersion)).find((r) => r["name"] === target.resource);
        if (!found) throw new Error(`the API server has no resource ${target.resource} in ${groupVersion}`);
        return pick(groupVersion, found);
      }
      // Kyverno kind strings: Kind, version/Kind, group/version/Kind.
      const parts = target.kind.split("/");
      const kind = parts.at(-1) ?? "";
      const find = async (groupVersions: readonly string[]): Promise<Resolved | undefined> => {
        for (const groupVersion of groupVersions) {
          const found = (await resourcesOf(groupVersion)).find((r) => r["kind"] === kind);
          if (found) return pick(groupVersion, found);
        }
        return undefined;
      };
      // The core group first (Pod, ConfigMap, ...): no need to read every group for those.
      const resolved = parts.length === 3
        ? await find([`${parts[0]}/${parts[1]}`])
        : parts.length === 2
          ? (parts[0] === "v1" ? await find(["v1"]) : undefined) ?? await find((await preferred()).filter((gv) => gv.endsWith(`/${parts[0]}`)))
          : await find(["v1"]) ?? await find((await preferred()).filter((gv) => gv !== "v1"));
      if (resolved) return resolved;
      throw new Error(`the API server has no kind ${target.kind}`);
    },
  };
}

/** Every object of a resource (paged LIST), with apiVersion and kind set (LIST items often lack them). */
export async function listAll(cluster: ClusterView, resolved: Resolved, namespace: string | undefined, labelSelector?: string): Promise<Json[]> {
  const base = `${resolved.groupVersion.includes("/") ? "/apis" : "/api"}/${resolved.groupVersion}${namespace !== undefined && resolved.namespaced ? `/namespaces/${encodeURIComponent(namespace)}` : ""}/${resolved.resource}`;
  const items: Json[] = [];
  let next: string | undefined;
  do {
    const query = new URLSearchParams({ limit: "500", ...(labelSelector ? { labelSelector } : {}), ...(next ? { continue: next } : {}) });
    const answer = cluster.fetch ? await cluster.fetch(`${base}?${query}`) : { ok: false as const, error: "the cluster view cannot fetch" };
    if (!answer.ok) throw new Error(`LIST ${base}: ${answer.error}`);
    const body = isObject(answer.body) ? answer.body : {};
    for (const item of Array.isArray(body["items"]) ? body["items"] : []) if (isObject(item)) items.push({ apiVersion: resolved.groupVersion, kind: resolved.kind, ...item });
    const meta = isObject(body["metadata"]) ? body["metadata"] : {};
    next = typeof meta["continue"] === "string" && meta["continue"] !== "" ? meta["continue"] : undefined;
  } while (next !== undefined);
  return items;
}

/**
 * How often the same object is decided again for one policy (the candidate event's id, which the
 * ingestor does not process twice):
 * - `run` (a run on demand, or no state known): once per run;
 * - `once` (the policy acts in dry-run): once per policy revision, not at every run (a TTL sweep
 *   runs every minute); the first run after a person promotes it decides again, for real;
 * - `window` (promoted): once per `window` key, i.e. per promotion and time window, so an object
 *   whose delete keeps failing (no actuator, RBAC, a budget) is not decided again at every run.
 */
export type CandidateScope =
  | { readonly kind: "run" }
  | { readonly kind: "once"; readonly revision: string }
  | { readonly kind: "window"; readonly key: string };

/** The candidate event of an object: its id is the same for the same policy, object and scope (see CandidateScope). */
export function cleanupEvent(candidate: CleanupCandidate, scope: CandidateScope = { kind: "run" }): Event<CleanupCandidate> {
  const meta = isObject(candidate.object["metadata"]) ? candidate.object["metadata"] : {};
  const namespace = typeof meta["namespace"] === "string" && meta["namespace"] !== "" ? meta["namespace"] : undefined;
  const name = String(meta["name"] ?? "");
  const kind = String(candidate.object["kind"] ?? "");
  const identity = typeof meta["uid"] === "string" && meta["uid"] !== "" ? meta["uid"] : `${kind}/${namespace ?? ""}/${name}`;
  const scoped = scope.kind === "once" ? `dry-run\u0000${scope.revision}` : scope.kind === "window" ? `window\u0000${scope.key}` : candidate.run;
  const id = createHash("sha256").update(`${candidate.policy}\u0000${identity}\u0000${scoped}`).digest("hex").slice(0, 32);
  return { specversion: "1.0", id, source: "vigil/cleanup", type: CLEANUP_EVENT_TYPE, subject: namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`, time: candidate.run, datacontenttype: "application/json", data: candidate };
}

export function createCleanupSweep(options: CleanupSweepOptions): CleanupSweep {
  const cap = options.maxCandidatesPerRun ?? 1000;
  const schedules = new Map<string, { source: string; cron?: CronSchedule; error?: string }>();
  const cronOf = (policy: CleanupPolicy): { cron?: CronSchedule; error?: string } => {
    let entry = schedules.get(policy.meta.name);
    if (entry === undefined || entry.source !== policy.schedule) {
      try {
        entry = { source: policy.schedule, cron: parseCron(policy.schedule, `${policy.kind} ${policy.meta.name} spec.schedule`) };
      } catch (error) {
        entry = { source: policy.schedule, error: error instanceof Error ? error.message : String(error) };
        options.onProblem?.(`cleanup: ${entry.error}; the policy does not run`);
      }
      schedules.set(policy.meta.name, entry);
    }
    return entry;
  };

  const redecideAfterMs = options.redecideAfterMs ?? 3_600_000;
  const scopeOf = async (policy: CleanupPolicy, at: Date): Promise<CandidateScope> => {
    const state = await options.actState?.(policy.meta.name);
    if (state === undefined) return { kind: "run" };
    if (state.dryRun) return { kind: "once", revision: policy.meta.revision };
    return { kind: "window", key: `${policy.meta.revision}\u0000${state.promotedAt ?? ""}\u0000${Math.floor(at.getTime() / redecideAfterMs)}` };
  };

  async function run(policy: CleanupPolicy, at: Date, ingest: boolean, onDemand = false): Promise<CleanupRun & { candidates: CleanupCandidate[] }> {
    const runIso = at.toISOString();
    const problems: string[] = [];
    const candidates: CleanupCandidate[] = [];
    let listed = 0;
    let selected = 0;
    let errors = 0;
    const resolver = discovery(options.cluster);
    const lists: { readonly name: string; readonly resolved: () => Promise<Resolved> }[] = [];
    for (const target of policy.targets) {
      if ("everyResource" in target) {
        try {
          for (const resolved of await resolver.everyDeletable()) lists.push({ name: `${resolved.groupVersion}/${resolved.resource}`, resolved: async () => resolved });
        } catch (error) {
          problems.push(`discovery: ${error instanceof Error ? error.message : String(error)}`);
        }
      } else {
        lists.push({ name: "kind" in target ? target.kind : `${target.group}/${target.version}/${target.resource}`, resolved: () => resolver.resolve(target) });
      }
    }
    for (const target of lists) {
      let objects: Json[];
      try {
        objects = await listAll(options.cluster, await target.resolved(), policy.namespace, policy.labelSelector);
      } catch (error) {
        problems.push(`${target.name}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      listed += objects.length;
      for (const object of objects) {
        const meta = isObject(object["metadata"]) ? object["metadata"] : {};
        // An object already being deleted is left to the API server.
        if (meta["deletionTimestamp"] !== undefined && meta["deletionTimestamp"] !== null) continue;
        const namespace = typeof meta["namespace"] === "string" ? meta["namespace"] : undefined;
        const namespaceObject = namespace ? (options.cluster.namespace(namespace) as Json | undefined) : undefined;
        const selection = policy.select(object, { now: at, ...(namespaceObject ? { namespaceObject } : {}) });
        if (selection.status === "error") {
          errors++;
          if (problems.length < 5) problems.push(`${String(object["kind"])} ${namespace ? `${namespace}/` : ""}${String(meta["name"] ?? "")}: ${selection.message}`);
          continue;
        }
        if (selection.status !== "delete") continue;
        selected++;
        if (candidates.length < cap) candidates.push({ policy: policy.meta.name, run: runIso, object, ...(namespaceObject ? { namespaceObject } : {}) });
      }
    }
    if (selected > candidates.length) problems.push(`${selected - candidates.length} more objects are due than cleanup.maxCandidatesPerRun (${cap}); they wait for the next run`);
    if (ingest && candidates.length > 0) {
      const scope = onDemand ? { kind: "run" as const } : await scopeOf(policy, at);
      const handOver = onDemand ? options.ingest : options.scheduledIngest ?? options.ingest;
      try {
        await handOver(candidates.map((candidate) => cleanupEvent(candidate, scope)));
      } catch (error) {
        // More candidates than the queue can ever hold: waiting (a 429) would never help.
        if (!isVigilError(error) || error.code !== "VIGIL_BAD_INPUT" || error.details.field !== "events") throw error;
        throw new VigilError("VIGIL_BAD_CONFIG", `cleanup ${policy.meta.name}: this run selected ${candidates.length} due objects, more than the ingest queue can hold (${error.message}); set cleanup.maxCandidatesPerRun at most to ingest.queueCapacity`, { field: "cleanup.maxCandidatesPerRun" }, error);
      }
    }
    const report = { policy: policy.meta.name, run: runIso, listed, selected, ingested: ingest ? candidates.length : 0, errors, problems, candidates };
    return report;
  }

  const policyNamed = (name: string): CleanupPolicy | undefined => options.policies().find((p) => p.meta.name === name);
  /** Keeps the last run's report beside the schedule (GET /v1/cleanup shows it). */
  const remember = async (policy: CleanupPolicy, report: CleanupRun): Promise<void> => {
    const now = options.clock.now();
    const stored = await options.storage.getDoc<ScheduleDoc>(COLLECTION, policy.meta.name);
    // A run on demand before the first tick: the schedule starts from now, as a tick would start it.
    const base = stored?.value ?? { next: cronOf(policy).cron?.next(now)?.toISOString() ?? "", schedule: policy.schedule };
    await options.storage.putDocs([{ collection: COLLECTION, id: policy.meta.name, value: { ...base, last: report } }], now.toISOString());
  };

  return {
    async tick() {
      const now = options.clock.now();
      const out: CleanupRun[] = [];
      for (const policy of options.policies()) {
        const { cron } = cronOf(policy);
        if (cron === undefined) continue;
        const name = policy.meta.name;
        const stored = await options.storage.getDoc<ScheduleDoc>(COLLECTION, name);
        // A new policy (or a changed schedule) starts at its next scheduled time, not at once.
        if (stored === undefined || stored.value.schedule !== policy.schedule) {
          const next = cron.next(now);
          if (next !== undefined) await options.storage.putDocs([{ collection: COLLECTION, id: name, value: { next: next.toISOString(), schedule: policy.schedule }, ...(stored ? { expectVersion: stored.version } : {}) }], now.toISOString());
          continue;
        }
        const due = new Date(stored.value.next);
        if (Number.isNaN(due.getTime()) || due.getTime() > now.getTime()) continue;
        const next = cron.next(now);
        // Claim the run first (the document's version): of several processes, one runs it.
        try {
          await options.storage.putDocs([{ collection: COLLECTION, id: name, value: { ...stored.value, next: next?.toISOString() ?? "", schedule: policy.schedule }, expectVersion: stored.version }], now.toISOString());
        } catch {
          continue;
        }
        try {
          const { candidates: _candidates, ...report } = await run(policy, due, true);
          out.push(report);
          await remember(policy, report);
          options.onRun?.(report);
          for (const problem of report.problems) options.onProblem?.(`cleanup ${name} (run ${report.run}): ${problem}`);
        } catch (error) {
          options.onProblem?.(`cleanup ${name}: run failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return out;
    },
    async runNow(name, runOptions = {}) {
      const policy = policyNamed(name);
      if (!policy) throw new VigilError("VIGIL_NOT_FOUND", `no cleanup policy named ${name}; GET /v1/cleanup lists them`, { field: "policy" });
      const ingest = runOptions.ingest ?? true;
      const report = await run(policy, options.clock.now(), ingest, true);
      if (ingest) {
        const { candidates: _candidates, ...summary } = report;
        await remember(policy, summary);
        options.onRun?.(summary);
      }
      return report;
    },
    async schedules() {
      const out: CleanupScheduleState[] = [];
      for (const policy of options.policies()) {
        const { cron, error } = cronOf(policy);
        const stored = await options.storage.getDoc<ScheduleDoc>(COLLECTION, policy.meta.name);
        const next = stored !== undefined && stored.value.schedule === policy.schedule ? stored.value.next : cron?.next(options.clock.now())?.toISOString();
        out.push({ policy: policy.meta.name, kind: policy.kind, schedule: policy.schedule, ...(next ? { next } : {}), ...(error ? { error } : {}), ...(stored?.value.last ? { last: stored.value.last } : {}) });
      }
      return out;
    },
  };
}
