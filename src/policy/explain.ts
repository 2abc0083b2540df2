/**
 * Plain-language explanations of findings, from their traces: what `vigil eval --explain` and
 * `vigil explain` print, and what decide/ puts into Decision.explanation.steps. Works for every
 * language's findings (they share TraceStep).
 */
import type { ExplanationStep } from "../core/decision.js";
import type { Finding, TraceStep } from "../core/finding.js";

const MAX_EXPR = 160;
const MAX_VALUE = 80;

/** A value as a CEL-like literal: `"us-east-1"`, `3`, `true`, `null`, `["a","b"]` (shortened when long). */
export function formatValue(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? "absent" : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 3)}...` : text;
}

/** An expression on one line, whitespace collapsed, shortened when long. */
export function formatExpression(expr: string): string {
  const text = expr.replace(/\s+/g, " ").trim();
  return text.length > MAX_EXPR ? `${text.slice(0, MAX_EXPR - 3)}...` : text;
}

function inputsText(step: TraceStep): string {
  const inputs = step.inputs;
  if (inputs === undefined) return "";
  const parts = Object.entries(inputs).map(([path, value]) => `${path} = ${formatValue(value)}`);
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

const stepNoun: Record<TraceStep["kind"], string> = {
  match: "match", variable: "variable", condition: "condition", conjunct: "and", disjunct: "or",
  exception: "exception", pattern: "pattern", precondition: "precondition", note: "note",
};

/**
 * One line for a step, e.g. `resource.region == "eu-west-1" was false (resource.region = "us-east-1")`.
 * Errors read `... failed: <error>`; variables read `variables.x = <expr> is <value>`.
 */
export function describeStep(step: TraceStep): string {
  const expr = formatExpression(step.expr);
  if (step.kind === "note") return step.value === undefined ? expr : `${expr}: ${formatValue(step.value)}`;
  if (step.error !== undefined) return `${expr} failed: ${step.error}${inputsText(step)}`;
  if (step.kind === "variable") return `${expr} is ${formatValue(step.value)}`;
  if (step.kind === "pattern") return `${expr} ${patternOutcome(step.value)}${inputsText(step)}`;
  return `${expr} was ${formatValue(step.value)}${inputsText(step)}`;
}

/** Lines for a trace, children indented under their parent, each prefixed by its kind. */
export function explainTrace(steps: readonly TraceStep[], indent = "  "): string[] {
  const lines: string[] = [];
  const visit = (step: TraceStep, depth: number): void => {
    lines.push(`${indent.repeat(depth)}${stepNoun[step.kind]}: ${describeStep(step)}`);
    for (const child of step.children ?? []) visit(child, depth + 1);
  };
  for (const step of steps) visit(step, 1);
  return lines;
}

/** The headline of a finding: `s3-public-access/no-public-acl violated (high, deny): Bucket ...`. */
export function findingHeadline(finding: Finding): string {
  const id = `${finding.policy}/${finding.rule}`;
  switch (finding.effect) {
    case "violation": return `${id} violated (${finding.severity}, ${finding.mode}): ${finding.message}`;
    case "error": return `${id} could not be evaluated: ${finding.error?.message ?? finding.message}`;
    case "skip": return `${id} skipped: ${finding.skipReason ?? finding.message}`;
    case "pass": return `${id} passed`;
  }
}

/** A finding in words: its headline, then its trace. */
export function explainFinding(finding: Finding): string[] {
  return [findingHeadline(finding), ...explainTrace(finding.trace)];
}

/** Several findings in words, one block per finding (what `vigil eval --explain` prints). */
export function explainFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return "No policy reported anything.";
  return findings.map((f) => explainFinding(f).join("\n")).join("\n\n");
}

/**
 * The steps that say why a finding came out as it did, as Decision explanation steps: the
 * condition, and each top-level conjunct/disjunct that decided it (for a violation of `a && b`,
 * all of them; for a failed `a || b`, the false ones).
 */
export function explanationSteps(finding: Finding): ExplanationStep[] {
  const where = { policy: finding.policy, rule: finding.rule };
  const steps: ExplanationStep[] = [];
  for (const step of finding.trace) {
    if (step.kind === "match" || step.kind === "variable") continue;
    if (step.kind === "exception" && step.value !== true) continue;
    const kind = step.kind === "exception" ? "exception" : "condition";
    const children = step.children ?? [];
    const decisive = children.filter((c) => c.error !== undefined || c.value === step.value);
    if (decisive.length > 0 && step.error === undefined) {
      for (const child of decisive) steps.push({ kind, text: describeStep(child), ...where });
    } else {
      steps.push({ kind, text: describeStep(step), ...where });
    }
  }
  return steps;
}

/** A Kyverno pattern check's outcome (the step's value: pass, skip, fail or error) in words. */
function patternOutcome(value: unknown): string {
  switch (value) {
    case "pass": return "matched the resource";
    case "skip": return "did not apply (a conditional anchor's condition did not hold)";
    case "fail": return "did not match the resource";
    case undefined: return "was checked";
    default: return `gave ${formatValue(value)}`;
  }
}
