/**
 * Evaluation of a compiled native policy (the hot path). INVARIANT: never throws; allocates
 * nothing but the outcome objects of the CEL programs when the policy has nothing to report.
 *
 * Semantics (docs/policies.md): `match` true → the policy applies; a missing attribute in `match`
 * → not matched; other errors → one `error` finding. A rule condition true → violated (unless an
 * exception holds, which makes it `skip`); an error → `error` finding for that rule only.
 */
import type { Context } from "../../core/context.js";
import type { Finding, TraceStep } from "../../core/finding.js";
import type { EvaluateOptions, RuleMode, Severity } from "../../core/policy.js";
import { severities } from "../../core/policy.js";
import type { CelEvalError, CelEvaluateOptions, CelOutcome } from "../cel/api.js";
import { raiseCelError } from "../cel/index.js";
import { activationFor, withVariables, type Activation } from "../activation.js";
import type { CompiledExpression, CompiledRule, NativePolicyPlan } from "./plan.js";
import { renderValue } from "./template.js";
import { expressionStep, traceValue } from "./trace.js";

const rawOnly: CelEvaluateOptions = Object.freeze({ raw: true });

/** Shared empty result. INVARIANT: callers never mutate a returned findings array. */
const noFindings: Finding[] = Object.freeze([]) as unknown as Finding[];

const missingKinds = new Set(["no_such_key", "no_such_field", "undeclared_reference"]);
// Compatibility: a CEL implementation that reports every error as `other` still says why in words.
const missingMessage = /no such (key|field|attribute)|unresolved attribute|field not found|undeclared reference|undefined field|key not found/i;

/** True when the error only says an attribute or variable is absent (→ "not matched" in `match`). */
export function isMissingAttributeError(error: CelEvalError): boolean {
  return missingKinds.has(error.kind) || (error.kind === "other" && missingMessage.test(error.message));
}

/** Per-evaluation state: the activation and, for policies with variables, the lazily computed values. */
class Frame {
  readonly activation: Activation;
  private readonly values: Record<string, unknown> | undefined;
  private readonly done: Uint8Array | undefined;
  private readonly failures: (CelEvalError | undefined)[] | undefined;

  constructor(private readonly plan: NativePolicyPlan, base: Activation, readonly options: CelEvaluateOptions | undefined) {
    if (plan.variables.length === 0) {
      this.activation = base;
      this.values = undefined;
      this.done = undefined;
      this.failures = undefined;
    } else {
      this.values = {};
      this.activation = withVariables(base, this.values);
      this.done = new Uint8Array(plan.variables.length);
      this.failures = [];
    }
  }

  /**
   * Evaluates an expression after the variables it reads (each at most once per evaluation).
   * `raw`: keep the CEL runtime value (variables), so a timestamp or a big int reaches the
   * expressions that read it unchanged.
   */
  run(expr: CompiledExpression, raw = false): CelOutcome {
    if (expr.deps.length > 0) this.need(expr.deps);
    return expr.program.evaluate(this.activation, raw ? this.rawOptions() : this.options);
  }

  private rawOptions(): CelEvaluateOptions {
    return this.options === undefined ? rawOnly : { ...this.options, raw: true };
  }

  need(deps: readonly number[]): void {
    for (const d of deps) this.variable(d);
  }

  private variable(index: number): void {
    if (this.done === undefined || this.done[index] === 1) return;
    this.done[index] = 1;
    const variable = this.plan.variables[index];
    if (variable === undefined) return;
    const outcome = this.run(variable.expr, true);
    if (outcome.ok) (this.values as Record<string, unknown>)[variable.name] = outcome.value;
    else {
      (this.failures as (CelEvalError | undefined)[])[index] = outcome.error;
      // Reading a failed variable (`variables.x`, `has(variables.x)`, `"x" in variables`) raises its
      // error in the reading expression, where CEL absorbs it or not as for any other error
      // (cost_exceeded never); an expression that does not read it is not blamed for it.
      const error: CelEvalError = { kind: outcome.error.kind, message: `variables.${variable.name}: ${outcome.error.message}` };
      Object.defineProperty(this.values, variable.name, { get: () => raiseCelError(error), enumerable: true, configurable: true });
    }
  }

  /** Trace steps of the variables computed so far that `deps` reach, in declaration order. */
  variableSteps(deps: readonly number[]): TraceStep[] {
    if (this.done === undefined || deps.length === 0) return [];
    const reached = new Set<number>();
    const visit = (d: number): void => {
      if (reached.has(d)) return;
      reached.add(d);
      for (const inner of this.plan.variables[d]?.expr.deps ?? []) visit(inner);
    };
    deps.forEach(visit);
    const steps: TraceStep[] = [];
    for (const d of [...reached].sort((a, b) => a - b)) {
      const variable = this.plan.variables[d];
      if (variable === undefined || this.done[d] !== 1) continue;
      const failure = this.failures?.[d];
      steps.push({ kind: "variable", expr: `variables.${variable.name} = ${variable.expr.source}`, ...(failure === undefined ? { value: traceValue(this.values?.[variable.name]) } : { error: failure.message }) });
    }
    return steps;
  }
}

function strongest(plan: NativePolicyPlan): { mode: RuleMode; severity: Severity } {
  let mode: RuleMode = "audit";
  let severity: Severity = "info";
  const modeRank: Record<RuleMode, number> = { audit: 0, warn: 1, deny: 2 };
  for (const rule of plan.rules) {
    if (modeRank[rule.spec.effect] > modeRank[mode]) mode = rule.spec.effect;
    if (severities.indexOf(rule.spec.severity) > severities.indexOf(severity)) severity = rule.spec.severity;
  }
  return { mode, severity };
}

function finding(plan: NativePolicyPlan, ctx: Context, rule: string, mode: RuleMode, severity: Severity, fields: Pick<Finding, "effect" | "message" | "trace"> & Partial<Finding>): Finding {
  const subject = ctx.event.subject;
  return {
    policy: plan.meta.name,
    rule,
    revision: plan.meta.revision,
    language: "vigil",
    mode,
    severity,
    ...(subject === undefined ? {} : { resource: subject }),
    ...fields,
  };
}

function renderMessage(frame: Frame, rule: CompiledRule, fallback: string): string {
  if (rule.message === undefined) return fallback;
  frame.need(rule.messageDeps);
  let text = "";
  for (const part of rule.message.parts) {
    if (typeof part === "string") { text += part; continue; }
    const outcome = part.program.evaluate(frame.activation, frame.options);
    text += outcome.ok ? renderValue(outcome.value) : `<error: ${outcome.error.message}>`;
  }
  return text;
}

function describeValue(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "a list" : typeof value === "object" ? "a map" : `${typeof value} ${JSON.stringify(traceValue(value))}`;
}

/**
 * Evaluates one compiled native policy against a context; see the module comment for semantics.
 * `matched`: the caller has established that `match` is true (PolicySet's index, for a match that
 * is nothing but its index keys); it is not evaluated again. Explain mode evaluates it anyway, for
 * its trace step.
 */
export function evaluateNativePolicy(plan: NativePolicyPlan, ctx: Context, options?: EvaluateOptions, matched = false): Finding[] {
  try {
    return evaluate(plan, ctx, options, matched);
  } catch (cause) {
    const { mode, severity } = strongest(plan);
    const message = cause instanceof Error ? cause.message : String(cause);
    return [finding(plan, ctx, "(policy)", mode, severity, { effect: "error", message: `policy ${plan.meta.name} failed: ${message}`, trace: [], error: { code: "VIGIL_INTERNAL", message } })];
  }
}

function evaluate(plan: NativePolicyPlan, ctx: Context, options: EvaluateOptions | undefined, matched: boolean): Finding[] {
  const explain = options?.includePasses === true;
  const celOptions = options?.costLimit === undefined ? undefined : { costLimit: options.costLimit };
  const frame = new Frame(plan, activationFor(ctx), celOptions);
  // A match known to be true leaves matchStep undefined, as a true match does on the hot path.
  const match = matched && !explain ? undefined : plan.match;
  let matchStep: TraceStep | undefined;
  if (match !== undefined) {
    const outcome = frame.run(match);
    if (outcome.ok && outcome.value === true) {
      if (explain) matchStep = expressionStep("match", match.program, outcome, frame.activation, false);
    } else if (outcome.ok && outcome.value === false) {
      if (!explain) return noFindings;
      const step = expressionStep("match", match.program, outcome, frame.activation, true);
      return plan.rules.map((rule) => finding(plan, ctx, rule.spec.name, rule.spec.effect, rule.spec.severity, { effect: "skip", message: `not matched: ${match.source} was false`, skipReason: "not matched", trace: [...frame.variableSteps(match.deps), step] }));
    } else if (!outcome.ok && isMissingAttributeError(outcome.error)) {
      if (!explain) return noFindings;
      const step = expressionStep("match", match.program, outcome, frame.activation, true);
      return plan.rules.map((rule) => finding(plan, ctx, rule.spec.name, rule.spec.effect, rule.spec.severity, { effect: "skip", message: `not matched: ${outcome.error.message}`, skipReason: `not matched (${outcome.error.message})`, trace: [...frame.variableSteps(match.deps), step] }));
    } else {
      const { mode, severity } = strongest(plan);
      const error = outcome.ok ? `match must evaluate to a boolean, got ${describeValue(outcome.value)}` : outcome.error.message;
      const step = expressionStep("match", match.program, outcome.ok ? { ok: false, error: { kind: "invalid_argument", message: error } } : outcome, frame.activation, true);
      return [finding(plan, ctx, "(match)", mode, severity, { effect: "error", message: `policy ${plan.meta.name}: spec.match failed: ${error}`, trace: [...frame.variableSteps(match.deps), step], error: { code: outcome.ok ? "invalid_argument" : outcome.error.kind, message: error } })];
    }
  }
  let findings: Finding[] | undefined;
  for (const rule of plan.rules) {
    const result = evaluateRule(plan, ctx, frame, rule, explain, matchStep);
    if (result !== undefined) (findings ??= []).push(result);
  }
  return findings ?? noFindings;
}

function evaluateRule(plan: NativePolicyPlan, ctx: Context, frame: Frame, rule: CompiledRule, explain: boolean, matchStep: TraceStep | undefined): Finding | undefined {
  const condition = rule.condition;
  const outcome = frame.run(condition);
  if (outcome.ok && outcome.value === false) {
    if (!explain) return undefined;
    return finding(plan, ctx, rule.spec.name, rule.spec.effect, rule.spec.severity, { effect: "pass", message: `rule ${rule.spec.name} passed`, trace: trace(plan, frame, matchStep, condition, outcome, []) });
  }
  if (!outcome.ok || outcome.value !== true) {
    const error = outcome.ok ? { kind: "invalid_argument", message: `condition must evaluate to a boolean, got ${describeValue(outcome.value)}` } : outcome.error;
    return finding(plan, ctx, rule.spec.name, rule.spec.effect, rule.spec.severity, {
      effect: "error",
      message: `policy ${plan.meta.name} rule ${rule.spec.name}: ${condition.field} failed: ${error.message}`,
      trace: [...headSteps(plan, frame, matchStep), ...trace(plan, frame, matchStep, condition, { ok: false, error: error as CelEvalError }, [])],
      error: { code: error.kind, message: error.message },
    });
  }
  // Violated: the first exception that holds turns it into a skip.
  const exceptionSteps: TraceStep[] = [];
  for (const exception of rule.exceptions) {
    const result = frame.run(exception.when);
    if (explain) exceptionSteps.push(expressionStep("exception", exception.when.program, result, frame.activation, false));
    if (result.ok && result.value === true) {
      if (!explain) return undefined;
      return finding(plan, ctx, rule.spec.name, rule.spec.effect, rule.spec.severity, { effect: "skip", message: `excepted by "${exception.name}"`, skipReason: `excepted by exception "${exception.name}"`, trace: trace(plan, frame, matchStep, condition, outcome, exceptionSteps) });
    }
    if (result.ok && result.value === false) continue;
    if (!result.ok && isMissingAttributeError(result.error)) continue;
    const message = result.ok ? `exception "${exception.name}" must evaluate to a boolean, got ${describeValue(result.value)}` : `exception "${exception.name}" failed: ${result.error.message}`;
    const step = expressionStep("exception", exception.when.program, result, frame.activation, false);
    return finding(plan, ctx, rule.spec.name, rule.spec.effect, rule.spec.severity, {
      effect: "error", message: `policy ${plan.meta.name} rule ${rule.spec.name}: ${message}`,
      trace: [...headSteps(plan, frame, matchStep), ...trace(plan, frame, matchStep, condition, outcome, explain ? exceptionSteps : [step])],
      error: { code: result.ok ? "invalid_argument" : result.error.kind, message },
    });
  }
  return violation(plan, ctx, frame, rule, matchStep, outcome, exceptionSteps);
}

/**
 * A violation finding. Its trace is built on first read: `trace` is an own enumerable accessor
 * (JSON, spreads and equality see it like a plain field), so a caller that only needs the verdict
 * never pays for re-evaluating the condition's terms. INVARIANT: the trace reads the same
 * activation and the variables this evaluation already computed, so it is the same whenever it
 * is built.
 *
 * A class with one shared accessor rather than an object literal with `get trace()`: a literal
 * getter is a new closure per object, which gives every violation its own hidden class (V8 then
 * keeps them as slow dictionaries, and creating one cost about 1 µs); a shared accessor keeps one
 * shape and costs a fraction of that.
 */
/** What a violation's trace is built from, kept until (and after) the first read (an object literal: cheaper to create than a class with fields). */
interface TraceState {
  readonly plan: NativePolicyPlan;
  readonly frame: Frame;
  readonly matchStep: TraceStep | undefined;
  readonly condition: CompiledExpression;
  readonly outcome: CelOutcome;
  readonly exceptionSteps: readonly TraceStep[];
  notes: readonly TraceStep[];
  built: TraceStep[] | undefined;
}

const noSteps: readonly TraceStep[] = Object.freeze([]);

class Violation {
  declare readonly policy: string;
  declare readonly rule: string;
  declare readonly revision: string;
  declare readonly language: "vigil";
  declare readonly effect: "violation";
  declare readonly mode: RuleMode;
  declare readonly severity: Severity;
  declare readonly message: string;
  declare readonly trace: TraceStep[];
  declare outputs?: Readonly<Record<string, unknown>>;
  declare resource?: string;
  declare remediation?: NonNullable<Finding["remediation"]>;
  // One private field holding the trace state: each private field is a property added to every
  // violation (eight of them cost a quarter of creating one).
  #state: TraceState;

  constructor(plan: NativePolicyPlan, frame: Frame, rule: CompiledRule, matchStep: TraceStep | undefined, outcome: CelOutcome, exceptionSteps: readonly TraceStep[], message: string) {
    // Plain assignments in the Finding field order (JSON output keeps it).
    const self = this as { -readonly [K in keyof Finding]: Finding[K] };
    self.policy = plan.meta.name;
    self.rule = rule.spec.name;
    self.revision = plan.meta.revision;
    self.language = "vigil";
    self.effect = "violation";
    self.mode = rule.spec.effect;
    self.severity = rule.spec.severity;
    self.message = message;
    Object.defineProperty(this, "trace", traceProperty);
    this.#state = { plan, frame, matchStep, condition: rule.condition, outcome, exceptionSteps, notes: noSteps, built: undefined };
  }

  /** Notes appended to the trace (outputs that failed to evaluate). */
  setNotes(notes: readonly TraceStep[]): void {
    this.#state.notes = notes;
  }

  static buildTrace(finding: unknown): TraceStep[] {
    // A getter read through another receiver (an object whose prototype is a violation) has no trace state.
    if (!(finding instanceof Object) || !(#state in finding)) return [];
    const state = finding.#state;
    if (state.built !== undefined) return state.built;
    const { plan, frame, matchStep } = state;
    state.built = [...headSteps(plan, frame, matchStep), ...trace(plan, frame, matchStep, state.condition, state.outcome, state.exceptionSteps), ...state.notes];
    return state.built;
  }
}

const traceProperty: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: unknown): TraceStep[] { return Violation.buildTrace(this); },
};

function violation(plan: NativePolicyPlan, ctx: Context, frame: Frame, rule: CompiledRule, matchStep: TraceStep | undefined, outcome: CelOutcome, exceptionSteps: readonly TraceStep[]): Finding {
  const found = new Violation(plan, frame, rule, matchStep, outcome, exceptionSteps, renderMessage(frame, rule, rule.defaultMessage));
  if (plan.outputs.length > 0) {
    const outputs: Record<string, unknown> = {};
    let notes: TraceStep[] | undefined;
    for (const output of plan.outputs) {
      const result = frame.run(output.expr);
      if (result.ok) outputs[output.name] = traceValue(result.value);
      else {
        outputs[output.name] = null;
        (notes ??= []).push({ kind: "note", expr: `outputs.${output.name} = ${output.expr.source}`, error: result.error.message });
      }
    }
    found.outputs = outputs;
    if (notes !== undefined) found.setNotes(notes);
  }
  const subject = ctx.event.subject;
  const remediation = plan.meta.remediation;
  if (subject !== undefined) found.resource = subject;
  if (remediation !== undefined) found.remediation = remediation;
  return found;
}

/** The match step of a trace when the hot path did not keep one (the match was true). */
function headSteps(plan: NativePolicyPlan, frame: Frame, matchStep: TraceStep | undefined): TraceStep[] {
  return matchStep === undefined && plan.match !== undefined ? [expressionStep("match", plan.match.program, { ok: true, value: true }, frame.activation, false)] : [];
}

function trace(plan: NativePolicyPlan, frame: Frame, matchStep: TraceStep | undefined, condition: CompiledExpression, outcome: CelOutcome, extra: readonly TraceStep[]): TraceStep[] {
  const steps: TraceStep[] = [];
  if (matchStep !== undefined) steps.push(matchStep);
  steps.push(...frame.variableSteps(plan.match === undefined ? condition.deps : [...plan.match.deps, ...condition.deps]));
  steps.push(expressionStep("condition", condition.program, outcome, frame.activation, true));
  steps.push(...extra);
  return steps;
}
