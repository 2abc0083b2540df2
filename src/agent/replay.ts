/**
 * The agent's pipeline in replay mode (`vigil replay`): the same stages as the running agent —
 * context (entities, baselines learned event by event, detectors, posture events, the packs'
 * enrichments), evaluation, exceptions and overrides, decide with adaptive tiers and explanations,
 * the act step (executor, enforcement ladder, reviews) — over a throwaway store (a temporary
 * SQLite file, removed on close), with a clock that follows the events' own time. Every decision
 * is not enforced: actions are planned and previewed (preview actuators, nothing is sent),
 * reviews and ladder marks are opened in the throwaway store only, and the scheduler
 * (escalations, the ladder's due actions) runs as simulated time passes.
 *
 * Learning: decisions carry the learning labels as the agent's do, and by default nothing learned
 * applies (the throwaway store has no learned state: the policies' declared tiers). With
 * `learnedFrom` (`vigil replay --learned`) the learned state of that store — the configured one —
 * is loaded and verified once and applied as the running agent applies it (detector calibration,
 * adjustments with citations); the replay never writes learned state.
 *
 *   const replay = await createReplaySession({ config, setup });
 *   for (const chunk of chunks) out.push(...await replay.push(chunk));   // in time order
 *   await replay.stats(); await replay.close();
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Decision } from "../core/decision.js";
import type { VigilError } from "../core/errors.js";
import type { Event } from "../core/event.js";
import { systemClock, type Storage } from "../core/ports.js";
import type { VigilConfig } from "../config.js";
import type { ContextStage } from "../context/index.js";
import type { LockfileFetcher } from "../context/supply-chain/index.js";
import { createDecider } from "../decide/index.js";
import { createExecutor, type Executor } from "../act/index.js";
import type { Ladder } from "../act/ladder.js";
import { createReviewService, silentNotifier, type ReviewService, type ReviewSettings } from "../review/index.js";
import { createLearner, type LoadedState } from "../learn/index.js";
import type { PolicySet } from "../policy/policy-set.js";
import { openStorage } from "./adapters.js";
import { createEventClock, type EventClock } from "./clock.js";
import { replayDecisionIdFor } from "./decision-id.js";
import { createFeedbackService } from "./feedback.js";
import { createPackRuntime } from "./pack-runtime.js";
import { resolvePackSettings, type EffectiveSettings } from "./pack-settings.js";
import { createPipeline, type Exemptions } from "./pipeline.js";
import { createPolicyCatalog, loadPolicySet } from "./policies.js";
import { createPreviewActuators } from "./preview-actuators.js";
import { importSetup, type Setup, type SetupImportResult } from "./setup.js";

const HOUR_MS = 3_600_000;
const GAP_MS = 7 * 24 * HOUR_MS;

export interface ReplaySessionOptions {
  readonly config: Pick<VigilConfig, "policies" | "packs" | "cel" | "context" | "decide" | "act" | "actuators" | "review" | "ladder" | "residency" | "supplyChain" | "decisionLog" | "ingest">;
  /**
   * What the organisation already told Vigil (`vigil simulate --setup`), imported before the first
   * event; a function is called then (so `simulate --setup f | replay --setup f` reads the file
   * after simulate wrote it).
   */
  readonly setup?: Setup | (() => Setup);
  /** Exceptions and overrides in force in the configured store (`--exceptions`), applied with the setup's. */
  readonly exemptions?: Exemptions;
  /** Problems that do not stop the replay (a supply-chain advisory that does not load...). */
  readonly onProblem?: (message: string, error?: unknown) => void;
  /** Simulated time between scheduler runs (escalations, the ladder's due actions). Default 1 hour. */
  readonly tickEveryMs?: number;
  /** Fetches pull requests' lockfiles instead of the GitHub contents API (tests). */
  readonly lockfileFetcher?: LockfileFetcher;
  /**
   * A store whose learned state the replay applies (read once at start, verified; never written):
   * `vigil replay --learned` passes the configured store. Absent: nothing learned applies. A
   * corrupt state is reported through `onProblem` and the replay runs on the declared tiers.
   */
  readonly learnedFrom?: Storage;
}

export interface ReplayStats {
  readonly events: number;
  readonly decisions: number;
  /** Events whose (source, id) was already replayed in this session: decided once. */
  readonly duplicates: number;
  readonly setup?: SetupImportResult;
  /** Planned actions by status (all previews: `dry-run`, `blocked` by a guardrail...). */
  readonly actions: Readonly<Record<string, number>>;
  /** Reviews (step-ups, approvals) opened in the replay, by status at its end. */
  readonly reviews: Readonly<Record<string, number>>;
  /** Enforcement ladder episodes by status at the end (waiting = marked, in its grace period). */
  readonly ladder: Readonly<Record<string, number>>;
  /** The replay clock at the end (the latest event time). */
  readonly clock: string;
  /** The learned state applied (`learnedFrom`): its status and version. */
  readonly learned?: { readonly status: LoadedState["status"]; readonly version?: number; readonly lessons: number; readonly problem?: string };
}

export interface ReplaySession {
  readonly policySet: PolicySet;
  readonly loadErrors: readonly VigilError[];
  readonly settings: EffectiveSettings;
  /** The throwaway store (decisions, baselines, actions, reviews, ladder of this replay; a temporary SQLite file). */
  readonly storage: Storage;
  readonly clock: EventClock;
  readonly context: ContextStage;
  readonly executor: Executor;
  readonly reviews: ReviewService;
  readonly ladder?: Ladder;
  /**
   * Decides events in order (one decision per event not seen before in this session), learning
   * from each before the next, and runs the scheduler whenever simulated time passes a tick.
   * Returns the decisions (chained in the throwaway store). Rejects only when storage fails.
   */
  push(events: readonly Event[]): Promise<Decision[]>;
  stats(): Promise<ReplayStats>;
  close(): Promise<void>;
}

function count<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

export async function createReplaySession(options: ReplaySessionOptions): Promise<ReplaySession> {
  const { config } = options;
  const problem = options.onProblem ?? (() => undefined);
  const { policySet, load, env } = loadPolicySet(config.policies, { costLimit: config.cel.costLimit });
  const settings = resolvePackSettings(config, policySet.policies.map((p) => p.meta.name));
  // A temporary file rather than `:memory:`: a long replay keeps every event and decision (about
  // 8 kB each), which would otherwise stay in the process's memory. Removed by close().
  const scratch = mkdtempSync(join(tmpdir(), "vigil-replay-"));
  const storage = await openStorage({ store: { kind: "sqlite", path: join(scratch, "replay.db"), schema: "vigil" }, decisionLog: config.decisionLog });
  const clock = createEventClock(0);
  const catalog = createPolicyCatalog({ policySet, env, loadErrors: load.errors, storage, clock });
  const decider = createDecider({ env, ...(config.decide as object) });
  const executor = createExecutor({ storage, clock, actuators: createPreviewActuators(clock), guardrails: settings.act, env });
  const reviews = createReviewService({ ...(config.review as ReviewSettings), storage, clock, executor, env, policy: catalog.lookup, notifier: silentNotifier });
  const packs = createPackRuntime({
    storage, clock, settings, executor, reviews, lookup: catalog.lookup, onProblem: problem,
    ...(options.lockfileFetcher ? { lockfileFetcher: options.lockfileFetcher } : {}),
  });
  const external = options.exemptions;
  const run = randomUUID();
  // Read-only use of the learned state: start() loads and verifies it; update/reset are never called.
  const learner = createLearner({
    storage: options.learnedFrom ?? storage, clock: systemClock, policy: catalog.lookup, detectors: () => packs.context.settings.detectors,
    onProblem: (message) => problem(message),
  });
  const loadedLearning = await learner.start();
  let merged: { own: Exemptions; lists: Exemptions } | undefined;
  const pipeline = createPipeline({
    storage, context: packs.context, catalog, decider, clock,
    feedback: createFeedbackService({ storage, clock }),
    learning: learner,
    mode: "replay",
    decisionId: (event) => replayDecisionIdFor(event, run),
    labels: { source: "replay" },
    beforeEvent: (event) => { clock.follow(event.time); },
    contextFlushEvents: config.ingest.contextFlushEvents,
    async exemptions() {
      // The session is the only writer of its store and the review service drops its snapshot on
      // every change it makes (the decider drops what expired), so the snapshot is kept until then
      // rather than for 5 s of a clock that moves hours between events.
      const own = await reviews.exemptions({ maxAgeMs: Number.POSITIVE_INFINITY });
      if (!external) return own;
      // The same merged lists while the snapshot is the same: the decider caches its prepared
      // exceptions by list identity, and a new array per decision prepared them again each time.
      if (merged?.own !== own) merged = { own, lists: { exceptions: [...own.exceptions, ...external.exceptions], overrides: [...own.overrides, ...external.overrides] } };
      return merged.lists;
    },
    async enforce(draft, ctx) {
      if (!draft.findings.some((f) => f.effect === "violation")) return draft;
      return packs.act(draft, ctx);
    },
    afterRecord: (decisions) => packs.afterRecord(decisions),
    onProblem: problem,
  });
  const tickEvery = options.tickEveryMs ?? HOUR_MS;
  let started = false;
  let nextTick = 0;
  let events = 0;
  let decisions = 0;
  let duplicates = 0;
  let setupResult: SetupImportResult | undefined;

  /** Set once an event's time has set the clock (the scheduler's ticks count from it). */
  let anchored = false;

  async function begin(first: Event | undefined): Promise<void> {
    started = true;
    anchored = first?.time !== undefined && Number.isFinite(Date.parse(first.time));
    // No event of the first push carries a time: the wall clock until one does (then the stream's).
    if (anchored) clock.follow(first?.time);
    else clock.provisional(Date.now());
    nextTick = clock.now().getTime() + tickEvery;
    const setup = typeof options.setup === "function" ? options.setup() : options.setup;
    if (setup) setupResult = await importSetup({ context: packs.context, reviews }, setup, { id: "vigil-replay-setup", roles: ["admin"] });
  }

  async function decide(batch: readonly Event[]): Promise<Decision[]> {
    if (batch.length === 0) return [];
    const { stored, duplicates: seen } = await storage.appendEvents(batch, clock.now().toISOString());
    duplicates += seen.length;
    const out = await pipeline.processBatch(stored);
    decisions += out.length;
    return out;
  }

  async function tick(at: number): Promise<void> {
    clock.follow(new Date(at).toISOString());
    await reviews.tick();
    await packs.tick();
  }

  return {
    policySet, loadErrors: load.errors, settings, storage, clock, context: packs.context, executor, reviews, ...(packs.ladder ? { ladder: packs.ladder } : {}),
    async push(input) {
      if (!started) await begin(input.find((e) => e.time !== undefined && Number.isFinite(Date.parse(e.time))));
      const out: Decision[] = [];
      let batch: Event[] = [];
      for (const event of input) {
        events++;
        const at = event.time === undefined ? Number.NaN : Date.parse(event.time);
        if (!anchored && Number.isFinite(at)) {
          // The first event with a time: the clock leaves the wall clock for it (pipeline's beforeEvent), the ticks count from it.
          anchored = true;
          nextTick = at + tickEvery;
        }
        if (Number.isFinite(at) && at >= nextTick) {
          out.push(...(await decide(batch)));
          batch = [];
          // A long gap in the stream is one scheduler run, not one per simulated hour.
          if (at - nextTick > GAP_MS) nextTick = at - ((at - nextTick) % tickEvery);
          while (at >= nextTick) {
            await tick(nextTick);
            nextTick += tickEvery;
          }
        }
        batch.push(event);
        if (batch.length >= config.ingest.batchSize) {
          out.push(...(await decide(batch)));
          batch = [];
        }
      }
      out.push(...(await decide(batch)));
      return out;
    },
    async stats() {
      await pipeline.flushContext();
      const [actions, reviewList, ladderItems] = await Promise.all([executor.listActions(), reviews.list({ limit: 1_000_000 }), packs.ladder?.list() ?? Promise.resolve([])]);
      return {
        events, decisions, duplicates, ...(setupResult ? { setup: setupResult } : {}),
        actions: count(actions, (a) => a.status),
        reviews: count(reviewList, (r) => r.status),
        ladder: count(ladderItems, (i) => i.status),
        clock: clock.now().toISOString(),
        ...(options.learnedFrom ? {
          learned: {
            status: loadedLearning.status, lessons: learner.lookup.active,
            ...(loadedLearning.state ? { version: loadedLearning.state.version } : {}), ...(loadedLearning.problem ? { problem: loadedLearning.problem } : {}),
          },
        } : {}),
      };
    },
    async close() {
      try {
        await storage.close();
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
}
