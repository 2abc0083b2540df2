/**
 * The admission webhook's answer, computed from a decision: which findings deny the request,
 * which become warnings, and the AdmissionReview response the API server expects (same
 * apiVersion and kind back, `response.uid` = `request.uid`). Pure: no I/O, never throws.
 *
 * What denies (Kyverno's webhook rules, applied to every policy language):
 * - a violation whose mode is `deny` (Kyverno Enforce, VAP Deny, a native `deny` rule), unless
 *   its policy runs in shadow mode;
 * - an evaluation error of a policy whose failurePolicy is `Fail` (Kyverno and VAP
 *   `spec.failurePolicy`); for policies without one (native Vigil), an error of a `deny` rule when
 *   `admission.failurePolicy` is `fail`.
 * Everything else that did not pass becomes a warning: `policy <name>.<rule>: <message>` (Audit
 * and Warn violations, ignored errors), plus one line per exception or override that applied.
 */
import { stringify } from "yaml";
import type { CompiledPolicy } from "../core/compiled-policy.js";
import type { DecisionDraft, ExplanationStep } from "../core/decision.js";
import type { Finding } from "../core/finding.js";
import { tierRank } from "../core/policy.js";

export type AdmissionFailurePolicy = "fail" | "ignore";

export interface AdmissionSettings {
  /** `fail`: deny when Vigil cannot decide or record (fail-closed); `ignore`: allow with a warning. */
  readonly failurePolicy: AdmissionFailurePolicy;
  /** Per-request deadline in milliseconds. */
  readonly timeoutMs: number;
  /**
   * true (default): answer once the decision is durable (a record failure answers per
   * failurePolicy); false: answer once decided, append right after (failures reported, not answered).
   */
  readonly awaitRecord?: boolean;
  /** CloudEvents `source` of admission events; default `/k8s/admission`. */
  readonly source?: string;
  /** Set when `timeoutMs` was shortened to fit the API server's own timeout (its `?timeout=`), in ms. */
  readonly apiServerTimeoutMs?: number;
}

/**
 * The share of the API server's timeout Vigil decides in: recording may take half as long again
 * (recordReview), so 0.6 × 1.5 = 0.9 of it, and the rest is left for the answer's way back.
 */
const API_SERVER_TIMEOUT_SHARE = 0.6;

/**
 * The settings of one review, given the API server's timeout for it (ms; from the `?timeout=`
 * it appends to the webhook URL): a deadline past the moment the API server stops waiting would
 * record an answer the API server never heard (its own failurePolicy decided instead).
 */
export function settingsWithin(settings: AdmissionSettings, apiServerTimeoutMs: number | undefined): AdmissionSettings {
  if (apiServerTimeoutMs === undefined) return settings;
  const fitted = Math.floor(apiServerTimeoutMs * API_SERVER_TIMEOUT_SHARE);
  return fitted < settings.timeoutMs ? { ...settings, timeoutMs: Math.max(fitted, 1), apiServerTimeoutMs } : settings;
}

/** The deadline as messages name it. */
export function deadlineText(settings: AdmissionSettings): string {
  return settings.apiServerTimeoutMs === undefined
    ? `admission.timeoutMs ${settings.timeoutMs} ms`
    : `${settings.timeoutMs} ms, admission.timeoutMs shortened to fit the API server's timeout of ${settings.apiServerTimeoutMs} ms`;
}

/** The request fields the answer needs (already validated). */
export interface AdmissionRequestInfo {
  readonly apiVersion: string;
  readonly uid: string;
  readonly dryRun: boolean;
  readonly operation: string;
  /** `Kind/namespace/name` as Kyverno prints it (namespace empty for cluster-scoped objects). */
  readonly resource: string;
}

export interface AdmissionStatus {
  readonly code: number;
  readonly message: string;
  readonly reason?: string;
  readonly status: "Failure";
}

/** What the webhook answers, and the decision as it is recorded (adjusted when an error denies). */
export interface AdmissionOutcome {
  readonly allowed: boolean;
  readonly status?: AdmissionStatus;
  readonly warnings: readonly string[];
  readonly draft: DecisionDraft;
}

/** The AdmissionReview sent back to the API server. */
export interface AdmissionReviewResponse {
  readonly apiVersion: string;
  readonly kind: "AdmissionReview";
  readonly response: {
    readonly uid: string;
    readonly allowed: boolean;
    readonly status?: AdmissionStatus;
    readonly warnings?: readonly string[];
    readonly auditAnnotations?: Readonly<Record<string, string>>;
    /** Mutating webhook only: always "JSONPatch" when `patch` is present. */
    readonly patchType?: "JSONPatch";
    /** Mutating webhook only: base64 of the RFC 6902 operations, as the API server expects. */
    readonly patch?: string;
  };
}

/** Kubernetes truncates longer warnings; keep each one readable as a whole line. */
const MAX_WARNING_LENGTH = 256;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `Kind/namespace/name` of the object under review (Kyverno's "resource ... was blocked" form). */
export function admissionResourceName(request: Readonly<Record<string, unknown>>): string {
  const object = [request["object"], request["oldObject"]].find(isRecord);
  const meta = object !== undefined && isRecord(object["metadata"]) ? object["metadata"] : {};
  const gvk = isRecord(request["kind"]) ? request["kind"] : {};
  const kind = typeof object?.["kind"] === "string" ? object["kind"] : typeof gvk["kind"] === "string" ? gvk["kind"] : "";
  const namespace = [request["namespace"], meta["namespace"]].find((v) => typeof v === "string" && v !== "") ?? "";
  const name = [request["name"], meta["name"], meta["generateName"]].find((v) => typeof v === "string" && v !== "") ?? "";
  return `${kind}/${String(namespace)}/${String(name)}`;
}

/**
 * A warning as one line of at most 256 characters counted as the API server counts them (runes,
 * i.e. code points): cut between characters, never inside a surrogate pair (which Go would turn
 * into U+FFFD).
 */
export function warningLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  if (line.length <= MAX_WARNING_LENGTH) return line;
  const characters = [...line];
  return characters.length <= MAX_WARNING_LENGTH ? line : `${characters.slice(0, MAX_WARNING_LENGTH - 1).join("")}…`;
}

type PolicyLookup = (name: string) => CompiledPolicy | undefined;

/** True when an evaluation error of this finding's policy denies the request. */
export function errorDenies(finding: Finding, policy: CompiledPolicy | undefined, fallback: AdmissionFailurePolicy): boolean {
  const declared = policy?.meta.failurePolicy;
  if (declared !== undefined) return declared === "Fail";
  return finding.mode === "deny" && fallback === "fail";
}

/** The denial message in Kyverno's style: the resource, then `policy: {rule: reason}` as YAML. */
/** A ValidatingAdmissionPolicy validation's `reason` → the answer's HTTP status, as the API server maps it; Forbidden (403) otherwise. */
const REASON_CODES: Readonly<Record<string, number>> = { Unauthorized: 401, Forbidden: 403, Invalid: 422, RequestEntityTooLarge: 413 };

function denialStatus(reason: string | undefined): { code: number; reason: string } {
  return reason !== undefined && REASON_CODES[reason] !== undefined ? { code: REASON_CODES[reason] as number, reason } : { code: 403, reason: "Forbidden" };
}

export function denialMessage(resource: string, denials: readonly { readonly policy: string; readonly rule: string; readonly reason: string }[]): string {
  const byPolicy: Record<string, Record<string, string>> = {};
  for (const d of denials) (byPolicy[d.policy] ??= {})[d.rule] = d.reason;
  return `\n\nresource ${resource} was blocked due to the following policies \n\n${stringify(byPolicy, { lineWidth: 0 })}`;
}

/**
 * The webhook's answer for a decision. `policy` looks a policy up as it is enforced now
 * (shadow mode, failurePolicy); `failurePolicy` is `admission.failurePolicy`, used for policies
 * that declare none. Findings are read after exceptions and overrides (an excepted violation is a
 * `skip` and neither denies nor warns).
 */
export function outcomeForDecision(draft: DecisionDraft, request: AdmissionRequestInfo, policy: PolicyLookup, failurePolicy: AdmissionFailurePolicy): AdmissionOutcome {
  const denials: { policy: string; rule: string; reason: string; statusReason?: string }[] = [];
  const warnings: string[] = [];
  const errorSteps: ExplanationStep[] = [];
  for (const f of draft.findings) {
    const compiled = policy(f.policy);
    const shadow = compiled?.meta.enforcement?.mode === "shadow";
    if (f.effect === "violation") {
      if (shadow) continue;
      // A ValidatingAdmissionPolicy validation without a reason answers Invalid (422), as the API server does; other languages 403.
      if (f.mode === "deny") denials.push({ policy: f.policy, rule: f.rule, reason: f.message, ...(f.language === "vap" ? { statusReason: typeof f.outputs?.["reason"] === "string" ? f.outputs["reason"] : "Invalid" } : {}) });
      else warnings.push(warningLine(`policy ${f.policy}.${f.rule}: ${f.message}`));
    } else if (f.effect === "error") {
      if (shadow) continue;
      const reason = f.error?.message ?? f.message;
      if (errorDenies(f, compiled, failurePolicy)) {
        denials.push({ policy: f.policy, rule: f.rule, reason: `evaluation error (failurePolicy Fail): ${reason}` });
        errorSteps.push({ kind: "note", text: `${f.policy}/${f.rule} could not be evaluated; its failurePolicy (Fail) denies the request`, policy: f.policy, rule: f.rule });
      } else {
        warnings.push(warningLine(`policy ${f.policy}.${f.rule}: evaluation error ignored (failurePolicy Ignore): ${reason}`));
      }
    }
  }
  for (const step of draft.explanation.steps) {
    if (step.kind === "exception" || step.kind === "override") warnings.push(warningLine(`vigil: ${step.text}`));
  }
  const allowed = denials.length === 0;
  let recorded = draft;
  if (!allowed && draft.verdict !== "deny") {
    // Only errors deny here: the decider does not deny on errors, the webhook does (failurePolicy).
    const first = errorSteps[0];
    recorded = {
      ...draft,
      verdict: "deny",
      tier: tierRank(draft.tier) >= tierRank("block") ? draft.tier : "block",
      explanation: {
        summary: `Denied (block) by failurePolicy Fail: ${first?.policy ?? "a policy"}/${first?.rule ?? ""} could not be evaluated${errorSteps.length > 1 ? ` (and ${errorSteps.length - 1} more)` : ""}.`,
        steps: [...draft.explanation.steps, ...errorSteps],
      },
    };
  } else if (errorSteps.length > 0) {
    recorded = { ...draft, explanation: { ...draft.explanation, steps: [...draft.explanation.steps, ...errorSteps] } };
  }
  return {
    allowed,
    ...(allowed ? {} : { status: { ...denialStatus(denials[0]?.statusReason), status: "Failure", message: denialMessage(request.resource, denials) } as AdmissionStatus }),
    warnings,
    draft: recorded,
  };
}

export type AdmissionFailureKind = "timeout" | "error" | "record";

/**
 * The answer when Vigil could not decide (deadline passed, internal error) or could not record
 * the decision: `fail` denies (fail-closed), `ignore` allows with a warning (fail-open). A
 * decision that already denies keeps denying whatever the failure policy.
 */
export function failureStatus(kind: AdmissionFailureKind, detail: string, failurePolicy: AdmissionFailurePolicy): { allowed: boolean; status?: AdmissionStatus; warning?: string } {
  const what = kind === "timeout" ? `Vigil did not decide within the deadline (${detail})` : kind === "record" ? `Vigil could not record the decision (${detail})` : `Vigil failed internally (${detail})`;
  if (failurePolicy === "ignore") return { allowed: true, warning: warningLine(`vigil: ${what}; allowed because admission.failurePolicy is ignore`) };
  return { allowed: false, status: { code: kind === "timeout" ? 504 : 500, reason: kind === "timeout" ? "Timeout" : "InternalError", status: "Failure", message: `${what}; denied because admission.failurePolicy is fail` } };
}

/** The decision recorded when Vigil answered by its failure policy instead of by the policies. */
export function failureDraft(base: Omit<DecisionDraft, "verdict" | "tier" | "risk" | "actions" | "explanation" | "findings" | "policyRevisions"> & Partial<Pick<DecisionDraft, "findings" | "policyRevisions" | "risk">>, allowed: boolean, text: string): DecisionDraft {
  return {
    ...base,
    verdict: allowed ? "allow" : "deny",
    tier: allowed ? "observe" : "block",
    risk: base.risk ?? { score: 0, factors: [] },
    findings: base.findings ?? [],
    actions: [],
    policyRevisions: base.policyRevisions ?? {},
    explanation: {
      summary: `${allowed ? "Allowed" : "Denied (block)"} by admission.failurePolicy: ${text}.`,
      steps: [{ kind: "note", text }, ...(base.enforced ? [] : [{ kind: "note", text: "not enforced (dry run, shadow evaluation or replay): recorded only" }])],
    },
  };
}

/** The AdmissionReview response: same apiVersion back, uid echoed, warnings only when there are some, a JSON Patch only when an allowed request was mutated. */
export function reviewResponse(request: Pick<AdmissionRequestInfo, "apiVersion" | "uid">, answer: { readonly allowed: boolean; readonly status?: AdmissionStatus; readonly warnings: readonly string[]; readonly patch?: readonly unknown[] }, decisionId?: string): AdmissionReviewResponse {
  return {
    apiVersion: request.apiVersion,
    kind: "AdmissionReview",
    response: {
      uid: request.uid,
      allowed: answer.allowed,
      ...(answer.status ? { status: answer.status } : {}),
      ...(answer.warnings.length > 0 ? { warnings: answer.warnings } : {}),
      ...(decisionId === undefined ? {} : { auditAnnotations: { "decision-id": decisionId } }),
      ...(answer.allowed && answer.patch !== undefined && answer.patch.length > 0 ? { patchType: "JSONPatch" as const, patch: Buffer.from(JSON.stringify(answer.patch)).toString("base64") } : {}),
    },
  };
}
