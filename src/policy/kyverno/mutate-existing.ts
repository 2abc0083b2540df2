/**
 * Kyverno mutate rules with `mutate.targets` ("mutate existing resources"): an admission request
 * (the trigger) that the rule selects changes other objects of the cluster, the targets.
 *
 * For each target entry (Kyverno's order): `apiVersion`, `kind`, `namespace` and `name` with the
 * trigger's `{{ }}` variables substituted; no name: every object of the kind (in the namespace
 * when one is given). Each target object is read from the cluster through the context resolver
 * (a live GET or LIST of its API path, fetched by the pipeline's lookup rounds), then the entry's
 * own `context` and `preconditions` with `target` set, then the rule's patch
 * (patchStrategicMerge or patchesJson6902) with `request` the trigger, `target` the target and
 * `{{ @ }}` the target's value at the same place. The outcome per target is the RFC 6902 patch
 * from the object read to the object patched: what the agent's `kubernetes.patch` applies
 * (with a resourceVersion test), through the guardrails. Nothing is written here.
 */
import type { Finding, TraceStep } from "../../core/finding.js";
import { resourceForKind } from "../vap/match-constraints.js";
import { loadContextEntries, UnresolvedContext, type Doc, type ExternalContextResolver } from "./context.js";
import { diffJsonPatch, type JsonPatchOperation } from "./json-patch.js";
import { isClusterScopedKind } from "./kinds.js";
import { applyPatches } from "./mutate.js";
import { extendableCopy } from "./objects.js";
import { metadataOf } from "./request.js";
import type { RuleResult } from "./results.js";
import type { RuleEnv } from "./rule-env.js";
import { evaluateConditions } from "./validate.js";
import { substituteAll } from "./variables.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The keys a `mutate.targets` entry may have. */
export const targetKeys = new Set(["apiVersion", "kind", "name", "namespace", "uid", "context", "preconditions"]);

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
}

function keyOf(kind: string, namespace: string | undefined, name: string): string {
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}

/** The API path of a kind's objects (or one of them). Plurals follow Kubernetes' naming of built-in kinds. */
function pathOf(apiVersion: string, kind: string, namespace: string | undefined, name: string | undefined): string {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ""}/${resourceForKind(kind)}${name ? `/${name}` : ""}`;
}

/**
 * `{{ @ }}` in a patchStrategicMerge overlay: the target's value at the same place (anchors
 * stripped from the keys). In a longer string the value is written as text; alone, it keeps its
 * type. Inside lists it stays unresolved (Kyverno resolves it per matched element; not here).
 */
function resolveAt(overlay: unknown, target: unknown): unknown {
  if (typeof overlay === "string") {
    if (!/\{\{\s*@\s*\}\}/.test(overlay)) return overlay;
    if (/^\{\{\s*@\s*\}\}$/.test(overlay.trim())) return target ?? null;
    const text = target === undefined || target === null ? "" : typeof target === "string" ? target : JSON.stringify(target);
    return overlay.replace(/\{\{\s*@\s*\}\}/g, text);
  }
  if (!isObject(overlay)) return overlay;
  const out: Json = {};
  for (const [key, value] of Object.entries(overlay)) {
    const plain = key.replace(/^[+<=^X]?\((.*)\)$/, "$1");
    out[key] = resolveAt(value, isObject(target) ? target[plain] : undefined);
  }
  return out;
}

/**
 * The targets of a rule for a trigger: `doc` is the rule's variable document (the trigger's
 * `request`, context entries loaded). Never throws.
 */
export function mutateTargets(mutate: Json, doc: Doc, env: RuleEnv): TargetOutcome[] {
  const out: TargetOutcome[] = [];
  const entries = Array.isArray(mutate["targets"]) ? mutate["targets"] : [];
  entries.forEach((raw, index) => {
    const entry = isObject(raw) ? raw : {};
    const field = `mutate.targets[${index}]`;
    const spec = substituteAll({ apiVersion: entry["apiVersion"], kind: entry["kind"], name: entry["name"] ?? "", namespace: entry["namespace"] ?? "" }, doc, { deleteRequest: env.deleteRequest, missing: "empty" });
    if (!spec.ok || !isObject(spec.value)) {
      out.push({ status: "error", target: field, message: `${field}: variable substitution failed: ${spec.ok ? "not an object" : spec.error}`, trace: [] });
      return;
    }
    const apiVersion = String(spec.value["apiVersion"] ?? "");
    const kind = String(spec.value["kind"] ?? "");
    const name = String(spec.value["name"] ?? "");
    // A named target of a namespaced kind without a namespace is in the trigger's namespace.
    const requestNamespace = isObject(doc["request"]) && typeof doc["request"]["namespace"] === "string" ? doc["request"]["namespace"] : "";
    const namespace = String(spec.value["namespace"] ?? "") || (name !== "" && !isClusterScopedKind(kind) ? requestNamespace : "");
    if (apiVersion === "" || kind === "") {
      out.push({ status: "error", target: field, message: `${field}: apiVersion and kind are required`, trace: [] });
      return;
    }
    const resolver = env.resolver;
    const path = pathOf(apiVersion, kind, namespace || undefined, name || undefined);
    const answer = resolver?.({ kind: "apiCall", name: "target", spec: { urlPath: path } });
    if (answer instanceof UnresolvedContext) {
      // The named target does not exist: nothing to mutate (Kyverno skips it too).
      if (name !== "" && /\b404\b|not found/i.test(answer.reason)) out.push({ status: "skip", target: keyOf(kind, namespace || undefined, name), message: `target ${keyOf(kind, namespace || undefined, name)} does not exist`, trace: [] });
      else out.push({ status: "error", target: keyOf(kind, namespace || undefined, name || "*"), message: `${field}: ${answer.reason}`, trace: [] });
      return;
    }
    if (answer === undefined || answer === null || !isObject(answer)) {
      out.push({ status: "error", target: keyOf(kind, namespace || undefined, name || "*"), message: resolver === undefined ? `${field}: no cluster to read the target from (configure admission.cluster)` : `${field}: GET ${path} is not answered yet (the target is read from the cluster)`, trace: [] });
      return;
    }
    // LIST items carry no apiVersion and kind: the entry's.
    const objects: Json[] = name !== "" ? [answer] : (Array.isArray(answer["items"]) ? answer["items"].filter(isObject) : []).map((item): Json => Object.assign({ apiVersion, kind }, item));
    for (const found of objects) out.push(mutateOne(mutate, entry, found, doc, env, field));
  });
  return out;
}

function mutateOne(mutate: Json, entry: Json, target: Json, doc: Doc, env: RuleEnv, field: string): TargetOutcome {
  const meta = metadataOf(target);
  const kind = String(target["kind"] ?? "");
  const namespace = typeof meta["namespace"] === "string" && meta["namespace"] !== "" ? meta["namespace"] : undefined;
  const name = String(meta["name"] ?? "");
  const key = keyOf(kind, namespace, name);
  // The target's labels travel with the patch (RemediationRef.targetLabels): the executor's
  // protection guardrail (act.protected) judges the target object, not the trigger.
  const labels = isObject(meta["labels"]) ? Object.fromEntries(Object.entries(meta["labels"]).filter(([, v]) => typeof v === "string")) as Record<string, string> : {};
  const targetDoc: Doc = extendableCopy(doc);
  targetDoc["target"] = target;
  const context = Array.isArray(entry["context"]) ? entry["context"] : [];
  const loaded = loadContextEntries(context, targetDoc, { mocked: env.mocked, ...(env.resolver ? { resolver: env.resolver } : {}), deleteRequest: env.deleteRequest });
  if (!loaded.ok) return { status: "error", target: key, message: `${field}.context: ${loaded.error}`, trace: [] };
  const pre = evaluateConditions(entry["preconditions"], targetDoc, env, "empty");
  if (!pre.ok) return { status: "error", target: key, message: `${field}.preconditions: ${pre.error ?? ""}`, trace: pre.trace };
  if (!pre.value) return { status: "skip", target: key, message: pre.message ?? "target preconditions not met", trace: [{ kind: "precondition", expr: `${field}.preconditions`, value: false, children: pre.trace }] };
  const block = mutate["patchStrategicMerge"] !== undefined ? { patchStrategicMerge: resolveAt(mutate["patchStrategicMerge"], target) } : { patchesJson6902: mutate["patchesJson6902"] };
  const response = applyPatches(block, target, targetDoc, env);
  const trace: TraceStep[] = [{ kind: "note", expr: "target", value: key }, ...response.trace];
  if (response.status === "error") return { status: "error", target: key, message: response.message, trace };
  const patch = diffJsonPatch(target, response.patched);
  if (patch.length === 0) return { status: "unchanged", target: key, message: `target ${key} already matches the patch`, trace };
  return {
    status: "patch",
    target: key,
    message: `target ${key}: ${patch.length} change${patch.length === 1 ? "" : "s"}`,
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
          patch: target.patch, ...(target.ref.resourceVersion ? { resourceVersion: target.ref.resourceVersion } : {}),
        };
        // One action per target: the target is a CEL string literal naming the object.
        findings.push({ ...common, effect: "violation", mode: "warn", message: `${result.rule}: ${target.message}`, remediation: [{ action: "kubernetes.patch", params, target: JSON.stringify(target.target), ...(target.ref.labels ? { targetLabels: target.ref.labels } : {}) }] });
      } else if (includePasses) findings.push({ ...common, effect: target.status === "unchanged" ? "pass" : "skip", message: target.message, ...(target.status === "skip" ? { skipReason: target.message } : {}) });
    }
  }
  return findings;
}
