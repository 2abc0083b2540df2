/**
 * Compiles a Kyverno ClusterPolicy / Policy (kyverno.io/v1, v2beta1) into a CompiledPolicy.
 * Validate rules are evaluated by `evaluateAdmission`; mutate rules by `mutateAdmission` and
 * generate rules by `generateAdmission` (each present only when the policy has such rules;
 * `evaluateAdmission` leaves them out, as Kyverno's validation response does); verifyImages rules
 * are checked by both (verify-images.ts: `mutateAdmission` also rewrites verified images to their
 * digest). Evaluation never throws: a broken rule becomes an `error` result.
 */
import { createHash } from "node:crypto";
import type { Context } from "../../core/context.js";
import { VigilError } from "../../core/errors.js";
import type { Finding } from "../../core/finding.js";
import { EventTypes } from "../../core/event.js";
import type { EvaluateOptions, PolicyMeta, RuleMode } from "../../core/policy.js";
import type { CelEnvironment } from "../cel/api.js";
import { withAutogenRules } from "./autogen.js";
import { clusterContextResolver, sharedBaseDocument, type Doc, type ExternalContextResolver } from "./context.js";
import { celParamSpec, resolveCelParams, type CelParamSpec } from "./cel-params.js";
import { mutateExistingFindings } from "./mutate-existing.js";
import { withGlobalContext } from "./global-context.js";
import { compileCelRule, evaluateCelPreconditions } from "./cel-rule.js";
import { kyvernoSeverity, requestNamespace } from "./cel-policy-common.js";
import { excludeBlockMatches, matchBlockMatches, selectorMatches } from "./match.js";
import { exceptionMessage, matchingPolicyException, type AppliedPolicyException } from "./policy-exception.js";
import { admissionInputFor, metadataOf, stringMap, subjectObject, type AdmissionInput } from "./request.js";
import type { RuleEnv } from "./rule-env.js";
import { checkRuleSupported } from "./support.js";
import { validateBlock } from "./validate.js";
import { resultToFinding, type RuleResult } from "./results.js";
import { verifyImagesBlock } from "./verify-images.js";
import type { CompiledRule, KyvernoCompileOptions, KyvernoEvaluateOptions, KyvernoPolicy } from "./policy-types.js";
import { buildDocument, exceptedResult, mockedNames, noOptions, normalizeAction, podSecurityWithException, ruleEnv, ruleResult, ruleType, type RuleCore } from "./policy-rules.js";
import { generateSide } from "./policy-generate.js";
import { mutateSide } from "./policy-mutate.js";

export type { CompiledRule, GenerateOutcome, KyvernoCompileOptions, KyvernoEvaluateOptions, KyvernoPolicy, MutationOutcome, RuleType, TriggerTarget } from "./policy-types.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Compiles one ClusterPolicy/Policy document. Throws VigilError (VIGIL_POLICY_LOAD / _UNSUPPORTED / _COMPILE). */
export function compileKyvernoPolicy(document: Json, env: CelEnvironment, options: KyvernoCompileOptions = {}): KyvernoPolicy {
  const metadata = isObject(document["metadata"]) ? document["metadata"] : {};
  const name = typeof metadata["name"] === "string" ? metadata["name"] : "";
  const where = options.source ? { file: options.source } : {};
  if (name === "") throw new VigilError("VIGIL_POLICY_LOAD", "Kyverno policy without metadata.name: add a name.", { field: "metadata.name", ...where });
  const spec = isObject(document["spec"]) ? document["spec"] : undefined;
  if (!spec || !Array.isArray(spec["rules"])) throw new VigilError("VIGIL_POLICY_LOAD", `Kyverno policy ${name}: spec.rules must be a list of rules.`, { field: "spec.rules", policy: name, ...where });
  const annotations = stringMap(metadata["annotations"]);
  const rawRules = (spec["rules"] as unknown[]).filter(isObject);
  rawRules.forEach((r, i) => checkRuleSupported(name, r, i, options.source));
  const policyAction = normalizeAction(spec["validationFailureAction"]) ?? "Audit";
  const policyOverrides = Array.isArray(spec["validationFailureActionOverrides"]) ? spec["validationFailureActionOverrides"].filter(isObject) : [];
  const rules: CompiledRule[] = withAutogenRules(rawRules, annotations).map((raw, i) => {
    const ruleName = String(raw["name"] ?? `rules[${i}]`);
    const validate = isObject(raw["validate"]) ? raw["validate"] : {};
    const origin = `policy ${name} rule ${ruleName}`;
    const compiled: CompiledRule = {
      name: ruleName,
      type: ruleType(raw),
      raw,
      validate,
      context: Array.isArray(raw["context"]) ? raw["context"] : [],
      // verifyImages entries carry their own failureAction (Kyverno 1.13+), as validate blocks do.
      action: normalizeAction(validate["failureAction"]) ?? normalizeAction(Array.isArray(raw["verifyImages"]) && isObject(raw["verifyImages"][0]) ? raw["verifyImages"][0]["failureAction"] : undefined) ?? policyAction,
      overrides: Array.isArray(validate["failureActionOverrides"]) ? validate["failureActionOverrides"].filter(isObject) : policyOverrides,
      existing: isObject(raw["mutate"]) && Array.isArray(raw["mutate"]["targets"]) && raw["mutate"]["targets"].length > 0,
      ...(isObject(validate["cel"]) ? { cel: compileCelRule(validate["cel"], env, `${origin} validate.cel`, spec["failurePolicy"] === "Ignore" ? "Ignore" : "Fail") } : {}),
      ...(isObject(validate["cel"]) && celParamSpec(validate["cel"], origin, "validate.cel") ? { params: celParamSpec(validate["cel"], origin, "validate.cel") as CelParamSpec } : {}),
      ...(Array.isArray(raw["celPreconditions"]) ? { celPreconditions: compileCelRule({ expressions: raw["celPreconditions"] }, env, `${origin} celPreconditions`) } : {}),
    };
    return compiled;
  });
  const revision = createHash("sha256").update(JSON.stringify(document)).digest("hex").slice(0, 16);
  const kind = document["kind"] === "Policy" ? "Policy" : "ClusterPolicy";
  const policyNamespace = kind === "Policy" ? (typeof metadata["namespace"] === "string" && metadata["namespace"] !== "" ? metadata["namespace"] : "default") : undefined;
  // Kyverno's policy key: a namespaced Policy is `namespace/name` (findings, decisions, reports), so one name in two namespaces is two policies.
  const key = policyNamespace === undefined ? name : `${policyNamespace}/${name}`;
  const severity = kyvernoSeverity(annotations);
  // `spec.background: false`: skipped by background scans (io.k8s.resource); `spec.admission: false`: background only.
  const on = [...(spec["admission"] === false ? [] : ["io.k8s.admission.review"]), ...(spec["background"] === false ? [] : ["io.k8s.resource"])];
  const webhook = isObject(spec["webhookConfiguration"]) ? spec["webhookConfiguration"] : {};
  const existingRules = rules.filter((r) => r.existing);
  if (existingRules.length > 0) on.push(EventTypes.mutateExistingTrigger);
  const generating = rules.some((r) => r.type === "generate");
  if (generating) on.push(EventTypes.generateTrigger);
  const meta: PolicyMeta = {
    name: key,
    language: "kyverno",
    revision,
    // INVARIANT: never empty (an empty `on` would apply to every event type).
    on: on.length > 0 ? on : ["io.k8s.admission.review"],
    // Kyverno applies mutate-existing changes itself; in Vigil they are remediations (kubernetes.patch) within the guardrails.
    // Generated objects likewise: kubernetes.create within the guardrails.
    ...(existingRules.length > 0 || generating ? { enforcement: { tier: "remediate" as const } } : {}),
    failurePolicy: (webhook["failurePolicy"] ?? spec["failurePolicy"]) === "Ignore" ? "Ignore" : "Fail",
    ...(annotations["policies.kyverno.io/description"] ? { description: annotations["policies.kyverno.io/description"] } : {}),
    ...(options.source ? { source: options.source } : {}),
  };
  const applyOne = spec["applyRules"] === "One";

  /** A rule's result when its celPreconditions do not hold (skip) or fail (their error); undefined when they pass or there are none. */
  const celPreconditionsUnmet = (rule: CompiledRule, mode: RuleMode, input: AdmissionInput, doc: Doc, params: unknown = null): RuleResult | undefined => {
    if (!rule.celPreconditions) return undefined;
    const pre = evaluateCelPreconditions(rule.celPreconditions, input, doc, params);
    if (pre.status === "pass") return undefined;
    return ruleResult(key, severity, rule, mode, pre.status === "fail" ? "skip" : pre.status, pre.status === "fail" ? "cel preconditions not met" : pre.message, pre.trace);
  };

  /** A namespaced Policy applies to the requests of its own namespace only (requestNamespace: a Namespace object is in itself). */
  const outsideNamespace = (input: AdmissionInput): boolean => policyNamespace !== undefined && requestNamespace(input) !== policyNamespace;

  const exceptionSet = options.exceptions;
  /** The Kyverno PolicyException that lets this request past the rule, if one does. */
  const policyException = (rule: CompiledRule, input: AdmissionInput, doc: Doc, env: RuleEnv, evalOptions: KyvernoEvaluateOptions): AppliedPolicyException | undefined => {
    if (exceptionSet === undefined || exceptionSet.size === 0) return undefined;
    const candidates = exceptionSet.candidates(name, policyNamespace, rule.name);
    return candidates.length === 0 ? undefined : matchingPolicyException(candidates, input, doc, env, evalOptions.background === true);
  };

  const internalError = (rule: CompiledRule, mode: RuleMode, cause: unknown): RuleResult =>
    ruleResult(key, severity, rule, mode, "error", `internal error: ${cause instanceof Error ? cause.message : String(cause)}`, []);

  /**
   * What a mutate or generate rule does before its own work: match / exclude (a `nomatch` result
   * with `includeNoMatch`), the rule's variable document, celPreconditions. Returns the result the
   * rule stops with (undefined: stops silently), or its document and environment.
   */
  const prepareRule = (rule: CompiledRule, mode: RuleMode, input: AdmissionInput, evalOptions: KyvernoEvaluateOptions, shared: () => Doc, resolver: ExternalContextResolver | undefined): { readonly stop: RuleResult | undefined } | { readonly doc: Doc; readonly env: RuleEnv } => {
    if (!matchBlockMatches(rule.raw["match"], input) || excludeBlockMatches(rule.raw["exclude"], input)) {
      return { stop: evalOptions.includeNoMatch ? ruleResult(key, severity, rule, mode, "nomatch", "rule does not match the resource", []) : undefined };
    }
    const doc = buildDocument(shared(), evalOptions, rule.name);
    const unmet = celPreconditionsUnmet(rule, mode, input, doc);
    if (unmet) return { stop: unmet };
    const env = ruleEnv(rule, input, mockedNames(evalOptions, rule.name), resolver);
    const excepted = policyException(rule, input, doc, env, evalOptions);
    if (excepted) return { stop: ruleResult(key, severity, rule, mode, "skip", exceptionMessage(excepted), excepted.trace) };
    return { doc, env };
  };

  /**
   * A validate.cel rule with params: the parameter objects found (kyverno test context resources,
   * or the cluster), then celPreconditions and the rule against each; the first failure decides.
   * None found: parameterNotFoundAction (Deny fails the rule, Allow skips it).
   */
  const evaluateWithParams = (rule: CompiledRule, spec: CelParamSpec, mode: RuleMode, input: AdmissionInput, doc: Doc, evalOptions: KyvernoEvaluateOptions, resolver: ExternalContextResolver | undefined): RuleResult => {
    const requestNamespace = typeof input.raw?.["namespace"] === "string" ? input.raw["namespace"] : String(metadataOf(subjectObject(input))["namespace"] ?? "");
    const lookup = resolveCelParams(spec, requestNamespace, { ...(resolver ? { resolver } : {}), ...(evalOptions.clusterResources ? { clusterResources: evalOptions.clusterResources } : {}) });
    if (!lookup.ok) return ruleResult(key, severity, rule, mode, "error", lookup.error, [{ kind: "note", expr: "validate.cel.paramRef", error: lookup.error }]);
    if (lookup.found.length === 0) {
      const message = `no params found for rule ${rule.name} (paramKind ${spec.kind}${spec.name ? ` ${spec.name}` : ""}); parameterNotFoundAction ${spec.notFound}`;
      return ruleResult(key, severity, rule, mode, spec.notFound === "Allow" ? "skip" : "fail", message, [{ kind: "note", expr: "validate.cel.paramRef", value: null }]);
    }
    let last: RuleResult | undefined;
    for (const params of lookup.found) {
      const paramTrace = { kind: "note" as const, expr: "params", value: `${spec.kind} ${String(metadataOf(params)["namespace"] ?? "")}/${String(metadataOf(params)["name"] ?? "")}`.replace(" /", " ") };
      const unmet = celPreconditionsUnmet(rule, mode, input, doc, params);
      if (unmet) {
        last = { ...unmet, trace: [paramTrace, ...unmet.trace] };
        if (unmet.status === "error") return last;
        continue;
      }
      const env: RuleEnv = ruleEnv(rule, input, mockedNames(evalOptions, rule.name), resolver, params);
      const excepted = policyException(rule, input, doc, env, evalOptions);
      if (excepted) return ruleResult(key, severity, rule, mode, "skip", exceptionMessage(excepted), excepted.trace);
      const response = validateBlock(rule.validate, doc, env, rule.context, rule.raw["preconditions"]);
      last = ruleResult(key, severity, rule, mode, response.status, response.message, [paramTrace, ...response.trace]);
      if (response.status === "fail" || response.status === "error") return last;
    }
    return last as RuleResult;
  };

  const evaluateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = {}): RuleResult[] => {
    const results: RuleResult[] = [];
    const object = subjectObject(input);
    if (outsideNamespace(input)) return results;
    let shared: Doc | undefined;
    const resolver = withGlobalContext(evalOptions.resolver ?? options.resolver, options.globals);
    for (const rule of rules) {
      // Mutate and generate rules are evaluated by mutateAdmission / generateAdmission (Kyverno's
      // validation response has neither; `kyverno test` reads them from the mutation and
      // generation responses).
      if (rule.type === "mutate" || rule.type === "generate") continue;
      let mode: RuleMode = "warn";
      try {
        if (!matchBlockMatches(rule.raw["match"], input) || excludeBlockMatches(rule.raw["exclude"], input)) {
          if (evalOptions.includeNoMatch) results.push(ruleResult(key, severity, rule, modeFor(rule, input), "nomatch", "rule does not match the resource", []));
          continue;
        }
        mode = modeFor(rule, input);
        shared ??= sharedBaseDocument(input);
        const doc = buildDocument(shared, evalOptions, rule.name);
        if (rule.params !== undefined) {
          // validate.cel with paramKind/paramRef: evaluated against each parameter object.
          const result = evaluateWithParams(rule, rule.params, mode, input, doc, evalOptions, resolver);
          results.push(result);
          if (applyOne && (result.status === "pass" || result.status === "fail")) break;
          continue;
        }
        const unmet = celPreconditionsUnmet(rule, mode, input, doc);
        if (unmet) {
          results.push(unmet);
          continue;
        }
        let env: RuleEnv = ruleEnv(rule, input, mockedNames(evalOptions, rule.name), resolver);
        const excepted = policyException(rule, input, doc, env, evalOptions);
        if (excepted && (excepted.exception.podSecurity === undefined || rule.validate["podSecurity"] === undefined)) {
          // Kyverno: a matching exception skips the rule; one with podSecurity controls only exempts those controls of a podSecurity rule.
          results.push(ruleResult(key, severity, rule, mode, "skip", exceptionMessage(excepted), excepted.trace));
          continue;
        }
        if (rule.type === "verifyImages") {
          // Kyverno's validating webhook checks verifyDigest; Vigil checks the signatures again too (verify-images.ts).
          const outcome = verifyImagesBlock(rule.raw["verifyImages"], object, doc, env, rule.context, rule.raw["preconditions"], "validate", rule.raw["imageExtractors"]);
          if (outcome.status !== undefined) results.push(ruleResult(key, severity, rule, mode, outcome.status, outcome.message, outcome.trace));
          else if (evalOptions.includeNoMatch) results.push(ruleResult(key, severity, rule, mode, "nomatch", "no image of the resource is selected by the rule", []));
          continue;
        }
        if (excepted) env = { ...env, podSecurity: (psSpec: unknown) => podSecurityWithException(psSpec, input, rule.name, excepted) };
        const response = validateBlock(rule.validate, doc, env, rule.context, rule.raw["preconditions"]);
        results.push(ruleResult(key, severity, rule, mode, response.status, response.message, response.trace));
        if (applyOne && (response.status === "pass" || response.status === "fail")) break;
      } catch (cause) {
        results.push(internalError(rule, mode, cause));
      }
    }
    return results;
  };

  const core: RuleCore = {
    key, name, policyNamespace, severity, meta, options, applyOne, outsideNamespace, modeFor, prepareRule, internalError,
    result: (rule, mode, status, message, trace) => ruleResult(key, severity, rule, mode, status, message, trace),
    resolverFor: (evalOptions) => withGlobalContext(evalOptions.resolver ?? options.resolver, options.globals),
  };
  const mutate = mutateSide(core, rules, spec);
  const generate = generateSide(core, rules, spec);

  return {
    meta,
    kind,
    ...(policyNamespace === undefined ? {} : { namespace: policyNamespace }),
    rules: rules.map((r) => ({ name: r.name, type: r.type })),
    evaluateAdmission,
    ...generate,
    ...mutate,
    evaluate(ctx: Context, evalOptions?: EvaluateOptions): Finding[] {
      const input = admissionInputFor(ctx);
      if (!input) return [];
      const background = ctx.event.type === EventTypes.kubernetesResource;
      let base: KyvernoEvaluateOptions = evalOptions?.includePasses ? { ...evalOptions, includeNoMatch: false } : (evalOptions ?? noOptions);
      // Without a resolver of its own, a policy reads configMap / apiCall entries from the cluster view the context carries.
      const kubernetes = ctx.kubernetes;
      if (kubernetes !== undefined && options.resolver === undefined && base.resolver === undefined) base = { ...base, resolver: clusterContextResolver(kubernetes) };
      if (ctx.event.type === EventTypes.mutateExistingTrigger) return mutateExistingFindings(mutate.mutateExisting?.evaluate(input, base) ?? [], (r) => resultToFinding(r, meta, input), evalOptions?.includePasses === true);
      if (ctx.event.type === EventTypes.generateTrigger) return generate.triggerFindings(input, base, evalOptions?.includePasses === true);
      const results = evaluateAdmission(input, background ? { ...base, background } : base);
      const findings: Finding[] = [];
      // A rule a PolicyException let through is a finding too (a skip naming the exception), so the decision says why it passed.
      for (const r of results) if (evalOptions?.includePasses || r.status === "fail" || r.status === "error" || r.status === "unsupported" || exceptedResult(r)) findings.push(resultToFinding(r, meta, input));
      return findings;
    },
  };

  function modeFor(rule: CompiledRule, input: AdmissionInput): RuleMode {
    let action = rule.action;
    const object = subjectObject(input);
    const ns = metadataOf(object)["namespace"];
    for (const o of rule.overrides) {
      const namespaces = Array.isArray(o["namespaces"]) ? o["namespaces"].map(String) : [];
      const nsMatch = namespaces.length > 0 ? typeof ns === "string" && namespaces.includes(ns) : o["namespaceSelector"] !== undefined && input.namespaceLabels !== undefined && selectorMatches(o["namespaceSelector"], input.namespaceLabels);
      if (nsMatch) action = normalizeAction(o["action"]) ?? action;
    }
    return action === "Enforce" ? "deny" : "warn";
  }
}

