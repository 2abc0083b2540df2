/**
 * Runs the mutations of several policies over one admission request, as Kyverno's mutating
 * webhook does: policies in name order, each seeing the object the previous one produced; the
 * answer is one RFC 6902 patch from the object as received to the final object. Policies in
 * shadow mode are evaluated against the object as it stands but their changes are not carried
 * forward (their findings say what they would have done). A policy with `reinvocationPolicy:
 * IfNeeded` (MutatingPolicy, MutatingAdmissionPolicy) runs once more, after the others, when a
 * policy after it changed the object, as the API server re-invokes it. Pure, never throws.
 */
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import type { Finding } from "../../core/finding.js";
import { diffJsonPatch, type JsonPatchOperation } from "./json-patch.js";
import type { KyvernoEvaluateOptions, KyvernoPolicy, MutationOutcome } from "./policy.js";
import type { AdmissionInput, KubeObject } from "./request.js";
import { resultToFinding } from "./results.js";

/** A policy that can mutate admission requests. */
export type MutatingPolicy = CompiledPolicy & Required<Pick<KyvernoPolicy, "mutateAdmission">> & Pick<KyvernoPolicy, "reinvocationPolicy">;

/** True for compiled policies with mutations (Kyverno mutate rules, MutatingPolicy). */
export function hasMutations(policy: CompiledPolicy): policy is MutatingPolicy {
  return typeof (policy as Partial<KyvernoPolicy>).mutateAdmission === "function";
}

/** What one policy did in the chain. */
export interface PolicyMutation {
  readonly policy: string;
  readonly shadow: boolean;
  /** The second run of a `reinvocationPolicy: IfNeeded` policy, after later policies changed the object. */
  readonly reinvoked?: boolean;
  /** Operations this policy's mutations amounted to, on the object it saw. */
  readonly patch: readonly JsonPatchOperation[];
  readonly findings: readonly Finding[];
}

export interface MutationChainResult {
  /** The object after every applied mutation (the input's object when nothing changed). */
  readonly patched: KubeObject | null;
  /** From the input's object to `patched`; empty when nothing changed. */
  readonly patch: readonly JsonPatchOperation[];
  readonly policies: readonly PolicyMutation[];
  /** Every policy's findings, in chain order. */
  readonly findings: readonly Finding[];
}

function failed(policy: CompiledPolicy, cause: unknown, input: AdmissionInput): Finding {
  const message = `mutation failed: ${cause instanceof Error ? cause.message : String(cause)}`;
  return {
    policy: policy.meta.name, rule: "mutate", revision: policy.meta.revision, language: policy.meta.language,
    effect: "error", mode: "warn", severity: "medium", message, trace: [],
    resource: String((input.object?.["metadata"] as { name?: unknown } | undefined)?.name ?? ""),
    error: { code: "VIGIL_POLICY_EVAL", message },
  };
}

/**
 * Applies `policies` (those with mutations; others are ignored) to `input.object`. DELETE and
 * CONNECT requests (no object) are not mutated.
 */
export function runMutationChain(policies: readonly CompiledPolicy[], input: AdmissionInput, options: KyvernoEvaluateOptions = {}): MutationChainResult {
  const original = input.object;
  if (original === null) return { patched: null, patch: [], policies: [], findings: [] };
  const mutators = policies.filter(hasMutations).sort((a, b) => (a.meta.name < b.meta.name ? -1 : a.meta.name > b.meta.name ? 1 : 0));
  let current: KubeObject = original;
  const out: PolicyMutation[] = [];
  const findings: Finding[] = [];
  /** One policy's run on the object as it stands; advances `current` unless in shadow mode. */
  const apply = (policy: MutatingPolicy, reinvoked: boolean): void => {
    const shadow = policy.meta.enforcement?.mode === "shadow";
    const seen: AdmissionInput = current === original ? input : { ...input, object: current };
    let outcome: MutationOutcome | undefined;
    let own: Finding[];
    try {
      outcome = policy.mutateAdmission(seen, options);
      // A MutatingPolicy's one result has no rule name: its findings carry the policy's name, as ValidatingPolicy's do.
      own = outcome.results.filter((r) => r.status !== "nomatch").map((r) => resultToFinding(r.rule === "" ? { ...r, rule: policy.meta.name } : r, policy.meta, seen));
    } catch (cause) {
      // INVARIANT (policy.ts): mutateAdmission never throws; a policy that does is reported, not fatal.
      own = [failed(policy, cause, seen)];
    }
    findings.push(...own);
    const patch = outcome?.patch ?? [];
    if (own.length > 0 || patch.length > 0) out.push({ policy: policy.meta.name, shadow, ...(reinvoked ? { reinvoked } : {}), patch, findings: own });
    if (outcome !== undefined && !shadow && patch.length > 0) current = outcome.patched;
  };
  // The object each policy left behind, to see which ones a later policy changed the object after.
  const leftBehind = new Map<MutatingPolicy, KubeObject>();
  for (const policy of mutators) {
    apply(policy, false);
    leftBehind.set(policy, current);
  }
  // Kubernetes' reinvocationPolicy IfNeeded: a policy that asks for it runs once more (once only)
  // when a policy after it changed the object, in the same order.
  for (const policy of mutators) {
    if (policy.reinvocationPolicy === "IfNeeded" && leftBehind.get(policy) !== current) apply(policy, true);
  }
  return { patched: current, patch: current === original ? [] : diffJsonPatch(original, current), policies: out, findings };
}
