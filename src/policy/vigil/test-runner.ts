/**
 * The native test runner: inline `spec.tests` of Vigil policies and standalone PolicyTest files
 * (`*.test.yaml`), reported as TestCaseResult (src/policy/testing.ts). Cases are evaluated in
 * explain mode (passes and skips included) through a PolicySet, so `on`, `match`, exceptions and
 * the index apply exactly as in production. Never throws: problems become `error` results.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import type { Context } from "../../core/context.js";
import type { Signal } from "../../core/entity.js";
import type { Finding } from "../../core/finding.js";
import type { TestCaseResult } from "../testing.js";
import { isTestFileName, listPolicyFiles, loadPolicies, parseYamlDocuments, type LoadOptions } from "../load.js";
import { createPolicySet } from "../policy-set.js";
import { isNativePolicy } from "./compile.js";
import { keyPosition } from "./positions.js";
import { VIGIL_API_VERSION } from "./schema.js";
import { parsePolicyTestDocument, POLICY_TEST_KIND, type FindingExpectation, type TestCaseSpec } from "./test-schema.js";
import { formatPath } from "./validate.js";

export const DEFAULT_TEST_TIME = "2024-01-01T00:00:00Z";

/** The event type a case uses when it names none: the policy's first exact `on` type, else `dev.vigil.decide`. */
export function defaultEventType(policies: readonly CompiledPolicy[]): string {
  for (const policy of policies) {
    const exact = policy.meta.on.find((t) => !t.includes("*"));
    if (exact !== undefined) return exact;
    const glob = policy.meta.on[0];
    if (glob !== undefined) return glob.replaceAll("*", "test");
  }
  return "dev.vigil.decide";
}

function signalsOf(raw: Readonly<Record<string, unknown>> | undefined): Record<string, Signal> {
  const out: Record<string, Signal> = {};
  for (const [detector, value] of Object.entries(raw ?? {})) {
    const v = (value ?? {}) as Partial<Signal>;
    out[detector] = { detector, score: v.score ?? 0, confidence: v.confidence ?? 1, factors: v.factors ?? [], ...(v.values === undefined ? {} : { values: v.values }) };
  }
  return out;
}

/** Builds the Context a test case describes (input, event envelope, posture, signals, entities, history, features, dependencies, residency, now). */
export function contextForTest(test: TestCaseSpec, input: unknown, eventType: string): Context {
  const event = test.event ?? {};
  const c = test.context;
  return {
    event: {
      ...event,
      specversion: "1.0",
      id: typeof event["id"] === "string" ? event["id"] : `test-${test.name}`,
      source: typeof event["source"] === "string" ? event["source"] : "vigil-test",
      type: typeof event["type"] === "string" ? event["type"] : eventType,
      data: input,
    },
    input,
    entities: (c?.entities ?? {}) as Context["entities"],
    signals: signalsOf(c?.signals),
    posture: { level: "normal", scope: "org", since: DEFAULT_TEST_TIME, ...c?.posture },
    ...(c?.history === undefined ? {} : { history: { violations30d: 0, recent: [], ...c.history } as Context["history"] & object }),
    ...(c?.features === undefined ? {} : { features: c.features as Context["features"] & object }),
    ...(c?.dependencies === undefined ? {} : { dependencies: c.dependencies }),
    ...(c?.residency === undefined ? {} : { residency: c.residency }),
    now: test.now ?? DEFAULT_TEST_TIME,
  };
}

const id = (f: Finding): string => `${f.policy}/${f.rule}`;
const matchesEntry = (entry: string, f: Finding): boolean => (entry.includes("/") ? entry === id(f) : entry === f.rule);

/** Differences between an exact expected set (`rule` or `policy/rule`) and the actual findings. */
function compareSet(label: string, expected: readonly string[], actual: readonly Finding[]): string[] {
  const problems: string[] = [];
  for (const entry of expected) if (!actual.some((f) => matchesEntry(entry, f))) problems.push(`expected ${label} ${entry}, got none`);
  for (const f of actual) if (!expected.some((entry) => matchesEntry(entry, f))) problems.push(`unexpected ${label} ${id(f)}${f.effect === "error" ? ` (${f.error?.message ?? f.message})` : ""}`);
  return problems;
}

function matchesFinding(e: FindingExpectation, f: Finding): boolean {
  return f.effect === e.effect && (e.policy === undefined || e.policy === f.policy) && (e.rule === undefined || e.rule === f.rule)
    && (e.severity === undefined || e.severity === f.severity) && (e.mode === undefined || e.mode === f.mode)
    && (e.message === undefined || f.message.includes(e.message));
}

function describeExpectation(e: FindingExpectation): string {
  return [e.effect, e.policy === undefined ? "" : `policy=${e.policy}`, e.rule === undefined ? "" : `rule=${e.rule}`, e.severity ?? "", e.mode ?? "", e.message === undefined ? "" : `message~${JSON.stringify(e.message)}`].filter((x) => x !== "").join(" ");
}

/** Evaluates one case against a set of policies and compares with its expectation. */
export function runCase(suite: string, test: TestCaseSpec, policies: readonly CompiledPolicy[], input: unknown, eventType: string, policyName?: string): TestCaseResult {
  const ctx = contextForTest(test, input, eventType);
  const set = createPolicySet(policies);
  // Exhaustive, so expectations about skips ("not matched") do not depend on the index; the
  // indexed hot path is evaluated too and must agree on violations and errors.
  const { findings } = set.evaluate(ctx, { includePasses: true, exhaustive: true });
  const hot = set.evaluate(ctx).findings;
  const violations = findings.filter((f) => f.effect === "violation");
  const errors = findings.filter((f) => f.effect === "error");
  const allow = !violations.some((f) => f.mode === "deny" && set.get(f.policy)?.meta.enforcement?.mode !== "shadow");
  const expect = test.expect;
  const problems: string[] = [];
  if (expect.allow !== undefined && expect.allow !== allow) problems.push(`expected allow=${expect.allow}, got allow=${allow}`);
  if (expect.violations !== undefined) problems.push(...compareSet("violation", expect.violations, violations));
  problems.push(...compareSet("error", expect.errors ?? [], errors));
  for (const e of expect.findings ?? []) {
    if (!findings.some((f) => matchesFinding(e, f))) problems.push(`expected a finding ${describeExpectation(e)}; got ${findings.map((f) => `${f.effect} ${id(f)}: ${f.message}`).join("; ") || "no findings"}`);
  }
  const decisive = findings.filter((f) => f.effect === "violation" || f.effect === "error").map((f) => `${f.effect} ${id(f)}`);
  if (hot.map((f) => `${f.effect} ${id(f)}`).join("|") !== decisive.join("|")) problems.push(`indexed evaluation disagrees with exhaustive evaluation (${hot.length} vs ${decisive.length} findings): please report this bug`);
  if (set.candidates(ctx, { exhaustive: true }).length === 0) problems.push(`no policy applies to event type ${ctx.event.type} (set event.type in the case)`);
  const expectedText = [
    expect.allow === undefined ? "" : `allow=${expect.allow}`,
    expect.violations === undefined ? "" : `violations=[${expect.violations.join(", ")}]`,
    expect.errors === undefined ? "" : `errors=[${expect.errors.join(", ")}]`,
    expect.findings === undefined ? "" : `${expect.findings.length} finding(s)`,
  ].filter((x) => x !== "").join(" ");
  const actualText = `allow=${allow} violations=[${violations.map(id).join(", ")}]${errors.length > 0 ? ` errors=[${errors.map(id).join(", ")}]` : ""}`;
  return {
    suite, name: test.name, expected: expectedText, actual: actualText,
    status: problems.length === 0 ? "pass" : "fail",
    ...(policyName === undefined ? {} : { policy: policyName }),
    ...(problems.length === 0 ? {} : { message: problems.join("; ") }),
  };
}

/** Runs the inline `spec.tests` of the native policies among `policies` (other languages are ignored). */
export function runInlineTests(policies: readonly CompiledPolicy[]): TestCaseResult[] {
  const results: TestCaseResult[] = [];
  for (const policy of policies) {
    if (!isNativePolicy(policy)) continue;
    const eventType = defaultEventType([policy]);
    for (const test of policy.spec.tests) {
      try {
        results.push(runCase(policy.file, test, [policy], test.input ?? test.event?.["data"] ?? {}, eventType, policy.meta.name));
      } catch (cause) {
        results.push({ suite: policy.file, name: test.name, policy: policy.meta.name, expected: "a result", actual: "error", status: "error", message: cause instanceof Error ? cause.message : String(cause) });
      }
    }
  }
  return results;
}

function errorResult(suite: string, name: string, message: string): TestCaseResult {
  return { suite, name, expected: "the test can run", actual: "error", status: "error", message };
}

function readInputFile(testFile: string, inputFile: string): unknown {
  const path = resolve(dirname(testFile), inputFile);
  const text = readFileSync(path, "utf8");
  return extname(path).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text);
}

/** Runs one PolicyTest file; a missing policy path or input file becomes an `error` result naming it. */
export function runPolicyTestFile(file: string, options: LoadOptions = {}): TestCaseResult[] {
  let text: string;
  try { text = readFileSync(file, "utf8"); } catch (cause) {
    return [errorResult(file, "(file)", `cannot read ${file}: ${(cause as Error).message}`)];
  }
  const { documents, errors } = parseYamlDocuments(file, text);
  const results: TestCaseResult[] = errors.map((e) => errorResult(file, "(file)", e.message));
  for (const doc of documents) {
    const head = doc.value as { apiVersion?: unknown; kind?: unknown };
    if (typeof head.apiVersion === "string" && head.apiVersion.startsWith("cli.kyverno.io")) continue;
    if (head.apiVersion !== VIGIL_API_VERSION || head.kind !== POLICY_TEST_KIND) {
      results.push(errorResult(file, `(document ${doc.index})`, `${file}: document ${doc.index} is not a ${VIGIL_API_VERSION} ${POLICY_TEST_KIND} (apiVersion ${String(head.apiVersion)}, kind ${String(head.kind)})`));
      continue;
    }
    const parsed = parsePolicyTestDocument(doc.value);
    if (parsed.spec === undefined) {
      for (const issue of parsed.issues) {
        const pos = issue.atKey === true ? keyPosition(doc, issue.path) : doc.position(issue.path);
        results.push(errorResult(file, `(document ${doc.index})`, `${file}${pos === undefined ? "" : `:${pos.line}:${pos.column}`}: ${formatPath(issue.path)} ${issue.message}`));
      }
      continue;
    }
    const spec = parsed.spec;
    const paths = spec.policies.map((p) => resolve(dirname(file), p));
    const missing = spec.policies.filter((_, i) => !existsSync(paths[i] as string));
    if (missing.length > 0) {
      const message = `policy path not found: ${missing.map((m) => resolve(dirname(file), m)).join(", ")} (spec.policies of ${file})`;
      for (const test of spec.cases) results.push(errorResult(file, test.name, message));
      continue;
    }
    const loaded = loadPolicies(paths, options);
    for (const error of loaded.errors) results.push(errorResult(file, "(policies)", error.message));
    for (const test of spec.cases) {
      try {
        const unknown = (test.policies ?? []).filter((name) => !loaded.policies.some((p) => p.meta.name === name));
        if (unknown.length > 0) { results.push(errorResult(file, test.name, `policies not loaded from ${spec.policies.join(", ")}: ${unknown.join(", ")}`)); continue; }
        const policies = test.policies === undefined ? loaded.policies : loaded.policies.filter((p) => test.policies?.includes(p.meta.name));
        const input = test.inputFile !== undefined ? readInputFile(file, test.inputFile) : (test.input ?? test.event?.["data"] ?? {});
        results.push(runCase(file, test, policies, input, "dev.vigil.decide"));
      } catch (cause) {
        results.push(errorResult(file, test.name, cause instanceof Error ? cause.message : String(cause)));
      }
    }
  }
  return results;
}

/** `*.test.yaml` / `*.test.yml` files under the paths (Kyverno's `kyverno-test.yaml` is another runner's). */
export function findPolicyTestFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const path of paths) {
    let isDir = false;
    try { isDir = statSync(path).isDirectory(); } catch { continue; }
    const files = isDir ? listPolicyFiles(path, new Set(), true) : [path];
    for (const f of files) if (isTestFileName(f) && /\.test\.ya?ml$/i.test(f) && !out.includes(f)) out.push(f);
  }
  return out;
}

/**
 * Everything `vigil test` runs for native policies under `paths`: load errors (as `error`
 * results), inline `spec.tests`, then each PolicyTest file found.
 */
export function runNativeTests(paths: string | readonly string[], options: LoadOptions = {}): TestCaseResult[] {
  const list = typeof paths === "string" ? [paths] : paths;
  const loaded = loadPolicies(list, options);
  const results: TestCaseResult[] = loaded.errors.map((e) => errorResult(e.details.file ?? "(load)", "(load)", e.message));
  results.push(...runInlineTests(loaded.policies));
  for (const file of findPolicyTestFiles(list)) results.push(...runPolicyTestFile(join(file), options));
  return results;
}
