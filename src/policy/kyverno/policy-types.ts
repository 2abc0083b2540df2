/**
 * The types of a compiled Kyverno ClusterPolicy / Policy (policy.ts) and of its evaluation, in a
 * module of their own so that the modules policy.ts is made of (policy-rules.ts,
 * policy-mutate.ts, policy-generate.ts) and the other policy kinds can share them without an
 * import cycle. policy.ts re-exports them.
 */
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import type { EvaluateOptions } from "../../core/policy.js";
import type { CelParamSpec } from "./cel-params.js";
import type { CelRule } from "./cel-rule.js";
import type { ExternalContextResolver } from "./context.js";
import type { GlobalContextSet } from "./global-context.js";
import type { JsonPatchOperation } from "./json-patch.js";
import type { TargetOutcome } from "./mutate-existing.js";
import type { PolicyExceptionSet } from "./policy-exception.js";
import type { AdmissionInput } from "./request.js";
import type { RuleResult } from "./results.js";

type Json = Record<string, unknown>;

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
   * Kyverno keeps a synchronized rule's generated objects in sync with the policy: the kinds its
   * synchronized generate rules name (`generate.apiVersion` and `kind`, when they hold no
   * variable) and the label selector of this policy's objects. When the policy is installed or
   * changed, the agent's sweep lists them and hands each over as an update of the object, whose
   * decision reverts it to what the current revision generates (generate-sync.ts). Absent when no
   * synchronized rule names a kind. `createdKinds`: the kinds are not known from the policy (a
   * GeneratingPolicy's come from CEL): the sweep lists the kinds this policy's applied
   * `kubernetes.create` actions created.
   */
  readonly synchronizedDownstream?: { readonly kinds: readonly TriggerTarget[]; readonly labelSelector: string; readonly createdKinds?: true };
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

/** A rule as compiled (policy.ts), shared by the evaluation modules (policy-mutate.ts, policy-generate.ts). */
export interface CompiledRule {
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

export interface KyvernoCompileOptions {
  readonly source?: string;
  readonly resolver?: ExternalContextResolver;
  /** The Kyverno PolicyExceptions of this load, consulted when a rule matches (policy-exception.ts). */
  readonly exceptions?: PolicyExceptionSet;
  /** The GlobalContextEntries of this load, answering `globalReference` context entries (global-context.ts). */
  readonly globals?: GlobalContextSet;
}

