/**
 * Evaluation of one Kyverno `generate` block as `kyverno test` computes it: context entries,
 * then preconditions (false → `skip`), then the target (`apiVersion`, `kind`, `name`,
 * `namespace`, `{{ }}` substituted) built from `data` (substituted), from a `clone` source or
 * from the `cloneList` sources, read from the cluster resources the caller supplies (the test's
 * context resources; in the agent, clone and cloneList sources are read from the cluster). The generated objects carry Kyverno's labels
 * (`app.kubernetes.io/managed-by: kyverno`, `generate.kyverno.io/*`). `synchronize` and
 * `orphanDownstreamOnPolicyDelete` steer Kyverno's controller, not the generated object: they are
 * reported in the trace only. Nothing is written here (the agent's actions: generate-actions.ts). Never throws.
 */
import type { TraceStep } from "../../core/finding.js";
import { resourceForKind } from "../vap/match-constraints.js";
import { getObject, listObjects, objectPath, resourcePath } from "./cluster-reads.js";
import { isClusterScopedKind } from "./kinds.js";
import { loadContextEntries, type Doc } from "./context.js";
import { evaluateForeachList } from "./mutate.js";
import { elementDocument, extendableCopy } from "./objects.js";
import { selectorMatches } from "./match.js";
import { gvkOf, metadataOf, stringMap } from "./request.js";
import type { RuleEnv } from "./rule-env.js";
import { evaluateConditions, preconditionsNotMet } from "./validate.js";
import { substituteAll } from "./variables.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** One generate rule's outcome: Kyverno's status and message, and the objects it generated. */
export interface GenerateResponse {
  /** `pass`: generated (resources non-empty unless every clone source was the target itself); `skip`: preconditions false (or, with foreach, no element generated anything). */
  readonly status: "pass" | "skip" | "error" | "unsupported";
  readonly message: string;
  readonly trace: readonly TraceStep[];
  readonly resources: readonly Json[];
}

/** Who generated an object: Kyverno's `generate.kyverno.io/*` labels are built from it. */
export interface GenerateOrigin {
  readonly policy: string;
  /** The policy's namespace (a namespaced Policy); "" for a ClusterPolicy. */
  readonly policyNamespace: string;
  readonly rule: string;
  readonly trigger: Json;
}

function respond(status: GenerateResponse["status"], message: string, trace: readonly TraceStep[] = [], resources: readonly Json[] = []): GenerateResponse {
  return { status, message, trace, resources };
}

/** Kyverno's ManageLabels: managed-by (unless the object names another manager), policy and trigger labels. */
export function generateLabels(object: Json, origin: GenerateOrigin): Json {
  const meta = metadataOf(object);
  const labels: Record<string, string> = { ...stringMap(meta["labels"]) };
  labels["app.kubernetes.io/managed-by"] ??= "kyverno";
  const triggerMeta = metadataOf(origin.trigger);
  const gvk = gvkOf(origin.trigger);
  labels["generate.kyverno.io/policy-name"] = origin.policy;
  labels["generate.kyverno.io/policy-namespace"] = origin.policyNamespace;
  if (origin.rule !== "") labels["generate.kyverno.io/rule-name"] = origin.rule;
  labels["generate.kyverno.io/trigger-group"] = gvk.group;
  labels["generate.kyverno.io/trigger-version"] = gvk.version;
  labels["generate.kyverno.io/trigger-kind"] = gvk.kind;
  // A cluster-scoped trigger has no namespace, whatever its review's request carried.
  labels["generate.kyverno.io/trigger-namespace"] = typeof triggerMeta["namespace"] === "string" && !isClusterScopedKind(gvk.kind) ? triggerMeta["namespace"] : "";
  if (typeof triggerMeta["uid"] === "string") labels["generate.kyverno.io/trigger-uid"] = triggerMeta["uid"];
  return { ...object, metadata: { ...meta, labels } };
}

/** The object Kyverno creates: the content, then the target's name, namespace, kind (when the content has none) and apiVersion. */
function buildTarget(content: Json, target: Target, origin: GenerateOrigin): Json {
  const meta: Json = { ...metadataOf(content) };
  if (target.name === "") delete meta["name"];
  else meta["name"] = target.name;
  if (target.namespace === "") delete meta["namespace"];
  else meta["namespace"] = target.namespace;
  const out: Json = { ...content, metadata: meta };
  if (typeof out["kind"] !== "string" || out["kind"] === "") out["kind"] = target.kind;
  if (target.apiVersion === "") delete out["apiVersion"];
  else out["apiVersion"] = target.apiVersion;
  return generateLabels(out, origin);
}

interface Target {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

function text(value: unknown): string {
  return value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value);
}

/** A valid Kubernetes label value (at most 63 characters, alphanumeric at both ends). */
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * Kyverno's source labels of a clone (`generate.kyverno.io/source-group`, `-version`, `-kind`,
 * `-namespace`, `-uid`), and `source-name` when the name is a valid label value: which object it
 * was copied from, so that a change of the source can find its copies, and a copy can be made
 * again from the source (a Secret's data then never enters the action record).
 */
export function cloneSourceLabels(source: Json): Record<string, string> {
  const meta = metadataOf(source);
  const gvk = gvkOf(source);
  const labels: Record<string, string> = {
    "generate.kyverno.io/source-group": gvk.group,
    "generate.kyverno.io/source-version": gvk.version,
    "generate.kyverno.io/source-kind": gvk.kind,
    "generate.kyverno.io/source-namespace": text(meta["namespace"]),
  };
  if (typeof meta["uid"] === "string" && LABEL_VALUE.test(meta["uid"])) labels["generate.kyverno.io/source-uid"] = meta["uid"];
  if (typeof meta["name"] === "string" && LABEL_VALUE.test(meta["name"])) labels["generate.kyverno.io/source-name"] = meta["name"];
  return labels;
}

/** A clone source as Kyverno copies it: no uid, resourceVersion, creationTimestamp, managedFields, selfLink; no ownerReferences across namespaces; the clone-source and source labels. */
function cloneCopy(source: Json, targetNamespace: string): Json {
  const copy = structuredClone(source);
  const meta: Json = { ...metadataOf(copy) };
  for (const key of ["uid", "resourceVersion", "creationTimestamp", "managedFields", "selfLink"]) delete meta[key];
  if (meta["namespace"] !== targetNamespace) delete meta["ownerReferences"];
  meta["labels"] = { ...stringMap(meta["labels"]), "generate.kyverno.io/clone-source": "", ...cloneSourceLabels(source) };
  return { ...copy, metadata: meta };
}

function sameObject(o: Json, apiVersion: string, kind: string, namespace: string, name: string): boolean {
  const meta = metadataOf(o);
  return (apiVersion === "" || o["apiVersion"] === apiVersion) && o["kind"] === kind && String(meta["namespace"] ?? "") === namespace && meta["name"] === name;
}

const noClusterResources = "no cluster resources are available to read the clone source from (give them in the test's context file, spec.resources)";

/** Evaluates one generate block: context, preconditions, then data, clone or cloneList. */
export function generateBlock(generate: Json, doc: Doc, env: RuleEnv, context: readonly unknown[], preconditions: unknown, origin: GenerateOrigin, clusterResources: readonly Json[] | undefined): GenerateResponse {
  const loaded = loadContextEntries(context, doc, { mocked: env.mocked, ...(env.resolver ? { resolver: env.resolver } : {}), deleteRequest: env.deleteRequest });
  if (!loaded.ok) return respond("error", `failed to load context: ${loaded.error}`, [{ kind: "note", expr: "context", error: loaded.error }]);
  const pre = evaluateConditions(preconditions, doc, env, "empty");
  if (!pre.ok) return respond("error", `failed to evaluate preconditions: ${pre.error ?? ""}`, pre.trace);
  if (!pre.value) return respond("skip", preconditionsNotMet(pre), [{ kind: "precondition", expr: "preconditions", value: false, children: pre.trace }]);
  const trace: TraceStep[] = [];
  for (const key of ["synchronize", "orphanDownstreamOnPolicyDelete", "generateExisting"]) {
    // Controller behaviour (keeping the object in sync, deleting it with the policy): reported, not evaluated.
    if (generate[key] !== undefined) trace.push({ kind: "note", expr: `generate.${key}`, value: generate[key] });
  }
  if (generate["foreach"] !== undefined) return generateForeach(generate["foreach"], doc, env, origin, clusterResources, trace);
  return generatePattern(generate, doc, env, origin, clusterResources, trace);
}

/**
 * `generate.foreach` (Kyverno 1.13): each entry's `list` (JMESPath) in turn; for each element
 * (`element`, `elementIndex`), the entry's context and preconditions, then its pattern (`data`,
 * `clone` or `cloneList` with the target fields). `pass` with every element's objects; `skip`
 * when no element generated anything; the first element that fails makes the rule an `error`.
 */
function generateForeach(entries: unknown, doc: Doc, env: RuleEnv, origin: GenerateOrigin, clusterResources: readonly Json[] | undefined, trace: TraceStep[]): GenerateResponse {
  if (!Array.isArray(entries)) return respond("error", "generate.foreach must be a list of entries (list, context, preconditions, and the resource to generate)", trace);
  const resources: Json[] = [];
  let applied = 0;
  for (let e = 0; e < entries.length; e++) {
    const entry: unknown = entries[e];
    if (!isObject(entry)) return respond("error", `generate.foreach[${e}] must be an object`, trace);
    const elements = evaluateForeachList(entry["list"], doc, env);
    if (!elements.ok) return respond("error", `failed to evaluate list ${String(entry["list"])}: ${elements.error}`, trace);
    const context = Array.isArray(entry["context"]) ? entry["context"] : [];
    const steps: TraceStep[] = [];
    for (let index = 0; index < elements.value.length; index++) {
      const element = elements.value[index];
      if (element === null || element === undefined) continue;
      const elementDoc: Doc = elementDocument(doc, element, index, env.nesting);
      const childEnv = extendableCopy(env);
      childEnv.nesting = env.nesting + 1;
      const loaded = loadContextEntries(context, elementDoc, { mocked: env.mocked, ...(env.resolver ? { resolver: env.resolver } : {}), deleteRequest: env.deleteRequest });
      if (!loaded.ok) return respond("error", `failed to load generate.foreach[${e}].context for element ${index}: ${loaded.error}`, [...trace, ...steps]);
      const pre = evaluateConditions(entry["preconditions"], elementDoc, childEnv, "empty");
      if (!pre.ok) return respond("error", `failed to evaluate generate.foreach[${e}].preconditions for element ${index}: ${pre.error ?? ""}`, [...trace, ...steps, ...pre.trace]);
      if (!pre.value) {
        steps.push({ kind: "precondition", expr: `element ${index}`, value: false, children: pre.trace });
        continue;
      }
      const r = generatePattern(entry, elementDoc, childEnv, origin, clusterResources, []);
      steps.push({ kind: "condition", expr: `element ${index}`, value: r.status, children: [...r.trace, { kind: "note", expr: r.message }] });
      if (r.status === "error") return respond("error", `generate.foreach[${e}], element ${index}: ${r.message}`, [...trace, ...steps]);
      if (r.status === "pass") {
        applied++;
        resources.push(...r.resources);
      }
    }
    trace.push({ kind: "condition", expr: `foreach[${String(entry["list"])}]`, value: elements.value.length, children: steps });
  }
  if (applied === 0) return respond("skip", "0 elements processed", trace);
  return respond("pass", `${applied} elements processed, generated ${resources.length} resource(s)`, trace, resources);
}

/** One generate pattern (the rule's, or a foreach entry's for one element): data, clone or cloneList with the target fields. */
function generatePattern(generate: Json, doc: Doc, env: RuleEnv, origin: GenerateOrigin, clusterResources: readonly Json[] | undefined, trace: TraceStep[]): GenerateResponse {
  const specFields = { apiVersion: generate["apiVersion"], kind: generate["kind"], name: generate["name"], namespace: generate["namespace"] };
  const sub = substituteAll(specFields, doc, { deleteRequest: env.deleteRequest });
  if (!sub.ok) return respond("error", `variable substitution failed: ${sub.error}`, [...trace, { kind: "note", expr: "generate", error: sub.error }]);
  const fields = sub.value as Json;
  const target: Target = { apiVersion: text(fields["apiVersion"]), kind: text(fields["kind"]), name: text(fields["name"]), namespace: text(fields["namespace"]) };
  const clone = isObject(generate["clone"]) && Object.keys(generate["clone"]).length > 0 ? generate["clone"] : undefined;
  const cloneList = isObject(generate["cloneList"]) && Array.isArray(generate["cloneList"]["kinds"]) && generate["cloneList"]["kinds"].length > 0 ? generate["cloneList"] : undefined;

  if (cloneList) {
    const subList = substituteAll(cloneList, doc, { deleteRequest: env.deleteRequest });
    if (!subList.ok) return respond("error", `variable substitution failed: ${subList.error}`, trace);
    const list = subList.value as Json;
    if (!clusterResources && !env.resolver) return respond("error", `generate.cloneList: ${noClusterResources}`, trace);
    const sourceNamespace = text(list["namespace"]);
    const resources: Json[] = [];
    for (const spec of (list["kinds"] as unknown[]).map(text)) {
      const slash = spec.lastIndexOf("/");
      const apiVersion = slash >= 0 ? spec.slice(0, slash) : "";
      const kind = slash >= 0 ? spec.slice(slash + 1) : spec;
      let sources: readonly Json[];
      if (clusterResources) sources = clusterResources;
      else {
        // The agent (a generate trigger): the sources are LISTed from the cluster, in the source namespace.
        const read = listObjects(env.resolver, "cloneList", resourcePath(apiVersion || "v1", resourceForKind(kind), sourceNamespace), list["selector"], { apiVersion: apiVersion || "v1", kind });
        if ("problem" in read) return respond("error", `generate.cloneList: ${read.problem}`, trace);
        sources = read.items;
      }
      for (const source of sources) {
        const meta = metadataOf(source);
        if ((apiVersion !== "" && source["apiVersion"] !== apiVersion) || source["kind"] !== kind || String(meta["namespace"] ?? "") !== sourceNamespace) continue;
        if (list["selector"] !== undefined && !selectorMatches(list["selector"], stringMap(meta["labels"]))) continue;
        // Kyverno skips a source that lives in the target namespace (a self-clone).
        if (sourceNamespace === target.namespace) continue;
        const name = text(meta["name"]);
        resources.push(buildTarget(cloneCopy(source, target.namespace), { apiVersion: text(source["apiVersion"]), kind, name, namespace: target.namespace }, origin));
      }
    }
    return respond("pass", `generated ${resources.length} resource(s) from cloneList`, trace, resources);
  }

  if (target.kind === "") return respond("error", "generate.kind is empty: name the kind of the resource to generate", trace);
  if (clone) {
    const subClone = substituteAll(clone, doc, { deleteRequest: env.deleteRequest });
    if (!subClone.ok) return respond("error", `variable substitution failed: ${subClone.error}`, trace);
    const c = subClone.value as Json;
    const sourceNamespace = text(c["namespace"]);
    const sourceName = text(c["name"]);
    if (sourceNamespace === target.namespace && sourceName === target.name) return respond("skip", "skip resource self-clone", trace);
    let source: Json | undefined;
    if (clusterResources) source = clusterResources.find((o) => sameObject(o, target.apiVersion, target.kind, sourceNamespace, sourceName));
    else if (env.resolver) {
      // The agent (a generate trigger): the source is read from the cluster, as Kyverno's background controller reads it.
      const read = getObject(env.resolver, "clone", objectPath(target.apiVersion, target.kind, sourceNamespace, sourceName), target);
      if ("problem" in read) return respond("error", `generate.clone: ${read.problem}`, trace);
      source = "object" in read ? read.object : undefined;
    } else return respond("error", `generate.clone: ${noClusterResources}`, trace);
    if (!source) return respond("error", `generate.clone: source resource ${target.apiVersion}/${target.kind} ${sourceNamespace}/${sourceName} not found in the cluster resources`, trace);
    const resource = buildTarget(cloneCopy(source, target.namespace), target, origin);
    return respond("pass", createdMessage(resource), trace, [resource]);
  }

  const data = generate["data"];
  if (data === undefined || data === null) return respond("error", "generate needs data, clone or cloneList: add one of them", trace);
  const subData = substituteAll(data, doc, { deleteRequest: env.deleteRequest });
  if (!subData.ok) return respond("error", `variable substitution failed: ${subData.error}`, [...trace, { kind: "note", expr: "generate.data", error: subData.error }]);
  if (!isObject(subData.value)) return respond("error", "generate.data must be an object (the resource's content)", trace);
  const resource = buildTarget(structuredClone(subData.value), target, origin);
  return respond("pass", createdMessage(resource), trace, [resource]);
}

function createdMessage(resource: Json): string {
  const meta = metadataOf(resource);
  const ns = typeof meta["namespace"] === "string" && meta["namespace"] !== "" ? `${meta["namespace"]}/` : "";
  return `generated ${String(resource["kind"] ?? "")} ${ns}${String(meta["name"] ?? "")}`;
}
