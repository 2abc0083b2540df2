/**
 * Compiles validated native policy documents into CompiledPolicy objects: every CEL expression
 * (match, variables, conditions, message templates, exceptions, remediation targets, adaptive
 * `when`) is compiled once here; a syntax error names the policy, the field and the line/column
 * in the file. Index keys come from `match`, report keys from the rule conditions (index-keys.ts).
 */
import { createHash } from "node:crypto";
import { canonicalJson as canonicalJsonOf, PLAIN_FORM } from "../../core/canonical-json.js";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import { VigilError } from "../../core/errors.js";
import type { PolicyMeta } from "../../core/policy.js";
import type { CelEnvironment, CelProgram } from "../cel/api.js";
import type { CompileResult, PolicyDocument } from "../language.js";
import { celErrorPosition, fieldPosition, keyPosition, positionInScalar, type FilePosition } from "./positions.js";
import { parsePolicyDocument, policyNameOf, type ExceptionSpec, type NativePolicySpec, type RuleSpec } from "./schema.js";
import { didYouMean } from "./suggest.js";
import { splitTemplate, type CompiledTemplate, type TemplatePart } from "./template.js";
import { formatPath, type FieldPath } from "./validate.js";
import { evaluateNativePolicy } from "./evaluate.js";
import { indexKeysOf, matchIsIndexKeys, reportKeysOf } from "./index-keys.js";
import type { CompiledExpression, CompiledRule, NativePolicyPlan } from "./plan.js";

export type { CompiledExpression, CompiledRule, NativePolicyPlan } from "./plan.js";

/** A compiled native policy: a CompiledPolicy that also keeps its spec (for the test runner and lint). */
export interface NativeCompiledPolicy extends CompiledPolicy {
  readonly spec: NativePolicySpec;
  readonly plan: NativePolicyPlan;
  readonly file: string;
  readonly documentIndex: number;
}

export function isNativePolicy(policy: CompiledPolicy): policy is NativeCompiledPolicy {
  return policy.meta.language === "vigil" && "plan" in policy && "spec" in policy;
}

interface Problem { readonly path: FieldPath; readonly message: string; readonly hint?: string; readonly position?: FilePosition; readonly atKey?: boolean }

/** Canonical JSON (sorted keys), the basis of revisions: core's, in the form revisions always had ({@link PLAIN_FORM}). */
export function canonicalJson(value: unknown): string {
  return canonicalJsonOf(value, PLAIN_FORM);
}

/** Content hash of a policy document: changes whenever the policy's content changes (not its formatting). */
export function revisionOf(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 16);
}

/** Builds the one error of a broken document: names file, policy, field and line/column, lists every problem. */
export function documentError(doc: PolicyDocument, code: "VIGIL_POLICY_LOAD" | "VIGIL_POLICY_COMPILE", problems: readonly Problem[]): VigilError {
  const policy = policyNameOf(doc.value);
  const positionOf = (p: Problem): FilePosition | undefined => p.position ?? (p.atKey === true ? keyPosition(doc, p.path) : fieldPosition(doc, p.path));
  const where = (p: Problem): string => {
    const position = positionOf(p);
    return `${doc.file}${position === undefined ? "" : `:${position.line}:${position.column}`}`;
  };
  const label = policy === undefined ? `document ${doc.index}` : `policy "${policy}"`;
  const lines = problems.map((p) => `${where(p)}: ${label}: ${formatPath(p.path)} ${p.message}`);
  const first = problems[0] as Problem;
  const position = positionOf(first);
  return new VigilError(code, lines.join("\n"), {
    file: doc.file,
    field: formatPath(first.path),
    ...(policy === undefined ? {} : { policy }),
    ...(position === undefined ? {} : { line: position.line, column: position.column }),
    ...(first.hint === undefined ? {} : { hint: first.hint }),
  });
}

/**
 * The policy variables an expression reads, from its references (complete by the CelProgram
 * contract, so a string literal, a comment or a macro variable named `variables` is no read):
 * `variables.x...` reads x; `whole`: `variables` is read as a whole (`size(variables)`,
 * `variables[k]`, a macro over it), which reads every variable.
 */
function referencedVariables(program: CelProgram): { names: Set<string>; whole: boolean } {
  const names = new Set<string>();
  let whole = false;
  for (const reference of program.references) {
    if (reference === "variables") whole = true;
    else if (reference.startsWith("variables.")) names.add(reference.slice("variables.".length).split(".")[0] as string);
  }
  return { names, whole };
}

class PolicyCompiler {
  readonly problems: Problem[] = [];
  constructor(private readonly doc: PolicyDocument, private readonly env: CelEnvironment, private readonly policyName: string, private readonly variableNames: readonly string[]) {}

  /** Compiles `source` found at `path`; `visible` = how many variables it may use (earlier ones only). */
  expression(source: string, path: FieldPath, visible: number, offset?: { line: number; column: number }): CompiledExpression | undefined {
    const field = formatPath(path);
    let program: CelProgram;
    try {
      program = this.env.compile(source, { origin: `policy ${this.policyName} / ${field}` });
    } catch (error) {
      const inner = celErrorPosition(error);
      const base = offset ?? { line: 1, column: 1 };
      const position = inner === undefined ? undefined
        : positionInScalar(this.doc, path, base.line + inner.line - 1, inner.line === 1 ? base.column + inner.column - 1 : inner.column);
      const message = (error instanceof Error ? error.message : String(error)).replace(/^CEL syntax error in [^:]*: /, "");
      this.problems.push({ path, message: `has a CEL error: ${message}`, hint: "fix the expression; see docs/cel.md", ...(position === undefined ? {} : { position }) });
      return undefined;
    }
    const { names, whole } = referencedVariables(program);
    // The whole map: every variable this expression may use.
    const deps: number[] = whole ? Array.from({ length: visible }, (_, index) => index) : [];
    for (const name of names) {
      const index = this.variableNames.indexOf(name);
      if (index < 0) {
        this.problems.push({ path, message: `uses variables.${name}, which is not declared${didYouMean(name, this.variableNames)}`, hint: "declare it under spec.variables" });
      } else if (index >= visible) {
        this.problems.push({ path, message: `uses variables.${name}, declared at or after this point; a variable may use earlier variables only`, hint: "move the variable up in spec.variables" });
      } else if (!deps.includes(index)) deps.push(index);
    }
    return { source, field, program, deps: deps.sort((a, b) => a - b) };
  }

  template(source: string, path: FieldPath, visible: number): { template: CompiledTemplate; deps: number[] } | undefined {
    const parts: TemplatePart[] = [];
    const deps = new Set<number>();
    let ok = true;
    for (const piece of splitTemplate(source)) {
      if (piece.text !== undefined) {
        // A text piece runs to the next {{, so one holding {{ is a part never closed (rendered as literal text).
        const open = piece.text.indexOf("{{");
        if (open >= 0) {
          const at = offsetToLineColumn(source, piece.offset + open);
          const position = positionInScalar(this.doc, path, at.line, at.column);
          this.problems.push({ path, message: "has '{{' without a closing '}}'; close the part, or write a literal {{ as {{ '{{' }}", hint: "a template part is {{ cel }}", ...(position === undefined ? {} : { position }) });
          ok = false;
        }
        parts.push(piece.text);
        continue;
      }
      const expression = this.expression(piece.expression ?? "", path, visible, offsetToLineColumn(source, piece.offset));
      if (expression === undefined) { ok = false; continue; }
      for (const d of expression.deps) deps.add(d);
      parts.push({ program: expression.program, offset: piece.offset });
    }
    return ok ? { template: { source, parts }, deps: [...deps].sort((a, b) => a - b) } : undefined;
  }
}

/** 1-based line and column (in code points, as CEL counts them) of an offset in a template. */
function offsetToLineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split("\n");
  return { line: lines.length, column: [...(lines[lines.length - 1] as string)].length + 1 };
}

function compileDocument(doc: PolicyDocument, env: CelEnvironment): NativeCompiledPolicy | VigilError {
  const parsed = parsePolicyDocument(doc.value);
  if (parsed.spec === undefined) return documentError(doc, "VIGIL_POLICY_LOAD", parsed.issues);
  const spec = parsed.spec;
  const variableNames = spec.variables.map((v) => v.name);
  const c = new PolicyCompiler(doc, env, spec.name, variableNames);
  const all = variableNames.length;

  const match = spec.match === undefined ? undefined : c.expression(spec.match, ["spec", "match"], all);
  const variables = spec.variables.map((v, i) => ({ name: v.name, expr: c.expression(v.expression, ["spec", "variables", i, "expression"], i) }));
  const exceptionExprs = spec.exceptions.map((e: ExceptionSpec, i) => ({
    spec: e,
    when: c.expression(e.when, typeof (doc.value as { spec: { exceptions: unknown[] } }).spec.exceptions[i] === "string" ? ["spec", "exceptions", i] : ["spec", "exceptions", i, "when"], all),
  }));
  const rules = spec.rules.map((rule, i) => {
    const condition = c.expression(rule.condition, ["spec", "rules", i, "condition"], all);
    const message = rule.message === undefined ? undefined : c.template(rule.message, ["spec", "rules", i, "message"], all);
    return { rule, condition, message };
  });
  const outputs = spec.outputs.map((o, i) => ({ name: o.name, expr: c.expression(o.expression, ["spec", "outputs", i, "expression"], all) }));
  spec.remediation.forEach((r, i) => {
    if (r.target !== undefined) c.expression(r.target, ["spec", "remediation", i, "target"], all);
    // Parameter templates are rendered later by the agent runtime, at any depth of lists and maps
    // (act/plan.ts renderParams); compile them now so errors show at load.
    const templates = (value: unknown, path: FieldPath): void => {
      if (typeof value === "string") {
        if (value.includes("{{")) c.template(value, path, all);
      } else if (Array.isArray(value)) value.forEach((item, j) => templates(item, [...path, j]));
      else if (value !== null && typeof value === "object") for (const [key, item] of Object.entries(value)) templates(item, [...path, key]);
    };
    templates(r.params ?? {}, ["spec", "remediation", i, "params"]);
  });
  spec.enforcement?.adaptive?.forEach((a, i) => c.expression(a.when, ["spec", "enforcement", "adaptive", i, "when"], all));
  if (c.problems.length > 0) return documentError(doc, "VIGIL_POLICY_COMPILE", c.problems);

  const compiledRules: CompiledRule[] = rules.map(({ rule, condition, message }) => ({
    spec: rule,
    condition: condition as CompiledExpression,
    message: message?.template,
    messageDeps: message?.deps ?? [],
    defaultMessage: `policy ${spec.name} rule ${rule.name} violated`,
    exceptions: exceptionExprs
      .filter((e) => e.spec.rules === undefined || e.spec.rules.includes(rule.name))
      .map((e) => ({ name: e.spec.name, when: e.when as CompiledExpression })),
  }));
  const meta: PolicyMeta = {
    name: spec.name,
    language: "vigil",
    revision: revisionOf(doc.value),
    source: `${doc.file} (document ${doc.index})`,
    on: spec.on,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    ...(spec.owner === undefined ? {} : { owner: spec.owner }),
    ...(spec.labels === undefined ? {} : { labels: spec.labels }),
    ...(spec.enforcement === undefined ? {} : { enforcement: spec.enforcement }),
    ...(spec.remediation.length === 0 ? {} : { remediation: spec.remediation }),
    ...(spec.escalation.length === 0 ? {} : { escalation: spec.escalation }),
  };
  const plan: NativePolicyPlan = {
    meta,
    match,
    variables: variables.map((v) => ({ name: v.name, expr: v.expr as CompiledExpression })),
    rules: compiledRules,
    outputs: outputs.map((o) => ({ name: o.name, expr: o.expr as CompiledExpression })),
  };
  const indexKeys = indexKeysOf(match);
  const matchIsKeys = matchIsIndexKeys(match, indexKeys);
  const reportKeys = reportKeysOf(plan, matchIsKeys);
  return {
    meta,
    spec,
    plan,
    file: doc.file,
    documentIndex: doc.index,
    ...(indexKeys.length === 0 ? {} : { indexKeys }),
    ...(reportKeys.length === 0 ? {} : { reportKeys }),
    evaluate: (ctx, options) => evaluateNativePolicy(plan, ctx, options),
    evaluateIndexed: matchIsKeys ? (ctx, options) => evaluateNativePolicy(plan, ctx, options, true) : (ctx, options) => evaluateNativePolicy(plan, ctx, options),
  };
}

/** Compiles native Policy documents; a broken document yields one error and never stops the others. */
export function compileNativeDocuments(documents: readonly PolicyDocument[], env: CelEnvironment): CompileResult {
  const policies: NativeCompiledPolicy[] = [];
  const errors: VigilError[] = [];
  for (const doc of documents) {
    let result: NativeCompiledPolicy | VigilError;
    try {
      result = compileDocument(doc, env);
    } catch (cause) {
      result = new VigilError("VIGIL_POLICY_COMPILE", `${doc.file}: document ${doc.index}: could not compile: ${cause instanceof Error ? cause.message : String(cause)}`, { file: doc.file }, cause);
    }
    if (result instanceof VigilError) errors.push(result);
    else policies.push(result);
  }
  return { policies, errors };
}
