/**
 * Kubernetes `admissionregistration.k8s.io` MutatingAdmissionPolicy (v1alpha1, v1beta1) with its
 * MutatingAdmissionPolicyBindings, evaluated as the API server does for one pass:
 * the policy's matchConstraints, then per binding (in name order) its matchResources and params
 * (paramRef with parameterNotFoundAction), then variables, matchConditions and the mutations
 * (`ApplyConfiguration` or `JSONPatch`, the CEL core shared with Kyverno's MutatingPolicy), each
 * binding on the object the previous one produced. CEL sees `object`, `oldObject`, `request`,
 * `params`, `namespaceObject`, `variables` and `authorizer` (null: no cluster to ask).
 *
 * `reinvocationPolicy: IfNeeded` is honoured by the webhook's chain (runMutationChain: once more
 * when a later policy changed the object). Lives next to MutatingPolicy, whose compiled mutations
 * it reuses; the VAP plugin loads it. Evaluation never throws.
 */
import { createHash } from "node:crypto";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import { VigilError } from "../../core/errors.js";
import type { Finding, TraceStep } from "../../core/finding.js";
import type { PolicyMeta } from "../../core/policy.js";
import type { CelEnvironment } from "../cel/api.js";
import { bindingMatchResources, isAdmissionPolicyResource, matchConstraintsMatch } from "../vap/match-constraints.js";
import { checkParamRef, namespacedParamRefProblem, type VapParamResolver } from "../vap/policy.js";
import { namedExpressions } from "./cel-policy-common.js";
import { diffJsonPatch } from "./json-patch.js";
import { compileMutations, mutatingEnvironment, runCelMutations, type CompiledMutator } from "./mutating-policy.js";
import type { KyvernoEvaluateOptions, MutationOutcome } from "./policy.js";
import type { AdmissionInput, KubeObject } from "./request.js";
import type { RuleResult } from "./results.js";
import { targetOf } from "./validating-policy.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A compiled MutatingAdmissionPolicy: mutates on the mutating webhook, decides nothing elsewhere. */
export interface MutatingAdmissionPolicy extends CompiledPolicy {
  mutateAdmission(input: AdmissionInput, options?: KyvernoEvaluateOptions): MutationOutcome;
  /** `spec.reinvocationPolicy` (default `Never`); the chain runs an `IfNeeded` policy once more when a later one changed the object. */
  readonly reinvocationPolicy: "Never" | "IfNeeded";
}

const noOptions: KyvernoEvaluateOptions = {};

/** CEL's `request`: the AdmissionReview's request when the input was one, else what the input says. */
function requestVariable(input: AdmissionInput): Json {
  if (input.raw !== undefined) return input.raw as Json;
  const meta = isObject(input.object?.["metadata"]) ? (input.object["metadata"] as Json) : {};
  return { operation: input.operation, userInfo: input.userInfo, dryRun: input.dryRun, subResource: input.subResource, ...(typeof meta["name"] === "string" ? { name: meta["name"] } : {}), ...(typeof meta["namespace"] === "string" ? { namespace: meta["namespace"] } : {}) };
}

/**
 * Compiles a MutatingAdmissionPolicy with its bindings (those whose `spec.policyName` names it).
 * Throws VigilError on a missing name, a malformed mutation or a CEL syntax error. A policy
 * without bindings loads and mutates nothing, as in a cluster.
 */
export function compileMutatingAdmissionPolicy(document: Json, bindings: readonly Json[], env: CelEnvironment, options: { readonly source?: string; readonly params?: VapParamResolver } = {}): MutatingAdmissionPolicy {
  const metadata = isObject(document["metadata"]) ? document["metadata"] : {};
  const name = typeof metadata["name"] === "string" ? metadata["name"] : "";
  const where = options.source ? { file: options.source } : {};
  if (name === "") throw new VigilError("VIGIL_POLICY_LOAD", "MutatingAdmissionPolicy without metadata.name: add a name.", { field: "metadata.name", ...where });
  const spec = isObject(document["spec"]) ? document["spec"] : {};
  const origin = `MutatingAdmissionPolicy ${name}`;
  const menv = mutatingEnvironment(env);
  let compiled: CompiledMutator;
  try {
    compiled = {
      variables: namedExpressions(spec["variables"], menv, origin, "variables"),
      conditions: namedExpressions(spec["matchConditions"], menv, origin, "matchConditions"),
      mutations: compileMutations(spec["mutations"], menv, origin),
      nonBooleanCondition: "match",
    };
  } catch (cause) {
    if (cause instanceof VigilError && cause.details["file"] === undefined) throw new VigilError(cause.code, cause.message, { ...cause.details, ...where, policy: name }, cause.cause);
    throw cause;
  }
  // As the API server validates a binding: a bad paramRef is refused, not read as Deny.
  for (const binding of bindings) checkParamRef(binding, "MutatingAdmissionPolicyBinding", options.source);
  const failurePolicy = spec["failurePolicy"] === "Ignore" ? "Ignore" : "Fail";
  const paramKind = isObject(spec["paramKind"]) ? { apiVersion: String(spec["paramKind"]["apiVersion"] ?? ""), kind: String(spec["paramKind"]["kind"] ?? "") } : undefined;
  const ordered = [...bindings].sort((a, b) => {
    const an = String((a["metadata"] as Json | undefined)?.["name"] ?? "");
    const bn = String((b["metadata"] as Json | undefined)?.["name"] ?? "");
    return an < bn ? -1 : an > bn ? 1 : 0;
  });
  const meta: PolicyMeta = {
    name,
    language: "vap",
    revision: createHash("sha256").update(JSON.stringify([document, ordered])).digest("hex").slice(0, 16),
    on: ["io.k8s.admission.review"],
    failurePolicy,
    ...(options.source ? { source: options.source } : {}),
  };
  const result = (rule: string) => (status: RuleResult["status"], message: string, trace: readonly TraceStep[]): RuleResult => ({ policy: name, rule, ruleType: "mutate", mode: "warn", severity: "medium", status, message, trace });

  const run = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions): { results: RuleResult[]; patched: KubeObject | null } => {
    const original = input.object;
    const target = targetOf(input);
    // As the API server: the admission policies and their bindings never go through a MutatingAdmissionPolicy.
    if (isAdmissionPolicyResource(target) || !matchConstraintsMatch(spec["matchConstraints"], target)) return { results: evalOptions.includeNoMatch ? [result(name)("nomatch", "policy does not match the resource", [])] : [], patched: original };
    if (original === null) return { results: [result(name)("skip", "no object to mutate (DELETE or CONNECT request)", [])], patched: original };
    const results: RuleResult[] = [];
    let current: KubeObject = original;
    for (const binding of ordered) {
      const bmeta = isObject(binding["metadata"]) ? binding["metadata"] : {};
      const bspec = isObject(binding["spec"]) ? binding["spec"] : {};
      const rule = String(bmeta["name"] ?? name);
      const respond = result(rule);
      if (bspec["matchResources"] !== undefined && !matchConstraintsMatch(bindingMatchResources(bspec["matchResources"]), target)) {
        if (evalOptions.includeNoMatch) results.push(respond("nomatch", `binding ${rule} does not match the resource`, []));
        continue;
      }
      const exception = evalOptions.excepted?.(name, rule);
      if (exception !== undefined) {
        results.push(respond("skip", exception, []));
        continue;
      }
      let paramsList: readonly (Json | null)[] = [null];
      // As the API server: a binding without paramRef is evaluated once with params null.
      const ref = isObject(bspec["paramRef"]) ? bspec["paramRef"] : undefined;
      if (paramKind && ref) {
        // A configuration error, whatever parameterNotFoundAction says: the policy's failurePolicy decides.
        const unscoped = namespacedParamRefProblem(paramKind, ref, target.namespace, rule);
        if (unscoped !== undefined) {
          results.push(respond("error", unscoped, [{ kind: "note", expr: "paramRef", value: null }]));
          continue;
        }
        const found = options.params ? options.params(paramKind, { ...(typeof ref["name"] === "string" ? { name: ref["name"] } : {}), ...(typeof ref["namespace"] === "string" ? { namespace: ref["namespace"] } : { objectNamespace: target.namespace }), ...(ref["selector"] !== undefined ? { selector: ref["selector"] } : {}) }) : [];
        if (found.length === 0) {
          if (ref["parameterNotFoundAction"] === "Allow") results.push(respond("skip", `no params found for binding ${rule} (paramKind ${paramKind.kind}); parameterNotFoundAction Allow`, []));
          else results.push(respond("error", `no params found for binding ${rule} (paramKind ${paramKind.kind}); parameterNotFoundAction Deny`, [{ kind: "note", expr: "paramRef", value: null }]));
          continue;
        }
        paramsList = found;
      }
      for (const params of paramsList) {
        const activation: Record<string, unknown> = {
          oldObject: input.oldObject,
          request: requestVariable(input),
          params,
          namespaceObject: input.namespaceObject ?? null,
          authorizer: null,
        };
        const out = runCelMutations(compiled, activation, current, respond);
        results.push(out.result);
        if (out.result.status === "pass") current = out.patched;
      }
    }
    return { results, patched: current };
  };

  const mutateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = noOptions): MutationOutcome => {
    const original = input.object ?? {};
    try {
      const out = run(input, evalOptions);
      const patched = out.patched ?? original;
      return { results: out.results, patched, patch: patched === original ? [] : diffJsonPatch(original, patched) };
    } catch (cause) {
      return { results: [result(name)("error", `internal error: ${cause instanceof Error ? cause.message : String(cause)}`, [])], patched: original, patch: [] };
    }
  };

  return {
    meta,
    mutateAdmission,
    reinvocationPolicy: spec["reinvocationPolicy"] === "IfNeeded" ? "IfNeeded" : "Never",
    // Mutations run on the mutating webhook; on the validating paths the policy decides nothing.
    evaluate(): Finding[] {
      return [];
    },
  };
}

