/**
 * Load-time feature check: a Kyverno rule using something Vigil does not evaluate fails to load
 * with a VigilError naming the policy, the rule and the feature — never a silent pass.
 */
import { targetKeys } from "./mutate-existing.js";
import { selectorOperators } from "./mutate-existing-targets.js";
import { VigilError } from "../../core/errors.js";
import { isKnownOperator } from "./conditions.js";
import { checkManifestsSupported } from "./verify-manifests.js";
import { hostProbesControl, parsePssVersion, pssVersionForms } from "./pod-security.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const validateKeys = new Set(["message", "pattern", "anyPattern", "deny", "foreach", "cel", "podSecurity", "manifests", "failureAction", "failureActionOverrides", "allowExistingViolations"]);
const mutateKeys = new Set(["patchStrategicMerge", "patchesJson6902", "foreach", "targets", "mutateExistingOnPolicyUpdate"]);
const generateKeys = new Set(["apiVersion", "kind", "name", "namespace", "uid", "synchronize", "orphanDownstreamOnPolicyDelete", "generateExisting", "data", "clone", "cloneList", "foreach"]);
const contextKinds = new Set(["variable", "configMap", "apiCall", "imageRegistry", "globalReference"]);

function unsupported(policy: string, rule: string, feature: string, source: string | undefined, field: string): VigilError {
  return new VigilError(
    "VIGIL_POLICY_UNSUPPORTED",
    `Kyverno policy ${policy}, rule ${rule}: ${feature} is not supported by Vigil; remove the rule or evaluate it with Kyverno.`,
    { policy, field, ...(source ? { file: source } : {}) },
  );
}

function checkConditions(conditions: unknown, at: string, fail: (feature: string, field: string) => VigilError): void {
  const lists: unknown[] = Array.isArray(conditions) ? [conditions] : isObject(conditions) ? [conditions["any"], conditions["all"]] : [];
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      if (!isObject(c)) return;
      const op = String(c["operator"] ?? "");
      if (!isKnownOperator(op)) throw fail(`condition operator '${op}'`, `${at}[${i}].operator`);
    });
  }
}

function checkContext(entries: unknown, at: string, fail: (feature: string, field: string) => VigilError): void {
  if (!Array.isArray(entries)) return;
  entries.forEach((e, i) => {
    if (!isObject(e)) return;
    const kinds = Object.keys(e).filter((k) => k !== "name");
    const known = kinds.filter((k) => contextKinds.has(k));
    if (known.length === 0) throw fail(`context entry type '${kinds.join(",") || "(none)"}'`, `${at}[${i}]`);
  });
}

function checkForeach(list: unknown, at: string, fail: (feature: string, field: string) => VigilError): void {
  if (!Array.isArray(list)) return;
  list.forEach((f, i) => {
    if (!isObject(f)) return;
    checkContext(f["context"], `${at}[${i}].context`, fail);
    checkConditions(f["preconditions"], `${at}[${i}].preconditions`, fail);
    if (isObject(f["deny"])) checkConditions(f["deny"]["conditions"], `${at}[${i}].deny.conditions`, fail);
    checkForeach(f["foreach"], `${at}[${i}].foreach`, fail);
  });
}

/** Strategic-merge directives kyaml (Kyverno's merge) does not read: it would copy them into the resource. */
const unreadDirectives = ["$retainKeys", "$setElementOrder/", "$deleteFromPrimitiveList/"];

function checkMergeDirectives(node: unknown, at: string, fail: (feature: string, field: string) => VigilError): void {
  if (Array.isArray(node)) {
    node.forEach((e, i) => checkMergeDirectives(e, `${at}[${i}]`, fail));
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (unreadDirectives.some((d) => key === d || (d.endsWith("/") && key.startsWith(d)))) throw fail(`the strategic-merge directive '${key}' (only $patch is read)`, `${at}.${key}`);
    checkMergeDirectives(value, `${at}.${key}`, fail);
  }
}

function checkMutateForeach(list: unknown, at: string, fail: (feature: string, field: string) => VigilError): void {
  if (!Array.isArray(list)) return;
  list.forEach((f, i) => {
    if (!isObject(f)) return;
    checkMergeDirectives(f["patchStrategicMerge"], `${at}[${i}].patchStrategicMerge`, fail);
    checkMutateForeach(f["foreach"], `${at}[${i}].foreach`, fail);
  });
}

/** A target's label selector: matchLabels and matchExpressions with Kubernetes' four operators. */
function checkTargetSelector(selector: unknown, at: string, fail: (feature: string, field: string) => VigilError): void {
  if (selector === undefined || selector === null || typeof selector === "string") return;
  if (!isObject(selector)) throw fail("a target selector that is not a label selector", at);
  for (const key of Object.keys(selector)) if (key !== "matchLabels" && key !== "matchExpressions") throw fail(`target selector field '${key}' (a label selector has matchLabels and matchExpressions)`, `${at}.${key}`);
  const expressions = selector["matchExpressions"];
  if (!Array.isArray(expressions)) return;
  expressions.forEach((e, j) => {
    const operator = isObject(e) ? e["operator"] : undefined;
    if (typeof operator === "string" && !operator.includes("{{") && !selectorOperators.has(operator)) throw fail(`label selector operator '${operator}' (In, NotIn, Exists, DoesNotExist)`, `${at}.matchExpressions[${j}].operator`);
  });
}

/**
 * `mutate.foreach` with targets runs on each target (mutate-existing.ts). Two remainders fail to
 * load rather than differ from Kyverno: `request.object` inside it (Kyverno reads the trigger until
 * a list changed the target, then the patched target; Vigil reads the target throughout), and
 * `{{ @ }}` inside it (Kyverno resolves it from a path missing the foreach entry's first key).
 */
function checkForeachOnTargets(list: unknown, at: string, fail: (feature: string, field: string) => VigilError): void {
  if (!Array.isArray(list)) return;
  list.forEach((f, i) => {
    const text = JSON.stringify(f) ?? "";
    if (/request\.object\b/.test(text)) throw fail("request.object inside mutate.foreach with mutate.targets (use target)", `${at}[${i}]`);
    if (/\{\{\s*@\s*\}\}/.test(text)) throw fail("{{ @ }} inside mutate.foreach with mutate.targets", `${at}[${i}]`);
  });
}

function checkMutate(mutate: Json, fail: (feature: string, field: string) => VigilError): void {
  for (const key of Object.keys(mutate)) {
    if (!mutateKeys.has(key)) throw fail(`mutate.${key}`, `mutate.${key}`);
  }
  checkMergeDirectives(mutate["patchStrategicMerge"], "mutate.patchStrategicMerge", fail);
  checkMutateForeach(mutate["foreach"], "mutate.foreach", fail);
  // Mutate existing: targets are read from the cluster and patched by the agent (mutate-existing.ts).
  if (Array.isArray(mutate["targets"])) {
    mutate["targets"].forEach((t, i) => {
      for (const key of Object.keys(isObject(t) ? t : {})) if (!targetKeys.has(key)) throw fail(`mutate.targets[].${key}`, `mutate.targets[${i}].${key}`);
      if (!isObject(t)) return;
      checkContext(t["context"], `mutate.targets[${i}].context`, fail);
      checkConditions(t["preconditions"], `mutate.targets[${i}].preconditions`, fail);
      checkTargetSelector(t["selector"], `mutate.targets[${i}].selector`, fail);
    });
    if (mutate["targets"].length > 0) checkForeachOnTargets(mutate["foreach"], "mutate.foreach", fail);
  }
  checkForeach(mutate["foreach"], "mutate.foreach", fail);
}

function checkGenerate(generate: Json, fail: (feature: string, field: string) => VigilError): void {
  for (const key of Object.keys(generate)) {
    if (!generateKeys.has(key)) throw fail(`generate.${key}`, `generate.${key}`);
  }
  checkForeach(generate["foreach"], "generate.foreach", fail);
}

/** Throws VigilError(VIGIL_POLICY_UNSUPPORTED) when a validate, mutate or generate rule uses an unsupported feature. */
export function checkRuleSupported(policy: string, rule: Json, index: number, source: string | undefined): void {
  const name = String(rule["name"] ?? `rules[${index}]`);
  const fail = (feature: string, field: string): VigilError => unsupported(policy, name, feature, source, `spec.rules[${index}].${field}`);
  checkContext(rule["context"], "context", fail);
  checkConditions(rule["preconditions"], "preconditions", fail);
  if (isObject(rule["mutate"])) checkMutate(rule["mutate"], fail);
  if (isObject(rule["generate"])) checkGenerate(rule["generate"], fail);
  const validate = rule["validate"];
  if (!isObject(validate)) return;
  for (const key of Object.keys(validate)) {
    if (!validateKeys.has(key)) throw fail(`validate.${key}`, `validate.${key}`);
  }
  if (isObject(validate["deny"])) checkConditions(validate["deny"]["conditions"], "validate.deny.conditions", fail);
  checkForeach(validate["foreach"], "validate.foreach", fail);
  const invalid = (message: string, field: string): VigilError => new VigilError("VIGIL_POLICY_LOAD", `Kyverno policy ${policy}, rule ${name}: ${field}: ${message}.`, { policy, field: `spec.rules[${index}].${field}`, ...(source ? { file: source } : {}) });
  if (validate["manifests"] !== undefined) checkManifestsSupported(validate["manifests"], fail, invalid);
  const podSecurity = validate["podSecurity"];
  if (isObject(podSecurity) && parsePssVersion(podSecurity["version"]) === undefined) {
    throw invalid(`${JSON.stringify(podSecurity["version"])} ${pssVersionForms}`, "validate.podSecurity.version");
  }
  // Kyverno's PodSecurityStandard.Validate: this container-level control is excluded only by images.
  const exclude = isObject(podSecurity) && Array.isArray(podSecurity["exclude"]) ? (podSecurity["exclude"] as unknown[]) : [];
  exclude.forEach((e, i) => {
    if (isObject(e) && e["controlName"] === hostProbesControl && !(Array.isArray(e["images"]) && e["images"].length > 0)) {
      throw invalid(`excluding "${hostProbesControl}" needs images (the container images to exempt, e.g. images: ["registry.example/agent:*"])`, `validate.podSecurity.exclude[${i}].images`);
    }
  });
  if (typeof validate["pattern"] === "string" || JSON.stringify(validate["pattern"] ?? null).includes("$(")) throw fail("pattern references $()", "validate.pattern");
}
