/**
 * The packs' runtime parts, wired the same way for the running agent and for `vigil replay`:
 *
 *   context  = createContextStage({ settings: <merged context>, enrichers: [residency] })
 *              wrapped by the supply-chain runtime (build adds context.dependencies)
 *   act      = the enforcement ladder for the policies it covers (cost), the executor for the
 *              others; a review is opened for actions waiting for a person and approve-tier findings
 *   afterRecord = the supply-chain memory of blocks (past fixes)
 *   tick     = the ladder's due actions, lapses and approvals
 *
 * A part runs when its settings exist (EffectiveSettings from pack-settings.ts): no residency
 * settings, no residency enrichment; no ladder settings, no ladder.
 */
import type { Context } from "../core/context.js";
import type { Decision, DecisionDraft } from "../core/decision.js";
import type { Clock, Storage } from "../core/ports.js";
import { createContextStage, type ContextEnricher, type ContextStage } from "../context/index.js";
import { createResidencyEnricher, type ResidencyEnricher } from "../context/residency/index.js";
import { createSupplyChainRuntime, type LockfileFetcher, type SupplyChainRuntime } from "../context/supply-chain/index.js";
import type { PolicyLookup } from "../decide/conditions.js";
import type { Executor } from "../act/index.js";
import { createLadder, type Ladder, type LadderTickResult } from "../act/ladder.js";
import type { ReviewService } from "../review/index.js";
import type { ClusterView, ImageRegistry, ServiceCaller } from "../core/context.js";
import { createKubernetesEnricher } from "../context/kubernetes/enricher.js";
import type { EffectiveSettings } from "./pack-settings.js";

export interface PackRuntimeOptions {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly settings: EffectiveSettings;
  readonly executor: Executor;
  readonly reviews: ReviewService;
  /** The policies with their effective enforcement (catalog.lookup). */
  readonly lookup: PolicyLookup;
  readonly onProblem: (message: string, error?: unknown) => void;
  /** Fetches pull requests' lockfiles instead of the GitHub contents API (tests, other forges). */
  readonly lockfileFetcher?: LockfileFetcher;
  /** The Kubernetes cluster cache (admission.cluster): Kubernetes events get `ctx.kubernetes`. */
  readonly cluster?: ClusterView;
  /** Image registries (admission.registries): Kubernetes events get `ctx.kubernetes.registry`. */
  readonly registry?: ImageRegistry;
  /** Services for apiCall.service entries (admission.services): Kubernetes events get `ctx.kubernetes.services`. */
  readonly services?: ServiceCaller;
}

export interface PackRuntime {
  readonly context: ContextStage;
  readonly ladder?: Ladder;
  readonly supplyChain?: SupplyChainRuntime;
  readonly residency?: ResidencyEnricher;
  /**
   * The act step of a violating decision: plans and applies (or, for a decision that is not
   * enforced, previews) its actions within the guardrails — through the ladder for the policies it
   * covers — and opens a review when actions wait for a person or a finding asks for approval
   * (idempotent per decision and policy). Returns the decision with its actions and steps.
   */
  act(draft: DecisionDraft, ctx: Context): Promise<DecisionDraft>;
  /** After decisions are durable: the supply-chain memory remembers blocks. Never rejects. */
  afterRecord(decisions: readonly Decision[]): Promise<void>;
  /** The ladder's scheduled work (due actions, lapses, approvals followed); undefined without a ladder. */
  tick(): Promise<LadderTickResult | undefined>;
}

export function createPackRuntime(options: PackRuntimeOptions): PackRuntime {
  const { storage, clock, settings, executor, reviews, lookup } = options;
  const residency = settings.residency ? createResidencyEnricher({ settings: settings.residency }) : undefined;
  const external = options.cluster !== undefined || options.registry !== undefined || options.services !== undefined;
  const enrichers: ContextEnricher[] = [
    ...(residency ? [residency] : []),
    ...(external ? [createKubernetesEnricher({ ...(options.cluster ? { cluster: options.cluster } : {}), ...(options.registry ? { registry: options.registry } : {}), ...(options.services ? { services: options.services } : {}) })] : []),
  ];
  const stage = createContextStage({ storage, clock, settings: settings.context, enrichers });
  const supplyChain = settings.supplyChain
    ? createSupplyChainRuntime({
      storage, clock,
      settings: settings.supplyChain.settings,
      github: settings.supplyChain.github,
      onProblem: options.onProblem,
      ...(options.lockfileFetcher ? { fetcher: options.lockfileFetcher } : {}),
    })
    : undefined;
  const context = supplyChain ? supplyChain.wrap(stage) : stage;
  const ladder = settings.ladder
    ? createLadder({
      storage, clock, executor,
      settings: settings.ladder,
      ...(settings.act.notificationKinds ? { notificationKinds: settings.act.notificationKinds } : {}),
      enqueue: (decision, records) => reviews.enqueue(decision, records, lookup),
    })
    : undefined;

  return {
    context,
    ...(ladder ? { ladder } : {}),
    ...(supplyChain ? { supplyChain } : {}),
    ...(residency ? { residency } : {}),
    async act(draft, ctx) {
      const outcome = ladder ? await ladder.act(draft, ctx, lookup) : await executor.act(draft, ctx, lookup);
      const asksApproval = outcome.draft.explanation.steps.some((s) => s.kind === "tier" && s.tier === "approve");
      // Idempotent per (decision, policy): processing the event again finds the same review.
      if (outcome.pending.length > 0 || asksApproval) await reviews.enqueue(outcome.draft, outcome.records, lookup);
      return outcome.draft;
    },
    async afterRecord(decisions) {
      if (supplyChain) await supplyChain.afterRecord(decisions);
    },
    async tick() {
      return ladder ? ladder.tick() : undefined;
    },
  };
}
