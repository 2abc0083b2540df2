/**
 * The composition root: chooses adapters from configuration and wires the stages
 * (source → context → evaluate → decide → act → record → learn). The CLI and the server reach
 * storage, bus and policies only through here.
 */
import { randomUUID } from "node:crypto";
import type { Context } from "./core/context.js";
import type { Decision, DecisionDraft } from "./core/decision.js";
import type { VigilError } from "./core/errors.js";
import type { Event } from "./core/event.js";
import { EventTypes } from "./core/event.js";
import type { Clock, Storage } from "./core/ports.js";
import { systemClock } from "./core/ports.js";
import type { VigilConfig } from "./config.js";
import { buildDecision } from "./decide/decision.js";
import { createCelEnvironment } from "./policy/cel/index.js";
import { loadPolicies, type LoadResult } from "./policy/load.js";
import { createPolicySet, type PolicySet } from "./policy/policy-set.js";
import { createSqliteStorage } from "./store/sqlite/index.js";
import { createPostgresStorage } from "./store/postgres/index.js";
import { verifyDecisionRecord, type VerifyResult } from "./store/chain.js";
import type { MaskConfig } from "./store/mask.js";

export type { VerifyResult } from "./store/chain.js";

/** The mask configuration of the decision log, from config. */
export function maskConfigOf(config: Pick<VigilConfig, "decisionLog">): MaskConfig | undefined {
  if (config.decisionLog.mask.length === 0) return undefined;
  return { paths: config.decisionLog.mask.map((m) => (typeof m === "string" ? m : { path: m.path, ...(m.mode ? { mode: m.mode } : {}) })), mode: config.decisionLog.maskMode };
}

/** Opens the configured Storage adapter (SQLite by default) and applies migrations. */
export async function openStorage(config: Pick<VigilConfig, "store" | "decisionLog">): Promise<Storage> {
  const mask = maskConfigOf(config);
  const storage = config.store.kind === "postgres"
    ? createPostgresStorage({ url: config.store.url ?? "postgres://postgres@127.0.0.1:5432/postgres", schema: config.store.schema, ...(mask ? { mask } : {}) })
    : (await ensureParentDir(config.store.path), createSqliteStorage({ path: config.store.path, ...(mask ? { mask } : {}) }));
  await storage.init();
  return storage;
}

async function ensureParentDir(file: string): Promise<void> {
  if (file === ":memory:") return;
  const { mkdir } = await import("node:fs/promises");
  const { dirname } = await import("node:path");
  await mkdir(dirname(file), { recursive: true });
}

/** Verifies the hash chain of the configured decision record. */
export async function verifyRecord(storage: Storage): Promise<VerifyResult> {
  return verifyDecisionRecord(storage);
}

/** Loads policies from files/directories with the shared CEL environment. */
export function loadPolicySet(paths: readonly string[], options: { readonly costLimit?: number } = {}): { policySet: PolicySet; load: LoadResult } {
  const env = createCelEnvironment(options.costLimit === undefined ? {} : { costLimit: options.costLimit });
  const load = loadPolicies(paths, { env });
  return { policySet: createPolicySet(load.policies), load };
}

export interface DecideOptions {
  /** Event type for `on` matching; default `dev.vigil.decide`. */
  readonly eventType?: string;
  /** Explain mode: include passes and skips with full traces. */
  readonly explain?: boolean;
  /** Record the decision in the decision record (default true when the evaluator has storage). */
  readonly record?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Stateless evaluation of inputs and events against a policy set: the decide path of `vigil eval`,
 * `vigil replay` and `POST /v1/decide` before the agent's context stage is wired in.
 * INVARIANT: never throws for bad policies or inputs; they become findings.
 */
export interface Evaluator {
  readonly policySet: PolicySet;
  /** Wraps a decide request input into a synthetic event. */
  eventForInput(input: unknown, eventType?: string): Event;
  contextFor(event: Event, input?: unknown): Context;
  decideEvent(event: Event, options?: DecideOptions & { readonly input?: unknown }): DecisionDraft;
}

export function createEvaluator(policySet: PolicySet, options: { readonly clock?: Clock } = {}): Evaluator {
  const clock = options.clock ?? systemClock;
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
      const result = policySet.evaluate(ctx, decideOptions.explain ? { includePasses: true, exhaustive: true } : {});
      return buildDecision(ctx, result.findings, result.policyRevisions, {
        id: randomUUID(),
        now: clock.now().toISOString(),
        enforced: decideOptions.record !== false,
        policy: (name) => policySet.get(name)?.meta,
        input: ctx.input,
        ...(decideOptions.labels ? { labels: decideOptions.labels } : {}),
      });
    },
  };
  return evaluator;
}

export interface Agent {
  readonly config: VigilConfig;
  readonly storage: Storage;
  readonly evaluator: Evaluator;
  readonly policySet: PolicySet;
  /** Policies that failed to load: reported, never fatal. */
  readonly loadErrors: readonly VigilError[];
  readonly clock: Clock;
  /** Decide one input (a decide request) and record the decision. */
  decide(input: unknown, options?: DecideOptions): Promise<Decision | DecisionDraft>;
  getDecision(id: string): Promise<Decision | undefined>;
  close(): Promise<void>;
}

export async function createAgent(config: VigilConfig, options: { readonly clock?: Clock } = {}): Promise<Agent> {
  const clock = options.clock ?? systemClock;
  const { policySet, load } = loadPolicySet(config.policies, { costLimit: config.cel.costLimit });
  const storage = await openStorage(config);
  const evaluator = createEvaluator(policySet, { clock });
  return {
    config,
    storage,
    evaluator,
    policySet,
    loadErrors: load.errors,
    clock,
    async decide(input, decideOptions = {}) {
      const event = evaluator.eventForInput(input, decideOptions.eventType);
      const draft = evaluator.decideEvent(event, decideOptions);
      if (decideOptions.record === false) return draft;
      const [decision] = await storage.appendDecisions([draft]);
      return decision ?? draft;
    },
    getDecision: (id) => storage.getDecision(id),
    close: () => storage.close(),
  };
}
