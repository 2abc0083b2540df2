/**
 * The native policy document (`apiVersion: vigil.dev/v1`, `kind: Policy`): its typed shape and
 * its validation. Validation collects every problem with its field path; CEL is compiled later.
 */
import { tiers, severities, type AdaptiveRule, type EnforcementSpec, type EscalationLevel, type RemediationRef, type RuleMode, type Severity, type Tier } from "../../core/policy.js";
import { closest } from "./suggest.js";
import { Validator, type FieldPath, type Issue } from "./validate.js";
import { parseTestCase, type TestCaseSpec } from "./test-schema.js";

export const VIGIL_API_VERSION = "vigil.dev/v1";
export const POLICY_KIND = "Policy";

export const policyNamePattern = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const ruleNamePattern = /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/;
/** A CEL identifier; `__proto__` excepted: as a key it sets the prototype of the JS map that holds variables and outputs. */
const variableNamePattern = /^(?!__proto__$)[A-Za-z_][A-Za-z0-9_]*$/;
const durationPattern = /^(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+)$/;

export const ruleModes: readonly RuleMode[] = ["deny", "warn", "audit"];

export interface VariableSpec { readonly name: string; readonly expression: string }

export interface RuleSpec {
  readonly name: string;
  readonly condition: string;
  readonly message?: string;
  readonly severity: Severity;
  readonly effect: RuleMode;
}

export interface ExceptionSpec {
  readonly name: string;
  readonly when: string;
  /** Rules it applies to; undefined = every rule of the policy. */
  readonly rules?: readonly string[];
}

export interface NativePolicySpec {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly description?: string;
  readonly owner?: string;
  readonly on: readonly string[];
  readonly match?: string;
  readonly variables: readonly VariableSpec[];
  readonly rules: readonly RuleSpec[];
  /** Named values every violation of this policy reports (`Finding.outputs`), evaluated after the rule. */
  readonly outputs: readonly VariableSpec[];
  readonly exceptions: readonly ExceptionSpec[];
  readonly remediation: readonly RemediationRef[];
  readonly enforcement?: EnforcementSpec;
  readonly escalation: readonly EscalationLevel[];
  readonly tests: readonly TestCaseSpec[];
}

const topFields = ["apiVersion", "kind", "metadata", "spec"];
const metadataFields = ["name", "labels", "description", "owner"];
const specFields = ["on", "match", "variables", "rules", "outputs", "exceptions", "remediation", "enforcement", "escalation", "tests"];
const variableFields = ["name", "expression"];
const ruleFields = ["name", "condition", "message", "severity", "effect"];
const exceptionFields = ["name", "when", "rules"];
const remediationFields = ["action", "params", "target"];
const enforcementFields = ["tier", "floor", "ceiling", "adaptive", "minConfidence", "mode", "dryRun", "safeDefault"];
const adaptiveFields = ["when", "tier", "reason"];
const escalationFields = ["notify", "after"];

/** The policy name of a document, when it has a usable one (for error messages of broken documents). */
export function policyNameOf(value: unknown): string | undefined {
  const name = (value as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === "string" ? name : undefined;
}

/** Validates a whole document; returns the typed spec, or the list of problems. */
export function parsePolicyDocument(value: unknown): { spec?: NativePolicySpec; issues: readonly Issue[] } {
  const v = new Validator();
  const doc = v.object(value, [], topFields, ["apiVersion", "kind", "metadata", "spec"]);
  if (doc === undefined) return { issues: v.issues };
  const metadata = doc["metadata"] === undefined ? undefined : v.object(doc["metadata"], ["metadata"], metadataFields, ["name"]);
  const name = metadata?.["name"] === undefined ? undefined
    : v.string(metadata["name"], ["metadata", "name"], { pattern: policyNamePattern, patternHint: "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (like a Kubernetes name)" });
  const labels = metadata?.["labels"] === undefined ? undefined : v.stringMap(metadata["labels"], ["metadata", "labels"]);
  const description = v.optionalString(metadata?.["description"], ["metadata", "description"]);
  const owner = v.optionalString(metadata?.["owner"], ["metadata", "owner"]);

  const spec = doc["spec"] === undefined ? undefined : v.object(doc["spec"], ["spec"], specFields, ["rules"]);
  const on = spec?.["on"] === undefined || spec["on"] === null ? [] : (v.stringList(spec["on"], ["spec", "on"]) ?? []);
  const match = spec?.["match"] === undefined ? undefined : v.string(spec["match"], ["spec", "match"]);

  const variables: VariableSpec[] = [];
  if (spec?.["variables"] !== undefined && spec["variables"] !== null) {
    v.list(spec["variables"], ["spec", "variables"])?.forEach((item, i) => {
      const path = ["spec", "variables", i];
      const o = v.object(item, path, variableFields, ["name", "expression"]);
      if (o === undefined) return;
      const varName = o["name"] === undefined ? undefined : v.string(o["name"], [...path, "name"], { pattern: variableNamePattern, patternHint: "a variable name is a CEL identifier (letters, digits, '_'), not __proto__" });
      const expression = o["expression"] === undefined ? undefined : v.string(o["expression"], [...path, "expression"]);
      if (varName !== undefined && variables.some((x) => x.name === varName)) v.report([...path, "name"], `variable "${varName}" is declared twice`);
      else if (varName !== undefined && expression !== undefined) variables.push({ name: varName, expression });
    });
  }

  const rules: RuleSpec[] = [];
  if (spec?.["rules"] !== undefined && spec["rules"] !== null) {
    const items = v.list(spec["rules"], ["spec", "rules"]);
    if (items !== undefined && items.length === 0) v.report(["spec", "rules"], "must hold at least one rule");
    items?.forEach((item, i) => {
      const path = ["spec", "rules", i];
      const o = v.object(item, path, ruleFields, ["name", "condition"]);
      if (o === undefined) return;
      const ruleName = o["name"] === undefined ? undefined : v.string(o["name"], [...path, "name"], { pattern: ruleNamePattern, patternHint: "letters, digits, '-', '_' and '.'" });
      const condition = o["condition"] === undefined ? undefined : v.string(o["condition"], [...path, "condition"]);
      const message = v.optionalString(o["message"], [...path, "message"]);
      const severity = o["severity"] === undefined ? "medium" : v.oneOf(o["severity"], [...path, "severity"], severities);
      const effect = o["effect"] === undefined ? "deny" : v.oneOf(o["effect"], [...path, "effect"], ruleModes);
      if (ruleName !== undefined && rules.some((r) => r.name === ruleName)) v.report([...path, "name"], `rule "${ruleName}" is declared twice`);
      else if (ruleName !== undefined && condition !== undefined && severity !== undefined && effect !== undefined) {
        rules.push({ name: ruleName, condition, severity, effect, ...(message === undefined ? {} : { message }) });
      }
    });
  }

  const outputs: VariableSpec[] = [];
  if (spec?.["outputs"] !== undefined && spec["outputs"] !== null) {
    v.list(spec["outputs"], ["spec", "outputs"])?.forEach((item, i) => {
      const path = ["spec", "outputs", i];
      const o = v.object(item, path, variableFields, ["name", "expression"]);
      if (o === undefined) return;
      const outName = o["name"] === undefined ? undefined : v.string(o["name"], [...path, "name"], { pattern: variableNamePattern, patternHint: "an output name is an identifier (letters, digits, '_'), not __proto__" });
      const expression = o["expression"] === undefined ? undefined : v.string(o["expression"], [...path, "expression"]);
      if (outName !== undefined && outputs.some((x) => x.name === outName)) v.report([...path, "name"], `output "${outName}" is declared twice`);
      else if (outName !== undefined && expression !== undefined) outputs.push({ name: outName, expression });
    });
  }

  const exceptions = parseExceptions(v, spec?.["exceptions"], rules);
  const remediation = parseRemediation(v, spec?.["remediation"]);
  const enforcement = spec?.["enforcement"] === undefined || spec["enforcement"] === null ? undefined : parseEnforcement(v, spec["enforcement"]);
  const escalation = parseEscalation(v, spec?.["escalation"]);
  const tests: TestCaseSpec[] = [];
  if (spec?.["tests"] !== undefined && spec["tests"] !== null) {
    v.list(spec["tests"], ["spec", "tests"])?.forEach((item, i) => {
      const test = parseTestCase(v, item, ["spec", "tests", i], false);
      if (test === undefined) return;
      checkTestRules(v, test, ["spec", "tests", i], name, rules);
      if (tests.some((t) => t.name === test.name)) v.report(["spec", "tests", i, "name"], `test "${test.name}" is declared twice`);
      else tests.push(test);
    });
  }

  if (v.issues.length > 0 || name === undefined) return { issues: v.issues };
  return {
    issues: [],
    spec: {
      name, on, variables, rules, outputs, exceptions, remediation, escalation, tests,
      ...(labels === undefined ? {} : { labels }),
      ...(description === undefined ? {} : { description }),
      ...(owner === undefined ? {} : { owner }),
      ...(match === undefined ? {} : { match }),
      ...(enforcement === undefined ? {} : { enforcement }),
    },
  };
}

/** Reports a rule name this policy does not have, with the closest one or the list of its rules. */
function checkRuleName(v: Validator, path: FieldPath, ruleName: string, rules: readonly RuleSpec[]): void {
  if (rules.some((r) => r.name === ruleName)) return;
  const names = rules.map((r) => r.name);
  const suggestion = closest(ruleName, names);
  const fix = suggestion === undefined ? `its rules: ${names.join(", ")}` : `did you mean "${suggestion}"?`;
  v.report(path, `names rule "${ruleName}", which this policy does not have; ${fix}`, fix);
}

/**
 * The rules an inline test expects (violations, errors, findings[].rule): the test runs this
 * policy alone, so a rule it lacks, or another policy's name, could never match.
 */
function checkTestRules(v: Validator, test: TestCaseSpec, path: FieldPath, policyName: string | undefined, rules: readonly RuleSpec[]): void {
  const entry = (p: FieldPath, text: string): void => {
    const slash = text.indexOf("/");
    if (slash < 0) return checkRuleName(v, p, text, rules);
    const policy = text.slice(0, slash), rule = text.slice(slash + 1);
    if (policyName !== undefined && policy !== policyName) {
      const fix = `write ${rule} or ${policyName}/${rule}`;
      v.report(p, `names policy "${policy}", but a test inside policy "${policyName}" runs ${policyName} alone; ${fix}`, fix);
    } else checkRuleName(v, p, rule, rules);
  };
  const expect = test.expect;
  expect.violations?.forEach((text, j) => entry([...path, "expect", "violations", j], text));
  expect.errors?.forEach((text, j) => entry([...path, "expect", "errors", j], text));
  expect.findings?.forEach((f, j) => {
    const p = [...path, "expect", "findings", j];
    if (f.policy !== undefined && policyName !== undefined && f.policy !== policyName) {
      v.report([...p, "policy"], `names policy "${f.policy}", but a test inside policy "${policyName}" runs ${policyName} alone; leave policy out`, "leave policy out");
    }
    if (f.rule !== undefined) checkRuleName(v, [...p, "rule"], f.rule, rules);
  });
}

function parseExceptions(v: Validator, value: unknown, rules: readonly RuleSpec[]): ExceptionSpec[] {
  const out: ExceptionSpec[] = [];
  if (value === undefined || value === null) return out;
  v.list(value, ["spec", "exceptions"])?.forEach((item, i) => {
    const path = ["spec", "exceptions", i];
    if (typeof item === "string") {
      out.push({ name: `exceptions[${i}]`, when: item });
      return;
    }
    const o = v.object(item, path, exceptionFields, ["name", "when"]);
    if (o === undefined) return;
    const name = o["name"] === undefined ? undefined : v.string(o["name"], [...path, "name"], { pattern: ruleNamePattern, patternHint: "letters, digits, '-', '_' and '.'" });
    const when = o["when"] === undefined ? undefined : v.string(o["when"], [...path, "when"]);
    const ruleNames = o["rules"] === undefined || o["rules"] === null ? undefined : v.stringList(o["rules"], [...path, "rules"]);
    if (Array.isArray(o["rules"]) && o["rules"].length === 0) v.report([...path, "rules"], "must name at least one rule; leave rules out for an exception that applies to every rule");
    ruleNames?.forEach((ruleName, j) => checkRuleName(v, [...path, "rules", j], ruleName, rules));
    if (name !== undefined && out.some((e) => e.name === name)) v.report([...path, "name"], `exception "${name}" is declared twice`);
    else if (name !== undefined && when !== undefined) out.push({ name, when, ...(ruleNames === undefined ? {} : { rules: ruleNames }) });
  });
  return out;
}

function parseRemediation(v: Validator, value: unknown): RemediationRef[] {
  const out: RemediationRef[] = [];
  if (value === undefined || value === null) return out;
  v.list(value, ["spec", "remediation"])?.forEach((item, i) => {
    const path = ["spec", "remediation", i];
    const o = v.object(item, path, remediationFields, ["action"]);
    if (o === undefined) return;
    const action = o["action"] === undefined ? undefined : v.string(o["action"], [...path, "action"], { pattern: /^[a-z0-9][a-z0-9.-]*$/, patternHint: "an actuator kind such as aws.s3.block-public-access" });
    const params = o["params"] === undefined || o["params"] === null ? undefined : v.object(o["params"], [...path, "params"], Object.keys(o["params"] as object));
    const target = v.optionalString(o["target"], [...path, "target"]);
    if (action !== undefined) out.push({ action, ...(params === undefined ? {} : { params }), ...(target === undefined ? {} : { target }) });
  });
  return out;
}

function parseEnforcement(v: Validator, value: unknown): EnforcementSpec | undefined {
  const path = ["spec", "enforcement"];
  const o = v.object(value, path, enforcementFields);
  if (o === undefined) return undefined;
  const tier = (key: string): Tier | undefined => (o[key] === undefined ? undefined : v.oneOf(o[key], [...path, key], tiers));
  const result: { -readonly [K in keyof EnforcementSpec]: EnforcementSpec[K] } = {};
  const t = tier("tier"); if (t !== undefined) result.tier = t;
  const floor = tier("floor"); if (floor !== undefined) result.floor = floor;
  const ceiling = tier("ceiling"); if (ceiling !== undefined) result.ceiling = ceiling;
  if (floor !== undefined && ceiling !== undefined && tiers.indexOf(floor) > tiers.indexOf(ceiling)) {
    v.report([...path, "floor"], `floor "${floor}" is above ceiling "${ceiling}"`, `tiers from weakest: ${tiers.join(", ")}`);
  }
  const safeDefault = tier("safeDefault"); if (safeDefault !== undefined) result.safeDefault = safeDefault;
  if (o["minConfidence"] !== undefined) { const n = v.number(o["minConfidence"], [...path, "minConfidence"], 0, 1); if (n !== undefined) result.minConfidence = n; }
  if (o["mode"] !== undefined) { const m = v.oneOf(o["mode"], [...path, "mode"], ["enforce", "shadow"] as const); if (m !== undefined) result.mode = m; }
  if (o["dryRun"] !== undefined) { const b = v.boolean(o["dryRun"], [...path, "dryRun"]); if (b !== undefined) result.dryRun = b; }
  if (o["adaptive"] !== undefined && o["adaptive"] !== null) {
    const adaptive: AdaptiveRule[] = [];
    v.list(o["adaptive"], [...path, "adaptive"])?.forEach((item, i) => {
      const p = [...path, "adaptive", i];
      const a = v.object(item, p, adaptiveFields, ["when", "tier"]);
      if (a === undefined) return;
      const when = a["when"] === undefined ? undefined : v.string(a["when"], [...p, "when"]);
      const at = a["tier"] === undefined ? undefined : v.oneOf(a["tier"], [...p, "tier"], tiers);
      const reason = v.optionalString(a["reason"], [...p, "reason"]);
      if (when !== undefined && at !== undefined) adaptive.push({ when, tier: at, ...(reason === undefined ? {} : { reason }) });
    });
    result.adaptive = adaptive;
  }
  return result;
}

function parseEscalation(v: Validator, value: unknown): EscalationLevel[] {
  const out: EscalationLevel[] = [];
  if (value === undefined || value === null) return out;
  v.list(value, ["spec", "escalation"])?.forEach((item, i) => {
    const path = ["spec", "escalation", i];
    const o = v.object(item, path, escalationFields, ["notify", "after"]);
    if (o === undefined) return;
    const notify = o["notify"] === undefined ? undefined : v.stringList(o["notify"], [...path, "notify"]);
    if (notify !== undefined && notify.length === 0) v.report([...path, "notify"], "must name at least one recipient");
    const after = o["after"] === undefined ? undefined
      : v.string(o["after"], [...path, "after"], { pattern: durationPattern, patternHint: "use an ISO-8601 duration (PT30M) or a Go-style one (30m, 4h)" });
    if (notify !== undefined && notify.length > 0 && after !== undefined) out.push({ notify, after });
  });
  return out;
}
