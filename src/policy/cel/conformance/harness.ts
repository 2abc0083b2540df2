/**
 * Runs the cel-spec conformance tests shipped in @bufbuild/cel-spec through Vigil's CEL
 * environment (createCelEnvironment → compile → evaluate), one case at a time. Used by
 * conformance.test.ts and by report.ts (which writes docs/cel-conformance.md).
 *
 * Harness choices (documented in docs/cel-conformance.md): unknown functions are deferred to
 * evaluation (cel-go without the type checker), declared identifiers (`typeEnv`) become the
 * environment's variables, the test container becomes the environment's container, and the
 * conformance protobuf registry is passed so message tests can run.
 */
import type { Registry } from "@bufbuild/protobuf";
import type { IncrementalTest, IncrementalTestSuite } from "@bufbuild/cel-spec/testdata/tests.js";
import { getConformanceSuite } from "@bufbuild/cel-spec/testdata/tests.js";
import { getTestRegistry } from "@bufbuild/cel-spec/testdata/registry.js";
import type { Value } from "@bufbuild/cel-spec/cel/expr/value_pb.js";
import { isVigilError } from "../../../core/errors.js";
import { createCelEnvironment } from "../environment.js";
import { CelProtoMessage } from "../fallback.js";
import { sameValue, valueToRuntime } from "./values.js";
import { skipReason, typeOnlyReason, type SkipEntry } from "./skips.js";

/** The core suites: cel-spec's evaluation suites that are not extensions (see docs/cel-conformance.md). */
export const coreSuites: readonly string[] = [
  "basic", "comparisons", "conversions", "dynamic", "enums", "fields", "fp_math", "integer_math", "lists", "logic",
  "macros", "namespace", "parse", "plumbing", "proto2", "proto3", "string", "timestamps", "unknowns", "wrappers",
];

export interface ConformanceCase {
  readonly suite: string;
  /** `suite/section/name`. */
  readonly path: string;
  readonly test: IncrementalTest;
}

export interface CaseOutcome {
  readonly passed: boolean;
  readonly engine: "compiled" | "interpreted" | "none";
  readonly detail: string;
}

export function listCases(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  const walk = (s: IncrementalTestSuite, path: string[]): void => {
    for (const c of s.suites) walk(c, [...path, c.name]);
    for (const t of s.tests) out.push({ suite: path[0] ?? s.name, path: [...path, t.original.name || t.name].join("/"), test: t });
  };
  for (const s of getConformanceSuite().suites) walk(s, [s.name]);
  return out;
}

let registryCache: Registry | undefined;
export function conformanceRegistry(): Registry {
  registryCache ??= getTestRegistry();
  return registryCache;
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v, (_, x: unknown) => (typeof x === "bigint" ? `${x}n` : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Runs one case; never throws. */
export function runCase(c: ConformanceCase): CaseOutcome {
  const registry = conformanceRegistry();
  const t = c.test.original;
  const idents = t.typeEnv.filter((d) => d.declKind.case === "ident").map((d) => d.name);
  const env = createCelEnvironment({
    ...(idents.length > 0 ? { variables: idents } : {}),
    ...(t.container ? { container: t.container } : {}),
    protobufRegistry: registry,
  });
  const activation: Record<string, unknown> = {};
  try {
    for (const [k, v] of Object.entries(t.bindings)) {
      if (v.kind.case !== "value") return { passed: false, engine: "none", detail: `unsupported binding kind ${String(v.kind.case)}` };
      const value = valueToRuntime(v.kind.value, registry);
      activation[k] = value instanceof CelProtoMessage ? value.message.message : value;
    }
  } catch (e) {
    return { passed: false, engine: "none", detail: `binding conversion failed: ${(e as Error).message}` };
  }
  const matcher = t.resultMatcher;
  const expectsError = matcher.case === "evalError" || matcher.case === "anyEvalErrors";
  let program;
  try {
    program = env.compile(t.expr, { origin: c.path, deferUnknownFunctions: true });
  } catch (e) {
    const message = isVigilError(e) ? e.message : String(e);
    return expectsError
      ? { passed: true, engine: "none", detail: `error at compile time: ${message}` }
      : { passed: false, engine: "none", detail: `compile failed: ${message}` };
  }
  const engine = program.engine ?? "compiled";
  const outcome = program.evaluate(activation, { raw: true });
  if (expectsError) {
    return outcome.ok ? { passed: false, engine, detail: `expected an error, got ${describe(outcome.value)}` } : { passed: true, engine, detail: outcome.error.message };
  }
  if (!outcome.ok) return { passed: false, engine, detail: `${outcome.error.kind}: ${outcome.error.message}` };
  let expected: unknown = true;
  if (matcher.case === "value") expected = valueToRuntime(matcher.value, registry);
  else if (matcher.case === "typedResult") {
    if (!matcher.value.result) return { passed: false, engine, detail: "type-only expectation (needs a type checker)" };
    expected = valueToRuntime(matcher.value.result as Value, registry);
  } else if (matcher.case !== undefined) return { passed: false, engine, detail: `unsupported expectation ${matcher.case}` };
  return sameValue(outcome.value, expected)
    ? { passed: true, engine, detail: "" }
    : { passed: false, engine, detail: `expected ${describe(expected)}, got ${describe(outcome.value)}` };
}

export interface CaseResult extends CaseOutcome {
  readonly suite: string;
  readonly path: string;
  readonly skip: SkipEntry | undefined;
}

/** The skip entry of a case: from the list in skips.ts, or the type-check-only rule. */
export function skipOf(c: ConformanceCase): SkipEntry | undefined {
  const listed = skipReason(c.path);
  if (listed) return listed;
  const t = c.test.original;
  const typeOnly = t.checkOnly || (t.resultMatcher.case === "typedResult" && !t.resultMatcher.value.result);
  return typeOnly ? { path: c.path, kind: "not-applicable", reason: typeOnlyReason } : undefined;
}

export function runAll(): CaseResult[] {
  return listCases().map((c) => {
    const skip = skipOf(c);
    if (skip?.kind === "not-applicable") return { suite: c.suite, path: c.path, skip, passed: false, engine: "none", detail: skip.reason };
    return { suite: c.suite, path: c.path, skip, ...runCase(c) };
  });
}
