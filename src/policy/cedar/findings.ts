/**
 * Turns Cedar's answer (decision + diagnostics) into Vigil findings, as documented in docs/cedar.md:
 * - Deny determined by forbid policies → one `violation` (mode deny) per forbid policy;
 * - Deny because no permit matched → one `violation` (mode deny, rule `default-deny`);
 * - each policy Cedar skipped because it erred → an `error` finding (mode audit: Cedar already
 *   decided without it, so Vigil's verdict stays Cedar's);
 * - the request failing as a whole (bad input, request not valid for the schema) → an `error`
 *   finding plus a `default-deny` violation (fail closed: Cedar gave no decision);
 * - explain mode: one `pass` finding per permit policy that determined an Allow.
 */
import type { Finding, TraceStep } from "../../core/finding.js";
import type { PolicyMeta, Severity } from "../../core/policy.js";
import { severities } from "../../core/policy.js";
import { positionAtByteOffset } from "./positions.js";
import { formatEntityUid, type CedarRequest } from "./request.js";
import type { CedarPolicyEntry } from "./sources.js";
import { describeCedarError } from "./sources.js";
import type { AuthorizationAnswer, DetailedError } from "./wasm.js";

/** Rule name of the finding for "no permit policy matched". */
export const DEFAULT_DENY_RULE = "default-deny";
/** Rule name of findings about the request as a whole (input mapping, request validation). */
export const REQUEST_RULE = "request";

/** Longest policy text a trace step carries. */
const MAX_TRACE_TEXT = 2000;

export interface FindingContext {
  readonly meta: PolicyMeta;
  readonly policies: ReadonlyMap<string, CedarPolicyEntry>;
  readonly texts: ReadonlyMap<string, string>;
}

function severityOf(entry: CedarPolicyEntry | undefined, fallback: Severity): Severity {
  const value = entry?.annotations["severity"];
  return value !== undefined && (severities as readonly string[]).includes(value) ? (value as Severity) : fallback;
}

function requestInputs(request: CedarRequest): Record<string, unknown> {
  return {
    principal: formatEntityUid(request.principal),
    action: formatEntityUid(request.action),
    resource: formatEntityUid(request.resource),
  };
}

function policyStep(entry: CedarPolicyEntry | undefined, id: string, value: boolean, request: CedarRequest): TraceStep {
  const text = entry ? (entry.text.length > MAX_TRACE_TEXT ? `${entry.text.slice(0, MAX_TRACE_TEXT)}…` : entry.text) : `policy ${id}`;
  return { kind: "condition", expr: text, value, inputs: requestInputs(request) };
}

function where(context: FindingContext, entry: CedarPolicyEntry | undefined, error: DetailedError): string {
  if (!entry) return "";
  const span = error.sourceLocations?.[0];
  const text = context.texts.get(entry.file);
  if (!span || text === undefined) return ` (${entry.file})`;
  const position = positionAtByteOffset(text, entry.byteOffset + span.start);
  return ` (${entry.file}:${position.line}:${position.column})`;
}

function base(context: FindingContext, rule: string, request: CedarRequest | undefined): Omit<Finding, "effect" | "mode" | "severity" | "message" | "trace"> {
  return {
    policy: context.meta.name,
    rule,
    revision: context.meta.revision,
    language: "cedar",
    ...(request ? { resource: formatEntityUid(request.resource) } : {}),
  };
}

/**
 * Findings for a request Cedar could not decide: an `error` finding saying why, and a `violation`
 * (rule `default-deny`) because decide's verdict counts violations, not errors, and an
 * authorization request without a Cedar decision must be denied (fail closed, as Cedar's deny by default).
 */
export function failClosedFindings(context: FindingContext, code: string, message: string, request?: CedarRequest): Finding[] {
  return [
    {
      ...base(context, REQUEST_RULE, request),
      effect: "error",
      mode: "deny",
      severity: "high",
      message,
      trace: [{ kind: "note", expr: "cedar request", error: message }],
      error: { code, message },
    },
    {
      ...base(context, DEFAULT_DENY_RULE, request),
      effect: "violation",
      mode: "deny",
      severity: "high",
      message: `Cedar gave no decision for this request, so it is denied: ${message}`,
      trace: [{ kind: "note", expr: "no Cedar decision (fail closed)", value: false }],
    },
  ];
}

/** Findings for one Cedar answer. `includePasses` adds the permits that determined an Allow. */
export function findingsForAnswer(context: FindingContext, request: CedarRequest, answer: AuthorizationAnswer, includePasses: boolean): Finding[] {
  if (answer.type === "failure") {
    const message = `Cedar could not evaluate the request: ${answer.errors.map(describeCedarError).join("; ")}`;
    return failClosedFindings(context, "CEDAR_REQUEST", message, request);
  }
  const { decision, diagnostics } = answer.response;
  const findings: Finding[] = [];
  const who = `${formatEntityUid(request.principal)} ${formatEntityUid(request.action)} ${formatEntityUid(request.resource)}`;
  if (decision === "deny") {
    if (diagnostics.reason.length === 0) {
      findings.push({
        ...base(context, DEFAULT_DENY_RULE, request),
        effect: "violation",
        mode: "deny",
        severity: "high",
        message: `No Cedar permit policy matched, so Cedar denies by default: ${who}`,
        trace: [{ kind: "note", expr: "no permit policy was satisfied", value: false, inputs: requestInputs(request) }],
      });
    }
    for (const id of diagnostics.reason) {
      const entry = context.policies.get(id);
      findings.push({
        ...base(context, id, request),
        effect: "violation",
        mode: "deny",
        severity: severityOf(entry, "high"),
        message: entry?.annotations["message"] ?? `Cedar forbid policy "${id}" denied ${who}`,
        trace: [policyStep(entry, id, true, request)],
      });
    }
  } else if (includePasses) {
    for (const id of diagnostics.reason) {
      const entry = context.policies.get(id);
      findings.push({
        ...base(context, id, request),
        effect: "pass",
        mode: "deny",
        severity: severityOf(entry, "info"),
        message: `Cedar permit policy "${id}" allowed ${who}`,
        trace: [policyStep(entry, id, true, request)],
      });
    }
  }
  for (const { policyId, error } of diagnostics.errors) {
    const entry = context.policies.get(policyId);
    const message = `Cedar skipped policy "${policyId}" because it failed to evaluate${where(context, entry, error)}: ${describeCedarError(error)}`;
    findings.push({
      ...base(context, policyId, request),
      effect: "error",
      mode: "audit",
      severity: severityOf(entry, "medium"),
      message,
      trace: [{ ...policyStep(entry, policyId, false, request), error: describeCedarError(error) }],
      error: { code: "CEDAR_EVALUATION", message },
    });
  }
  return findings;
}
