import { afterEach, describe, expect, it } from "vitest";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { HOUR, MINUTE } from "../decide/test-support.js";
import { admin, approver, approver2, bucketPolicy, createLoop, operator, viewer, type Loop } from "./test-support.js";
import { parseDurationMs } from "./duration.js";
import { createReviewService } from "./review-service.js";

const ladder = `  escalation:
    - notify: ["#cloud-security"]
      after: 30m
    - notify: ["oncall:cloud"]
      after: PT1H
`;

function policies(safeDefault: string): string[] {
  return [
    bucketPolicy("lock", { tier: "approve", extra: `    safeDefault: ${safeDefault}\n${ladder}` }),
    bucketPolicy("gate", { tier: "approve", remediation: false, extra: `    safeDefault: notify\n  escalation:\n    - notify: ["#gate"]\n      after: 15m\n` }),
  ];
}

describe("approvals queue", () => {
  let loop: Loop;
  afterEach(async () => { await loop.dispose(); });

  async function promoted(safeDefault = "remediate", settings = {}) {
    loop = await createLoop(createSqliteStorage, policies(safeDefault), settings);
    await loop.executor.promote("lock", admin);
    return loop;
  }

  it("an approve and a deny at the same moment: the one that claims the review first acts, the other changes nothing", async () => {
    await promoted();
    loop.fake.state.set("bucket/logs", "public");
    await loop.handle({ kind: "lock", bucket: "logs", public: true });
    // The approver's actions take a while to run; a second approver denies meanwhile.
    let release!: () => void;
    const running = new Promise<void>((resolve) => { release = resolve; });
    let started!: () => void;
    const hasStarted = new Promise<void>((resolve) => { started = resolve; });
    const slowExecutor = { ...loop.executor, runApproved: async (...args: Parameters<typeof loop.executor.runApproved>) => { started(); await running; return loop.executor.runApproved(...args); } };
    const slow = createReviewService({ storage: loop.storage, clock: loop.clock, executor: slowExecutor, policy: (n) => loop.set.get(n) });
    // Answered just as the ladder runs out: the review is due for its safe default.
    loop.clock.advance(2 * HOUR);
    const approving = slow.approve("RV-1", approver, "owner agreed");
    await hasStarted;
    expect((await loop.review.get("RV-1"))?.answering).toMatchObject({ by: "ann", answer: "approve" });
    await expect(loop.review.deny("RV-1", approver2, "not on my watch")).rejects.toMatchObject({ code: "VIGIL_CONFLICT", message: expect.stringContaining("being answered (approve) by ann") });
    // The ladder's safe default leaves it alone too.
    expect((await loop.review.tick()).expired).toEqual([]);
    release();
    const result = await approving;
    expect(result.actions.map((a) => a.status)).toEqual(["applied"]);
    expect(result.review.status).toBe("approved");
    expect(result.review.answering).toBeUndefined();
    expect(loop.fake.state.get("bucket/logs")).toBe("private");
    expect((await loop.review.get("RV-1"))).toMatchObject({ status: "approved", resolvedBy: "ann" });
  });

  it("two-person rule: a first approval while a deny is being carried out is refused and does not undo the deny", async () => {
    await promoted("remediate", { twoPersonRule: { approvals: true } });
    await loop.handle({ kind: "lock", bucket: "logs", public: true });
    let release!: () => void;
    const running = new Promise<void>((resolve) => { release = resolve; });
    let started!: () => void;
    const hasStarted = new Promise<void>((resolve) => { started = resolve; });
    const slowExecutor = { ...loop.executor, skipPending: async (...args: Parameters<typeof loop.executor.skipPending>) => { started(); await running; return loop.executor.skipPending(...args); } };
    const slow = createReviewService({ storage: loop.storage, clock: loop.clock, executor: slowExecutor, policy: (n) => loop.set.get(n), twoPersonRule: { approvals: true } });
    const denying = slow.deny("RV-1", approver2, "owner keeps it public");
    await hasStarted;
    await expect(loop.review.approve("RV-1", approver, "looks right")).rejects.toMatchObject({ code: "VIGIL_CONFLICT", message: expect.stringContaining("being answered (deny) by bob") });
    release();
    expect((await denying).status).toBe("denied");
    const stored = await loop.review.get("RV-1");
    expect(stored).toMatchObject({ status: "denied", resolvedBy: "bob" });
    expect(stored?.approvals).toBeUndefined();
    expect(stored?.answering).toBeUndefined();
  });

  it("actions sent for approval while the decision's review is being answered open a new review; the answer completes", async () => {
    await promoted();
    const { outcome } = await loop.handle({ kind: "lock", bucket: "logs", public: true });
    let release!: () => void;
    const running = new Promise<void>((resolve) => { release = resolve; });
    let started!: () => void;
    const hasStarted = new Promise<void>((resolve) => { started = resolve; });
    const slowExecutor = { ...loop.executor, runApproved: async (...args: Parameters<typeof loop.executor.runApproved>) => { started(); await running; return loop.executor.runApproved(...args); } };
    const slow = createReviewService({ storage: loop.storage, clock: loop.clock, executor: slowExecutor, policy: (n) => loop.set.get(n) });
    const approving = slow.approve("RV-1", approver, "owner agreed");
    await hasStarted;
    const held = { ...(outcome.records[0] as (typeof outcome.records)[number]), id: "act-held", status: "pending-approval" as const };
    const [later] = await loop.review.enqueue(outcome.draft, [...outcome.records, held]);
    expect(later).toMatchObject({ id: "RV-2", status: "pending", actionIds: ["act-held"] });
    release();
    const result = await approving;
    expect(result.review).toMatchObject({ id: "RV-1", status: "approved", actionIds: [outcome.records[0]?.id] });
    expect(await loop.review.get("RV-1")).toMatchObject({ status: "approved", actionIds: [outcome.records[0]?.id] });
    expect((await loop.review.get("RV-1"))?.answering).toBeUndefined();
  });

  it("a claim to answer that was never finished (the process died) lapses after five minutes", async () => {
    await promoted();
    await loop.handle({ kind: "lock", bucket: "logs", public: true });
    const doc = await loop.storage.getDoc<Record<string, unknown>>("reviews", "RV-1");
    await loop.storage.putDocs([{ collection: "reviews", id: "RV-1", value: { ...doc!.value, answering: { by: "ann", answer: "approve", at: loop.clock.iso() } }, expectVersion: doc!.version }], loop.clock.iso());
    await expect(loop.review.deny("RV-1", approver2, "no")).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
    loop.clock.advance(5 * MINUTE + 1);
    expect((await loop.review.deny("RV-1", approver2, "no")).status).toBe("denied");
  });

  it("queues pending actions with the decision's explanation; approve runs them against the actuator, undo restores", async () => {
    await promoted();
    loop.fake.state.set("bucket/logs", "public");
    const { decision, reviews } = await loop.handle({ kind: "lock", bucket: "logs", public: true });
    expect(decision.tier).toBe("approve");
    expect(reviews).toHaveLength(1);
    const review = reviews[0];
    expect(review).toMatchObject({ id: "RV-1", decisionId: decision.id, policy: "lock", status: "pending", level: 0, summary: decision.explanation.summary, dueAt: "2025-02-03T10:30:00.000Z" });
    expect(review?.explanation.steps.some((s) => s.kind === "condition")).toBe(true);
    expect(review?.actionIds).toEqual(decision.actions.map((a) => a.id));
    expect(loop.notifications.map((n) => [n.reason, n.level, n.targets])).toEqual([["created", 0, ["#cloud-security"]]]);
    expect(await loop.review.list({ status: "pending" })).toHaveLength(1);
    expect(loop.fake.state.get("bucket/logs")).toBe("public");

    await expect(loop.review.approve("RV-1", viewer)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    await expect(loop.review.approve("RV-1", operator)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", message: expect.stringContaining("needs the approver or admin role; otto has operator") });
    const result = await loop.review.approve("RV-1", approver, "confirmed with the bucket owner");
    expect(result.complete).toBe(true);
    expect(result.actions.map((a) => [a.status, a.approvedBy])).toEqual([["applied", "ann"]]);
    expect(result.review).toMatchObject({ status: "approved", outcome: "approved", resolvedBy: "ann", reason: "confirmed with the bucket owner" });
    expect(loop.fake.state.get("bucket/logs")).toBe("private");
    await expect(loop.review.approve("RV-1", approver)).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });

    const feedback = await loop.review.feedback.list({ decisionId: decision.id });
    expect(feedback.map((f) => [f.label, f.by, f.via])).toEqual([["true_positive", "ann", "review"]]);
    await loop.executor.undo(result.actions[0]?.id ?? "", operator, "owner changed their mind");
    expect(loop.fake.state.get("bucket/logs")).toBe("public");
    const audit = (await loop.storage.listAudit({})).map((a) => `${a.actor}:${a.action}`);
    expect(audit).toEqual(expect.arrayContaining(["ann:review.approve", "ann:feedback.record", "otto:action.undo"]));
  });

  it("deny settles the actions without running them and records feedback with who", async () => {
    await promoted();
    const { decision } = await loop.handle({ kind: "lock", bucket: "logs", public: true });
    await expect(loop.review.deny("RV-1", approver, " ")).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "reason" } });
    const denied = await loop.review.deny("RV-1", approver, "bucket is meant to be public");
    expect(denied).toMatchObject({ status: "denied", resolvedBy: "ann", reason: "bucket is meant to be public" });
    expect((await loop.executor.getAction(decision.actions[0]?.id ?? ""))?.status).toBe("skipped");
    expect(loop.fake.calls).toEqual([]);
    expect((await loop.review.feedback.list({ decisionId: decision.id })).map((f) => [f.label, f.by, f.reason])).toEqual([["false_positive", "ann", "bucket is meant to be public"]]);
  });

  it("denying the review of a denied request with nothing to run upholds the denial: feedback true_positive by default", async () => {
    await promoted();
    const { decision } = await loop.handle({ kind: "gate", bucket: "b", public: true });
    expect(decision).toMatchObject({ verdict: "deny", actions: [] });
    await loop.review.deny("RV-1", approver, "no public buckets, not even for a day");
    expect((await loop.review.feedback.list({ decisionId: decision.id })).map((f) => [f.label, f.via])).toEqual([["true_positive", "review"]]);
    expect(await loop.review.overrides.list()).toEqual([]);
    // A label given explicitly still wins.
    const other = await loop.handle({ kind: "gate", bucket: "c", public: true });
    await loop.review.deny("RV-2", approver, "wrong rule for this bucket", { label: "false_positive" });
    expect((await loop.review.feedback.list({ decisionId: other.decision.id })).map((f) => f.label)).toEqual(["false_positive"]);
  });

  it("escalation: timeouts move up the levels and end at the safe default (remediate runs the action)", async () => {
    await promoted("remediate");
    await loop.handle({ kind: "lock", bucket: "logs", public: true });
    loop.clock.advance(29 * MINUTE);
    expect(await loop.review.tick()).toEqual({ escalated: [], expired: [], deferred: [] });
    loop.clock.advance(MINUTE);
    const first = await loop.review.tick();
    expect(first.escalated.map((r) => [r.id, r.level, r.status, r.dueAt])).toEqual([["RV-1", 1, "escalated", "2025-02-03T11:30:00.000Z"]]);
    expect(loop.notifications.map((n) => [n.reason, n.level, n.targets])).toEqual([["created", 0, ["#cloud-security"]], ["escalated", 1, ["oncall:cloud"]]]);
    expect(loop.fake.state.has("bucket/logs")).toBe(false);
    loop.clock.advance(HOUR);
    const last = await loop.review.tick();
    expect(last.expired.map((r) => [r.status, r.outcome, r.resolvedBy])).toEqual([["expired", "safe-default", "vigil:escalation"]]);
    expect(last.expired[0]?.reason).toBe("no answer after 2 escalation level(s): safe default remediate applied");
    expect(loop.fake.state.get("bucket/logs")).toBe("private");
    expect(loop.notifications.at(-1)).toMatchObject({ reason: "safe-default", level: 1, targets: ["oncall:cloud"] });
    expect(await loop.review.tick()).toEqual({ escalated: [], expired: [], deferred: [] });
  });

  it("a review whose safe default cannot run (its action record is gone) does not hold up the others; the tick names it", async () => {
    await promoted("remediate");
    const broken = await loop.handle({ kind: "lock", bucket: "logs", public: true });
    await loop.handle({ kind: "lock", bucket: "site", public: true });
    await loop.storage.deleteDoc("actions", broken.decision.actions[0]?.id ?? "");
    loop.clock.advance(5 * HOUR);
    await expect(loop.review.tick()).rejects.toThrow(/safe default of 1 review\(s\) could not be applied .*review RV-1: action act-[0-9a-f]+ does not exist/);
    // The second review was handled: its safe default ran.
    expect(loop.fake.state.get("bucket/site")).toBe("private");
    expect((await loop.review.get("RV-2"))?.status).toBe("expired");
    expect((await loop.review.get("RV-1"))?.status).not.toBe("expired");
  });

  it("a clock jump walks every level; safe default block does not act", async () => {
    await promoted("block");
    const { decision } = await loop.handle({ kind: "lock", bucket: "logs", public: true });
    loop.clock.advance(5 * HOUR);
    const result = await loop.review.tick();
    expect(result.expired.map((r) => r.reason)).toEqual(["no answer after 2 escalation level(s): safe default block applied"]);
    expect(loop.notifications.map((n) => n.reason)).toEqual(["created", "escalated", "safe-default"]);
    expect((await loop.executor.getAction(decision.actions[0]?.id ?? ""))?.status).toBe("skipped");
    expect(loop.fake.calls).toEqual([]);
  });

  it("a permissive safe default lets the denied request through once; approval does the same", async () => {
    await promoted();
    const first = await loop.handle({ kind: "gate", bucket: "b", public: true });
    expect(first.decision).toMatchObject({ verdict: "deny", tier: "approve", actions: [] });
    expect(first.reviews.map((r) => [r.policy, r.actionIds])).toEqual([["gate", []]]);
    loop.clock.advance(15 * MINUTE);
    expect((await loop.review.tick()).expired).toHaveLength(1);
    const retry = await loop.handle({ kind: "gate", bucket: "b", public: true });
    expect(retry.decision.verdict).toBe("allow");
    expect(retry.decision.explanation.summary).toContain("allowed by override OV-1 (once) from vigil:escalation");
    expect(retry.reviews).toEqual([]);
    const again = await loop.handle({ kind: "gate", bucket: "b", public: true });
    expect(again.decision.verdict).toBe("deny");
    expect(again.reviews.map((r) => r.id)).toEqual(["RV-2"]);
    const approval = await loop.review.approve("RV-2", approver, "ok for today");
    expect(approval.overrideId).toBe("OV-2");
    expect((await loop.review.overrides.get("OV-2"))?.review).toBe("RV-2");
    expect((await loop.handle({ kind: "gate", bucket: "b", public: true })).decision.verdict).toBe("allow");
  });

  it("two-person rule on overrides: one approver's approval of a denied high-severity request does not let its retry through alone", async () => {
    await promoted("remediate", { twoPersonRule: {} });
    await loop.handle({ kind: "gate", bucket: "b", public: true });
    const approval = await loop.review.approve("RV-1", approver, "ok for b");
    expect(approval.complete).toBe(true);
    // The same override ann could not create alone through overrides.create waits for a second, different approver.
    const override = await loop.review.overrides.get(approval.overrideId as string);
    expect(override).toMatchObject({ by: "ann", review: "RV-1", confirmationRequired: true });
    expect(override?.secondBy).toBeUndefined();
    expect((await loop.handle({ kind: "gate", bucket: "b", public: true })).decision.verdict).toBe("deny");
    await expect(loop.review.overrides.confirm(override?.id as string, { id: "ANN ", roles: ["approver"] })).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    await loop.review.overrides.confirm(override?.id as string, approver2, "agreed");
    expect((await loop.handle({ kind: "gate", bucket: "b", public: true })).decision.verdict).toBe("allow");
    expect((await loop.handle({ kind: "gate", bucket: "b", public: true })).decision.verdict).toBe("deny");
  });

  it("a denied request without a subject: neither an approval nor a permissive safe default lets every request of the policy through", async () => {
    await promoted();
    await loop.handle({ kind: "gate", bucket: "b", public: true }, { subject: null });
    const approval = await loop.review.approve("RV-1", approver, "ok for b");
    expect(approval.complete).toBe(true);
    expect(approval.overrideId).toBeUndefined();
    await loop.handle({ kind: "gate", bucket: "other", public: true }, { subject: null });
    loop.clock.advance(15 * MINUTE);
    expect((await loop.review.tick()).expired.map((r) => r.id)).toEqual(["RV-2"]);
    expect(await loop.review.overrides.list()).toEqual([]);
    expect((await loop.handle({ kind: "gate", bucket: "payroll", public: true }, { subject: null })).decision.verdict).toBe("deny");
  });

  it("the kill switch keeps an approval from running; the review stays open", async () => {
    await promoted();
    await loop.handle({ kind: "lock", bucket: "logs", public: true });
    await loop.executor.killSwitch.set(true, operator, "incident");
    await expect(loop.review.approve("RV-1", approver)).rejects.toMatchObject({ code: "VIGIL_KILL_SWITCH" });
    expect((await loop.review.get("RV-1"))?.status).toBe("pending");
    loop.clock.advance(3 * HOUR);
    expect((await loop.review.tick()).deferred.map((r) => r.id)).toEqual(["RV-1"]);
    expect(loop.fake.calls).toEqual([]);
    await loop.executor.killSwitch.set(false, operator);
    expect((await loop.review.tick()).expired.map((r) => r.id)).toEqual(["RV-1"]);
    expect(loop.fake.state.get("bucket/logs")).toBe("private");
  });

  it("two-person rule on approvals: a second, different approver must confirm", async () => {
    await promoted("remediate", { twoPersonRule: { approvals: true } });
    await loop.handle({ kind: "lock", bucket: "logs", public: true });
    const first = await loop.review.approve("RV-1", approver, "looks right");
    expect(first).toMatchObject({ complete: false, actions: [], review: { status: "pending", approvals: [{ by: "ann", reason: "looks right" }] } });
    expect(loop.fake.calls).toEqual([]);
    await expect(loop.review.approve("RV-1", approver)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", message: expect.stringContaining("second, different approver") });
    // The same person under a token named with other case or spaces is still the same person.
    await expect(loop.review.approve("RV-1", { id: " Ann", roles: ["admin"] })).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" } });
    expect(loop.fake.calls).toEqual([]);
    const second = await loop.review.approve("RV-1", approver2, "agreed");
    expect(second.complete).toBe(true);
    expect(second.review.approvals?.map((a) => a.by)).toEqual(["ann", "bob"]);
    expect(loop.fake.state.get("bucket/logs")).toBe("private");
  });

  it("Vigil's own identities (vigil:*) may not approve: not alone, nor as the second approver of the two-person rule", async () => {
    await promoted("remediate", { twoPersonRule: { approvals: true } });
    await loop.handle({ kind: "lock", bucket: "logs", public: true });
    await loop.handle({ kind: "gate", bucket: "b", public: true });
    const agent = { id: "vigil:escalation", roles: ["approver", "admin"] };
    await expect(loop.review.approve("RV-2", agent, "benign")).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" } });
    expect(await loop.review.overrides.list()).toEqual([]);
    expect((await loop.handle({ kind: "gate", bucket: "b", public: true })).decision.verdict).toBe("deny");
    await loop.review.approve("RV-1", approver, "looks right");
    await expect(loop.review.approve("RV-1", { id: " Vigil:learner", roles: ["approver"] }, "agreed")).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" } });
    expect(await loop.review.get("RV-1")).toMatchObject({ status: "pending", approvals: [{ by: "ann" }] });
    expect(loop.fake.calls).toEqual([]);
    expect(await loop.review.feedback.list()).toEqual([]);
  });

  it("actions sent for approval after the decision's review was answered open a new review, not a closed one", async () => {
    await promoted();
    const { outcome } = await loop.handle({ kind: "lock", bucket: "logs", public: true });
    await loop.review.deny("RV-1", approver, "owner keeps it public");
    // Later (the enforcement ladder sends held actions when their grace period ends) another action of the same decision waits for a person.
    const held = { ...(outcome.records[0] as (typeof outcome.records)[number]), id: "act-held", status: "pending-approval" as const };
    const [later] = await loop.review.enqueue(outcome.draft, [...outcome.records, held]);
    expect(later).toMatchObject({ id: "RV-2", status: "pending", actionIds: ["act-held"], dueAt: "2025-02-03T10:30:00.000Z" });
    expect(await loop.review.get("RV-1")).toMatchObject({ status: "denied", actionIds: [outcome.records[0]?.id] });
    expect(loop.notifications.map((n) => `${n.review.id}:${n.reason}`)).toEqual(["RV-1:created", "RV-1:resolved", "RV-2:created"]);
    // Idempotent: the same actions again find the same review.
    expect((await loop.review.enqueue(outcome.draft, [held])).map((r) => r.id)).toEqual(["RV-2"]);
    expect((await loop.review.enqueue(outcome.draft, outcome.records)).map((r) => r.id)).toEqual(["RV-2"]);
    expect(await loop.review.list()).toHaveLength(2);
  });

  it("two approvals of a denied request at once: one wins, and its retry passes once only", async () => {
    await promoted();
    await loop.handle({ kind: "gate", bucket: "b", public: true });
    const results = await Promise.allSettled([loop.review.approve("RV-1", approver, "ok"), loop.review.approve("RV-1", approver2, "ok too")]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(results.find((r) => r.status === "rejected")).toMatchObject({ reason: { code: "VIGIL_CONFLICT" } });
    expect((await loop.review.overrides.list()).map((o) => o.id)).toEqual(["OV-1"]);
    expect(loop.notifications.filter((n) => n.reason === "resolved")).toHaveLength(1);
    expect((await loop.handle({ kind: "gate", bucket: "b", public: true })).decision.verdict).toBe("allow");
    expect((await loop.handle({ kind: "gate", bucket: "b", public: true })).decision.verdict).toBe("deny");
  });

  it("two workers ticking at once: each level is notified once, the safe default applies once, neither tick fails", async () => {
    await promoted();
    const other = createReviewService({ storage: loop.storage, clock: loop.clock, executor: loop.executor, policy: (n) => loop.set.get(n), notifier: { notify: async (n) => { loop.notifications.push(n); } } });
    await loop.handle({ kind: "lock", bucket: "logs", public: true });
    await loop.handle({ kind: "gate", bucket: "b", public: true });
    loop.clock.advance(30 * MINUTE);
    const first = await Promise.all([loop.review.tick(), other.tick()]);
    expect(first.flatMap((r) => r.escalated.map((x) => x.id))).toEqual(["RV-1"]);
    expect(first.flatMap((r) => r.expired.map((x) => x.id))).toEqual(["RV-2"]);
    loop.clock.advance(HOUR);
    const second = await Promise.all([loop.review.tick(), other.tick()]);
    expect(second.flatMap((r) => r.expired.map((x) => x.id))).toEqual(["RV-1"]);
    expect(loop.notifications.map((n) => `${n.review.id}:${n.reason}:${n.level}`)).toEqual([
      "RV-1:created:0", "RV-2:created:0", "RV-1:escalated:1", "RV-2:safe-default:0", "RV-1:safe-default:1",
    ]);
    expect((await loop.review.get("RV-1"))?.notifications.map((n) => n.reason)).toEqual(["created", "escalated", "safe-default"]);
    expect((await loop.review.overrides.list()).map((o) => [o.id, o.by])).toEqual([["OV-1", "vigil:escalation"]]);
    const audit = (await loop.storage.listAudit({})).map((a) => `${a.action}:${a.target}`);
    expect(audit.filter((a) => a.startsWith("review.escalate") || a.startsWith("review.safe-default")).sort()).toEqual(["review.escalate:RV-1", "review.safe-default:RV-1", "review.safe-default:RV-2"]);
  });

  it("an escalation timeout too long to be a date (a typo'd after) opens the review without a due time instead of failing the decision", async () => {
    loop = await createLoop(createSqliteStorage, [
      bucketPolicy("slow", { tier: "approve", remediation: false, extra: `  escalation:\n    - notify: ["#gate"]\n      after: 99999999999999h\n` }),
      bucketPolicy("ladder", { tier: "approve", remediation: false, extra: `  escalation:\n    - notify: ["#a"]\n      after: 1h\n    - notify: ["#b"]\n      after: 99999999999999h\n` }),
    ]);
    const { reviews } = await loop.handle({ kind: "slow", bucket: "b", public: true });
    expect(reviews.map((r) => [r.id, r.status, r.dueAt])).toEqual([["RV-1", "pending", undefined]]);
    expect(loop.notifications.map((n) => n.targets)).toEqual([["#gate"]]);
    // The second level's timeout: the review escalates to it and stays there; the tick handles the others.
    await loop.handle({ kind: "ladder", bucket: "c", public: true });
    loop.clock.advance(2 * HOUR);
    const ticked = await loop.review.tick();
    expect(ticked.escalated.map((r) => [r.id, r.level, r.dueAt])).toEqual([["RV-2", 1, undefined]]);
  });

  it("a failing notifier never blocks the queue: the failure is recorded on the review and in the audit trail", async () => {
    loop = await createLoop(createSqliteStorage, policies("block"), {});
    const failing = createReviewService({ storage: loop.storage, clock: loop.clock, executor: loop.executor, policy: (n) => loop.set.get(n), notifier: { notify: async () => { throw new Error("slack is down"); } } });
    await loop.handle({ kind: "gate", bucket: "b", public: true });
    loop.clock.advance(15 * MINUTE);
    expect((await failing.tick()).expired.map((r) => [r.id, r.notifications.map((n) => n.error)])).toEqual([["RV-1", [undefined, "slack is down"]]]);
    expect((await failing.get("RV-1"))?.notifications.map((n) => [n.reason, n.error])).toEqual([["created", undefined], ["safe-default", "slack is down"]]);
    expect((await loop.storage.listAudit({})).filter((a) => a.action === "review.notify-failed").map((a) => a.target)).toEqual(["RV-1"]);
  });

  it("blast-radius overflow becomes a review too", async () => {
    loop = await createLoop(createSqliteStorage, [bucketPolicy("fix", { tier: "remediate" })], { guardrails: { blastRadius: { perPolicy: { max: 1, windowMs: HOUR } } } });
    await loop.executor.promote("fix", admin);
    expect((await loop.handle({ kind: "fix", bucket: "a", public: true })).reviews).toEqual([]);
    const second = await loop.handle({ kind: "fix", bucket: "b", public: true });
    expect(second.reviews.map((r) => [r.policy, r.actionIds.length, r.dueAt])).toEqual([["fix", 1, undefined]]);
    await loop.review.approve(second.reviews[0]?.id ?? "", approver);
    expect(loop.fake.state.get("bucket/b")).toBe("private");
  });
});

describe("durations", () => {
  it("reads ISO-8601 and Go-style durations", () => {
    expect(parseDurationMs("PT30M")).toBe(30 * MINUTE);
    expect(parseDurationMs("P1DT2H")).toBe(26 * HOUR);
    expect(parseDurationMs("1h30m")).toBe(90 * MINUTE);
    expect(parseDurationMs("45s")).toBe(45_000);
    expect(() => parseDurationMs("soon", "escalation[0].after")).toThrow(/escalation\[0\]\.after "soon" is not a duration/);
  });
});
