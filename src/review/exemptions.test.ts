import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { DAY, HOUR, context } from "../decide/test-support.js";
import { createDecider } from "../decide/decider.js";
import type { Storage } from "../core/ports.js";
import { admin, approver, approver2, bucketPolicy, createLoop, operator, viewer, type Loop } from "./test-support.js";
import { createReviewService } from "./review-service.js";

const policies = [
  bucketPolicy("high-risk", { tier: "block", severity: "high", remediation: false }),
  bucketPolicy("low-risk", { tier: "block", severity: "low", remediation: false }),
];

describe("overrides", () => {
  let loop: Loop;
  beforeEach(async () => { loop = await createLoop(createSqliteStorage, policies, { twoPersonRule: {} }); });
  afterEach(async () => { await loop.dispose(); });

  it("allow once: the next decision for that policy and subject is allowed, then enforcement resumes; recorded as feedback with who", async () => {
    const { decision } = await loop.handle({ kind: "low-risk", bucket: "site", public: true });
    expect(decision.verdict).toBe("deny");
    await expect(loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "" }, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "reason" } });
    await expect(loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "launch day" }, operator)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    await expect(loop.review.overrides.create({ decisionId: "dec-404", scope: "once", reason: "x" }, approver)).rejects.toMatchObject({ code: "VIGIL_NOT_FOUND" });
    // A missing or mistyped id says so (not "decision undefined is not in the decision record").
    for (const decisionId of [undefined, 42, " "]) {
      await expect(loop.review.overrides.create({ decisionId, scope: "once", reason: "x" } as never, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "decisionId" }, message: expect.stringMatching(/^decisionId is required/) });
    }
    const override = await loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "launch day", tier: "notify" }, approver);
    expect(override).toMatchObject({ id: "OV-1", policy: "low-risk", subject: "bucket/site", scope: "once", by: "ann" });
    expect(override.confirmationRequired).toBeUndefined();
    const allowed = await loop.handle({ kind: "low-risk", bucket: "site", public: true });
    expect(allowed.decision).toMatchObject({ verdict: "allow", tier: "notify" });
    expect(allowed.decision.findings[0]?.skipReason).toBe("allowed by override OV-1 (once) from ann: launch day");
    expect((await loop.review.overrides.get("OV-1"))?.used).toBe(true);
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("deny");
    expect((await loop.review.feedback.list({ decisionId: decision.id })).map((f) => [f.label, f.by, f.via, f.reason])).toEqual([["false_positive", "ann", "override", "launch day"]]);
    expect((await loop.storage.listAudit({ actor: "ann" })).map((a) => a.action)).toEqual(["override.create", "feedback.record"]);
  });

  it("a once override applied by a decision recorded just before a crash is marked used at the next start", async () => {
    const { decision } = await loop.handle({ kind: "low-risk", bucket: "site", public: true });
    await loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "launch day" }, approver);
    // Another once override, never applied: it stays usable.
    const other = await loop.handle({ kind: "low-risk", bucket: "docs", public: true });
    await loop.review.overrides.create({ decisionId: other.decision.id, scope: "once", reason: "docs day" }, approver);
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("allow");
    // The process died after recording that decision, before marking OV-1 used.
    const doc = await loop.storage.getDoc<Record<string, unknown>>("overrides", "OV-1");
    await loop.storage.putDocs([{ collection: "overrides", id: "OV-1", value: { ...doc!.value, used: false } }], loop.clock.iso());
    const restarted = createReviewService({ storage: loop.storage, clock: loop.clock, executor: loop.executor, policy: (n) => loop.set.get(n) });
    expect(await restarted.overrides.reconcileUsed()).toEqual(["OV-1"]);
    expect((await restarted.overrides.get("OV-1"))?.used).toBe(true);
    expect((await restarted.overrides.get("OV-2"))?.used).toBeUndefined();
    expect(await restarted.overrides.reconcileUsed()).toEqual([]);
    expect((await restarted.exemptions()).overrides.map((o) => o.id)).toEqual(["OV-2"]);
  });

  it("a once override applied by a decision that is not enforced (dry run, shadow, replay) is not used up by markUsed", async () => {
    const { decision } = await loop.handle({ kind: "low-risk", bucket: "site", public: true });
    await loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "launch day" }, approver);
    const ctx = context({ kind: "low-risk", bucket: "site", public: true }, { now: loop.clock.iso(), subject: "bucket/site", id: "evt-dry" });
    const { findings, policyRevisions } = loop.set.evaluate(ctx);
    const dryRun = createDecider().decide(ctx, findings, policyRevisions, { id: "dec-dry", now: loop.clock.iso(), enforced: false, policy: (n) => loop.set.get(n), ...(await loop.review.exemptions()) });
    expect(dryRun.verdict).toBe("allow");
    expect(await loop.review.overrides.markUsed(dryRun)).toEqual([]);
    expect((await loop.review.overrides.get("OV-1"))?.used).toBeUndefined();
    // The real request still gets its one pass.
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("allow");
    expect((await loop.review.overrides.get("OV-1"))?.used).toBe(true);
  });

  it("a once override left unused stops applying maxOverrideDays (default 7) after its creation, as a window would", async () => {
    const { decision } = await loop.handle({ kind: "low-risk", bucket: "site", public: true });
    const created = loop.clock.now().getTime();
    const override = await loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "launch day" }, approver);
    expect(override.until).toBe(new Date(created + 7 * DAY).toISOString());
    // Dormant for a week and a millisecond: no longer in force, not applied, not used up.
    loop.clock.advance(7 * DAY);
    expect((await loop.review.overrides.active()).map((o) => o.id)).toEqual([]);
    expect((await loop.review.overrides.list({ active: false })).map((o) => o.id)).toEqual(["OV-1"]);
    const later = await loop.handle({ kind: "low-risk", bucket: "site", public: true });
    expect(later.decision.verdict).toBe("deny");
    expect((await loop.review.overrides.get("OV-1"))?.used).toBeUndefined();
  });

  it("a once override applies within the configured maxOverrideDays of its creation, not after", async () => {
    const short = await createLoop(createSqliteStorage, policies, { maxOverrideDays: 2 });
    try {
      const first = await short.handle({ kind: "low-risk", bucket: "site", public: true });
      const override = await short.review.overrides.create({ decisionId: first.decision.id, scope: "once", reason: "launch day" }, approver);
      expect(override.until).toBe(new Date(short.clock.now().getTime() + 2 * DAY).toISOString());
      short.clock.advance(2 * DAY - HOUR);
      expect((await short.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("allow");
      const second = await short.handle({ kind: "low-risk", bucket: "docs", public: true });
      await short.review.overrides.create({ decisionId: second.decision.id, scope: "once", reason: "docs day" }, approver);
      short.clock.advance(2 * DAY);
      expect((await short.handle({ kind: "low-risk", bucket: "docs", public: true })).decision.verdict).toBe("deny");
    } finally {
      await short.dispose();
    }
  });

  it("a window applies until it ends; the window is bounded", async () => {
    const { decision } = await loop.handle({ kind: "low-risk", bucket: "site", public: true });
    const until = (ms: number) => new Date(loop.clock.now().getTime() + ms).toISOString();
    await expect(loop.review.overrides.create({ decisionId: decision.id, scope: "window", reason: "x" }, approver)).rejects.toMatchObject({ details: { field: "until" } });
    await expect(loop.review.overrides.create({ decisionId: decision.id, scope: "window", until: until(8 * DAY), reason: "x" }, approver)).rejects.toThrow(/more than 7 days away/);
    // Without an offset the end would be read in the server's time zone; an impossible date is no date.
    await expect(loop.review.overrides.create({ decisionId: decision.id, scope: "window", until: "2025-02-03T18:00:00", reason: "x" }, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "until" }, message: expect.stringContaining("with its offset") });
    await expect(loop.review.overrides.create({ decisionId: decision.id, scope: "window", until: "2025-02-30T18:00:00Z", reason: "x" }, approver)).rejects.toMatchObject({ details: { field: "until" } });
    expect(await loop.review.overrides.list()).toEqual([]);
    await loop.review.overrides.create({ decisionId: decision.id, scope: "window", until: until(2 * HOUR), reason: "migration" }, approver);
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("allow");
    loop.clock.advance(HOUR);
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("allow");
    loop.clock.advance(HOUR);
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("deny");
  });

  it("two-person rule: a high-severity override applies only after a second, different approver confirms", async () => {
    const { decision } = await loop.handle({ kind: "high-risk", bucket: "db", public: true });
    const override = await loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "vendor audit" }, approver);
    expect(override.confirmationRequired).toBe(true);
    expect((await loop.handle({ kind: "high-risk", bucket: "db", public: true })).decision.verdict).toBe("deny");
    await expect(loop.review.overrides.confirm(override.id, approver)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", message: expect.stringContaining("second, different approver") });
    await expect(loop.review.overrides.confirm(override.id, viewer)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    await expect(loop.review.overrides.confirm(override.id, { id: "ANN ", roles: ["approver"] })).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" } });
    expect((await loop.review.overrides.get(override.id))?.secondBy).toBeUndefined();
    const confirmed = await loop.review.overrides.confirm(override.id, approver2, "checked the audit letter");
    expect(confirmed.secondBy).toBe("bob");
    const allowed = await loop.handle({ kind: "high-risk", bucket: "db", public: true });
    expect(allowed.decision.verdict).toBe("allow");
    expect(allowed.decision.findings[0]?.skipReason).toBe("allowed by override OV-1 (once) from ann and bob: vendor audit");
    await expect(loop.review.overrides.confirm(override.id, admin)).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
  });

  it("two-person rule: an override that ended before its second approver came is not confirmed", async () => {
    const { decision } = await loop.handle({ kind: "high-risk", bucket: "db", public: true });
    const override = await loop.review.overrides.create({ decisionId: decision.id, scope: "window", until: new Date(loop.clock.now().getTime() + HOUR).toISOString(), reason: "vendor audit" }, approver);
    loop.clock.advance(2 * HOUR);
    await expect(loop.review.overrides.confirm(override.id, approver2)).rejects.toMatchObject({ code: "VIGIL_CONFLICT", details: { field: "id" }, message: expect.stringContaining("ended at") });
    expect((await loop.review.overrides.get(override.id))?.secondBy).toBeUndefined();
    expect((await loop.storage.listAudit({})).filter((a) => a.action === "override.confirm")).toEqual([]);
  });

  it("revoked overrides stop applying; policy must be named when several were violated", async () => {
    const { decision } = await loop.handle({ kind: "low-risk", bucket: "site", public: true });
    const override = await loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "x" }, approver);
    await loop.review.overrides.revoke(override.id, approver, "changed my mind");
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("deny");
    expect(await loop.review.overrides.list({ active: true })).toEqual([]);
    await expect(loop.review.overrides.create({ decisionId: decision.id, policy: "high-risk", scope: "once", reason: "x" }, approver)).rejects.toThrow(/high-risk was not violated by decision/);
    // Revoking twice is refused (the first revocation's time and audit entry stay).
    await expect(loop.review.overrides.revoke(override.id, approver2, "again")).rejects.toMatchObject({ code: "VIGIL_CONFLICT", message: expect.stringContaining("was already revoked") });
    expect((await loop.storage.listAudit({})).filter((a) => a.action === "override.revoke")).toHaveLength(1);
  });

  it("the agent's own identities (vigil:*) may not confirm or revoke an override, even holding the approver role", async () => {
    const { decision } = await loop.handle({ kind: "high-risk", bucket: "payroll", public: true });
    const override = await loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "incident drill" }, approver);
    const agent = { id: "vigil:escalation", roles: ["approver"] };
    await expect(loop.review.overrides.confirm(override.id, agent)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" } });
    await expect(loop.review.overrides.revoke(override.id, { id: "Vigil:learner", roles: ["approver"] }, "stale")).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    expect((await loop.review.overrides.get(override.id))?.revokedAt).toBeUndefined();
  });

  it("a decision without a subject (POST /v1/decide) cannot be overridden: the override would allow every request of the policy", async () => {
    const { decision } = await loop.handle({ kind: "low-risk", bucket: "site", public: true }, { subject: null });
    expect(decision).toMatchObject({ verdict: "deny" });
    expect(decision.subject).toBeUndefined();
    const until = new Date(loop.clock.now().getTime() + 2 * DAY).toISOString();
    await expect(loop.review.overrides.create({ decisionId: decision.id, scope: "window", until, reason: "site launch" }, approver))
      .rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "decisionId" }, message: expect.stringContaining("use an exception") });
    await expect(loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "site launch" }, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT" });
    // Another bucket's request (no subject either) is still denied; nothing was stored.
    expect((await loop.handle({ kind: "low-risk", bucket: "payroll-exports", public: true }, { subject: null })).decision.verdict).toBe("deny");
    expect(await loop.review.overrides.list()).toEqual([]);
    expect(await loop.review.feedback.list()).toEqual([]);
  });

  it("the agent's own identities (vigil:*) may not create an override either: nothing is stored, no feedback, no audit", async () => {
    const { decision } = await loop.handle({ kind: "low-risk", bucket: "site", public: true });
    for (const id of ["vigil:escalation", " Vigil:learner"]) {
      await expect(loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "looks benign" }, { id, roles: ["approver", "admin"] }))
        .rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" } });
    }
    expect(await loop.review.overrides.list()).toEqual([]);
    expect(await loop.review.feedback.list({ decisionId: decision.id })).toEqual([]);
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("deny");
    expect((await loop.storage.listAudit({})).map((a) => a.action)).toEqual([]);
  });
});

describe("exceptions", () => {
  let loop: Loop;
  beforeEach(async () => { loop = await createLoop(createSqliteStorage, policies); });
  afterEach(async () => { await loop.dispose(); });
  const base = { policies: ["*-risk"], justification: "public website bucket by design", ticket: "https://jira.example.com/SEC-12" };

  it("validates justification, expiry (required, bounded), CEL and roles; nothing is stored on error", async () => {
    const in30d = new Date(loop.clock.now().getTime() + 30 * DAY).toISOString();
    await expect(loop.review.exceptions.create({ ...base, justification: "because", expiresAt: in30d }, approver)).rejects.toMatchObject({ details: { field: "justification" } });
    await expect(loop.review.exceptions.create({ ...base } as never, approver)).rejects.toMatchObject({ details: { field: "expiresAt" }, message: expect.stringContaining("exceptions always expire") });
    await expect(loop.review.exceptions.create({ ...base, expiresAt: new Date(loop.clock.now().getTime() + 91 * DAY).toISOString() }, approver)).rejects.toThrow(/more than 90 days away/);
    await expect(loop.review.exceptions.create({ ...base, expiresAt: "2020-01-01T00:00:00Z" }, approver)).rejects.toThrow(/not in the future/);
    await expect(loop.review.exceptions.create({ ...base, expiresAt: "2025-03-01T00:00:00" }, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "expiresAt" }, message: expect.stringContaining("with its offset") });
    await expect(loop.review.exceptions.import({ ...base, id: "SEC-1", expiresAt: "2025-03-01" }, approver)).rejects.toMatchObject({ details: { field: "expiresAt" } });
    await expect(loop.review.exceptions.create({ ...base, expiresAt: "2025-02-31T00:00:00Z" }, approver)).rejects.toMatchObject({ details: { field: "expiresAt" } });
    await expect(loop.review.exceptions.create({ ...base, policies: [], expiresAt: in30d }, approver)).rejects.toMatchObject({ details: { field: "policies" } });
    // An empty list of subjects or rules is not "every one": it is refused, naming how to say that.
    await expect(loop.review.exceptions.create({ ...base, subjects: [], expiresAt: in30d }, approver)).rejects.toMatchObject({ details: { field: "subjects" }, message: expect.stringContaining("leave subjects out to cover every one") });
    await expect(loop.review.exceptions.create({ ...base, rules: [], expiresAt: in30d }, approver)).rejects.toMatchObject({ details: { field: "rules" } });
    // A label/tag selector without key=value would be read as a subject glob that never matches.
    // So is a selector spelt otherwise (Label:, labels:, TAG:): read as a subject glob, it would never match either.
    for (const selector of ["label:team", "tag:=web", "label:team web", "Label:team=web", "labels:team=web", "TAG:env=prod", "tags:env=prod"]) {
      await expect(loop.review.exceptions.create({ ...base, subjects: ["bucket/*", selector], expiresAt: in30d }, approver))
        .rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "subjects" }, message: expect.stringContaining("label:key=value") });
    }
    await expect(loop.review.exceptions.create({ ...base, when: "input.bucket ==", expiresAt: in30d }, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "when" } });
    await expect(loop.review.exceptions.create({ ...base, expiresAt: in30d }, operator)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    // The agent never edits its own exceptions, whatever role its identity holds.
    const learner = { id: "vigil:learner", roles: ["approver"] };
    await expect(loop.review.exceptions.create({ ...base, expiresAt: in30d }, learner)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" }, message: expect.stringContaining("Vigil never edits its own exceptions") });
    await expect(loop.review.exceptions.import({ ...base, id: "SEC-9", expiresAt: in30d }, learner)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    expect(await loop.review.exceptions.list()).toEqual([]);
    expect(await loop.storage.listAudit({})).toEqual([]);
  });

  it("refuses a `when` whose CEL type is known not to be boolean, on create and import; a dynamic one is reported when it does not apply", async () => {
    const expiresAt = new Date(loop.clock.now().getTime() + 30 * DAY).toISOString();
    const notBoolean: [string, string][] = [
      ['"yes"', "string"], ["1", "int"], ["1.5", "double"], ["null", "null_type"], ["[true]", "list"], ['{"on": true}', "map"],
      ["input.count + 1", "int"], ["size(input.tags)", "int"], ['input.tags.filter(t, t == "x")', "list"], ['input.name.lowerAscii()', "string"],
      ['input.public ? "a" : "b"', "string"], ['cel.bind(x, 1, x + 1)', "int"],
    ];
    for (const [when, type] of notBoolean) {
      await expect(loop.review.exceptions.create({ ...base, when, expiresAt }, approver)).rejects.toMatchObject({
        code: "VIGIL_BAD_INPUT", details: { field: "when" },
        message: expect.stringMatching(new RegExp(`^when must be a boolean condition: .* is (a|an) ${type}.*leave when out`)),
      });
      await expect(loop.review.exceptions.import({ ...base, id: "SEC-1", when, expiresAt }, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "when" } });
    }
    expect(await loop.review.exceptions.list()).toEqual([]);
    // Boolean ones, and those whose type is known only at evaluation, are taken.
    for (const when of ["true", "input.public", 'input.tags.exists(t, t == "x")', "has(input.owner)", '!(input.name in ["a"])', "cel.bind(x, 1, x == 1)", "input.public ? input.a : input.b"]) {
      expect((await loop.review.exceptions.create({ ...base, when, expiresAt }, approver)).when).toBe(when);
    }
    for (const e of await loop.review.exceptions.list()) await loop.review.exceptions.revoke(e.id, approver, "test done");
    // A dynamic `when` that gives a string does not apply, and the decision says why.
    const dynamic = await loop.review.exceptions.create({ ...base, when: "variables.bucket", expiresAt }, approver);
    const { decision } = await loop.handle({ kind: "low-risk", bucket: "site", public: true });
    expect(decision.verdict).toBe("deny");
    expect(decision.explanation.steps.find((s) => s.kind === "note" && s.ref === dynamic.id)?.text)
      .toBe(`exception ${dynamic.id} not applied: its when condition gave "site" (a string), not true or false; write a comparison, e.g. variables.bucket == "site"`);
  });

  it("refuses a policy, rule or subject with spaces around it, which would never match (a name is compared exactly)", async () => {
    const expiresAt = new Date(loop.clock.now().getTime() + 30 * DAY).toISOString();
    for (const [field, value] of [["policies", ["low-risk "]], ["rules", [" no-public"]], ["subjects", ["bucket/site\n"]]] as const) {
      await expect(loop.review.exceptions.create({ ...base, [field]: value, expiresAt }, approver)).rejects.toMatchObject({
        code: "VIGIL_BAD_INPUT", details: { field }, message: expect.stringContaining(`${JSON.stringify(value[0])} has spaces around it`),
      });
      await expect(loop.review.exceptions.import({ ...base, id: "SEC-1", [field]: value, expiresAt }, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field } });
    }
    expect(await loop.review.exceptions.list()).toEqual([]);
    // Written without them, the same exception applies.
    await loop.review.exceptions.create({ ...base, policies: ["low-risk"], rules: ["no-public"], subjects: ["bucket/site"], expiresAt }, approver);
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("allow");
  });

  it("refuses a field it does not know (a `subject` typo would otherwise leave the exception unscoped) and a revoked register entry, on create and import", async () => {
    const expiresAt = new Date(loop.clock.now().getTime() + 30 * DAY).toISOString();
    await expect(loop.review.exceptions.create({ ...base, subject: ["bucket/site"], expiresAt } as never, approver)).rejects.toMatchObject({
      code: "VIGIL_BAD_INPUT", details: { field: "subject" }, message: expect.stringContaining('subject is not a field of an exception (did you mean "subjects"?)'),
    });
    // A setup file (vigil replay --setup, vigil setup import --direct) reaches import without the HTTP schema.
    await expect(loop.review.exceptions.import({ ...base, id: "SEC-1", rule: ["no-public"], expiresAt } as never, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "rule" } });
    await expect(loop.review.exceptions.import({ ...base, id: "SEC-2", revokedAt: "2025-02-01T00:00:00Z", expiresAt } as never, approver)).rejects.toMatchObject({
      code: "VIGIL_BAD_INPUT", details: { field: "revokedAt" }, message: expect.stringContaining("a revoked exception is not imported"),
    });
    expect(await loop.review.exceptions.list()).toEqual([]);
    expect((await loop.handle({ kind: "low-risk", bucket: "other", public: true })).decision.verdict).toBe("deny");
    // The fields of an exception, and on import its id and register fields, are taken.
    await loop.review.exceptions.import({ ...base, id: "SEC-3", rules: ["no-public"], subjects: ["bucket/site"], when: "true", legalBasis: "Art. 6", createdBy: "dpo", createdAt: "2025-01-01T00:00:00Z", expiresAt }, approver);
  });

  it("reads an expiry with an offset as that instant, and stops applying exactly at it", async () => {
    const ex = await loop.review.exceptions.create({ ...base, expiresAt: "2025-02-04T12:00:00+02:00" }, approver);
    expect(ex.expiresAt).toBe("2025-02-04T10:00:00.000Z");
    loop.clock.set("2025-02-04T09:59:59.999Z");
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("allow");
    loop.clock.set("2025-02-04T10:00:00.000Z");
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("deny");
  });

  it("import is idempotent: again later or by someone else when the register gives no author or time, and whatever the stored key order", async () => {
    const item = { ...base, id: "SEC-7", expiresAt: new Date(loop.clock.now().getTime() + 200 * DAY).toISOString() };
    const first = await loop.review.exceptions.import(item, admin);
    expect(first).toMatchObject({ id: "SEC-7", createdBy: "ada", createdAt: loop.clock.iso() });
    loop.clock.advance(HOUR);
    expect(await loop.review.exceptions.import(item, approver)).toEqual(first);
    // A store that keeps keys in another order (PostgreSQL jsonb sorts them).
    const reordered = Object.fromEntries(Object.entries(first).sort(([a], [b]) => a.length - b.length || (a < b ? -1 : 1)));
    await loop.storage.putDocs([{ collection: "exceptions", id: "SEC-7", value: reordered }], loop.clock.iso());
    expect(await loop.review.exceptions.import(item, admin)).toEqual(first);
    await expect(loop.review.exceptions.import({ ...item, justification: "another reason entirely" }, admin)).rejects.toMatchObject({ code: "VIGIL_CONFLICT", details: { field: "id" } });
    await expect(loop.review.exceptions.import({ ...item, createdBy: "someone-else" }, admin)).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
    expect((await loop.storage.listAudit({})).filter((a) => a.action === "exception.import")).toHaveLength(1);
  });

  it("importing again an exception revoked since says it was revoked and stays so, rather than \"revoke it\"", async () => {
    const item = { ...base, id: "SEC-8", expiresAt: new Date(loop.clock.now().getTime() + 30 * DAY).toISOString() };
    await loop.review.exceptions.import(item, admin);
    const revoked = await loop.review.exceptions.revoke("SEC-8", approver, "bucket made private");
    await expect(loop.review.exceptions.import(item, admin)).rejects.toMatchObject({
      code: "VIGIL_CONFLICT", details: { field: "id" },
      message: `exception SEC-8 was revoked at ${revoked.revokedAt}; a revoked exception stays revoked: import it under another id to put it in force again`,
    });
    expect(await loop.review.exceptions.get("SEC-8")).toEqual(revoked);
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("deny");
  });

  it("an exception imported under an id of Vigil's own form (EX-2, from another store's setup) does not make create fail: create takes the next free id", async () => {
    const expiresAt = new Date(loop.clock.now().getTime() + 30 * DAY).toISOString();
    await loop.review.exceptions.import({ ...base, id: "EX-1", expiresAt }, admin);
    await loop.review.exceptions.import({ ...base, id: "EX-2", expiresAt }, admin);
    const created = await loop.review.exceptions.create({ ...base, justification: "another standing permission", expiresAt }, approver);
    expect(created.id).toBe("EX-3");
    expect((await loop.review.exceptions.get("EX-1"))?.justification).toBe(base.justification);
    expect((await loop.review.exceptions.list()).map((e) => e.id).sort()).toEqual(["EX-1", "EX-2", "EX-3"]);
  });

  it("import keeps a past createdAt as the instant it names, refuses one that is not a time with its offset, and records the import time for one still to come", async () => {
    const item = { ...base, expiresAt: new Date(loop.clock.now().getTime() + 200 * DAY).toISOString() };
    for (const createdAt of ["2025-01-10T00:00:00", "yesterday", 17] as unknown as string[]) {
      await expect(loop.review.exceptions.import({ ...item, id: "SEC-2", createdAt }, admin))
        .rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "createdAt" } });
    }
    expect(await loop.review.exceptions.list()).toEqual([]);
    const kept = await loop.review.exceptions.import({ ...item, id: "SEC-3", createdAt: "2025-01-10T09:00:00+02:00" }, admin);
    expect(kept.createdAt).toBe("2025-01-10T07:00:00.000Z");
    // Not stored as created after it was stored (as the API server ignores a client's creationTimestamp); it applies, and importing it again is the same.
    const later = { ...item, id: "SEC-4", createdAt: new Date(loop.clock.now().getTime() + 3 * DAY).toISOString() };
    const scheduled = await loop.review.exceptions.import(later, admin);
    expect(scheduled.createdAt).toBe(loop.clock.iso());
    expect((await loop.handle({ kind: "low-risk", bucket: "site", public: true })).decision.verdict).toBe("allow");
    loop.clock.advance(HOUR);
    expect(await loop.review.exceptions.import(later, admin)).toEqual(scheduled);
  });

  it("applies on the next decision with the explanation, and stops when it expires (clock-driven) or is revoked", async () => {
    const expiresAt = new Date(loop.clock.now().getTime() + 2 * DAY).toISOString();
    const ex = await loop.review.exceptions.create({ ...base, when: 'variables.bucket.startsWith("www-")', legalBasis: "Art. 6(1)(f)", expiresAt }, admin);
    expect(ex).toMatchObject({ id: "EX-1", createdBy: "ada", expiresAt });
    const allowed = await loop.handle({ kind: "low-risk", bucket: "www-site", public: true });
    expect(allowed.decision.verdict).toBe("allow");
    expect(allowed.decision.explanation.summary).toBe(`Allowed: low-risk/no-public allowed by exception EX-1: Art. 6(1)(f) public website bucket by design (https://jira.example.com/SEC-12), expires ${expiresAt}.`);
    expect((await loop.handle({ kind: "low-risk", bucket: "data", public: true })).decision.verdict).toBe("deny");
    loop.clock.advance(2 * DAY);
    const expired = await loop.handle({ kind: "low-risk", bucket: "www-site", public: true });
    expect(expired.decision.verdict).toBe("deny");
    expect(await loop.review.exceptions.list({ active: true })).toEqual([]);
    expect((await loop.review.exceptions.list({ active: false })).map((e) => e.id)).toEqual(["EX-1"]);

    const second = await loop.review.exceptions.create({ ...base, subjects: ["bucket/www-*"], expiresAt: new Date(loop.clock.now().getTime() + DAY).toISOString() }, approver);
    expect(second.id).toBe("EX-2");
    expect((await loop.handle({ kind: "high-risk", bucket: "www-x", public: true })).decision.verdict).toBe("allow");
    await expect(loop.review.exceptions.revoke("EX-2", approver, "")).rejects.toMatchObject({ details: { field: "reason" } });
    await loop.review.exceptions.revoke("EX-2", approver, "site moved to a CDN");
    expect((await loop.handle({ kind: "high-risk", bucket: "www-x", public: true })).decision.verdict).toBe("deny");
    expect((await loop.storage.listAudit({})).map((a) => `${a.actor}:${a.action}:${a.target}`)).toEqual(["ada:exception.create:EX-1", "ann:exception.create:EX-2", "ann:exception.revoke:EX-2"]);
  });
});

describe("exemptions snapshot", () => {
  let loop: Loop;
  beforeEach(async () => { loop = await createLoop(createSqliteStorage, policies); });
  afterEach(async () => { await loop.dispose(); });

  it("is cached for maxAgeMs, reloaded at once after a change through the service", async () => {
    expect((await loop.review.exemptions()).exceptions).toEqual([]);
    const expiresAt = new Date(loop.clock.now().getTime() + DAY).toISOString();
    const ex = await loop.review.exceptions.create({ policies: ["x"], justification: "made through the service", expiresAt }, approver);
    expect((await loop.review.exemptions()).exceptions.map((e) => e.id)).toEqual([ex.id]);
    // Another process writes one directly: visible once the snapshot is older than maxAgeMs.
    const other = { ...ex, id: "EX-99" };
    await loop.storage.putDocs([{ collection: "exceptions", id: other.id, value: other }], loop.clock.iso());
    expect((await loop.review.exemptions({ maxAgeMs: 5000 })).exceptions.map((e) => e.id)).toEqual([ex.id]);
    loop.clock.advance(5000);
    expect((await loop.review.exemptions({ maxAgeMs: 5000 })).exceptions.map((e) => e.id)).toEqual([ex.id, "EX-99"]);
  });
});

describe("exemptions snapshot and changes at the same time", () => {
  let loop: Loop;
  beforeEach(async () => { loop = await createLoop(createSqliteStorage, policies); });
  afterEach(async () => { await loop.dispose(); });

  it("a snapshot loading while an override is revoked is not kept: the next decision does not apply the revoked override", async () => {
    const { decision } = await loop.handle({ kind: "low-risk", bucket: "site", public: true });
    // The overrides the next snapshot reads reach it only when `release` is called (a slow store).
    let release = (): void => {};
    let hold = false;
    const storage: Storage = new Proxy(loop.storage, {
      get(target, key, receiver) {
        if (key === "listDocs") {
          return async (collection: string, query?: object) => {
            const docs = await target.listDocs(collection, query);
            if (hold && collection === "overrides") await new Promise<void>((resolve) => { release = resolve; });
            return docs;
          };
        }
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const service = createReviewService({ storage, clock: loop.clock, executor: loop.executor, policy: (n) => loop.set.get(n) });
    const override = await service.overrides.create({ decisionId: decision.id, scope: "window", until: new Date(loop.clock.now().getTime() + DAY).toISOString(), reason: "migration" }, approver);
    hold = true;
    const loading = service.exemptions();
    await new Promise((resolve) => setTimeout(resolve, 10));
    hold = false;
    await service.overrides.revoke(override.id, approver, "migration done");
    release();
    expect((await loading).overrides.map((o) => o.id)).toEqual([override.id]);
    expect((await service.exemptions()).overrides).toEqual([]);
  });
});

describe("feedback", () => {
  let loop: Loop;
  beforeEach(async () => { loop = await createLoop(createSqliteStorage, policies); });
  afterEach(async () => { await loop.dispose(); });

  it("records who said what; unknown decisions, labels and roles are refused and change nothing", async () => {
    const { decision } = await loop.handle({ kind: "low-risk", bucket: "x", public: true });
    await expect(loop.review.feedback.record({ decisionId: "nope", label: "false_positive" }, approver)).rejects.toMatchObject({ code: "VIGIL_NOT_FOUND" });
    await expect(loop.review.feedback.record({ decisionId: decision.id, label: "meh" as never }, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "label" } });
    await expect(loop.review.feedback.record({ decisionId: decision.id, label: "incident" }, viewer)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    await expect(loop.review.feedback.record({ decisionId: decision.id, label: "incident", reason: 42 as never }, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "reason" } });
    await expect(loop.review.feedback.record({ decisionId: decision.id, label: "incident", via: "" }, approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "via" } });
    expect(await loop.review.feedback.list()).toEqual([]);
    const fb = await loop.review.feedback.record({ decisionId: decision.id, label: "incident", reason: "it was exploited", via: "cli" }, approver);
    expect(fb).toMatchObject({ decisionId: decision.id, label: "incident", by: "ann", via: "cli", at: loop.clock.iso() });
    expect(await loop.review.feedback.list({ label: "incident" })).toEqual([fb]);
  });
});

describe("once overrides and rules that do not deny", () => {
  let loop: Loop;
  const policy = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: bucket-rules }
spec:
  rules:
    - name: no-public
      condition: input.public == true
      message: "bucket {{ input.bucket }} is public"
      severity: high
      effect: deny
    - name: no-owner
      condition: "!has(input.owner)"
      message: "bucket {{ input.bucket }} has no owner"
      severity: low
      effect: warn
`;
  beforeEach(async () => { loop = await createLoop(createSqliteStorage, [policy]); });
  afterEach(async () => { await loop.dispose(); });

  it("a request the override did not have to let through (only a warn rule violated) does not use it up: the retried denied request keeps its pass", async () => {
    const { decision } = await loop.handle({ bucket: "site", public: true, owner: "web" });
    expect(decision.verdict).toBe("deny");
    await loop.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "launch day" }, approver);
    // Another request of the subject, allowed anyway (a warn rule): the override is not what let it through.
    const warned = await loop.handle({ bucket: "site", public: false });
    expect(warned.decision.verdict).toBe("allow");
    expect((await loop.review.overrides.get("OV-1"))?.used).toBeUndefined();
    // After a crash, reconciling does not take that decision for the one that used it either.
    expect(await loop.review.overrides.reconcileUsed()).toEqual([]);
    const retry = await loop.handle({ bucket: "site", public: true, owner: "web" });
    expect(retry.decision.verdict).toBe("allow");
    expect((await loop.review.overrides.get("OV-1"))?.used).toBe(true);
    expect((await loop.handle({ bucket: "site", public: true, owner: "web" })).decision.verdict).toBe("deny");
  });
});
