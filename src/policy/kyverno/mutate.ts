/**
 * Evaluation of one Kyverno `mutate` block (patchStrategicMerge, patchesJson6902, foreach)
 * against the resource as previous rules left it, following Kyverno's mutation handler: context
 * entries, then preconditions (false → `skip`), then the patch with `{{ }}` variables
 * substituted. A patch that changes the resource is `pass`, one that changes nothing is `skip`
 * ("no patches applied"), one that cannot apply is `error` and changes nothing. A foreach rule is
 * `pass` when one of its lists changed the resource. Never throws.
 */
import { parse as parseYaml } from "yaml";
import type { TraceStep } from "../../core/finding.js";
import { loadContextEntries, type Doc } from "./context.js";
import { applyJsonPatch, getAtPointer, jsonEqual, parsePointer, escapePointerToken } from "./json-patch.js";
import { searchJmes } from "./jmespath.js";
import { strategicMergePatch } from "./mutate-merge.js";
import { elementDocument, extendableCopy } from "./objects.js";
import type { RuleEnv, RuleStatus } from "./rule-env.js";
import { evaluateConditions, preconditionsNotMet } from "./validate.js";
import { substituteAll } from "./variables.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** One mutate rule's outcome: Kyverno's status and message, and the resource after the rule. */
export interface MutateResponse {
  readonly status: Exclude<RuleStatus, "fail">;
  readonly message: string;
  readonly trace: readonly TraceStep[];
  /** The resource after the rule; the input resource itself when nothing changed or on error. */
  readonly patched: Json;
}

function respond(status: MutateResponse["status"], message: string, patched: Json, trace: readonly TraceStep[] = []): MutateResponse {
  return { status, message, trace, patched };
}

/** The document with `request.object` set to the resource as patched so far (Kyverno's AddResource). */
function withResource(doc: Doc, resource: Json): Doc {
  const request = isObject(doc["request"]) ? doc["request"] : {};
  if (request["object"] === resource) return doc;
  const out: Doc = extendableCopy(doc);
  out["request"] = { ...request, object: resource };
  return out;
}

/** Evaluates one mutate block: context, preconditions, then the patch or the foreach. */
export function mutateBlock(mutate: Json, resource: Json, doc: Doc, env: RuleEnv, context: readonly unknown[], preconditions: unknown): MutateResponse {
  const ruleDoc = withResource(doc, resource);
  const loaded = loadContextEntries(context, ruleDoc, { mocked: env.mocked, ...(env.resolver ? { resolver: env.resolver } : {}), deleteRequest: env.deleteRequest });
  if (!loaded.ok) return respond("error", `failed to load context: ${loaded.error}`, resource, [{ kind: "note", expr: "context", error: loaded.error }]);
  const pre = evaluateConditions(preconditions, ruleDoc, env, "empty");
  if (!pre.ok) return respond("error", `failed to evaluate preconditions: ${pre.error ?? ""}`, resource, pre.trace);
  if (!pre.value) return respond("skip", preconditionsNotMet(pre), resource, [{ kind: "precondition", expr: "preconditions", value: false, children: pre.trace }]);
  if (Array.isArray(mutate["foreach"])) return mutateForeach(mutate["foreach"], resource, ruleDoc, env);
  return applyPatches(mutate, resource, ruleDoc, env);
}

/** Substitutes the variables of a patch and applies it (patchStrategicMerge wins over patchesJson6902, as in Kyverno). */
export function applyPatches(block: Json, resource: Json, doc: Doc, env: RuleEnv): MutateResponse {
  const strategic = block["patchStrategicMerge"];
  const json6902 = block["patchesJson6902"];
  if ((strategic === undefined || strategic === null) && (typeof json6902 !== "string" || json6902 === "")) return respond("error", "empty mutate rule", resource);
  const sub = substituteAll(strategic ?? json6902, doc, { deleteRequest: env.deleteRequest, missing: "null" });
  if (!sub.ok) return respond("error", `variable substitution failed: ${sub.error}`, resource, [{ kind: "note", expr: "mutate", error: sub.error }]);
  let patched: unknown;
  if (strategic !== undefined && strategic !== null) {
    const merged = strategicMergePatch(resource, sub.value);
    if (!merged.ok) return respond("error", `failed to patch resource: ${merged.error}`, resource, [{ kind: "note", expr: "patchStrategicMerge", error: merged.error }]);
    patched = merged.value;
  } else {
    const applied = applyJson6902(resource, String(sub.value));
    if (!applied.ok) return respond("error", `failed to patch resource: ${applied.error}`, resource, [{ kind: "note", expr: "patchesJson6902", error: applied.error }]);
    patched = applied.value;
  }
  if (!isObject(patched)) return respond("error", "failed to patch resource: the patch did not produce an object", resource);
  if (jsonEqual(patched, resource)) return respond("skip", "no patches applied", resource);
  return respond("pass", "resource patched", patched);
}

/**
 * Applies patchesJson6902 (YAML or JSON text) with the options Kyverno uses: removing a missing
 * path is a no-op, `add` creates missing parents, negative array indexes count from the end.
 */
export function applyJson6902(resource: unknown, text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  let operations: unknown;
  try {
    operations = parseYaml(text);
  } catch (cause) {
    return { ok: false, error: `failed to decode patches: ${cause instanceof Error ? cause.message : String(cause)}` };
  }
  if (!Array.isArray(operations)) return { ok: false, error: "failed to decode patches: patchesJson6902 must be a list of operations" };
  let current = resource;
  try {
    for (const raw of operations) {
      if (!isObject(raw) || typeof raw["path"] !== "string") {
        current = applyJsonPatch(current, [raw]);
        continue;
      }
      if (raw["op"] === "add") {
        const prepared = prepareAdd(current, parsePointer(raw["path"]));
        current = applyJsonPatch(prepared.doc, [{ ...raw, path: prepared.pointer }]);
        continue;
      }
      const path = resolveNegativeIndexes(current, raw["path"]);
      if (raw["op"] === "remove" && getAtPointer(current, path) === undefined) continue;
      current = applyJsonPatch(current, [{ ...raw, path }]);
    }
  } catch (cause) {
    return { ok: false, error: cause instanceof Error ? cause.message : String(cause) };
  }
  return { ok: true, value: current };
}

function resolveNegativeIndexes(doc: unknown, pointer: string): string {
  if (!pointer.includes("/-")) return pointer;
  const tokens = parsePointer(pointer);
  let node: unknown = doc;
  const out: string[] = [];
  for (const token of tokens) {
    let t = token;
    if (Array.isArray(node) && /^-[0-9]+$/.test(token)) t = String(node.length + Number(token));
    out.push(t);
    node = Array.isArray(node) ? node[Number(t)] : isObject(node) ? node[t] : undefined;
  }
  return out.map((t) => `/${escapePointerToken(t)}`).join("");
}

function pointerOf(tokens: readonly string[]): string {
  return tokens.map((t) => `/${escapePointerToken(t)}`).join("");
}

const indexToken = /^(-|-?[0-9]+)$/;

/**
 * The target of an `add` with the missing parents created (evanphx/json-patch
 * EnsurePathExistsOnAdd: an array when the next token is an index, else an object; an index past
 * the end of an array appends) and negative indexes resolved (`-1` appends, as in that library).
 */
function prepareAdd(doc: unknown, tokens: readonly string[]): { doc: unknown; pointer: string } {
  let current = doc;
  const resolved: string[] = [];
  for (let i = 0; i < tokens.length - 1; i++) {
    let token = tokens[i] as string;
    const next = tokens[i + 1] as string;
    const node = getAtPointer(current, pointerOf(resolved));
    const container = indexToken.test(next) ? [] : {};
    if (Array.isArray(node)) {
      if (!indexToken.test(token)) throw new Error(`"${token}" in "${pointerOf(tokens)}" is not an array index`);
      let index = token === "-" ? node.length : Number(token);
      if (index < 0) index += node.length;
      if (index < 0 || index >= node.length) {
        current = applyJsonPatch(current, [{ op: "add", path: `${pointerOf(resolved)}/-`, value: container }]);
        index = node.length;
      }
      token = String(index);
    } else if (isObject(node)) {
      if (node[token] === undefined || node[token] === null) current = applyJsonPatch(current, [{ op: "add", path: pointerOf([...resolved, token]), value: container }]);
    } else throw new Error(`path "${pointerOf(tokens)}" does not exist (no container at "${pointerOf(resolved)}")`);
    resolved.push(token);
  }
  let last = tokens[tokens.length - 1] ?? "";
  const parent = getAtPointer(current, pointerOf(resolved));
  if (Array.isArray(parent) && /^-[0-9]+$/.test(last)) {
    const index = parent.length + 1 + Number(last);
    if (index < 0) throw new Error(`index ${last} in "${pointerOf(tokens)}" is out of range (length ${parent.length})`);
    last = String(index);
  }
  return { doc: current, pointer: tokens.length === 0 ? "" : pointerOf([...resolved, last]) };
}

/** A foreach `list` (JMESPath, optionally in `{{ }}`): its elements (a non-list value is one element; null is none). */
export function evaluateForeachList(list: unknown, doc: Doc, env: RuleEnv): { ok: true; value: unknown[] } | { ok: false; error: string } {
  if (typeof list !== "string") return { ok: false, error: "foreach.list must be a JMESPath expression" };
  let expr = list.trim();
  if (expr.startsWith("{{") && expr.endsWith("}}")) expr = expr.slice(2, -2).trim();
  if (env.deleteRequest) expr = expr.replace(/request\.object/g, "request.oldObject");
  const r = searchJmes(expr, doc);
  if (!r.ok) return r;
  if (r.value === null || r.value === undefined) return { ok: true, value: [] };
  return { ok: true, value: Array.isArray(r.value) ? r.value : [r.value] };
}

/** Kyverno's forEachMutator: each list in turn; elements in order (or reversed with `order: Descending`). */
function mutateForeach(entries: readonly unknown[], resource: Json, doc: Doc, env: RuleEnv): MutateResponse {
  let current = resource;
  let currentDoc = doc;
  let applied = 0;
  const trace: TraceStep[] = [];
  for (const entry of entries) {
    if (!isObject(entry)) continue;
    const elements = evaluateForeachList(entry["list"], currentDoc, env);
    if (!elements.ok) return respond("error", `failed to evaluate list ${String(entry["list"])}: ${elements.error}`, resource, trace);
    const r = mutateElements(entry, elements.value, current, currentDoc, env);
    trace.push({ kind: "condition", expr: `foreach[${String(entry["list"])}]`, value: r.status, children: r.trace });
    if (r.status === "error") return respond("error", `failed to mutate elements: ${r.message}`, resource, trace);
    if (r.status === "skip") continue;
    applied++;
    current = r.patched;
    currentDoc = withResource(currentDoc, current);
  }
  if (applied === 0) return respond("skip", "0 elements processed", resource, trace);
  return respond("pass", `${applied} elements processed`, current, trace);
}

/** One foreach list: `pass` when its elements changed the resource, else `skip`. Strategic-merge lists run last element first unless `order` says otherwise (Kyverno). */
function mutateElements(entry: Json, elements: readonly unknown[], resource: Json, doc: Doc, env: RuleEnv): MutateResponse {
  const reverse = entry["order"] === "Descending" || (entry["order"] === undefined && entry["patchStrategicMerge"] !== undefined && entry["patchStrategicMerge"] !== null);
  const context = Array.isArray(entry["context"]) ? entry["context"] : [];
  const nesting = env.nesting;
  const trace: TraceStep[] = [];
  let current = resource;
  for (let i = 0; i < elements.length; i++) {
    const index = reverse ? elements.length - 1 - i : i;
    const element = elements[index];
    if (element === null || element === undefined) continue;
    const elementDoc: Doc = elementDocument(doc, element, index, nesting);
    const childEnv = extendableCopy(env);
    childEnv.nesting = nesting + 1;
    const loaded = loadContextEntries(context, elementDoc, { mocked: env.mocked, ...(env.resolver ? { resolver: env.resolver } : {}), deleteRequest: env.deleteRequest });
    if (!loaded.ok) return respond("error", `failed to load to mutate.foreach[${index}].context: ${loaded.error}`, resource, trace);
    const pre = evaluateConditions(entry["preconditions"], elementDoc, childEnv, "empty");
    if (!pre.ok) return respond("error", `failed to evaluate mutate.foreach[${index}].preconditions: ${pre.error ?? ""}`, resource, trace);
    if (!pre.value) {
      trace.push({ kind: "precondition", expr: `element ${index}`, value: false, children: pre.trace });
      continue;
    }
    const r = Array.isArray(entry["foreach"]) ? mutateForeach(entry["foreach"], current, elementDoc, childEnv) : applyPatches(entry, current, elementDoc, childEnv);
    trace.push({ kind: "condition", expr: `element ${index}`, value: r.status, children: r.trace });
    if (r.status === "error") return respond("error", r.message, resource, trace);
    current = r.patched;
  }
  return jsonEqual(current, resource) ? respond("skip", "no patches applied", resource, trace) : respond("pass", "", current, trace);
}
