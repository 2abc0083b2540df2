/**
 * Test harness of the cost pack: the real pipeline (src/agent/pipeline.ts) with the pack's
 * policies and settings (packs/cost), the context stage, the decider, the executor behind the
 * enforcement ladder and the review queue, over a throwaway SQLite store and a manual clock.
 * Notifications and Kubernetes calls go to recording actuators; EC2 to the real AWS actuator when
 * a test passes its endpoint (the wire fake in src/act/actuators/aws-fakes.ts).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { ActionPlan, ActionResult, Actuator } from "../../src/core/action.js";
import type { Decision } from "../../src/core/decision.js";
import type { Event } from "../../src/core/event.js";
import { createContextStage, type ContextStage } from "../../src/context/index.js";
import { createDecider } from "../../src/decide/index.js";
import { createExecutor, type Executor } from "../../src/act/index.js";
import { createAwsActuators } from "../../src/act/actuators/index.js";
import { AWS_KEYS } from "../../src/act/actuators/aws-fakes.js";
import { testRuntime } from "../../src/act/actuators/test-server.js";
import { createLadder, type Ladder } from "../../src/act/ladder.js";
import { createTempStore, type TempStore } from "../../src/act/test-support.js";
import { createReviewService, type ReviewService } from "../../src/review/index.js";
import { createFeedbackService, createPipeline, createPolicyCatalog, loadPolicySet, type Pipeline } from "../../src/agent/index.js";
import { createSqliteStorage } from "../../src/store/sqlite/index.js";
import { manualClock, type ManualClock } from "../../src/decide/test-support.js";

export const packDir = fileURLToPath(new URL("../../packs/cost/", import.meta.url));
export const fixturesDir = fileURLToPath(new URL("../fixtures/", import.meta.url));

export interface PackSettings {
  readonly context: Record<string, unknown>;
  readonly ladder: Record<string, unknown>;
}

export function packSettings(): PackSettings {
  return parse(readFileSync(`${packDir}settings.yaml`, "utf8")) as PackSettings;
}

export interface Sent {
  readonly kind: string;
  readonly target: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly dryRun: boolean;
}

/** An actuator that records calls; reversible kinds keep a state per target so undo can be checked. */
export function recordingActuator(kind: string, sent: Sent[], state?: Map<string, string>): Actuator {
  const at = (): string => new Date(0).toISOString();
  return {
    kind,
    description: `records ${kind}`,
    validate() {},
    async apply(plan: ActionPlan, options): Promise<ActionResult> {
      const dryRun = options.dryRun || plan.dryRun;
      sent.push({ kind, target: plan.target.id, params: plan.params, dryRun });
      if (dryRun) return { actionId: plan.id, status: "dry-run", at: at(), output: { dryRun: true } };
      if (!state) return { actionId: plan.id, status: "applied", at: at() };
      const previous = state.get(plan.target.id) ?? "running";
      state.set(plan.target.id, kind);
      return { actionId: plan.id, status: "applied", at: at(), undo: { actuator: kind, params: { previous } } };
    },
    async undo(plan, result): Promise<ActionResult> {
      if (!state || result.undo === undefined) return { actionId: plan.id, status: "skipped", at: at(), error: "not reversible" };
      state.set(plan.target.id, String(result.undo.params["previous"]));
      return { actionId: plan.id, status: "undone", at: at() };
    },
  };
}

export interface CostHarness {
  readonly store: TempStore;
  readonly clock: ManualClock;
  readonly context: ContextStage;
  readonly executor: Executor;
  readonly ladder: Ladder;
  readonly review: ReviewService;
  readonly pipeline: Pipeline;
  /** Notifications and Kubernetes calls, in order. */
  readonly sent: Sent[];
  /** Kubernetes workload state by target id (`kubernetes.scale-to-zero` after a scale). */
  readonly workloads: Map<string, string>;
  readonly decisions: Decision[];
  /**
   * Processes events in order through the pipeline; events whose clock time (`clockOf`, default
   * the event time + 1 hour) is the same form one batch. The clock never goes back.
   */
  feed(events: Iterable<Event>, clockOf?: (event: Event) => number): Promise<Decision[]>;
  dispose(): Promise<void>;
}

export interface HarnessOptions {
  readonly start: string;
  /** EC2 endpoint of a wire fake: the real aws.ec2.stop-instances actuator is used. */
  readonly ec2Endpoint?: string;
  /** Overrides merged over the pack's context settings. */
  readonly context?: Record<string, unknown>;
}

function eventTimeMs(event: Event): number {
  return Date.parse(event.time ?? "1970-01-01T00:00:00Z");
}

export async function costHarness(options: HarnessOptions): Promise<CostHarness> {
  const settings = packSettings();
  const store = await createTempStore(createSqliteStorage);
  const storage = store.storage;
  const clock = manualClock(options.start);
  const { policySet, load, env } = loadPolicySet([`${packDir}policies`]);
  if (load.errors.length > 0) throw load.errors[0];
  const catalog = createPolicyCatalog({ policySet, env, loadErrors: load.errors, storage, clock });
  await catalog.refresh();
  const contextSettings = { ...settings.context, ...(options.context ?? {}) };
  const context = createContextStage({ storage, clock, settings: contextSettings as never });
  const decider = createDecider({ env });
  const sent: Sent[] = [];
  const workloads = new Map<string, string>();
  const actuators: Actuator[] = [
    recordingActuator("webhook.post", sent),
    recordingActuator("kubernetes.label", sent),
    recordingActuator("kubernetes.scale-to-zero", sent, workloads),
  ];
  if (options.ec2Endpoint) {
    const aws = createAwsActuators({ region: "us-east-1", credentials: AWS_KEYS, endpoints: { ec2: options.ec2Endpoint }, maxAttempts: 1 }, testRuntime());
    actuators.push(...aws.filter((a) => a.kind === "aws.ec2.stop-instances"));
  } else {
    actuators.push(recordingActuator("aws.ec2.stop-instances", sent, workloads));
  }
  const executor = createExecutor({ storage, clock, actuators, guardrails: { requirePromotion: false }, env });
  const review = createReviewService({ storage, clock, executor, policy: catalog.lookup, env });
  const ladder = createLadder({ storage, clock, executor, settings: settings.ladder as never, enqueue: (decision, records) => review.enqueue(decision, records, catalog.lookup) });
  const pipeline = createPipeline({
    storage, context, catalog, decider, clock, feedback: createFeedbackService(storage, clock),
    async enforce(draft, ctx) {
      if (!draft.findings.some((f) => f.effect === "violation")) return draft;
      return (await ladder.act(draft, ctx, catalog.lookup)).draft;
    },
  });
  const decisions: Decision[] = [];
  let seq = 0;

  return {
    store, clock, context, executor, ladder, review, pipeline, sent, workloads, decisions,
    async feed(events, clockOf = (event) => eventTimeMs(event) + 3_600_000) {
      const out: Decision[] = [];
      let batch: Event[] = [];
      let batchClock = Number.NaN;
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        if (batchClock > clock.now().getTime()) clock.set(new Date(batchClock).toISOString());
        const { stored } = await storage.appendEvents(batch, clock.iso());
        const recorded = await pipeline.processBatch(stored);
        out.push(...recorded);
        decisions.push(...recorded);
        batch = [];
        seq++;
      };
      for (const event of events) {
        const at = clockOf(event);
        if (at !== batchClock) await flush();
        batchClock = at;
        batch.push(event);
      }
      await flush();
      await pipeline.flushContext();
      return out;
    },
    dispose: () => store.dispose(),
  };
}

/** Findings of one policy among decisions, with their decision. */
export function violationsOf(decisions: readonly Decision[], policy: string): { decision: Decision; rule: string; message: string; outputs: Readonly<Record<string, unknown>> }[] {
  return decisions.flatMap((decision) => decision.findings
    .filter((f) => f.policy === policy && f.effect === "violation")
    .map((f) => ({ decision, rule: f.rule, message: f.message, outputs: f.outputs ?? {} })));
}
