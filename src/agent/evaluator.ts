/**
 * Stateless evaluation against a policy set, without storage or learned context: `vigil eval`,
 * `vigil replay` and tests. The agent's own paths (ingest, POST /v1/decide, admission) go
 * through the pipeline, which adds the context stage.
 */
import { randomUUID } from "node:crypto";
import { timeOrderedId } from "../core/ids.js";
import type { ClusterView, Context, ImageRegistry, ServiceCaller } from "../core/context.js";
import { evaluateWithLookups } from "../context/kubernetes/lookups.js";
import type { DecisionDraft } from "../core/decision.js";
import { EventTypes, type Event } from "../core/event.js";
import { systemClock, type Clock } from "../core/ports.js";
import { createDecider, type Decider } from "../decide/index.js";
import type { PolicySet } from "../policy/policy-set.js";
import type { Exemptions } from "./pipeline.js";

export interface DecideOptions {
  /** Event type for `on` matching; default `dev.vigil.decide`. */
  readonly eventType?: string;
  /** `agent.decide`: the synthetic event's subject (what the request is about; overrides are scoped to it). */
  readonly subject?: string;
  /** Explain mode: include passes and skips with full traces. */
  readonly explain?: boolean;
  /** Record the decision in the decision record (default true where there is a record). */
  readonly record?: boolean;
  /** False for dry runs (admission dryRun, what-if): evaluated and recorded, not enforced. Default: `record`. */
  readonly enforced?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * INVARIANT: never throws for bad policies or inputs; they become findings.
 */
export interface Evaluator {
  readonly policySet: PolicySet;
  /** Wraps a decide request input into a synthetic event. */
  eventForInput(input: unknown, eventType?: string): Event;
  contextFor(event: Event, input?: unknown): Context;
  decideEvent(event: Event, options?: DecideOptions & { readonly input?: unknown }): DecisionDraft;
  /**
   * `decideEvent` with the lookups of Kyverno rules answered from `sources` (image registries
   * for verifyImages and imageRegistry entries, a cluster, services): evaluated, what was asked
   * for fetched, evaluated again (MAX_LOOKUP_ROUNDS at most), as the pipeline does. Kubernetes
   * events only get the sources; other events decide as `decideEvent`.
   */
  decideEventWithLookups(event: Event, sources: LookupSources, options?: DecideOptions & { readonly input?: unknown }): Promise<DecisionDraft>;
}

/** What Kyverno rules may look up outside the event (vigil scan with admission.registries, ...). */
export interface LookupSources {
  readonly registry?: ImageRegistry;
  readonly cluster?: ClusterView;
  readonly services?: ServiceCaller;
}

export function createEvaluator(policySet: PolicySet, options: { readonly clock?: Clock; readonly decider?: Decider; readonly exemptions?: Exemptions } = {}): Evaluator {
  const clock = options.clock ?? systemClock;
  const decider = options.decider ?? createDecider();
  const normalPosture = { level: "normal" as const, scope: "org", since: new Date(0).toISOString() };
  const evaluator: Evaluator = {
    policySet,
    eventForInput(input, eventType = EventTypes.decideRequest) {
      return { specversion: "1.0", id: randomUUID(), source: "vigil:decide", type: eventType, time: clock.now().toISOString(), data: input };
    },
    contextFor(event, input) {
      return { event, input: input === undefined ? event.data : input, entities: {}, signals: {}, posture: normalPosture, now: clock.now().toISOString() };
    },
    decideEvent(event, decideOptions = {}) {
      const ctx = evaluator.contextFor(event, decideOptions.input);
      return decideWith(ctx, policySet.evaluate(ctx, decideOptions.explain ? { includePasses: true, exhaustive: true } : {}), decideOptions);
    },
    async decideEventWithLookups(event, sources, decideOptions = {}) {
      const plain = evaluator.contextFor(event, decideOptions.input);
      const kubernetesEvent = event.type === EventTypes.kubernetesResource || event.type === EventTypes.admissionReview || event.type === EventTypes.mutateExistingTrigger || event.type === EventTypes.generateTrigger;
      if (!kubernetesEvent || (sources.registry === undefined && sources.cluster === undefined && sources.services === undefined)) return evaluator.decideEvent(event, decideOptions);
      const evaluateOptions = decideOptions.explain ? { includePasses: true, exhaustive: true } : {};
      const { ctx, result } = await evaluateWithLookups({ ...plain, kubernetes: { ...sources, unanswered: new Set<string>() } }, (next) => policySet.evaluate(next, evaluateOptions));
      return decideWith(ctx, result, decideOptions);
    },
  };
  function decideWith(ctx: Context, result: ReturnType<PolicySet["evaluate"]>, decideOptions: DecideOptions): DecisionDraft {
    return decider.decide(ctx, result.findings, result.policyRevisions, {
      id: timeOrderedId(),
      now: clock.now().toISOString(),
      enforced: decideOptions.enforced ?? decideOptions.record !== false,
      policy: (name) => policySet.get(name),
      input: ctx.input,
      ...(options.exemptions ? { exceptions: options.exemptions.exceptions, overrides: options.exemptions.overrides } : {}),
      ...(decideOptions.labels ? { labels: decideOptions.labels } : {}),
    });
  }
  return evaluator;
}
