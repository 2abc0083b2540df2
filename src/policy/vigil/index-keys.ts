/**
 * What a native policy tells PolicySet's index, from static facts of its CEL programs
 * (`program.requiredValues`, `program.terms`):
 * - `indexKeys`: constraints `match` implies (`resource.kind == "Pod"`, `action in [...]`);
 * - whether `match` is nothing but those constraints, so that the index's own checks decide it
 *   (CompiledPolicy.evaluateIndexed skips evaluating it again);
 * - `reportKeys`: a constraint that the first `&&` operand of EVERY rule condition is, so that
 *   a request whose value at that path is present and outside the values cannot make any rule
 *   true (CompiledPolicy.reportKeys; docs/policies.md).
 *
 * Why these are sound (CEL semantics, docs/cel.md): `path == literal` and `path in [literals]`
 * never fail when the path is present (equality across types is false, not an error); `&&` stops
 * at its first false operand (operands are evaluated left to right in the compiled code, so
 * nothing after it runs, not even a runaway loop); a rule whose condition is false reports
 * nothing outside explain mode (no exception, message or output is evaluated).
 */
import type { IndexKey } from "../../core/policy.js";
import type { CelProgram } from "../cel/api.js";
import type { CompiledExpression, NativePolicyPlan } from "./plan.js";

/** A key the shared activation can answer: not a policy variable nor `now`, literal values only. */
function indexable(key: IndexKey): boolean {
  const root = key.path.split(".")[0];
  // Policy variables and `now` are not part of the shared activation: they cannot be indexed.
  if (root === "variables" || root === "now" || key.values.length === 0) return false;
  return key.values.every((v) => typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)));
}

/** Index keys of a policy: the indexable constraints its `match` implies. */
export function indexKeysOf(match: CompiledExpression | undefined): IndexKey[] {
  if (match === undefined) return [];
  return match.program.requiredValues.filter(indexable);
}

/**
 * The constraint an operand IS, when it is exactly `path == literal`, `literal == path` or
 * `path in [literals]`. requiredValues follows `&&` only, and a top-level operand is never an
 * `&&` itself, so an operand reporting exactly one constraint is that constraint.
 */
function constraintOf(program: CelProgram): IndexKey | undefined {
  const keys = program.requiredValues;
  return keys.length === 1 ? keys[0] : undefined;
}

/** The operands of a top-level `&&` chain; the program itself when it is no chain; undefined for `||`. */
function conjuncts(program: CelProgram): readonly CelProgram[] | undefined {
  const terms = program.terms;
  if (terms === undefined) return [program];
  return terms.operator === "&&" ? terms.parts : undefined;
}

/**
 * True when `match` is nothing but `indexKeys` (each `&&` operand is one of those constraints):
 * with every key's value present and one of its values, the match is true.
 */
export function matchIsIndexKeys(match: CompiledExpression | undefined, indexKeys: readonly IndexKey[]): boolean {
  if (match === undefined || indexKeys.length === 0) return false;
  const operands = conjuncts(match.program);
  if (operands === undefined) return false;
  return operands.every((operand) => {
    const key = constraintOf(operand);
    return key !== undefined && indexKeys.some((k) => k.path === key.path);
  });
}

/**
 * The report keys of a plan (see the module comment), or none. Needs `match` to be absent or
 * nothing but index keys: any other match could fail with an error finding on its own.
 */
export function reportKeysOf(plan: NativePolicyPlan, matchIsKeys: boolean): IndexKey[] {
  if ((plan.match !== undefined && !matchIsKeys) || plan.rules.length === 0) return [];
  let path: string | undefined;
  const values = new Set<string | number | boolean>();
  for (const rule of plan.rules) {
    const program = rule.condition.program;
    if (program.requiredValues.length === 0) return [];
    const first = conjuncts(program)?.[0];
    const key = first === undefined ? undefined : constraintOf(first);
    if (key === undefined || !indexable(key) || (path !== undefined && key.path !== path)) return [];
    path = key.path;
    for (const v of key.values) values.add(v);
    // A condition longer than the cost limit fails before its first operand runs: never skipped.
    const probe = program.evaluate({});
    if (!probe.ok && probe.error.kind === "cost_exceeded") return [];
  }
  return path === undefined ? [] : [{ path, values: [...values] }];
}
