/**
 * Evaluation of one Kyverno `validate` block (pattern, anyPattern, deny, foreach, cel,
 * podSecurity, manifests) against a variable document, following Kyverno's validator: context entries
 * first, then preconditions, then the check. Returns a RuleResponse; never throws.
 */
import type { TraceStep } from "../../core/finding.js";
import { evaluateOperator } from "./conditions.js";
import { loadContextEntries, type Doc } from "./context.js";
import { searchJmes } from "./jmespath.js";
import { elementDocument, extendableCopy } from "./objects.js";
import { matchPattern } from "./pattern.js";
import type { RuleEnv, RuleResponse, RuleStatus } from "./rule-env.js";
import { substituteAll } from "./variables.js";
import { verifyManifests } from "./verify-manifests.js";

export type { RuleResponse, RuleStatus } from "./rule-env.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function respond(status: RuleStatus, message: string, trace: readonly TraceStep[] = []): RuleResponse {
  return { status, message, trace };
}

interface ConditionOutcome {
  readonly ok: boolean;
  readonly value: boolean;
  readonly error?: string;
  readonly trace: TraceStep[];
  /**
   * When the conditions do not hold: the messages of the conditions that made them false, joined as
   * Kyverno's evaluate.go does (every false `any` condition tried, the first false `all` one;
   * non-empty only; the legacy list form: the first false condition's).
   */
  readonly message?: string;
  /**
   * When the conditions hold: the messages of the conditions that made them hold, joined as
   * Kyverno's evaluate.go does (the first true `any` condition, each `all` one; non-empty only).
   */
  readonly held?: string;
}

const joinNonEmpty = (parts: readonly (string | undefined)[], separator: string): string => parts.filter((p): p is string => p !== undefined && p !== "").join(separator);

const conditionTexts = new WeakMap<object, string>();

/** The trace text of a condition (`"{{ key }}" Operator value`), built once per policy condition. */
function conditionText(raw: Json, operator: string): string {
  let text = conditionTexts.get(raw);
  if (text === undefined) {
    text = `${JSON.stringify(raw["key"])} ${operator} ${JSON.stringify(raw["value"])}`;
    conditionTexts.set(raw, text);
  }
  return text;
}

function evaluateConditionList(list: readonly unknown[], doc: Doc, env: RuleEnv, mode: "any" | "all", missing: "error" | "empty", separator = "; "): ConditionOutcome {
  const trace: TraceStep[] = [];
  const falseMessages: string[] = [];
  const held: string[] = [];
  const failed = (): string | undefined => (falseMessages.length > 0 ? joinNonEmpty(falseMessages, "; ") : undefined);
  for (const raw of list) {
    if (!isObject(raw)) continue;
    const sub = { missing, deleteRequest: env.deleteRequest };
    const key = substituteAll(raw["key"], doc, sub);
    if (!key.ok) return { ok: false, value: false, error: key.error, trace };
    const value = substituteAll(raw["value"], doc, sub);
    if (!value.ok) return { ok: false, value: false, error: value.error, trace };
    const operator = String(raw["operator"] ?? "");
    const holds = evaluateOperator(operator, key.value, value.value);
    trace.push({ kind: "condition", expr: conditionText(raw, operator), value: holds, inputs: { key: key.value, value: value.value } });
    const own = typeof raw["message"] === "string" ? raw["message"] : undefined;
    // INVARIANT: short-circuit like Kyverno (any stops at the first true, all at the first false).
    // The false `any` messages before a true one are kept: when `all` then fails, Kyverno reports them too.
    if (mode === "any" && holds) {
      const message = failed();
      return { ok: true, value: true, trace, held: own ?? "", ...(message === undefined ? {} : { message }) };
    }
    if (holds && own !== undefined) held.push(own);
    if (!holds && own !== undefined && own !== "") falseMessages.push(own);
    if (mode === "all" && !holds) {
      const message = failed();
      return { ok: true, value: false, trace, ...(message === undefined ? {} : { message }) };
    }
  }
  const message = failed();
  return { ok: true, value: mode === "all", trace, ...(message === undefined ? {} : { message }), ...(mode === "all" ? { held: joinNonEmpty(held, separator) } : {}) };
}

/** Evaluates `conditions` in either shape (a list = all, or `{ any, all }`). */
export function evaluateConditions(conditions: unknown, doc: Doc, env: RuleEnv, missing: "error" | "empty"): ConditionOutcome {
  if (conditions === undefined || conditions === null) return { ok: true, value: true, trace: [] };
  // The legacy list form joins the messages with ";" (evaluateOldConditions), any/all with "; ".
  if (Array.isArray(conditions)) return evaluateConditionList(conditions, doc, env, "all", missing, ";");
  if (!isObject(conditions)) return { ok: true, value: true, trace: [] };
  const trace: TraceStep[] = [];
  let value = true;
  const falseMessages: (string | undefined)[] = [];
  const held: (string | undefined)[] = [];
  if (Array.isArray(conditions["any"])) {
    const any = evaluateConditionList(conditions["any"], doc, env, "any", missing);
    trace.push({ kind: "disjunct", expr: "any", value: any.value, children: any.trace });
    if (!any.ok) return { ...any, trace };
    value &&= any.value;
    falseMessages.push(any.message);
    held.push(any.held);
  }
  if (Array.isArray(conditions["all"])) {
    const all = evaluateConditionList(conditions["all"], doc, env, "all", missing);
    trace.push({ kind: "conjunct", expr: "all", value: all.value, children: all.trace });
    if (!all.ok) return { ...all, trace };
    value &&= all.value;
    falseMessages.push(all.message);
    held.push(all.held);
  }
  const message = value ? "" : joinNonEmpty(falseMessages, "; ");
  return { ok: true, value, trace, ...(message === "" ? {} : { message }), ...(value ? { held: joinNonEmpty(held, "; ") } : {}) };
}

/** Kyverno's skip message for preconditions that do not hold: "preconditions not met", then their messages. */
export function preconditionsNotMet(outcome: ConditionOutcome): string {
  return joinNonEmpty(["preconditions not met", outcome.message], "; ");
}

/** The rule's message (and, for a denial, the held conditions' messages after it), variables substituted. */
function messageOf(validate: Json, doc: Doc, env: RuleEnv, conditions?: string): string {
  const raw = joinNonEmpty([typeof validate["message"] === "string" ? validate["message"] : undefined, conditions], "; ");
  if (raw === "") return "";
  const r = substituteAll(raw, doc, { deleteRequest: env.deleteRequest });
  return r.ok ? String(r.value) : raw;
}

function patternMessage(validate: Json, doc: Doc, env: RuleEnv, path: string, detail: string): string {
  let msg = messageOf(validate, doc, env);
  if (msg === "") return path ? `validation error: rule ${env.ruleName} failed at path ${path}` : `validation error: rule ${env.ruleName} execution error: ${detail}`;
  if (!msg.endsWith(".")) msg += ".";
  return path ? `validation error: ${msg} rule ${env.ruleName} failed at path ${path}` : `validation error: ${msg} rule ${env.ruleName} execution error: ${detail}`;
}

/** Validates one block: loads context, checks preconditions, then runs the check. */
export function validateBlock(validate: Json, doc: Doc, env: RuleEnv, context: readonly unknown[], preconditions: unknown): RuleResponse {
  const loaded = loadContextEntries(context, doc, { mocked: env.mocked, ...(env.resolver ? { resolver: env.resolver } : {}), deleteRequest: env.deleteRequest });
  if (!loaded.ok) return respond("error", `failed to load context: ${loaded.error}`, [{ kind: "note", expr: "context", error: loaded.error }]);
  const pre = evaluateConditions(preconditions, doc, env, "empty");
  if (!pre.ok) return respond("error", `failed to evaluate preconditions: ${pre.error ?? ""}`, pre.trace);
  if (!pre.value) return respond("skip", preconditionsNotMet(pre), [{ kind: "precondition", expr: "preconditions", value: false, children: pre.trace }]);
  const preTrace: TraceStep[] = pre.trace.length > 0 ? [{ kind: "precondition", expr: "preconditions", value: true, children: pre.trace }] : [];
  const response = runCheck(validate, doc, env);
  return preTrace.length > 0 ? { ...response, trace: [...preTrace, ...response.trace] } : response;
}

function runCheck(validate: Json, doc: Doc, env: RuleEnv): RuleResponse {
  if (validate["deny"] !== undefined) {
    const deny = isObject(validate["deny"]) ? validate["deny"] : {};
    const cond = evaluateConditions(deny["conditions"], doc, env, "empty");
    if (!cond.ok) return respond("error", `failed to check deny conditions: ${cond.error ?? ""}`, cond.trace);
    const denied = deny["conditions"] === undefined ? true : cond.value;
    const trace: TraceStep[] = [{ kind: "condition", expr: "deny.conditions", value: denied, children: cond.trace }];
    return denied ? respond("fail", messageOf(validate, doc, env, cond.held) || `validation error: rule ${env.ruleName} failed`, trace) : respond("pass", `validation rule '${env.ruleName}' passed.`, trace);
  }
  if (validate["pattern"] !== undefined || validate["anyPattern"] !== undefined) return checkPatterns(validate, doc, env);
  if (Array.isArray(validate["foreach"])) return checkForeach(validate, validate["foreach"], doc, env);
  if (validate["cel"] !== undefined && env.cel) return env.cel(validate["cel"], doc);
  if (validate["podSecurity"] !== undefined && env.podSecurity) return env.podSecurity(validate["podSecurity"], doc);
  if (validate["manifests"] !== undefined) return verifyManifests(validate["manifests"], doc, targetResource(doc, env));
  return respond("error", "invalid validation rule: podSecurity, cel, patterns, manifests, or deny expected");
}

function targetResource(doc: Doc, env: RuleEnv): unknown {
  if (env.element !== undefined) return env.element;
  const request = doc["request"] as Json | undefined;
  if (!request) return {};
  return env.deleteRequest ? request["oldObject"] : request["object"];
}

function checkPatterns(validate: Json, doc: Doc, env: RuleEnv): RuleResponse {
  const resource = targetResource(doc, env);
  if (validate["pattern"] !== undefined) {
    const sub = substituteAll(validate["pattern"], doc, { deleteRequest: env.deleteRequest });
    if (!sub.ok) return respond("error", `variable substitution failed: ${sub.error}`, [{ kind: "pattern", expr: "pattern", error: sub.error }]);
    const result = matchPattern(resource, sub.value);
    const f = result.failure;
    const trace: TraceStep[] = [{ kind: "pattern", expr: f?.path || "pattern", value: result.outcome, ...(f ? { inputs: { found: f.found ?? null, expected: f.expected ?? null }, error: f.message } : {}) }];
    if (result.outcome === "pass") return respond("pass", `validation rule '${env.ruleName}' passed.`, trace);
    if (result.outcome === "skip") return respond("skip", f?.message ?? "conditional anchor mismatch", trace);
    return respond(result.outcome, patternMessage(validate, doc, env, f?.path ?? "", f?.message ?? ""), trace);
  }
  if (!Array.isArray(validate["anyPattern"])) return respond("error", "anyPattern must be a list");
  // Kyverno substitutes the whole list before matching: a variable of any pattern that does not resolve is an error.
  const all = substituteAll(validate["anyPattern"], doc, { deleteRequest: env.deleteRequest });
  if (!all.ok) return respond("error", `variable substitution failed: ${all.error}`, [{ kind: "pattern", expr: "anyPattern", error: all.error }]);
  const patterns = all.value as unknown[];
  const failed: string[] = [];
  const skipped: string[] = [];
  const trace: TraceStep[] = [];
  for (let i = 0; i < patterns.length; i++) {
    const result = matchPattern(resource, patterns[i]);
    const f = result.failure;
    trace.push({ kind: "pattern", expr: `anyPattern[${i}]${f?.path ?? ""}`, value: result.outcome, ...(f ? { inputs: { found: f.found ?? null, expected: f.expected ?? null }, error: f.message } : {}) });
    if (result.outcome === "pass") return respond("pass", `validation rule '${env.ruleName}' anyPattern[${i}] passed.`, trace);
    if (result.outcome === "skip") skipped.push(`rule ${env.ruleName}[${i}] skipped: ${f?.message ?? ""}`);
    else failed.push(f?.path ? `rule ${env.ruleName}[${i}] failed at path ${f.path}` : `rule ${env.ruleName}[${i}] failed: ${f?.message ?? ""}`);
  }
  if (skipped.length > 0 && failed.length === 0) return respond("skip", skipped.join(" "), trace);
  let msg = messageOf(validate, doc, env);
  if (msg !== "" && !msg.endsWith(".")) msg += ".";
  return respond("fail", `validation error: ${msg ? `${msg} ` : ""}${failed.join(" ")}`, trace);
}

function evaluateList(list: unknown, doc: Doc, env: RuleEnv): unknown[] | undefined {
  if (typeof list !== "string") return undefined;
  let expr = list.trim();
  if (expr.startsWith("{{") && expr.endsWith("}}")) expr = expr.slice(2, -2).trim();
  if (env.deleteRequest) expr = expr.replace(/request\.object/g, "request.oldObject");
  const r = searchJmes(expr, doc);
  if (!r.ok) return undefined;
  return Array.isArray(r.value) ? r.value : [r.value];
}

const foreachChecks = ["pattern", "anyPattern", "deny", "foreach"] as const;

function checkForeach(validate: Json, entries: readonly unknown[], doc: Doc, env: RuleEnv): RuleResponse {
  let applied = 0;
  const trace: TraceStep[] = [];
  for (const entry of entries) {
    if (!isObject(entry)) continue;
    const elements = evaluateList(entry["list"], doc, env);
    if (!elements) {
      trace.push({ kind: "note", expr: `foreach ${String(entry["list"])}`, error: "list did not evaluate" });
      continue;
    }
    // The entry's own validate block, the same for every element.
    const inner: Json = {};
    for (const k of foreachChecks) if (entry[k] !== undefined) inner[k] = entry[k];
    inner["message"] = validate["message"];
    const context = Array.isArray(entry["context"]) ? entry["context"] : [];
    const nesting = env.nesting;
    for (let index = 0; index < elements.length; index++) {
      const element = elements[index];
      if (element === null || element === undefined) continue;
      const scoped = entry["elementScope"] === undefined ? isObject(element) : entry["elementScope"] === true;
      if (scoped && !isObject(element)) return respond("error", "cannot use elementScope=true foreach rules for elements that are not maps", trace);
      // `{ ...doc, element, ... }` and `{ ...env, ... }`, key by key (extendableCopy: a spread clone is slow to extend).
      const elementDoc: Doc = elementDocument(doc, element, index, nesting);
      const childEnv = extendableCopy(env);
      childEnv.nesting = nesting + 1;
      childEnv.element = scoped ? element : env.element;
      const r = validateBlock(inner, elementDoc, childEnv, context, entry["preconditions"]);
      trace.push({ kind: "condition", expr: `foreach[${String(entry["list"])}][${index}]`, value: r.status, children: r.trace });
      if (r.status === "skip") continue;
      if (r.status === "error") {
        if (index < elements.length - 1) continue;
        return respond("error", `validation failure: ${r.message}`, trace);
      }
      if (r.status === "fail") return respond("fail", `validation failure: ${r.message}`, trace);
      applied++;
    }
  }
  if (applied === 0) return respond("skip", "rule skipped", trace);
  return respond("pass", "rule passed", trace);
}
