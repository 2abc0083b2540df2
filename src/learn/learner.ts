/**
 * The learner: reads feedback and the decision record, learns per (policy, rule, slice)
 * precision, writes a new learned-state version, and serves what decide and the context stage
 * need on the hot path (adjustments per decision, detector calibration, decision labels).
 *
 * Lifecycle (the agent runtime): `await learner.start()` once — it loads and verifies the stored
 * state; when it is corrupt it reports the problem (`loaded.problem`) and the agent runs on the
 * policies' declared tiers. Then per decision: `labels: { ...learner.labelsFor(ctx) }`,
 * `learned: learner.lookupFor(ctx)`, and `ctx = learner.calibrate(ctx)` right after
 * `context.build` when detector calibration is wanted. `learner.update()` on a timer (or after
 * feedback) learns a new version; `learner.refresh()` picks up another process's version.
 */
import type { Context } from "../core/context.js";
import { VigilError } from "../core/errors.js";
import type { PolicyMeta } from "../core/policy.js";
import type { Clock, Storage } from "../core/ports.js";
import { requireRole, type Actor } from "../act/actor.js";
import { applyDetectorCalibration, type DetectorCalibration } from "../context/calibration.js";
import { defaultContextSettings, type ContextSettings } from "../context/settings.js";
import type { LearnedAdjustments } from "../decide/learned.js";
import { contextBucket } from "../decide/risk.js";
import { learningLabels } from "./keys.js";
import { createLearnedLookup, type LearnedLookup } from "./lookup.js";
import { checkLearnerSettings } from "./settings.js";
import { learnModel } from "./model.js";
import { collectObservations } from "./observations.js";
import { LEARN_COLLECTION, listVersions, resetCutoff, loadLearnedState, saveLearnedState, type LoadedState, type VersionSummary } from "./state-store.js";
import { defaultLearnerSettings, type LearnedState, type LearnerSettings } from "./types.js";

export const LEARNER_ACTOR = "vigil:learner";

export interface LearnerOptions {
  readonly storage: Storage;
  readonly clock: Clock;
  /** Checked: VIGIL_BAD_CONFIG naming `settings.<key>` when one is out of range, mistyped or unknown. */
  readonly settings?: Partial<LearnerSettings>;
  /** Policies by name (critical rules are kept above observe). */
  readonly policy?: (name: string) => PolicyMeta | { readonly meta: PolicyMeta } | undefined;
  /** The context stage's detector settings (calibration starts from them). Default: context defaults. */
  readonly detectors?: () => ContextSettings["detectors"];
  /** Start-up problems (corrupt state) and update failures are reported here. */
  readonly onProblem?: (message: string) => void;
}

export interface UpdateResult {
  readonly state: LearnedState;
  readonly observations: number;
  readonly skipped: Readonly<Record<string, number>>;
}

export interface Learner {
  /** Loads and verifies the stored state. Never rejects for a corrupt state (reports it); rejects when storage fails. */
  start(): Promise<LoadedState>;
  /** Re-reads the head (another process may have learned). Keeps the current state when the stored one is corrupt. */
  refresh(): Promise<LoadedState>;
  /** What the last load found. */
  readonly loaded: LoadedState;
  /** The state in use (undefined: declared tiers only). */
  current(): LearnedState | undefined;
  /** Learns from all feedback since the last reset and writes a new version (parent = the current head). */
  update(options?: { readonly by?: string; readonly reason?: string }): Promise<UpdateResult>;
  /** Writes an empty version that ignores feedback given until now (approver or admin). */
  reset(actor: Actor, reason?: string): Promise<LearnedState>;
  history(limit?: number): Promise<VersionSummary[]>;
  /** Learned adjustments for one decision; undefined when nothing is learned. Hot path. */
  lookupFor(ctx: Context): LearnedAdjustments | undefined;
  /** Labels to record on the decision so its feedback can be learned from. */
  labelsFor(ctx: Context): Record<string, string>;
  /** The context with calibrated detector thresholds applied (the same object when none apply). */
  calibrate(ctx: Context): Context;
  readonly lookup: LearnedLookup;
}

const BUCKET = /^[^/@]+\/[^/@]+\/[^/@]+$/;

type Thresholds = NonNullable<DetectorCalibration["peers"]>[string];

/** The thresholds of one group learned in `bucket` (`key@bucket`, looked up by key); a key without a bucket applies in every bucket. */
function inBucket(group: Readonly<Record<string, Thresholds>>, bucket: string): Record<string, Thresholds> {
  const out: Record<string, Thresholds> = {};
  for (const [key, thresholds] of Object.entries(group)) {
    const at = key.lastIndexOf("@");
    const learnedIn = at < 0 ? undefined : key.slice(at + 1);
    if (learnedIn === undefined || !BUCKET.test(learnedIn)) out[key] ??= thresholds;
    else if (learnedIn === bucket) out[key.slice(0, at)] = thresholds;
  }
  return out;
}

/**
 * The detector calibration that applies in one context bucket: the entities and peer groups
 * learned in that bucket (stored as `entity@bucket` / `peer@bucket`, looked up by entity or peer).
 * A key without a bucket (a state learned before they were kept per bucket) applies in every bucket.
 */
export function calibrationForBucket(calibration: DetectorCalibration | undefined, bucket: string): DetectorCalibration | undefined {
  if (calibration === undefined || (calibration.peers === undefined && calibration.entities === undefined)) return calibration;
  const { peers: allPeers, entities: allEntities, ...rest } = calibration;
  const peers = allPeers === undefined ? {} : inBucket(allPeers, bucket);
  const entities = allEntities === undefined ? {} : inBucket(allEntities, bucket);
  return { ...rest, ...(Object.keys(entities).length > 0 ? { entities } : {}), ...(Object.keys(peers).length > 0 ? { peers } : {}) };
}

function metaOf(value: PolicyMeta | { readonly meta: PolicyMeta } | undefined): PolicyMeta | undefined {
  if (value === undefined) return undefined;
  return "meta" in value ? value.meta : value;
}

export function createLearner(options: LearnerOptions): Learner {
  // Library callers get the checks vigil.yaml gets (VIGIL_BAD_CONFIG naming settings.<key>).
  const given = checkLearnerSettings(options.settings);
  const settings: LearnerSettings = { ...defaultLearnerSettings, ...given, prior: { ...defaultLearnerSettings.prior, ...given.prior } };
  const report = options.onProblem ?? (() => undefined);
  let loaded: LoadedState = { status: "none" };
  let state: LearnedState | undefined;
  let lookup = createLearnedLookup(undefined);
  /** The state's calibration per context bucket (computed once per bucket and state). */
  let calibrations = new Map<string, DetectorCalibration | undefined>();

  const use = (next: LearnedState | undefined): void => {
    state = next;
    lookup = createLearnedLookup(next);
    calibrations = new Map();
  };
  const calibrationFor = (ctx: Context): DetectorCalibration | undefined => {
    if (state === undefined || (state.calibration.peers === undefined && state.calibration.entities === undefined)) return state?.calibration;
    const bucket = contextBucket(ctx);
    if (!calibrations.has(bucket)) calibrations.set(bucket, calibrationForBucket(state.calibration, bucket));
    return calibrations.get(bucket);
  };

  async function load(): Promise<LoadedState> {
    const result = await loadLearnedState(options.storage);
    loaded = result;
    if (result.status === "corrupt") {
      report(`learned state is corrupt, running on the policies' declared tiers until the next update or \`vigil learn reset\`: ${result.problem ?? "unknown problem"}`);
      use(undefined);
    } else use(result.state);
    return result;
  }

  async function write(make: (head: LoadedState, now: string, version: number) => LearnedState | Promise<LearnedState>): Promise<LearnedState> {
    for (let attempt = 0; ; attempt++) {
      const head = await loadLearnedState(options.storage);
      const now = options.clock.now().toISOString();
      // A corrupt head may not say which versions exist (malformed) or name an older one: never reuse a stored version's id.
      const stored = head.status === "corrupt" ? await lastStoredVersion() : 0;
      const next = await make(head, now, Math.max(nextVersion(head), stored + 1));
      try {
        await saveLearnedState(options.storage, next, head.headDocVersion ?? 0);
        loaded = { status: "ok", state: next, headVersion: next.version, headDocVersion: (head.headDocVersion ?? 0) + 1 };
        use(next);
        return next;
      } catch (error) {
        if (attempt < 3 && error instanceof VigilError && error.code === "VIGIL_CONFLICT") continue;
        throw error;
      }
    }
  }

  const nextVersion = (head: LoadedState): number => Math.max(head.headVersion ?? 0, head.state?.version ?? 0) + 1;

  /** The highest version document stored (0 when none). */
  async function lastStoredVersion(): Promise<number> {
    let last = 0;
    let afterId: string | undefined;
    for (;;) {
      const page = await options.storage.listDocs(LEARN_COLLECTION, { idPrefix: "v-", limit: 1000, ...(afterId === undefined ? {} : { afterId }) });
      for (const doc of page) {
        const version = Number(doc.id.slice(2));
        if (Number.isInteger(version) && version > last) last = version;
      }
      if (page.length < 1000) return last;
      afterId = page[page.length - 1]?.id;
    }
  }

  return {
    start: load,
    refresh: async () => {
      const result = await loadLearnedState(options.storage);
      if (result.status === "corrupt") {
        report(`learned state is corrupt, keeping the state in use: ${result.problem ?? "unknown problem"}`);
        loaded = result;
        return result;
      }
      loaded = result;
      if (result.state?.version !== state?.version) use(result.state);
      return result;
    },
    get loaded() {
      return loaded;
    },
    current: () => state,
    get lookup() {
      return lookup;
    },
    async update(updateOptions = {}) {
      // Feedback is read before the write (it may be large); the head is re-read inside `write`.
      const headNow = await loadLearnedState(options.storage);
      const collect = (since: string | undefined) => collectObservations(options.storage, { ...(since === undefined ? {} : { since }), ignoreActors: settings.ignoreActors });
      // A corrupt head does not say when the last reset was: the newest verified version does (a reset stays in force).
      const sinceOf = (head: LoadedState): Promise<string | undefined> => resetCutoff(options.storage, head);
      let since = await sinceOf(headNow);
      let collected = await collect(since);
      const written = await write(async (head, now, version) => {
        // A reset written meanwhile (another process) moved feedbackSince: the feedback it discarded must not be learned again.
        const headSince = head.status === "none" ? since : await sinceOf(head);
        if (headSince !== since) {
          since = headSince;
          collected = await collect(since);
        }
        const model = learnModel(collected.observations, {
          settings, now, version,
          ...(options.policy ? { policy: (name: string) => metaOf(options.policy?.(name)) } : {}),
          detectors: options.detectors?.() ?? defaultContextSettings.detectors,
        });
        const lowered = model.entries.filter((e) => (e.riskDelta ?? 0) < 0 || (e.tierShift ?? 0) < 0).length;
        const raised = model.entries.filter((e) => (e.riskDelta ?? 0) > 0 || (e.tierShift ?? 0) > 0).length;
        return {
          schema: 1, version, parent: head.headVersion ?? null, createdAt: now, createdBy: updateOptions.by ?? LEARNER_ACTOR, kind: "update",
          reason: updateOptions.reason ?? `learned from ${collected.feedbackUsed} feedback record(s): ${lowered} lesson(s) lower, ${raised} raise`,
          ...(since === undefined ? {} : { feedbackSince: since }),
          settings, feedbackUsed: collected.feedbackUsed, reviewers: model.reviewers, entries: model.entries, calibration: model.calibration,
        };
      });
      return { state: written, observations: collected.observations.length, skipped: collected.skipped };
    },
    async reset(actor, reason) {
      requireRole(actor, ["approver"], "reset learned state");
      return write((head, now, version) => ({
        schema: 1, version, parent: head.headVersion ?? null, createdAt: now, createdBy: actor.id, kind: "reset",
        reason: reason ?? `reset by ${actor.id}`, feedbackSince: now, settings, feedbackUsed: 0, reviewers: 0, entries: [], calibration: {},
      })).then(async (next) => {
        await options.storage.appendAudit([{ at: next.createdAt, actor: actor.id, action: "learn.reset", target: `learn.state/v${next.version}`, detail: { parent: next.parent, ...(reason ? { reason } : {}) } }]);
        return next;
      });
    },
    history: (limit) => listVersions(options.storage, limit),
    lookupFor: (ctx) => lookup.forContext(ctx),
    labelsFor: (ctx) => learningLabels(ctx),
    calibrate: (ctx) => applyDetectorCalibration(ctx, calibrationFor(ctx), options.detectors?.() ?? defaultContextSettings.detectors),
  };
}
