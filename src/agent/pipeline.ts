/**
 * The processing pipeline for accepted events, one batch at a time:
 *
 *   context.build → learning.calibrate (learned detector thresholds) → policySet.evaluate →
 *   decide (exceptions/overrides, risk, adaptive tier, learned adjustments, explanation) → enforce
 *   (executor: plan/apply within guardrails, or a review) → context.observe (in memory) → append
 *   the decisions and mark the events processed (one hash-chained storage transaction per batch;
 *   a batch with feedback events appends, records the feedback, then marks) → (every N events)
 *   write the learned baselines
 *
 * INVARIANTS: one decision per event, with the deterministic id `decisionIdFor(event)`, so a
 * batch processed twice (crash before markProcessed, a redelivered bus message) records nothing
 * twice; an event is marked processed only after its decision is durable; evaluation never throws
 * (a storage failure rejects the batch, which stays pending and is retried).
 */
import type { Context } from "../core/context.js";
import { evaluateWithLookups } from "../context/kubernetes/lookups.js";
import type { Decision, DecisionDraft } from "../core/decision.js";
import type { Finding } from "../core/finding.js";
import { isVigilError } from "../core/errors.js";
import { EventTypes, type Event } from "../core/event.js";
import type { AppendDecisionsOptions, Clock, Storage, StoredEvent } from "../core/ports.js";
import type { Override, PolicyException } from "../core/review.js";
import { copyContext } from "../context/built-state.js";
import type { ContextStage } from "../context/stage.js";
import { isoFromMs } from "../context/time.js";
import type { Decider } from "../decide/index.js";
import { applyExemptions, type AppliedExemption, type ExemptionProblem } from "../decide/exemptions.js";
import type { LearnedAdjustments } from "../decide/learned.js";
import type { PolicyCatalog } from "./policies.js";
import { decisionIdFor } from "./decision-id.js";
import type { FeedbackService } from "./feedback.js";

/** Exceptions and overrides in force, as the decider applies them on every path. */
export interface Exemptions {
  readonly exceptions: readonly PolicyException[];
  readonly overrides: readonly Override[];
}

/**
 * What deciding asks of the learn stage (a `Learner` from src/learn is one): detector thresholds
 * learned per entity and peer group, the learned adjustments for this context, and the labels that
 * let feedback on the decision be learned from. All synchronous and in memory (hot path).
 */
export interface DecisionLearning {
  calibrate(ctx: Context): Context;
  lookupFor(ctx: Context): LearnedAdjustments | undefined;
  /** A fresh object on every call: the pipeline records it on the decision as it is. */
  labelsFor(ctx: Context): Record<string, string>;
}

/** The act step: turns a decided draft into one with planned (and maybe applied) actions. */
export type EnforceStep = (draft: DecisionDraft, ctx: Context) => Promise<DecisionDraft>;

export interface PipelineOptions {
  readonly storage: Storage;
  readonly context: ContextStage;
  readonly catalog: PolicyCatalog;
  readonly decider: Decider;
  readonly clock: Clock;
  readonly feedback: FeedbackService;
  /** The learn stage (learned state in use); absent: the policies' declared tiers, no learning labels. */
  readonly learning?: DecisionLearning;
  /** Exceptions and overrides in force (cached by the caller). Default: none. */
  readonly exemptions?: () => Exemptions | Promise<Exemptions>;
  /** The executor step. Default: no actions. */
  readonly enforce?: EnforceStep;
  /** After decisions are durable (mark once-overrides used, open reviews...). Errors are reported, not thrown. */
  readonly afterRecord?: (decisions: readonly Decision[]) => Promise<void>;
  /** Observes every recorded decision (metrics). */
  readonly onDecision?: (decision: Decision, seconds: number) => void;
  /** Reported problems that must not stop the pipeline (feedback events that fail validation...). */
  readonly onProblem?: (message: string, error?: unknown) => void;
  /** Write baselines after this many processed events. */
  readonly contextFlushEvents?: number;
  /**
   * `replay` (`vigil replay`): every decision is not enforced, and the enforce step still runs so
   * the actions are planned and previewed (all dry-run), never applied. Default `agent`.
   */
  readonly mode?: "agent" | "replay";
  /** The decision id of an event; default `decisionIdFor` (deterministic per source and id). */
  readonly decisionId?: (event: Event) => string;
  /** Called before each event is decided (the events clock follows the event's time). */
  readonly beforeEvent?: (event: Event) => void;
  /** Labels on every decision `processBatch` makes (e.g. `{ source: "replay" }`). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface DecideEventOptions {
  readonly id?: string;
  readonly explain?: boolean;
  /** False for admission dry-runs, shadow evaluation and replay. Default true. */
  readonly enforced?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  /** The document policies evaluate; default `event.data`. */
  readonly input?: unknown;
}

export interface Pipeline {
  /** Decides and records a batch of stored events; returns the decisions recorded now (not those recorded before). */
  processBatch(events: readonly StoredEvent[]): Promise<Decision[]>;
  /**
   * Decides one event without recording it: context, evaluation, exceptions/overrides, risk, tier,
   * explanation (and actions planned by the enforce step when `enforced`). Never throws for bad
   * policies or inputs; rejects only when storage fails.
   */
  decideEvent(event: Event, options?: DecideEventOptions): Promise<{ draft: DecisionDraft; ctx: Context }>;
  /** Writes baselines and entity records now. */
  flushContext(): Promise<void>;
  /**
   * The exceptions in force that cover these findings of `event` (read as violations: the mutating
   * webhook asks which mutations an exception switches off), matched as for every decision: policy,
   * rules, subjects, `when` over the event's context. Overrides are not consulted (they answer one
   * decision). Nothing is recorded or observed. `problems`: exceptions not applied because their
   * condition could not be judged (a `when` giving no boolean), for the decision's notes.
   */
  exceptionsFor(event: Event, findings: readonly Finding[]): Promise<{ readonly applied: readonly AppliedExemption[]; readonly problems: readonly ExemptionProblem[] }>;
}

/** Keys of observed-but-unrecorded events kept at most (events failing for good are dropped past it). */
const MAX_OBSERVED_UNRECORDED = 100_000;
const observedKey = (event: Event): string => `${event.source}\u0000${event.id}`;

export function createPipeline(options: PipelineOptions): Pipeline {
  const { storage, context, catalog, decider, clock } = options;
  const flushEvery = options.contextFlushEvents ?? 5_000;
  const enforce = options.enforce;
  const problem = options.onProblem ?? (() => undefined);
  const learning = options.learning;
  let sinceFlush = 0;
  /** Events observed by the context stage whose batch is not recorded yet (a failed batch, retried). */
  const observedUnrecorded = new Set<string>();

  const replay = options.mode === "replay";
  const idOf = options.decisionId ?? decisionIdFor;

  async function decideEvent(event: Event, decideOptions: DecideEventOptions = {}): Promise<{ draft: DecisionDraft; ctx: Context }> {
    options.beforeEvent?.(event);
    const built = learning ? learning.calibrate(await context.build(event)) : await context.build(event);
    const initial = decideOptions.input === undefined ? built : copyContext(built, { ...built, input: decideOptions.input });
    const evaluateOptions = decideOptions.explain ? { includePasses: true, exhaustive: true } : {};
    // Kyverno apiCall GETs, imageRegistry lookups and image signatures the caches could not
    // answer: fetched, and the policies evaluated again until nothing new is asked for.
    const evaluated = initial.kubernetes?.unanswered === undefined
      ? { ctx: initial, result: catalog.policySet.evaluate(initial, evaluateOptions) }
      : await evaluateWithLookups(initial, (next) => catalog.policySet.evaluate(next, evaluateOptions), (next) => copyContext(built, next));
    const { ctx, result } = evaluated;
    const exemptions = options.exemptions ? await options.exemptions() : undefined;
    const enforced = !replay && decideOptions.enforced !== false;
    const learned = learning?.lookupFor(ctx);
    // labelsFor returns a fresh object: merged into only when the caller adds labels of its own.
    const labels = learning ? (decideOptions.labels === undefined ? learning.labelsFor(ctx) : { ...learning.labelsFor(ctx), ...decideOptions.labels }) : decideOptions.labels;
    let draft = decider.decide(ctx, result.findings, result.policyRevisions, {
      id: decideOptions.id ?? idOf(event),
      now: isoFromMs(clock.now().getTime()),
      enforced,
      policy: catalog.lookup,
      input: ctx.input,
      ...(exemptions ? { exceptions: exemptions.exceptions, overrides: exemptions.overrides } : {}),
      ...(learned ? { learned } : {}),
      ...(labels ? { labels } : {}),
    });
    if (enforce && (enforced || replay)) draft = await enforce(draft, ctx);
    return { draft, ctx };
  }

  /**
   * Appends drafts (and marks `mark` processed in the same transaction); when some ids are already
   * recorded (a batch processed twice), appends the others.
   */
  async function append(drafts: readonly DecisionDraft[], mark?: AppendDecisionsOptions["markProcessed"]): Promise<Decision[]> {
    const options: AppendDecisionsOptions = mark === undefined ? {} : { markProcessed: mark };
    try {
      return await storage.appendDecisions(drafts, options);
    } catch (error) {
      if (!isVigilError(error) || error.code !== "VIGIL_CONFLICT") throw error;
      const fresh: DecisionDraft[] = [];
      for (const draft of drafts) if (!(await storage.getDecision(draft.id))) fresh.push(draft);
      return storage.appendDecisions(fresh, options);
    }
  }

  async function sideEffects(event: Event): Promise<void> {
    if (event.type !== EventTypes.feedback) return;
    try {
      await options.feedback.recordEvent(event);
    } catch (error) {
      problem(`feedback event ${event.id} not recorded: ${error instanceof Error ? error.message : String(error)}`, error);
    }
  }

  return {
    decideEvent,
    async processBatch(events) {
      if (events.length === 0) return [];
      const started = performance.now();
      const built: { event: Event; ctx: Context; draft: DecisionDraft }[] = [];
      // Once an event of the batch had to wait for the store (entities or baselines not in
      // memory: a new principal, a restarted worker), what the rest of the batch needs is read
      // at once, instead of a round trip per event.
      const loadsBefore = context.loads();
      let prefetched = false;
      for (let index = 0; index < events.length; index++) {
        const stored = events[index] as StoredEvent;
        const { draft, ctx } = await decideEvent(stored.event, options.labels ? { labels: options.labels } : {});
        if (!prefetched && index + 1 < events.length && context.loads() !== loadsBefore) {
          prefetched = true;
          await context.prefetch(events.slice(index + 1).map((next) => next.event));
        }
        // Learn right after deciding, so the next event of the batch sees this one, exactly as
        // when events come one by one (a batch of first sightings flags only the first).
        // Learning is in memory until flushContext, after the decisions are durable.
        // A batch retried after its record failed was observed by the first attempt: the
        // baselines in memory hold its events already and must not count them twice.
        const key = observedKey(stored.event);
        if (!observedUnrecorded.has(key)) {
          context.observe(stored.event, ctx, draft.findings);
          if (observedUnrecorded.size >= MAX_OBSERVED_UNRECORDED) observedUnrecorded.clear();
          observedUnrecorded.add(key);
        }
        built.push({ event: stored.event, ctx, draft });
      }
      const drafts = built.map((item) => item.draft);
      let decisions: Decision[];
      if (events.some((stored) => stored.event.type === EventTypes.feedback)) {
        // Feedback is recorded between the decisions and the marks, so a crash in between
        // processes the batch again (its decisions are found; the feedback is recorded).
        decisions = await append(drafts);
        for (const item of built) await sideEffects(item.event);
        await storage.markProcessed(events.map((e) => e.seq), clock.now().toISOString());
      } else {
        decisions = await append(drafts, { seqs: events.map((e) => e.seq), at: clock.now().toISOString() });
      }
      for (const stored of events) observedUnrecorded.delete(observedKey(stored.event));
      if (options.afterRecord && decisions.length > 0) {
        try {
          await options.afterRecord(decisions);
        } catch (error) {
          problem(`after-record step failed: ${error instanceof Error ? error.message : String(error)}`, error);
        }
      }
      if (options.onDecision) {
        const each = (performance.now() - started) / 1000 / Math.max(1, events.length);
        for (const decision of decisions) options.onDecision(decision, each);
      }
      sinceFlush += events.length;
      if (sinceFlush >= flushEvery) {
        sinceFlush = 0;
        // The batch is durable and marked processed: a failed write of the learned baselines must
        // not reject it (it would be retried, observed a second time, and redelivered to another
        // worker). What was not written stays dirty and goes with the next flush.
        try {
          await context.flush();
        } catch (error) {
          problem(`writing learned baselines failed; they are written with the next flush: ${error instanceof Error ? error.message : String(error)}`, error);
        }
      }
      return decisions;
    },
    async exceptionsFor(event, findings) {
      const exemptions = options.exemptions ? await options.exemptions() : undefined;
      if (!exemptions || exemptions.exceptions.length === 0 || findings.length === 0) return { applied: [], problems: [] };
      const built = learning ? learning.calibrate(await context.build(event)) : await context.build(event);
      const asViolations = findings.map((f) => (f.effect === "violation" ? f : { ...f, effect: "violation" as const }));
      const { applied, problems } = applyExemptions(built, asViolations, { exceptions: exemptions.exceptions }, decider.conditions, catalog.lookup);
      return { applied, problems };
    },
    async flushContext() {
      sinceFlush = 0;
      await context.flush();
    },
  };
}
