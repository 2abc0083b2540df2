/**
 * Kyverno `policies.kyverno.io` ValidatingPolicy (CEL): matchConstraints, matchConditions,
 * variables, validations with messageExpression, validationActions (Deny → mode deny,
 * Audit/Warn → warn), and pod-controller autogen. One result per policy and resource.
 */
import type { Context } from "../../core/context.js";
import type { Finding } from "../../core/finding.js";
import type { EvaluateOptions } from "../../core/policy.js";
import type { CelEnvironment } from "../cel/api.js";
import { admissionCelSpecOf, compileAdmissionCel, type CompiledAdmissionCel } from "../vap/cel-admission.js";
import { matchConstraintsMatch, type MatchTarget } from "../vap/match-constraints.js";
import { clusterContextResolver, sharedBaseDocument } from "./context.js";
import { globalContextReader, type GlobalContextSet } from "./global-context.js";
import { kyvernoCelActivation, withGlobalContextReader } from "./cel-libraries.js";
import { celPolicyIdentity, celPolicyMeta, controllerGroups, kyvernoSeverity, onlyPods, podConstraints, scopeOf } from "./cel-policy-common.js";
import type { KyvernoEvaluateOptions, KyvernoPolicy } from "./policy.js";
import { admissionInputFor, gvkOf, metadataOf, stringMap, subjectObject, type AdmissionInput } from "./request.js";
import { resultToFinding, type RuleResult } from "./results.js";
import { exceptionMessage, matchingCelPolicyException, type PolicyExceptionSet } from "./policy-exception.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const podControllers = ["Deployment", "DaemonSet", "StatefulSet", "Job", "ReplicaSet", "ReplicationController", "CronJob"];

/** A CEL policy spec for a pod controller: `object.spec` / `object.metadata` read from the pod template (Kyverno's autogen). */
function rewriteForController(spec: Json, cron: boolean): Json {
  const target = cron ? "spec.jobTemplate.spec.template" : "spec.template";
  const text = JSON.stringify(spec)
    .replace(/(^|[^.\w])(object|oldObject)\.spec\b/g, `$1$2.${target}.spec`)
    .replace(/(^|[^.\w])(object|oldObject)\.metadata\b/g, `$1$2.${target}.metadata`)
    .replace(/(^|[^.\w])(object|oldObject)\.\?spec\b/g, `$1$2.${target}.?spec`);
  return JSON.parse(text) as Json;
}


export function targetOf(input: AdmissionInput): MatchTarget {
  const object = subjectObject(input);
  const gvk = gvkOf(object);
  const meta = metadataOf(object);
  return {
    group: gvk.group,
    version: gvk.version,
    kind: gvk.kind,
    subResource: input.subResource,
    operation: input.operation,
    labels: stringMap(meta["labels"]),
    ...(input.namespaceLabels ? { namespaceLabels: input.namespaceLabels } : {}),
    // The request's namespace and name first, as the API server matches (and VAP reads them): an
    // object created in a namespace need not carry it in its metadata, nor a generateName pod a name.
    namespace: requestText(input, "namespace") ?? (typeof meta["namespace"] === "string" ? meta["namespace"] : ""),
    name: requestText(input, "name") ?? (typeof meta["name"] === "string" ? meta["name"] : ""),
  };
}

/** A non-empty string field of the raw AdmissionReview request, when the input was one. */
function requestText(input: AdmissionInput, key: "namespace" | "name"): string | undefined {
  const value = input.raw?.[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Kyverno's compiled policy converts each matchCondition to bool: another value is an error. */
const kyvernoMatching = { nonBooleanConditionErrs: true } as const;

/**
 * Compiles a CEL policy spec (variables, matchConditions, validations) and, for a policy on Pods,
 * its pod-controller variants (Kyverno's autogen: `spec.autogen.podControllers.controllers`, else
 * every controller). Returns the program that applies to an input, or undefined when
 * matchConstraints select neither the object nor its pod template.
 */
export function compileWithAutogen(spec: Json, env: CelEnvironment, origin: string): (input: AdmissionInput) => CompiledAdmissionCel | undefined {
  const main = compileAdmissionCel(admissionCelSpecOf(spec), env, origin, kyvernoMatching);
  const autogen = isObject(spec["autogen"]) && isObject(spec["autogen"]["podControllers"]) ? spec["autogen"]["podControllers"] : undefined;
  const configured = autogen && Array.isArray(autogen["controllers"]) ? autogen["controllers"].map(String) : undefined;
  const controllers = configured ?? (onlyPods(spec["matchConstraints"]) ? podControllers : []);
  const variants: { kinds: Set<string>; program: CompiledAdmissionCel }[] = [];
  const plain = controllers.filter((c) => c !== "CronJob" && c !== "Pod");
  if (plain.length > 0) variants.push({ kinds: new Set(plain), program: compileAdmissionCel(admissionCelSpecOf(rewriteForController(spec, false)), env, `${origin} (autogen)`, kyvernoMatching) });
  if (controllers.includes("CronJob")) variants.push({ kinds: new Set(["CronJob"]), program: compileAdmissionCel(admissionCelSpecOf(rewriteForController(spec, true)), env, `${origin} (autogen cronjob)`, kyvernoMatching) });
  return (input) => {
    const target = targetOf(input);
    if (matchConstraintsMatch(spec["matchConstraints"], target)) return main;
    const variant = variants.find((v) => v.kinds.has(target.kind) && (controllerGroups[target.kind] ?? "") === target.group);
    return variant && matchConstraintsMatch(podConstraints(spec["matchConstraints"]), { ...target, kind: "Pod", group: "", version: "v1" }) ? variant.program : undefined;
  };
}

/** Compiles a ValidatingPolicy or NamespacedValidatingPolicy document. Throws VigilError on a missing name or a CEL syntax error. */
export function compileValidatingPolicy(document: Json, env: CelEnvironment, options: { readonly source?: string; readonly exceptions?: PolicyExceptionSet; readonly globals?: GlobalContextSet } = {}): KyvernoPolicy {
  const metadata = isObject(document["metadata"]) ? document["metadata"] : {};
  // A NamespacedValidatingPolicy is a ValidatingPolicy that sees the requests of its namespace only; it is named `namespace/name`.
  const id = celPolicyIdentity(document, options.source);
  const name = id.key;
  const spec = isObject(document["spec"]) ? document["spec"] : {};
  const annotations = stringMap(metadata["annotations"]);
  const programFor = compileWithAutogen(spec, env, id.origin);
  const actions = Array.isArray(spec["validationActions"]) ? spec["validationActions"].map(String) : ["Deny"];
  const mode = actions.includes("Deny") ? "deny" : "warn";
  const severity = kyvernoSeverity(annotations);
  // `spec.evaluation.{admission,background}.enabled: false`: not evaluated in admission / by background scans.
  const meta = celPolicyMeta(document, name, annotations, options.source);
  const exceptions = options.exceptions;

  const evaluateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = {}): RuleResult[] => {
    const base = { policy: name, rule: "", ruleType: "validate", mode, severity } as const;
    try {
      const inScope = id.inScope(input);
      const program = inScope ? programFor(input) : undefined;
      if (!program) return evalOptions.includeNoMatch ? [{ ...base, status: "nomatch", message: inScope ? "policy does not match the resource" : id.outOfScope, trace: [] }] : [];
      const doc = sharedBaseDocument(input);
      const reader = evalOptions.globalContext ?? globalContextReader(evalOptions.resolver, options.globals);
      const activation = kyvernoCelActivation(input, doc, evalOptions);
      // globalContext.Get reads through `reader` while this evaluation runs (synchronously).
      return withGlobalContextReader(reader, (): RuleResult[] => {
        // A CEL PolicyException referring to this policy whose matchConditions hold: skip, naming it.
        const candidates = exceptions?.celCandidates(id.name, id.kind);
        const excepted = candidates === undefined || candidates.length === 0 ? undefined : matchingCelPolicyException(candidates, activation);
        if (excepted) return [{ ...base, status: "skip", message: exceptionMessage(excepted), trace: excepted.trace }];
        const r = program.evaluate(activation);
        return [{ ...base, status: r.status, message: r.message, trace: r.trace }];
      });
    } catch (cause) {
      return [{ ...base, status: "error", message: `internal error: ${cause instanceof Error ? cause.message : String(cause)}`, trace: [] }];
    }
  };

  return {
    meta,
    ...scopeOf(id),
    rules: [{ name: "", type: "validate" }],
    evaluateAdmission,
    evaluate(ctx: Context, evalOptions?: EvaluateOptions): Finding[] {
      const input = admissionInputFor(ctx);
      if (!input) return [];
      // globalContext.Get reads the cluster the context carries (GlobalContextEntries loaded with the policies).
      const kubernetes = ctx.kubernetes;
      const base: KyvernoEvaluateOptions = evalOptions ?? {};
      return evaluateAdmission(input, kubernetes !== undefined && options.globals !== undefined && options.globals.size > 0 ? { ...base, resolver: clusterContextResolver(kubernetes) } : base)
        .filter((r) => evalOptions?.includePasses || r.status === "fail" || r.status === "error" || (r.status === "skip" && r.trace[0]?.kind === "exception"))
        .map((r) => resultToFinding({ ...r, rule: r.rule || id.name }, meta, input));
    },
  };
}

