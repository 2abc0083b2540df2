/**
 * Mining repeated overrides and exceptions into candidate policy changes: an exception clause
 * (`spec.exceptions: [{ name, when, rules }]`) whose CEL condition holds for every overridden
 * decision and for as few of the policy's other violations as possible — never for one that a
 * person confirmed (true positive or incident). Pure over the records it is given.
 */
import type { Decision } from "../core/decision.js";
import type { PolicyException } from "../core/review.js";

export interface OverriddenDecision {
  readonly decision: Decision;
  /** Override ids (or feedback ids) that allowed or disputed it. */
  readonly refs: readonly string[];
  readonly reasons: readonly string[];
}

export interface CandidateCondition {
  /** CEL, over the policy's activation (`input`, `event`). */
  readonly when: string;
  /** Plain words: "input.userIdentity.userName is \"ci-bot\"". */
  readonly describe: string;
  /** Other (not overridden) violations of the rule the condition also matches. */
  readonly collateral: number;
  /** ...of which people confirmed (must be 0 for a proposal). */
  readonly confirmedCollateral: number;
}

type Leaf = string | boolean;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** CEL reserved words that cannot follow a dot. */
const RESERVED = new Set(["true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"]);

/** CEL text for a path under `input`: `input.a.b`, `input["x-amz-acl"]`. */
export function celPath(root: string, path: readonly string[]): string {
  return root + path.map((key) => (IDENTIFIER.test(key) && !RESERVED.has(key) ? `.${key}` : `[${JSON.stringify(key)}]`)).join("");
}

/** String and boolean leaves of a JSON value, by path (arrays are not descended), at most `max`. */
export function leavesOf(value: unknown, maxDepth = 6, max = 400): Map<string, { path: string[]; value: Leaf }> {
  const out = new Map<string, { path: string[]; value: Leaf }>();
  const walk = (node: unknown, path: string[]): void => {
    if (out.size >= max) return;
    if (typeof node === "string" || typeof node === "boolean") {
      out.set(JSON.stringify(path), { path, value: node });
      return;
    }
    if (node === null || typeof node !== "object" || Array.isArray(node) || path.length >= maxDepth) return;
    for (const [key, child] of Object.entries(node as Record<string, unknown>)) walk(child, [...path, key]);
  };
  walk(value, []);
  return out;
}

const literal = (value: Leaf): string => (typeof value === "string" ? JSON.stringify(value) : String(value));

function condition(expr: string, values: readonly Leaf[]): string {
  return values.length === 1 ? `${expr} == ${literal(values[0] as Leaf)}` : `${expr} in [${values.map(literal).join(", ")}]`;
}

export interface MineInput {
  readonly overridden: readonly OverriddenDecision[];
  /**
   * The rule's other violations (not overridden), with whether a person confirmed them: recorded
   * decisions, and the policy's own test cases that expect the violation (confirmed: see `testViolations`).
   */
  readonly others: readonly { readonly decision: Pick<Decision, "input" | "subject">; readonly confirmed: boolean }[];
  /** Most distinct values a condition may list (default 3). */
  readonly maxValues?: number;
}

/** The value at a JSON Pointer (`/input/user/ssn`) under `root`. */
function atPointer(root: unknown, pointer: string): unknown {
  let node = root;
  for (const raw of pointer.split("/").slice(1)) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[raw.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node;
}

/**
 * The redaction markers the decision record wrote in place of masked values (read at the
 * decisions' `masking.redacted` paths): stored, never carried by a live event, so a condition on
 * one would never hold (scrubbed copies elsewhere in the input carry the same marker).
 */
function maskMarkers(decisions: readonly Pick<Decision, "masking">[]): Set<Leaf> {
  const markers = new Set<Leaf>();
  for (const decision of decisions) {
    for (const pointer of decision.masking?.redacted ?? []) {
      const value = atPointer(decision, pointer);
      if (typeof value === "string") markers.add(value);
    }
  }
  return markers;
}

/**
 * The best condition covering every overridden decision: no confirmed violation matched, then the
 * fewest other violations matched, then the fewest values, then the shortest path. Candidates:
 * each string/boolean field of the recorded input, and the event subject. Undefined when none.
 */
export function bestCondition(input: MineInput): CandidateCondition | undefined {
  const maxValues = input.maxValues ?? 3;
  const overridden = input.overridden.map((o) => o.decision);
  if (overridden.length === 0) return undefined;
  const leafSets = overridden.map((d) => leavesOf(d.input));
  const markers = maskMarkers(overridden);
  type Leaves = Map<string, { path: string[]; value: Leaf }>;
  const candidates: { when: string; describe: string; matches: (d: Pick<Decision, "input" | "subject">, leaves: Leaves) => boolean; values: number; length: number }[] = [];

  const first = leafSets[0] as Map<string, { path: string[]; value: Leaf }>;
  for (const [key, leaf] of first) {
    const values: Leaf[] = [];
    let everywhere = true;
    for (const leaves of leafSets) {
      const found = leaves.get(key);
      if (found === undefined) { everywhere = false; break; }
      if (!values.includes(found.value)) values.push(found.value);
    }
    if (!everywhere || values.length > maxValues || (values.length > 1 && values.length * 2 > overridden.length) || values.some((v) => markers.has(v))) continue;
    const expr = celPath("input", leaf.path);
    const set = new Set<Leaf>(values);
    candidates.push({
      when: condition(expr, values), describe: `${expr} is ${values.map(literal).join(" or ")}`,
      matches: (_d, leaves) => { const found = leaves.get(key); return found !== undefined && set.has(found.value); },
      values: values.length, length: leaf.path.length,
    });
  }
  const subjects = [...new Set(overridden.map((d) => d.subject))];
  if (subjects.every((s) => typeof s === "string" && !markers.has(s)) && subjects.length <= maxValues && (subjects.length === 1 || subjects.length * 2 <= overridden.length)) {
    const set = new Set(subjects);
    candidates.push({
      when: condition("event.subject", subjects as string[]), describe: `the event subject is ${(subjects as string[]).map(literal).join(" or ")}`,
      matches: (d) => d.subject !== undefined && set.has(d.subject), values: subjects.length, length: 1,
    });
  }

  let best: (CandidateCondition & { values: number; length: number }) | undefined;
  const otherLeaves = input.others.map((other) => leavesOf(other.decision.input));
  for (const candidate of candidates) {
    let collateral = 0, confirmedCollateral = 0;
    for (const [index, other] of input.others.entries()) {
      if (!candidate.matches(other.decision, otherLeaves[index] as Leaves)) continue;
      collateral++;
      if (other.confirmed) confirmedCollateral++;
    }
    if (confirmedCollateral > 0) continue;
    const scored = { when: candidate.when, describe: candidate.describe, collateral, confirmedCollateral, values: candidate.values, length: candidate.length };
    if (best === undefined || collateral < best.collateral || (collateral === best.collateral && (candidate.values < best.values || (candidate.values === best.values && candidate.length < best.length)))) best = scored;
  }
  if (best === undefined) return undefined;
  const { values: _values, length: _length, ...result } = best;
  return result;
}

/** An inline test case of a native policy, as far as mining reads it. */
export interface TestCaseLike {
  readonly input?: unknown;
  readonly event?: Readonly<Record<string, unknown>>;
  readonly expect: { readonly violations?: readonly string[]; readonly findings?: readonly { readonly effect: string; readonly rule?: string; readonly policy?: string }[] };
}

/**
 * The policy's own test cases that expect a violation of `rule`, as the input and subject a
 * condition is matched against. They are people's statements of what the rule must catch, so they
 * count as confirmed violations: a condition meeting one would exempt what the policy is tested for
 * (with no other violation recorded, the rule's own condition would otherwise score best).
 */
export function testViolations(tests: readonly TestCaseLike[], policy: string, rule: string): Pick<Decision, "input" | "subject">[] {
  const out: Pick<Decision, "input" | "subject">[] = [];
  for (const test of tests) {
    // `violations` names rules as `rule` or `policy/rule`, as the test runner reads them.
    const expected = (test.expect.violations ?? []).some((v) => v === rule || v === `${policy}/${rule}`)
      || (test.expect.findings ?? []).some((f) => f.effect === "violation" && f.rule === rule && (f.policy === undefined || f.policy === policy));
    if (!expected) continue;
    const subject = test.event?.["subject"];
    out.push({ input: test.input ?? test.event?.["data"] ?? {}, ...(typeof subject === "string" ? { subject } : {}) });
  }
  return out;
}

/** A glob over the event subject as a CEL condition (RE2 regex). */
function subjectGlob(glob: string): string {
  if (!glob.includes("*")) return `event.subject == ${JSON.stringify(glob)}`;
  const regex = `^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`;
  return `event.subject.matches(${JSON.stringify(regex)})`;
}

/**
 * The exception's scope as one CEL condition, or undefined when it cannot be written as a native
 * policy exception (label/tag selectors, which read entity attributes the policy may not have).
 */
export function exceptionCondition(exception: Pick<PolicyException, "when" | "subjects">): string | undefined {
  const parts: string[] = [];
  const subjects = exception.subjects ?? [];
  if (subjects.some((s) => s.startsWith("label:") || s.startsWith("tag:"))) return undefined;
  if (subjects.length === 1) parts.push(subjectGlob(subjects[0] as string));
  else if (subjects.length > 1) parts.push(`(${subjects.map(subjectGlob).join(" || ")})`);
  if (exception.when !== undefined && exception.when.trim() !== "") parts.push(subjects.length > 0 ? `(${exception.when})` : exception.when);
  return parts.length === 0 ? undefined : parts.join(" && ");
}

/** A stable key of an exception's scope, to find the same exception created again and again. */
export function exceptionScopeKey(exception: Pick<PolicyException, "policies" | "rules" | "subjects" | "when">): string {
  return JSON.stringify([[...exception.policies].sort(), [...(exception.rules ?? [])].sort(), [...(exception.subjects ?? [])].sort(), exception.when ?? ""]);
}
