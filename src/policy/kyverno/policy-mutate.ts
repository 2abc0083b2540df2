/**
 * The mutate side of a Kyverno ClusterPolicy / Policy (policy.ts): its mutate rules (and the
 * verifyImages rules' digest rewrites) on an admission input, in order, each on the previous
 * one's output (Kyverno's mutation engine); and its mutate-existing rules (`mutate.targets`):
 * what they would change in each target (mutate-existing.ts). Never throws.
 */
import { loadContextEntries, sharedBaseDocument, type Doc } from "./context.js";
import { diffJsonPatch } from "./json-patch.js";
import { excludeBlockMatches, matchBlockMatches, matchedKinds } from "./match.js";
import { mutateBlock } from "./mutate.js";
import { mutateTargets, type TargetOutcome } from "./mutate-existing.js";
import { extendableCopy } from "./objects.js";
import type { CompiledRule, KyvernoEvaluateOptions, KyvernoPolicy, MutationOutcome } from "./policy-types.js";
import { successMessage, type RuleCore } from "./policy-rules.js";
import { subjectObject, type AdmissionInput } from "./request.js";
import type { RuleResult } from "./results.js";
import type { RuleMode } from "../../core/policy.js";
import { evaluateConditions, preconditionsNotMet } from "./validate.js";
import { applyVerifyImages, verifyImagesBlock } from "./verify-images.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** What the mutate rules add to the compiled policy; empty for a policy without them. */
export type MutateSide = Pick<KyvernoPolicy, "mutateAdmission" | "mutateExisting">;

export function mutateSide(core: RuleCore, rules: readonly CompiledRule[], spec: Json): MutateSide {
  const existingRules = rules.filter((r) => r.existing);
  // Kyverno's mutating webhook runs verifyImages rules after the mutate rules (digests, verify-images annotation).
  const mutateRules = [...rules.filter((r) => r.type === "mutate" && !r.existing), ...rules.filter((r) => r.type === "verifyImages")];

  /** The mutate-existing rules for a trigger: per rule, its result and what it would change in each target. */
  const mutateExistingAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = {}): { rule: string; result: RuleResult; targets: TargetOutcome[] }[] => {
    const out: { rule: string; result: RuleResult; targets: TargetOutcome[] }[] = [];
    if (core.outsideNamespace(input)) return out;
    const resolver = core.resolverFor(evalOptions);
    let shared: Doc | undefined;
    for (const rule of existingRules) {
      const mode: RuleMode = "warn";
      try {
        const ready = core.prepareRule(rule, mode, input, evalOptions, () => (shared ??= sharedBaseDocument(input)), resolver);
        if ("stop" in ready) {
          if (ready.stop) out.push({ rule: rule.name, result: ready.stop, targets: [] });
          continue;
        }
        const doc = extendableCopy(ready.doc);
        const loaded = loadContextEntries(rule.context, doc, { mocked: ready.env.mocked, ...(ready.env.resolver ? { resolver: ready.env.resolver } : {}), deleteRequest: ready.env.deleteRequest });
        if (!loaded.ok) {
          out.push({ rule: rule.name, result: core.result(rule, mode, "error", `failed to load context: ${loaded.error}`, []), targets: [] });
          continue;
        }
        const pre = evaluateConditions(rule.raw["preconditions"], doc, ready.env, "empty");
        if (!pre.ok || !pre.value) {
          out.push({ rule: rule.name, result: core.result(rule, mode, pre.ok ? "skip" : "error", pre.ok ? preconditionsNotMet(pre) : `failed to evaluate preconditions: ${pre.error ?? ""}`, [{ kind: "precondition", expr: "preconditions", value: pre.value, children: pre.trace }]), targets: [] });
          continue;
        }
        const targets = mutateTargets(rule.raw["mutate"] as Json, doc, ready.env, core.policyNamespace);
        const failed = targets.find((t) => t.status === "error");
        const changed = targets.filter((t) => t.status === "patch").length;
        const status = failed ? "error" : changed > 0 ? "pass" : "skip";
        out.push({ rule: rule.name, result: core.result(rule, mode, status, failed?.message ?? (changed > 0 ? `${changed} target${changed === 1 ? "" : "s"} to patch` : "no target to change"), pre.trace.length > 0 ? [{ kind: "precondition", expr: "preconditions", value: true, children: pre.trace }] : []), targets });
      } catch (cause) {
        out.push({ rule: rule.name, result: core.internalError(rule, mode, cause), targets: [] });
      }
    }
    return out;
  };

  /** Mutate rules in order, each on the previous one's output (Kyverno's mutation engine). */
  const mutateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = {}): MutationOutcome => {
    const original = subjectObject(input);
    const results: RuleResult[] = [];
    if (core.outsideNamespace(input)) return { results, patched: original, patch: [] };
    const resolver = core.resolverFor(evalOptions);
    let current = original;
    let shared: Doc | undefined;
    const sharedDoc = (): Doc => (shared ??= sharedBaseDocument(input));
    for (const rule of mutateRules) {
      const current0 = current;
      const ruleInput: AdmissionInput = current0 === original ? input : { ...input, object: current0 };
      const mode = core.modeFor(rule, ruleInput);
      const exception = evalOptions.excepted?.(core.key, rule.name);
      if (exception !== undefined) {
        results.push(core.result(rule, mode, "skip", exception, []));
        continue;
      }
      try {
        const ready = core.prepareRule(rule, mode, ruleInput, evalOptions, sharedDoc, resolver);
        if ("stop" in ready) {
          if (ready.stop) results.push(ready.stop);
          continue;
        }
        if (rule.type === "verifyImages") {
          const outcome = verifyImagesBlock(rule.raw["verifyImages"], current0, ready.doc, ready.env, rule.context, rule.raw["preconditions"], "mutate", rule.raw["imageExtractors"]);
          if (outcome.status === undefined) continue;
          results.push(core.result(rule, mode, outcome.status, outcome.message, outcome.trace));
          if (outcome.status === "pass") current = applyVerifyImages(current0, outcome);
          continue;
        }
        const mutate = isObject(rule.raw["mutate"]) ? rule.raw["mutate"] : {};
        const response = mutateBlock(mutate, current0, ready.doc, ready.env, rule.context, rule.raw["preconditions"]);
        const message = response.status === "pass" ? successMessage(response.patched) : response.message;
        results.push(core.result(rule, mode, response.status, message, response.trace));
        if (response.status === "pass") current = response.patched;
        if (core.applyOne && response.status === "pass") break;
      } catch (cause) {
        results.push(core.internalError(rule, mode, cause));
      }
    }
    return { results, patched: current, patch: current === original ? [] : diffJsonPatch(original, current) };
  };

  return {
    ...(mutateRules.length > 0 ? { mutateAdmission } : {}),
    ...(existingRules.length > 0 ? {
      mutateExisting: {
        rules: existingRules.map((r) => r.name),
        onPolicyUpdate: spec["mutateExistingOnPolicyUpdate"] === true,
        triggerKinds: [...new Set(existingRules.flatMap((r) => matchedKinds(r.raw["match"])))],
        selects: (input: AdmissionInput) => !core.outsideNamespace(input) && existingRules.some((r) => matchBlockMatches(r.raw["match"], input) && !excludeBlockMatches(r.raw["exclude"], input)),
        evaluate: mutateExistingAdmission,
      },
    } : {}),
  };
}
