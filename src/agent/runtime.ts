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
import { openImageRegistry } from "./image-registry.js";
import { createServiceCaller } from "../context/kubernetes/service-caller.js";
import { randomUUID } from "node:crypto";
import { timeOrderedId } from "../core/ids.js";
import type { Decision } from "../core/decision.js";
import { isVigilError, VigilError } from "../core/errors.js";
import { isVigilIdentity } from "../core/identity.js";
import { EventTypes, type Event } from "../core/event.js";
import type { Bus, Clock } from "../core/ports.js";
import type { VigilConfig } from "../config.js";
import { createDecider } from "../decide/index.js";
import { createExecutor } from "../act/index.js";
import { entityCodec, entityRecordKey, ENTITY_COLLECTION } from "../context/entity-store.js";
import type { Entity } from "../core/entity.js";
import { createBuiltinActuators, type BuiltinActuatorsConfig } from "../act/actuators/index.js";
import type { Actuator } from "../core/action.js";
import { appliedRefs } from "../decide/index.js";
import { createReviewService, type ReviewSettings } from "../review/index.js";
import { shadowReport } from "../learn/index.js";
import { createActuatorNotifier } from "./notifier.js";
import { openBus, openStorage } from "./adapters.js";
import { clockFromConfig } from "./clock.js";
import { createStorageDeliveryIdStore } from "./delivery-ids.js";
import { createEvaluator } from "./evaluator.js";
import { createFeedbackService } from "./feedback.js";
import { createIngestor } from "./ingest.js";
import { startLearning } from "./learning.js";
import { createMetrics } from "./metrics.js";
import { createPackRuntime } from "./pack-runtime.js";
import { createPreviewActuators } from "./preview-actuators.js";
import { globMatch } from "../decide/exemptions.js";
import { resolvePackSettings } from "./pack-settings.js";
import { importSetup } from "./setup.js";
import { createPipeline } from "./pipeline.js";
import { builtinPolicies, createPolicyCatalog, loadPolicySet, type PolicySummary } from "./policies.js";
import { createTokenService } from "./tokens.js";
import { createWorker } from "./worker.js";
import { createCleanupSweep } from "./cleanup.js";
import { createMutateExistingSweep } from "./mutate-existing.js";
import type { KyvernoPolicy } from "../policy/kyverno/policy.js";
import { isCleanupPolicy } from "../policy/kyverno/cleanup-policy.js";
import type { Agent, AgentOptions, PolicyState } from "./agent-types.js";

export type { Agent, AgentOptions, AgentRole, PolicyState, PromotionResult } from "./agent-types.js";

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

/** How long a background sweep waits for room in a full ingest queue before it gives up (and runs again later). */
const SWEEP_ROOM_WAIT_MS = 60_000;

function defaultProblem(message: string, error?: unknown): void {
  process.stderr.write(`${JSON.stringify({ level: "warn", time: Date.now(), msg: message, ...(error instanceof Error ? { err: error.message } : {}) })}\n`);
}

export async function createAgent(config: VigilConfig, options: AgentOptions = {}): Promise<Agent> {
  // What is open when a later step fails (a bad setting, storage down): closed again, newest first,
  // so the error reaches the caller and nothing keeps the process alive (a cluster watch, a pool).
  const opened: { close(): Promise<void> }[] = [];
  try {
    return await openAgent(config, options, opened);
  } catch (error) {
    for (const resource of opened.reverse()) await resource.close().catch(() => undefined);
    throw error;
  }
}

async function openAgent(config: VigilConfig, options: AgentOptions, opened: { close(): Promise<void> }[]): Promise<Agent> {
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
  opened.push(storage);
  const bus: Bus = await openBus(config);
  opened.push(bus);
  const catalog = createPolicyCatalog({ policySet, env, loadErrors: load.errors, storage, clock });
  await catalog.refresh();
  const decider = createDecider({ env, ...(config.decide as object) });
  const tokens = createTokenService({ storage, clock });
  const feedback = createFeedbackService({
    storage, clock,
    // A feedback event's `data.by` that names an API token holder gets that holder's roles (names
    // compared as review compares people: trimmed, any case, so "Vic" is the viewer "vic").
    async rolesOf(name) {
      // In force as tokens.verify judges it: expiresAt compared as a time (it may carry an offset,
      // or no fraction of a second), expired at that instant.
      const now = clock.now().getTime();
      const person = name.trim().toLowerCase();
      const held = (await tokens.list()).filter((t) => t.name.trim().toLowerCase() === person && t.revokedAt === undefined && (t.expiresAt === undefined || Date.parse(t.expiresAt) > now));
      return held.length === 0 ? undefined : [...new Set(held.flatMap((t) => t.roles))];
    },
  });
  const guardrails = settings.act;
  const actuators = withPreviews(options.actuators ?? createBuiltinActuators({ ...(settings.actuators as BuiltinActuatorsConfig), clock }), settings.actuators["preview"], clock);
  // Protection is judged again, when a planned action runs, on the entity store as it is then (a
  // label added after planning). Read from storage, not the context's cache: the label may have
  // been set through another process (the api) while this one holds the entity in memory.
  const currentEntity = async (target: { readonly kind: string; readonly id: string }): Promise<Entity | undefined> => {
    const doc = await storage.getDoc<unknown>(ENTITY_COLLECTION, entityRecordKey(target.kind, target.id));
    return doc === undefined ? undefined : entityCodec.decode(doc.id, doc.value).toEntity();
  };
  const executor = createExecutor({ storage, clock, actuators, guardrails, env, currentEntity });
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
  if (cluster !== undefined) opened.push(cluster);
  if (cluster !== undefined && clusterSettings !== undefined && clusterSettings.syncTimeoutMs > 0) {
    const synced = await Promise.race([cluster.synced().then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), clusterSettings.syncTimeoutMs).unref())]);
    if (!synced) problem(`kubernetes cluster cache: not listed within ${clusterSettings.syncTimeoutMs} ms (${cluster.stats().lastError ?? "no answer yet"}); serving, the cache fills in the background`);
  }
  // Image registries for Kyverno imageRegistry context entries and verifyImages (keys in AWS KMS fetched).
  const registry = openImageRegistry(config);
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
    ? createWorker({ bus, storage, pipeline, clock, batchSize: config.ingest.batchSize, sweepIntervalMs: config.ingest.sweepIntervalMs, staleAfterMs: config.ingest.staleAfterMs, claimMs: config.ingest.claimMs, onError: problem })
    : undefined;
  let closing = false;
  /**
   * How the background sweeps (scheduled cleanup runs, mutate existing) hand over their events: in pieces that
   * leave half the queue to the API, each waiting for room while the queue is full (VIGIL_BACKPRESSURE
   * is for callers that can retry later; a sweep that failed on it would skip its objects). Gives up
   * with the last VIGIL_BACKPRESSURE after SWEEP_ROOM_WAIT_MS without room (the queue is not draining).
   */
  const sweepIngest = async (events: readonly Event[]): Promise<void> => {
    const piece = Math.max(1, Math.floor(config.ingest.queueCapacity / 2));
    for (let i = 0; i < events.length; i += piece) {
      const slice = events.slice(i, i + piece);
      const giveUpAt = Date.now() + SWEEP_ROOM_WAIT_MS;
      for (let delay = 10; ; delay = Math.min(1_000, delay * 2)) {
        try {
          await ingestor.accept(slice);
          break;
        } catch (error) {
          if (!isVigilError(error) || error.code !== "VIGIL_BACKPRESSURE" || closing || Date.now() + delay > giveUpAt) throw error;
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    }
  };
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
      // A run on demand (POST /v1/cleanup/{policy}/run) answers 429 at once when its candidates do not fit; scheduled runs wait for room.
      ingest: (events) => ingestor.accept(events),
      scheduledIngest: sweepIngest,
      maxCandidatesPerRun: config.cleanup.maxCandidatesPerRun,
      actState: async (name) => {
        const summary = catalog.summary(name);
        if (summary === undefined) return { dryRun: true };
        const state = await policyState(summary);
        return { dryRun: state.dryRun, ...(state.actPromotion?.promoted ? { promotedAt: state.actPromotion.at } : {}) };
      },
      redecideAfterMs: config.cleanup.redecideAfterMinutes * 60_000,
      onProblem: (message) => problem(message),
      onRun: (run) => {
        metrics.inc("vigil_cleanup_runs_total", { policy: run.policy });
        metrics.inc("vigil_cleanup_candidates_total", { policy: run.policy }, run.ingested);
        if (run.errors > 0) metrics.inc("vigil_cleanup_errors_total", { policy: run.policy }, run.errors);
      },
    })
    : undefined;

  // Kyverno mutate-existing rules with mutateExistingOnPolicyUpdate, and generateExisting, run over the existing triggers once per revision;
  // the objects of synchronized generate rules are brought to what the revision generates.
  const mutateExisting = cluster !== undefined
    ? createMutateExistingSweep({
      policies: () => catalog.list().flatMap((summary) => {
        const policy = catalog.lookup(summary.name) as KyvernoPolicy | undefined;
        return policy?.mutateExisting || policy?.generateExisting || policy?.synchronizedDownstream ? [policy] : [];
      }),
      cluster,
      clock,
      storage,
      ingest: sweepIngest,
      createdKinds: async (policy) => (await executor.listActions({ policy, status: "applied" }))
        .filter((action) => action.actuator === "kubernetes.create")
        .flatMap((action) => {
          const manifest = action.plan.params["manifest"] as { apiVersion?: unknown; kind?: unknown } | undefined;
          return typeof manifest?.apiVersion === "string" && typeof manifest.kind === "string" ? [{ apiVersion: manifest.apiVersion, kind: manifest.kind }] : [];
        }),
      onProblem: (message) => problem(message),
    })
    : undefined;

  let started = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let learnTimer: ReturnType<typeof setInterval> | undefined;
  /** The scheduled tick in flight: a tick longer than scheduler.tickMs is not joined by the next one. */
  let ticking: Promise<void> | undefined;
  const schedule = (run: () => Promise<unknown>, failed: string): void => {
    if (ticking !== undefined || closing) return;
    ticking = run().then(() => undefined, (error: unknown) => problem(failed, error)).finally(() => { ticking = undefined; });
  };

  const agent: Agent = {
    config, role, storage, bus, clock, ...(manual ? { manualClock: manual } : {}), ...(events ? { eventClock: events } : {}), ...(cluster ? { cluster } : {}), ...(cleanup ? { cleanup } : {}), ...(registry ? { registry } : {}), ...(services ? { services } : {}), settings,
    catalog, policySet, loadErrors: load.errors, evaluator, decider, executor, reviews, context, pipeline, ingestor, ...(worker ? { worker } : {}),
    ...(packs.ladder ? { ladder: packs.ladder } : {}), ...(packs.supplyChain ? { supplyChain: packs.supplyChain } : {}),
    tokens, deliveries, feedback, metrics, learning, ...(learning.learner ? { learner: learning.learner } : {}),
    ingest: (events) => ingestor.accept(events),
    async decideEvent(event, decideOptions = {}) {
      const started = performance.now();
      // A decision that is not recorded (a preview) is not enforced unless the caller says so, as in
      // decide(): its actions would run, and its reviews open, for a decision no record holds.
      const enforced = decideOptions.enforced ?? decideOptions.record !== false;
      const { draft } = await pipeline.decideEvent(event, { ...decideOptions, enforced, id: decideOptions.id ?? timeOrderedId() });
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
      const event: Event = { specversion: "1.0", id: randomUUID(), source: "vigil:decide", type: decideOptions.eventType ?? EventTypes.decideRequest, ...(decideOptions.subject ? { subject: decideOptions.subject } : {}), time: clock.now().toISOString(), data: input };
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
      // Humans stay in charge: an identity of Vigil's own never takes a policy out of shadow mode or dry-run, whatever its roles.
      if (typeof actor?.id === "string" && isVigilIdentity(actor.id)) {
        throw new VigilError("VIGIL_FORBIDDEN", `${actor.id} may not promote policy ${name}: Vigil never takes its own policies out of shadow mode or dry-run; a person with the approver or admin role does`, { field: "actor.id" });
      }
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
      // A `once` override applied by a decision recorded just before a crash is used up.
      try {
        await reviews.overrides.reconcileUsed();
      } catch (error) {
        problem("checking once-overrides against the decision record failed", error);
      }
      if (role !== "api") {
        if (!nats) await ingestor.start();
        if (worker) await worker.start();
        timer = setInterval(() => schedule(() => agent.tick(), "scheduler tick failed"), config.scheduler.tickMs);
        timer.unref();
      } else if (learning.learner) {
        // The api role runs no scheduler, but decides (decide requests, admission) and leads learning by default.
        learnTimer = setInterval(() => schedule(() => learning.tick(), "learning schedule failed"), config.scheduler.tickMs);
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
      closing = true;
      if (timer) clearInterval(timer);
      if (learnTimer) clearInterval(learnTimer);
      // The tick in flight finishes on an open store.
      await ticking;
      await ingestor.stop();
      await worker?.stop();
      await cluster?.close();
      await bus.close();
      await storage.close();
    },
  };
  return agent;
}
