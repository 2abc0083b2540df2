/**
 * Kyverno PolicyException (`kyverno.io/v2`, `v2beta1`, `v2alpha1`): a namespaced resource that
 * lets the resources it selects past named rules of named policies, without editing the policies.
 *
 * - `spec.exceptions[]`: `policyName` (a ClusterPolicy, or `<namespace>/<name>` for a namespaced
 *   Policy) and `ruleNames` (`*` wildcards; an autogen rule is excepted only when named too, as in
 *   Kyverno);
 * - `spec.match` (any/all of resource filters and subjects, as a rule's match) selects the
 *   resources; `spec.conditions` (any/all, the operators of preconditions, `{{ }}` variables over
 *   `request.*`) refines it;
 * - `spec.podSecurity[]` (controlName, images, restrictedField, values): for a `validate.podSecurity`
 *   rule, the listed controls are exempted instead of the whole rule;
 * - `spec.background: false`: not applied by background scans (`io.k8s.resource` events).
 *
 * An excepted rule reports `skip` with Kyverno's message ("rule skipped due to policy exception
 * <namespace>/<name>") and an `exception` trace step naming it; the rule's own checks do not run.
 * Which exceptions are loaded is a set shared by the policies of one load (the policy plugin, a
 * `kyverno test` file), read when a rule is evaluated, so an exception may sit in any file.
 *
 * The CEL PolicyException (`policies.kyverno.io/v1alpha1`, `v1beta1`): `spec.policyRefs[]`
 * (`name`, `kind`) and `spec.matchConditions[]` (CEL over object, oldObject, request,
 * namespaceObject, as a ValidatingPolicy's); when every condition holds, the referenced
 * ValidatingPolicy, ImageValidatingPolicy, MutatingPolicy or GeneratingPolicy reports `skip` for the resource (no
 * change, nothing generated), with the same message and trace step.
 */
import { VigilError } from "../../core/errors.js";
import type { TraceStep } from "../../core/finding.js";
import type { CelActivation, CelEnvironment } from "../cel/api.js";
import { compileAdmissionCel, type CompiledAdmissionCel } from "../vap/cel-admission.js";
import type { Doc } from "./context.js";
import { matchBlockMatches } from "./match.js";
import type { AdmissionInput } from "./request.js";
import type { RuleEnv } from "./rule-env.js";
import { evaluateConditions } from "./validate.js";
import { wildcardMatch } from "./wildcard.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** One loaded PolicyException. */
export interface KyvernoPolicyException {
  readonly name: string;
  readonly namespace: string;
  /** `<namespace>/<name>`, as Kyverno names it in messages and reports. */
  readonly key: string;
  readonly exceptions: readonly { readonly policyName: string; readonly ruleNames: readonly string[] }[];
  readonly match: Json;
  readonly conditions?: unknown;
  /** Pod Security controls exempted (validate.podSecurity rules only); absent: the whole rule is excepted. */
  readonly podSecurity?: readonly Json[];
  /** `spec.background` (default true): false keeps the exception out of background scans. */
  readonly background: boolean;
  readonly source?: string;
}

/** True for a `kyverno.io/*` PolicyException document. */
export function isPolicyExceptionDocument(doc: unknown): boolean {
  return isObject(doc) && doc["kind"] === "PolicyException" && String(doc["apiVersion"] ?? "").startsWith("kyverno.io/");
}

type Fail = (field: string, message: string) => never;

/**
 * What both kinds of PolicyException start with: the name (required), the namespace (`default`
 * when absent: PolicyExceptions are namespaced), a spec object whose keys are all `known`, and
 * `fail`, which throws VIGIL_POLICY_LOAD naming the exception, the field and the file.
 */
function exceptionHeader(doc: Json, source: string | undefined, known: ReadonlySet<string>, describeSpec: string, describeKnown: string): { name: string; namespace: string; spec: Json; fail: Fail } {
  const where = source === undefined ? {} : { file: source };
  const metadata = isObject(doc["metadata"]) ? doc["metadata"] : {};
  const name = typeof metadata["name"] === "string" ? metadata["name"] : "";
  const fail: Fail = (field, message) => {
    throw new VigilError("VIGIL_POLICY_LOAD", `PolicyException ${name === "" ? "(unnamed)" : name}: ${message}`, { field, policy: name, ...where });
  };
  if (name === "") fail("metadata.name", "metadata.name is required: name the exception.");
  const namespace = typeof metadata["namespace"] === "string" && metadata["namespace"] !== "" ? metadata["namespace"] : "default";
  const spec = doc["spec"];
  if (!isObject(spec)) return fail("spec", `spec is required (${describeSpec}).`);
  for (const key of Object.keys(spec)) {
    if (!known.has(key)) fail(`spec.${key}`, `unknown field spec.${key}; ${describeKnown}.`);
  }
  return { name, namespace, spec, fail };
}

const specFields = new Set(["exceptions", "match", "conditions", "podSecurity", "background"]);

/** Reads a PolicyException document; a malformed one throws VIGIL_POLICY_LOAD naming the exception and the field. */
export function parsePolicyException(doc: Json, source?: string): KyvernoPolicyException {
  const { name, namespace, spec, fail } = exceptionHeader(doc, source, specFields, "exceptions and match", `a PolicyException has ${[...specFields].join(", ")}`);
  const rawExceptions = spec["exceptions"];
  if (!Array.isArray(rawExceptions) || rawExceptions.length === 0) fail("spec.exceptions", "spec.exceptions must list at least one { policyName, ruleNames }.");
  const exceptions = (rawExceptions as unknown[]).map((entry, i) => {
    const field = `spec.exceptions[${i}]`;
    if (!isObject(entry)) return fail(field, `${field} must be an object with policyName and ruleNames.`);
    const policyName = entry["policyName"];
    if (typeof policyName !== "string" || policyName === "") return fail(`${field}.policyName`, `${field}.policyName must name a policy (<name>, or <namespace>/<name> for a namespaced Policy).`);
    const ruleNames = entry["ruleNames"];
    if (!Array.isArray(ruleNames) || ruleNames.length === 0 || ruleNames.some((r) => typeof r !== "string" || r === "")) {
      return fail(`${field}.ruleNames`, `${field}.ruleNames must list the rules to except (names, or "*" for every rule).`);
    }
    return { policyName, ruleNames: ruleNames as string[] };
  });
  const match = spec["match"];
  if (!isObject(match) || (!Array.isArray(match["any"]) && !Array.isArray(match["all"]))) {
    fail("spec.match", "spec.match must select resources with any or all (resource filters and subjects, as in a rule's match).");
  }
  const conditions = spec["conditions"];
  if (conditions !== undefined && !isObject(conditions) && !Array.isArray(conditions)) fail("spec.conditions", "spec.conditions must be { any: [...], all: [...] } of conditions.");
  const podSecurity = spec["podSecurity"];
  if (podSecurity !== undefined) {
    if (!Array.isArray(podSecurity)) fail("spec.podSecurity", "spec.podSecurity must be a list of controls ({ controlName, images, restrictedField, values }).");
    (podSecurity as unknown[]).forEach((control, i) => {
      if (!isObject(control) || typeof control["controlName"] !== "string" || control["controlName"] === "") fail(`spec.podSecurity[${i}].controlName`, `spec.podSecurity[${i}].controlName must name a Pod Security control (e.g. "Capabilities").`);
    });
  }
  const background = spec["background"];
  if (background !== undefined && typeof background !== "boolean") fail("spec.background", "spec.background must be true or false.");
  return {
    name,
    namespace,
    key: `${namespace}/${name}`,
    exceptions,
    match: match as Json,
    ...(conditions === undefined ? {} : { conditions }),
    ...(Array.isArray(podSecurity) && podSecurity.length > 0 ? { podSecurity: podSecurity as Json[] } : {}),
    background: background !== false,
    ...(source === undefined ? {} : { source }),
  };
}

/** One loaded CEL PolicyException (policies.kyverno.io). */
export interface CelPolicyException {
  readonly name: string;
  readonly namespace: string;
  readonly key: string;
  readonly policyRefs: readonly { readonly name: string; readonly kind: string }[];
  /** The matchConditions, compiled; `pass` when every condition holds. */
  readonly conditions: CompiledAdmissionCel;
  readonly source?: string;
}

/** True for a `policies.kyverno.io/*` PolicyException document. */
export function isCelPolicyExceptionDocument(doc: unknown): boolean {
  return isObject(doc) && doc["kind"] === "PolicyException" && String(doc["apiVersion"] ?? "").startsWith("policies.kyverno.io/");
}

const celSpecFields = new Set(["policyRefs", "matchConditions"]);

/** Reads and compiles a CEL PolicyException; a malformed one throws VIGIL_POLICY_LOAD (a CEL syntax error VIGIL_POLICY_COMPILE) naming the field. */
export function parseCelPolicyException(doc: Json, env: CelEnvironment, source?: string): CelPolicyException {
  const { name, namespace, spec, fail } = exceptionHeader(doc, source, celSpecFields, "policyRefs and matchConditions", `Vigil reads ${[...celSpecFields].join(" and ")} of a policies.kyverno.io PolicyException`);
  const refs = spec["policyRefs"];
  if (!Array.isArray(refs) || refs.length === 0) fail("spec.policyRefs", "spec.policyRefs must list at least one { name, kind } of a policy.");
  const policyRefs = (refs as unknown[]).map((ref, i) => {
    const field = `spec.policyRefs[${i}]`;
    if (!isObject(ref) || typeof ref["name"] !== "string" || ref["name"] === "") return fail(`${field}.name`, `${field}.name must name a policy.`);
    if (typeof ref["kind"] !== "string" || ref["kind"] === "") return fail(`${field}.kind`, `${field}.kind must be the policy's kind (e.g. ValidatingPolicy).`);
    return { name: ref["name"], kind: ref["kind"] };
  });
  const raw = spec["matchConditions"] ?? [];
  if (!Array.isArray(raw)) return fail("spec.matchConditions", "spec.matchConditions must be a list of { name, expression }.");
  const matchConditions = raw.map((c: unknown, i: number) => {
    if (!isObject(c) || typeof c["expression"] !== "string" || c["expression"].trim() === "") return fail(`spec.matchConditions[${i}].expression`, `spec.matchConditions[${i}].expression must be a CEL expression.`);
    return { name: typeof c["name"] === "string" ? c["name"] : `matchConditions[${i}]`, expression: c["expression"] };
  });
  const conditions = compileAdmissionCel({ matchConditions, validations: [] }, env, `PolicyException ${name}`);
  return { name, namespace, key: `${namespace}/${name}`, policyRefs, conditions, ...(source === undefined ? {} : { source }) };
}

/** The first CEL exception whose conditions all hold for this activation; a condition that fails to evaluate means it does not apply. */
export function matchingCelPolicyException(candidates: readonly CelPolicyException[], activation: CelActivation): AppliedPolicyException<CelPolicyException> | undefined {
  for (const exception of candidates) {
    const outcome = exception.conditions.evaluate(activation);
    if (outcome.status === "pass") return { exception, trace: [{ kind: "exception", expr: `PolicyException ${exception.key}`, value: true, ...(outcome.trace.length > 0 ? { children: outcome.trace } : {}) }] };
  }
  return undefined;
}

/** The PolicyExceptions of one load, looked up by policy and rule when a rule is evaluated. */
export interface PolicyExceptionSet {
  add(exception: KyvernoPolicyException): void;
  addCel(exception: CelPolicyException): void;
  readonly size: number;
  /** Exceptions naming this rule of this policy (`policyNamespace` for a namespaced Policy), in load order. */
  candidates(policyName: string, policyNamespace: string | undefined, rule: string): readonly KyvernoPolicyException[];
  /** CEL exceptions referring to this policy (name and kind), in load order. */
  celCandidates(policyName: string, kind: string): readonly CelPolicyException[];
}

/** PolicyExceptions kept outside the policy files (the cluster's), with a version that changes whenever they do. */
export interface ExternalPolicyExceptions {
  readonly version: number;
  readonly documents: readonly Json[];
}

export interface ExternalExceptionSource {
  /** The current documents (kyverno.io PolicyExceptions and policies.kyverno.io CEL ones). */
  readonly read: () => ExternalPolicyExceptions;
  /** The environment CEL exceptions compile with (the policies'). */
  readonly env: CelEnvironment;
  /** Told once per version about each document that does not parse (it is left out). */
  readonly onProblem?: (message: string) => void;
}

/**
 * The exceptions of one load: those of its files (`add`, `addCel`), and, with `external`, those
 * the source holds now (e.g. the cluster's PolicyExceptions, listed and watched), parsed again
 * only when the source's version changes.
 */
export function createPolicyExceptionSet(initial: readonly KyvernoPolicyException[] = [], external?: ExternalExceptionSource): PolicyExceptionSet {
  const all: KyvernoPolicyException[] = [...initial];
  const cel: CelPolicyException[] = [];
  let parsed: { version: number; all: KyvernoPolicyException[]; cel: CelPolicyException[] } | undefined;
  const externals = (): { all: readonly KyvernoPolicyException[]; cel: readonly CelPolicyException[] } => {
    if (external === undefined) return { all: [], cel: [] };
    const current = external.read();
    if (parsed?.version !== current.version) {
      const next = { version: current.version, all: [] as KyvernoPolicyException[], cel: [] as CelPolicyException[] };
      for (const doc of current.documents) {
        try {
          if (isPolicyExceptionDocument(doc)) next.all.push(parsePolicyException(doc, "the cluster"));
          else if (isCelPolicyExceptionDocument(doc)) next.cel.push(parseCelPolicyException(doc, external.env, "the cluster"));
        } catch (error) {
          external.onProblem?.(`PolicyException from the cluster left out: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      parsed = next;
    }
    return parsed;
  };
  const select = (list: readonly KyvernoPolicyException[], policyName: string, policyNamespace: string | undefined, rule: string): KyvernoPolicyException[] => {
    const qualified = policyNamespace === undefined ? undefined : `${policyNamespace}/${policyName}`;
    return list.filter((e) => e.exceptions.some((x) => (x.policyName === policyName || x.policyName === qualified) && x.ruleNames.some((r) => wildcardMatch(r, rule))));
  };
  return {
    add(exception) {
      all.push(exception);
    },
    addCel(exception) {
      cel.push(exception);
    },
    get size() {
      const more = externals();
      return all.length + cel.length + more.all.length + more.cel.length;
    },
    celCandidates(policyName, kind) {
      const more = externals().cel;
      if (cel.length === 0 && more.length === 0) return cel;
      return [...cel, ...more].filter((e) => e.policyRefs.some((r) => r.name === policyName && r.kind === kind));
    },
    candidates(policyName, policyNamespace, rule) {
      const more = externals().all;
      if (all.length === 0 && more.length === 0) return all;
      return [...select(all, policyName, policyNamespace, rule), ...select(more, policyName, policyNamespace, rule)];
    },
  };
}

/** The exception that applies, with the trace of its conditions; undefined when none does. */
export interface AppliedPolicyException<E extends { readonly key: string } = KyvernoPolicyException> {
  readonly exception: E;
  readonly trace: readonly TraceStep[];
}

/**
 * The first candidate whose match selects the request and whose conditions hold (Kyverno's
 * MatchesException). A condition that cannot be evaluated means the exception does not apply.
 */
export function matchingPolicyException(candidates: readonly KyvernoPolicyException[], input: AdmissionInput, doc: Doc, env: RuleEnv, background: boolean): AppliedPolicyException | undefined {
  for (const exception of candidates) {
    if (background && !exception.background) continue;
    if (!matchBlockMatches(exception.match, input)) continue;
    const step: TraceStep = { kind: "exception", expr: `PolicyException ${exception.key}`, value: true };
    if (exception.conditions === undefined) return { exception, trace: [step] };
    const outcome = evaluateConditions(exception.conditions, doc, env, "empty");
    if (outcome.ok && outcome.value) return { exception, trace: [{ ...step, children: outcome.trace }] };
  }
  return undefined;
}

/** Kyverno's message for a rule an exception let through. */
export function exceptionMessage(applied: AppliedPolicyException<{ readonly key: string }>): string {
  return `rule skipped due to policy exception ${applied.exception.key}`;
}
