/**
 * createAgent: chooses adapters from configuration and wires the stages into the running agent
 * (source → context → evaluate → decide → act → record → learn). The server and the CLI reach
 * storage, bus and stages only through the Agent.
 *
 * Lifecycle: `createAgent` opens storage (and the bus), loads policies and promotions, and
 * starts the learner (learned state verified; a corrupt one is reported and the policies' declared
 * tiers are used) and bootstraps nothing in the background; `start()` processes pending events
 * first, then runs the ingest loop (role all), the bus worker (role worker / all with NATS) and the
 * scheduler (role api: the learning schedule only); `close()` stops them and closes the adapters.
 */
import { watchKubernetesCluster, type KubernetesClusterCache } from "../context/kubernetes/cluster-cache.js";
import { createRegistryClient } from "../context/kubernetes/registry-client.js";
import { createServiceCaller } from "../context/kubernetes/service-caller.js";
import type { ImageRegistry, ServiceCaller } from "../core/context.js";
import { randomUUID } from "node:crypto";
import { timeOrderedId } from "../core/ids.js";
import type { Decision, DecisionDraft } from "../core/decision.js";
import { VigilError } from "../core/errors.js";
import { EventTypes, type Event } from "../core/event.js";
import type { Bus, Clock, Storage } from "../core/ports.js";
import type { VigilConfig } from "../config.js";
import type { ContextStage } from "../context/index.js";
import type { LockfileFetcher, SupplyChainRuntime } from "../context/supply-chain/index.js";
import { createDecider, type Decider } from "../decide/index.js";
import { createExecutor, type Actor, type Executor, type PromotionState } from "../act/index.js";
import type { Ladder } from "../act/ladder.js";
import { createBuiltinActuators, type BuiltinActuatorsConfig } from "../act/actuators/index.js";
import type { Actuator } from "../core/action.js";
import { appliedRefs } from "../decide/index.js";
import { createReviewService, type Notifier, type ReviewService, type ReviewSettings } from "../review/index.js";
import { shadowReport, type Learner, type ShadowReport } from "../learn/index.js";
import { createActuatorNotifier } from "./notifier.js";
import type { PolicySet } from "../policy/policy-set.js";
import type { DeliveryIdStore } from "../sources/github.js";
import { openBus, openStorage } from "./adapters.js";
import { clockFromConfig, type EventClock, type ManualClock } from "./clock.js";
import { createStorageDeliveryIdStore } from "./delivery-ids.js";
import { createEvaluator, type DecideOptions, type Evaluator } from "./evaluator.js";
import { createFeedbackService, type FeedbackService } from "./feedback.js";
import { createIngestor, type AcceptResult, type Ingestor } from "./ingest.js";
import { startLearning, type Learning } from "./learning.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { createPackRuntime } from "./pack-runtime.js";
import { createPreviewActuators } from "./preview-actuators.js";
import { globMatch } from "../decide/exemptions.js";
import { resolvePackSettings, type EffectiveSettings } from "./pack-settings.js";
import { importSetup, type Setup, type SetupImportResult } from "./setup.js";
import { createPipeline, type DecideEventOptions, type Pipeline } from "./pipeline.js";
import { builtinPolicies, createPolicyCatalog, loadPolicySet, type PolicyCatalog, type PolicySummary } from "./policies.js";
import { createTokenService, type TokenService } from "./tokens.js";
import { createWorker, type Worker } from "./worker.js";
import { createCleanupSweep, type CleanupSweep } from "./cleanup.js";
import { createMutateExistingSweep } from "./mutate-existing.js";
import type { KyvernoPolicy } from "../policy/kyverno/policy.js";
import { isCleanupPolicy } from "../policy/kyverno/cleanup-policy.js";

export type AgentRole = "all" | "api" | "worker";

export interface AgentOptions {
  /** Overrides the configured clock (tests). */
  readonly clock?: Clock;
  /** Overrides `server.role`. */
  readonly role?: AgentRole;
  /** Problems that must not stop the agent (a batch that failed and will be retried...). Default: stderr JSON line. */
  readonly onProblem?: (message: string, error?: unknown) => void;
  /** Actuators to use instead of the configured built-ins (tests). */
  readonly actuators?: readonly Actuator[];
  /** Where review notifications go instead of the actuators (tests). */
  readonly notifier?: Notifier;
  /** Fetches pull requests' lockfiles instead of the GitHub contents API (tests). */
  readonly lockfileFetcher?: LockfileFetcher;
}

/** A policy as GET /v1/policies shows it: catalog summary plus whether its actions run for real. */
export interface PolicyState extends PolicySummary {
  /** Actions are planned and recorded but not applied until a person promotes the policy. */
  readonly dryRun: boolean;
  readonly actPromotion?: PromotionState;
}

/** The answer of a promotion: the policy's state after it, and what the shadow period showed before it. */
export interface PromotionResult extends PolicyState {
  /** The figures of the decisions recorded for the promoted revision (src/learn/shadow.ts), computed before promoting. */
  readonly shadow: ShadowReport;
}

export interface Agent {
  readonly config: VigilConfig;
  readonly role: AgentRole;
  readonly storage: Storage;
  readonly bus: Bus;
  readonly clock: Clock;
  /** Set when `clock.mode` is manual: the test hook `PUT /v1/clock` moves it. */
  readonly manualClock?: ManualClock;
  /** Set when `clock.mode` is events: the pipeline moves it to each event's time. */
  readonly eventClock?: EventClock;
  /** Set when `admission.cluster` is configured: the cluster's namespaces and configmaps (the mutating webhook reads them too). */
  readonly cluster?: KubernetesClusterCache;
  /** Set when `admission.registries.enabled`: image metadata for imageRegistry context entries. */
  readonly registry?: ImageRegistry;
  /**
   * Set when `admission.cluster` is configured and `cleanup.enabled`: runs the loaded Kyverno
   * cleanup policies on their schedules (on the scheduler tick, not in the api role).
   */
  readonly cleanup?: CleanupSweep;
  /** Set when `admission.services.enabled`: calls for apiCall.service context entries. */
  readonly services?: ServiceCaller;
  /**
   * vigil.yaml with the packs' settings.yaml merged under it (context, act, actuators, ladder,
   * residency, supplyChain) and the files they came from: what the stages run with.
   */
  readonly settings: EffectiveSettings;
  readonly catalog: PolicyCatalog;
  readonly policySet: PolicySet;
  /** Policies that failed to load: reported, never fatal. */
  readonly loadErrors: readonly VigilError[];
  /** Stateless evaluation (eval, replay). */
  readonly evaluator: Evaluator;
  readonly decider: Decider;
  readonly executor: Executor;
  /** Approvals and escalation, exceptions, overrides, feedback. */
  readonly reviews: ReviewService;
  readonly context: ContextStage;
  /** The enforcement ladder, when a pack or vigil.yaml configures one (the cost pack does). */
  readonly ladder?: Ladder;
  /** The supply-chain enrichment and past-fix memory, when the pack's settings are loaded. */
  readonly supplyChain?: SupplyChainRuntime;
  readonly pipeline: Pipeline;
  readonly ingestor: Ingestor;
  readonly worker?: Worker;
  readonly tokens: TokenService;
  readonly deliveries: DeliveryIdStore;
  readonly feedback: FeedbackService;
  /**
   * The learner (learned state in use, update, reset, history); undefined when `learn.enabled` is
   * false. Decisions go through `calibrate`, `lookupFor` and `labelsFor` in the pipeline.
   */
  readonly learner?: Learner;
  /** The learner's schedule (refresh, update when due, proposal mining) and the update/reset entry points. */
  readonly learning: Learning;
  readonly metrics: Metrics;
  /** Persists events (durable when it resolves), then queues them; VIGIL_BACKPRESSURE when full. */
  ingest(events: readonly Event[]): Promise<AcceptResult>;
  /** Decides one decide-request input (a synthetic `dev.vigil.decide` event) and records it unless `record: false`. */
  decide(input: unknown, options?: DecideOptions): Promise<Decision | DecisionDraft>;
  /**
   * Decides one event through the whole pipeline (context, exceptions and overrides, risk, tier,
   * explanation); records it unless `record: false`. `enforced: false` records a dry run
   * (admission dryRun, audit mode): no actions, marked not enforced.
   */
  decideEvent(event: Event, options?: DecideEventOptions & { readonly record?: boolean }): Promise<Decision | DecisionDraft>;
  getDecision(id: string): Promise<Decision | undefined>;
  /**
   * Appends decided drafts to the decision record (durable when it resolves), then does what
   * follows a recorded decision (a `once` override it applied is used up). For paths that decide
   * with `pipeline.decideEvent` and record themselves (admission); they count their own metrics.
   */
  recordDecisions(drafts: readonly DecisionDraft[]): Promise<Decision[]>;
  /** Policies with revision, shadow and dry-run state. */
  policyStates(): Promise<PolicyState[]>;
  /**
   * Promotes a policy: out of shadow mode (catalog, this revision) and out of dry-run (executor),
   * answering with the shadow period's figures. VIGIL_NOT_FOUND for an unknown policy,
   * VIGIL_CONFLICT when there is nothing to promote.
   */
  promotePolicy(name: string, actor: Actor, reason?: string): Promise<PromotionResult>;
  /** Processes pending events, then starts the loops of this role. Idempotent. */
  start(): Promise<void>;
  /** Runs the scheduler once now (escalations, expiries, the ladder's due actions, the learning schedule); the timer calls it every `scheduler.tickMs`. */
  tick(): Promise<void>;
  /**
   * Imports what the organisation already knows (`vigil simulate --setup`): entities (operator)
   * and exceptions under their own ids (approver). Bad items are reported, the rest imported.
   */
  importSetup(setup: Setup, actor: Actor): Promise<SetupImportResult>;
  close(): Promise<void>;
}

/**
 * `actuators.preview`: built-in kinds (globs) that no configured provider offers get a preview
 * actuator (params validated, nothing sent, recorded as a dry run) instead of being blocked as
 * "no actuator is configured" — for demos without cloud accounts.
 */
function withPreviews(configured: readonly Actuator[], preview: unknown, clock: Clock): Actuator[] {
  if (preview === undefined) return [...configured];
  if (!Array.isArray(preview) || !preview.every((p) => typeof p === "string" && p !== "")) {
    throw new VigilError("VIGIL_BAD_CONFIG", `actuators.preview must be a list of action kinds (globs allowed, e.g. ["*"]), got ${JSON.stringify(preview)}`, { field: "actuators.preview" });
  }
  const offered = new Set(configured.map((a) => a.kind));
  const previews = createPreviewActuators(clock, "previewed only: no provider is configured for this kind (actuators.preview)")
    .filter((a) => !offered.has(a.kind) && (preview as string[]).some((pattern) => globMatch(pattern, a.kind)));
  return [...configured, ...previews];
}

function defaultProblem(message: string, error?: unknown): void {
  process.stderr.write(`${JSON.stringify({ level: "warn", time: Date.now(), msg: message, ...(error instanceof Error ? { err: error.message } : {}) })}\n`);
}

export async function createAgent(config: VigilConfig, options: AgentOptions = {}): Promise<Agent> {
  const role = options.role ?? config.server.role;
  if (role !== "all" && config.bus.kind !== "nats") {
    throw new VigilError("VIGIL_BAD_CONFIG", `server.role ${role} needs bus.kind nats (api processes hand events to workers through the bus); use role all with the in-process bus`, { field: "server.role" });
  }
  const problem = options.onProblem ?? defaultProblem;
  const { clock, manual, events } = clockFromConfig(config, options.clock);
  // The cluster's PolicyExceptions (admission.cluster.policyExceptions): read from the cluster cache, created below.
  let clusterForExceptions: KubernetesClusterCache | undefined;
  const clusterExceptions = config.admission.cluster !== undefined && config.admission.cluster.policyExceptions
    ? { read: () => clusterForExceptions?.policyExceptions?.() ?? { version: 0, documents: [] }, onProblem: (message: string) => problem(message) }
    : undefined;
  const { policySet, load, env } = loadPolicySet(config.policies, { costLimit: config.cel.costLimit, builtins: builtinPolicies(config), ...(clusterExceptions ? { exceptions: clusterExceptions } : {}) });
  // Bad pack settings stop the start before anything is opened (VIGIL_BAD_CONFIG names file and key).
  const settings = resolvePackSettings(config, policySet.policies.map((p) => p.meta.name));
  const storage = await openStorage(config);
  let bus: Bus;
  try {
    bus = await openBus(config);
  } catch (error) {
    await storage.close();
    throw error;
  }
  const catalog = createPolicyCatalog({ policySet, env, loadErrors: load.errors, storage, clock });
  await catalog.refresh();
  const decider = createDecider({ env, ...(config.decide as object) });
  const tokens = createTokenService({ storage, clock });
  const feedback = createFeedbackService({
    storage, clock,
    // A feedback event's `data.by` that names an API token holder gets that holder's roles.
    async rolesOf(name) {
      const now = clock.now().toISOString();
      const held = (await tokens.list()).filter((t) => t.name === name && t.revokedAt === undefined && (t.expiresAt === undefined || t.expiresAt > now));
      return held.length === 0 ? undefined : [...new Set(held.flatMap((t) => t.roles))];
    },
  });
  const guardrails = settings.act;
  const actuators = withPreviews(options.actuators ?? createBuiltinActuators({ ...(settings.actuators as BuiltinActuatorsConfig), clock }), settings.actuators["preview"], clock);
  const executor = createExecutor({ storage, clock, actuators, guardrails, env });
  const slackWebhooks = Object.keys(((settings.actuators as BuiltinActuatorsConfig).slack?.webhooks) ?? {});
  const reviews = createReviewService({
    ...(config.review as ReviewSettings),
    storage, clock, executor, env,
    policy: catalog.lookup,
    notifier: options.notifier ?? createActuatorNotifier(actuators, { slackWebhooks }),
  });
  // The cluster the admission webhook serves: namespaces and configmaps listed and watched into a cache.
  const clusterSettings = config.admission.cluster;
  const cluster = clusterSettings === undefined ? undefined : watchKubernetesCluster(clusterSettings, { onProblem: (message) => problem(message) });
  clusterForExceptions = cluster;
  if (cluster !== undefined && clusterSettings !== undefined && clusterSettings.syncTimeoutMs > 0) {
    const synced = await Promise.race([cluster.synced().then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), clusterSettings.syncTimeoutMs).unref())]);
    if (!synced) problem(`kubernetes cluster cache: not listed within ${clusterSettings.syncTimeoutMs} ms (${cluster.stats().lastError ?? "no answer yet"}); serving, the cache fills in the background`);
  }
  // Image registries for Kyverno imageRegistry context entries.
  const registries = config.admission.registries;
  const registry = registries.enabled ? createRegistryClient(registries) : undefined;
  // Services outside the cluster API for Kyverno apiCall.service entries.
  const services = config.admission.services.enabled ? createServiceCaller(config.admission.services) : undefined;
  const packs = createPackRuntime({
    storage, clock, settings, executor, reviews, lookup: catalog.lookup, onProblem: problem,
    ...(options.lockfileFetcher ? { lockfileFetcher: options.lockfileFetcher } : {}),
    ...(cluster ? { cluster } : {}),
    ...(registry ? { registry } : {}),
    ...(services ? { services } : {}),
  });
  const context = packs.context;
  const learning = await startLearning({ config, role, storage, clock, catalog, detectors: () => context.settings.detectors, onProblem: problem });
  // `once` overrides applied by a decision of the batch in flight: not applied again before they are marked used.
  const consumedOnce = new Set<string>();
  /** After decisions are durable: `once` overrides they applied are used up (not for dry runs). */
  const afterRecord = async (decisions: readonly Decision[]): Promise<void> => {
    for (const decision of decisions) {
      const applied = appliedRefs(decision).overrides;
      if (applied.length === 0 || !decision.enforced) continue;
      await reviews.overrides.markUsed(decision);
      for (const id of applied) consumedOnce.delete(id);
    }
    await packs.afterRecord(decisions);
  };
  const metrics = createMetrics();
  const pipeline = createPipeline({
    storage, context, catalog, decider, clock, feedback,
    ...(learning.learner ? { learning: learning.learner } : {}),
    contextFlushEvents: config.ingest.contextFlushEvents,
    async exemptions() {
      const current = await reviews.exemptions();
      if (consumedOnce.size === 0) return current;
      return { exceptions: current.exceptions, overrides: current.overrides.filter((o) => !consumedOnce.has(o.id)) };
    },
    async enforce(draft, ctx) {
      const applied = appliedRefs(draft).overrides;
      if (applied.length > 0) {
        const { overrides } = await reviews.exemptions();
        for (const id of applied) if (overrides.find((o) => o.id === id)?.scope === "once") consumedOnce.add(id);
      }
      if (!draft.findings.some((f) => f.effect === "violation")) return draft;
      return packs.act(draft, ctx);
    },
    afterRecord,
    ...(events ? { beforeEvent: (event: Event) => { events.follow(event.time); } } : {}),
    onDecision: (decision, seconds) => metrics.observeDecision(decision.verdict, decision.tier, seconds),
    onProblem: problem,
  });
  const nats = config.bus.kind === "nats";
  const ingestor = createIngestor({
    storage, pipeline, clock, bus,
    capacity: config.ingest.queueCapacity,
    batchSize: config.ingest.batchSize,
    mode: nats ? "publish" : "local",
    onError: problem,
  });
  const worker = nats && role !== "api"
    ? createWorker({ bus, storage, pipeline, clock, batchSize: config.ingest.batchSize, sweepIntervalMs: config.ingest.sweepIntervalMs, staleAfterMs: config.ingest.staleAfterMs, onError: problem })
    : undefined;
  const deliveries = createStorageDeliveryIdStore(storage, clock);
  const evaluator = createEvaluator(policySet, { clock, decider });
  metrics.gauge("vigil_ingest_queue_events", "Accepted events waiting to be processed in this process.", () => ingestor.stats().queued);
  metrics.gauge("vigil_ingest_processed_events", "Events processed by this process since start.", () => ingestor.stats().processed);
  if (cluster !== undefined) {
    metrics.gauge("vigil_cluster_cache_synced", "1 once the cluster cache (admission.cluster) listed every resource, else 0.", () => (cluster.stats().synced ? 1 : 0));
    metrics.gauge("vigil_cluster_cache_namespaces", "Namespaces in the cluster cache.", () => cluster.stats().namespaces);
    metrics.gauge("vigil_cluster_cache_configmaps", "ConfigMaps in the cluster cache.", () => cluster.stats().configMaps);
    metrics.gauge("vigil_cluster_cache_lists", "LISTs the cluster cache made (first syncs, then one per 410 Gone or failure).", () => cluster.stats().lists);
  }

  const policyState = async (summary: PolicySummary): Promise<PolicyState> => {
    const actPromotion = await executor.promotion(summary.name);
    const needsPromotion = guardrails.requirePromotion !== false || summary.declared.dryRun;
    return { ...summary, dryRun: needsPromotion && actPromotion?.promoted !== true, ...(actPromotion ? { actPromotion } : {}) };
  };

  // Kyverno cleanup policies run on their schedules against the cluster of admission.cluster.
  const cleanup = cluster !== undefined && config.cleanup.enabled
    ? createCleanupSweep({
      policies: () => catalog.list().flatMap((summary) => {
        const policy = catalog.lookup(summary.name);
        return isCleanupPolicy(policy) ? [policy] : [];
      }),
      cluster,
      clock,
      storage,
      ingest: (events) => ingestor.accept(events),
      maxCandidatesPerRun: config.cleanup.maxCandidatesPerRun,
      dryRun: async (name) => {
        const summary = catalog.summary(name);
        return summary === undefined || (await policyState(summary)).dryRun;
      },
      onProblem: (message) => problem(message),
      onRun: (run) => {
        metrics.inc("vigil_cleanup_runs_total", { policy: run.policy });
        metrics.inc("vigil_cleanup_candidates_total", { policy: run.policy }, run.ingested);
        if (run.errors > 0) metrics.inc("vigil_cleanup_errors_total", { policy: run.policy }, run.errors);
      },
    })
    : undefined;

  // Kyverno mutate-existing rules with mutateExistingOnPolicyUpdate run over the existing triggers once per revision.
  const mutateExisting = cluster !== undefined
    ? createMutateExistingSweep({
      policies: () => catalog.list().flatMap((summary) => {
        const policy = catalog.lookup(summary.name) as KyvernoPolicy | undefined;
        return policy?.mutateExisting ? [policy] : [];
      }),
      cluster,
      clock,
      storage,
      ingest: (events) => ingestor.accept(events),
      onProblem: (message) => problem(message),
    })
    : undefined;

  let started = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let learnTimer: ReturnType<typeof setInterval> | undefined;

  const agent: Agent = {
    config, role, storage, bus, clock, ...(manual ? { manualClock: manual } : {}), ...(events ? { eventClock: events } : {}), ...(cluster ? { cluster } : {}), ...(cleanup ? { cleanup } : {}), ...(registry ? { registry } : {}), ...(services ? { services } : {}), settings,
    catalog, policySet, loadErrors: load.errors, evaluator, decider, executor, reviews, context, pipeline, ingestor, ...(worker ? { worker } : {}),
    ...(packs.ladder ? { ladder: packs.ladder } : {}), ...(packs.supplyChain ? { supplyChain: packs.supplyChain } : {}),
    tokens, deliveries, feedback, metrics, learning, ...(learning.learner ? { learner: learning.learner } : {}),
    ingest: (events) => ingestor.accept(events),
    async decideEvent(event, decideOptions = {}) {
      const started = performance.now();
      const { draft } = await pipeline.decideEvent(event, { ...decideOptions, id: decideOptions.id ?? timeOrderedId() });
      if (decideOptions.record === false) return draft;
      const [decision] = await agent.recordDecisions([draft]);
      metrics.observeDecision(draft.verdict, draft.tier, (performance.now() - started) / 1000);
      return decision ?? draft;
    },
    async recordDecisions(drafts) {
      const decisions = await storage.appendDecisions(drafts);
      try {
        await afterRecord(decisions);
      } catch (error) {
        problem("after recording a decision: marking once-overrides used failed", error);
      }
      return decisions;
    },
    async decide(input, decideOptions = {}) {
      const event: Event = { specversion: "1.0", id: randomUUID(), source: "vigil:decide", type: decideOptions.eventType ?? EventTypes.decideRequest, time: clock.now().toISOString(), data: input };
      return agent.decideEvent(event, {
        explain: decideOptions.explain === true,
        record: decideOptions.record !== false,
        enforced: decideOptions.enforced ?? decideOptions.record !== false,
        ...(decideOptions.labels ? { labels: decideOptions.labels } : {}),
      });
    },
    getDecision: (id) => storage.getDecision(id),
    async policyStates() {
      return Promise.all(catalog.list().map(policyState));
    },
    async promotePolicy(name, actor, reason) {
      const summary = catalog.summary(name);
      if (!summary) throw new VigilError("VIGIL_NOT_FOUND", `no policy named ${name}; list them with GET /v1/policies`, { field: "name" });
      const before = await policyState(summary);
      if (before.mode !== "shadow" && !before.dryRun) {
        throw new VigilError("VIGIL_CONFLICT", `policy ${name} revision ${summary.revision} is already enforced and its actions run for real; nothing to promote`, { field: "name", policy: name });
      }
      // What the person is promoting: the decisions recorded for this revision before the promotion.
      const meta = catalog.lookup(name)?.meta;
      const shadow = await shadowReport(storage, name, meta ? { policy: meta } : {});
      if (before.dryRun) await executor.promote(name, actor, { revision: summary.revision, ...(reason ? { reason } : {}) });
      if (before.mode === "shadow") {
        if (!actor.roles.includes("admin") && !actor.roles.includes("approver")) throw new VigilError("VIGIL_FORBIDDEN", `promoting policy ${name} out of shadow mode needs the approver or admin role`, { field: "actor.roles" });
        await catalog.promoteShadow(name, actor.id, reason);
      }
      return { ...(await policyState(catalog.summary(name) as PolicySummary)), shadow };
    },
    async start() {
      if (started) return;
      started = true;
      if (role !== "api") {
        if (!nats) await ingestor.start();
        if (worker) await worker.start();
        timer = setInterval(() => {
          agent.tick().catch((error: unknown) => problem("scheduler tick failed", error));
        }, config.scheduler.tickMs);
        timer.unref();
      } else if (learning.learner) {
        // The api role runs no scheduler, but decides (decide requests, admission) and leads learning by default.
        learnTimer = setInterval(() => {
          learning.tick().catch((error: unknown) => problem("learning schedule failed", error));
        }, config.scheduler.tickMs);
        learnTimer.unref();
      }
    },
    async tick() {
      // Each part runs even when the other fails; the first failure is reported to the caller.
      let failure: unknown;
      const parts: (() => Promise<unknown>)[] = [() => reviews.tick(), () => packs.tick(), () => learning.tick()];
      if (cleanup && role !== "api") parts.push(() => cleanup.tick());
      if (mutateExisting && role !== "api") parts.push(() => mutateExisting.tick());
      for (const part of parts) {
        try {
          await part();
        } catch (error) {
          failure ??= error;
        }
      }
      if (failure !== undefined) throw failure;
    },
    importSetup: (setup, actor) => importSetup({ context, reviews }, setup, actor),
    async close() {
      if (timer) clearInterval(timer);
      if (learnTimer) clearInterval(learnTimer);
      await ingestor.stop();
      await worker?.stop();
      await cluster?.close();
      await bus.close();
      await storage.close();
    },
  };
  return agent;
}
