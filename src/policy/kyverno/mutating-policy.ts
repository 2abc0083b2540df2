/**
 * Kyverno `policies.kyverno.io` MutatingPolicy (the Kyverno form of Kubernetes
 * MutatingAdmissionPolicy): matchConstraints, matchConditions, variables, and `mutations` of
 * `patchType: ApplyConfiguration` (an `Object{...}` merged with structured-merge semantics,
 * apply-configuration.ts) or `patchType: JSONPatch` (a list of `JSONPatch{op, path, value}`
 * applied as RFC 6902), in order, each seeing the object the previous one produced. Pod
 * controllers are mutated through their pod template (autogen). One result per policy and
 * resource. Compiled once; evaluation never throws.
 */
import { exceptionMessage, matchingCelPolicyException, type PolicyExceptionSet } from "./policy-exception.js";
import { VigilError } from "../../core/errors.js";
import type { Context } from "../../core/context.js";
import { EventTypes } from "../../core/event.js";
import type { Finding, TraceStep } from "../../core/finding.js";
import type { EvaluateOptions, PolicyMeta } from "../../core/policy.js";
import type { CelEnvironment, CelProgram } from "../cel/api.js";
import { matchConstraintsMatch } from "../vap/match-constraints.js";
import { mergeApplyConfiguration } from "./apply-configuration.js";
import { kyvernoCelActivation, withGlobalContextReader } from "./cel-libraries.js";
import { globalContextReader, type GlobalContextSet } from "./global-context.js";
import { celPolicyIdentity, celPolicyMeta, compileExpression, controllerGroups, evaluateMatchConditions, extendOnce, kyvernoSeverity, namedExpressions, onlyPods, podConstraints, scopeOf, type NamedProgram } from "./cel-policy-common.js";
import { clusterContextResolver, sharedBaseDocument, type ExternalContextResolver } from "./context.js";
import { getObject, resourcePath } from "./cluster-reads.js";
import { compileExistingTargets, readExistingTargets, type ExistingTargets } from "./mutating-policy-existing.js";
import { keyOf, mutateExistingFindings, patchOutcome, type TargetOutcome } from "./mutate-existing.js";
import { applyJsonPatch, diffJsonPatch } from "./json-patch.js";
import type { KyvernoEvaluateOptions, KyvernoPolicy, MutationOutcome } from "./policy.js";
import { admissionInputFor, metadataOf, stringMap, type AdmissionInput, type KubeObject } from "./request.js";
import { resultToFinding, type RuleResult } from "./results.js";
import { targetOf } from "./validating-policy.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

type PatchType = "ApplyConfiguration" | "JSONPatch";

export interface CompiledMutation {
  readonly patchType: PatchType;
  readonly program: CelProgram;
  readonly field: string;
}


/** Where a pod controller keeps its pod template. */
const templatePaths: Readonly<Record<string, readonly string[]>> = {
  Deployment: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  ReplicationController: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};
/** `autogen.podControllers.controllers` entries are kinds (`Deployment`) or resources (`deployments`). */
const controllerKinds: Readonly<Record<string, string>> = {
  deployment: "Deployment", deployments: "Deployment", daemonset: "DaemonSet", daemonsets: "DaemonSet",
  statefulset: "StatefulSet", statefulsets: "StatefulSet", replicaset: "ReplicaSet", replicasets: "ReplicaSet",
  replicationcontroller: "ReplicationController", replicationcontrollers: "ReplicationController",
  job: "Job", jobs: "Job", cronjob: "CronJob", cronjobs: "CronJob",
};

const noOptions: KyvernoEvaluateOptions = {};

/** `env` with Kubernetes object construction (`Object{...}`, `JSONPatch{...}`), extended once per environment. */
export const mutatingEnvironment = extendOnce((env) => env.extend({ objectConstruction: true }));



/** Compiles `spec.mutations` (ApplyConfiguration or JSONPatch). Throws VigilError naming a malformed mutation. */
export function compileMutations(value: unknown, env: CelEnvironment, origin: string): CompiledMutation[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new VigilError("VIGIL_POLICY_LOAD", `${origin}: spec.mutations must be a non-empty list of mutations.`, { field: "spec.mutations" });
  }
  return value.map((raw, i) => {
    const m = isObject(raw) ? raw : {};
    const patchType = m["patchType"];
    if (patchType === "ApplyConfiguration" || patchType === "JSONPatch") {
      const key = patchType === "ApplyConfiguration" ? "applyConfiguration" : "jsonPatch";
      const field = `spec.mutations[${i}].${key}.expression`;
      const body = isObject(m[key]) ? m[key] : {};
      return { patchType, field, program: compileExpression(env, body["expression"], origin, field) };
    }
    throw new VigilError("VIGIL_POLICY_LOAD", `${origin}: spec.mutations[${i}].patchType ${JSON.stringify(patchType)} is not supported; use ApplyConfiguration or JSONPatch.`, { field: `spec.mutations[${i}].patchType` });
  });
}



function getPath(object: unknown, path: readonly string[]): unknown {
  let current = object;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  return current;
}

function setPath(object: Json, path: readonly string[], value: unknown): Json {
  const [head, ...rest] = path;
  if (head === undefined) return value as Json;
  const child = isObject(object[head]) ? (object[head] as Json) : {};
  return { ...object, [head]: rest.length === 0 ? value : setPath(child, rest, value) };
}

/** The pod a controller's template describes, as mutations of a pods policy see it. */
function podView(controller: KubeObject | null, path: readonly string[]): KubeObject | null {
  if (controller === null) return null;
  const template = getPath(controller, path);
  const t = isObject(template) ? template : {};
  return { apiVersion: "v1", kind: "Pod", metadata: isObject(t["metadata"]) ? t["metadata"] : {}, spec: isObject(t["spec"]) ? t["spec"] : {} };
}

function describeError(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** Compiles a MutatingPolicy or NamespacedMutatingPolicy document. Throws VigilError on a missing name, a malformed mutation or a CEL syntax error. */
export function compileMutatingPolicy(document: Json, env: CelEnvironment, options: { readonly source?: string; readonly exceptions?: PolicyExceptionSet; readonly globals?: GlobalContextSet } = {}): KyvernoPolicy {
  const metadata = isObject(document["metadata"]) ? document["metadata"] : {};
  const where = options.source ? { file: options.source } : {};
  // A NamespacedMutatingPolicy mutates the requests of its namespace only; it is named `namespace/name`.
  const id = celPolicyIdentity(document, options.source);
  const name = id.key;
  const spec = isObject(document["spec"]) ? document["spec"] : {};
  const annotations = stringMap(metadata["annotations"]);
  const origin = id.origin;
  const menv = mutatingEnvironment(env);
  let variables: NamedProgram[];
  let conditions: NamedProgram[];
  let mutations: CompiledMutation[];
  let existing: ExistingTargets | undefined;
  try {
    variables = namedExpressions(spec["variables"], menv, origin, "variables");
    conditions = namedExpressions(spec["matchConditions"], menv, origin, "matchConditions");
    mutations = compileMutations(spec["mutations"], menv, origin);
    const evaluation = isObject(spec["evaluation"]) ? spec["evaluation"] : {};
    existing = isObject(evaluation["mutateExisting"]) && evaluation["mutateExisting"]["enabled"] === true ? compileExistingTargets(spec, origin, name) : undefined;
  } catch (cause) {
    if (cause instanceof VigilError && options.source && cause.details["file"] === undefined) {
      throw new VigilError(cause.code, cause.message, { ...cause.details, ...where, policy: name }, cause.cause);
    }
    throw cause;
  }
  const autogen = isObject(spec["autogen"]) && isObject(spec["autogen"]["podControllers"]) ? spec["autogen"]["podControllers"] : undefined;
  const configured = autogen && Array.isArray(autogen["controllers"]) ? autogen["controllers"].map((c) => controllerKinds[String(c).toLowerCase()]).filter((c): c is string => c !== undefined) : undefined;
  const controllers = new Set(configured ?? (onlyPods(spec["matchConstraints"]) ? Object.keys(templatePaths) : []));
  const podMatch = podConstraints(spec["matchConstraints"]);
  const severity = kyvernoSeverity(annotations);
  const declared = celPolicyMeta(document, name, annotations, options.source);
  // With mutateExisting, an admitted request it selects triggers the mutation of the existing
  // targets: a dev.vigil.mutate.existing event whose decision plans a kubernetes.patch per target,
  // within the guardrails (remediate: dry-run until promoted), as for mutate.targets rules.
  const meta: PolicyMeta = existing === undefined ? declared : { ...declared, on: [...declared.on, EventTypes.mutateExistingTrigger], enforcement: { tier: "remediate" } };
  const base = { policy: name, rule: "", ruleType: "mutate", mode: "warn", severity } as const;
  const result = (status: RuleResult["status"], message: string, trace: readonly TraceStep[]): RuleResult => ({ ...base, status, message, trace });

  /** The template path when the object is a pod controller the policy reaches through autogen; [] for a direct match; undefined for no match. */
  const selects = (input: AdmissionInput): readonly string[] | undefined => {
    const target = targetOf(input);
    if (matchConstraintsMatch(spec["matchConstraints"], target)) return [];
    const path = templatePaths[target.kind];
    if (path === undefined || !controllers.has(target.kind) || (controllerGroups[target.kind] ?? "") !== target.group) return undefined;
    return matchConstraintsMatch(podMatch, { ...target, kind: "Pod", group: "", version: "v1" }) ? path : undefined;
  };

  const compiled: CompiledMutator = { variables, conditions, mutations, nonBooleanCondition: "error" };

  /** Runs the policy on `object` (the resource, or the pod view of a controller). */
  const mutate = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions, object: KubeObject, oldObject: KubeObject | null): { result: RuleResult; patched: KubeObject } => {
    const activation: Record<string, unknown> = { ...kyvernoCelActivation(input, sharedBaseDocument(input), evalOptions), object, oldObject };
    return runCelMutations(compiled, activation, object, result);
  };

  const run = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions): { results: RuleResult[]; patched: KubeObject | null } => {
    const original = input.object;
    try {
      const inScope = id.inScope(input);
      const path = inScope ? selects(input) : undefined;
      if (path === undefined) return { results: evalOptions.includeNoMatch ? [result("nomatch", inScope ? "policy does not match the resource" : id.outOfScope, [])] : [], patched: original };
      if (original === null) return { results: [result("skip", "no object to mutate (DELETE or CONNECT request)", [])], patched: original };
      const exception = evalOptions.excepted?.(name, name);
      if (exception !== undefined) return { results: [result("skip", exception, [])], patched: original };
      // A CEL PolicyException referring to this MutatingPolicy whose matchConditions hold: skip, naming it.
      const candidates = options.exceptions?.celCandidates(id.name, id.kind);
      const polex = candidates === undefined || candidates.length === 0 ? undefined : matchingCelPolicyException(candidates, { ...kyvernoCelActivation(input, sharedBaseDocument(input), evalOptions), object: original, oldObject: input.oldObject });
      if (polex !== undefined) return { results: [result("skip", exceptionMessage(polex), polex.trace)], patched: original };
      if (path.length === 0) {
        const out = mutate(input, evalOptions, original, input.oldObject);
        return { results: [out.result], patched: out.patched };
      }
      const view = podView(original, path) as KubeObject;
      const out = mutate(input, evalOptions, view, podView(input.oldObject, path));
      if (out.patched === view) return { results: [out.result], patched: original };
      const template = getPath(original, path);
      const patchedTemplate = { ...(isObject(template) ? template : {}), metadata: out.patched["metadata"], spec: out.patched["spec"] };
      return { results: [out.result], patched: setPath(original, path, patchedTemplate) };
    } catch (cause) {
      return { results: [result("error", `internal error: ${describeError(cause)}`, [])], patched: original };
    }
  };

  // `kyverno test` and hosts that report results and mutate ask for both with the same input and
  // options one after the other: the last run is kept (one entry, no growth) so the second is free.
  let last: { input: AdmissionInput; options: KyvernoEvaluateOptions; out: ReturnType<typeof run> } | undefined;
  const runOnce = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions): ReturnType<typeof run> => {
    if (last !== undefined && last.input === input && last.options === evalOptions) return last.out;
    // CEL globalContext.Get reads the loaded GlobalContextEntries through the resolver while the policy runs.
    const out = withGlobalContextReader(evalOptions.globalContext ?? globalContextReader(evalOptions.resolver, options.globals), () => run(input, evalOptions));
    last = { input, options: evalOptions, out };
    return out;
  };

  const evaluateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = noOptions): RuleResult[] => runOnce(input, evalOptions).results.slice();

  const mutateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = noOptions): MutationOutcome => {
    const out = runOnce(input, evalOptions);
    const original = input.object ?? {};
    const patched = out.patched ?? original;
    if (patched === original) return { results: out.results.slice(), patched, patch: [] };
    try {
      return { results: out.results.slice(), patched, patch: diffJsonPatch(original, patched) };
    } catch (cause) {
      return { results: [result("error", `internal error: ${describeError(cause)}`, [])], patched: original, patch: [] };
    }
  };

  const readsNamespaceObject = JSON.stringify([spec["variables"], spec["matchConditions"], spec["mutations"]]).includes("namespaceObject");
  /**
   * CEL `namespaceObject` for a target: its own Namespace, not the trigger's. The trigger's when
   * they share it; else read from the cluster (a GET through the resolver, answered in the agent's
   * lookup rounds); null for a cluster-scoped target, or a Namespace that cannot be read.
   */
  const targetNamespaceObject = (input: AdmissionInput, target: KubeObject, resolver: ExternalContextResolver | undefined): unknown => {
    // Only a policy whose expressions read it pays for the read.
    if (!readsNamespaceObject) return input.namespaceObject ?? null;
    const namespace = metadataOf(target)["namespace"];
    if (typeof namespace !== "string" || namespace === "") return null;
    if (input.namespaceObject !== undefined && metadataOf(input.namespaceObject)["name"] === namespace) return input.namespaceObject;
    const read = getObject(resolver, "namespaceObject", resourcePath("v1", "namespaces", "", namespace), { apiVersion: "v1", kind: "Namespace" });
    return "object" in read ? read.object : null;
  };

  /** One existing target mutated for a trigger: `object` is the target, `request` the trigger's. */
  const mutateTarget = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions, target: KubeObject): TargetOutcome => {
    const key = keyOf(target);
    const namespace = metadataOf(target)["namespace"];
    if (id.namespace !== undefined && namespace !== id.namespace) return { status: "skip", target: key, message: `target ${key} is outside the namespace ${id.namespace} of the ${id.kind}: a namespaced policy mutates only its own namespace`, trace: [] };
    const activation: Record<string, unknown> = { ...kyvernoCelActivation(input, sharedBaseDocument(input), evalOptions), object: target, oldObject: null, namespaceObject: targetNamespaceObject(input, target, evalOptions.resolver) };
    const candidates = options.exceptions?.celCandidates(id.name, id.kind);
    const polex = candidates === undefined || candidates.length === 0 ? undefined : matchingCelPolicyException(candidates, activation);
    if (polex !== undefined) return { status: "skip", target: key, message: exceptionMessage(polex), trace: polex.trace };
    const out = runCelMutations(compiled, activation, target, result);
    const trace: TraceStep[] = [{ kind: "note", expr: "target", value: key }, ...out.result.trace];
    if (out.result.status === "error") return { status: "error", target: key, message: `target ${key}: ${out.result.message}`, trace };
    if (out.result.status !== "pass") return { status: "skip", target: key, message: `target ${key}: ${out.result.message}`, trace };
    return patchOutcome(target, out.patched, trace);
  };

  /** The trigger's targets and what the mutations would change in each (Kyverno's background mutation of existing resources). */
  const evaluateExisting = (targets: ExistingTargets, input: AdmissionInput, evalOptions: KyvernoEvaluateOptions): { rule: string; result: RuleResult; targets: TargetOutcome[] }[] => {
    const rule = id.name;
    try {
      if (!id.inScope(input) || selects(input) === undefined || input.object === null) return [];
      const read = withGlobalContextReader(evalOptions.globalContext ?? globalContextReader(evalOptions.resolver, options.globals), () => {
        const listed = readExistingTargets(targets, evalOptions.resolver);
        const outcomes: TargetOutcome[] = listed.errors.map((e) => ({ status: "error" as const, target: e.target, message: e.message, trace: [] }));
        for (const target of listed.objects) outcomes.push(mutateTarget(input, evalOptions, target));
        return outcomes;
      });
      const failed = read.find((t) => t.status === "error");
      const changed = read.filter((t) => t.status === "patch").length;
      const status = failed ? "error" : changed > 0 ? "pass" : "skip";
      return [{ rule, result: { ...result(status, failed?.message ?? (changed > 0 ? `${changed} target${changed === 1 ? "" : "s"} to patch` : "no target to change"), []), rule }, targets: read }];
    } catch (cause) {
      return [{ rule, result: { ...result("error", `internal error: ${describeError(cause)}`, []), rule }, targets: [] }];
    }
  };

  return {
    meta,
    ...scopeOf(id),
    rules: [{ name: "", type: "mutate" }],
    evaluateAdmission,
    mutateAdmission,
    reinvocationPolicy: spec["reinvocationPolicy"] === "IfNeeded" ? "IfNeeded" : "Never",
    ...(existing === undefined ? {} : {
      mutateExisting: {
        // Kyverno mutates a MutatingPolicy's existing targets when a request triggers it, not when the policy is installed.
        rules: [],
        onPolicyUpdate: false,
        triggerKinds: [],
        selects: (input: AdmissionInput) => id.inScope(input) && input.object !== null && selects(input) !== undefined,
        evaluate: (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = noOptions) => evaluateExisting(existing, input, evalOptions),
      },
    }),
    // Mutations run on the mutating webhook (mutateAdmission); on the validating paths (the
    // validate webhook, replay, background scan) a MutatingPolicy decides nothing, like the
    // mutate rules of a ClusterPolicy, so it costs nothing there and a mutation error cannot deny
    // a request twice. With mutateExisting, a trigger (dev.vigil.mutate.existing) is decided:
    // one finding per target to change, with its kubernetes.patch.
    evaluate(ctx: Context, evalOptions?: EvaluateOptions): Finding[] {
      if (existing === undefined || ctx.event?.type !== EventTypes.mutateExistingTrigger) return [];
      const input = admissionInputFor(ctx);
      if (!input) return [];
      let evalBase: KyvernoEvaluateOptions = evalOptions?.includePasses ? { ...evalOptions, includeNoMatch: false } : (evalOptions ?? noOptions);
      if (ctx.kubernetes !== undefined && evalBase.resolver === undefined) evalBase = { ...evalBase, resolver: clusterContextResolver(ctx.kubernetes) };
      return mutateExistingFindings(evaluateExisting(existing, input, evalBase), (r) => resultToFinding(r, meta, input), evalOptions?.includePasses === true);
    },
  };
}

/** One mutation's value applied to the object. Throws an Error saying what is wrong with the value. */
function applyMutation(m: CompiledMutation, object: KubeObject, value: unknown): KubeObject {
  if (m.patchType === "ApplyConfiguration") {
    if (!isObject(value)) throw new Error(`an apply configuration must be an Object{...} value, got ${value === null ? "null" : Array.isArray(value) ? "a list" : typeof value}`);
    const merged = mergeApplyConfiguration(object, value);
    return isObject(merged) ? merged : object;
  }
  if (!Array.isArray(value)) throw new Error(`a JSON patch must be a list of JSONPatch{op, path, value}, got ${value === null ? "null" : typeof value}`);
  if (value.length === 0) return object;
  const patched = applyJsonPatch(object, value);
  if (!isObject(patched)) throw new Error("the JSON patch replaced the object with a value that is not an object");
  return patched;
}

/** A compiled mutator's CEL parts: variables, matchConditions and mutations, in order. */
export interface CompiledMutator {
  readonly variables: readonly NamedProgram[];
  readonly conditions: readonly NamedProgram[];
  readonly mutations: readonly CompiledMutation[];
  /** A matchCondition giving no bool: an error (Kyverno's MutatingPolicy) or a match (the API server's MutatingAdmissionPolicy). */
  readonly nonBooleanCondition: "error" | "match";
}

/**
 * Runs compiled mutations on `object` with `activation` (which it completes with `object` and
 * `variables`): variables, then every matchCondition (false → `skip`, error → `error`), then the
 * mutations in order, each on the previous one's output with the variables recomputed. The
 * shared core of Kyverno's MutatingPolicy and Kubernetes' MutatingAdmissionPolicy. Never throws
 * for a failing expression or patch (an `error` result, the object unchanged).
 */
export function runCelMutations(compiled: CompiledMutator, activation: Record<string, unknown>, object: KubeObject, result: (status: RuleResult["status"], message: string, trace: readonly TraceStep[]) => RuleResult): { result: RuleResult; patched: KubeObject } {
  const { variables, conditions, mutations } = compiled;
  const trace: TraceStep[] = [];
  const evaluateVariables = (steps: TraceStep[] | undefined): void => {
    const values: Record<string, unknown> = {};
    activation["variables"] = values;
    for (const v of variables) {
      const r = v.program.evaluate(activation, { raw: true });
      if (r.ok) values[v.name] = r.value;
      steps?.push({ kind: "variable", expr: `variables.${v.name}`, ...(r.ok ? {} : { error: r.error.message }) });
    }
  };
  activation["object"] = object;
  evaluateVariables(trace);
  const matched = evaluateMatchConditions(conditions, activation, trace, compiled.nonBooleanCondition);
  if (matched.status !== "match") return { result: result(matched.status, matched.message, trace), patched: object };
  let current = object;
  for (const [i, m] of mutations.entries()) {
    if (i > 0 && activation["object"] !== current) {
      // variables see the object as the previous mutation left it
      activation["object"] = current;
      evaluateVariables(undefined);
    }
    const r = m.program.evaluate(activation);
    if (!r.ok) {
      trace.push({ kind: "condition", expr: m.field, error: r.error.message });
      return { result: result("error", `${m.field} failed to evaluate: ${r.error.message}`, trace), patched: object };
    }
    try {
      current = applyMutation(m, current, r.value);
    } catch (cause) {
      trace.push({ kind: "condition", expr: m.field, error: describeError(cause) });
      return { result: result("error", `${m.field}: ${describeError(cause)}`, trace), patched: object };
    }
    trace.push({ kind: "condition", expr: m.field, value: m.patchType });
  }
  return { result: result("pass", current === object ? "no change" : `${mutations.length === 1 ? "mutation" : `${mutations.length} mutations`} applied`, trace), patched: current };
}
