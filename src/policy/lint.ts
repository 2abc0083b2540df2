/**
 * `vigil policies lint`: load errors plus warnings that point at likely mistakes. Kept useful,
 * not noisy: each warning names the file, policy and field, and says what to do.
 *
 * Warnings (native policies):
 * - `no-tests`: neither `spec.tests` nor a PolicyTest file (among the linted paths) covers it.
 * - `unused-variable`: a variable no expression or message uses.
 * - `no-on`: no `spec.on`, so the policy is evaluated for every event type.
 * - `static-message`: a rule without a message, or whose message has no `{{ }}` part, so
 *   findings cannot say which resource or value was at fault.
 * - `constant-condition`: a condition that is literally `true` or `false`.
 */
import { dirname, relative, resolve, isAbsolute } from "node:path";
import { readFileSync } from "node:fs";
import type { VigilError } from "../core/errors.js";
import { loadPolicies, parseYamlDocuments, type LoadOptions, type SkippedDocument } from "./load.js";
import { isNativePolicy, type NativeCompiledPolicy } from "./vigil/compile.js";
import { findPolicyTestFiles } from "./vigil/test-runner.js";
import { parsePolicyTestDocument } from "./vigil/test-schema.js";

export type LintCode = "no-tests" | "unused-variable" | "no-on" | "static-message" | "constant-condition";

export interface LintWarning {
  readonly code: LintCode;
  readonly file: string;
  readonly policy: string;
  readonly field?: string;
  readonly message: string;
}

export interface LintResult {
  readonly errors: VigilError[];
  readonly warnings: LintWarning[];
  readonly skipped: SkippedDocument[];
  /** Number of policies that loaded. */
  readonly policies: number;
}

/** Policy files and directories that PolicyTest files under `paths` point at (absolute). */
function testedPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const file of findPolicyTestFiles(paths)) {
    let text: string;
    try { text = readFileSync(file, "utf8"); } catch { continue; }
    for (const doc of parseYamlDocuments(file, text).documents) {
      const spec = parsePolicyTestDocument(doc.value).spec;
      for (const p of spec?.policies ?? []) out.push(resolve(dirname(file), p));
    }
  }
  return out;
}

function covers(tested: string, file: string): boolean {
  const rel = relative(tested, resolve(file));
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

const templatePart = /\{\{[\s\S]*?\}\}/;

function lintNative(policy: NativeCompiledPolicy, tested: readonly string[]): LintWarning[] {
  const warnings: LintWarning[] = [];
  const spec = policy.spec;
  const at = (code: LintCode, message: string, field?: string): void => {
    warnings.push({ code, file: policy.file, policy: spec.name, message, ...(field === undefined ? {} : { field }) });
  };
  if (spec.tests.length === 0 && !tested.some((t) => covers(t, policy.file))) {
    at("no-tests", "has no tests: add spec.tests cases or a PolicyTest (*.test.yaml) that loads it");
  }
  if (spec.on.length === 0) at("no-on", "has no spec.on, so it is evaluated for every event type; list the event types it is for", "spec.on");
  const plan = policy.plan;
  const used = new Set<number>();
  const mark = (deps: readonly number[]): void => { for (const d of deps) used.add(d); };
  if (plan.match !== undefined) mark(plan.match.deps);
  plan.variables.forEach((v) => mark(v.expr.deps));
  for (const output of plan.outputs) mark(output.expr.deps);
  for (const rule of plan.rules) {
    mark(rule.condition.deps);
    mark(rule.messageDeps);
    for (const e of rule.exceptions) mark(e.when.deps);
  }
  // Remediation params/targets and adaptive conditions are rendered later; count names they mention.
  const later = JSON.stringify([spec.remediation, spec.enforcement?.adaptive ?? []]);
  plan.variables.forEach((v, i) => {
    if (!used.has(i) && !new RegExp(`variables\\s*\\.\\s*${v.name}\\b`).test(later)) {
      at("unused-variable", `variable "${v.name}" is not used by any expression or message; remove it or use it`, `spec.variables[${i}]`);
    }
  });
  spec.rules.forEach((rule, i) => {
    if (rule.message === undefined) at("static-message", `rule "${rule.name}" has no message; findings will only say the rule was violated — add one with {{ }} parts naming the resource`, `spec.rules[${i}].message`);
    else if (!templatePart.test(rule.message)) at("static-message", `rule "${rule.name}" has a message without {{ }} parts; name the resource or value at fault (e.g. {{ resource.name }})`, `spec.rules[${i}].message`);
    const condition = rule.condition.trim();
    if (condition === "true" || condition === "false") at("constant-condition", `rule "${rule.name}" has the constant condition ${condition}`, `spec.rules[${i}].condition`);
  });
  return warnings;
}

/** Lints the policies under `paths`. Never throws. */
export function lintPolicies(paths: string | readonly string[], options: LoadOptions = {}): LintResult {
  const list = typeof paths === "string" ? [paths] : [...paths];
  const loaded = loadPolicies(list, options);
  const tested = testedPaths(list);
  const warnings: LintWarning[] = [];
  for (const policy of loaded.policies) if (isNativePolicy(policy)) warnings.push(...lintNative(policy, tested));
  return { errors: loaded.errors, warnings, skipped: loaded.skipped, policies: loaded.policies.length };
}

/** One line per warning: `file: policy "p": spec.rules[0].message: ... [static-message]`. */
export function formatLintWarning(w: LintWarning): string {
  return `${w.file}: policy "${w.policy}"${w.field === undefined ? "" : `: ${w.field}`}: ${w.message} [${w.code}]`;
}
