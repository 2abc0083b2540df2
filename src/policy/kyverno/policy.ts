/**
 * Compiles a Kyverno ClusterPolicy / Policy (kyverno.io/v1, v2beta1) into a CompiledPolicy.
 * Validate rules are evaluated by `evaluateAdmission`; mutate rules by `mutateAdmission` and
 * generate rules by `generateAdmission` (each present only when the policy has such rules;
 * `evaluateAdmission` leaves them out, as Kyverno's validation response does); verifyImages rules
 * are checked by both (verify-images.ts: `mutateAdmission` also rewrites verified images to their
 * digest). Evaluation never throws: a broken rule becomes an `error` result.
 */
import { createHash } from "node:crypto";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import type { Context } from "../../core/context.js";
import { VigilError } from "../../core/errors.js";
import type { Finding } from "../../core/finding.js";
import { EventTypes } from "../../core/event.js";
import type { EvaluateOptions, PolicyMeta, RuleMode, Severity } from "../../core/policy.js";
import type { CelEnvironment } from "../cel/api.js";
import { withAutogenRules } from "./autogen.js";
import { clusterContextResolver, loadContextEntries, setPath, sharedBaseDocument, type Doc, type ExternalContextResolver } from "./context.js";
import { celParamSpec, resolveCelParams, type CelParamSpec } from "./cel-params.js";
import { mutateExistingFindings, mutateTargets, type TargetOutcome } from "./mutate-existing.js";
import { withGlobalContext, type GlobalContextSet } from "./global-context.js";
import { compileCelRule, evaluateCelPreconditions, type CelRule } from "./cel-rule.js";
import { kyvernoSeverity, requestNamespace } from "./cel-policy-common.js";
import { excludeBlockMatches, matchBlockMatches, matchedKinds, selectorMatches } from "./match.js";
import { extendableCopy } from "./objects.js";
import { evaluatePodSecurity } from "./pod-security.js";
import { exceptionMessage, matchingPolicyException, type AppliedPolicyException, type PolicyExceptionSet } from "./policy-exception.js";
import { admissionInputFor, metadataOf, stringMap, subjectObject, type AdmissionInput } from "./request.js";
import type { RuleEnv, RuleResponse } from "./rule-env.js";
import { checkRuleSupported } from "./support.js";
import { evaluateConditions, validateBlock } from "./validate.js";
import { diffJsonPatch, type JsonPatchOperation } from "./json-patch.js";
import { mutateBlock } from "./mutate.js";
import { generateBlock } from "./generate.js";
import { deletedTriggerAsCreate, generateFindings, synchronizedDeletions } from "./generate-actions.js";
import { downstreamChange, recreateDownstream, revertDownstream, type DownstreamChange } from "./generate-sync.js";
import { resultToFinding, type RuleResult } from "./results.js";
import { applyVerifyImages, verifyImagesBlock } from "./verify-images.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export type RuleType = "validate" | "mutate" | "generate" | "verifyImages";

/** Per-evaluation inputs that `kyverno test` supplies (values files) or a host configures. */
export interface KyvernoEvaluateOptions extends EvaluateOptions {
  /** Dotted-path values set in the variable document (`request.operation`, context entry mocks...). */
  readonly values?: Readonly<Record<string, unknown>>;
  /** Per-rule values (context entry mocks under `policies[].rules[].values`). */
  readonly ruleValues?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly resolver?: ExternalContextResolver;
  /** Cluster objects visible to CEL `resource.Get` / `resource.List` (test context resources). */
  readonly clusterResources?: readonly Record<string, unknown>[];
  /** Image metadata for CEL `image.GetMetadata(ref)` (test context `images`: `{ image, manifest, config }`). */
  readonly imageMetadata?: readonly Record<string, unknown>[];
  /** Also return `nomatch` results for rules that do not match the resource. */
  readonly includeNoMatch?: boolean;
  /**
   * Mutations only: why a rule's mutation must not apply (a Vigil exception in force for this
   * policy, rule and object), or undefined. The rule then reports `skip` with that reason and
   * changes nothing. A MutatingPolicy asks with its own name as the rule.
   */
  readonly excepted?: (policy: string, rule: string) => string | undefined;
  /** A background scan (io.k8s.resource): Kyverno PolicyExceptions with `spec.background: false` do not apply. */
  readonly background?: boolean;
  /** CEL `globalContext.Get(name, path)`: the data of the GlobalContextEntry `name`; throws when it has none (yet). */
  readonly globalContext?: (name: string) => unknown;
}

/** Objects to list as triggers: a Kyverno kind string (`Kind`, `version/Kind`, `group/version/Kind`) or an API resource. */
export type TriggerTarget = { readonly kind: string } | { readonly group: string; readonly version: string; readonly resource: string };

/** A compiled Kyverno policy: a CompiledPolicy plus rule-level evaluation of admission inputs. */
export interface KyvernoPolicy extends CompiledPolicy {
  readonly kind: "ClusterPolicy" | "Policy";
  readonly namespace?: string;
  readonly rules: readonly { readonly name: string; readonly type: RuleType }[];
  /** One result per rule (Kyverno's engine response), in rule order, autogen rules last. Never throws. */
  evaluateAdmission(input: AdmissionInput, options?: KyvernoEvaluateOptions): RuleResult[];
  /**
   * Applies the policy's mutations (mutate rules, MutatingPolicy mutations) to the admission
   * input's object, in order, each seeing the result of the one before. Absent on policies
   * without mutations. Never throws: a broken mutation is an `error` result and changes nothing.
   */
  mutateAdmission?(input: AdmissionInput, options?: KyvernoEvaluateOptions): MutationOutcome;
  /**
   * `spec.reinvocationPolicy` of a MutatingPolicy: `IfNeeded` asks the mutating webhook's chain to
   * run the policy once more when a later policy changed the object (runMutationChain).
   */
  readonly reinvocationPolicy?: "Never" | "IfNeeded";
  /**
   * The resources the policy's generate rules (GeneratingPolicy generate expressions) would
   * create for the admission input, as `kyverno test` computes them; nothing is created. Clone
   * sources are read from `options.clusterResources`. Absent on policies that generate nothing.
   * Never throws: a broken rule is an `error` result and generates nothing.
   */
  generateAdmission?(input: AdmissionInput, options?: KyvernoEvaluateOptions): GenerateOutcome;
  /**
   * Whether an admitted request (CREATE or UPDATE with an object) triggers the policy's generation,
   * cheaply (matching only): the webhooks then hand it to the ingest loop as a `dev.vigil.generate`
   * event, whose decision plans a kubernetes.create of each generated object. Absent on policies
   * that generate nothing.
   */
  generates?(input: AdmissionInput): boolean;
  /**
   * Kyverno's `generateExisting` (a generate rule's, a ClusterPolicy's `spec.generateExisting`, a
   * GeneratingPolicy's `spec.evaluation.generateExisting.enabled`): when the policy is installed or
   * changed, the existing objects of these trigger kinds that `generates` selects trigger it, once
   * per revision (the agent's sweep, agent/mutate-existing.ts). Absent otherwise.
   */
  readonly generateExisting?: { readonly triggers: readonly TriggerTarget[] };
  /**
   * Mutate rules with `mutate.targets` (mutate-existing.ts): the kinds that trigger them, whether
   * they also run over the existing triggers when the policy is installed or changed
   * (`mutateExistingOnPolicyUpdate`), whether a request selects one of them, and what they would
   * change in each target. Absent on policies without such rules.
   */
  readonly mutateExisting?: {
    /** The names of the rules with `mutate.targets`. */
    readonly rules: readonly string[];
    readonly onPolicyUpdate: boolean;
    readonly triggerKinds: readonly string[];
    selects(input: AdmissionInput): boolean;
    evaluate(input: AdmissionInput, options?: KyvernoEvaluateOptions): { rule: string; result: RuleResult; targets: TargetOutcome[] }[];
  };
}

/** What a policy's generate rules produce for one trigger object. */
export interface GenerateOutcome {
  /** One result per generate rule / GeneratingPolicy that selected the object: `pass` (generated), `skip` (preconditions or matchConditions false), `error`, `unsupported`; `nomatch` only with `includeNoMatch`. */
  readonly results: RuleResult[];
  /** Every generated object, in rule order; each carries the `generate.kyverno.io/rule-name` label of its rule (ClusterPolicy / Policy). */
  readonly resources: Record<string, unknown>[];
}

/** What a policy's mutations did to one object. */
export interface MutationOutcome {
  /** One result per mutate rule / mutation that selected the object: `pass` (applied), `skip` (preconditions or conditions false), `error`; `nomatch` only with `includeNoMatch`. */
  readonly results: RuleResult[];
  /** The object after every mutation; the input's object itself when nothing changed. */
  readonly patched: Record<string, unknown>;
  /** RFC 6902 operations from the input's object to `patched` (`diffJsonPatch`), as an AdmissionResponse carries them. */
  readonly patch: readonly JsonPatchOperation[];
}

interface CompiledRule {
  readonly name: string;
  readonly type: RuleType;
  readonly raw: Json;
  /** `raw.validate` ({} when absent) and `raw.context` ([] when absent), read once. */
  readonly validate: Json;
  readonly context: readonly unknown[];
  readonly cel?: CelRule;
  /** `validate.cel` paramKind/paramRef: the parameter objects its CEL reads as `params`. */
  readonly params?: CelParamSpec;
  readonly celPreconditions?: CelRule;
  readonly action: "Enforce" | "Audit";
  readonly overrides: readonly Json[];
  /** A mutate rule with `mutate.targets`: it changes other objects (mutate-existing.ts), not the request's. */
  readonly existing: boolean;
}

function ruleType(rule: Json): RuleType {
  if (rule["mutate"] !== undefined) return "mutate";
  if (rule["generate"] !== undefined) return "generate";
  if (rule["verifyImages"] !== undefined) return "verifyImages";
  return "validate";
}

function normalizeAction(value: unknown): "Enforce" | "Audit" | undefined {
  if (typeof value !== "string") return undefined;
  return value.toLowerCase() === "enforce" ? "Enforce" : value.toLowerCase() === "audit" ? "Audit" : undefined;
}

export interface KyvernoCompileOptions {
  readonly source?: string;
  readonly resolver?: ExternalContextResolver;
  /** The Kyverno PolicyExceptions of this load, consulted when a rule matches (policy-exception.ts). */
  readonly exceptions?: PolicyExceptionSet;
  /** The GlobalContextEntries of this load, answering `globalReference` context entries (global-context.ts). */
  readonly globals?: GlobalContextSet;
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

  // Kyverno's mutating webhook runs verifyImages rules after the mutate rules (digests, verify-images annotation).
  const mutateRules = [...rules.filter((r) => r.type === "mutate" && !r.existing), ...rules.filter((r) => r.type === "verifyImages")];

  /** The mutate-existing rules for a trigger: per rule, its result and what it would change in each target. */
  const mutateExistingAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = {}): { rule: string; result: RuleResult; targets: TargetOutcome[] }[] => {
    const out: { rule: string; result: RuleResult; targets: TargetOutcome[] }[] = [];
    if (outsideNamespace(input)) return out;
    const resolver = withGlobalContext(evalOptions.resolver ?? options.resolver, options.globals);
    let shared: Doc | undefined;
    for (const rule of existingRules) {
      const mode: RuleMode = "warn";
      try {
        const ready = prepareRule(rule, mode, input, evalOptions, () => (shared ??= sharedBaseDocument(input)), resolver);
        if ("stop" in ready) {
          if (ready.stop) out.push({ rule: rule.name, result: ready.stop, targets: [] });
          continue;
        }
        const doc = extendableCopy(ready.doc);
        const loaded = loadContextEntries(rule.context, doc, { mocked: ready.env.mocked, ...(ready.env.resolver ? { resolver: ready.env.resolver } : {}), deleteRequest: ready.env.deleteRequest });
        if (!loaded.ok) {
          out.push({ rule: rule.name, result: ruleResult(key, severity, rule, mode, "error", `failed to load context: ${loaded.error}`, []), targets: [] });
          continue;
        }
        const pre = evaluateConditions(rule.raw["preconditions"], doc, ready.env, "empty");
        if (!pre.ok || !pre.value) {
          out.push({ rule: rule.name, result: ruleResult(key, severity, rule, mode, pre.ok ? "skip" : "error", pre.ok ? pre.message ?? "preconditions not met" : `failed to evaluate preconditions: ${pre.error ?? ""}`, [{ kind: "precondition", expr: "preconditions", value: pre.value, children: pre.trace }]), targets: [] });
          continue;
        }
        const targets = mutateTargets(rule.raw["mutate"] as Json, doc, ready.env, policyNamespace);
        const failed = targets.find((t) => t.status === "error");
        const changed = targets.filter((t) => t.status === "patch").length;
        const status = failed ? "error" : changed > 0 ? "pass" : "skip";
        out.push({ rule: rule.name, result: ruleResult(key, severity, rule, mode, status, failed?.message ?? (changed > 0 ? `${changed} target${changed === 1 ? "" : "s"} to patch` : "no target to change"), pre.trace.length > 0 ? [{ kind: "precondition", expr: "preconditions", value: true, children: pre.trace }] : []), targets });
      } catch (cause) {
        out.push({ rule: rule.name, result: internalError(rule, mode, cause), targets: [] });
      }
    }
    return out;
  };

  /** Mutate rules in order, each on the previous one's output (Kyverno's mutation engine). */
  const mutateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = {}): MutationOutcome => {
    const original = subjectObject(input);
    const results: RuleResult[] = [];
    if (outsideNamespace(input)) return { results, patched: original, patch: [] };
    const resolver = withGlobalContext(evalOptions.resolver ?? options.resolver, options.globals);
    let current = original;
    let shared: Doc | undefined;
    const sharedDoc = (): Doc => (shared ??= sharedBaseDocument(input));
    for (const rule of mutateRules) {
      const current0 = current;
      const ruleInput: AdmissionInput = current0 === original ? input : { ...input, object: current0 };
      const mode = modeFor(rule, ruleInput);
      const exception = evalOptions.excepted?.(key, rule.name);
      if (exception !== undefined) {
        results.push(ruleResult(key, severity, rule, mode, "skip", exception, []));
        continue;
      }
      try {
        const ready = prepareRule(rule, mode, ruleInput, evalOptions, sharedDoc, resolver);
        if ("stop" in ready) {
          if (ready.stop) results.push(ready.stop);
          continue;
        }
        if (rule.type === "verifyImages") {
          const outcome = verifyImagesBlock(rule.raw["verifyImages"], current0, ready.doc, ready.env, rule.context, rule.raw["preconditions"], "mutate", rule.raw["imageExtractors"]);
          if (outcome.status === undefined) continue;
          results.push(ruleResult(key, severity, rule, mode, outcome.status, outcome.message, outcome.trace));
          if (outcome.status === "pass") current = applyVerifyImages(current0, outcome);
          continue;
        }
        const mutate = isObject(rule.raw["mutate"]) ? rule.raw["mutate"] : {};
        const response = mutateBlock(mutate, current0, ready.doc, ready.env, rule.context, rule.raw["preconditions"]);
        const message = response.status === "pass" ? successMessage(response.patched) : response.message;
        results.push(ruleResult(key, severity, rule, mode, response.status, message, response.trace));
        if (response.status === "pass") current = response.patched;
        if (applyOne && response.status === "pass") break;
      } catch (cause) {
        results.push(internalError(rule, mode, cause));
      }
    }
    return { results, patched: current, patch: current === original ? [] : diffJsonPatch(original, current) };
  };

  const generateRules = rules.filter((r) => r.type === "generate");
  // `spec.generateExisting` (older Kyverno) applies to every generate rule; `generate.generateExisting` to its own.
  // `synchronize: true`: deleting the trigger deletes what the rule generated for it.
  const syncRules = generateRules.filter((r) => isObject(r.raw["generate"]) && r.raw["generate"]["synchronize"] === true);
  const generateExistingRules = generateRules.filter((r) => spec["generateExisting"] === true || (isObject(r.raw["generate"]) && r.raw["generate"]["generateExisting"] === true));

  /** A generated object of this policy's synchronized rules deleted or modified (its labels say so), else undefined. */
  const syncedDownstream = (input: AdmissionInput): DownstreamChange | undefined => {
    if (syncRules.length === 0) return undefined;
    const found = downstreamChange(input);
    if (found === undefined || found.origin.policy !== name || found.origin.policyNamespace !== (policyNamespace ?? "")) return undefined;
    return syncRules.some((r) => r.name === found.origin.rule) ? found : undefined;
  };

  /** Generate rules in order, each on the admission input's object (Kyverno's generation response). */
  const generateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = {}): GenerateOutcome => {
    const trigger = subjectObject(input);
    const results: RuleResult[] = [];
    const resources: Record<string, unknown>[] = [];
    if (outsideNamespace(input)) return { results, resources };
    const resolver = withGlobalContext(evalOptions.resolver ?? options.resolver, options.globals);
    let shared: Doc | undefined;
    const sharedDoc = (): Doc => (shared ??= sharedBaseDocument(input));
    for (const rule of generateRules) {
      const mode = modeFor(rule, input);
      try {
        const ready = prepareRule(rule, mode, input, evalOptions, sharedDoc, resolver);
        if ("stop" in ready) {
          if (ready.stop) results.push(ready.stop);
          continue;
        }
        const generate = isObject(rule.raw["generate"]) ? rule.raw["generate"] : {};
        const origin = { policy: name, policyNamespace: policyNamespace ?? "", rule: rule.name, trigger };
        const response = generateBlock(generate, ready.doc, ready.env, rule.context, rule.raw["preconditions"], origin, evalOptions.clusterResources);
        results.push(ruleResult(key, severity, rule, mode, response.status, response.message, response.trace));
        resources.push(...response.resources);
      } catch (cause) {
        results.push(internalError(rule, mode, cause));
      }
    }
    return { results, resources };
  };

  return {
    meta,
    kind,
    ...(policyNamespace === undefined ? {} : { namespace: policyNamespace }),
    rules: rules.map((r) => ({ name: r.name, type: r.type })),
    evaluateAdmission,
    ...(mutateRules.length > 0 ? { mutateAdmission } : {}),
    ...(generateExistingRules.length > 0 ? { generateExisting: { triggers: [...new Set(generateExistingRules.flatMap((r) => matchedKinds(r.raw["match"])))].map((kind) => ({ kind })) } } : {}),
    ...(generateRules.length > 0 ? {
      generateAdmission,
      generates: (input: AdmissionInput) => {
        if (outsideNamespace(input)) return false;
        if (syncedDownstream(input) !== undefined) return true;
        if (input.object !== null) return generateRules.some((r) => matchBlockMatches(r.raw["match"], input) && !excludeBlockMatches(r.raw["exclude"], input));
        const created = deletedTriggerAsCreate(input);
        return created !== undefined && syncRules.some((r) => matchBlockMatches(r.raw["match"], created) && !excludeBlockMatches(r.raw["exclude"], created));
      },
    } : {}),
    ...(existingRules.length > 0 ? {
      mutateExisting: {
        rules: existingRules.map((r) => r.name),
        onPolicyUpdate: spec["mutateExistingOnPolicyUpdate"] === true,
        triggerKinds: [...new Set(existingRules.flatMap((r) => matchedKinds(r.raw["match"])))],
        selects: (input: AdmissionInput) => !outsideNamespace(input) && existingRules.some((r) => matchBlockMatches(r.raw["match"], input) && !excludeBlockMatches(r.raw["exclude"], input)),
        evaluate: mutateExistingAdmission,
      },
    } : {}),
    evaluate(ctx: Context, evalOptions?: EvaluateOptions): Finding[] {
      const input = admissionInputFor(ctx);
      if (!input) return [];
      const background = ctx.event.type === EventTypes.kubernetesResource;
      let base: KyvernoEvaluateOptions = evalOptions?.includePasses ? { ...evalOptions, includeNoMatch: false } : (evalOptions ?? noOptions);
      // Without a resolver of its own, a policy reads configMap / apiCall entries from the cluster view the context carries.
      const kubernetes = ctx.kubernetes;
      if (kubernetes !== undefined && options.resolver === undefined && base.resolver === undefined) base = { ...base, resolver: clusterContextResolver(kubernetes) };
      if (ctx.event.type === EventTypes.mutateExistingTrigger) return mutateExistingFindings(mutateExistingAdmission(input, base), (r) => resultToFinding(r, meta, input), evalOptions?.includePasses === true);
      if (ctx.event.type === EventTypes.generateTrigger) {
        // An object this policy generated with a synchronized rule, deleted (re-created) or modified (reverted).
        const downstream = syncedDownstream(input);
        if (downstream !== undefined) {
          const rule = syncRules.find((r) => r.name === downstream.origin.rule) as CompiledRule;
          const note = (effect: "pass" | "error", message: string): Finding => resultToFinding(ruleResult(key, severity, rule, modeFor(rule, input), effect, message, []), meta, input);
          const sync = downstream.change === "deleted" ? recreateDownstream : revertDownstream;
          return sync(downstream.origin, input, (trigger) => generateAdmission(trigger, base), (r, trigger) => resultToFinding(r, meta, trigger), note, evalOptions?.includePasses === true, base.resolver);
        }
        if (input.object === null) {
          // A deleted trigger: the downstream of its synchronized rules is deleted.
          const created = deletedTriggerAsCreate(input);
          if (created === undefined || syncRules.length === 0) return [];
          const outcome = generateAdmission(created, base);
          const syncNames = new Set(syncRules.map((r) => r.name));
          return outcome.results.filter((r) => r.status === "pass" && syncNames.has(r.rule)).flatMap((r) =>
            synchronizedDeletions(outcome.resources.filter((g) => stringMap(metadataOf(g)["labels"])["generate.kyverno.io/rule-name"] === r.rule), name, created.object ?? {}, r, (x) => resultToFinding(x, meta, input), evalOptions?.includePasses === true, base.resolver));
        }
        const outcome = generateAdmission(input, base);
        // A namespaced Policy generates into its own namespace only (Kyverno refuses such a Policy).
        const elsewhere = policyNamespace === undefined ? [] : outcome.resources.filter((r) => String(metadataOf(r)["namespace"] ?? "") !== policyNamespace);
        const findings = generateFindings({ results: outcome.results, resources: outcome.resources.filter((r) => !elsewhere.includes(r)) }, (r) => resultToFinding(r, meta, input), evalOptions?.includePasses === true, base.resolver);
        for (const r of elsewhere) {
          const message = `${String(r["kind"] ?? "")} ${String(metadataOf(r)["name"] ?? "")} would be generated ${String(metadataOf(r)["namespace"] ?? "") === "" ? "cluster-wide" : `in namespace ${String(metadataOf(r)["namespace"])}`}; a namespaced Policy generates into its own namespace ${policyNamespace ?? ""} only`;
          const result = outcome.results.find((x) => x.status === "pass");
          if (result) findings.push({ ...resultToFinding(result, meta, input), effect: "error", message, error: { code: "VIGIL_POLICY_EVAL", message } });
        }
        return findings;
      }
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

/** True for a rule result a Kyverno PolicyException turned into a skip. */
function exceptedResult(result: RuleResult): boolean {
  return result.status === "skip" && result.trace.some((step) => step.kind === "exception");
}

/**
 * A podSecurity rule under an exception with podSecurity controls (Kyverno's validate_pss): the
 * rule as written first; when it fails, again with the exception's controls added to its
 * exclusions; a pod that passes only then is a skip naming the exception, otherwise the failure
 * lists the controls still violated.
 */
function podSecurityWithException(psSpec: unknown, input: AdmissionInput, rule: string, applied: AppliedPolicyException): RuleResponse {
  const plain = evaluatePodSecurity(psSpec, input, rule);
  if (plain.status !== "fail") return plain;
  const spec = isObject(psSpec) ? psSpec : {};
  const exclude = [...(Array.isArray(spec["exclude"]) ? spec["exclude"] : []), ...(applied.exception.podSecurity ?? [])];
  const exempted = evaluatePodSecurity({ ...spec, exclude }, input, rule);
  if (exempted.status === "pass") return { status: "skip", message: exceptionMessage(applied), trace: applied.trace };
  return exempted;
}

/** Kyverno's message for an applied mutate rule. */
function successMessage(resource: Record<string, unknown>): string {
  const m = metadataOf(resource);
  const kind = String(resource["kind"] ?? "");
  const ns = typeof m["namespace"] === "string" && m["namespace"] !== "" ? ` in namespace ${m["namespace"]}` : "";
  return `mutated ${kind}/${String(m["name"] ?? "")}${ns}`;
}

function ruleResult(policy: string, severity: Severity, rule: CompiledRule, mode: RuleMode, status: RuleResult["status"], message: string, trace: RuleResult["trace"]): RuleResult {
  return { policy, rule: rule.name, ruleType: rule.type, mode, severity, status, message, trace };
}

/** The rule environment; closures only for the checks the rule has (the hot path allocates little). */
function ruleEnv(rule: CompiledRule, input: AdmissionInput, mocked: ReadonlySet<string>, resolver: ExternalContextResolver | undefined, params: unknown = null): RuleEnv {
  const env: { -readonly [K in keyof RuleEnv]: RuleEnv[K] } = { ruleName: rule.name, mocked, deleteRequest: input.operation === "DELETE", nesting: 0 };
  if (resolver) env.resolver = resolver;
  const cel = rule.cel;
  if (cel) env.cel = (_spec: unknown, d: Doc) => cel.evaluate(input, d, params);
  if (rule.validate["podSecurity"] !== undefined) env.podSecurity = (psSpec: unknown) => evaluatePodSecurity(psSpec, input, rule.name);
  return env;
}

const noMocks: ReadonlySet<string> = new Set();
const noOptions: KyvernoEvaluateOptions = {};

function ruleValuesFor(options: KyvernoEvaluateOptions, rule: string): Readonly<Record<string, unknown>> {
  return options.ruleValues?.[rule] ?? options.ruleValues?.[rule.replace(/^autogen-(cronjob-)?/, "")] ?? {};
}

function mockedNames(options: KyvernoEvaluateOptions, rule: string): ReadonlySet<string> {
  if (options.values === undefined && options.ruleValues === undefined) return noMocks;
  const names = new Set<string>();
  for (const key of Object.keys(options.values ?? {})) names.add(key.split(".")[0] as string);
  for (const key of Object.keys(ruleValuesFor(options, rule))) names.add(key.split(".")[0] as string);
  return names;
}

/** A per-rule document: a shallow copy of the shared base (setPath is copy-on-write) plus values. */
function buildDocument(shared: Doc, options: KyvernoEvaluateOptions, rule: string): Doc {
  const doc: Doc = { ...shared };
  if (options.values === undefined && options.ruleValues === undefined) return doc;
  for (const [k, v] of Object.entries(options.values ?? {})) setPath(doc, k, structuredClone(v));
  for (const [k, v] of Object.entries(ruleValuesFor(options, rule))) setPath(doc, k, structuredClone(v));
  return doc;
}
