/**
 * `synchronize` for the objects a generate rule or GeneratingPolicy made (Kyverno's "downstream"):
 * a deleted one is re-created, a modified one reverted, for its live trigger. The object's
 * `generate.kyverno.io` labels name the policy, the rule and the trigger (kind, namespace, uid);
 * the trigger is found as Kyverno finds it, its generation computed again (generate.ts,
 * generating-policy.ts) and the difference planned as a kubernetes.create or kubernetes.patch
 * through the executor's guardrails. Never throws.
 */
import type { Finding } from "../../core/finding.js";
import { resourceForKind } from "../vap/match-constraints.js";
import { listObjects, resourcePath } from "./cluster-reads.js";
import type { ExternalContextResolver } from "./context.js";
import { cloneSourceOfCopy, generateFindings, liveObject, synchronizedDeletions } from "./generate-actions.js";
import { jsonEqual } from "./json-patch.js";
import { isClusterScopedKind } from "./kinds.js";
import { selectorMatches } from "./match.js";
import { mutateExistingFindings, patchOutcome } from "./mutate-existing.js";
import { metadataOf, stringMap, type AdmissionInput } from "./request.js";
import type { RuleResult } from "./results.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function text(value: unknown): string {
  return value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value);
}

/** Which policy, rule and trigger generated an object, from its `generate.kyverno.io` labels. */
export interface DownstreamOrigin {
  readonly policy: string;
  /** "" for a ClusterPolicy. */
  readonly policyNamespace: string;
  /** "" for a GeneratingPolicy's. */
  readonly rule: string;
  readonly trigger: { readonly apiVersion: string; readonly kind: string; readonly namespace: string; readonly uid?: string };
}

/** A generated object deleted or modified: what the review's object (or old object) says generated it. */
export interface DownstreamChange {
  readonly origin: DownstreamOrigin;
  readonly change: "deleted" | "modified";
}

/** The downstream change an admission request is, judged by its labels alone (which policy claims it is the caller's check). */
export function downstreamChange(input: AdmissionInput): DownstreamChange | undefined {
  if (input.operation === "DELETE" && input.object === null && input.oldObject !== null) {
    const origin = downstreamOrigin(input.oldObject);
    return origin === undefined ? undefined : { origin, change: "deleted" };
  }
  if (input.operation === "UPDATE" && input.object !== null && input.subResource === "") {
    const origin = downstreamOrigin(input.object);
    return origin === undefined ? undefined : { origin, change: "modified" };
  }
  return undefined;
}

/** The origin an object's labels name, or undefined when they do not name a policy, rule and trigger kind. */
export function downstreamOrigin(object: Json): DownstreamOrigin | undefined {
  const labels = stringMap(metadataOf(object)["labels"]);
  const policy = labels["generate.kyverno.io/policy-name"];
  // A GeneratingPolicy's objects name no rule.
  const rule = labels["generate.kyverno.io/rule-name"] ?? "";
  const kind = labels["generate.kyverno.io/trigger-kind"];
  const version = labels["generate.kyverno.io/trigger-version"];
  if (!policy || !kind || !version) return undefined;
  const group = labels["generate.kyverno.io/trigger-group"] ?? "";
  const uid = labels["generate.kyverno.io/trigger-uid"];
  return {
    policy,
    policyNamespace: labels["generate.kyverno.io/policy-namespace"] ?? "",
    rule,
    trigger: { apiVersion: group === "" ? version : `${group}/${version}`, kind, namespace: labels["generate.kyverno.io/trigger-namespace"] ?? "", ...(uid ? { uid } : {}) },
  };
}

/**
 * The live trigger of a generated object, as Kyverno finds it: its labels carry the trigger's
 * kind, namespace and uid but not its name, so the objects of that kind in that namespace are
 * listed and the one with that uid is the trigger. `absent`: no object has it (the trigger is
 * gone, or is being deleted); `problem`: it cannot be told (no uid label, or the list failed).
 */
export function liveTrigger(resolver: ExternalContextResolver | undefined, origin: DownstreamOrigin): { readonly object: Json } | { readonly absent: string } | { readonly problem: string } {
  const { apiVersion, kind, namespace, uid } = origin.trigger;
  if (uid === undefined) return { problem: `its generate.kyverno.io/trigger-uid label is missing, so its ${kind} trigger cannot be told apart` };
  const listed = listObjects(resolver, "trigger", resourcePath(apiVersion, resourceForKind(kind), isClusterScopedKind(kind) ? "" : namespace), undefined, { apiVersion, kind });
  if ("problem" in listed) return { problem: listed.problem };
  const found = listed.items.find((item) => metadataOf(item)["uid"] === uid);
  if (found === undefined) return { absent: `its ${kind} trigger (uid ${uid}) no longer exists` };
  if (metadataOf(found)["deletionTimestamp"] !== undefined) return { absent: `its ${kind} trigger ${text(metadataOf(found)["name"])} is being deleted` };
  return { object: found };
}

/** `kind/namespace/name` of an object, as the generate findings name it. */
export function generatedKey(object: Json): string {
  const meta = metadataOf(object);
  const namespace = text(meta["namespace"]);
  return `${text(object["kind"])}/${namespace !== "" ? `${namespace}/` : ""}${text(meta["name"])}`;
}

/** The trigger as a creation request: what its generation makes, computed as when it was admitted. */
function triggerAsCreate(input: AdmissionInput, trigger: Json): AdmissionInput {
  const meta = metadataOf(trigger);
  const namespace = text(meta["namespace"]);
  const apiVersion = text(trigger["apiVersion"]);
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/", 2) as [string, string] : ["", apiVersion];
  // The namespace labels and object the review carried are the deleted object's namespace's: kept only when the trigger is in it.
  const sameNamespace = namespace !== "" && namespace === text(metadataOf(input.object ?? input.oldObject ?? {})["namespace"]);
  const { namespaceLabels: _labels, namespaceObject: _object, raw: _raw, ...rest } = input;
  return {
    ...rest,
    operation: "CREATE",
    object: trigger,
    oldObject: null,
    ...(sameNamespace && input.namespaceLabels ? { namespaceLabels: input.namespaceLabels } : {}),
    ...(sameNamespace && input.namespaceObject ? { namespaceObject: input.namespaceObject } : {}),
    ...(input.raw ? { raw: { ...input.raw, operation: "CREATE", kind: { group, version, kind: text(trigger["kind"]) }, namespace, name: text(meta["name"]), object: trigger, oldObject: null } } : {}),
  };
}

/** What re-creating or reverting a downstream object needs: the request, its policy's generation and finding makers. */
export interface DownstreamSync<R extends RuleResult> {
  readonly origin: DownstreamOrigin;
  /** The DELETE (re-create) or UPDATE (revert) request of the generated object. */
  readonly input: AdmissionInput;
  /** The policy's generation for a trigger (as a creation request). */
  readonly generate: (trigger: AdmissionInput) => { readonly results: readonly R[]; readonly resources: readonly Json[] };
  /** A finding of a generate result, on the trigger's input. */
  readonly toFinding: (result: R, input: AdmissionInput) => Finding;
  /** A finding of the rule without a result (pass or error). */
  readonly note: (effect: "pass" | "error", message: string) => Finding;
  readonly includePasses: boolean;
  readonly resolver: ExternalContextResolver | undefined;
}

/** How a downstream's rule is called in messages (a GeneratingPolicy's objects name no rule: its name). */
function ruleName(origin: DownstreamOrigin): string {
  return origin.rule || origin.policy;
}

interface Regenerated<R> {
  readonly result: R;
  /** The object the rule generates now, of the downstream's identity. */
  readonly desired: Json;
  /** The trigger as a creation (the input the generation ran on). */
  readonly created: AdmissionInput;
  readonly triggerName: string;
}

/**
 * What the rule generates now, for the live trigger, of the identity of `object` (a downstream
 * deleted or modified); or the findings that say why there is nothing to do (trigger gone, rule no
 * longer generating it: passes in explain mode) or why it cannot be told (an error finding).
 */
function regenerate<R extends RuleResult>(
  origin: DownstreamOrigin, input: AdmissionInput, object: Json, what: "deleted" | "modified",
  generate: (trigger: AdmissionInput) => { readonly results: readonly R[]; readonly resources: readonly Json[] },
  note: (effect: "pass" | "error", message: string) => Finding, includePasses: boolean, resolver: ExternalContextResolver | undefined,
): Regenerated<R> | { readonly findings: Finding[] } {
  const key = generatedKey(object);
  const rule = ruleName(origin);
  const undone = what === "deleted" ? "re-created" : "reverted";
  const found = liveTrigger(resolver, origin);
  if ("problem" in found) return { findings: [{ ...note("error", `${rule}: ${key} was ${what} and the rule synchronizes, but ${found.problem}; it is not ${undone}`), resource: key }] };
  if ("absent" in found) return { findings: includePasses ? [{ ...note("pass", `${rule}: ${key} was ${what}; ${found.absent}, so it is not ${undone}`), resource: key }] : [] };
  const created = triggerAsCreate(input, found.object);
  const outcome = generate(created);
  const result = outcome.results.find((r) => r.rule === origin.rule && r.status === "pass");
  const desired = outcome.resources.find((g) => (stringMap(metadataOf(g)["labels"])["generate.kyverno.io/rule-name"] ?? "") === origin.rule && generatedKey(g) === key);
  const triggerName = `${text(found.object["kind"])} ${text(metadataOf(found.object)["name"])}`;
  if (result === undefined || desired === undefined) {
    return { findings: includePasses ? [{ ...note("pass", `${rule}: ${key} was ${what}; the rule no longer generates it for its trigger ${triggerName}, so it is not ${undone}`), resource: key }] : [] };
  }
  return { result, desired, created, triggerName };
}

/**
 * `synchronize` when a generated object is deleted: Kyverno re-creates it (its "Delete Downstream:
 * recreated"). The live trigger is found by uid (liveTrigger) and its generation computed again
 * (`generate`, on the trigger as a creation); the object of the deleted one's identity is planned
 * as a `kubernetes.create`, through the same guardrails as the first creation. Nothing is planned
 * when the trigger is gone or being deleted (the deletion came with it), or when the rule no
 * longer generates that object for it; a trigger that cannot be found out is an error finding.
 */
export function recreateDownstream<R extends RuleResult>(sync: DownstreamSync<R>): Finding[] {
  const { origin, input, generate, toFinding, note, includePasses, resolver } = sync;
  const deleted = input.oldObject ?? {};
  const regenerated = regenerate(origin, input, deleted, "deleted", generate, note, includePasses, resolver);
  if ("findings" in regenerated) return regenerated.findings;
  const { result, desired, created, triggerName } = regenerated;
  const key = generatedKey(deleted);
  return generateFindings({ results: [result], resources: [desired] }, (r) => toFinding(r, created), includePasses, resolver).map((finding) =>
    finding.effect === "violation" ? { ...finding, message: `${ruleName(origin)}: re-create ${key}: it was deleted, and the rule synchronizes it for its trigger ${triggerName}` } : finding);
}

/**
 * The live object with what the rule generates put back: each top-level field the generated
 * object has (not apiVersion, kind, metadata, status) as generated, and its labels and annotations
 * over the live ones. Fields the rule does not generate, and the server's metadata, stay.
 */
function reverted(live: Json, desired: Json): Json {
  const out: Json = { ...live };
  for (const [field, value] of Object.entries(desired)) {
    if (field !== "apiVersion" && field !== "kind" && field !== "metadata" && field !== "status") out[field] = value;
  }
  const liveMeta = metadataOf(live);
  const desiredMeta = metadataOf(desired);
  const meta: Json = { ...liveMeta };
  for (const field of ["labels", "annotations"] as const) {
    if (isObject(desiredMeta[field])) meta[field] = { ...(isObject(liveMeta[field]) ? liveMeta[field] : {}), ...desiredMeta[field] };
  }
  out["metadata"] = meta;
  return out;
}

/**
 * `synchronize` when a generated object is modified: Kyverno reverts it to what the rule
 * generates (its "Modify Downstream: reverted"). The live object is read (the review came before
 * the change was stored), compared with the rule's generation for the live trigger, and the
 * difference planned as a `kubernetes.patch` tested against the resourceVersion read, so a later
 * change is never overwritten. Its own patch comes back as an update that already matches: nothing
 * more. A Secret copy (a clone: its `generate.kyverno.io/source-*` labels name the source) is
 * brought back by the patch's `copyFrom`, which copies the source's data when it applies: the
 * plan carries its metadata changes only. Another Secret is an error finding (a patch would carry
 * its data into the action record).
 */
export function revertDownstream<R extends RuleResult>(sync: DownstreamSync<R>): Finding[] {
  const { origin, input, generate, toFinding, note, includePasses, resolver } = sync;
  const changed = input.object ?? {};
  const key = generatedKey(changed);
  const rule = ruleName(origin);
  const secret = changed["apiVersion"] === "v1" && changed["kind"] === "Secret";
  const regenerated = regenerate(origin, input, changed, "modified", generate, note, includePasses, resolver);
  if ("findings" in regenerated) return regenerated.findings;
  const { result, desired, created, triggerName } = regenerated;
  const source = secret ? cloneSourceOfCopy(stringMap(metadataOf(desired)["labels"])) : undefined;
  if (secret && source === undefined) {
    const message = `${rule}: ${key} is a Secret the rule writes itself, not a copy of another: Vigil does not revert it (the action record would hold its data)`;
    return [{ ...note("error", message), resource: key, error: { code: "VIGIL_POLICY_UNSUPPORTED", message } }];
  }
  const live = liveObject(resolver, changed);
  if (live === null) return includePasses ? [{ ...note("pass", `${rule}: ${key} was modified, and is gone since; nothing to revert`), resource: key }] : [];
  if (live === undefined) return [{ ...note("error", `${rule}: ${key} was modified and the rule synchronizes, but it could not be read from the cluster; it is not reverted`), resource: key }];
  const target = source === undefined ? patchOutcome(live, reverted(live, desired), []) : copyOutcome(live, desired, source);
  return mutateExistingFindings([{ result, targets: [target.status === "unchanged" ? { ...target, message: `${key} matches what the rule generates` } : target] }], (r) => ({ ...toFinding(r as R, created), resource: key }), includePasses).map((finding) =>
    finding.effect === "violation" ? { ...finding, message: `${rule}: revert ${key}: it was modified, and the rule synchronizes it for its trigger ${triggerName} (${target.message.replace(/^target [^:]*: /, "")})` } : finding);
}

/**
 * A copy brought back to what the rule generates without its content in the plan: the metadata
 * difference as a patch, and, when the content differs from the source's (compared here, in
 * memory), `copyFrom` so the content is copied from the source when the patch applies.
 */
function copyOutcome(live: Json, desired: Json, source: NonNullable<ReturnType<typeof cloneSourceOfCopy>>): ReturnType<typeof patchOutcome> {
  const content = (object: Json): string[] => Object.keys(object).filter((field) => field !== "apiVersion" && field !== "kind" && field !== "metadata" && field !== "status");
  const differs = content(desired).some((field) => !jsonEqual(live[field], desired[field]));
  const withoutContent: Json = { apiVersion: desired["apiVersion"], kind: desired["kind"], metadata: desired["metadata"] };
  const sourceKey = `${text(desired["kind"])}/${source.namespace ? `${source.namespace}/` : ""}${source.name}`;
  return patchOutcome(live, reverted(live, withoutContent), [], differs ? { from: source, what: `its content differs from ${sourceKey}'s, copied again when the patch applies (values not shown)` } : undefined);
}

/**
 * The clone source of a synchronized rule, when its namespace and name hold no variable; for a
 * `cloneList` rule, one per kind it lists (no `name`: every object of the kind in the namespace
 * that the rule's `selector` selects).
 */
export interface CloneSource {
  readonly rule: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  /** A `clone` source's name; absent for `cloneList` (any object of the kind the selector selects). */
  readonly name?: string;
  /** A `cloneList` rule's label selector (matchLabels / matchExpressions); absent: every object. */
  readonly selector?: unknown;
}

/** The sources of a rule's `generate.clone` or `generate.cloneList`; [] for none, or for sources named by variables. */
export function cloneSourcesOf(rule: string, generate: Json): CloneSource[] {
  const clone = generate["clone"];
  const cloneList = generate["cloneList"];
  if (isObject(cloneList) && Array.isArray(cloneList["kinds"])) {
    const namespace = typeof cloneList["namespace"] === "string" ? cloneList["namespace"] : "";
    if (namespace === "" || namespace.includes("{{") || (cloneList["selector"] !== undefined && JSON.stringify(cloneList["selector"]).includes("{{"))) return [];
    return cloneList["kinds"].flatMap((spec): CloneSource[] => {
      if (typeof spec !== "string" || spec === "" || spec.includes("{{")) return [];
      const slash = spec.lastIndexOf("/");
      const apiVersion = slash >= 0 ? spec.slice(0, slash) : "v1";
      const kind = slash >= 0 ? spec.slice(slash + 1) : spec;
      return [{ rule, apiVersion, kind, namespace, ...(cloneList["selector"] === undefined ? {} : { selector: cloneList["selector"] }) }];
    });
  }
  const kind = generate["kind"];
  const apiVersion = generate["apiVersion"] ?? "v1";
  if (!isObject(clone) || typeof kind !== "string" || typeof apiVersion !== "string") return [];
  const namespace = typeof clone["namespace"] === "string" ? clone["namespace"] : "";
  const name = clone["name"];
  if (typeof name !== "string" || name === "" || `${apiVersion}${kind}${namespace}${name}`.includes("{{")) return [];
  return [{ rule, apiVersion, kind, namespace, name }];
}

/** What a clone source change is: the sources it is one of, how it changed, and the changed object's name. */
export interface CloneSourceChange {
  readonly sources: readonly CloneSource[];
  readonly change: "modified" | "deleted";
  readonly name: string;
}

/** The clone sources an admitted request changes (an update of one, or its deletion), and how; undefined when it is none of them. */
export function cloneSourceChange(sources: readonly CloneSource[], input: AdmissionInput): CloneSourceChange | undefined {
  const change = input.operation === "UPDATE" && input.object !== null ? "modified" : input.operation === "DELETE" && input.object === null && input.oldObject !== null ? "deleted" : undefined;
  if (change === undefined) return undefined;
  const object = (input.object ?? input.oldObject) as Json;
  const meta = metadataOf(object);
  const name = text(meta["name"]);
  // A cloneList source is selected by its labels before or after the change.
  const labelSets = [stringMap(meta["labels"]), ...(input.oldObject ? [stringMap(metadataOf(input.oldObject)["labels"])] : [])];
  const changed = sources.filter((s) => s.kind === object["kind"] && s.apiVersion === text(object["apiVersion"]) && s.namespace === text(meta["namespace"])
    && (s.name !== undefined ? s.name === name : s.selector === undefined || labelSets.some((labels) => selectorMatches(s.selector, labels))));
  return changed.length === 0 ? undefined : { sources: changed, change, name };
}

/**
 * `synchronize` when a clone source changes (Kyverno's "Modify Source: downstream synced",
 * "Delete Source: downstream deleted"): the objects cloned from it, listed by this policy's and
 * rule's labels (`namespace` "": cluster-wide), are each reverted to a fresh copy of the source
 * (revertDownstream: a kubernetes.patch, tested against its resourceVersion), or deleted with
 * their uid as precondition. `result` makes the rule's result a deletion finding is made of.
 */
export function syncClones<R extends RuleResult>(
  changed: CloneSourceChange,
  policy: string,
  namespace: string,
  sync: Omit<DownstreamSync<R>, "origin">,
  result: (rule: string) => R,
): Finding[] {
  const findings: Finding[] = [];
  for (const source of changed.sources) {
    const selector = { matchLabels: { "generate.kyverno.io/policy-name": policy, "generate.kyverno.io/rule-name": source.rule } };
    const listed = listObjects(sync.resolver, "downstream", resourcePath(source.apiVersion, resourceForKind(source.kind), namespace), selector, { apiVersion: source.apiVersion, kind: source.kind });
    const key = `${source.kind}/${source.namespace !== "" ? `${source.namespace}/` : ""}${changed.name}`;
    if ("problem" in listed) {
      findings.push({ ...sync.note("error", `${source.rule}: the clone source ${key} was ${changed.change} and the rule synchronizes, but the objects cloned from it cannot be listed: ${listed.problem}`), resource: key });
      continue;
    }
    // A cloneList rule copies several sources: only the copies whose source labels name this one.
    const copies = source.name !== undefined ? listed.items : listed.items.filter((item) => {
      const labels = stringMap(metadataOf(item)["labels"]);
      return labels["generate.kyverno.io/source-name"] === changed.name && labels["generate.kyverno.io/source-namespace"] === source.namespace && labels["generate.kyverno.io/source-kind"] === source.kind;
    });
    for (const item of copies) {
      if (changed.change === "deleted") {
        findings.push(...synchronizedDeletions([item], policy, {}, result(source.rule), (r) => sync.toFinding(r, sync.input), sync.includePasses, sync.resolver, `its clone source ${key} was deleted`));
        continue;
      }
      const origin = downstreamOrigin(item);
      if (origin === undefined) continue;
      findings.push(...revertDownstream({ ...sync, origin, input: { ...sync.input, operation: "UPDATE", object: item, oldObject: item } }).map((f) =>
        f.effect === "violation" ? { ...f, message: f.message.replace(": it was modified, and the rule synchronizes it", `: its clone source ${key} was modified, and the rule synchronizes it`) } : f));
    }
  }
  return findings;
}
