/**
 * Kyverno cleanup policies: `kyverno.io` ClusterCleanupPolicy / CleanupPolicy (match, exclude,
 * JMESPath `conditions` on `target`, context entries) and `policies.kyverno.io` DeletingPolicy /
 * NamespacedDeletingPolicy (matchConstraints, CEL `conditions` and `variables`). Each names a cron
 * `schedule` and the objects to delete at each run.
 *
 * Kyverno's cleanup controller deletes the selected objects itself. In Vigil the agent runs the
 * schedule (src/agent/cleanup.ts): it lists the policy's kinds from the cluster, asks `select`
 * which objects are due, and hands each one to the pipeline as a `dev.vigil.cleanup.candidate`
 * event. This policy's `evaluate` turns such an event into a violation whose remediation is a
 * `kubernetes.delete` of exactly that object (uid precondition): the decision is recorded and
 * explained, and the delete runs through the executor's guardrails (dry-run until promoted,
 * allowlist, protected objects, blast-radius budget, kill switch, approvals; undo re-creates).
 */
import type { Context } from "../../core/context.js";
import { parseCron } from "../../core/cron.js";
import { EventTypes } from "../../core/event.js";
import { VigilError } from "../../core/errors.js";
import type { Finding, TraceStep } from "../../core/finding.js";
import type { EvaluateOptions, PolicyMeta, RemediationRef } from "../../core/policy.js";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import type { CelEnvironment } from "../cel/api.js";
import { compileAdmissionCel, type CompiledAdmissionCel, type NamedExpression } from "../vap/cel-admission.js";
import { matchConstraintsMatch } from "../vap/match-constraints.js";
import { celPolicyMeta, extendOnce, kyvernoSeverity } from "./cel-policy-common.js";
import { imagesDocument, loadContextEntries, type Doc, type ExternalContextResolver } from "./context.js";
import { excludeBlockMatches, matchBlockMatches, matchedKinds } from "./match.js";
import { gvkOf, metadataOf, resourceInput, stringMap } from "./request.js";
import { evaluateConditions } from "./validate.js";
import { targetOf } from "./validating-policy.js";
import { createHash } from "node:crypto";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The event the cleanup sweep emits for each object a cleanup policy selected at a scheduled run. */
export const CLEANUP_EVENT_TYPE = EventTypes.cleanupCandidate;

/** `data` of a `dev.vigil.cleanup.candidate` event. */
export interface CleanupCandidate {
  /** The cleanup policy that selected the object. */
  readonly policy: string;
  /** The scheduled run (RFC 3339), which the policy's CEL `now()` returns. */
  readonly run: string;
  /** The object as listed from the cluster. */
  readonly object: Json;
  /** Its namespace object, when the cluster cache has it (namespaceSelector, CEL namespaceObject). */
  readonly namespaceObject?: Json;
}

/** What a policy lists at each run: a Kyverno kind string (`Pod`, `apps/v1/Deployment`) or an API group/version/resource. */
export type CleanupTarget =
  | { readonly kind: string }
  | { readonly group: string; readonly version: string; readonly resource: string }
  /** Every resource the API server can list and delete (discovery's preferred versions): the TTL label's sweep. */
  | { readonly everyResource: true };

export type CleanupKind = "ClusterCleanupPolicy" | "CleanupPolicy" | "DeletingPolicy" | "NamespacedDeletingPolicy" | "TTLLabel";

/** One object's selection: `delete` (matched, conditions held), `keep` (matched, a condition false), `nomatch`, or `error`. */
export interface CleanupSelection {
  readonly status: "delete" | "keep" | "nomatch" | "error";
  readonly message: string;
  readonly trace: readonly TraceStep[];
}

export interface CleanupPolicy extends CompiledPolicy {
  readonly kind: CleanupKind;
  /** CleanupPolicy / NamespacedDeletingPolicy: only objects in this namespace. */
  readonly namespace?: string;
  /** `spec.schedule` (cron; checked when the policy loads). */
  readonly schedule: string;
  /** What to list at each run. */
  readonly targets: readonly CleanupTarget[];
  /** A label selector every LIST of the run carries (the TTL label's sweep lists only labelled objects). */
  readonly labelSelector?: string;
  readonly propagationPolicy?: "Foreground" | "Background" | "Orphan";
  /** Whether `object` is to be deleted at `now`. Never throws. */
  select(object: Json, options: { readonly now: Date; readonly namespaceObject?: Json; readonly resolver?: ExternalContextResolver }): CleanupSelection;
}

export function isCleanupPolicy(policy: unknown): policy is CleanupPolicy {
  return isObject(policy) && typeof policy["select"] === "function" && typeof policy["schedule"] === "string";
}

const cleanupKinds = new Set<string>(["ClusterCleanupPolicy", "CleanupPolicy"]);
const deletingKinds = new Set<string>(["DeletingPolicy", "NamespacedDeletingPolicy"]);

/** True for `kyverno.io` ClusterCleanupPolicy / CleanupPolicy and `policies.kyverno.io` (Namespaced)DeletingPolicy documents. */
export function isCleanupPolicyDocument(doc: Json): boolean {
  const apiVersion = String(doc["apiVersion"] ?? "");
  const kind = String(doc["kind"] ?? "");
  return (apiVersion.startsWith("kyverno.io/") && cleanupKinds.has(kind)) || (apiVersion.startsWith("policies.kyverno.io/") && deletingKinds.has(kind));
}

/**
 * The time a DeletingPolicy's `now()` returns: the scheduled run of the evaluation in progress.
 * INVARIANT: set only around a synchronous evaluation (select), so concurrent sweeps cannot see
 * each other's run.
 */
let runTime: Date | undefined;

/** The DeletingPolicy environment: Kyverno's CEL libraries plus `now()`. */
const deletingEnvironment = extendOnce((env) =>
  env.extend({
    functions: [{
      name: "now",
      arity: 0,
      impl: () => {
        if (runTime === undefined) throw new Error("now() is only available while a cleanup run evaluates the policy");
        return runTime;
      },
    }],
  }),
);

const propagationPolicies = new Set(["Foreground", "Background", "Orphan"]);

function load(message: string, field: string, source: string | undefined): VigilError {
  return new VigilError("VIGIL_POLICY_LOAD", message, { field, ...(source ? { file: source } : {}) });
}

/** Kyverno kind strings are `Kind`, `version/Kind` or `group/version/Kind` (wildcards allowed, not listable). */
function listableKind(kind: string, origin: string, source: string | undefined): CleanupTarget {
  if (kind.includes("*") || kind.includes("?")) throw load(`${origin}: spec.match kind ${JSON.stringify(kind)} has a wildcard; a cleanup policy lists the kinds it names, so name each kind (e.g. Pod, apps/v1/Deployment).`, "spec.match", source);
  if (kind.includes(".") && !kind.includes("/")) throw load(`${origin}: spec.match kind ${JSON.stringify(kind)}: a subresource cannot be cleaned up; name the kind itself.`, "spec.match", source);
  return { kind };
}

/** The object's reference for findings and the delete: `Kind/namespace/name` or `Kind/name`. */
export function referenceOf(object: Json): { apiVersion: string; kind: string; namespace?: string; name: string; uid?: string; key: string } {
  const meta = metadataOf(object);
  const kind = String(object["kind"] ?? "");
  const namespace = typeof meta["namespace"] === "string" && meta["namespace"] !== "" ? meta["namespace"] : undefined;
  const name = String(meta["name"] ?? "");
  return {
    apiVersion: String(object["apiVersion"] ?? ""),
    kind,
    ...(namespace ? { namespace } : {}),
    name,
    ...(typeof meta["uid"] === "string" && meta["uid"] !== "" ? { uid: meta["uid"] } : {}),
    key: namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`,
  };
}

/** Compiles a cleanup policy document. Throws VigilError naming the field on what cannot run. */
export function compileCleanupPolicy(document: Json, env: CelEnvironment, options: { readonly source?: string; readonly resolver?: ExternalContextResolver } = {}): CleanupPolicy {
  const source = options.source;
  const kind = String(document["kind"] ?? "") as CleanupKind;
  const metadata = isObject(document["metadata"]) ? document["metadata"] : {};
  const name = typeof metadata["name"] === "string" ? metadata["name"] : "";
  if (name === "") throw load(`${kind} without metadata.name: add a name.`, "metadata.name", source);
  const origin = `${kind} ${name}`;
  const spec = isObject(document["spec"]) ? document["spec"] : {};
  const schedule = spec["schedule"];
  if (typeof schedule !== "string" || schedule.trim() === "") throw load(`${origin}: spec.schedule is missing; give a cron schedule such as "*/5 * * * *".`, "spec.schedule", source);
  try {
    parseCron(schedule, "spec.schedule");
  } catch (cause) {
    throw load(`${origin}: ${cause instanceof Error ? cause.message : String(cause)}`, "spec.schedule", source);
  }
  const propagation = spec["deletionPropagationPolicy"];
  if (propagation !== undefined && (typeof propagation !== "string" || !propagationPolicies.has(propagation))) {
    throw load(`${origin}: spec.deletionPropagationPolicy must be Foreground, Background or Orphan, got ${JSON.stringify(propagation)}.`, "spec.deletionPropagationPolicy", source);
  }
  const namespaced = kind === "CleanupPolicy" || kind === "NamespacedDeletingPolicy";
  const policyNamespace = namespaced ? (typeof metadata["namespace"] === "string" && metadata["namespace"] !== "" ? metadata["namespace"] : "default") : undefined;
  const annotations = stringMap(metadata["annotations"]);
  const severity = kyvernoSeverity(annotations);
  // Kyverno's policy key: a namespaced cleanup policy is `namespace/name`, so one name in two namespaces is two policies.
  const base = celPolicyMeta(document, policyNamespace === undefined ? name : `${policyNamespace}/${name}`, annotations, source, [CLEANUP_EVENT_TYPE]);
  const meta: PolicyMeta = {
    ...base,
    language: deletingKinds.has(kind) ? "kyverno-cel" : "kyverno",
    revision: createHash("sha256").update(JSON.stringify(document)).digest("hex").slice(0, 16),
    // Kyverno deletes what its cleanup policies select; Vigil's tier for that is remediate, within
    // the guardrails (a new policy acts in dry-run until a person promotes it).
    enforcement: { tier: "remediate" },
  };

  let targets: CleanupTarget[];
  let decide: (object: Json, now: Date, namespaceObject: Json | undefined, resolver: ExternalContextResolver | undefined) => CleanupSelection;
  if (cleanupKinds.has(kind)) {
    if (!isObject(spec["match"])) throw load(`${origin}: spec.match is missing; name the kinds to clean up (match.any[].resources.kinds).`, "spec.match", source);
    const kinds = [...new Set(matchedKinds(spec["match"]))];
    if (kinds.length === 0) throw load(`${origin}: spec.match names no kinds; add resources.kinds (e.g. [Pod]).`, "spec.match", source);
    targets = kinds.map((k) => listableKind(k, origin, source));
    const match = spec["match"];
    const exclude = spec["exclude"];
    const conditions = spec["conditions"];
    const context = Array.isArray(spec["context"]) ? spec["context"] : [];
    decide = (object, _now, namespaceObject, resolver) => {
      const labels = namespaceObject ? stringMap(metadataOf(namespaceObject)["labels"]) : undefined;
      const input = resourceInput(object, { operation: "DELETE", ...(labels ? { namespaceLabels: labels } : {}), ...(namespaceObject ? { namespaceObject } : {}) });
      if (!matchBlockMatches(match, input)) return { status: "nomatch", message: "spec.match does not select the object", trace: [] };
      if (exclude !== undefined && excludeBlockMatches(exclude, input)) return { status: "nomatch", message: "spec.exclude excludes the object", trace: [{ kind: "match", expr: "spec.exclude", value: true }] };
      const doc: Doc = { target: object, request: { namespace: referenceOf(object).namespace ?? "" } };
      const images = imagesDocument(object);
      if (images) doc["images"] = images;
      const loaded = loadContextEntries(context, doc, resolver ? { resolver } : {});
      if (!loaded.ok) return { status: "error", message: loaded.error, trace: [] };
      if (conditions === undefined) return { status: "delete", message: "spec.match selects the object (no conditions)", trace: [{ kind: "match", expr: "spec.match", value: true }] };
      const outcome = evaluateConditions(conditions, doc, { ruleName: name, mocked: new Set(), deleteRequest: false, nesting: 0, ...(resolver ? { resolver } : {}) }, "empty");
      const trace: TraceStep[] = [{ kind: "match", expr: "spec.match", value: true }, { kind: "condition", expr: "spec.conditions", value: outcome.value, children: outcome.trace }];
      if (!outcome.ok) return { status: "error", message: `failed to evaluate spec.conditions: ${outcome.error ?? ""}`, trace };
      return outcome.value ? { status: "delete", message: "spec.conditions hold", trace } : { status: "keep", message: outcome.message ?? "spec.conditions do not hold", trace };
    };
  } else {
    const constraints = spec["matchConstraints"];
    if (!isObject(constraints) || !Array.isArray(constraints["resourceRules"]) || constraints["resourceRules"].length === 0) {
      throw load(`${origin}: spec.matchConstraints.resourceRules is missing; name the resources to clean up (apiGroups, apiVersions, resources).`, "spec.matchConstraints.resourceRules", source);
    }
    targets = [];
    constraints["resourceRules"].forEach((raw, i) => {
      const rule = isObject(raw) ? raw : {};
      const field = `spec.matchConstraints.resourceRules[${i}]`;
      const list = (key: string): string[] => (Array.isArray(rule[key]) ? rule[key].map(String) : []);
      for (const group of list("apiGroups")) {
        for (const version of list("apiVersions")) {
          for (const resource of list("resources")) {
            if ([group, version, resource].some((part) => part.includes("*"))) throw load(`${origin}: ${field} has a wildcard; a DeletingPolicy lists the resources it names, so name each group, version and resource.`, field, source);
            if (resource.includes("/")) throw load(`${origin}: ${field} names the subresource ${resource}; name the resource itself.`, field, source);
            targets.push({ group, version, resource });
          }
        }
      }
    });
    if (targets.length === 0) throw load(`${origin}: spec.matchConstraints.resourceRules name no resource; give apiGroups, apiVersions and resources.`, "spec.matchConstraints.resourceRules", source);
    // Operations do not apply to a scheduled deletion: Kyverno lists the rules' resources whatever their operations say.
    const listing = { ...constraints, resourceRules: (constraints["resourceRules"] as unknown[]).map((r) => (isObject(r) ? { ...r, operations: ["*"] } : r)) };
    const conditions = toNamed(spec["conditions"], origin, "spec.conditions", source);
    const variables = toNamed(spec["variables"], origin, "spec.variables", source);
    const program: CompiledAdmissionCel = compileAdmissionCel({ variables, matchConditions: conditions, validations: [] }, deletingEnvironment(env), origin);
    decide = (object, now, namespaceObject) => {
      const labels = namespaceObject ? stringMap(metadataOf(namespaceObject)["labels"]) : undefined;
      const input = resourceInput(object, { operation: "DELETE", ...(labels ? { namespaceLabels: labels } : {}) });
      if (!matchConstraintsMatch(listing, targetOf(input))) return { status: "nomatch", message: "spec.matchConstraints do not select the object", trace: [] };
      runTime = now;
      try {
        const r = program.evaluate({ object, oldObject: null, namespaceObject: namespaceObject ?? null, request: {}, params: null });
        const trace: TraceStep[] = [{ kind: "match", expr: "spec.matchConstraints", value: true }, ...r.trace];
        if (r.status === "error") return { status: "error", message: r.message.replace(/^matchCondition /, "condition "), trace };
        if (r.status === "skip") return { status: "keep", message: r.message.replace(/^matchCondition /, "condition "), trace };
        return { status: "delete", message: conditions.length === 0 ? "spec.matchConstraints select the object (no conditions)" : "every condition holds", trace };
      } finally {
        runTime = undefined;
      }
    };
  }

  const select: CleanupPolicy["select"] = (object, selectOptions) => {
    try {
      if (policyNamespace !== undefined && referenceOf(object).namespace !== policyNamespace) return { status: "nomatch", message: `the object is outside the policy's namespace ${policyNamespace}`, trace: [] };
      return decide(object, selectOptions.now, selectOptions.namespaceObject, selectOptions.resolver ?? options.resolver);
    } catch (cause) {
      return { status: "error", message: `internal error: ${cause instanceof Error ? cause.message : String(cause)}`, trace: [] };
    }
  };

  // A deleted Secret cannot be restored (its data is never copied into an action record), so
  // each of its deletions waits for a person: every autonomous action is reversible or approved.
  const secrets = targets.some((t) => ("kind" in t ? t.kind === "Secret" || t.kind.endsWith("/Secret") : "resource" in t && t.group === "" && t.resource === "secrets"));
  const finalMeta: PolicyMeta = secrets ? { ...meta, enforcement: { tier: "approve", ceiling: "approve" } } : meta;
  return assembleCleanupPolicy({
    meta: finalMeta,
    kind,
    ...(policyNamespace !== undefined ? { namespace: policyNamespace } : {}),
    schedule,
    targets,
    severity,
    ...(typeof propagation === "string" ? { propagationPolicy: propagation as "Foreground" | "Background" | "Orphan" } : {}),
    select,
    describe: `${kind} ${name} (schedule ${schedule})`,
  });
}

/** What a cleanup policy is made of; `assembleCleanupPolicy` adds the findings and the pipeline side. */
export interface CleanupPolicyParts {
  readonly meta: PolicyMeta;
  readonly kind: CleanupKind;
  readonly namespace?: string;
  readonly schedule: string;
  readonly targets: readonly CleanupTarget[];
  readonly labelSelector?: string;
  readonly severity: Finding["severity"];
  /** The policy's `deletionPropagationPolicy`; an object's own choice (the TTL annotation) comes from `propagationOf`. */
  readonly propagationPolicy?: "Foreground" | "Background" | "Orphan";
  readonly propagationOf?: (object: Json) => "Foreground" | "Background" | "Orphan" | undefined;
  readonly select: CleanupPolicy["select"];
  /** How a violation names the policy, e.g. `ClusterCleanupPolicy x (schedule 0 * * * *)`. */
  readonly describe: string;
}

/**
 * A cleanup policy from its parts: `evaluate` turns a `dev.vigil.cleanup.candidate` event of this
 * policy into a violation whose remediation is a `kubernetes.delete` of exactly that object (uid
 * precondition), after selecting the object again at the run's time.
 */
export function assembleCleanupPolicy(parts: CleanupPolicyParts): CleanupPolicy {
  const { meta, kind, schedule, select, severity } = parts;
  const name = meta.name;
  const finding = (selection: CleanupSelection, object: Json, includePasses: boolean): Finding | undefined => {
    const ref = referenceOf(object);
    const common = { policy: name, rule: name, revision: meta.revision, language: meta.language, mode: "deny" as const, severity, trace: selection.trace, resource: ref.key };
    if (selection.status === "error") return { ...common, effect: "error", message: selection.message, error: { code: "VIGIL_POLICY_EVAL", message: selection.message } };
    if (selection.status === "delete") {
      const propagation = parts.propagationOf?.(object) ?? parts.propagationPolicy;
      const params: Record<string, unknown> = {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        ...(ref.namespace ? { namespace: ref.namespace } : {}),
        name: ref.name,
        ...(ref.uid ? { uid: ref.uid } : {}),
        ...(propagation ? { propagationPolicy: propagation } : {}),
      };
      const remediation: RemediationRef[] = [{ action: "kubernetes.delete", params }];
      return { ...common, effect: "violation", message: `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name} is due for deletion by ${parts.describe}: ${selection.message}`, remediation };
    }
    if (!includePasses) return undefined;
    return { ...common, effect: selection.status === "keep" ? "pass" : "skip", message: selection.message, ...(selection.status === "nomatch" ? { skipReason: "not matched" } : {}) };
  };

  return {
    meta,
    kind,
    ...(parts.namespace !== undefined ? { namespace: parts.namespace } : {}),
    schedule,
    targets: parts.targets,
    ...(parts.labelSelector !== undefined ? { labelSelector: parts.labelSelector } : {}),
    ...(parts.propagationPolicy ? { propagationPolicy: parts.propagationPolicy } : {}),
    // The sweep's events name their policy: only that policy evaluates them.
    indexKeys: [{ path: "input.policy", values: [name] }],
    select,
    evaluate(ctx: Context, evalOptions?: EvaluateOptions): Finding[] {
      if (ctx.event.type !== CLEANUP_EVENT_TYPE) return [];
      const data = isObject(ctx.input) ? ctx.input : {};
      if (data["policy"] !== name || !isObject(data["object"])) return [];
      const run = typeof data["run"] === "string" ? new Date(data["run"]) : new Date(ctx.event.time ?? Date.now());
      const object = data["object"];
      if (gvkOf(object).kind === "") return [finding({ status: "error", message: "the candidate's object has no kind", trace: [] }, object, true) as Finding];
      const selection = select(object, { now: Number.isNaN(run.getTime()) ? new Date() : run, ...(isObject(data["namespaceObject"]) ? { namespaceObject: data["namespaceObject"] } : {}) });
      const found = finding(selection, object, evalOptions?.includePasses === true);
      return found ? [found] : [];
    },
  };
}

function toNamed(value: unknown, origin: string, field: string, source: string | undefined): NamedExpression[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw load(`${origin}: ${field} must be a list of {name, expression}.`, field, source);
  return value.map((raw, i) => {
    const entry = isObject(raw) ? raw : {};
    if (typeof entry["expression"] !== "string" || entry["expression"].trim() === "") throw load(`${origin}: ${field}[${i}].expression is missing; give a CEL expression.`, `${field}[${i}].expression`, source);
    return { name: String(entry["name"] ?? `${i}`), expression: entry["expression"] };
  });
}
