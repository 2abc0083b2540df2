/**
 * The supply-chain pack's runtime parts, assembled for the agent: settings, advisory set,
 * enricher (with the GitHub fetcher when a token is configured), past-fix memory, and the two
 * hooks the pipeline calls:
 *
 *   const supplyChain = createSupplyChainRuntime({ storage, clock, github: { token, baseUrl } });
 *   const context = supplyChain.wrap(createContextStage({ storage, clock, settings }));   // build adds context.dependencies
 *   pipeline afterRecord: (decisions) => supplyChain.afterRecord(decisions)              // remembers blocks for past fixes
 */
import type { Context } from "../../core/context.js";
import type { Decision } from "../../core/decision.js";
import type { Event } from "../../core/event.js";
import { systemClock, type Clock, type Storage } from "../../core/ports.js";
import type { ContextStage } from "../stage-types.js";
import { loadAdvisorySet, supplyChainSettingsFile, type AdvisorySet } from "./advisory-set.js";
import { createDependencyEnricher, type DependencyEnricher } from "./enrich.js";
import { createGithubLockfileFetcher, type LockfileFetcher } from "./github-fetcher.js";
import { formatAdvisoryIssue } from "./osv-load.js";
import { createSupplyChainMemory, type SupplyChainMemory } from "./past-fixes.js";
import { loadSupplyChainSettings, resolveSupplyChainSettings, type SupplyChainSettings } from "./settings.js";
import type { DependencySummary } from "./summary.js";

/** The pack's policies whose deny decisions are remembered as blocks. */
export const supplyChainBlockingPolicies: readonly string[] = ["supply-chain-vulnerable-dependency", "supply-chain-vulnerable-dependency-ci"];

export interface SupplyChainRuntimeOptions {
  readonly storage: Storage;
  readonly clock?: Clock;
  /** Settings (over the pack's settings.yaml), or a settings file to read instead. */
  readonly settings?: unknown;
  readonly settingsFile?: string;
  /** GitHub contents API access for pull_request events; without a token, they get no summary. */
  readonly github?: { readonly token?: string | undefined; readonly baseUrl?: string | undefined };
  /** A fetcher to use instead of GitHub's (tests, other forges). */
  readonly fetcher?: LockfileFetcher;
  /** Problems that never stop the agent: bad advisory records, memory storage failures. */
  readonly onProblem?: (message: string, error?: unknown) => void;
  /** How many recent summaries are kept for afterRecord (by event id). Default 2000. */
  readonly recentSummaries?: number;
}

export interface SupplyChainRuntime {
  readonly settings: SupplyChainSettings;
  readonly advisories: AdvisorySet;
  readonly enricher: DependencyEnricher;
  readonly memory: SupplyChainMemory;
  /**
   * A context stage whose `build` also sets `context.dependencies` for dependency-change and
   * pull-request events (the other methods are the wrapped stage's own).
   */
  wrap(stage: ContextStage): ContextStage;
  /** The summary for an event (what `wrap` adds to contexts). Never rejects. */
  enrich(event: Event): Promise<DependencySummary | undefined>;
  /** After decisions are recorded: remembers the blocks of supply-chain denies. Never rejects. */
  afterRecord(decisions: readonly Decision[]): Promise<void>;
}

/**
 * Builds the runtime. Reads the settings file and the advisory set once (synchronously);
 * throws VigilError(VIGIL_BAD_CONFIG) only for invalid settings.
 */
export function createSupplyChainRuntime(options: SupplyChainRuntimeOptions): SupplyChainRuntime {
  const clock = options.clock ?? systemClock;
  const problem = options.onProblem ?? (() => undefined);
  const base = loadSupplyChainSettings(options.settingsFile ?? supplyChainSettingsFile);
  const settings = options.settings === undefined ? base : resolveSupplyChainSettings(options.settings, { base });
  const advisories = loadAdvisorySet({ sources: settings.advisories, imported: settings.importedAdvisories });
  for (const issue of advisories.issues) if (issue.level === "error") problem(`supply-chain advisories: ${formatAdvisoryIssue(issue)}`);
  const fetcher = options.fetcher ?? (options.github?.token ? createGithubLockfileFetcher({ token: options.github.token, ...(options.github.baseUrl ? { baseUrl: options.github.baseUrl } : {}) }) : undefined);
  const memory = createSupplyChainMemory({ storage: options.storage, policies: supplyChainBlockingPolicies, onError: (error) => problem(`supply-chain memory: ${error instanceof Error ? error.message : String(error)}`, error) });
  const enricher = createDependencyEnricher({ advisories: advisories.db, settings, memory, clock, ...(fetcher ? { fetcher } : {}) });
  const limit = options.recentSummaries ?? 2000;
  const recent = new Map<string, DependencySummary>();

  async function enrich(event: Event): Promise<DependencySummary | undefined> {
    const summary = await enricher.enrich(event);
    if (summary) {
      recent.set(event.id, summary);
      if (recent.size > limit) recent.delete(recent.keys().next().value as string);
    }
    return summary;
  }

  return {
    settings,
    advisories,
    enricher,
    memory,
    enrich,
    wrap(stage) {
      // The wrapped stage's methods are closures: a prototype link keeps its getters live.
      const wrapped = Object.create(stage) as ContextStage;
      Object.defineProperty(wrapped, "build", {
        value: async (event: Event): Promise<Context> => {
          const [ctx, summary] = await Promise.all([stage.build(event), enrich(event)]);
          // INVARIANT: the copy keeps ctx.event, so the stage's observe still finds its build state.
          return summary ? { ...ctx, dependencies: summary as unknown as Readonly<Record<string, unknown>> } : ctx;
        },
      });
      return wrapped;
    },
    async afterRecord(decisions) {
      for (const decision of decisions) {
        const summary = recent.get(decision.eventId);
        if (!summary) continue;
        recent.delete(decision.eventId);
        await memory.recordDecision(decision, summary);
      }
    },
  };
}
