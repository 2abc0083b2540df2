/**
 * Kubernetes ValidatingAdmissionPolicy + ValidatingAdmissionPolicyBinding (+ params), evaluated
 * as the API server does: policy matchConstraints, binding matchResources, matchConditions,
 * params from paramRef (parameterNotFoundAction), validations, failurePolicy, and the binding's
 * validationActions (Deny → mode deny, Warn → warn, Audit → audit). Never throws at evaluation.
 */
import { createHash } from "node:crypto";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import type { ClusterView, Context } from "../../core/context.js";
import { VigilError } from "../../core/errors.js";
import type { Finding, TraceStep } from "../../core/finding.js";
import type { EvaluateOptions, PolicyMeta, RuleMode } from "../../core/policy.js";
import type { CelEnvironment } from "../cel/api.js";
import { admissionCelSpecOf, compileAdmissionCel } from "./cel-admission.js";
import { bindingMatchResources, matchResourcesProblem, isAdmissionPolicyResource, isNamespaceResource, labelSelectorMatches, matchConstraintsMatch, resourceForKind, selectorProblem, type MatchTarget } from "./match-constraints.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Finds param objects for a binding's paramRef. Returns [] when none exist. Must not throw.
 * `objectNamespace` is set when paramRef names no namespace: the namespace of the object under
 * review, which the API server searches for a namespaced paramKind ("" for a cluster-scoped object).
 */
export type VapParamResolver = (paramKind: { readonly apiVersion: string; readonly kind: string }, ref: { readonly name?: string; readonly namespace?: string; readonly objectNamespace?: string; readonly selector?: unknown }) => readonly Json[];

/**
 * Params from the cluster cache (ctx.kubernetes.cluster) when the plugin has no resolver: a
 * ConfigMap (v1) named by paramRef.name, in paramRef.namespace or else the object's namespace.
 * The cache cannot list by selector, so a selector finds none.
 */
function configMapParams(cluster: ClusterView): VapParamResolver {
  return (paramKind, ref) => {
    if (paramKind.apiVersion !== "v1" || paramKind.kind !== "ConfigMap" || ref.name === undefined) return [];
    const namespace = ref.namespace ?? ref.objectNamespace ?? "";
    if (namespace === "") return [];
    try {
      const found = cluster.configMap(namespace, ref.name);
      return found === undefined ? [] : [found as Json];
    } catch {
      return [];
    }
  };
}

export interface VapRequest {
  readonly operation: string;
  readonly object: Json | null;
  readonly oldObject: Json | null;
  readonly userInfo: Json;
  readonly subResource: string;
  readonly namespaceObject: Json | null;
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  readonly dryRun: boolean;
  /**
   * The AdmissionRequest's other fields (uid, kind, resource, subResource, requestKind, name,
   * namespace, options...), as CEL `request` sees them and as matching uses them (resource,
   * namespace, name). Absent for a bare object: they are then derived from the object.
   */
  readonly request?: Json;
}

function requestOf(input: unknown): VapRequest | undefined {
  if (!isObject(input)) return undefined;
  if (input["kind"] === "AdmissionReview" && isObject(input["request"])) {
    const r = input["request"];
    return {
      operation: String(r["operation"] ?? "CREATE"),
      object: isObject(r["object"]) ? r["object"] : null,
      oldObject: isObject(r["oldObject"]) ? r["oldObject"] : null,
      userInfo: isObject(r["userInfo"]) ? r["userInfo"] : {},
      subResource: typeof r["subResource"] === "string" ? r["subResource"] : "",
      namespaceObject: null,
      dryRun: r["dryRun"] === true,
      request: Object.fromEntries(Object.entries(r).filter(([key]) => key !== "object" && key !== "oldObject")),
    };
  }
  return { operation: "CREATE", object: input, oldObject: null, userInfo: {}, subResource: "", namespaceObject: null, dryRun: false };
}

function labelsOf(object: Json): Record<string, string> {
  const meta = isObject(object["metadata"]) ? object["metadata"] : {};
  const labels: Record<string, string> = {};
  if (isObject(meta["labels"])) for (const [k, v] of Object.entries(meta["labels"])) labels[k] = String(v);
  return labels;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function targetOf(request: VapRequest): MatchTarget {
  const object = request.object ?? request.oldObject ?? {};
  const apiVersion = String(object["apiVersion"] ?? "");
  const slash = apiVersion.indexOf("/");
  const meta = isObject(object["metadata"]) ? object["metadata"] : {};
  // The API server matches the request's resource (pods/exec carries a PodExecOptions object) and
  // its namespace and name (a pod created with generateName has neither in its metadata yet).
  const admission = request.request ?? {};
  const resource = isObject(admission["resource"]) ? admission["resource"] : undefined;
  const requestKind = isObject(admission["kind"]) ? admission["kind"] : undefined;
  const labels = labelsOf(object);
  // The API server matches objectSelector against the object and the oldObject: either may match.
  const oldLabels = request.object !== null && request.oldObject !== null ? labelsOf(request.oldObject) : undefined;
  const resourceName = text(resource?.["resource"]);
  return {
    group: resourceName !== undefined ? String(resource?.["group"] ?? "") : slash < 0 ? "" : apiVersion.slice(0, slash),
    version: resourceName !== undefined ? String(resource?.["version"] ?? "") : slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
    kind: text(requestKind?.["kind"]) ?? String(object["kind"] ?? ""),
    ...(resourceName !== undefined ? { resource: resourceName } : {}),
    subResource: request.subResource,
    operation: request.operation,
    labels,
    ...(oldLabels ? { oldLabels } : {}),
    ...(request.namespaceLabels ? { namespaceLabels: request.namespaceLabels } : {}),
    namespace: text(admission["namespace"]) ?? (typeof meta["namespace"] === "string" ? meta["namespace"] : ""),
    name: text(admission["name"]) ?? (typeof meta["name"] === "string" ? meta["name"] : ""),
  };
}

/**
 * CEL `request`: the AdmissionRequest without its objects (those are `object` / `oldObject`), as
 * the API server gives it; for a bare object, the same fields derived from the object.
 */
function celRequestOf(request: VapRequest, target: MatchTarget): Json {
  const kind = { group: target.group, version: target.version, kind: target.kind };
  const resource = { group: target.group, version: target.version, resource: target.resource ?? resourceForKind(target.kind) };
  const derived: Json = {
    kind,
    resource,
    subResource: request.subResource,
    // The kind and resource as the client asked for them: the same when the request gives none (no conversion).
    requestKind: kind,
    requestResource: resource,
    requestSubResource: request.subResource,
    name: target.name,
    namespace: target.namespace,
    operation: request.operation,
    userInfo: request.userInfo,
    dryRun: request.dryRun,
  };
  return { ...derived, ...request.request, operation: request.operation, userInfo: request.userInfo, dryRun: request.dryRun };
}

const validationActionNames = ["Deny", "Warn", "Audit"];

/**
 * A binding's `validationActions` must be a non-empty list of Deny, Warn, Audit (the API server
 * rejects anything else); absent means Deny. Throws VigilError(VIGIL_POLICY_LOAD) naming the field.
 */
function checkValidationActions(binding: Json, source: string | undefined): void {
  const bspec = isObject(binding["spec"]) ? binding["spec"] : {};
  const actions = bspec["validationActions"];
  if (actions === undefined) return;
  const bname = String((isObject(binding["metadata"]) ? binding["metadata"]["name"] : undefined) ?? "");
  const unknown = Array.isArray(actions) ? actions.filter((a) => typeof a !== "string" || !validationActionNames.includes(a)) : [actions];
  if (!Array.isArray(actions) || actions.length === 0 || unknown.length > 0) {
    const got = Array.isArray(actions) && actions.length === 0 ? "an empty list" : `${JSON.stringify(unknown.length > 0 ? unknown : actions)}`;
    throw new VigilError("VIGIL_POLICY_LOAD", `ValidatingAdmissionPolicyBinding ${bname}: spec.validationActions must list one or more of Deny, Warn, Audit (case-sensitive), got ${got}`, { field: "spec.validationActions", ...(source ? { file: source } : {}) });
  }
  // As the API server validates a binding: a set, and never Deny with Warn (the failure would be
  // both the denial's message and a warning header).
  const repeated = actions.filter((a, index) => actions.indexOf(a) !== index);
  if (repeated.length > 0) throw new VigilError("VIGIL_POLICY_LOAD", `ValidatingAdmissionPolicyBinding ${bname}: spec.validationActions lists ${JSON.stringify(repeated[0])} more than once; list each action once`, { field: "spec.validationActions", ...(source ? { file: source } : {}) });
  if (actions.includes("Deny") && actions.includes("Warn")) throw new VigilError("VIGIL_POLICY_LOAD", `ValidatingAdmissionPolicyBinding ${bname}: spec.validationActions may not hold both Deny and Warn (Kubernetes refuses the binding: a denial already reports the failure); use [Deny] or [Warn, Audit]`, { field: "spec.validationActions", ...(source ? { file: source } : {}) });
}

/**
 * A binding's paramRef as the API server validates it (ValidatingAdmissionPolicyBinding and
 * MutatingAdmissionPolicyBinding alike): exactly one of name and selector, and a
 * parameterNotFoundAction of Allow or Deny. `kind` is the binding's kind, for the
 * message. Throws VigilError(VIGIL_POLICY_LOAD) naming the field.
 */
export function checkParamRef(binding: Json, kind: string, source: string | undefined): void {
  const bspec = isObject(binding["spec"]) ? binding["spec"] : {};
  const ref = bspec["paramRef"];
  if (!isObject(ref)) return;
  const bname = String((isObject(binding["metadata"]) ? binding["metadata"]["name"] : undefined) ?? "");
  const where = source ? { file: source } : {};
  if (typeof ref["name"] === "string" && ref["name"] !== "" && ref["selector"] !== undefined && ref["selector"] !== null) {
    throw new VigilError("VIGIL_POLICY_LOAD", `${kind} ${bname}: spec.paramRef has both name and selector, which the API server refuses; keep name (one param) or selector (each matching param)`, { field: "spec.paramRef", ...where });
  }
  const hasSelector = ref["selector"] !== undefined && ref["selector"] !== null;
  if ((typeof ref["name"] !== "string" || ref["name"] === "") && !hasSelector) {
    throw new VigilError("VIGIL_POLICY_LOAD", `${kind} ${bname}: spec.paramRef needs one of name or selector, which the API server requires; give name (one param) or selector (each matching param; {} selects all)`, { field: "spec.paramRef", ...where });
  }
  const selector = selectorProblem(ref["selector"], "spec.paramRef.selector");
  if (selector) throw new VigilError("VIGIL_POLICY_LOAD", `${kind} ${bname}: ${selector.message}`, { field: selector.field, ...where });
  const action = ref["parameterNotFoundAction"];
  if (action === undefined || action === null || action === "") {
    throw new VigilError("VIGIL_POLICY_LOAD", `${kind} ${bname}: spec.paramRef.parameterNotFoundAction is required (the API server refuses a paramRef without it): Allow skips the binding when no params are found, Deny fails it`, { field: "spec.paramRef.parameterNotFoundAction", ...where });
  }
  if (action !== "Allow" && action !== "Deny") {
    throw new VigilError("VIGIL_POLICY_LOAD", `${kind} ${bname}: spec.paramRef.parameterNotFoundAction must be Allow or Deny (case-sensitive), got ${JSON.stringify(action)}`, { field: "spec.paramRef.parameterNotFoundAction", ...where });
  }
}

/** Param kinds known to be namespaced without asking the cluster (a paramRef then needs a namespace for a cluster-scoped object). */
const namespacedParamKinds = new Set(["v1/ConfigMap", "v1/Secret"]);

/**
 * As the API server's dispatcher (VAP and MutatingAdmissionPolicy alike): a paramRef without
 * namespace to a namespaced paramKind cannot be looked up for a cluster-scoped object
 * (`objectNamespace` ""), a configuration error whatever parameterNotFoundAction says (the
 * policy's failurePolicy decides). Returns the message for binding `rule`, or undefined.
 */
export function namespacedParamRefProblem(paramKind: { readonly apiVersion: string; readonly kind: string }, ref: Json, objectNamespace: string, rule: string): string | undefined {
  if (typeof ref["namespace"] === "string" || objectNamespace !== "" || !namespacedParamKinds.has(`${paramKind.apiVersion}/${paramKind.kind}`)) return undefined;
  return `binding ${rule} cannot look up its ${paramKind.kind} params for a cluster-scoped object: set paramRef.namespace (the API server refuses a namespaced paramRef without it here)`;
}

const validationReasons = ["Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge"];

/**
 * `spec.validations`, `matchConditions` and `variables` as the API server validates them:
 * validations or auditAnnotations hold at least one item, each validation has an expression, a
 * single-line message and a known reason; matchConditions have unique names; variable names are
 * CEL identifiers.
 * Throws VigilError(VIGIL_POLICY_LOAD) naming the field.
 */
function checkValidations(spec: Json, name: string, source: string | undefined): void {
  const fail = (field: string, message: string): never => {
    throw new VigilError("VIGIL_POLICY_LOAD", `ValidatingAdmissionPolicy ${name}: ${field} ${message}`, { field, ...(source ? { file: source } : {}) });
  };
  const validations = Array.isArray(spec["validations"]) ? spec["validations"] : [];
  const annotations = Array.isArray(spec["auditAnnotations"]) ? spec["auditAnnotations"] : [];
  if (validations.length === 0 && annotations.length === 0) fail("spec.validations", "is required: validations or auditAnnotations must hold at least one item (the API server refuses a policy with neither; it would check nothing)");
  const conditionNames = new Set<string>();
  for (const [index, condition] of (Array.isArray(spec["matchConditions"]) ? spec["matchConditions"] : []).entries()) {
    const conditionName = isObject(condition) && typeof condition["name"] === "string" ? condition["name"] : "";
    if (conditionName === "") fail(`spec.matchConditions[${index}].name`, "is required: name each matchCondition (its name is in the message when it fails to evaluate)");
    if (conditionNames.has(conditionName)) fail(`spec.matchConditions[${index}].name`, `repeats ${JSON.stringify(conditionName)}: matchCondition names must be unique`);
    conditionNames.add(conditionName);
  }
  for (const [index, variable] of (Array.isArray(spec["variables"]) ? spec["variables"] : []).entries()) {
    const variableName = isObject(variable) ? variable["name"] : undefined;
    if (typeof variableName !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variableName)) fail(`spec.variables[${index}].name`, `must be a CEL identifier (letters, digits, _; not starting with a digit) so expressions can read it as variables.<name>, got ${JSON.stringify(variableName)}`);
  }
  for (const [index, validation] of validations.entries()) {
    const v = isObject(validation) ? validation : {};
    if (typeof v["expression"] !== "string" || v["expression"].trim() === "") fail(`spec.validations[${index}].expression`, "is required: the CEL expression that must be true");
    if (typeof v["message"] === "string" && v["message"].includes("\n")) fail(`spec.validations[${index}].message`, "must be a single line (the API server refuses line breaks in it)");
    if (v["reason"] !== undefined && !validationReasons.includes(String(v["reason"]))) fail(`spec.validations[${index}].reason`, `must be one of ${validationReasons.join(", ")} (the API server refuses others), got ${JSON.stringify(v["reason"])}`);
  }
}

export interface VapPolicy extends CompiledPolicy {
  /** Evaluates one admission request (or bare object) against every binding. Never throws. */
  evaluateRequest(request: VapRequest, options?: EvaluateOptions, params?: VapParamResolver): Finding[];
}

/** Compiles one ValidatingAdmissionPolicy with its bindings. Throws VigilError on a CEL syntax error. */
export function compileVap(policy: Json, bindings: readonly Json[], env: CelEnvironment, options: { readonly source?: string; readonly params?: VapParamResolver } = {}): VapPolicy {
  const metadata = isObject(policy["metadata"]) ? policy["metadata"] : {};
  const name = String(metadata["name"] ?? "");
  if (name === "") throw new VigilError("VIGIL_POLICY_LOAD", "ValidatingAdmissionPolicy without metadata.name: add a name.", { field: "metadata.name", ...(options.source ? { file: options.source } : {}) });
  const spec = isObject(policy["spec"]) ? policy["spec"] : {};
  const constraints = isObject(spec["matchConstraints"]) ? spec["matchConstraints"] : {};
  if (!Array.isArray(constraints["resourceRules"]) || constraints["resourceRules"].length === 0) {
    throw new VigilError("VIGIL_POLICY_LOAD", `ValidatingAdmissionPolicy ${name}: spec.matchConstraints.resourceRules is required (the API server rejects a policy without it, and it would match nothing): list the resources it validates, e.g. [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["pods"] }]`, { field: "spec.matchConstraints.resourceRules", ...(options.source ? { file: options.source } : {}) });
  }
  const problem = matchResourcesProblem(constraints, "spec.matchConstraints");
  if (problem) throw new VigilError("VIGIL_POLICY_LOAD", `ValidatingAdmissionPolicy ${name}: ${problem.message}`, { field: problem.field, ...(options.source ? { file: options.source } : {}) });
  if (spec["failurePolicy"] !== undefined && spec["failurePolicy"] !== "Fail" && spec["failurePolicy"] !== "Ignore") {
    throw new VigilError("VIGIL_POLICY_LOAD", `ValidatingAdmissionPolicy ${name}: spec.failurePolicy must be Fail or Ignore (case-sensitive), got ${JSON.stringify(spec["failurePolicy"])}; leave it out for Fail`, { field: "spec.failurePolicy", ...(options.source ? { file: options.source } : {}) });
  }
  checkValidations(spec, name, options.source);
  for (const binding of bindings) {
    checkValidationActions(binding, options.source);
    checkParamRef(binding, "ValidatingAdmissionPolicyBinding", options.source);
    const bspec = isObject(binding["spec"]) ? binding["spec"] : {};
    const bad = matchResourcesProblem(bspec["matchResources"], "spec.matchResources");
    if (bad) throw new VigilError("VIGIL_POLICY_LOAD", `ValidatingAdmissionPolicyBinding ${String((isObject(binding["metadata"]) ? binding["metadata"]["name"] : undefined) ?? "")}: ${bad.message}`, { field: bad.field, ...(options.source ? { file: options.source } : {}) });
  }
  const program = compileAdmissionCel(admissionCelSpecOf(spec), env, `ValidatingAdmissionPolicy ${name}`, { nonBooleanFails: true });
  const failurePolicy = spec["failurePolicy"] === "Ignore" ? "Ignore" : "Fail";
  const paramKind = isObject(spec["paramKind"]) ? { apiVersion: String(spec["paramKind"]["apiVersion"] ?? ""), kind: String(spec["paramKind"]["kind"] ?? "") } : undefined;
  const meta: PolicyMeta = {
    name,
    language: "vap",
    revision: createHash("sha256").update(JSON.stringify([policy, bindings])).digest("hex").slice(0, 16),
    on: ["io.k8s.admission.review", "io.k8s.resource"],
    failurePolicy,
    ...(options.source ? { source: options.source } : {}),
  };

  const evaluateRequest = (request: VapRequest, evalOptions: EvaluateOptions = {}, clusterParams?: VapParamResolver): Finding[] => {
    const resolve = options.params ?? clusterParams;
    const target = targetOf(request);
    if (isAdmissionPolicyResource(target) || !matchConstraintsMatch(spec["matchConstraints"], target)) return [];
    const findings: Finding[] = [];
    const namespace = isNamespaceResource(target) ? "" : target.namespace;
    const resource = `${target.kind}/${namespace ? `${namespace}/` : ""}${target.name}`;
    const celRequest = celRequestOf(request, target);
    for (const binding of bindings) {
      const bmeta = isObject(binding["metadata"]) ? binding["metadata"] : {};
      const bspec = isObject(binding["spec"]) ? binding["spec"] : {};
      const rule = String(bmeta["name"] ?? name);
      if (bspec["matchResources"] !== undefined && !matchConstraintsMatch(bindingMatchResources(bspec["matchResources"]), target)) continue;
      const actions = Array.isArray(bspec["validationActions"]) ? bspec["validationActions"].map(String) : ["Deny"];
      const mode: RuleMode = actions.includes("Deny") ? "deny" : actions.includes("Warn") ? "warn" : "audit";
      const finding = (effect: Finding["effect"], message: string, trace: readonly TraceStep[], reason?: string): Finding => ({
        policy: name, rule, revision: meta.revision, language: "vap", effect, mode, severity: "medium", message, trace, resource,
        ...(effect === "error" ? { error: { code: "VIGIL_POLICY_EVAL", message } } : {}),
        // The validation's `reason` (Unauthorized, Forbidden, Invalid, RequestEntityTooLarge): the admission answer's status.
        ...(reason === undefined ? {} : { outputs: { reason } }),
      });
      let paramsList: readonly (Json | null)[] = [null];
      // As the API server: a binding without paramRef is evaluated with params null.
      const ref = isObject(bspec["paramRef"]) ? bspec["paramRef"] : undefined;
      if (paramKind && ref) {
        // A misconfigured binding is decided by the policy's failurePolicy, as the API server's
        // dispatcher: Fail denies (whatever the binding's validationActions), Ignore does not.
        const misconfigured = (message: string): void => {
          const trace = [{ kind: "note", expr: "paramRef", value: null }] as const;
          findings.push(failurePolicy === "Fail" ? { ...finding("violation", message, trace), mode: "deny" } : finding("error", message, trace));
        };
        const unscoped = namespacedParamRefProblem(paramKind, ref, target.namespace, rule);
        if (unscoped !== undefined) {
          misconfigured(unscoped);
          continue;
        }
        const found = resolve ? resolve(paramKind, { ...(typeof ref["name"] === "string" ? { name: ref["name"] } : {}), ...(typeof ref["namespace"] === "string" ? { namespace: ref["namespace"] } : { objectNamespace: target.namespace }), ...(ref["selector"] !== undefined ? { selector: ref["selector"] } : {}) }) : [];
        if (found.length === 0) {
          if (ref["parameterNotFoundAction"] !== "Allow") misconfigured(`no params found for binding ${rule} (paramKind ${paramKind.kind}, parameterNotFoundAction Deny)`);
          continue;
        }
        paramsList = found;
      }
      for (const params of paramsList) {
        const r = program.evaluate({ object: request.object, oldObject: request.oldObject, request: celRequest, params, namespaceObject: request.namespaceObject, authorizer: null });
        // As the API server's decisions, in validation order: a failure denies, an erring validation
        // denies under failurePolicy Fail. Deny answers with the first; Warn and Audit report each one.
        const denied = (r.problems ?? []).filter((p) => p.kind === "fail" || failurePolicy === "Fail");
        if (denied.length > 0) for (const p of mode === "deny" ? denied.slice(0, 1) : denied) findings.push(finding("violation", p.message, r.trace, p.reason));
        else if (r.status === "error" && r.message !== r.annotationError) findings.push(failurePolicy === "Fail" ? finding("violation", r.message, r.trace) : finding("error", r.message, r.trace));
        // An audit annotation that errs under failurePolicy Fail denies whatever the binding's actions, as the API server's dispatcher.
        if (r.annotationError !== undefined) findings.push(failurePolicy === "Fail" ? { ...finding("violation", r.annotationError, r.trace), mode: "deny" } : finding("error", r.annotationError, r.trace));
        if ((r.status === "pass" || r.status === "skip") && evalOptions.includePasses) findings.push(finding(r.status === "skip" ? "skip" : "pass", r.message, r.trace));
      }
    }
    return findings;
  };

  return {
    meta,
    evaluateRequest,
    evaluate(ctx: Context, evalOptions?: EvaluateOptions): Finding[] {
      const request = requestOf(ctx.input);
      if (!request) return [];
      const cluster = ctx.kubernetes?.cluster;
      const clusterParams = cluster === undefined ? undefined : configMapParams(cluster);
      // The namespace the context stage found in the cluster cache: namespaceSelector and CEL namespaceObject.
      // None for a Namespace itself, as the API server: its request's namespace is its own name, not a namespace it lives in.
      const namespaceObject = isNamespaceResource(targetOf(request)) ? undefined : ctx.kubernetes?.namespaceObject;
      if (namespaceObject === undefined || request.namespaceObject !== null) return evaluateRequest(request, evalOptions, clusterParams);
      const metadata = isObject(namespaceObject["metadata"]) ? namespaceObject["metadata"] : {};
      const labels: Record<string, string> = {};
      if (isObject(metadata["labels"])) for (const [k, v] of Object.entries(metadata["labels"])) labels[k] = String(v);
      return evaluateRequest({ ...request, namespaceObject: namespaceObject as Json, namespaceLabels: labels }, evalOptions, clusterParams);
    },
  };
}

export { labelSelectorMatches };
