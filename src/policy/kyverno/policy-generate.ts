/**
 * The generate side of a Kyverno ClusterPolicy / Policy (policy.ts): its generate rules on an
 * admission input (Kyverno's generation response, what `kyverno test` compares), which admitted
 * requests trigger generation (`generates`), `generateExisting`, and the findings of a
 * `dev.vigil.generate` event: the objects to create, and with `synchronize` the objects to delete
 * with a deleted trigger, to re-create or to revert (generate-actions.ts, generate-sync.ts).
 * Never throws.
 */
import type { Finding } from "../../core/finding.js";
import type { Doc } from "./context.js";
import { sharedBaseDocument } from "./context.js";
import { generateBlock } from "./generate.js";
import { asCreation, deletedTriggerAsCreate, generateFindings, synchronizedDeletions } from "./generate-actions.js";
import { cloneSourceChange, cloneSourcesOf, downstreamChange, recreateDownstream, revertDownstream, syncClones, type CloneSource, type DownstreamChange } from "./generate-sync.js";
import { excludeBlockMatches, matchBlockMatches, matchedKinds } from "./match.js";
import type { CompiledRule, GenerateOutcome, KyvernoEvaluateOptions, KyvernoPolicy } from "./policy-types.js";
import type { RuleCore } from "./policy-rules.js";
import { metadataOf, stringMap, subjectObject, type AdmissionInput } from "./request.js";
import { resultToFinding, type RuleResult } from "./results.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** What the generate rules add to the compiled policy; empty for a policy without generate rules. */
export type GenerateSide = Pick<KyvernoPolicy, "generateAdmission" | "generates" | "generateExisting" | "synchronizedDownstream"> & {
  /** The findings of a `dev.vigil.generate` event for this policy (`base`: the evaluation's options, resolver included). */
  readonly triggerFindings: (input: AdmissionInput, base: KyvernoEvaluateOptions, includePasses: boolean) => Finding[];
};

export function generateSide(core: RuleCore, rules: readonly CompiledRule[], spec: Json): GenerateSide {
  const generateRules = rules.filter((r) => r.type === "generate");
  // `spec.generateExisting` (older Kyverno) applies to every generate rule; `generate.generateExisting` to its own.
  // `synchronize: true`: deleting the trigger deletes what the rule generated for it; a generated object deleted or modified is re-created or reverted.
  const syncRules = generateRules.filter((r) => isObject(r.raw["generate"]) && r.raw["generate"]["synchronize"] === true);
  const generateExistingRules = generateRules.filter((r) => spec["generateExisting"] === true || (isObject(r.raw["generate"]) && r.raw["generate"]["generateExisting"] === true));

  // The kinds the synchronized rules generate, as Kyverno kind strings (`group/version/Kind`, `version/Kind`); a kind or apiVersion with a variable is not known before a trigger.
  const syncKinds = [...new Set(syncRules.flatMap((r) => {
    const generate = r.raw["generate"] as Json;
    const kind = generate["kind"];
    const apiVersion = generate["apiVersion"] ?? "v1";
    return typeof kind === "string" && typeof apiVersion === "string" && kind !== "" && !`${apiVersion}${kind}`.includes("{{") ? [`${apiVersion}/${kind}`] : [];
  }))];

  // The clone sources of synchronized rules named without variables: a change of one syncs (or deletes) what was cloned from it.
  const cloneSources = syncRules.flatMap((r): CloneSource[] => cloneSourcesOf(r.name, r.raw["generate"] as Json));
  const sourceChange = (input: AdmissionInput) => (cloneSources.length === 0 ? undefined : cloneSourceChange(cloneSources, input));

  const selects = (rule: CompiledRule, input: AdmissionInput): boolean => matchBlockMatches(rule.raw["match"], input) && !excludeBlockMatches(rule.raw["exclude"], input);
  /**
   * The synchronized rules an update of the trigger took it out of (Kyverno's "Modify Trigger:
   * downstream deleted"): they select the old object and not the new one, both seen as creations
   * (so a rule's `operations` does not decide).
   */
  const leftRules = (input: AdmissionInput): CompiledRule[] => {
    if (syncRules.length === 0 || input.operation !== "UPDATE" || input.object === null || input.oldObject === null) return [];
    const before = asCreation(input, input.oldObject);
    const after = asCreation(input, input.object);
    return syncRules.filter((r) => selects(r, before) && !selects(r, after));
  };

  /** The deletions of what `rules` generated for `trigger` (a deleted trigger, or one these rules no longer select). */
  const deletionsFor = (rules: readonly CompiledRule[], trigger: AdmissionInput, input: AdmissionInput, base: KyvernoEvaluateOptions, includePasses: boolean, why: string): Finding[] => {
    const outcome = generateAdmission(trigger, base);
    const names = new Set(rules.map((r) => r.name));
    return outcome.results.filter((r) => r.status === "pass" && names.has(r.rule)).flatMap((r) =>
      synchronizedDeletions(outcome.resources.filter((g) => stringMap(metadataOf(g)["labels"])["generate.kyverno.io/rule-name"] === r.rule), core.name, trigger.object ?? {}, r, (x) => resultToFinding(x, core.meta, input), includePasses, base.resolver, why));
  };

  /** A generated object of this policy's synchronized rules deleted or modified (its labels say so), else undefined. */
  const syncedDownstream = (input: AdmissionInput): DownstreamChange | undefined => {
    if (syncRules.length === 0) return undefined;
    const found = downstreamChange(input);
    if (found === undefined || found.origin.policy !== core.name || found.origin.policyNamespace !== (core.policyNamespace ?? "")) return undefined;
    return syncRules.some((r) => r.name === found.origin.rule) ? found : undefined;
  };

  /** Generate rules in order, each on the admission input's object (Kyverno's generation response). */
  const generateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = {}): GenerateOutcome => {
    const trigger = subjectObject(input);
    const results: RuleResult[] = [];
    const resources: Record<string, unknown>[] = [];
    if (core.outsideNamespace(input)) return { results, resources };
    const resolver = core.resolverFor(evalOptions);
    let shared: Doc | undefined;
    const sharedDoc = (): Doc => (shared ??= sharedBaseDocument(input));
    for (const rule of generateRules) {
      const mode = core.modeFor(rule, input);
      try {
        const ready = core.prepareRule(rule, mode, input, evalOptions, sharedDoc, resolver);
        if ("stop" in ready) {
          if (ready.stop) results.push(ready.stop);
          continue;
        }
        const generate = isObject(rule.raw["generate"]) ? rule.raw["generate"] : {};
        const origin = { policy: core.name, policyNamespace: core.policyNamespace ?? "", rule: rule.name, trigger };
        const response = generateBlock(generate, ready.doc, ready.env, rule.context, rule.raw["preconditions"], origin, evalOptions.clusterResources);
        results.push(core.result(rule, mode, response.status, response.message, response.trace));
        resources.push(...response.resources);
      } catch (cause) {
        results.push(core.internalError(rule, mode, cause));
      }
    }
    return { results, resources };
  };

  /** The findings of a dev.vigil.generate event. */
  const triggerFindings = (input: AdmissionInput, base: KyvernoEvaluateOptions, includePasses: boolean): Finding[] => {
    // An object this policy generated with a synchronized rule, deleted (re-created) or modified (reverted).
    const downstream = syncedDownstream(input);
    if (downstream !== undefined) {
      const rule = syncRules.find((r) => r.name === downstream.origin.rule) as CompiledRule;
      const note = (effect: "pass" | "error", message: string): Finding => resultToFinding(core.result(rule, core.modeFor(rule, input), effect, message, []), core.meta, input);
      const sync = downstream.change === "deleted" ? recreateDownstream : revertDownstream;
      return sync({ origin: downstream.origin, input, generate: (trigger) => generateAdmission(trigger, base), toFinding: (r, trigger) => resultToFinding(r, core.meta, trigger), note, includePasses, resolver: base.resolver });
    }
    // A clone source of synchronized rules, modified (its copies synced) or deleted (its copies deleted).
    const source = sourceChange(input);
    if (source !== undefined) {
      const ruleOf = (name: string): CompiledRule => syncRules.find((r) => r.name === name) as CompiledRule;
      const first = ruleOf(source.sources[0]?.rule ?? "");
      const note = (effect: "pass" | "error", message: string): Finding => resultToFinding(core.result(first, core.modeFor(first, input), effect, message, []), core.meta, input);
      return syncClones(source, core.name, core.policyNamespace ?? "", { input, generate: (trigger) => generateAdmission(trigger, base), toFinding: (r, trigger) => resultToFinding(r, core.meta, trigger), note, includePasses, resolver: base.resolver },
        (name) => core.result(ruleOf(name), core.modeFor(ruleOf(name), input), "pass", "clone source deleted", []));
    }
    if (input.object === null) {
      // A deleted trigger: the downstream of its synchronized rules is deleted.
      const created = deletedTriggerAsCreate(input);
      if (created === undefined || syncRules.length === 0) return [];
      return deletionsFor(syncRules, created, input, base, includePasses, "its trigger was deleted");
    }
    // An updated trigger some synchronized rules no longer select: what they generated for it is deleted.
    const left = leftRules(input);
    const deletions = left.length === 0 || input.oldObject === null ? [] : deletionsFor(left, asCreation(input, input.oldObject), input, base, includePasses, "its trigger no longer matches the rule");
    const outcome = generateAdmission(input, base);
    // A namespaced Policy generates into its own namespace only (Kyverno refuses such a Policy).
    const elsewhere = core.policyNamespace === undefined ? [] : outcome.resources.filter((r) => String(metadataOf(r)["namespace"] ?? "") !== core.policyNamespace);
    const findings = generateFindings({ results: outcome.results, resources: outcome.resources.filter((r) => !elsewhere.includes(r)) }, (r) => resultToFinding(r, core.meta, input), includePasses, base.resolver);
    for (const r of elsewhere) {
      const message = `${String(r["kind"] ?? "")} ${String(metadataOf(r)["name"] ?? "")} would be generated ${String(metadataOf(r)["namespace"] ?? "") === "" ? "cluster-wide" : `in namespace ${String(metadataOf(r)["namespace"])}`}; a namespaced Policy generates into its own namespace ${core.policyNamespace ?? ""} only`;
      const result = outcome.results.find((x) => x.status === "pass");
      if (result) findings.push({ ...resultToFinding(result, core.meta, input), effect: "error", message, error: { code: "VIGIL_POLICY_EVAL", message } });
    }
    return [...deletions, ...findings];
  };

  return {
    triggerFindings,
    ...(generateExistingRules.length > 0 ? { generateExisting: { triggers: [...new Set(generateExistingRules.flatMap((r) => matchedKinds(r.raw["match"])))].map((kind) => ({ kind })) } } : {}),
    ...(syncKinds.length > 0 ? { synchronizedDownstream: { kinds: syncKinds.map((kind) => ({ kind })), labelSelector: `generate.kyverno.io/policy-name=${core.name}` } } : {}),
    ...(generateRules.length > 0 ? {
      generateAdmission,
      generates: (input: AdmissionInput) => {
        if (core.outsideNamespace(input)) return false;
        if (syncedDownstream(input) !== undefined || sourceChange(input) !== undefined) return true;
        if (input.object !== null) return generateRules.some((r) => selects(r, input)) || leftRules(input).length > 0;
        const created = deletedTriggerAsCreate(input);
        return created !== undefined && syncRules.some((r) => selects(r, created));
      },
    } : {}),
  };
}
