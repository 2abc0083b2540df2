/**
 * The native test format: inline `spec.tests` cases of a Policy, and standalone PolicyTest
 * documents (`apiVersion: vigil.dev/v1`, `kind: PolicyTest`, usually `*.test.yaml`).
 */
import { civilFromDays, daysFromCivil } from "../../core/civil-date.js";
import { postureLevels, type PostureLevel } from "../../core/entity.js";
import type { FindingEffect } from "../../core/finding.js";
import { severities, type RuleMode, type Severity } from "../../core/policy.js";
import { isPlainObject } from "../activation.js";
import { Validator, type FieldPath, type Issue } from "./validate.js";

export const POLICY_TEST_KIND = "PolicyTest";

/** One expected finding; every field given must match (message: substring). */
export interface FindingExpectation {
  readonly policy?: string;
  readonly rule?: string;
  readonly effect: FindingEffect;
  readonly severity?: Severity;
  readonly mode?: RuleMode;
  readonly message?: string;
}

/**
 * What a case expects. `violations` / `errors`: the exact set of rules with that effect
 * (`rule` or `policy/rule`; order does not matter; `[]` = none). `findings`: findings that must
 * be present (other findings are allowed). `allow`: false iff some violation has mode deny.
 * When `errors` is absent, any error finding fails the case.
 */
export interface TestExpectation {
  readonly allow?: boolean;
  readonly violations?: readonly string[];
  readonly errors?: readonly string[];
  readonly findings?: readonly FindingExpectation[];
}

export interface TestContextSpec {
  readonly posture?: { readonly level: PostureLevel; readonly scope?: string; readonly reason?: string; readonly until?: string };
  readonly signals?: Readonly<Record<string, unknown>>;
  readonly entities?: Readonly<Record<string, unknown>>;
  readonly history?: Readonly<Record<string, unknown>>;
  readonly features?: Readonly<Record<string, unknown>>;
  /** The supply-chain summary (`context.dependencies`). */
  readonly dependencies?: Readonly<Record<string, unknown>>;
  /** The residency check (`context.residency`). */
  readonly residency?: Readonly<Record<string, unknown>>;
}

export interface TestCaseSpec {
  readonly name: string;
  /** The document policies see as `input`; defaults to `event.data`, then `{}`. */
  readonly input?: unknown;
  /** PolicyTest only: a JSON or YAML file (relative to the test file) holding the input. */
  readonly inputFile?: string;
  /** CloudEvent envelope fields (type, source, subject, id, time, data, extensions). */
  readonly event?: Readonly<Record<string, unknown>>;
  readonly context?: TestContextSpec;
  /** RFC 3339 evaluation time; default 2024-01-01T00:00:00Z so tests are reproducible. */
  readonly now?: string;
  /** PolicyTest only: evaluate only these policies (by name). */
  readonly policies?: readonly string[];
  readonly expect: TestExpectation;
}

export interface PolicyTestSpec {
  readonly name: string;
  /** Policy files or directories, relative to the test file. */
  readonly policies: readonly string[];
  readonly cases: readonly TestCaseSpec[];
}

const effects: readonly FindingEffect[] = ["violation", "pass", "skip", "error"];
const modes: readonly RuleMode[] = ["deny", "warn", "audit"];
const inlineCaseFields = ["name", "input", "event", "context", "now", "expect"];
const fileCaseFields = [...inlineCaseFields, "inputFile", "policies"];
const expectFields = ["allow", "violations", "errors", "findings"];
const findingFields = ["policy", "rule", "effect", "severity", "mode", "message"];
const contextFields = ["posture", "signals", "entities", "history", "features", "dependencies", "residency"];
const postureFields = ["level", "scope", "reason", "until"];
const eventFields = ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data"];

const timeShape = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 time that exists: the shape, and a day the month has and hours, minutes and offsets
 * in range (JavaScript's Date reads 2024-02-30 as March 1 and 2024-13-01 as no time at all,
 * which the context then takes as 1970-01-01).
 */
const rfc3339Time = {
  test(text: string): boolean {
    const m = timeShape.exec(text);
    if (m === null) return false;
    const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number, number, number];
    const date = civilFromDays(daysFromCivil(year, month, day));
    return month === date.month && day === date.day && hour < 24 && minute < 60 && second < 60 && offsetHour < 24 && offsetMinute < 60;
  },
};

/** Validates one test case; `standalone` allows the PolicyTest-only fields. */
export function parseTestCase(v: Validator, value: unknown, path: FieldPath, standalone: boolean): TestCaseSpec | undefined {
  const o = v.object(value, path, standalone ? fileCaseFields : inlineCaseFields, ["name", "expect"]);
  if (o === undefined) return undefined;
  const name = o["name"] === undefined ? undefined : v.string(o["name"], [...path, "name"]);
  const expect = o["expect"] === undefined ? undefined : parseExpectation(v, o["expect"], [...path, "expect"]);
  const inputFile = v.optionalString(o["inputFile"], [...path, "inputFile"]);
  if (inputFile !== undefined && o["input"] !== undefined) v.report([...path, "inputFile"], "give either input or inputFile, not both");
  let event: Record<string, unknown> | undefined;
  if (o["event"] !== undefined) {
    event = isPlainObject(o["event"]) ? o["event"] : undefined;
    if (event === undefined) v.report([...path, "event"], "must be a map of CloudEvent fields (type, source, subject, data...)");
    else {
      for (const key of ["id", "source", "type", "subject", "time"]) {
        if (event[key] !== undefined) v.string(event[key], [...path, "event", key]);
      }
      for (const key of Object.keys(event)) {
        // CloudEvents extension names are lower-case alphanumeric; anything else is likely a typo.
        if (!eventFields.includes(key) && !/^[a-z0-9]+$/.test(key)) v.object({ [key]: 0 }, [...path, "event"], eventFields);
      }
    }
  }
  const context = o["context"] === undefined ? undefined : parseContext(v, o["context"], [...path, "context"]);
  const now = o["now"] === undefined ? undefined : v.string(o["now"], [...path, "now"], { pattern: rfc3339Time, patternHint: "an RFC 3339 time such as 2024-05-01T12:00:00Z" });
  const policies = o["policies"] === undefined ? undefined : v.stringList(o["policies"], [...path, "policies"]);
  if (name === undefined || expect === undefined) return undefined;
  return {
    name, expect,
    ...(o["input"] === undefined ? {} : { input: o["input"] }),
    ...(inputFile === undefined ? {} : { inputFile }),
    ...(event === undefined ? {} : { event }),
    ...(context === undefined ? {} : { context }),
    ...(now === undefined ? {} : { now }),
    ...(policies === undefined ? {} : { policies }),
  };
}

function parseExpectation(v: Validator, value: unknown, path: FieldPath): TestExpectation | undefined {
  const o = v.object(value, path, expectFields);
  if (o === undefined) return undefined;
  if (expectFields.every((key) => o[key] === undefined)) {
    v.report(path, "must say what is expected: allow, violations, errors and/or findings");
    return undefined;
  }
  const allow = o["allow"] === undefined ? undefined : v.boolean(o["allow"], [...path, "allow"]);
  const violations = o["violations"] === undefined ? undefined : (o["violations"] === null ? [] : v.stringList(o["violations"], [...path, "violations"]));
  const errors = o["errors"] === undefined ? undefined : (o["errors"] === null ? [] : v.stringList(o["errors"], [...path, "errors"]));
  let findings: FindingExpectation[] | undefined;
  if (o["findings"] !== undefined) {
    findings = [];
    v.list(o["findings"], [...path, "findings"])?.forEach((item, i) => {
      const p = [...path, "findings", i];
      const f = v.object(item, p, findingFields);
      if (f === undefined) return;
      const effect = f["effect"] === undefined ? "violation" : v.oneOf(f["effect"], [...p, "effect"], effects);
      const severity = f["severity"] === undefined ? undefined : v.oneOf(f["severity"], [...p, "severity"], severities);
      const mode = f["mode"] === undefined ? undefined : v.oneOf(f["mode"], [...p, "mode"], modes);
      const policy = v.optionalString(f["policy"], [...p, "policy"]);
      const rule = v.optionalString(f["rule"], [...p, "rule"]);
      const message = v.optionalString(f["message"], [...p, "message"]);
      if (effect === undefined) return;
      findings?.push({
        effect,
        ...(policy === undefined ? {} : { policy }), ...(rule === undefined ? {} : { rule }),
        ...(severity === undefined ? {} : { severity }), ...(mode === undefined ? {} : { mode }),
        ...(message === undefined ? {} : { message }),
      });
    });
  }
  return {
    ...(allow === undefined ? {} : { allow }),
    ...(violations === undefined ? {} : { violations }),
    ...(errors === undefined ? {} : { errors }),
    ...(findings === undefined ? {} : { findings }),
  };
}

function parseContext(v: Validator, value: unknown, path: FieldPath): TestContextSpec | undefined {
  const o = v.object(value, path, contextFields);
  if (o === undefined) return undefined;
  const out: { -readonly [K in keyof TestContextSpec]: TestContextSpec[K] } = {};
  if (o["posture"] !== undefined) {
    const p = v.object(o["posture"], [...path, "posture"], postureFields, ["level"]);
    const level = p?.["level"] === undefined ? undefined : v.oneOf(p["level"], [...path, "posture", "level"], postureLevels);
    if (p !== undefined && level !== undefined) {
      const scope = v.optionalString(p["scope"], [...path, "posture", "scope"]);
      const reason = v.optionalString(p["reason"], [...path, "posture", "reason"]);
      const until = v.optionalString(p["until"], [...path, "posture", "until"]);
      out.posture = { level, ...(scope === undefined ? {} : { scope }), ...(reason === undefined ? {} : { reason }), ...(until === undefined ? {} : { until }) };
    }
  }
  for (const key of ["signals", "entities", "history", "features", "dependencies", "residency"] as const) {
    if (o[key] === undefined) continue;
    if (isPlainObject(o[key])) out[key] = o[key];
    else v.report([...path, key], "must be a map");
  }
  return out;
}

const policyTestFields = ["apiVersion", "kind", "metadata", "spec"];

/** Validates a PolicyTest document. */
export function parsePolicyTestDocument(value: unknown): { spec?: PolicyTestSpec; issues: readonly Issue[] } {
  const v = new Validator();
  const doc = v.object(value, [], policyTestFields, ["apiVersion", "kind", "spec"]);
  if (doc === undefined) return { issues: v.issues };
  const metadata = doc["metadata"] === undefined ? undefined : v.object(doc["metadata"], ["metadata"], ["name", "labels", "description"], ["name"]);
  const name = metadata?.["name"] === undefined ? undefined : v.string(metadata["name"], ["metadata", "name"]);
  const spec = doc["spec"] === undefined ? undefined : v.object(doc["spec"], ["spec"], ["policies", "cases"], ["policies", "cases"]);
  const policies = spec?.["policies"] === undefined ? undefined : v.stringList(spec["policies"], ["spec", "policies"]);
  if (policies !== undefined && policies.length === 0) v.report(["spec", "policies"], "must name at least one policy file or directory");
  const cases: TestCaseSpec[] = [];
  if (spec?.["cases"] !== undefined) {
    v.list(spec["cases"], ["spec", "cases"])?.forEach((item, i) => {
      const c = parseTestCase(v, item, ["spec", "cases", i], true);
      if (c === undefined) return;
      if (cases.some((x) => x.name === c.name)) v.report(["spec", "cases", i, "name"], `case "${c.name}" is declared twice`);
      else cases.push(c);
    });
  }
  if (v.issues.length > 0 || policies === undefined) return { issues: v.issues };
  return { issues: [], spec: { name: name ?? "", policies, cases } };
}
