/**
 * The rule-level pieces of a Kyverno ClusterPolicy / Policy's evaluation (policy.ts): a rule's
 * result, environment and variable document, and `RuleCore`, what the policy's evaluation
 * modules (policy-mutate.ts, policy-generate.ts) need of the compiled policy.
 */
import type { PolicyMeta, RuleMode, Severity } from "../../core/policy.js";
import { setPath, type Doc, type ExternalContextResolver } from "./context.js";
import { evaluatePodSecurity } from "./pod-security.js";
import { exceptionMessage, type AppliedPolicyException } from "./policy-exception.js";
import type { CompiledRule, KyvernoCompileOptions, KyvernoEvaluateOptions, RuleType } from "./policy-types.js";
import { metadataOf, type AdmissionInput } from "./request.js";
import type { RuleEnv, RuleResponse } from "./rule-env.js";
import type { RuleResult } from "./results.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** What the evaluation modules of a compiled policy need of it (built once by compileKyvernoPolicy). */
export interface RuleCore {
  /** The policy's key: `name`, or `namespace/name` for a namespaced Policy. */
  readonly key: string;
  /** `metadata.name` (what the generate labels carry). */
  readonly name: string;
  readonly policyNamespace: string | undefined;
  readonly severity: Severity;
  readonly meta: PolicyMeta;
  readonly options: KyvernoCompileOptions;
  /** `spec.applyRules: One`. */
  readonly applyOne: boolean;
  /** A namespaced Policy applies to the requests of its own namespace only. */
  outsideNamespace(input: AdmissionInput): boolean;
  /** Enforce (deny) or Audit (warn) for this rule and request, overrides applied. */
  modeFor(rule: CompiledRule, input: AdmissionInput): RuleMode;
  /**
   * What a mutate or generate rule does before its own work: match / exclude, the rule's
   * document, celPreconditions, PolicyExceptions. The result the rule stops with (undefined: it
   * stops silently), or its document and environment.
   */
  prepareRule(rule: CompiledRule, mode: RuleMode, input: AdmissionInput, evalOptions: KyvernoEvaluateOptions, shared: () => Doc, resolver: ExternalContextResolver | undefined): { readonly stop: RuleResult | undefined } | { readonly doc: Doc; readonly env: RuleEnv };
  /** A result of `rule` of this policy. */
  result(rule: CompiledRule, mode: RuleMode, status: RuleResult["status"], message: string, trace: RuleResult["trace"]): RuleResult;
  internalError(rule: CompiledRule, mode: RuleMode, cause: unknown): RuleResult;
  /** The resolver of an evaluation: its own, else the policy's, with the GlobalContextEntries. */
  resolverFor(evalOptions: KyvernoEvaluateOptions): ExternalContextResolver | undefined;
}

export function ruleType(rule: Json): RuleType {
  if (rule["mutate"] !== undefined) return "mutate";
  if (rule["generate"] !== undefined) return "generate";
  if (rule["verifyImages"] !== undefined) return "verifyImages";
  return "validate";
}

export function normalizeAction(value: unknown): "Enforce" | "Audit" | undefined {
  if (typeof value !== "string") return undefined;
  return value.toLowerCase() === "enforce" ? "Enforce" : value.toLowerCase() === "audit" ? "Audit" : undefined;
}

/** True for a rule result a Kyverno PolicyException turned into a skip. */
export function exceptedResult(result: RuleResult): boolean {
  return result.status === "skip" && result.trace.some((step) => step.kind === "exception");
}

/**
 * A podSecurity rule under an exception with podSecurity controls (Kyverno's validate_pss): the
 * rule as written first; when it fails, again with the exception's controls added to its
 * exclusions; a pod that passes only then is a skip naming the exception, otherwise the failure
 * lists the controls still violated.
 */
export function podSecurityWithException(psSpec: unknown, input: AdmissionInput, rule: string, applied: AppliedPolicyException): RuleResponse {
  const plain = evaluatePodSecurity(psSpec, input, rule);
  if (plain.status !== "fail") return plain;
  const spec = isObject(psSpec) ? psSpec : {};
  const exclude = [...(Array.isArray(spec["exclude"]) ? spec["exclude"] : []), ...(applied.exception.podSecurity ?? [])];
  const exempted = evaluatePodSecurity({ ...spec, exclude }, input, rule);
  if (exempted.status === "pass") return { status: "skip", message: exceptionMessage(applied), trace: applied.trace };
  return exempted;
}

/** Kyverno's message for an applied mutate rule. */
export function successMessage(resource: Record<string, unknown>): string {
  const m = metadataOf(resource);
  const kind = String(resource["kind"] ?? "");
  const ns = typeof m["namespace"] === "string" && m["namespace"] !== "" ? ` in namespace ${m["namespace"]}` : "";
  return `mutated ${kind}/${String(m["name"] ?? "")}${ns}`;
}

export function ruleResult(policy: string, severity: Severity, rule: CompiledRule, mode: RuleMode, status: RuleResult["status"], message: string, trace: RuleResult["trace"]): RuleResult {
  return { policy, rule: rule.name, ruleType: rule.type, mode, severity, status, message, trace };
}

/** The rule environment; closures only for the checks the rule has (the hot path allocates little). */
export function ruleEnv(rule: CompiledRule, input: AdmissionInput, mocked: ReadonlySet<string>, resolver: ExternalContextResolver | undefined, params: unknown = null): RuleEnv {
  const env: { -readonly [K in keyof RuleEnv]: RuleEnv[K] } = { ruleName: rule.name, mocked, deleteRequest: input.operation === "DELETE", nesting: 0 };
  if (resolver) env.resolver = resolver;
  const cel = rule.cel;
  if (cel) env.cel = (_spec: unknown, d: Doc) => cel.evaluate(input, d, params);
  if (rule.validate["podSecurity"] !== undefined) env.podSecurity = (psSpec: unknown) => evaluatePodSecurity(psSpec, input, rule.name);
  return env;
}

const noMocks: ReadonlySet<string> = new Set();
export const noOptions: KyvernoEvaluateOptions = {};

export function ruleValuesFor(options: KyvernoEvaluateOptions, rule: string): Readonly<Record<string, unknown>> {
  return options.ruleValues?.[rule] ?? options.ruleValues?.[rule.replace(/^autogen-(cronjob-)?/, "")] ?? {};
}

export function mockedNames(options: KyvernoEvaluateOptions, rule: string): ReadonlySet<string> {
  if (options.values === undefined && options.ruleValues === undefined) return noMocks;
  const names = new Set<string>();
  for (const key of Object.keys(options.values ?? {})) names.add(key.split(".")[0] as string);
  for (const key of Object.keys(ruleValuesFor(options, rule))) names.add(key.split(".")[0] as string);
  return names;
}

/** A per-rule document: a shallow copy of the shared base (setPath is copy-on-write) plus values. */
export function buildDocument(shared: Doc, options: KyvernoEvaluateOptions, rule: string): Doc {
  const doc: Doc = { ...shared };
  if (options.values === undefined && options.ruleValues === undefined) return doc;
  for (const [k, v] of Object.entries(options.values ?? {})) setPath(doc, k, structuredClone(v));
  for (const [k, v] of Object.entries(ruleValuesFor(options, rule))) setPath(doc, k, structuredClone(v));
  return doc;
}
