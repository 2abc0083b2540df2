/**
 * The Kubernetes mutating admission webhook: `POST /v1/admission/mutate`.
 *
 * Takes an AdmissionReview (`admission.k8s.io/v1` or `v1beta1`), runs the mutations of every
 * policy that applies to admission (Kyverno mutate rules, Kyverno MutatingPolicy) in policy name
 * order, each seeing the previous one's output (policy/kyverno/mutation-chain.ts), and answers
 * `allowed: true` with `patchType: JSONPatch` and the base64 RFC 6902 patch from the object as
 * received to the final object (no patch when nothing changed). Validation stays on
 * `/v1/admission/validate`: the API server calls mutating webhooks first and validating webhooks
 * with the mutated object.
 *
 * - Every answered review is recorded (decision record, with an explanation listing each change
 *   by policy and rule) before the API server hears back, like the validating webhook.
 * - `request.dryRun: true`: mutated and answered as usual, recorded with `enforced: false`.
 * - A mutation that fails is reported: with the policy's `failurePolicy: Fail` (or, when it
 *   declares none, `admission.failurePolicy: fail`) the request is denied, otherwise allowed with
 *   a warning and without that policy's changes.
 * - Past `admission.timeoutMs` (lookups of the cluster, registries and exceptions included), and
 *   on an internal error, the answer follows `admission.failurePolicy` (`fail` denies, `ignore`
 *   allows unchanged with a warning).
 * - Policies in shadow mode are evaluated and recorded but change nothing.
 * - A Vigil exception in force switches off the mutations it covers (matched as on every path:
 *   policies, rules, subjects, `when`); the chain runs again without them. Overrides answer one
 *   decision of the validating path and do not apply here.
 */
import type { FastifyInstance } from "fastify";
import type { CompiledPolicy } from "../core/compiled-policy.js";
import type { DecisionDraft, ExplanationStep } from "../core/decision.js";
import type { Event } from "../core/event.js";
import type { Finding } from "../core/finding.js";
import type { Clock } from "../core/ports.js";
import type { JsonPatchOperation } from "../policy/kyverno/json-patch.js";
import { runMutationChain, type MutationChainResult } from "../policy/kyverno/mutation-chain.js";
import { toAdmissionInput, withCluster, type AdmissionInput } from "../policy/kyverno/request.js";
import { clusterContextResolver } from "../policy/kyverno/context.js";
import type { KyvernoEvaluateOptions } from "../policy/kyverno/policy.js";
import { eventNamespace, requestUser } from "../context/kubernetes/enricher.js";
import { fetchUnanswered, MAX_LOOKUP_ROUNDS } from "../context/kubernetes/lookups.js";
import type { ApiAnswer, ClusterView, ImageRegistry, ServiceCaller } from "../core/context.js";
import {
  deadlineText, denialMessage, errorDenies, failureDraft, failureStatus, reviewResponse, settingsWithin,
  type AdmissionFailureKind, type AdmissionRequestInfo, type AdmissionReviewResponse, type AdmissionSettings, type AdmissionStatus,
} from "./admission-review.js";
import { openReview, recordReview } from "./admission-exchange.js";
import { DeadlineExceeded, withDeadline } from "./deadline.js";
import { registerWebhookRoute } from "./admission-route.js";

export const ADMISSION_MUTATE_PATH = "/v1/admission/mutate";

export interface MutatingAdmissionDeps {
  readonly settings: AdmissionSettings;
  readonly clock: Clock;
  /** The policies that apply to admission, as they are enforced now (shadow mode applied). */
  policies(): readonly CompiledPolicy[];
  /** Appends to the decision record; resolves once durable. */
  record(draft: DecisionDraft): Promise<unknown>;
  /**
   * The Vigil exceptions in force that cover these applied mutations (findings of the review's
   * event), as every other path matches them, and those not applied because their condition could
   * not be judged (`problems`, noted in the decision). Absent: no exceptions apply.
   */
  exceptions?(event: Event, findings: readonly Finding[]): Promise<{
    readonly applied: readonly { readonly id: string; readonly policy: string; readonly rule: string; readonly text: string }[];
    readonly problems: readonly { readonly id: string; readonly reason: string }[];
  }>;
  observe?(answer: { readonly verdict: "allow" | "deny"; readonly tier: string; readonly seconds: number; readonly outcome: "decided" | AdmissionFailureKind }): void;
  onProblem?(message: string, error?: unknown): void;
  /** The cluster cache (admission.cluster): the namespace's labels and object, configMap context entries. */
  readonly cluster?: ClusterView;
  /** Image registries (admission.registries): imageRegistry context entries. */
  readonly registry?: ImageRegistry;
  /** Services (admission.services): apiCall.service context entries. */
  readonly services?: ServiceCaller;
}

export interface MutatingAdmissionAnswer {
  readonly body: AdmissionReviewResponse;
  readonly decisionId: string;
  readonly draft: DecisionDraft;
  /** The operations sent back (empty when the request was not changed or was denied). */
  readonly patch: readonly JsonPatchOperation[];
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const MAX_VALUE_TEXT = 80;

/** One operation in words: `add /metadata/labels/team = "payments"`. */
export function describeOperation(op: JsonPatchOperation): string {
  if (op.op === "remove") return `remove ${op.path}`;
  if ("from" in op) return `${op.op} ${op.from} to ${op.path}`;
  const text = JSON.stringify(op.value) ?? "null";
  return `${op.op} ${op.path} = ${text.length > MAX_VALUE_TEXT ? `${text.slice(0, MAX_VALUE_TEXT - 1)}…` : text}`;
}

interface ChainOutcome {
  readonly allowed: boolean;
  readonly status?: AdmissionStatus;
  readonly warnings: string[];
  readonly patch: readonly JsonPatchOperation[];
  readonly steps: ExplanationStep[];
  readonly summary: string;
}

/** The answer for a mutation chain's result: errors deny or warn per failurePolicy; shadow changes are notes. */
function chainOutcome(chain: MutationChainResult, request: AdmissionRequestInfo, lookup: (name: string) => CompiledPolicy | undefined, settings: AdmissionSettings): ChainOutcome {
  const steps: ExplanationStep[] = [];
  const warnings: string[] = [];
  const denials: { policy: string; rule: string; reason: string }[] = [];
  for (const p of chain.policies) {
    for (const f of p.findings) {
      if (f.effect === "error") {
        const reason = f.error?.message ?? f.message;
        if (!p.shadow && errorDenies(f, lookup(f.policy), settings.failurePolicy)) {
          denials.push({ policy: f.policy, rule: f.rule, reason: `mutation error (failurePolicy Fail): ${reason}` });
          steps.push({ kind: "note", text: `${f.policy}/${f.rule} could not be applied; its failurePolicy (Fail) denies the request`, policy: f.policy, rule: f.rule });
        } else {
          warnings.push(`policy ${f.policy}.${f.rule}: mutation error ignored${p.shadow ? " (shadow mode)" : " (failurePolicy Ignore)"}: ${reason}`);
          steps.push({ kind: "note", text: `${f.policy}/${f.rule} could not be applied (${reason}); the request goes on without it`, policy: f.policy, rule: f.rule });
        }
      } else if (f.effect === "violation") {
        // A verifyImages rule whose images do not verify: Enforce denies here, as Kyverno's mutating webhook does; Audit warns.
        if (!p.shadow && f.mode === "deny") {
          denials.push({ policy: f.policy, rule: f.rule, reason: f.message });
          steps.push({ kind: "condition", text: `${f.policy}/${f.rule} failed: ${f.message}`, policy: f.policy, rule: f.rule });
        } else {
          warnings.push(`policy ${f.policy}.${f.rule}: ${f.message}${p.shadow ? " (shadow mode)" : ""}`);
          steps.push({ kind: "condition", text: `${f.policy}/${f.rule} failed (${p.shadow ? "shadow mode" : "Audit"}): ${f.message}`, policy: f.policy, rule: f.rule });
        }
      } else if (f.effect === "skip") {
        steps.push({ kind: "condition", text: `${f.policy}/${f.rule} skipped: ${f.skipReason ?? f.message}`, policy: f.policy, rule: f.rule });
      } else if (f.effect === "pass") {
        steps.push({ kind: "condition", text: `${f.policy}/${f.rule} applied${f.message ? `: ${f.message}` : ""}`, policy: f.policy, rule: f.rule });
      }
    }
    if (p.patch.length > 0) {
      const words = p.patch.map(describeOperation).join("; ");
      const who = p.reinvoked === true ? `${p.policy} (reinvoked: a later policy changed the object)` : p.policy;
      steps.push({ kind: p.shadow ? "note" : "action", text: p.shadow ? `${who} (shadow mode) would have changed: ${words}` : `${who} changed: ${words}`, policy: p.policy });
    }
  }
  if (denials.length > 0) {
    return {
      allowed: false, warnings, patch: [], steps,
      status: { code: 403, reason: "Forbidden", status: "Failure", message: denialMessage(request.resource, denials) },
      summary: denials[0]?.reason.startsWith("mutation error") === false
        ? `Denied (block): ${denials[0]?.policy ?? ""}/${denials[0]?.rule ?? ""} failed for ${request.resource}: ${denials[0]?.reason ?? ""}`
        : `Denied (block) by failurePolicy Fail: ${denials[0]?.policy ?? ""}/${denials[0]?.rule ?? ""} could not mutate ${request.resource}.`,
    };
  }
  const changed = [...new Set(chain.policies.filter((p) => !p.shadow && p.patch.length > 0).map((p) => p.policy))];
  const summary = chain.patch.length > 0
    ? `Mutated ${request.resource}: ${changed.join(", ")} changed it (${chain.patch.length} JSON Patch operation${chain.patch.length === 1 ? "" : "s"}).`
    : `Allowed ${request.resource} unchanged: no mutation applied.`;
  return { allowed: true, warnings, patch: chain.patch, steps, summary };
}

/** Rounds of "run the chain, ask which applied mutations an exception covers": an exempted policy can change what the next one sees. */
const MAX_EXCEPTION_ROUNDS = 3;

/**
 * Runs the chain, then asks which of the mutations that applied are covered by a Vigil exception,
 * and runs it again without those (an exception switches a policy's or rule's mutation off for
 * the objects it covers, as it switches a violation off on the other paths). Repeats while new
 * exceptions turn up, at most MAX_EXCEPTION_ROUNDS times.
 */
async function mutateWithExceptions(policies: readonly CompiledPolicy[], input: AdmissionInput, event: Event, deps: MutatingAdmissionDeps): Promise<ExceptedChain> {
  const sources = { cluster: deps.cluster, registry: deps.registry, services: deps.services };
  const external = deps.cluster !== undefined || deps.registry !== undefined || deps.services !== undefined;
  let fetched: ReadonlyMap<string, ApiAnswer> | undefined;
  /** The chain with the cluster's and registries' answers: lookups nobody answered (apiCall GETs, images) are fetched and the chain run again (MAX_LOOKUP_ROUNDS at most), as on the validating path. */
  const chainWith = async (extra: KyvernoEvaluateOptions): Promise<MutationChainResult> => {
    for (let round = 0; ; round++) {
      const unanswered = new Set<string>();
      const resolver = !external ? {} : { resolver: clusterContextResolver({ ...(deps.cluster ? { cluster: deps.cluster } : {}), ...(deps.registry ? { registry: deps.registry } : {}), ...(deps.services ? { services: deps.services } : {}), unanswered, ...(fetched ? { fetched } : {}) }) };
      const result = runMutationChain(policies, input, { ...resolver, ...extra });
      if (!external || round >= MAX_LOOKUP_ROUNDS) return result;
      const more = await fetchUnanswered(sources, unanswered, fetched);
      if (more === undefined) return result;
      fetched = more;
    }
  };
  let chain = await chainWith({});
  if (!deps.exceptions) return { chain, excepted: [], problems: [] };
  const excepted = new Map<string, { id: string; policy: string; rule: string; text: string }>();
  const problems = new Map<string, string>();
  const key = (policy: string, rule: string): string => `${policy}\u0000${rule}`;
  for (let round = 0; round < MAX_EXCEPTION_ROUNDS; round++) {
    const applied = chain.findings.filter((f) => f.effect === "pass" && !excepted.has(key(f.policy, f.rule)));
    if (applied.length === 0) break;
    const answer = await deps.exceptions(event, applied);
    for (const problem of answer.problems) if (!problems.has(problem.id)) problems.set(problem.id, problem.reason);
    const found = answer.applied.filter((e) => !excepted.has(key(e.policy, e.rule)));
    if (found.length === 0) break;
    for (const e of found) excepted.set(key(e.policy, e.rule), { id: e.id, policy: e.policy, rule: e.rule, text: e.text });
    chain = await chainWith({ excepted: (policy, rule) => excepted.get(key(policy, rule))?.text });
  }
  return { chain, excepted: [...excepted.values()], problems: [...problems].map(([id, reason]) => ({ id, reason })) };
}

/** The chain's result with the exceptions that switched mutations off, and those that could not be judged. */
interface ExceptedChain {
  readonly chain: MutationChainResult;
  readonly excepted: readonly { id: string; policy: string; rule: string; text: string }[];
  readonly problems: readonly { id: string; reason: string }[];
}

/**
 * Answers one AdmissionReview on the mutating webhook. Throws VigilError(VIGIL_BAD_EVENT, field)
 * for a malformed review; otherwise always answers.
 */
export async function answerMutatingReview(body: unknown, deps: MutatingAdmissionDeps): Promise<MutatingAdmissionAnswer> {
  const exchange = openReview(body, deps.settings, deps.clock, { "admission.webhook": "mutate" });
  const { event, request, id, enforced, labels, receivedAt } = exchange;
  const base = { id, eventId: event.id, eventType: event.type, ...(event.subject === undefined ? {} : { subject: event.subject }), time: receivedAt.toISOString(), enforced, input: event.data };

  let kind: "decided" | AdmissionFailureKind = "decided";
  let answer: { allowed: boolean; status?: AdmissionStatus; warnings: string[]; patch: readonly JsonPatchOperation[] };
  let draft: DecisionDraft;
  try {
    const mutate = async (): Promise<ExceptedChain & { policies: readonly CompiledPolicy[] }> => {
      const policies = deps.policies();
      const parsed = toAdmissionInput(body);
      if (parsed === undefined) throw new Error("the review has no request");
      const cluster = deps.cluster;
      const namespace = cluster === undefined ? undefined : eventNamespace(event);
      const user = cluster === undefined ? undefined : requestUser(event);
      const input = cluster === undefined ? parsed : withCluster(parsed, namespace === undefined ? undefined : cluster.namespace(namespace), user === undefined ? {} : cluster.rolesOf(user));
      return { policies, ...(await mutateWithExceptions(policies, input, event, deps)) };
    };
    // The lookups the chain waits for (cluster, registries, exceptions in the store) are bounded
    // by the deadline too: past it the answer follows failurePolicy, as on the validating path.
    const { policies, chain, excepted, problems } = await withDeadline(mutate(), exchange.remaining());
    if (exchange.remaining() < 0) throw new DeadlineExceeded("mutations finished after the deadline");
    const outcome = chainOutcome(chain, request, (name) => policies.find((p) => p.meta.name === name), deps.settings);
    for (const e of excepted) {
      outcome.steps.push({ kind: "exception", text: e.text, policy: e.policy, rule: e.rule, ref: e.id });
      outcome.warnings.push(`vigil: ${e.policy}/${e.rule} not applied: ${e.text}`);
    }
    // As the decider notes them on every other path: the exception did not apply, and why.
    for (const problem of problems) outcome.steps.push({ kind: "note", text: `exception ${problem.id} not applied: ${problem.reason}`, ref: problem.id });
    const revisions: Record<string, string> = {};
    for (const p of chain.policies) {
      const policy = policies.find((c) => c.meta.name === p.policy);
      if (policy) revisions[p.policy] = policy.meta.revision;
    }
    answer = { allowed: outcome.allowed, ...(outcome.status ? { status: outcome.status } : {}), warnings: outcome.warnings, patch: outcome.patch };
    draft = {
      ...base,
      labels,
      verdict: outcome.allowed ? "allow" : "deny",
      tier: outcome.allowed ? (outcome.patch.length > 0 ? "remediate" : "observe") : "block",
      risk: { score: 0, factors: [] },
      findings: chain.findings as Finding[],
      actions: [],
      policyRevisions: revisions,
      explanation: { summary: outcome.summary, steps: [...outcome.steps, ...(enforced ? [] : [{ kind: "note", text: "not enforced (dry run): recorded only" }])] },
    };
  } catch (error) {
    kind = error instanceof DeadlineExceeded ? "timeout" : "error";
    const failure = kind === "timeout" ? deadlineText(deps.settings) : message(error);
    if (kind === "error") deps.onProblem?.(`admission review ${request.uid}: mutation failed: ${message(error)}`, error);
    const fallback = failureStatus(kind, failure, deps.settings.failurePolicy);
    answer = { allowed: fallback.allowed, ...(fallback.status ? { status: fallback.status } : {}), warnings: fallback.warning ? [fallback.warning] : [], patch: [] };
    const text = kind === "timeout" ? `no mutation within ${deadlineText(deps.settings)}` : `internal error: ${failure}`;
    draft = failureDraft({ ...base, labels: { ...labels, "admission.failure": kind } }, fallback.allowed, text);
  }

  const unrecorded = await recordReview(exchange, deps.settings, draft, deps.record, deps.onProblem);
  if (unrecorded !== undefined) {
    kind = "record";
    const fallback = failureStatus("record", unrecorded, deps.settings.failurePolicy);
    // An unrecorded mutation is not sent: fail-closed denies, fail-open allows the object unchanged.
    if (answer.allowed) answer = { allowed: fallback.allowed, ...(fallback.status ? { status: fallback.status } : {}), warnings: [...answer.warnings, ...(fallback.warning ? [fallback.warning] : [])], patch: [] };
  }
  deps.observe?.({ verdict: answer.allowed ? "allow" : "deny", tier: draft.tier, seconds: (performance.now() - exchange.started) / 1000, outcome: kind });
  return { body: reviewResponse(request, answer, id), decisionId: id, draft, patch: answer.allowed ? answer.patch : [] };
}

/** Registers `POST /v1/admission/mutate` on `app` with explicit dependencies. */
export function registerMutatingAdmissionRoute(app: FastifyInstance, deps: MutatingAdmissionDeps): void {
  registerWebhookRoute(app, {
    url: ADMISSION_MUTATE_PATH,
    mutating: true,
    summary: "Kubernetes mutating admission webhook (AdmissionReview v1 and v1beta1)",
    description: "Runs the mutations of every policy that applies to admission (Kyverno mutate rules, MutatingPolicy) in policy name order and answers with a base64 JSON Patch (patchType JSONPatch) when the object changed. A mutation error denies when its policy's failurePolicy is Fail. Every answer is recorded with an explanation of each change (docs/admission.md).",
    answered: "The AdmissionReview answer (same apiVersion, response.uid = request.uid, patch when mutated).",
    answer: (body, apiServerTimeout) => answerMutatingReview(body, { ...deps, settings: settingsWithin(deps.settings, apiServerTimeout) }),
  });
}
