/**
 * Kyverno mutate rules with `mutate.targets` ("mutate existing resources"): an admission request
 * (the trigger) that the rule selects changes other objects of the cluster, the targets.
 *
 * For each target entry (Kyverno's order) the objects it names are read from the cluster through
 * the context resolver (mutate-existing-targets.ts: a GET, or a LIST filtered by namespace, name
 * and label `selector`; fetched by the pipeline's lookup rounds), then the entry's own `context`
 * and `preconditions` with `target` set, then the rule's patch (patchStrategicMerge or
 * patchesJson6902) with `request` the trigger, `target` the target and `{{ @ }}` the target's
 * value at the same place, or the rule's `foreach` run on the target. The outcome per target is
 * the RFC 6902 patch from the object read to the object patched: what the agent's
 * `kubernetes.patch` applies (with a resourceVersion test), through the guardrails. Nothing is
 * written here.
 */
import type { Finding, TraceStep } from "../../core/finding.js";
import { loadContextEntries, type Doc } from "./context.js";
import { diffJsonPatch, type JsonPatchOperation } from "./json-patch.js";
import { readTargets, targetKey } from "./mutate-existing-targets.js";
import { applyPatches, mutateBlock } from "./mutate.js";
import { extendableCopy } from "./objects.js";
import { metadataOf } from "./request.js";
import type { RuleResult } from "./results.js";
import type { RuleEnv } from "./rule-env.js";
import { evaluateConditions, preconditionsNotMet } from "./validate.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The keys a `mutate.targets` entry may have. */
export const targetKeys = new Set(["apiVersion", "kind", "name", "namespace", "uid", "selector", "context", "preconditions"]);

/** What one target came to. */
export interface TargetOutcome {
  readonly status: "patch" | "unchanged" | "skip" | "error";
  /** `Kind/namespace/name` (or `Kind/name`); the entry's kind and name when no object was read. */
  readonly target: string;
  readonly message: string;
  readonly trace: readonly TraceStep[];
  /** For `patch`: where, and what. */
  readonly ref?: { readonly apiVersion: string; readonly kind: string; readonly namespace?: string; readonly name: string; readonly resourceVersion?: string; readonly uid?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly patch?: readonly JsonPatchOperation[];
  /**
   * For `patch`: the content is also brought back to a copy of this object when the patch applies
   * (kubernetes.patch `copyFrom`: a synchronized copy of a Secret, whose data stays out of the plan).
   */
  readonly copyFrom?: { readonly namespace?: string; readonly name: string; readonly uid?: string };
}

const atVariable = /\{\{\s*@\s*\}\}/g;

/** A JMESPath identifier for an object key: bare when it can be, else a quoted identifier (JSON string escapes). */
function jmesIdentifier(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
}

/**
 * `{{ @ }}` in a patchStrategicMerge overlay, as Kyverno substitutes it: the variable becomes
 * `target.<the overlay's path to that string>` (list positions as indexes, so inside a list it is
 * the target's element at the same position of the overlay's list, whichever element an anchor
 * selects), then resolves as any variable: alone it keeps the value's type, in a longer string it
 * is written as text, a missing value is null. Kyverno keeps anchors in the path (a key `+(x)` is
 * looked up as "+(x)", which is never there); Vigil reads the key without its anchor.
 */
function rewriteAt(overlay: unknown, path: string): unknown {
  if (typeof overlay === "string") return overlay.replace(atVariable, `{{ ${path} }}`);
  if (Array.isArray(overlay)) return overlay.map((item, i) => rewriteAt(item, `${path}[${i}]`));
  if (!isObject(overlay)) return overlay;
  const out: Json = {};
  for (const [key, value] of Object.entries(overlay)) out[key] = rewriteAt(value, `${path}.${jmesIdentifier(key.replace(/^[+<=^X]?\((.*)\)$/, "$1"))}`);
  return out;
}

/** The patch block of a rule with `{{ @ }}` bound to the target: in patchesJson6902 (a string) it is the whole target, as in Kyverno. */
function patchBlock(mutate: Json): Json {
  if (mutate["patchStrategicMerge"] !== undefined) return { patchStrategicMerge: rewriteAt(mutate["patchStrategicMerge"], "target") };
  return { patchesJson6902: typeof mutate["patchesJson6902"] === "string" ? mutate["patchesJson6902"].replace(atVariable, "{{ target }}") : mutate["patchesJson6902"] };
}

/**
 * The targets of a rule for a trigger: `doc` is the rule's variable document (the trigger's
 * `request`, context entries loaded). Never throws.
 */
/**
 * The targets of one mutate-existing rule and what the patch would do to each. `policyNamespace`
 * (a namespaced `Policy`): targets outside that namespace, and cluster-scoped ones, are never
 * patched (a namespaced policy governs its own namespace only).
 */
export function mutateTargets(mutate: Json, doc: Doc, env: RuleEnv, policyNamespace?: string): TargetOutcome[] {
  const out: TargetOutcome[] = [];
  const entries = Array.isArray(mutate["targets"]) ? mutate["targets"] : [];
  entries.forEach((raw, index) => {
    const entry = isObject(raw) ? raw : {};
    const field = `mutate.targets[${index}]`;
    const read = readTargets(entry, field, doc, env);
    if (!read.ok) {
      out.push({ status: read.status, target: read.target, message: read.message, trace: [] });
      return;
    }
    for (const found of read.objects) {
      const meta = metadataOf(found);
      const namespace = typeof meta["namespace"] === "string" ? meta["namespace"] : "";
      if (policyNamespace !== undefined && namespace !== policyNamespace) {
        const key = targetKey(String(found["kind"] ?? ""), namespace || undefined, String(meta["name"] ?? ""));
        out.push({ status: "skip", target: key, message: `target ${key} is outside the namespace ${policyNamespace} of the Policy: a namespaced Policy mutates only its own namespace`, trace: [] });
        continue;
      }
      out.push(mutateOne(mutate, entry, found, doc, env, field));
    }
  });
  return out;
}

function mutateOne(mutate: Json, entry: Json, target: Json, doc: Doc, env: RuleEnv, field: string): TargetOutcome {
  const key = keyOf(target);
  const targetDoc: Doc = extendableCopy(doc);
  targetDoc["target"] = target;
  const context = Array.isArray(entry["context"]) ? entry["context"] : [];
  const loaded = loadContextEntries(context, targetDoc, { mocked: env.mocked, ...(env.resolver ? { resolver: env.resolver } : {}), deleteRequest: env.deleteRequest });
  if (!loaded.ok) return { status: "error", target: key, message: `${field}.context: ${loaded.error}`, trace: [] };
  const pre = evaluateConditions(entry["preconditions"], targetDoc, env, "empty");
  if (!pre.ok) return { status: "error", target: key, message: `${field}.preconditions: ${pre.error ?? ""}`, trace: pre.trace };
  if (!pre.value) return { status: "skip", target: key, message: preconditionsNotMet(pre), trace: [{ kind: "precondition", expr: `${field}.preconditions`, value: false, children: pre.trace }] };
  // With a foreach, Kyverno's forEachMutator runs on the target: lists evaluated against the
  // document with `target` set, one patch per target. mutateBlock sets `request.object` to the
  // target for the whole foreach (Kyverno: the trigger until a list changed the target); a foreach
  // reading request.object with targets fails to load (support.ts), so the difference never shows.
  const response = Array.isArray(mutate["foreach"]) ? mutateBlock({ foreach: mutate["foreach"] }, target, targetDoc, env, [], undefined) : applyPatches(patchBlock(mutate), target, targetDoc, env);
  const trace: TraceStep[] = [{ kind: "note", expr: "target", value: key }, ...response.trace];
  if (response.status === "error") return { status: "error", target: key, message: response.message, trace };
  return patchOutcome(target, response.patched, trace);
}

/** `Kind/namespace/name` (or `Kind/name`) of an object read from the cluster. */
export function keyOf(target: Json): string {
  const meta = metadataOf(target);
  const namespace = typeof meta["namespace"] === "string" && meta["namespace"] !== "" ? meta["namespace"] : undefined;
  return targetKey(String(target["kind"] ?? ""), namespace, String(meta["name"] ?? ""));
}

/**
 * What mutating `target` into `patched` comes to: `unchanged`, or a `patch` with the JSON Patch and
 * where it goes (the resourceVersion read, for the patch's test; the target's labels, for the
 * executor's protection guardrail, act.protected, which judges the target object, not the trigger).
 */
export function patchOutcome(target: Json, patched: Json, trace: readonly TraceStep[], copy?: { readonly from: NonNullable<TargetOutcome["copyFrom"]>; readonly what: string }): TargetOutcome {
  const meta = metadataOf(target);
  const kind = String(target["kind"] ?? "");
  const namespace = typeof meta["namespace"] === "string" && meta["namespace"] !== "" ? meta["namespace"] : undefined;
  const name = String(meta["name"] ?? "");
  const key = targetKey(kind, namespace, name);
  const labels = isObject(meta["labels"]) ? Object.fromEntries(Object.entries(meta["labels"]).filter(([, v]) => typeof v === "string")) as Record<string, string> : {};
  const patch = diffJsonPatch(target, patched);
  if (patch.length === 0 && copy === undefined) return { status: "unchanged", target: key, message: `target ${key} already matches the patch`, trace };
  const changes = patch.length === 0 ? [] : [`${patch.length} change${patch.length === 1 ? "" : "s"}`];
  return {
    status: "patch",
    target: key,
    message: `target ${key}: ${[...changes, ...(copy === undefined ? [] : [copy.what])].join("; ")}`,
    trace,
    ref: {
      apiVersion: String(target["apiVersion"] ?? ""),
      kind,
      ...(namespace ? { namespace } : {}),
      name,
      ...(typeof meta["resourceVersion"] === "string" ? { resourceVersion: meta["resourceVersion"] } : {}),
      ...(typeof meta["uid"] === "string" ? { uid: meta["uid"] } : {}),
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
    },
    patch,
    ...(copy === undefined ? {} : { copyFrom: copy.from }),
  };
}

/**
 * Findings of a mutate-existing trigger: one violation per target to change, whose remediation
 * is a kubernetes.patch of that target (the JSON Patch, tested against the resourceVersion read);
 * errors as error findings; unchanged or skipped targets only in explain mode.
 */
export function mutateExistingFindings(outcomes: readonly { readonly result: RuleResult; readonly targets: readonly TargetOutcome[] }[], toFinding: (result: RuleResult) => Finding, includePasses: boolean): Finding[] {
  const findings: Finding[] = [];
  for (const { result, targets } of outcomes) {
    const base = toFinding(result);
    if (result.status === "error" && targets.length === 0) {
      findings.push(base);
      continue;
    }
    if (targets.length === 0) {
      if (includePasses) findings.push(base);
      continue;
    }
    for (const target of targets) {
      const common = { ...base, resource: target.target, trace: [...result.trace, ...target.trace] };
      if (target.status === "error") findings.push({ ...common, effect: "error", message: target.message, error: { code: "VIGIL_POLICY_EVAL", message: target.message } });
      else if (target.status === "patch" && target.ref && target.patch) {
        const params: Record<string, unknown> = {
          apiVersion: target.ref.apiVersion, kind: target.ref.kind, ...(target.ref.namespace ? { namespace: target.ref.namespace } : {}), name: target.ref.name,
          ...(target.patch.length > 0 || target.copyFrom === undefined ? { patch: target.patch } : {}), ...(target.copyFrom === undefined ? {} : { copyFrom: target.copyFrom }),
          ...(target.ref.resourceVersion ? { resourceVersion: target.ref.resourceVersion } : {}),
        };
        // One action per target: the target is a CEL string literal naming the object.
        findings.push({ ...common, effect: "violation", mode: "warn", message: `${result.rule}: ${target.message}`, remediation: [{ action: "kubernetes.patch", params, target: JSON.stringify(target.target), ...(target.ref.labels ? { targetLabels: target.ref.labels } : {}) }] });
      } else if (includePasses) findings.push({ ...common, effect: target.status === "unchanged" ? "pass" : "skip", message: target.message, ...(target.status === "skip" ? { skipReason: target.message } : {}) });
    }
  }
  return findings;
}
