/**
 * The supply-chain enrichment the context stage calls for each event: turns a
 * `dev.vigil.dependency.change` event (lockfiles in the event) or a `com.github.pull_request`
 * event (lockfiles fetched from GitHub at the base and head SHAs) into the DependencySummary that
 * policies read as `context.dependencies`. Other events get `undefined`.
 *
 * `dev.vigil.dependency.change` data (EVENTS.md): `{ repo, ref, pullRequest?, base, head, path }`
 * where base/head are lockfile text or a parsed package-lock object (base may be null for a new
 * lockfile); optional `sha` (head commit), `baseSha`, `merged`.
 *
 * Past fixes: vulnerable advisories are looked up in the memory (past-fixes.ts); a merged change
 * (merged pull request, `merged: true`, or a push to a merge branch) resolves the repository's
 * open blocks whose vulnerable version is gone.
 */
import { VigilError } from "../../core/errors.js";
import { EventTypes, type Event } from "../../core/event.js";
import { systemClock, type Clock } from "../../core/ports.js";
import type { AdvisoryDatabase } from "./advisory-db.js";
import type { LockfileFetcher } from "./github-fetcher.js";
import { parseLockfile, type Lockfile } from "./lockfile.js";
import type { SupplyChainMemory } from "./past-fixes.js";
import { defaultSupplyChainSettings, type SupplyChainSettings } from "./settings.js";
import { summarizeDependencyChange, withPastFixes, type ChangeMeta, type DependencySummary, type LockfileError, type LockfilePair } from "./summary.js";

export interface DependencyEnricherOptions {
  readonly advisories: AdvisoryDatabase;
  readonly settings?: SupplyChainSettings;
  /** Needed for `com.github.pull_request` events; without it they get no summary. */
  readonly fetcher?: LockfileFetcher;
  readonly memory?: SupplyChainMemory;
  readonly clock?: Clock;
}

export interface DependencyEnricher {
  readonly settings: SupplyChainSettings;
  /**
   * The summary for a dependency-change or pull-request event, undefined for other events (and
   * for pull-request actions that do not change code: labeled, assigned, ...). Never rejects:
   * unreadable lockfiles and API failures are listed in `summary.errors`.
   */
  enrich(event: Event): Promise<DependencySummary | undefined>;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/** Pull-request actions after which the head's lockfiles are checked. */
const scannedActions = new Set(["opened", "synchronize", "reopened", "ready_for_review", "edited", "closed"]);

function pullRequestNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
  if (isObject(value)) return pullRequestNumber(value["number"]);
  return undefined;
}

function errorOf(error: unknown, file: string, fallbackField: string): LockfileError {
  if (error instanceof VigilError) return { file, field: error.details.field ?? fallbackField, message: error.message };
  return { file, field: fallbackField, message: error instanceof Error ? error.message : String(error) };
}

function branchOf(ref: string | undefined): string | undefined {
  return ref?.replace(/^refs\/heads\//, "");
}

export function createDependencyEnricher(options: DependencyEnricherOptions): DependencyEnricher {
  const settings = options.settings ?? defaultSupplyChainSettings;
  const clock = options.clock ?? systemClock;
  const db = options.advisories;

  function parseSide(content: unknown, path: string, side: "base" | "head", field: string, errors: LockfileError[]): Lockfile | undefined {
    if (content === undefined || content === null || content === "") return undefined;
    if (typeof content !== "string" && !isObject(content)) {
      errors.push({ file: `${path} (${side})`, field, message: `${field} must be lockfile text or a package-lock object, not ${Array.isArray(content) ? "an array" : typeof content}` });
      return undefined;
    }
    try {
      return parseLockfile(content, path);
    } catch (error) {
      errors.push(errorOf(error, `${path} (${side})`, field));
      return undefined;
    }
  }

  async function finish(pairs: LockfilePair[], meta: ChangeMeta, errors: LockfileError[], at: string): Promise<DependencySummary> {
    let summary = summarizeDependencyChange(pairs, { db, settings, meta, errors });
    if (options.memory && summary.vulnerable.length > 0) {
      const ids = summary.vulnerable.flatMap((v) => [v.advisory, ...v.aliases]);
      summary = withPastFixes(summary, await options.memory.pastFixes(ids));
    }
    if (options.memory && summary.merged) await options.memory.recordMerge(summary, pairs.map((p) => p.head), at);
    return summary;
  }

  async function fromDependencyChange(event: Event, at: string): Promise<DependencySummary> {
    const data = event.data;
    const errors: LockfileError[] = [];
    if (!isObject(data)) {
      errors.push({ file: "(event)", field: "data", message: "a dev.vigil.dependency.change event needs data {repo, ref, base, head, path}" });
      return finish([], {}, errors, at);
    }
    const path = text(data["path"]) ?? "package-lock.json";
    const head = parseSide(data["head"], path, "head", "data.head", errors);
    if (data["head"] === undefined || data["head"] === null) errors.push({ file: path, field: "data.head", message: "data.head is required: the lockfile after the change (text or object)" });
    else if (data["head"] === "") errors.push({ file: path, field: "data.head", message: "data.head is empty: send the lockfile's text after the change (a change that deletes the lockfile has nothing to check)" });
    const base = parseSide(data["base"], path, "base", "data.base", errors);
    const pullRequest = pullRequestNumber(data["pullRequest"]);
    const ref = text(data["ref"]);
    const branch = branchOf(ref);
    const merged = data["merged"] === true || (pullRequest === undefined && branch !== undefined && settings.mergeBranches.includes(branch));
    const meta: ChangeMeta = {
      repo: text(data["repo"]),
      pullRequest,
      ref,
      headSha: text(data["sha"]) ?? text(data["headSha"]),
      baseSha: text(data["baseSha"]),
      merged,
    };
    return finish(head ? [{ path, base, head }] : [], meta, errors, at);
  }

  async function fromPullRequest(event: Event, at: string): Promise<DependencySummary | undefined> {
    const fetcher = options.fetcher;
    const data = event.data;
    if (!fetcher || !isObject(data)) return undefined;
    const action = text(data["action"]);
    if (action === undefined || !scannedActions.has(action)) return undefined;
    const pr = data["pull_request"];
    const repository = data["repository"];
    if (!isObject(pr)) return undefined;
    const baseSide = isObject(pr["base"]) ? pr["base"] : {};
    const headSide = isObject(pr["head"]) ? pr["head"] : {};
    const repo = text(isObject(repository) ? repository["full_name"] : undefined) ?? text(isObject(baseSide["repo"]) ? baseSide["repo"]["full_name"] : undefined);
    const headRepo = text(isObject(headSide["repo"]) ? headSide["repo"]["full_name"] : undefined) ?? repo;
    const headSha = text(headSide["sha"]);
    const baseSha = text(baseSide["sha"]);
    const merged = action === "closed" && pr["merged"] === true;
    if (action === "closed" && !merged) return undefined;
    const meta: ChangeMeta = { repo, pullRequest: pullRequestNumber(pr["number"] ?? data["number"]), ref: text(headSide["ref"]), headSha, baseSha, action, merged };
    const errors: LockfileError[] = [];
    if (!repo || !headRepo || !headSha || !baseSha) {
      errors.push({ file: "(event)", field: "data.pull_request", message: "the pull_request payload lacks repository.full_name, head.sha or base.sha" });
      return finish([], meta, errors, at);
    }
    const pairs = await Promise.all(settings.lockfiles.map(async (path): Promise<LockfilePair | undefined> => {
      try {
        const [headText, baseText] = await Promise.all([fetcher.fetch(headRepo, path, headSha), fetcher.fetch(repo, path, baseSha)]);
        if (headText === undefined || headText === baseText) return undefined;
        const head = parseSide(headText, path, "head", "contents", errors);
        const base = parseSide(baseText, path, "base", "contents", errors);
        return head ? { path, base, head } : undefined;
      } catch (error) {
        errors.push(errorOf(error, path, "github"));
        return undefined;
      }
    }));
    return finish(pairs.filter((p): p is LockfilePair => p !== undefined), meta, errors, at);
  }

  return {
    settings,
    async enrich(event) {
      const at = event.time ?? clock.now().toISOString();
      try {
        if (event.type === EventTypes.dependencyChange) return await fromDependencyChange(event, at);
        if (event.type === `${EventTypes.githubPrefix}pull_request`) return await fromPullRequest(event, at);
        return undefined;
      } catch (error) {
        // INVARIANT: enrichment never fails the pipeline; the problem is shown to policies.
        return summarizeDependencyChange([], { db, settings, errors: [errorOf(error, "(enrichment)", "internal")] });
      }
    },
  };
}
