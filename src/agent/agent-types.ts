/**
 * The agent's public shape: what `createAgent` (runtime.ts) returns and takes. Kept apart from
 * the wiring so the server, the CLI and tests read the contract without the construction.
 */
import type { KubernetesClusterCache } from "../context/kubernetes/cluster-cache.js";
import type { ImageRegistry, ServiceCaller } from "../core/context.js";
import type { Decision, DecisionDraft } from "../core/decision.js";
import type { VigilError } from "../core/errors.js";
import type { Event } from "../core/event.js";
import type { Bus, Clock, Storage } from "../core/ports.js";
import type { VigilConfig } from "../config.js";
import type { ContextStage } from "../context/index.js";
import type { LockfileFetcher, SupplyChainRuntime } from "../context/supply-chain/index.js";
import type { Decider } from "../decide/index.js";
import type { Actor, Executor, PromotionState } from "../act/index.js";
import type { Ladder } from "../act/ladder.js";
import type { Actuator } from "../core/action.js";
import type { Notifier, ReviewService } from "../review/index.js";
import type { Learner, ShadowReport } from "../learn/index.js";
import type { PolicySet } from "../policy/policy-set.js";
import type { DeliveryIdStore } from "../sources/github.js";
import type { EventClock, ManualClock } from "./clock.js";
import type { DecideOptions, Evaluator } from "./evaluator.js";
import type { FeedbackService } from "./feedback.js";
import type { AcceptResult, Ingestor } from "./ingest.js";
import type { Learning } from "./learning.js";
import type { Metrics } from "./metrics.js";
import type { EffectiveSettings } from "./pack-settings.js";
import type { Setup, SetupImportResult } from "./setup.js";
import type { DecideEventOptions, Pipeline } from "./pipeline.js";
import type { PolicyCatalog, PolicySummary } from "./policies.js";
import type { TokenService } from "./tokens.js";
import type { Worker } from "./worker.js";
import type { CleanupSweep } from "./cleanup.js";

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
   * (admission dryRun, audit mode): no actions, marked not enforced. A decision not recorded is
   * not enforced either (no action runs, no review opens) unless `enforced: true` is given.
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
