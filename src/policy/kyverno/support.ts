/**
 * Load-time feature check: a Kyverno rule using something Vigil does not evaluate fails to load
 * with a VigilError naming the policy, the rule and the feature — never a silent pass.
 */
import { targetKeys } from "./mutate-existing.js";
import { VigilError } from "../../core/errors.js";
import { isKnownOperator } from "./conditions.js";
import { checkManifestsSupported } from "./verify-manifests.js";

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
      if (isObject(t)) checkContext(t["context"], `mutate.targets[${i}].context`, fail);
    });
    if (mutate["targets"].length > 0 && mutate["foreach"] !== undefined) throw fail("mutate.foreach with mutate.targets", "mutate.foreach");
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
  if (validate["manifests"] !== undefined) {
    const invalid = (message: string, field: string): VigilError => new VigilError("VIGIL_POLICY_LOAD", `Kyverno policy ${policy}, rule ${name}: ${field}: ${message}.`, { policy, field: `spec.rules[${index}].${field}`, ...(source ? { file: source } : {}) });
    checkManifestsSupported(validate["manifests"], fail, invalid);
  }
  if (typeof validate["pattern"] === "string" || JSON.stringify(validate["pattern"] ?? null).includes("$(")) throw fail("pattern references $()", "validate.pattern");
}
