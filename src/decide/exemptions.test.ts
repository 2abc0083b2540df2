import { describe, expect, it } from "vitest";
import type { Override, PolicyException } from "../core/review.js";
import { loadPolicyText } from "../policy/load.js";
import { createPolicySet } from "../policy/policy-set.js";
import { appliedRefs, createDecider } from "./decider.js";
import { applyExemptions, exceptionActive, globMatch, overrideActive } from "./exemptions.js";
import { createConditionCache } from "./conditions.js";
import { defaultCelEnvironment } from "../policy/load.js";
import { context, DAY, HOUR, manualClock, violation } from "./test-support.js";

const t0 = "2025-03-01T09:00:00.000Z";

function exception(over: Partial<PolicyException> = {}): PolicyException {
  return {
    id: "EX-12", policies: ["residency-*"], justification: "transfer under contract", legalBasis: "SCC 2021/914", ticket: "https://jira.example.com/SEC-4",
    createdBy: "dana", createdAt: t0, expiresAt: "2025-03-31T00:00:00.000Z", ...over,
  };
}

describe("exceptions", () => {
  const decider = createDecider();
  const finding = violation({ policy: "residency-eu", rule: "eu-only", message: "dataset leaves the EU" });

  it("turns an excepted violation into a skip with the reason, and says so", () => {
    const ctx = context({}, { now: t0, subject: "dataset/customers" });
    const d = decider.decide(ctx, [finding], { "residency-eu": "1" }, { id: "d", now: t0, enforced: true, exceptions: [exception()] });
    expect(d.verdict).toBe("allow");
    expect(d.tier).toBe("observe");
    expect(d.findings[0]).toMatchObject({ effect: "skip", skipReason: "allowed by exception EX-12: SCC 2021/914 transfer under contract (https://jira.example.com/SEC-4), expires 2025-03-31T00:00:00.000Z" });
    expect(d.findings[0]?.trace.at(-1)).toEqual({ kind: "exception", expr: "EX-12", value: true });
    expect(d.explanation.summary).toBe("Allowed: residency-eu/eu-only allowed by exception EX-12: SCC 2021/914 transfer under contract (https://jira.example.com/SEC-4), expires 2025-03-31T00:00:00.000Z.");
    expect(d.explanation.steps.find((s) => s.kind === "exception")).toMatchObject({ ref: "EX-12", policy: "residency-eu", rule: "eu-only" });
    expect(appliedRefs(d)).toEqual({ exceptions: ["EX-12"], overrides: [], learned: [] });
  });

  it("stops applying once expired or revoked (clock-driven)", () => {
    const clock = manualClock(t0);
    const ex = exception({ expiresAt: new Date(Date.parse(t0) + 2 * DAY).toISOString() });
    const decideAt = (e: PolicyException) => decider.decide(context({}, { now: clock.iso() }), [finding], {}, { id: "d", now: clock.iso(), enforced: true, exceptions: [e] });
    expect(decideAt(ex).verdict).toBe("allow");
    clock.advance(2 * DAY - 1);
    expect(decideAt(ex).verdict).toBe("allow");
    clock.advance(1);
    const expired = decideAt(ex);
    expect(expired.verdict).toBe("deny");
    expect(expired.findings[0]?.effect).toBe("violation");
    clock.set(t0);
    expect(decideAt({ ...ex, revokedAt: new Date(Date.parse(t0) - HOUR).toISOString() }).verdict).toBe("deny");
  });

  it("a revocation time that does not parse counts as revoked (fails closed, as an unparsable expiry does)", () => {
    const ex = exception({ revokedAt: "yesterday" });
    const d = decider.decide(context({}, { now: t0 }), [finding], {}, { id: "d", now: t0, enforced: true, exceptions: [ex] });
    expect(d.verdict).toBe("deny");
    expect(exceptionActive(ex, t0)).toBe(false);
    expect(exceptionActive(exception({ expiresAt: "soon" }), t0)).toBe(false);
  });

  it("scopes by policy globs, rules, subjects and entity labels", () => {
    const ctx = context({}, { now: t0, subject: "dataset/customers", entities: { dataset: { kind: "dataset", id: "customers", attrs: { labels: { team: "payments" } } } } });
    const applies = (e: PolicyException) => applyExemptions(ctx, [finding], { exceptions: [e] }, decider.conditions).findings[0]?.effect === "skip";
    expect(applies(exception())).toBe(true);
    expect(applies(exception({ policies: ["access-*"] }))).toBe(false);
    expect(applies(exception({ rules: ["other"] }))).toBe(false);
    expect(applies(exception({ rules: ["eu-*"] }))).toBe(true);
    expect(applies(exception({ subjects: ["dataset/*"] }))).toBe(true);
    expect(applies(exception({ subjects: ["repo/*"] }))).toBe(false);
    expect(applies(exception({ subjects: ["label:team=payments"] }))).toBe(true);
    expect(applies(exception({ subjects: ["label:team=risk"] }))).toBe(false);
    expect(applies(exception({ subjects: ["tag:team=payments"] }))).toBe(false);
  });

  it("label:/tag: selectors read the entity the finding is about, never the requester", () => {
    const dev = exception({ policies: ["prod-guard"], subjects: ["tag:env=dev"] });
    const f = violation({ policy: "prod-guard", rule: "no-public" });
    const applies = (ctx: ReturnType<typeof context>, finding = f) => applyExemptions(ctx, [finding], { exceptions: [dev] }, decider.conditions).findings[0]?.effect === "skip";
    const principal = { kind: "principal", id: "arn:aws:iam::1:user/dev-bot", attrs: { tags: { env: "dev" } } };
    const prodBucket = { kind: "resource", id: "payroll-bucket", attrs: { tags: { env: "production" } } };
    const devBucket = { kind: "resource", id: "scratch-bucket", attrs: { tags: { env: "dev" } } };
    // CloudTrail: the event's subject is the requester's ARN; a dev-tagged requester does not exempt a production bucket.
    expect(applies(context({}, { now: t0, subject: principal.id, entities: { principal, resource: prodBucket } }), { ...f, resource: principal.id })).toBe(false);
    expect(applies(context({}, { now: t0, subject: principal.id, entities: { principal, resource: prodBucket } }))).toBe(false);
    // Nor does an account or any other entity of the context.
    expect(applies(context({}, { now: t0, subject: "payroll-bucket", entities: { account: { kind: "account", id: "1", attrs: { tags: { env: "dev" } } }, resource: prodBucket } }))).toBe(false);
    // The resource's own tag does.
    expect(applies(context({}, { now: t0, subject: principal.id, entities: { principal: { ...principal, attrs: { tags: { env: "production" } } }, resource: devBucket } }))).toBe(true);
    // Only the requester, no resource: nothing to read, the exception does not apply (fail closed).
    expect(applies(context({}, { now: t0, subject: principal.id, entities: { principal } }))).toBe(false);
    // A finding that names its own resource reads that entity (by id or kind/id), not the event's resource.
    const both = context({}, { now: t0, subject: "scratch-bucket", entities: { resource: devBucket, target: { kind: "bucket", id: "payroll", attrs: { tags: { env: "production" } } } } });
    expect(applies(both, { ...f, resource: "bucket/payroll" })).toBe(false);
    expect(applies(both, { ...f, resource: "scratch-bucket" })).toBe(true);
    // ...and none when no entity has that id.
    expect(applies(both, { ...f, resource: "Pod/ns/generated" })).toBe(false);
    // Without a resource entity, the event subject's entity (matched as kind/id).
    expect(applies(context({}, { now: t0, subject: "dataset/customers", entities: { principal, dataset: { kind: "dataset", id: "customers", attrs: { tags: { env: "dev" } } } } }))).toBe(true);
  });

  it("label:/tag: keys are the entity's own: Object.prototype names (constructor, __proto__, toString) are not labels", () => {
    const ctx = context({}, { now: t0, subject: "bucket/site", entities: { resource: { kind: "bucket", id: "site", attrs: { labels: { team: "web" }, tags: { env: "prod" } } } } });
    const applies = (selector: string) => applyExemptions(ctx, [finding], { exceptions: [exception({ subjects: [selector] })] }, decider.conditions).findings[0]?.effect === "skip";
    for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
      expect(applies(`label:${key}=*`), key).toBe(false);
      expect(applies(`tag:${key}=*`), key).toBe(false);
    }
    expect(applies("label:team=*")).toBe(true);
    expect(applies("tag:env=prod")).toBe(true);
  });

  it("tag: selectors and the environment factor read AWS's list form of tags ([{ Key, Value }]) as the guardrails do", () => {
    const listTagged = { kind: "bucket", id: "scratch", attrs: { tags: [{ Key: "env", Value: "dev" }, { key: "team", value: "web" }, { Key: "__proto__", Value: "x" }] } };
    const ctx = context({}, { now: t0, subject: "bucket/scratch", entities: { resource: listTagged } });
    const applies = (selector: string) => applyExemptions(ctx, [finding], { exceptions: [exception({ subjects: [selector] })] }, decider.conditions).findings[0]?.effect === "skip";
    expect(applies("tag:env=dev")).toBe(true);
    expect(applies("tag:team=w*")).toBe(true);
    expect(applies("tag:env=prod")).toBe(false);
    expect(applies("tag:constructor=*")).toBe(false);
    const prod = context({}, { now: t0, subject: "bucket/logs", entities: { resource: { kind: "bucket", id: "logs", attrs: { tags: [{ Key: "Environment", Value: "x" }, { Key: "environment", Value: "prod" }] } } } });
    expect(decider.decide(prod, [finding], {}, { id: "d", now: t0, enforced: true }).risk.factors.find((f) => f.name === "asset.environment")).toMatchObject({ contribution: 0.1 });
  });

  it("evaluates `when` on the policy's activation (variables included); a failing condition does not apply", () => {
    const { policies, errors } = loadPolicyText(`apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: residency-eu }
spec:
  variables:
    - name: destination
      expression: input.to.region
  rules:
    - name: eu-only
      condition: "!variables.destination.startsWith('eu-')"
      effect: deny
`);
    expect(errors).toEqual([]);
    const set = createPolicySet(policies);
    const ctx = context({ to: { region: "us-east-1" }, purpose: "support" }, { now: t0 });
    const { findings } = set.evaluate(ctx);
    expect(findings[0]?.effect).toBe("violation");
    const run = (when: string) => decider.decide(ctx, findings, {}, { id: "d", now: t0, enforced: true, policy: (n) => set.get(n), exceptions: [exception({ when })] });
    expect(run('variables.destination == "us-east-1" && input.purpose == "support"').verdict).toBe("allow");
    expect(run('variables.destination == "ap-south-1"').verdict).toBe("deny");
    const broken = run("input.missing.field == 1");
    expect(broken.verdict).toBe("deny");
    expect(broken.explanation.steps.find((s) => s.kind === "note" && s.ref === "EX-12")?.text).toContain("exception EX-12 not applied: its condition failed");
  });

  it("never touches errors or passes", () => {
    const conditions = createConditionCache(defaultCelEnvironment());
    const err = violation({ policy: "residency-eu", effect: "error", error: { code: "x", message: "boom" } });
    const pass = violation({ policy: "residency-eu", effect: "pass" });
    const out = applyExemptions(context({}, { now: t0 }), [err, pass], { exceptions: [exception()] }, conditions);
    expect(out.findings).toEqual([err, pass]);
    expect(out.applied).toEqual([]);
  });

  it("globs: * is any run, everything else literal", () => {
    expect(globMatch("a.*", "a.b.c")).toBe(true);
    expect(globMatch("a.*", "ab")).toBe(false);
    expect(globMatch("x(y)*", "x(y)z")).toBe(true);
  });
});

describe("overrides", () => {
  const decider = createDecider();
  const finding = violation({ policy: "merge-gate", rule: "reviews", message: "needs two reviews" });
  const base: Override = { id: "OV-1", decisionId: "d-0", policy: "merge-gate", subject: "acme/api#7", scope: "once", reason: "hotfix for outage", by: "erin", at: t0 };
  const decideWith = (override: Override, now = t0, subject = "acme/api#7") =>
    decider.decide(context({}, { now, subject }), [finding], {}, { id: "d", now, enforced: true, overrides: [override] });

  it("allow once: applies until used, only to its policy and subject", () => {
    const d = decideWith(base);
    expect(d.verdict).toBe("allow");
    expect(d.findings[0]?.skipReason).toBe("allowed by override OV-1 (once) from erin: hotfix for outage");
    expect(appliedRefs(d).overrides).toEqual(["OV-1"]);
    expect(decideWith({ ...base, used: true }).verdict).toBe("deny");
    expect(decideWith(base, t0, "acme/api#8").verdict).toBe("deny");
    expect(decideWith({ ...base, policy: "other" }).verdict).toBe("deny");
    // Created after the decision time: not applied.
    expect(decideWith(base, "2025-03-01T08:00:00.000Z").verdict).toBe("deny");
  });

  it("covers violations up to the severity it was made for: a more severe one of another rule of the policy still denies (it was never seen, nor confirmed by a second person)", () => {
    const low: Override = { ...base, severity: "low" };
    const critical = violation({ policy: "merge-gate", rule: "force-push", severity: "critical", message: "force push to main" });
    const lowFinding = violation({ policy: "merge-gate", rule: "reviews", severity: "low", message: "needs two reviews" });
    const both = decider.decide(context({}, { now: t0, subject: "acme/api#7" }), [lowFinding, critical], {}, { id: "d", now: t0, enforced: true, overrides: [low] });
    expect(both.verdict).toBe("deny");
    expect(both.findings.map((f) => f.effect)).toEqual(["skip", "violation"]);
    const onlyLow = decider.decide(context({}, { now: t0, subject: "acme/api#7" }), [lowFinding], {}, { id: "d", now: t0, enforced: true, overrides: [low] });
    expect(onlyLow.verdict).toBe("allow");
    // One stored before overrides kept their severity covers the policy as it did.
    expect(decider.decide(context({}, { now: t0, subject: "acme/api#7" }), [critical], {}, { id: "d", now: t0, enforced: true, overrides: [base] }).verdict).toBe("allow");
  });

  it("a once override ends at its `until` (set at creation); one stored without it ends 7 days after creation", () => {
    const week = Date.parse(t0) + 7 * DAY;
    expect(decideWith(base, new Date(week - 1).toISOString()).verdict).toBe("allow");
    expect(decideWith(base, new Date(week).toISOString()).verdict).toBe("deny");
    expect(decideWith(base, "2025-09-01T09:00:00.000Z").verdict).toBe("deny");
    const until = new Date(Date.parse(t0) + 2 * DAY).toISOString();
    expect(decideWith({ ...base, until }, new Date(Date.parse(until) - 1).toISOString()).verdict).toBe("allow");
    expect(decideWith({ ...base, until }, until).verdict).toBe("deny");
    expect(overrideActive({ ...base, until: "soon" }, t0)).toBe(false);
  });

  it("a window ends at `until`; an unconfirmed two-person override and a revoked one do not apply", () => {
    const clock = manualClock(t0);
    const windowed: Override = { ...base, scope: "window", until: new Date(Date.parse(t0) + HOUR).toISOString() };
    expect(decideWith(windowed, clock.iso()).verdict).toBe("allow");
    clock.advance(HOUR);
    expect(decideWith(windowed, clock.iso()).verdict).toBe("deny");
    expect(decideWith({ ...base, confirmationRequired: true }).verdict).toBe("deny");
    expect(decideWith({ ...base, confirmationRequired: true, secondBy: "frank" }).verdict).toBe("allow");
    expect(decideWith({ ...base, revokedAt: t0 }).verdict).toBe("deny");
  });

  it("a revoked window override still applies to an event before its revocation (a replay of history), as a revoked exception does", () => {
    const windowed: Override = { ...base, scope: "window", until: new Date(Date.parse(t0) + 2 * HOUR).toISOString(), revokedAt: new Date(Date.parse(t0) + HOUR).toISOString() };
    expect(decideWith(windowed, t0).verdict).toBe("allow");
    expect(decideWith(windowed, new Date(Date.parse(t0) + HOUR).toISOString()).verdict).toBe("deny");
    // A revocation time that does not parse counts as revoked from the start (fails closed).
    expect(decideWith({ ...windowed, revokedAt: "yesterday" }, t0).verdict).toBe("deny");
  });

  it("records the decision at the override's tier when it names one", () => {
    const d = decideWith({ ...base, tier: "notify" });
    expect(d).toMatchObject({ verdict: "allow", tier: "notify" });
    expect(d.explanation.steps.find((s) => s.kind === "tier")?.text).toBe("notify: override OV-1 records merge-gate/reviews at notify");
    // like every tier step, it carries the tier it asks for
    expect(d.explanation.steps.find((s) => s.kind === "tier")).toMatchObject({ tier: "notify", ref: "OV-1", policy: "merge-gate", rule: "reviews" });
    // The summary names the tier, as every summary of a decision above observe does.
    expect(d.explanation.summary).toMatch(/^Allowed \(notify\): merge-gate\/reviews allowed by override OV-1 /);
    expect(decideWith(base).explanation.summary).toMatch(/^Allowed: merge-gate\/reviews allowed by override OV-1 /);
  });

  it("an exception wins over an override for the same finding", () => {
    const d = decider.decide(context({}, { now: t0, subject: "acme/api#7" }), [finding], {}, {
      id: "d", now: t0, enforced: true, overrides: [base], exceptions: [exception({ policies: ["merge-gate"] })],
    });
    expect(appliedRefs(d)).toEqual({ exceptions: ["EX-12"], overrides: [], learned: [] });
  });
});
