/**
 * The Kubernetes validating admission webhook: `POST /v1/admission/validate`.
 *
 * Takes an AdmissionReview (`admission.k8s.io/v1` or `v1beta1`) and answers in the same
 * apiVersion with `response.uid` = `request.uid`. The review becomes an `io.k8s.admission.review`
 * event and goes through the pipeline like every other event (context, every policy that applies
 * to admission — Kyverno ClusterPolicy/Policy, ValidatingPolicy, VAP with bindings, native
 * policies `on: io.k8s.admission.review` — exceptions and overrides, risk, explanation); the
 * answer follows admission-review.ts. Every answered review is recorded in the decision record,
 * with its explanation, before the API server hears back (group-committed: agent/decision-recorder.ts, from a worker thread: agent/record-worker.ts).
 *
 * - `request.dryRun: true`: evaluated and answered as usual, recorded with `enforced: false`.
 * - Deadline (`admission.timeoutMs`, from the moment the request was parsed): past it, and on an
 *   internal error, the answer follows `admission.failurePolicy` (`fail` denies, `ignore` allows
 *   with a warning), and that answer is what is recorded.
 * - A malformed review is a 400 `{ error: { code: VIGIL_BAD_EVENT, field } }` naming the field.
 * - Access is `public`: the API server calls webhooks without a bearer token. Protect the port
 *   with TLS (`server.tls`) and network policy (docs/admission.md).
 */
import type { FastifyInstance } from "fastify";
import type { Agent } from "../agent.js";
import type { CompiledPolicy } from "../core/compiled-policy.js";
import type { DecisionDraft } from "../core/decision.js";
import type { Event } from "../core/event.js";
import type { Clock } from "../core/ports.js";
import { EventTypes } from "../core/event.js";
import { appliedRefs } from "../decide/index.js";
import { hasMutations } from "../policy/kyverno/mutation-chain.js";
import type { KyvernoPolicy } from "../policy/kyverno/policy.js";
import { reviewWithoutSecretValues, toAdmissionInput } from "../policy/kyverno/request.js";
import { createWorkerDecisionRecorder, workerCanRecord, type WorkerDecisionRecorder } from "../agent/record-worker.js";
import { createDecisionRecorder } from "../agent/decision-recorder.js";
import {
  deadlineText, failureDraft, failureStatus, outcomeForDecision, reviewResponse, settingsWithin,
  type AdmissionFailureKind, type AdmissionReviewResponse, type AdmissionSettings, type AdmissionStatus,
} from "./admission-review.js";
import { registerMutatingAdmissionRoute } from "./admission-mutate.js";
import { openReview, recordReview } from "./admission-exchange.js";
import { DeadlineExceeded, withDeadline } from "./deadline.js";
import { registerWebhookRoute } from "./admission-route.js";
import type { RoutePlugin } from "./route.js";

export const ADMISSION_PATH = "/v1/admission/validate";

export type { AdmissionSettings } from "./admission-review.js";

/** Everything the webhook needs, explicitly (tests inject failures through these). */
export interface AdmissionDeps {
  readonly settings: AdmissionSettings;
  readonly clock: Clock;
  /**
   * Decides one admission event without recording it: context, evaluation, exceptions and
   * overrides, risk, tier, explanation. Rejects only on internal failure.
   */
  decide(event: Event, options: { readonly id: string; readonly enforced: boolean; readonly labels: Readonly<Record<string, string>> }): Promise<DecisionDraft>;
  /** Appends to the decision record; resolves once durable (with nothing the webhook reads). */
  record(draft: DecisionDraft): Promise<unknown>;
  /** A policy by name as it is enforced now (shadow mode, failurePolicy). */
  policy(name: string): CompiledPolicy | undefined;
  /** Called once per answered review (metrics). */
  observe?(answer: { readonly verdict: "allow" | "deny"; readonly tier: string; readonly seconds: number; readonly outcome: "decided" | AdmissionFailureKind }): void;
  /** Problems that do not change the answer (a late recording failure...). */
  onProblem?(message: string, error?: unknown): void;
}

/** What the handler answers: an AdmissionReview (200) — a malformed review throws VIGIL_BAD_EVENT (400). */
export interface AdmissionAnswer {
  readonly body: AdmissionReviewResponse;
  /** The recorded decision's id (also in `response.auditAnnotations["decision-id"]`). */
  readonly decisionId: string;
  readonly draft: DecisionDraft;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Answers one AdmissionReview body. Throws VigilError(VIGIL_BAD_EVENT, field) for a malformed
 * review; otherwise always answers (by the policies, or by `failurePolicy`).
 */
export async function answerAdmissionReview(body: unknown, deps: AdmissionDeps): Promise<AdmissionAnswer> {
  const exchange = openReview(body, deps.settings, deps.clock);
  const { event, request, id, enforced, labels, receivedAt } = exchange;
  const failurePolicy = deps.settings.failurePolicy;

  let kind: "decided" | AdmissionFailureKind = "decided";
  let answer: { allowed: boolean; status?: AdmissionStatus; warnings: string[] };
  let draft: DecisionDraft;
  let failure: string | undefined;
  let decided: DecisionDraft | undefined;
  try {
    decided = await withDeadline(deps.decide(event, { id, enforced, labels }), exchange.remaining());
    // Synchronous evaluation can outrun the timer: a decision that arrives late is late.
    if (exchange.remaining() < 0) throw new DeadlineExceeded("decision arrived after the deadline");
  } catch (error) {
    kind = error instanceof DeadlineExceeded ? "timeout" : "error";
    failure = kind === "timeout" ? deadlineText(deps.settings) : message(error);
    if (kind === "error") deps.onProblem?.(`admission review ${request.uid}: decision failed: ${message(error)}`, error);
  }
  if (kind === "decided" && decided) {
    const outcome = outcomeForDecision(decided, request, (name) => deps.policy(name), failurePolicy);
    draft = outcome.draft;
    answer = { allowed: outcome.allowed, ...(outcome.status ? { status: outcome.status } : {}), warnings: [...outcome.warnings] };
  } else {
    const fallback = failureStatus(kind as AdmissionFailureKind, failure ?? "", failurePolicy);
    answer = { allowed: fallback.allowed, ...(fallback.status ? { status: fallback.status } : {}), warnings: fallback.warning ? [fallback.warning] : [] };
    const text = kind === "timeout" ? `no decision within ${deadlineText(deps.settings)}` : `internal error: ${failure ?? "unknown"}`;
    draft = failureDraft({
      id, eventId: event.id, eventType: event.type, ...(event.subject === undefined ? {} : { subject: event.subject }),
      time: receivedAt.toISOString(), enforced, labels: { ...labels, "admission.failure": kind }, input: event.data,
      // A late decision keeps its findings, so the record shows what the policies would have said.
      ...(decided ? { findings: decided.findings, policyRevisions: decided.policyRevisions, risk: decided.risk } : {}),
    }, fallback.allowed, text);
  }

  const unrecorded = await recordReview(exchange, deps.settings, draft, deps.record, deps.onProblem);
  if (unrecorded !== undefined) {
    kind = "record";
    if (answer.allowed) {
      const fallback = failureStatus("record", unrecorded, failurePolicy);
      answer = { allowed: fallback.allowed, ...(fallback.status ? { status: fallback.status } : {}), warnings: [...answer.warnings, ...(fallback.warning ? [fallback.warning] : [])] };
    }
  }
  deps.observe?.({ verdict: answer.allowed ? "allow" : "deny", tier: draft.tier, seconds: (performance.now() - exchange.started) / 1000, outcome: kind });
  return { body: reviewResponse(request, answer, id), decisionId: id, draft };
}

/** Registers `POST /v1/admission/validate` on `app` with explicit dependencies. */
export function registerAdmissionRoutes(app: FastifyInstance, deps: AdmissionDeps): void {
  registerWebhookRoute(app, {
    url: ADMISSION_PATH,
    mutating: false,
    summary: "Kubernetes validating admission webhook (AdmissionReview v1 and v1beta1)",
    description: "Evaluates every policy that applies to admission and answers the AdmissionReview: Enforce/Deny violations deny with a message naming each policy and rule, Audit/Warn violations allow with warnings. Dry-run requests are recorded as not enforced. On internal error or past admission.timeoutMs the answer follows admission.failurePolicy. Called by the API server without a bearer token (docs/admission.md).",
    answered: "The AdmissionReview answer (same apiVersion, response.uid = request.uid).",
    answer: (body, apiServerTimeout) => answerAdmissionReview(body, { ...deps, settings: settingsWithin(deps.settings, apiServerTimeout) }),
  });
}

/**
 * The webhook's dependencies from a running agent: its pipeline, catalog and metrics, and a
 * decision recorder — a worker thread with its own connection to the store (so durable appends
 * never block the HTTP thread), or the agent (in-memory SQLite store, worker not started yet or
 * failed to start). Resolves once the worker is up, or after 5 s at most. Call `close` when the
 * server stops.
 */
export async function admissionDepsFromAgent(agent: Agent): Promise<AdmissionDeps & { close(): Promise<void> }> {
  const settings = { store: agent.config.store, decisionLog: agent.config.decisionLog };
  const inThread = createDecisionRecorder((drafts) => agent.recordDecisions(drafts));
  // The worker starts in the background (a second or two from TypeScript sources); until it is
  // ready, and if it never starts, decisions are appended on the HTTP thread: correct, only slower.
  let worker: WorkerDecisionRecorder | undefined;
  const starting = workerCanRecord(settings)
    ? createWorkerDecisionRecorder(settings).then((started) => { worker = started; }, (error: unknown) => {
      process.stderr.write(`${JSON.stringify({ level: "warn", time: Date.now(), msg: `admission: decision record worker did not start (${error instanceof Error ? error.message : String(error)}); appending on the HTTP thread` })}\n`);
    })
    : Promise.resolve();
  // Usually the worker is up before the first review; never hold the server's start for long.
  await Promise.race([starting, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  // A decision that used a `once` override goes through the agent, which marks the override used
  // once the decision is durable (rare: the worker takes every other one).
  const usesOverride = (draft: DecisionDraft): boolean => draft.enforced && appliedRefs(draft).overrides.length > 0;
  return {
    close: async () => {
      await starting;
      await inThread.idle();
      await worker?.close();
    },
    settings: agent.config.admission,
    clock: agent.clock,
    async decide(event, options) {
      const { draft } = await agent.pipeline.decideEvent(event, { id: options.id, enforced: options.enforced, labels: options.labels });
      return draft;
    },
    // `append` on the worker: nothing here reads the chained decision, and not holding the draft
    // until the worker answers keeps it out of the old generation.
    record: (draft) => {
      triggerBackgroundWork(agent, draft);
      return (worker === undefined || usesOverride(draft) ? inThread.record(draft) : worker.append(draft)).catch((error: unknown) => {
        agent.metrics.inc("vigil_admission_record_failures_total");
        throw error;
      });
    },
    policy: (name) => agent.catalog.lookup(name),
    observe(answer) {
      agent.metrics.observeDecision(answer.verdict, answer.tier, answer.seconds);
      agent.metrics.inc("vigil_admission_reviews_total", { allowed: String(answer.verdict === "allow"), outcome: answer.outcome });
    },
    onProblem(text, error) {
      process.stderr.write(`${JSON.stringify({ level: "warn", time: Date.now(), msg: text, ...(error instanceof Error ? { err: error.message } : {}) })}\n`);
    },
  };
}

/**
 * Kyverno's background work runs after the request, not inside it (Kyverno's background
 * controller): an admitted, enforced review that a mutate-existing rule (`mutate.targets`,
 * MutatingPolicy `evaluation.mutateExisting`) selects is handed to the ingest loop as a
 * `dev.vigil.mutate.existing` event (id = the request uid, so the validating and the mutating
 * webhook hand it over once), and one that a generate rule or GeneratingPolicy selects as a
 * `dev.vigil.generate` event (id = `<uid>/generate`); the pipeline decides them and plans the
 * kubernetes.patch of each target / kubernetes.create of each generated object through the
 * guardrails. Never throws; a failure is logged.
 */
function triggerBackgroundWork(agent: Agent, draft: DecisionDraft): void {
  try {
    handBackgroundWork(agent, draft);
  } catch (error) {
    // A selector that throws must not keep the decision from its record (nor deny the request).
    process.stderr.write(`${JSON.stringify({ level: "warn", time: Date.now(), msg: "admission: selecting background work (mutate existing, generate) failed", err: error instanceof Error ? error.message : String(error) })}\n`);
  }
}

function handBackgroundWork(agent: Agent, draft: DecisionDraft): void {
  if (!draft.enforced || draft.verdict !== "allow" || draft.eventType !== EventTypes.admissionReview) return;
  const policies = agent.catalog.policySet.policies.filter((p) => (p as KyvernoPolicy).mutateExisting !== undefined || (p as KyvernoPolicy).generates !== undefined) as KyvernoPolicy[];
  if (policies.length === 0) return;
  const input = toAdmissionInput(draft.input);
  if (input === undefined) return;
  const request = (draft.input as { request?: { uid?: unknown } }).request;
  const uid = String(request?.uid ?? draft.eventId);
  const event = (type: string, id: string): Event => ({ specversion: "1.0", id, source: type === EventTypes.generateTrigger ? "vigil/generate" : "vigil/mutate-existing", type, ...(draft.subject ? { subject: draft.subject } : {}), time: agent.clock.now().toISOString(), data: draft.input });
  const events: Event[] = [];
  if (policies.some((p) => p.mutateExisting?.selects(input))) events.push(event(EventTypes.mutateExistingTrigger, uid));
  if (policies.some((p) => p.generates?.(input) === true)) events.push({ ...event(EventTypes.generateTrigger, `${uid}/generate`), data: reviewWithoutSecretValues(draft.input) });
  if (events.length === 0) return;
  agent.ingest(events).catch((error: unknown) => {
    process.stderr.write(`${JSON.stringify({ level: "warn", time: Date.now(), msg: "admission: handing background work (mutate existing, generate) to the ingest loop failed", err: error instanceof Error ? error.message : String(error) })}\n`);
  });
}

/** The admission route group (validate and mutate webhooks) for `buildServer({ routes: [admissionRoutes] })`; the recorder stops with the server. */
export const admissionRoutes: RoutePlugin = async (app, agent) => {
  const deps = await admissionDepsFromAgent(agent);
  app.addHook("onClose", async () => deps.close());
  registerAdmissionRoutes(app, deps);
  registerMutatingAdmissionRoute(app, {
    settings: deps.settings,
    clock: deps.clock,
    record: deps.record,
    exceptions: (event, findings) => agent.pipeline.exceptionsFor(event, findings),
    ...(deps.onProblem ? { onProblem: deps.onProblem } : {}),
    ...(agent.cluster ? { cluster: agent.cluster } : {}),
    ...(agent.registry ? { registry: agent.registry } : {}),
    ...(agent.services ? { services: agent.services } : {}),
    policies: () => agent.catalog.policySet.policies
      .filter((p) => hasMutations(p) && p.meta.on.includes(EventTypes.admissionReview))
      .map((p) => agent.catalog.lookup(p.meta.name) ?? p),
    observe(answer) {
      agent.metrics.observeDecision(answer.verdict, answer.tier, answer.seconds);
      agent.metrics.inc("vigil_admission_mutations_total", { allowed: String(answer.verdict === "allow"), mutated: String(answer.tier === "remediate"), outcome: answer.outcome });
    },
  });
};
