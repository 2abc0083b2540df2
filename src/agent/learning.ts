/**
 * The learn stage in the running agent (docs/learning.md, "Wiring"): the learner created and
 * started with the agent, and the schedule that keeps its state current.
 *
 *   start   learner.start(): the stored state verified (checksum); corrupt or missing state is
 *           reported and the agent decides on the policies' declared tiers (never refuses to start)
 *   decide  the pipeline calls learner.calibrate / lookupFor / labelsFor (pipeline.ts)
 *   tick    every process re-reads the head every `learn.refreshIntervalMs` (learner.refresh);
 *           the leader (`learn.leader`: role all or api by default) learns a new version
 *           `learn.updateIntervalMs` after the current one when feedback arrived since
 *           (learner.update), and mines proposals every `learn.proposalsIntervalMs`
 *
 * Times are the agent's clock (manual and events clocks drive the schedule in tests and demos).
 */
import { VigilError } from "../core/errors.js";
import type { Clock, Storage } from "../core/ports.js";
import type { VigilConfig } from "../config.js";
import type { ContextSettings } from "../context/settings.js";
import { requireRole, type Actor } from "../act/actor.js";
import { checkLearnerSettings, createLearner, defaultLearnerSettings, mineProposals, type Learner, type LearnerSettings, type LearnedState, type Proposal, type UpdateResult } from "../learn/index.js";
import type { PolicyCatalog } from "./policies.js";
import { FEEDBACK_COLLECTION } from "./feedback.js";

/**
 * Checks `learn.settings` (vigil.yaml) and returns them for `createLearner`. Throws
 * VigilError(VIGIL_BAD_CONFIG) naming `learn.settings.<key>` and what it takes (the learner's own
 * check, src/learn/settings.ts).
 */
export function learnerSettingsFrom(raw: unknown): Partial<LearnerSettings> {
  return checkLearnerSettings(raw, "learn.settings");
}

/** What one scheduled run did (for tests and the status route). */
export interface LearningTickResult {
  readonly refreshed: boolean;
  /** The version written, when the leader learned one. */
  readonly updated?: number;
  /** Why the leader did not learn although due (no feedback since the current version). */
  readonly skipped?: string;
  /** Proposals created, when mining ran. */
  readonly proposals?: readonly Proposal[];
}

/** The learner and its schedule, as the agent holds them. */
export interface Learning {
  /** Undefined when `learn.enabled` is false: decisions use the policies' declared tiers. */
  readonly learner?: Learner;
  /** This process writes versions and mines proposals. */
  readonly leader: boolean;
  /** Refreshes, learns and mines when due (agent clock). Rejects when storage fails. */
  tick(): Promise<LearningTickResult>;
  /** Learns a new version now (approver or admin). VIGIL_CONFLICT when learning is off. */
  update(actor: Actor, reason?: string): Promise<UpdateResult>;
  /** Writes an empty version (approver or admin; audited). VIGIL_CONFLICT when learning is off. */
  reset(actor: Actor, reason?: string): Promise<LearnedState>;
  /** When the schedule last did each thing (RFC 3339, agent clock). */
  schedule(): { readonly updateIntervalMs: number; readonly refreshIntervalMs: number; readonly proposalsIntervalMs: number; readonly lastRefreshAt?: string; readonly lastUpdateCheckAt?: string; readonly lastMinedAt?: string };
}

export interface LearningOptions {
  readonly config: Pick<VigilConfig, "learn" | "policies">;
  readonly role: "all" | "api" | "worker";
  readonly storage: Storage;
  readonly clock: Clock;
  readonly catalog: PolicyCatalog;
  /** The context stage's detector settings (calibration starts from them). */
  readonly detectors: () => ContextSettings["detectors"];
  readonly onProblem: (message: string, error?: unknown) => void;
}

const off = (): never => {
  throw new VigilError("VIGIL_CONFLICT", "learning is off in this agent (learn.enabled: false); turn it on in vigil.yaml, or use `vigil learn update|reset` on the store", { field: "learn.enabled" });
};

/**
 * Creates and starts the learner (when `learn.enabled`). Settings are checked first
 * (VIGIL_BAD_CONFIG); a corrupt or missing learned state is reported through `onProblem`, never
 * thrown. Rejects only when storage fails.
 */
export async function startLearning(options: LearningOptions): Promise<Learning> {
  const { config, storage, clock } = options;
  const learn = config.learn;
  const settings = learnerSettingsFrom(learn.settings);
  const leader = learn.leader === "always" || (learn.leader === "auto" && options.role !== "worker");
  // The same problem (a corrupt head seen on every refresh) is reported once until it changes.
  let lastProblem: string | undefined;
  const report = (message: string): void => {
    if (message === lastProblem) return;
    lastProblem = message;
    options.onProblem(message);
  };
  const learner = learn.enabled
    ? createLearner({ storage, clock, settings, policy: options.catalog.lookup, detectors: options.detectors, onProblem: report })
    : undefined;
  if (learner) {
    const loaded = await learner.start();
    if (loaded.status !== "corrupt") lastProblem = undefined;
  }
  const startedAt = clock.now().getTime();
  let lastRefresh = startedAt;
  let lastUpdateCheck: number | undefined;
  let lastMined = startedAt;
  const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

  /**
   * When this process's last update began reading feedback, for the version it wrote: feedback given
   * from then on (while the update ran, or at the instant it was written) may not be in that version.
   */
  let learnedFrom: { readonly version: number; readonly at: string } | undefined;

  /** True when feedback was given at or after `since` (any feedback at all when undefined). */
  async function feedbackSince(since: string | undefined): Promise<boolean> {
    if (since === undefined) return (await storage.listDocs(FEEDBACK_COLLECTION, { limit: 1 })).length > 0;
    // Every feedback record (API, CLI, events, reviews, overrides) has its `feedback.record` audit entry.
    const entries = await storage.listAudit({ since, limit: 1000 });
    return entries.length === 1000 || entries.some((entry) => entry.action === "feedback.record" && entry.at >= since);
  }

  return {
    ...(learner ? { learner } : {}),
    leader,
    async tick() {
      if (!learner) return { refreshed: false };
      const now = clock.now().getTime();
      let refreshed = false;
      if (now - lastRefresh >= learn.refreshIntervalMs) {
        await learner.refresh();
        if (learner.loaded.status !== "corrupt") lastProblem = undefined;
        lastRefresh = now;
        refreshed = true;
      }
      if (!leader) return { refreshed };
      let result: LearningTickResult = { refreshed };
      const current = learner.current();
      const since = Math.max(current ? Date.parse(current.createdAt) : startedAt, lastUpdateCheck ?? Number.NEGATIVE_INFINITY);
      if (now - since >= learn.updateIntervalMs) {
        lastUpdateCheck = now;
        const from = current !== undefined && learnedFrom?.version === current.version ? learnedFrom.at : current?.createdAt;
        if (await feedbackSince(from)) {
          const readAt = clock.now().toISOString();
          const updated = await learner.update({ reason: `scheduled update (learn.updateIntervalMs ${learn.updateIntervalMs})` });
          learnedFrom = { version: updated.state.version, at: readAt };
          result = { ...result, updated: updated.state.version };
        } else result = { ...result, skipped: current ? `no feedback since version ${current.version}` : "no feedback yet" };
      }
      if (learn.proposalsIntervalMs > 0 && now - lastMined >= learn.proposalsIntervalMs) {
        lastMined = now;
        const proposals = await mineProposals({ storage, clock, policySet: options.catalog.policySet, paths: config.policies, ignoreActors: settings.ignoreActors ?? defaultLearnerSettings.ignoreActors });
        result = { ...result, proposals };
      }
      return result;
    },
    async update(actor, reason) {
      if (!learner) return off();
      requireRole(actor, ["approver"], "learn a new version");
      const result = await learner.update({ by: actor.id, ...(reason ? { reason } : {}) });
      await storage.appendAudit([{ at: result.state.createdAt, actor: actor.id, action: "learn.update", target: `learn.state/v${result.state.version}`, detail: { parent: result.state.parent, feedbackUsed: result.state.feedbackUsed, entries: result.state.entries.length } }]);
      return result;
    },
    async reset(actor, reason) {
      if (!learner) return off();
      return learner.reset(actor, reason);
    },
    schedule: () => ({
      updateIntervalMs: learn.updateIntervalMs, refreshIntervalMs: learn.refreshIntervalMs, proposalsIntervalMs: learn.proposalsIntervalMs,
      ...(learner ? { lastRefreshAt: iso(lastRefresh) as string, lastMinedAt: iso(lastMined) as string } : {}),
      ...(lastUpdateCheck === undefined ? {} : { lastUpdateCheckAt: iso(lastUpdateCheck) as string }),
    }),
  };
}
