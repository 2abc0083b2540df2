/**
 * Kyverno `patchStrategicMerge`: the anchors are resolved against the resource first
 * (conditional `(k)`, global `<(k)`, add-if-not-present `+(k)`, conditions inside lists of maps),
 * then the remaining overlay is merged into the resource the way kustomize's strategic merge
 * (kyaml merge2, which Kyverno uses) does it: maps merge key by key, `null` deletes, Kubernetes
 * lists with a patch merge key merge element by element (overlay elements first, then the
 * resource's other elements), primitive merge lists (finalizers) are unioned, every other list
 * is replaced. Custom resources have no schema: their lists are replaced.
 *
 * Strategic-merge directives, as kyaml reads them: `$patch: delete` in a map removes that map
 * (a list element with its merge key removes the matching element), `$patch: replace` replaces
 * the resource's map with the patch's, `$patch: merge` is the default; a list element that is
 * only `{$patch: replace|delete|merge}` applies to the whole list. The directive never reaches
 * the result (kyaml leaves a list directive in a list without a merge key; Vigil drops it there
 * too). Other directives (`$retainKeys`, `$setElementOrder/...`, `$deleteFromPrimitiveList/...`)
 * are not read by kyaml and are refused when the policy loads (support.ts).
 *
 * INVARIANT: inputs are never modified; the overlay is deep-copied before preprocessing.
 */
import { matchPattern, parseKey, type AnchorKind } from "./pattern.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * A failing anchor, thrown to unwind the preprocessing and caught in this module. Not an Error:
 * anchors fail on most resources (that is how a patch selects its targets), and an Error captures
 * a stack trace at construction, which was 10% of a mutating review's CPU.
 */
class AnchorFailure {
  constructor(readonly message: string) {}
  toString(): string {
    return this.message;
  }
}
/** A failing conditional anchor: the list element (or the whole overlay at the top) does not apply. */
class ConditionError extends AnchorFailure {}
/** A failing global anchor: the whole overlay does not apply. */
class GlobalConditionError extends AnchorFailure {}

export type MergeOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

const conditionAnchors: ReadonlySet<AnchorKind> = new Set(["condition", "equality", "existence", "negation", "global"]);

function anchorOf(key: string): AnchorKind | undefined {
  return parseKey(key).anchor;
}

/** Kyverno's ContainsCondition: every anchor except add-if-not-present. */
function isConditionAnchor(key: string): boolean {
  const a = anchorOf(key);
  return a !== undefined && conditionAnchors.has(a);
}

function isAnyAnchor(key: string): boolean {
  return anchorOf(key) !== undefined;
}

/** True when a node holds an anchored key anywhere (a scalar: an anchored string). */
function hasAnchors(node: unknown, test: (key: string) => boolean): boolean {
  if (isObject(node)) {
    for (const [k, v] of Object.entries(node)) if (test(k) || hasAnchors(v, test)) return true;
    return false;
  }
  if (Array.isArray(node)) return node.some((e) => hasAnchors(e, test));
  return typeof node === "string" && isConditionAnchor(node);
}

/** Rebuilds an object with one key renamed, keeping the key order. */
function renameKey(node: Json, from: string, to: string): void {
  const entries = Object.entries(node);
  for (const k of Object.keys(node)) delete node[k];
  for (const [k, v] of entries) node[k === from ? to : k] = v;
}

/** `+(k)`: dropped from the overlay when the resource has `k`, else becomes `k`. Returns how many there were. */
function handleAddIfNotPresent(pattern: unknown, resource: unknown): number {
  if (!isObject(pattern)) return 0;
  let count = 0;
  for (const raw of Object.keys(pattern)) {
    const parsed = parseKey(raw);
    if (parsed.anchor !== "add") continue;
    count++;
    if (isObject(resource) && Object.prototype.hasOwnProperty.call(resource, parsed.key)) delete pattern[raw];
    else renameKey(pattern, raw, parsed.key);
  }
  return count;
}

function checkAnchors(pattern: Json, resource: unknown, kinds: ReadonlySet<AnchorKind>): string | undefined {
  for (const raw of Object.keys(pattern)) {
    const parsed = parseKey(raw);
    if (parsed.anchor === undefined || !kinds.has(parsed.anchor)) continue;
    if (!isObject(resource) || !Object.prototype.hasOwnProperty.call(resource, parsed.key)) return `could not find "${parsed.key}" key in the resource`;
    const patternValue = pattern[raw];
    const resourceValue = resource[parsed.key];
    if (handleAddIfNotPresent(patternValue, resourceValue) > 0) continue;
    const result = matchPattern(resourceValue, patternValue);
    if (result.outcome !== "pass") return result.failure?.message ?? `condition ${raw} not met`;
  }
  return undefined;
}

const globalKinds: ReadonlySet<AnchorKind> = new Set(["global"]);
const conditionKinds: ReadonlySet<AnchorKind> = new Set(["condition", "equality", "existence", "negation"]);

function validateConditions(pattern: Json, resource: unknown): void {
  const global = checkAnchors(pattern, resource, globalKinds);
  if (global !== undefined) throw new GlobalConditionError(`global condition failed: ${global}`);
  const condition = checkAnchors(pattern, resource, conditionKinds);
  if (condition !== undefined) throw new ConditionError(`condition failed: ${condition}`);
}

function preprocess(pattern: unknown, resource: unknown): void {
  if (isObject(pattern)) walkMap(pattern, resource);
  else if (Array.isArray(pattern) && pattern.length > 0 && isObject(pattern[0])) processListOfMaps(pattern, resource);
}

function walkMap(pattern: Json, resource: unknown): void {
  handleAddIfNotPresent(pattern, resource);
  validateConditions(pattern, resource);
  for (const key of Object.keys(pattern)) {
    if (isAnyAnchor(key)) continue;
    preprocess(pattern[key], isObject(resource) ? resource[key] : undefined);
  }
}

/**
 * A list of maps whose elements carry anchors: each anchored element is checked against every
 * resource element; for each one it applies to, a copy without the anchors, named after the
 * resource element, is appended (that is how kyaml then finds the element to merge into).
 */
function processListOfMaps(pattern: unknown[], resource: unknown): void {
  if (resource !== undefined && resource !== null && !Array.isArray(resource)) throw new Error("the overlay has a list where the resource has no list");
  const resourceElements = Array.isArray(resource) ? resource : [];
  for (const element of pattern.slice()) {
    if (!hasAnchors(element, isAnyAnchor)) continue;
    const hasGlobal = hasAnchors(element, (k) => anchorOf(k) === "global");
    let anyGlobalPassed = false;
    let lastGlobalError: GlobalConditionError | undefined;
    // INVARIANT: one copy for every resource element, as Kyverno does (add anchors resolved against the first element stay resolved).
    const copy = structuredClone(element);
    for (const resourceElement of resourceElements) {
      try {
        preprocess(copy, resourceElement);
      } catch (error) {
        if (error instanceof ConditionError) continue;
        if (error instanceof GlobalConditionError) {
          lastGlobalError = error;
          continue;
        }
        throw error;
      }
      if (hasGlobal) anyGlobalPassed = true;
      else appendNamedCopy(pattern, copy, resourceElement);
    }
    if (resource === undefined || resource === null) {
      try {
        preprocess(copy, undefined);
      } catch (error) {
        if (error instanceof ConditionError) continue;
        throw error;
      }
      if (hasGlobal) anyGlobalPassed = true;
    }
    if (!anyGlobalPassed && lastGlobalError) throw lastGlobalError;
  }
}

function appendNamedCopy(pattern: unknown[], element: unknown, resourceElement: unknown): void {
  if (!isObject(resourceElement)) return;
  const name = resourceElement["name"];
  if (name === undefined || name === null || name === "") return;
  const copy = structuredClone(element);
  if (deleteAnchors(copy, true, false)) return;
  (copy as Json)["name"] = name;
  pattern.push(copy);
}

/** Removes the anchors from a preprocessed overlay; true when nothing but anchors was left (the node must go). */
function deleteAnchors(node: unknown, deleteScalar: boolean, traverseMaps: boolean): boolean {
  if (isObject(node)) return deleteAnchorsInMap(node, traverseMaps);
  if (Array.isArray(node)) return deleteAnchorsInList(node, traverseMaps);
  return deleteScalar;
}

function deleteAnchorsInMap(node: Json, traverseMaps: boolean): boolean {
  let anchorsExist = false;
  for (const key of Object.keys(node)) {
    if (!isConditionAnchor(key)) continue;
    if (deleteAnchors(node[key], true, traverseMaps)) delete node[key];
    else anchorsExist = true;
  }
  if (anchorsExist) for (const key of Object.keys(node)) if (isConditionAnchor(key)) renameKey(node, key, parseKey(key).key);
  let needToDelete = true;
  for (const key of Object.keys(node)) {
    if (deleteAnchors(node[key], false, traverseMaps)) delete node[key];
    else needToDelete = false;
  }
  return needToDelete;
}

function deleteAnchorsInList(node: unknown[], traverseMaps: boolean): boolean {
  const wasEmpty = node.length === 0;
  const elements = node.slice();
  // INVARIANT: indexes are those of the original list, as in Kyverno (a deletion shifts the later elements).
  elements.forEach((element, index) => {
    let remove: boolean;
    if (hasAnchors(element, isAnyAnchor)) remove = traverseMaps && isObject(element) ? deleteAnchors(element, true, traverseMaps) : true;
    else remove = deleteAnchors(element, false, traverseMaps);
    if (remove && index < node.length) node.splice(index, 1);
  });
  return node.length === 0 && !wasEmpty;
}

function deleteConditionElements(pattern: unknown): void {
  if (!isObject(pattern)) return;
  for (const key of Object.keys(pattern)) {
    if (deleteAnchors(pattern[key], isConditionAnchor(key), false)) delete pattern[key];
  }
}

/**
 * Resolves the anchors of an overlay against the resource. Returns the plain overlay to merge,
 * `{}` when a conditional or global anchor does not hold at the top, or an error.
 */
export function preprocessOverlay(overlay: unknown, resource: unknown): MergeOutcome {
  const pattern = structuredClone(overlay);
  try {
    preprocess(pattern, resource);
    deleteConditionElements(pattern);
    return { ok: true, value: pattern };
  } catch (error) {
    if (error instanceof ConditionError || error instanceof GlobalConditionError) return { ok: true, value: {} };
    return { ok: false, error: `failed to preprocess the patch: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Kubernetes list fields merged by key (x-kubernetes-patch-merge-key); `""` marks a merged primitive list. */
const mergeKeys: Readonly<Record<string, string>> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  env: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  imagePullSecrets: "name",
  hostAliases: "ip",
  topologySpreadConstraints: "topologyKey",
  resourceClaims: "name",
  schedulingGates: "name",
  ownerReferences: "uid",
  conditions: "type",
  secrets: "name",
  webhooks: "name",
  finalizers: "",
};

/** API groups whose kinds kustomize knows the schema of (other kinds are custom resources). */
const builtInGroups = new Set(["", "apps", "batch", "extensions", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "node.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "admissionregistration.k8s.io", "certificates.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io"]);

function hasSchema(resource: unknown): boolean {
  if (!isObject(resource)) return false;
  const apiVersion = typeof resource["apiVersion"] === "string" ? resource["apiVersion"] : "";
  const slash = apiVersion.indexOf("/");
  return apiVersion !== "" && builtInGroups.has(slash < 0 ? "" : apiVersion.slice(0, slash));
}

function listMergeKey(path: readonly string[], schema: boolean): string | undefined {
  if (!schema) return undefined;
  const field = path[path.length - 1] ?? "";
  if (field === "ports") return path.includes("containers") || path.includes("initContainers") || path.includes("ephemeralContainers") ? "containerPort" : "port";
  return Object.prototype.hasOwnProperty.call(mergeKeys, field) ? mergeKeys[field] : undefined;
}

function isEmptyMap(value: unknown): boolean {
  return isObject(value) && Object.keys(value).length === 0;
}

const PATCH_DIRECTIVE = "$patch";
type Directive = "merge" | "replace" | "delete";

function directiveValue(value: unknown, path: readonly string[]): Directive {
  if (value === "merge" || value === "replace" || value === "delete") return value;
  throw new Error(`unknown patch strategy ${JSON.stringify(value)} at ${[...path, PATCH_DIRECTIVE].join(".")}: use merge, replace or delete`);
}

/** The map's `$patch` directive and the map without it (the map itself when it has none). */
function mapDirective(src: Json, path: readonly string[]): { directive: Directive; rest: Json } {
  if (!Object.prototype.hasOwnProperty.call(src, PATCH_DIRECTIVE)) return { directive: "merge", rest: src };
  const { [PATCH_DIRECTIVE]: value, ...rest } = src;
  return { directive: directiveValue(value, path), rest };
}

/** A list's directive: an element that is nothing but `{$patch: ...}`; the list without it. */
function listDirective(src: readonly unknown[], path: readonly string[]): { directive: Directive; rest: readonly unknown[] } {
  const at = src.findIndex((e) => isObject(e) && Object.keys(e).length === 1 && Object.prototype.hasOwnProperty.call(e, PATCH_DIRECTIVE));
  if (at < 0) return { directive: "merge", rest: src };
  return { directive: directiveValue((src[at] as Json)[PATCH_DIRECTIVE], path), rest: src.filter((_, i) => i !== at) };
}

/** A patch value as the result holds it: directives read and dropped, `null` fields left out. */
function withoutDirectives(value: unknown, path: string[]): unknown {
  if (isObject(value)) {
    const { directive, rest } = mapDirective(value, path);
    if (directive === "delete") return undefined;
    const out: Json = {};
    for (const [key, v] of Object.entries(rest)) {
      if (v === null) continue;
      const kept = withoutDirectives(v, [...path, key]);
      if (kept !== undefined) out[key] = kept;
    }
    return out;
  }
  if (Array.isArray(value)) {
    const { directive, rest } = listDirective(value, path);
    if (directive === "delete") return undefined;
    const out: unknown[] = [];
    for (const e of rest) {
      const kept = withoutDirectives(e, path);
      if (kept !== undefined) out.push(kept);
    }
    return out;
  }
  return value;
}

function mergeNode(dest: unknown, src: unknown, path: string[], schema: boolean): unknown {
  if (src === undefined) return dest;
  if (isObject(src)) {
    const { directive, rest } = mapDirective(src, path);
    if (directive === "delete") return undefined;
    if (directive === "replace") return withoutDirectives(rest, path);
    if (dest === undefined || dest === null) return mergeNode({}, rest, path, schema);
    if (!isObject(dest)) throw new Error(`${path.join(".") || "the resource"} is not an object in the resource but the patch sets an object`);
    const out: Json = { ...dest };
    for (const key of Object.keys(rest)) {
      const value = rest[key];
      if (value === null) {
        delete out[key];
        continue;
      }
      const merged = mergeNode(dest[key], value, [...path, key], schema);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    }
    return out;
  }
  if (Array.isArray(src)) {
    if (dest !== undefined && dest !== null && !Array.isArray(dest)) throw new Error(`${path.join(".")} is not a list in the resource but the patch sets a list`);
    const { directive, rest } = listDirective(src, path);
    if (directive === "delete") return undefined;
    const key = listMergeKey(path, schema);
    if (key === undefined || directive === "replace") return withoutDirectives(rest, path);
    return mergeList(Array.isArray(dest) ? dest : [], rest, key, path, schema);
  }
  return src;
}

/** kyaml's associative list merge with ListIncreaseDirection Prepend: overlay keys first, then the resource's other elements. */
function mergeList(dest: readonly unknown[], src: readonly unknown[], key: string, path: string[], schema: boolean): unknown[] {
  if (key === "") {
    const out: unknown[] = [];
    for (const v of [...src, ...dest]) if (!out.some((o) => o === v)) out.push(v);
    return out;
  }
  const keyOf = (e: unknown): string | undefined => (isObject(e) && e[key] !== undefined && e[key] !== null ? String(e[key]) : undefined);
  const order: string[] = [];
  for (const e of [...src, ...dest]) {
    const k = keyOf(e);
    if (k !== undefined && !order.includes(k)) order.push(k);
  }
  const out: unknown[] = [];
  for (const k of order) {
    const d = dest.find((e) => keyOf(e) === k);
    const s = src.find((e) => keyOf(e) === k);
    const merged = s === undefined ? d : mergeNode(d, s, path, schema);
    if (merged === undefined || merged === null || isEmptyMap(merged)) continue;
    out.push(merged);
  }
  for (const e of dest) if (keyOf(e) === undefined) out.push(e);
  return out;
}

/** Applies a preprocessed overlay to a resource (a new object; the inputs are not modified). */
export function mergeOverlay(resource: unknown, overlay: unknown): MergeOutcome {
  try {
    const value = mergeNode(resource, overlay, [], hasSchema(resource));
    if (value === undefined) return { ok: false, error: "the patch deletes the whole resource ($patch: delete at its top); a mutation cannot delete the object under review" };
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Kyverno's patchStrategicMerge: anchors resolved against the resource, then the strategic merge. Never throws. */
export function strategicMergePatch(resource: unknown, overlay: unknown): MergeOutcome {
  const pre = preprocessOverlay(overlay, resource);
  if (!pre.ok) return pre;
  return mergeOverlay(resource, pre.value);
}
