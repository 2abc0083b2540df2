/**
 * Shared helpers of the access pack's tests and of scripts/measure-access.ts: loading the pack and
 * its settings, an in-process decide loop (context stage → policy set → decider), and the
 * measurement of the pack against the labelled CloudTrail and Okta test events of Panther's rules
 * (test/fixtures/panther-analysis-rules, see its SOURCE). Used by tests and scripts only.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { loadPolicySet } from "../../src/agent/policies.js";
import type { Context } from "../../src/core/context.js";
import type { DecisionDraft } from "../../src/core/decision.js";
import type { Event } from "../../src/core/event.js";
import type { Clock, Storage } from "../../src/core/ports.js";
import type { PolicyException, Override } from "../../src/core/review.js";
import { createContextStage, type ContextSettingsInput, type ContextStage } from "../../src/context/index.js";
import { createMemoryDocStorage } from "../../src/context/test-support.js";
import { createDecider, type Decider } from "../../src/decide/index.js";
import type { CelEnvironment } from "../../src/policy/cel/api.js";
import type { PolicySet } from "../../src/policy/policy-set.js";
import { cloudTrailRecordToEvent } from "../../src/sources/cloudtrail.js";
import { oktaEventToEvent } from "../../src/sources/okta.js";
import { accessScenario } from "../../src/sources/simulate/access.js";
import { truthOf } from "../../src/sources/simulate/scenario.js";
import { tierRank } from "../../src/core/policy.js";

export const ACCESS_PACK_DIR = fileURLToPath(new URL("../../packs/access/", import.meta.url));
const PANTHER_DIR = fileURLToPath(new URL("../fixtures/panther-analysis-rules/", import.meta.url));

export interface AccessPack {
  readonly policySet: PolicySet;
  readonly env: CelEnvironment;
  readonly loadErrors: readonly Error[];
}

/** Loads packs/access/policies with one shared CEL environment, as the agent does. */
export function loadAccessPack(): AccessPack {
  const { policySet, load, env } = loadPolicySet([`${ACCESS_PACK_DIR}policies`]);
  return { policySet, env, loadErrors: load.errors };
}

/** The `context:` section of packs/access/settings.yaml (what vigil.yaml should carry). */
export function accessContextSettings(): ContextSettingsInput {
  const settings = parseYaml(readFileSync(`${ACCESS_PACK_DIR}settings.yaml`, "utf8")) as { context?: ContextSettingsInput };
  return settings.context ?? {};
}

export interface DecideLoop {
  readonly stage: ContextStage;
  readonly decider: Decider;
  readonly pack: AccessPack;
  /** Builds the context, evaluates the pack, decides (with the exemptions given), and learns (observe) unless `learn` is false. */
  decide(event: Event, options?: { readonly learn?: boolean; readonly exceptions?: readonly PolicyException[]; readonly overrides?: readonly Override[] }): Promise<{ draft: DecisionDraft; ctx: Context }>;
}

/** context stage → policy set → decider over a Storage (default: an in-memory document store). */
export function createDecideLoop(options: { readonly clock: Clock; readonly storage?: Storage; readonly settings?: ContextSettingsInput; readonly pack?: AccessPack }): DecideLoop {
  const pack = options.pack ?? loadAccessPack();
  const stage = createContextStage({ storage: options.storage ?? createMemoryDocStorage(), clock: options.clock, settings: options.settings ?? accessContextSettings() });
  const decider = createDecider({ env: pack.env });
  let n = 0;
  return {
    stage, decider, pack,
    async decide(event, decideOptions = {}) {
      const ctx = await stage.build(event);
      const { findings, policyRevisions } = pack.policySet.evaluate(ctx);
      const draft = decider.decide(ctx, findings, policyRevisions, {
        id: `dec-${++n}`,
        now: options.clock.now().toISOString(),
        enforced: true,
        policy: (name) => pack.policySet.get(name),
        ...(decideOptions.exceptions ? { exceptions: decideOptions.exceptions } : {}),
        ...(decideOptions.overrides ? { overrides: decideOptions.overrides } : {}),
      });
      if (decideOptions.learn !== false) stage.observe(event, ctx, draft.findings);
      return { draft, ctx };
    },
  };
}

/** `policy/rule` of every violation in a decision. */
export function violations(draft: DecisionDraft): string[] {
  return draft.findings.filter((f) => f.effect === "violation").map((f) => `${f.policy}/${f.rule}`);
}

// ---------------------------------------------------------------------------------------------
// Panther's labelled tests

export interface PantherCase {
  readonly source: "cloudtrail" | "okta";
  readonly rule: string;
  readonly file: string;
  readonly test: string;
  readonly expected: boolean;
  readonly log: Record<string, unknown>;
}

/** Every CloudTrail and Okta test of the fixture files, keyed by (file, test) — Panther reuses event ids. */
export function readPantherCases(): PantherCase[] {
  const read = (name: string, source: PantherCase["source"]): PantherCase[] =>
    readFileSync(`${PANTHER_DIR}${name}`, "utf8").split("\n").filter((line) => line.trim() !== "").map((line) => {
      const item = JSON.parse(line) as { rule: string; file: string; test: string; expectedResult: boolean; log: Record<string, unknown> };
      return { source, rule: item.rule, file: item.file, test: item.test, expected: item.expectedResult, log: item.log };
    });
  return [...read("cloudtrail-tests.jsonl", "cloudtrail"), ...read("okta-tests.jsonl", "okta")];
}

/** A behaviour the pack covers, the Panther rules whose tests label it, and the pack rules that detect it. */
export interface Behaviour {
  readonly name: string;
  readonly panther: readonly { readonly rule: string; readonly packRules: readonly string[] }[];
}

const awsSensitive = "access-aws-sensitive-actions";
const awsRoot = "access-aws-root";
const oktaSensitive = "access-okta-sensitive-actions";

/** The mapping docs/packs/access.md lists. One Panther rule → the pack rules that detect its behaviour. */
export const accessBehaviours: readonly Behaviour[] = [
  { name: "AWS console sign-in without MFA", panther: [{ rule: "AWS.Console.LoginWithoutMFA", packRules: [`${awsSensitive}/console-login-without-mfa`] }] },
  {
    name: "AWS root user activity",
    panther: [
      { rule: "AWS.Root.Activity", packRules: [`${awsRoot}/root-activity`, `${awsRoot}/root-credentials-changed`] },
      { rule: "AWS.Console.RootLogin", packRules: [`${awsRoot}/root-activity`] },
    ],
  },
  {
    name: "AWS root credentials changed",
    panther: [
      { rule: "AWS.CloudTrail.RootAccessKeyCreated", packRules: [`${awsRoot}/root-credentials-changed`] },
      { rule: "AWS.CloudTrail.RootPasswordChanged", packRules: [`${awsRoot}/root-credentials-changed`] },
    ],
  },
  {
    name: "AWS administrator access granted",
    panther: [
      { rule: "AWS.IAM.AttachAdminRolePolicy", packRules: [`${awsSensitive}/admin-policy-attached`] },
      { rule: "AWS.IAM.AttachAdminUserPolicy", packRules: [`${awsSensitive}/admin-policy-attached`] },
    ],
  },
  {
    name: "AWS credentials made for another user",
    panther: [
      { rule: "AWS.IAM.Backdoor.User.Keys", packRules: [`${awsSensitive}/credentials-for-another-user`] },
      { rule: "AWS.User.Login.Profile.Modified", packRules: [`${awsSensitive}/credentials-for-another-user`] },
      { rule: "AWS.CloudTrail.LoginProfileCreatedOrModified", packRules: [`${awsSensitive}/credentials-for-another-user`] },
    ],
  },
  {
    name: "Okta admin privileges granted",
    panther: [
      { rule: "Okta.AdminRoleAssigned", packRules: [`${oktaSensitive}/admin-privilege-granted`] },
      { rule: "Okta.Group.Admin.Role.Assigned", packRules: [`${oktaSensitive}/admin-privilege-granted`] },
    ],
  },
  {
    name: "Okta MFA reset or weakened",
    panther: [
      { rule: "Okta.User.MFA.Reset.All", packRules: [`${oktaSensitive}/mfa-factors-reset`] },
      { rule: "Okta.User.MFA.Reset.Single", packRules: [`${oktaSensitive}/mfa-factor-removed`] },
      { rule: "Okta.User.MFA.Factor.Suspend", packRules: [`${oktaSensitive}/mfa-factor-suspended`] },
      { rule: "Standard.MFADisabled", packRules: [`${oktaSensitive}/mfa-factor-removed`] },
      { rule: "Okta.Global.MFA.Disabled", packRules: [`${oktaSensitive}/org-mfa-factor-disabled`] },
    ],
  },
  { name: "Okta API token created", panther: [{ rule: "Okta.APIKeyCreated", packRules: [`${oktaSensitive}/api-token-created`] }] },
  { name: "Okta Support access granted", panther: [{ rule: "Okta.Support.Access", packRules: [`${oktaSensitive}/support-impersonation-granted`] }] },
  {
    name: "Okta suspicious sign-in",
    panther: [
      { rule: "Okta.New.Behavior.Accessing.Admin.Console", packRules: [`${oktaSensitive}/new-behaviour-on-restricted-app`] },
      { rule: "Okta.ThreatInsight.Security.Threat.Detected", packRules: [`${oktaSensitive}/threat-detected`] },
      { rule: "Okta.User.Reported.Suspicious.Activity", packRules: [`${oktaSensitive}/user-reported-suspicious-activity`] },
      { rule: "Okta.Anonymizing.VPN.Login", packRules: [`${oktaSensitive}/anonymizing-proxy-sign-in`] },
    ],
  },
];

/** Top-level fields of the CloudTrail record and the Okta LogEvent, with the casing their APIs use. */
const apiFieldNames: Readonly<Record<PantherCase["source"], readonly string[]>> = {
  cloudtrail: [
    "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent", "errorCode",
    "errorMessage", "requestParameters", "responseElements", "additionalEventData", "requestID", "eventID", "readOnly", "resources",
    "eventType", "apiVersion", "managementEvent", "recipientAccountId", "sharedEventID", "vpcEndpointId", "eventCategory", "tlsDetails",
    "sessionCredentialFromConsole",
  ],
  okta: [
    "uuid", "published", "eventType", "version", "severity", "legacyEventType", "displayMessage", "actor", "client", "device", "outcome",
    "target", "transaction", "debugContext", "authenticationContext", "securityContext", "request",
  ],
};

/**
 * Panther's test logs write some top-level keys in lower case (`eventtype`, `debugcontext`,
 * `eventname`), as its data lake stores them. The pack's policies read the fields as the CloudTrail
 * and Okta APIs name them, so the measurement restores that casing for the known top-level fields
 * (nothing else is changed). Returns the log unchanged when nothing needed renaming.
 */
export function apiCasing(log: Record<string, unknown>, source: PantherCase["source"]): { log: Record<string, unknown>; renamed: boolean } {
  const byLower = new Map(apiFieldNames[source].map((name) => [name.toLowerCase(), name]));
  let renamed = false;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(log)) {
    const api = byLower.get(key.toLowerCase());
    if (api !== undefined && api !== key && !(api in log)) {
      out[api] = value;
      renamed = true;
    } else out[key] = value;
  }
  return { log: renamed ? out : log, renamed };
}

export interface Counts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export interface BehaviourResult extends Counts {
  readonly name: string;
  readonly rules: readonly string[];
  readonly precision: number;
  readonly recall: number;
}

export interface PantherMeasurement {
  readonly behaviours: readonly BehaviourResult[];
  readonly overall: Counts & { readonly precision: number; readonly recall: number; readonly cases: number };
  /** Cases the pack got wrong: `rule :: test (expected → predicted)`. */
  readonly mistakes: readonly string[];
  /** Logs whose top-level keys were renamed to the API casing. */
  readonly renamed: number;
  /** Logs a source adapter rejected (missing eventSource / eventName / eventType): predicted negative. */
  readonly rejected: readonly string[];
  /** Error findings over every CloudTrail and Okta test log (the pack must not break on any). */
  readonly errors: readonly string[];
  /** Of the logs of every other Panther rule (not mapped to a behaviour): how many got a decision at notify or above. */
  readonly otherAlerts: { readonly logs: number; readonly alerted: number };
}

function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}

function toEvent(item: PantherCase, log: Record<string, unknown>): Event | undefined {
  const result = item.source === "cloudtrail" ? cloudTrailRecordToEvent(log) : oktaEventToEvent(log);
  return result.ok ? result.event : undefined;
}

/**
 * Runs every CloudTrail and Okta test log of the fixtures through the access pack (source
 * adapter → context stage without history → policies → decider) and compares the mapped pack
 * rules with Panther's ExpectedResult labels. Each log is judged on its own (no learning between
 * logs), as Panther's rule tests are.
 */
export async function measurePanther(options: { readonly normalize?: boolean } = {}): Promise<PantherMeasurement> {
  const normalize = options.normalize !== false;
  const clock = { now: () => new Date("2026-01-15T12:00:00Z") };
  const loop = createDecideLoop({ clock });
  const mapped = new Map<string, { behaviour: string; packRules: readonly string[] }>();
  for (const b of accessBehaviours) for (const p of b.panther) mapped.set(p.rule, { behaviour: b.name, packRules: p.packRules });
  const counts = new Map<string, Counts>(accessBehaviours.map((b) => [b.name, { tp: 0, fp: 0, fn: 0, tn: 0 }]));
  const mistakes: string[] = [];
  const rejected: string[] = [];
  const errors: string[] = [];
  let renamed = 0;
  let otherLogs = 0;
  let otherAlerted = 0;
  for (const item of readPantherCases()) {
    const prepared = normalize ? apiCasing(item.log, item.source) : { log: item.log, renamed: false };
    if (prepared.renamed) renamed++;
    const event = toEvent(item, prepared.log);
    const target = mapped.get(item.rule);
    let fired: string[] = [];
    let alerted = false;
    if (event === undefined) {
      if (target !== undefined) rejected.push(`${item.rule} :: ${item.test}`);
    } else {
      const { draft } = await loop.decide(event, { learn: false });
      fired = violations(draft);
      alerted = draft.tier !== "observe";
      for (const f of draft.findings) if (f.effect === "error") errors.push(`${item.rule} :: ${item.test}: ${f.policy}/${f.rule}: ${f.error?.message ?? f.message}`);
    }
    if (target === undefined) {
      otherLogs++;
      if (alerted) otherAlerted++;
      continue;
    }
    const predicted = fired.some((rule) => target.packRules.includes(rule));
    const c = counts.get(target.behaviour) as Counts;
    if (predicted && item.expected) c.tp++;
    else if (predicted) c.fp++;
    else if (item.expected) c.fn++;
    else c.tn++;
    if (predicted !== item.expected) mistakes.push(`${item.rule} :: ${item.test} (expected ${item.expected}, pack ${predicted ? "fired" : "silent"})`);
  }
  const behaviours: BehaviourResult[] = accessBehaviours.map((b) => {
    const c = counts.get(b.name) as Counts;
    return { name: b.name, rules: b.panther.map((p) => p.rule), ...c, precision: ratio(c.tp, c.tp + c.fp), recall: ratio(c.tp, c.tp + c.fn) };
  });
  const total = behaviours.reduce<Counts>((sum, b) => ({ tp: sum.tp + b.tp, fp: sum.fp + b.fp, fn: sum.fn + b.fn, tn: sum.tn + b.tn }), { tp: 0, fp: 0, fn: 0, tn: 0 });
  return {
    behaviours,
    overall: { ...total, precision: ratio(total.tp, total.tp + total.fp), recall: ratio(total.tp, total.tp + total.fn), cases: total.tp + total.fp + total.fn + total.tn },
    mistakes,
    renamed,
    rejected,
    errors,
    otherAlerts: { logs: otherLogs, alerted: otherAlerted },
  };
}

// ---------------------------------------------------------------------------------------------
// The pack on the simulated organisation (vigil simulate --scenario access)

export interface ScenarioWeek extends Counts {
  readonly week: number;
  readonly precision: number;
  readonly recall: number;
  readonly falsePositiveRate: number;
}

export interface ScenarioMeasurement {
  /** `context`: the agent's context stage, the scenario's setup (teams, on-call windows, travel notices); `static`: the same policies with no context. */
  readonly mode: "context" | "static";
  readonly overall: ScenarioWeek;
  readonly weeks: readonly ScenarioWeek[];
  /** Per truth note: events, and how many were alerted (tier notify or above), by tier. */
  readonly notes: Readonly<Record<string, { readonly events: number; readonly alerted: number; readonly tiers: Readonly<Record<string, number>> }>>;
  readonly events: number;
}

function scored(week: number, c: Counts): ScenarioWeek {
  return { week, ...c, precision: ratio(c.tp, c.tp + c.fp), recall: ratio(c.tp, c.tp + c.fn), falsePositiveRate: ratio(c.fp, c.fp + c.tn) };
}

/**
 * Runs `vigil simulate --scenario access` through the pack and scores each decision against the
 * ground truth: an alert is a decision at tier notify or above. Deterministic for a seed.
 */
export async function measureScenario(options: { readonly seed: number; readonly days: number; readonly mode: "context" | "static"; readonly pack?: AccessPack }): Promise<ScenarioMeasurement> {
  const scenarioOptions = { seed: options.seed, days: options.days, start: new Date("2026-01-05T00:00:00Z") };
  let now = scenarioOptions.start;
  const clock = { now: () => now };
  const pack = options.pack ?? loadAccessPack();
  const loop = createDecideLoop({ clock, pack });
  const setup = accessScenario.setup?.(scenarioOptions) ?? { entities: [], exceptions: [] };
  if (options.mode === "context") for (const e of setup.entities) await loop.stage.entities.upsert({ kind: e.kind, id: e.id, attrs: e.attrs }, "scenario-setup");
  const weeks: Counts[] = [];
  const total: Counts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  const notes: Record<string, { events: number; alerted: number; tiers: Record<string, number> }> = {};
  let events = 0;
  for (const event of accessScenario.generate(scenarioOptions)) {
    events++;
    now = new Date(event.time ?? now.toISOString());
    let draft: DecisionDraft;
    if (options.mode === "context") {
      draft = (await loop.decide(event, { exceptions: setup.exceptions })).draft;
    } else {
      const ctx: Context = { event, input: event.data, entities: {}, signals: {}, posture: { level: "normal", scope: "org", since: "2026-01-01T00:00:00Z" }, now: now.toISOString() };
      const { findings, policyRevisions } = pack.policySet.evaluate(ctx);
      draft = loop.decider.decide(ctx, findings, policyRevisions, { id: `static-${events}`, now: now.toISOString(), enforced: true, policy: (name) => pack.policySet.get(name) });
    }
    const alerted = tierRank(draft.tier) >= tierRank("notify");
    const truth = truthOf(event);
    const violation = truth?.label === "violation";
    const week = Math.floor((now.getTime() - scenarioOptions.start.getTime()) / (7 * 86_400_000));
    const w = (weeks[week] ??= { tp: 0, fp: 0, fn: 0, tn: 0 });
    const key = alerted ? (violation ? "tp" : "fp") : violation ? "fn" : "tn";
    w[key]++;
    total[key]++;
    const note = `${truth?.label ?? "unlabelled"}: ${truth?.note ?? ""}`;
    const n = (notes[note] ??= { events: 0, alerted: 0, tiers: {} });
    n.events++;
    if (alerted) n.alerted++;
    n.tiers[draft.tier] = (n.tiers[draft.tier] ?? 0) + 1;
  }
  return { mode: options.mode, overall: scored(-1, total), weeks: weeks.map((w, i) => scored(i, w ?? { tp: 0, fp: 0, fn: 0, tn: 0 })), notes, events };
}
