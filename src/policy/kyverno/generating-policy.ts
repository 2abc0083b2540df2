/**
 * Kyverno `policies.kyverno.io` GeneratingPolicy (CEL): matchConstraints, matchConditions,
 * variables and `generate[].expression`, where `generator.Apply(namespace, [objects])` records
 * the objects to generate in that namespace (`kind: List` objects contribute their items), as
 * `kyverno test` computes them: uid, resourceVersion, creationTimestamp, managedFields and
 * annotations dropped, the namespace set. Nothing is created: generated resources are computed
 * for `vigil test`, never written to a cluster. `spec.evaluation.synchronize`,
 * `orphanDownstreamOnPolicyDelete` and `generateExisting` steer Kyverno's controller; they appear
 * in the trace only. One result per policy and trigger. Compiled once; evaluation never throws.
 */
import { exceptionMessage, matchingCelPolicyException, type PolicyExceptionSet } from "./policy-exception.js";
import { VigilError } from "../../core/errors.js";
import type { Context } from "../../core/context.js";
import { EventTypes } from "../../core/event.js";
import type { Finding, TraceStep } from "../../core/finding.js";
import type { EvaluateOptions, PolicyMeta } from "../../core/policy.js";
import type { CelEnvironment, CelFunctionDefinition, CelProgram } from "../cel/api.js";
import { matchConstraintsMatch } from "../vap/match-constraints.js";
import { kyvernoCelActivation, withGlobalContextReader } from "./cel-libraries.js";
import { isClusterScopedKind } from "./kinds.js";
import { globalContextReader, type GlobalContextSet } from "./global-context.js";
import { celPolicyIdentity, celPolicyMeta, compileExpression, evaluateMatchConditions, extendOnce, kyvernoSeverity, namedExpressions, scopeOf, type NamedProgram } from "./cel-policy-common.js";
import { clusterContextResolver, sharedBaseDocument } from "./context.js";
import { generateLabels } from "./generate.js";
import { asCreation, deletedTriggerAsCreate, generateFindings, synchronizedDeletions } from "./generate-actions.js";
import { downstreamChange, recreateDownstream, revertDownstream, type DownstreamChange } from "./generate-sync.js";
import { mutatingEnvironment } from "./mutating-policy.js";
import type { GenerateOutcome, KyvernoEvaluateOptions, KyvernoPolicy, TriggerTarget } from "./policy.js";
import { admissionInputFor, stringMap, type AdmissionInput } from "./request.js";
import { resultToFinding, type RuleResult } from "./results.js";
import { targetOf } from "./validating-policy.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const generatorKey = "__vigilGenerator";

/**
 * The objects `generator.Apply` records during one evaluation. INVARIANT: evaluation is
 * synchronous; `generate` sets it before running the expressions and clears it after, so a call
 * outside a GeneratingPolicy evaluation fails instead of recording anywhere.
 */
let recording: Json[] | undefined;


/** Kyverno's CLI generation context: each object (each item of a List) with the namespace set and server fields dropped. */
function record(namespace: string, objects: unknown): null {
  if (recording === undefined) throw new Error("generator.Apply is only available in a GeneratingPolicy generate expression");
  if (!Array.isArray(objects)) throw new Error("generator.Apply: the second argument must be a list of objects");
  for (const raw of objects) {
    if (!isObject(raw)) throw new Error("generator.Apply: every element of the list must be an object (a Kubernetes resource)");
    const items = raw["kind"] === "List" && Array.isArray(raw["items"]) ? raw["items"].filter(isObject) : [raw];
    for (const item of items) {
      const copy = structuredClone(item);
      const meta: Json = isObject(copy["metadata"]) ? { ...copy["metadata"] } : {};
      for (const key of ["uid", "managedFields", "annotations", "resourceVersion", "creationTimestamp"]) delete meta[key];
      const kind = String(copy["kind"] ?? "");
      if (namespace !== "" && !isClusterScopedKind(kind) && !kind.startsWith("Cluster")) meta["namespace"] = namespace;
      recording.push({ ...copy, metadata: meta });
    }
  }
  return null;
}

const generatorFunctions: readonly CelFunctionDefinition[] = [
  {
    name: "Apply",
    receiver: true,
    arity: 2,
    impl: (receiver, namespace, objects) => {
      if (!isObject(receiver) || receiver[generatorKey] !== true) throw new Error("Apply is a method of `generator` (generator.Apply(namespace, objects))");
      return record(String(namespace ?? ""), objects);
    },
  },
];

/** `env` with object construction and Kyverno's generator library, extended once per environment. */
export const generatingEnvironment = extendOnce((env) => mutatingEnvironment(env).extend({ functions: generatorFunctions }));




function describeError(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

const noOptions: KyvernoEvaluateOptions = {};

/** The group/version/resources `matchConstraints.resourceRules` name (no wildcards: those cannot be listed). */
function resourceTargets(constraints: unknown): TriggerTarget[] {
  const rules = isObject(constraints) && Array.isArray(constraints["resourceRules"]) ? constraints["resourceRules"].filter(isObject) : [];
  const out = new Map<string, TriggerTarget>();
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
  for (const rule of rules) {
    for (const group of strings(rule["apiGroups"])) for (const version of strings(rule["apiVersions"])) for (const named of strings(rule["resources"])) {
      const resource = named.split("/")[0] ?? "";
      if ([group, version, resource].some((part) => part.includes("*")) || resource === "") continue;
      out.set(`${group}/${version}/${resource}`, { group, version, resource });
    }
  }
  return [...out.values()];
}

/** The namespace a generated object goes to; "" for none (cluster-scoped). */
function generatedNamespace(object: Json): string {
  const meta = isObject(object["metadata"]) ? object["metadata"] : {};
  return typeof meta["namespace"] === "string" ? meta["namespace"] : "";
}

/** Compiles a GeneratingPolicy or NamespacedGeneratingPolicy document. Throws VigilError on a missing name, a missing generate list or a CEL syntax error. */
export function compileGeneratingPolicy(document: Json, env: CelEnvironment, options: { readonly source?: string; readonly exceptions?: PolicyExceptionSet; readonly globals?: GlobalContextSet } = {}): KyvernoPolicy {
  const metadata = isObject(document["metadata"]) ? document["metadata"] : {};
  const where = options.source ? { file: options.source } : {};
  // A NamespacedGeneratingPolicy follows the requests of its namespace only and generates into that namespace only; it is named `namespace/name`.
  const id = celPolicyIdentity(document, options.source);
  const name = id.key;
  const spec = isObject(document["spec"]) ? document["spec"] : {};
  const annotations = stringMap(metadata["annotations"]);
  const origin = id.origin;
  const genv = generatingEnvironment(env);
  let variables: NamedProgram[];
  let conditions: NamedProgram[];
  let generators: CelProgram[];
  try {
    variables = namedExpressions(spec["variables"], genv, origin, "variables");
    conditions = namedExpressions(spec["matchConditions"], genv, origin, "matchConditions");
    if (!Array.isArray(spec["generate"]) || spec["generate"].length === 0) {
      throw new VigilError("VIGIL_POLICY_LOAD", `${origin}: spec.generate must be a non-empty list of {expression}.`, { field: "spec.generate" });
    }
    generators = spec["generate"].map((g, i) => compileExpression(genv, isObject(g) ? g["expression"] : undefined, origin, `spec.generate[${i}].expression`));
  } catch (cause) {
    if (cause instanceof VigilError && cause.details["file"] === undefined) {
      throw new VigilError(cause.code, cause.message, { ...cause.details, ...where, policy: name }, cause.cause);
    }
    throw cause;
  }
  const severity = kyvernoSeverity(annotations);
  const evaluation = isObject(spec["evaluation"]) ? spec["evaluation"] : {};
  // `spec.evaluation.synchronize.enabled`: deleting the trigger deletes what the policy generated for it.
  const synchronize = isObject(evaluation["synchronize"]) && evaluation["synchronize"]["enabled"] === true;
  const controllerNotes: TraceStep[] = ["synchronize", "orphanDownstreamOnPolicyDelete", "generateExisting"]
    .filter((k) => evaluation[k] !== undefined)
    .map((k) => ({ kind: "note", expr: `spec.evaluation.${k}`, value: evaluation[k] }));
  // Generation follows admission requests: `vigil test` computes it, and the agent decides a
  // dev.vigil.generate trigger (an admitted request) into a kubernetes.create of each generated
  // object within the guardrails (remediate: dry-run until promoted).
  const meta: PolicyMeta = { ...celPolicyMeta(document, name, annotations, options.source, ["io.k8s.admission.review", EventTypes.generateTrigger]), enforcement: { tier: "remediate" } };
  const base = { policy: name, rule: "", ruleType: "generate", mode: "warn", severity } as const;
  const result = (status: RuleResult["status"], message: string, trace: readonly TraceStep[]): RuleResult => ({ ...base, status, message, trace });

  const generate = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions): GenerateOutcome => {
    const inScope = id.inScope(input);
    if (!inScope || !matchConstraintsMatch(spec["matchConstraints"], targetOf(input))) {
      return { results: evalOptions.includeNoMatch ? [result("nomatch", inScope ? "policy does not match the resource" : id.outOfScope, [])] : [], resources: [] };
    }
    const trace: TraceStep[] = [...controllerNotes];
    const activation: Record<string, unknown> = { ...kyvernoCelActivation(input, sharedBaseDocument(input), evalOptions), generator: { [generatorKey]: true } };
    // A CEL PolicyException referring to this GeneratingPolicy whose matchConditions hold: nothing generated, a skip naming it.
    const candidates = options.exceptions?.celCandidates(id.name, id.kind);
    const polex = candidates === undefined || candidates.length === 0 ? undefined : matchingCelPolicyException(candidates, activation);
    if (polex !== undefined) return { results: [result("skip", exceptionMessage(polex), polex.trace)], resources: [] };
    const values: Record<string, unknown> = {};
    activation["variables"] = values;
    for (const v of variables) {
      const r = v.program.evaluate(activation, { raw: true });
      if (r.ok) values[v.name] = r.value;
      trace.push({ kind: "variable", expr: `variables.${v.name}`, ...(r.ok ? {} : { error: r.error.message }) });
    }
    const matched = evaluateMatchConditions(conditions, activation, trace, "error");
    if (matched.status !== "match") return { results: [result(matched.status, matched.message, trace)], resources: [] };
    const resources: Json[] = [];
    for (const [i, program] of generators.entries()) {
      const field = `spec.generate[${i}].expression`;
      const recorded: Json[] = [];
      recording = recorded;
      let r: ReturnType<CelProgram["evaluate"]>;
      try {
        r = program.evaluate(activation);
      } finally {
        recording = undefined;
      }
      const elsewhere = id.namespace === undefined ? undefined : recorded.find((g) => generatedNamespace(g) !== id.namespace);
      if (elsewhere !== undefined) {
        // Kyverno: a namespaced policy generates into its own namespace only, never cluster-scoped objects.
        const into = generatedNamespace(elsewhere);
        const what = `${String(elsewhere["kind"] ?? "")} ${String(isObject(elsewhere["metadata"]) ? elsewhere["metadata"]["name"] ?? "" : "")}`;
        trace.push({ kind: "condition", expr: field, error: `generates into ${into === "" ? "the cluster scope" : `namespace ${into}`}` });
        return { results: [result("error", `${field}: ${what} would be generated ${into === "" ? "cluster-wide" : `in namespace ${into}`}; a ${id.kind} generates into its own namespace ${id.namespace} only`, trace)], resources: [] };
      }
      if (r.ok) resources.push(...recorded);
      else {
        trace.push({ kind: "condition", expr: field, error: r.error.message });
        return { results: [result("error", `${field} failed to evaluate: ${r.error.message}`, trace)], resources: [] };
      }
      trace.push({ kind: "condition", expr: field, value: resources.length });
    }
    return { results: [result("pass", `generated ${resources.length} resource(s)`, trace)], resources };
  };

  const generateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = noOptions): GenerateOutcome => {
    try {
      return withGlobalContextReader(evalOptions.globalContext ?? globalContextReader(evalOptions.resolver, options.globals), () => generate(input, evalOptions));
    } catch (cause) {
      return { results: [result("error", `internal error: ${describeError(cause)}`, [])], resources: [] };
    }
  };

  /** A generated object of this policy deleted or modified (its labels say so) when it synchronizes, else undefined. */
  const syncedDownstream = (input: AdmissionInput): DownstreamChange | undefined => {
    if (!synchronize) return undefined;
    const found = downstreamChange(input);
    return found !== undefined && found.origin.policy === id.name && found.origin.policyNamespace === (id.namespace ?? "") && found.origin.rule === "" ? found : undefined;
  };

  return {
    meta,
    ...scopeOf(id),
    rules: [{ name: "", type: "generate" }],
    // Kyverno's validation response has no generate results: they come from generateAdmission.
    evaluateAdmission: () => [],
    generateAdmission,
    generates: (input: AdmissionInput) => {
      if (!id.inScope(input)) return false;
      if (syncedDownstream(input) !== undefined) return true;
      if (input.object !== null) {
        if (matchConstraintsMatch(spec["matchConstraints"], targetOf(input))) return true;
        // With synchronize, an update of a trigger (seen as its creation) may take it out of the policy: its objects are then deleted.
        return synchronize && input.operation === "UPDATE" && input.oldObject !== null && matchConstraintsMatch(spec["matchConstraints"], targetOf(asCreation(input, input.oldObject)));
      }
      // A deleted trigger: with synchronize, what it generated is deleted (matched as the trigger's creation).
      const created = synchronize ? deletedTriggerAsCreate(input) : undefined;
      return created !== undefined && matchConstraintsMatch(spec["matchConstraints"], targetOf(created));
    },
    ...(isObject(evaluation["generateExisting"]) && evaluation["generateExisting"]["enabled"] === true ? { generateExisting: { triggers: resourceTargets(spec["matchConstraints"]) } } : {}),
    // With synchronize, a new revision brings the objects of the previous one to what it generates:
    // their kinds come from CEL, so the sweep lists the kinds this policy's actions created.
    ...(synchronize ? { synchronizedDownstream: { kinds: [], labelSelector: `generate.kyverno.io/policy-name=${id.name}`, createdKinds: true as const } } : {}),
    // On the admission paths (webhook, replay, background scan) a GeneratingPolicy decides nothing;
    // a dev.vigil.generate trigger (handed over by the webhooks after an admitted request) is
    // decided into one finding per generated object, with its kubernetes.create.
    evaluate(ctx: Context, evalOptions?: EvaluateOptions): Finding[] {
      if (ctx.event?.type !== EventTypes.generateTrigger) return [];
      const input = admissionInputFor(ctx);
      if (!input) return [];
      let base: KyvernoEvaluateOptions = evalOptions ?? noOptions;
      if (ctx.kubernetes !== undefined && base.resolver === undefined) base = { ...base, resolver: clusterContextResolver(ctx.kubernetes) };
      // An object this policy generated, deleted (re-created) or modified (reverted) for its live trigger, with synchronize.
      const downstream = syncedDownstream(input);
      if (downstream !== undefined) {
        const labelled = (trigger: AdmissionInput): GenerateOutcome => {
          const outcome = generateAdmission(trigger, base);
          const origin = { policy: id.name, policyNamespace: id.namespace ?? "", rule: "", trigger: trigger.object ?? {} };
          return { results: outcome.results, resources: outcome.resources.map((r) => generateLabels(r, origin)) };
        };
        const note = (effect: "pass" | "error", message: string): Finding => resultToFinding({ ...result(effect, message, []), rule: id.name }, meta, input);
        const sync = downstream.change === "deleted" ? recreateDownstream : revertDownstream;
        return sync({ origin: downstream.origin, input, generate: labelled, toFinding: (r, trigger) => resultToFinding({ ...r, rule: r.rule || id.name }, meta, trigger), note, includePasses: evalOptions?.includePasses === true, resolver: base.resolver });
      }
      const toFinding = (r: RuleResult): Finding => resultToFinding({ ...r, rule: r.rule || id.name }, meta, input);
      /** With synchronize, what the policy generated for `trigger` (as its creation), deleted. */
      const deletions = (trigger: AdmissionInput, why: string): Finding[] => {
        const deleted = generateAdmission(trigger, base);
        return deleted.results.filter((r) => r.status === "pass").flatMap((r) => synchronizedDeletions(deleted.resources, id.name, trigger.object ?? {}, r, toFinding, evalOptions?.includePasses === true, base.resolver, why));
      };
      if (input.object === null) {
        const created = synchronize ? deletedTriggerAsCreate(input) : undefined;
        return created === undefined ? [] : deletions(created, "its trigger was deleted");
      }
      const outcome = generateAdmission(input, base);
      // An updated trigger the policy generated for and no longer selects (matchConstraints or matchConditions): its objects are deleted.
      const left = synchronize && input.operation === "UPDATE" && input.oldObject !== null && !outcome.results.some((r) => r.status === "pass") && !generateAdmission(asCreation(input, input.object), base).results.some((r) => r.status === "pass");
      const removed = left && input.oldObject !== null ? deletions(asCreation(input, input.oldObject), "its trigger no longer matches the policy") : [];
      // The objects it creates name their policy and trigger with Kyverno's generate labels, as a generate rule's do.
      const origin = { policy: id.name, policyNamespace: id.namespace ?? "", rule: "", trigger: input.object };
      return [...removed, ...generateFindings({ results: outcome.results, resources: outcome.resources.map((r) => generateLabels(r, origin)) }, toFinding, evalOptions?.includePasses === true, base.resolver)];
    },
  };
}
