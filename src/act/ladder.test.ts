import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Context } from "../core/context.js";
import type { DecisionDraft } from "../core/decision.js";
import type { Entity } from "../core/entity.js";
import { loadPolicyText } from "../policy/load.js";
import { createPolicySet, type PolicySet } from "../policy/policy-set.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { createDecider } from "../decide/decider.js";
import { context, DAY, HOUR, manualClock, type ManualClock } from "../decide/test-support.js";
import { createExecutor, type Executor } from "./executor.js";
import { defaultNotificationKinds } from "./guardrails.js";
import { createLadder, type Ladder } from "./ladder.js";
import { resolveLadderSettings } from "./ladder-settings.js";
import { createFakeActuators, createTempStore, type FakeActuators, type TempStore } from "./test-support.js";

const operator = { id: "otto", roles: ["operator"] };
const approver = { id: "apu", roles: ["approver"] };
const owner = { id: "olga", roles: ["viewer"] };
const stranger = { id: "sam", roles: ["viewer"] };

const policy = (name: string, extra = ""): string => `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: ${name} }
spec:
  match: input.kind == "${name}"
  rules:
    - name: idle
      condition: input.idle == true
      message: "{{ input.id }} is idle"
      effect: warn
  remediation:
    - action: fake.notify
      params: { text: "{{ input.id }} idle" }
    - action: fake.set-state
      params: { value: stopped }
  enforcement:
    tier: remediate
${extra}`;

/** The target names its kind (vm): another entity with the same id is not it. */
const kindTarget = policy("idle-kind").replace(/(      params: \{ (?:text|value): [^\n]*\n)/g, "$1      target: '{\"kind\": \"vm\", \"id\": input.id}'\n");

/** Two reversible held actions on the same target: stop, then park. */
const twoSteps = policy("idle-two").replace("      params: { value: stopped }\n", "      params: { value: stopped }\n    - action: fake.set-state\n      params: { value: parked }\n");

const notifyOnly = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: spike }
spec:
  rules:
    - name: spike
      condition: input.spike == true
      message: "{{ input.id }} spiked"
      effect: warn
  remediation:
    - action: fake.notify
      params: { text: "spike" }
  enforcement: { tier: notify }
`;

interface Harness {
  store: TempStore; clock: ManualClock; fake: FakeActuators; executor: Executor; ladder: Ladder; set: PolicySet;
  enqueued: { decision: string; actions: string[] }[];
  violate(id: string, kind: string, extra?: { entities?: Record<string, Entity>; input?: Record<string, unknown>; decisionId?: string }): Promise<DecisionDraft>;
}

async function harness(): Promise<Harness> {
  const { policies, errors } = loadPolicyText([policy("idle-vm"), policy("idle-db", `    adaptive:\n      - when: input.env == "production"\n        tier: approve\n`), policy("idle-plain"), twoSteps, kindTarget, policy("idle-gated", "    dryRun: true\n"), policy("idle-adaptive", `    adaptive:\n      - when: input.planned == true\n        tier: notify\n      - when: input.maintenance == true\n        tier: observe\n`), notifyOnly].join("---\n"));
  expect(errors).toEqual([]);
  const set = createPolicySet(policies);
  const store = await createTempStore(createSqliteStorage);
  const clock = manualClock("2026-01-09T10:00:00.000Z"); // a Friday
  const fake = createFakeActuators(clock);
  const executor = createExecutor({ storage: store.storage, clock, actuators: fake.actuators, guardrails: { requirePromotion: false, notificationKinds: [...defaultNotificationKinds, "fake.notify"] } });
  const enqueued: { decision: string; actions: string[] }[] = [];
  const ladder = createLadder({
    storage: store.storage, clock, executor, notificationKinds: [...defaultNotificationKinds, "fake.notify"],
    settings: { policies: { "idle-vm": { graceBusinessDays: 3, maxSnoozes: 2 }, "idle-db": { graceBusinessDays: 1 }, "idle-gated": { graceBusinessDays: 1 }, "idle-adaptive": { graceBusinessDays: 1 }, "idle-two": { graceBusinessDays: 1 }, "idle-kind": { graceBusinessDays: 1 }, spike: { cooldownHours: 24 } } },
    async enqueue(decision, records) { enqueued.push({ decision: decision.id, actions: records.map((r) => r.id) }); },
  });
  const decider = createDecider();
  let n = 0;
  const h: Harness = {
    store, clock, fake, executor, ladder, set, enqueued,
    async violate(id, kind, extra = {}) {
      const input = { id, kind, idle: true, ...extra.input };
      const ctx: Context = context(input, { now: clock.iso(), subject: id, id: `evt-${++n}`, entities: extra.entities ?? { resource: { kind: "resource", id, attrs: { owner: "olga" } } } });
      const { findings, policyRevisions } = set.evaluate(ctx);
      const decided = decider.decide(ctx, findings, policyRevisions, { id: extra.decisionId ?? `d-${n}`, now: clock.iso(), enforced: true, policy: (name) => set.get(name) });
      const { draft } = await ladder.act(decided, ctx, (name) => set.get(name));
      await store.storage.appendDecisions([draft]);
      return draft;
    },
  };
  return h;
}

describe("enforcement ladder", () => {
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(async () => { await h.store.dispose(); });

  it("notifies the owner once, holds the stop for 3 business days (the weekend does not count), then acts; undo restores", async () => {
    const first = await h.violate("vm-1", "idle-vm");
    expect(h.fake.sent).toEqual([{ target: "vm-1", text: "vm-1 idle" }]);
    expect(h.fake.state.has("vm-1")).toBe(false);
    const [vm] = await h.ladder.list({ policy: "idle-vm" });
    expect(vm).toMatchObject({ status: "waiting", owner: "olga", episode: 1, dueAt: "2026-01-14T10:00:00.000Z", graceBusinessDays: 3 });
    const text = first.explanation.steps.map((s) => s.text).join("\n");
    expect(text).toContain("fake.set-state on vm-1 marked 2026-01-09T10:00:00.000Z, due 2026-01-14T10:00:00.000Z after 3 business day(s) (owner olga)");
    expect(first.actions.find((a) => a.actuator === "fake.set-state")?.reason).toMatch(/held by the enforcement ladder until 2026-01-14/);

    // Still idle over the weekend, Monday and Tuesday: nobody is notified again, nothing runs.
    for (const day of ["2026-01-10T10:00:00Z", "2026-01-11T10:00:00Z", "2026-01-12T10:00:00Z", "2026-01-13T10:00:00Z", "2026-01-14T09:59:00Z"]) {
      h.clock.set(day);
      const again = await h.violate("vm-1", "idle-vm");
      expect(again.explanation.steps.some((s) => s.text.startsWith("already on the ladder"))).toBe(true);
      expect((await h.ladder.tick()).applied).toEqual([]);
    }
    expect(h.fake.sent).toHaveLength(1);
    expect(h.fake.state.has("vm-1")).toBe(false);
    h.fake.state.set("vm-1", "running");

    h.clock.set("2026-01-14T10:00:00Z");
    const tick = await h.ladder.tick();
    expect(tick.applied.map((r) => [r.policy, r.actuator, r.status])).toEqual([["idle-vm", "fake.set-state", "applied"]]);
    expect(h.fake.state.get("vm-1")).toBe("stopped");
    const applied = await h.ladder.get(vm!.id);
    expect(applied).toMatchObject({ status: "applied", violations: 6 });
    // The stop is the one planned by the latest violating decision (the latest evidence).
    expect((await h.executor.getAction(applied!.actions[0]!))?.decisionId).toBe(applied!.lastDecisionId);
    expect(applied!.decisionId).toBe(first.id);

    await expect(h.ladder.undo(vm!.id, owner, "needed")).rejects.toThrow(/needs the operator or approver/);
    const undone = await h.ladder.undo(vm!.id, operator, "owner restarted it for a demo");
    expect(undone.item.status).toBe("undone");
    expect(h.fake.state.get("vm-1")).toBe("running");
    // A later violation opens a new episode and notifies again.
    h.clock.set("2026-01-15T10:00:00Z");
    await h.violate("vm-1", "idle-vm");
    expect(await h.ladder.get(vm!.id)).toMatchObject({ status: "waiting", episode: 2, dueAt: "2026-01-20T10:00:00.000Z" });
    expect(h.fake.sent).toHaveLength(2);
  });

  it("undo tries every applied action even when one fails: the mark keeps each outcome, names the failure and why, and a second undo finishes", async () => {
    h.fake.state.set("vm-2", "running");
    await h.violate("vm-2", "idle-two");
    const [item] = await h.ladder.list({ policy: "idle-two" });
    expect(item!.held).toHaveLength(2);
    h.clock.set("2026-01-12T10:00:00Z"); // Monday: one business day later, still idle
    await h.violate("vm-2", "idle-two");
    const tick = await h.ladder.tick();
    expect(tick.applied).toHaveLength(2);
    expect(h.fake.state.get("vm-2")).toBe("parked");
    const applied = await h.ladder.get(item!.id);
    const [stopId, parkId] = applied!.actions;

    h.fake.failNextUndo = "InstanceLocked: the instance is locked by another operation";
    const first = await h.ladder.undo(item!.id, operator, "needed for a demo");
    // Both undos were attempted: the first failed, the later one still ran (parked -> stopped).
    expect(h.fake.calls.filter((c) => c.op === "undo").map((c) => c.actionId)).toEqual([stopId, parkId]);
    expect(h.fake.state.get("vm-2")).toBe("stopped");
    expect(first.failed).toEqual([{ actionId: stopId, actuator: "fake.set-state", error: "InstanceLocked: the instance is locked by another operation" }]);
    expect(first.records.map((r) => [r.id, r.status])).toEqual([[stopId, "applied"], [parkId, "undone"]]);
    // The mark is saved with each outcome and stays applied, so the failed action can be undone again.
    const saved = await h.ladder.get(item!.id);
    expect(saved!.status).toBe("applied");
    expect(first.item).toEqual(saved);
    const last = saved!.history.at(-1)!;
    expect(last).toMatchObject({ event: "undo failed", by: "otto" });
    expect(last.note).toContain(`${stopId} (fake.set-state) failed: InstanceLocked: the instance is locked by another operation`);
    expect(last.note).toContain(`${parkId} (fake.set-state) undone`);
    const audit = (await h.store.storage.listAudit({})).filter((a) => a.action === "ladder.undo");
    expect(audit).toHaveLength(1);
    expect(audit[0]?.detail).toMatchObject({ actions: [parkId], failed: [{ actionId: stopId, error: "InstanceLocked: the instance is locked by another operation" }] });

    const second = await h.ladder.undo(item!.id, operator, "retry");
    expect(second.failed).toEqual([]);
    expect(second.records.map((r) => [r.id, r.status])).toEqual([[stopId, "undone"]]);
    expect(second.item.status).toBe("undone");
    expect(h.fake.state.get("vm-2")).toBe("running");
  });

  it("the owner on record is the target entity's, matched by kind: another entity with the same id (who may not snooze) is not the owner", async () => {
    const entities = {
      resource: { kind: "dns-record", id: "vm-4", attrs: { owner: "mallory" } },
      vm: { kind: "vm", id: "vm-4", attrs: { owner: "olga" } },
    };
    await h.violate("vm-4", "idle-kind", { entities });
    const [item] = await h.ladder.list({ policy: "idle-kind" });
    expect(item).toMatchObject({ target: { kind: "vm", id: "vm-4" }, owner: "olga", status: "waiting" });
    await expect(h.ladder.release(item!.id, { id: "mallory", roles: ["viewer"] }, "mine")).rejects.toThrow(/needs the operator or approver/);
    expect((await h.ladder.snooze(item!.id, owner, { reason: "demo on Tuesday" })).snoozes).toHaveLength(1);
  });

  it("the owner is recognised as people are elsewhere (the two-person rule): a token named alice@example.com owns a target tagged Alice@Example.com", async () => {
    await h.violate("vm-5", "idle-vm", { entities: { resource: { kind: "resource", id: "vm-5", attrs: { tags: [{ Key: "Owner", Value: "Alice@Example.com" }] } } } });
    const [item] = await h.ladder.list({ policy: "idle-vm" });
    expect(item?.owner).toBe("Alice@Example.com");
    await expect(h.ladder.snooze(item!.id, { id: "alice@example.co", roles: ["viewer"] }, { reason: "mine" })).rejects.toThrow(/needs the operator or approver/);
    expect((await h.ladder.snooze(item!.id, { id: "alice@example.com", roles: ["viewer"] }, { reason: "demo on Tuesday" })).snoozes.map((z) => z.by)).toEqual(["alice@example.com"]);
    expect((await h.ladder.release(item!.id, { id: " ALICE@example.com ", roles: [] }, "decommissioned instead")).status).toBe("released");
  });

  it("a target found protected during the grace period is never acted on at its due time", async () => {
    await h.violate("vm-7", "idle-vm");
    const [vm] = await h.ladder.list({ policy: "idle-vm" });
    expect(vm?.held.map((p) => p.disposition)).toEqual(["apply"]);
    // The owner labels it protected; the next decision sees the label (its stop is blocked).
    h.clock.set("2026-01-12T10:00:00Z");
    const protectedVm = { resource: { kind: "resource", id: "vm-7", attrs: { owner: "olga", labels: { "vigil.dev/protected": "true" } } } };
    await h.violate("vm-7", "idle-vm", { entities: protectedVm });
    h.clock.set("2026-01-14T10:00:00Z");
    await h.ladder.tick();
    expect(h.fake.state.has("vm-7")).toBe(false);
    expect(h.fake.calls.filter((c) => c.kind === "fake.set-state")).toEqual([]);
    const stops = (await h.executor.listActions({ policy: "idle-vm" })).filter((r) => r.actuator === "fake.set-state");
    expect(stops.map((r) => [r.status, r.blockedBy])).toEqual([["blocked", "protected"]]);
    expect((await h.ladder.get(vm!.id))?.status).not.toBe("applied");
  });

  it("a policy demoted back to dry-run during the grace period only dry-runs its held action at the due time", async () => {
    await h.executor.promote("idle-gated", approver);
    h.clock.set("2026-01-12T10:00:00Z");
    await h.violate("vm-8", "idle-gated");
    const [vm] = await h.ladder.list({ policy: "idle-gated" });
    expect(vm?.held.map((p) => p.disposition)).toEqual(["apply"]);
    await h.executor.demote("idle-gated", approver, "too many false positives");
    h.clock.set("2026-01-13T10:00:00Z");
    await h.ladder.tick();
    expect(h.fake.state.has("vm-8")).toBe(false);
    expect(h.fake.calls.filter((c) => c.kind === "fake.set-state").map((c) => c.dryRun)).toEqual([true]);
    const [stop] = (await h.executor.listActions({ policy: "idle-gated" })).filter((r) => r.actuator === "fake.set-state");
    expect(stop).toMatchObject({ status: "dry-run", plan: { dryRun: true } });
    expect(stop?.reason).toMatch(/policy idle-gated acts in dry-run until a person promotes it/);
    // Nothing was stopped: the mark says the action was previewed, not applied, and cannot be undone.
    const done = await h.ladder.get(vm!.id);
    expect(done?.status).toBe("previewed");
    expect(done?.closedAt).toBeDefined();
    await expect(h.ladder.undo(vm!.id, approver, "test")).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
  });

  it("a violation recorded while tick applies the held action neither fails the tick nor applies it twice", async () => {
    await h.violate("vm-5", "idle-vm");
    const [vm] = await h.ladder.list({ policy: "idle-vm" });
    h.clock.set("2026-01-13T10:00:00Z");
    await h.violate("vm-5", "idle-vm");
    h.clock.set("2026-01-14T10:00:00Z");
    // The next decision about vm-5 arrives while the stop is being applied.
    const setState = h.fake.actuators.find((a) => a.kind === "fake.set-state")!;
    const apply = setState.apply.bind(setState);
    let concurrent = true;
    setState.apply = async (plan, options) => {
      if (concurrent) { concurrent = false; await h.violate("vm-5", "idle-vm"); }
      return apply(plan, options);
    };
    const tick = await h.ladder.tick();
    expect(tick.applied.map((r) => r.status)).toEqual(["applied"]);
    const item = await h.ladder.get(vm!.id);
    expect(item).toMatchObject({ status: "applied", violations: 3, actions: [tick.applied[0]!.id] });
    await h.ladder.tick();
    expect(h.fake.calls.filter((c) => c.kind === "fake.set-state" && !c.dryRun)).toHaveLength(1);
  });

  it("two workers ticking at once apply a due action once and both finish", async () => {
    await h.violate("vm-6", "idle-vm");
    const [vm] = await h.ladder.list({ policy: "idle-vm" });
    h.clock.set("2026-01-13T10:00:00Z");
    await h.violate("vm-6", "idle-vm");
    h.clock.set("2026-01-14T10:00:00Z");
    const other = createLadder({ storage: h.store.storage, clock: h.clock, executor: h.executor, notificationKinds: [...defaultNotificationKinds, "fake.notify"], settings: h.ladder.settings });
    const ticks = await Promise.allSettled([h.ladder.tick(), other.tick()]);
    expect(ticks.map((t) => t.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(h.fake.calls.filter((c) => c.kind === "fake.set-state" && !c.dryRun)).toHaveLength(1);
    const item = await h.ladder.get(vm!.id);
    expect(item?.status).toBe("applied");
    expect((await h.executor.getAction(item!.actions[0]!))?.status).toBe("applied");
    expect(item!.history.filter((e) => e.event === "applied")).toHaveLength(1);
  });

  it("a decision at tier observe (no action planned at all) drops the held stop too", async () => {
    await h.violate("vm-20", "idle-adaptive");
    const [vm] = await h.ladder.list({ policy: "idle-adaptive" });
    expect(vm?.held.map((p) => p.plan.actuator)).toEqual(["fake.set-state"]);
    h.clock.set("2026-01-09T12:00:00Z");
    const observe = await h.violate("vm-20", "idle-adaptive", { input: { maintenance: true } });
    expect(observe.explanation.steps.find((s) => s.kind === "tier" && s.policy === "idle-adaptive")?.tier).toBe("observe");
    expect(observe.actions).toEqual([]);
    expect(observe.explanation.steps.some((s) => s.text.startsWith("already on the ladder (episode 1, violation 2)"))).toBe(true);
    const dropped = await h.ladder.get(vm!.id);
    expect(dropped).toMatchObject({ held: [], lastDecisionId: observe.id, violations: 2 });
    h.clock.set("2026-01-12T10:00:00Z");
    await h.ladder.tick();
    expect(h.fake.calls.filter((c) => c.kind === "fake.set-state")).toEqual([]);
    // Not seen since Friday noon: the empty mark lapses at its due time.
    expect((await h.ladder.get(vm!.id))?.history.map((e) => e.event)).toEqual(["opened", "held actions dropped", "lapsed"]);
  });

  it("a decision at a lower tier (notify) drops the held stop: nothing runs at the due time and the mark is released; a later remediate decision holds it again", async () => {
    await h.violate("vm-10", "idle-adaptive");
    const [vm] = await h.ladder.list({ policy: "idle-adaptive" });
    expect(vm?.held.map((p) => p.plan.actuator)).toEqual(["fake.set-state"]);
    // The scale-down is planned after all: the same violation now decides at tier notify.
    h.clock.set("2026-01-09T12:00:00Z");
    const notify = await h.violate("vm-10", "idle-adaptive", { input: { planned: true } });
    expect(notify.tier).toBe("notify");
    expect((await h.ladder.get(vm!.id))?.held).toEqual([]);
    // Still seen (at tier notify) on Monday morning, so the mark does not lapse.
    h.clock.set("2026-01-12T09:00:00Z");
    await h.violate("vm-10", "idle-adaptive", { input: { planned: true } });
    h.clock.set("2026-01-12T10:00:00Z");
    await h.ladder.tick();
    expect(h.fake.calls.filter((c) => c.kind === "fake.set-state")).toEqual([]);
    const released = await h.ladder.get(vm!.id);
    expect(released?.status).toBe("released");
    expect(released?.history.map((e) => e.event)).toEqual(["opened", "held actions dropped", "released"]);
    // Held again by a remediate-tier decision before the due time: it acts then.
    await h.violate("vm-11", "idle-adaptive");
    h.clock.set("2026-01-12T11:00:00Z");
    await h.violate("vm-11", "idle-adaptive", { input: { planned: true } });
    h.clock.set("2026-01-12T12:00:00Z");
    await h.violate("vm-11", "idle-adaptive");
    h.clock.set("2026-01-13T10:00:00Z");
    const tick = await h.ladder.tick();
    expect(tick.applied.map((r) => [r.actuator, r.plan.target.id])).toEqual([["fake.set-state", "vm-11"]]);
  });

  it("a policy the ladder does not name acts at once, as with the executor alone", async () => {
    await h.violate("vm-9", "idle-plain");
    expect(h.fake.state.get("vm-9")).toBe("stopped");
    expect(await h.ladder.list()).toEqual([]);
  });

  it("the owner snoozes with a reason: the due time moves by business days, who and why are recorded, limits hold", async () => {
    await h.violate("vm-2", "idle-vm");
    const [vm] = await h.ladder.list({ policy: "idle-vm" });
    await expect(h.ladder.snooze(vm!.id, stranger, { reason: "mine" })).rejects.toThrow(/needs the operator or approver or admin role/);
    await expect(h.ladder.snooze(vm!.id, owner, { reason: " " })).rejects.toThrow(/reason is required/);
    h.clock.set("2026-01-12T09:00:00Z");
    const snoozed = await h.ladder.snooze(vm!.id, owner, { reason: "quarter-end load test on Thursday" });
    expect(snoozed.dueAt).toBe("2026-01-16T10:00:00.000Z"); // Wed 10:00 + 2 business days
    expect(snoozed.snoozes).toEqual([{ by: "olga", reason: "quarter-end load test on Thursday", at: "2026-01-12T09:00:00.000Z", businessDays: 2, dueAt: "2026-01-16T10:00:00.000Z" }]);
    const again = await h.ladder.snooze(vm!.id, operator, { reason: "one more day", businessDays: 1 });
    expect(again.dueAt).toBe("2026-01-19T10:00:00.000Z"); // Friday + 1 business day = Monday
    await expect(h.ladder.snooze(vm!.id, owner, { reason: "again" })).rejects.toThrow(/already snoozed 2 time\(s\)/);
    const audit = await h.store.storage.listAudit({ limit: 10 });
    expect(audit.filter((a) => a.action === "ladder.snooze").map((a) => a.actor).sort()).toEqual(["olga", "otto"]);

    // Keep confirming the violation daily; nothing runs before the snoozed due time.
    for (const day of ["2026-01-14T10:00:00Z", "2026-01-16T10:00:00Z", "2026-01-18T10:00:00Z"]) {
      h.clock.set(day);
      await h.violate("vm-2", "idle-vm");
      await h.ladder.tick();
      expect(await h.ladder.get(vm!.id)).toMatchObject({ status: "waiting", dueAt: "2026-01-19T10:00:00.000Z" });
      expect((await h.executor.listActions({ policy: "idle-vm" })).filter((r) => r.actuator === "fake.set-state")).toEqual([]);
    }
    h.clock.set("2026-01-19T10:00:00Z");
    await h.violate("vm-2", "idle-vm");
    await h.ladder.tick();
    expect(await h.ladder.get(vm!.id)).toMatchObject({ status: "applied" });
  });

  it("a mark not confirmed for staleAfterHours lapses at its due time instead of acting; release cancels", async () => {
    await h.violate("vm-3", "idle-vm");
    await h.violate("db-3", "idle-db");
    h.clock.set("2026-01-14T10:00:00Z");
    const tick = await h.ladder.tick();
    expect(tick.lapsed.map((i) => i.policy).sort()).toEqual(["idle-db", "idle-vm"]);
    expect(h.fake.calls.filter((c) => c.kind === "fake.set-state")).toEqual([]);
    await h.violate("vm-4", "idle-vm");
    const [item] = (await h.ladder.list({ status: "waiting" })).filter((i) => i.target.id === "vm-4" && i.policy === "idle-vm");
    await expect(h.ladder.release(item!.id, owner, "")).rejects.toThrow(/reason is required/);
    expect((await h.ladder.release(item!.id, owner, "decommissioning it myself")).status).toBe("released");
  });

  it("an approve-tier action (production) becomes a pending approval at its due time and goes to the review queue", async () => {
    const draft = await h.violate("db-1", "idle-db", { input: { env: "production" } });
    const db = (await h.ladder.list({ policy: "idle-db" }))[0]!;
    expect(db.held.map((p) => p.disposition)).toEqual(["approval"]);
    expect(db.dueAt).toBe("2026-01-12T10:00:00.000Z");
    h.clock.set("2026-01-12T10:00:00Z");
    const latest = await h.violate("db-1", "idle-db", { input: { env: "production" } });
    const tick = await h.ladder.tick();
    expect(tick.pending.map((r) => r.policy)).toEqual(["idle-db"]);
    expect(h.enqueued).toEqual([{ decision: latest.id, actions: [tick.pending[0]!.id] }]);
    expect((await h.ladder.get(db.id))?.decisionId).toBe(draft.id);
    expect((await h.ladder.get(db.id))?.status).toBe("pending-approval");
    await h.executor.runApproved([tick.pending[0]!.id], approver, "confirmed unused");
    await h.ladder.tick();
    expect(await h.ladder.get(db.id)).toMatchObject({ status: "applied" });
  });

  it("an approved held action that is blocked when it runs (protected since) leaves the mark failed, not applied", async () => {
    await h.violate("db-1", "idle-db", { input: { env: "production" } });
    const db = (await h.ladder.list({ policy: "idle-db" }))[0]!;
    h.clock.set("2026-01-12T10:00:00Z");
    await h.violate("db-1", "idle-db", { input: { env: "production" } });
    const tick = await h.ladder.tick();
    expect(tick.pending).toHaveLength(1);
    // db-1 is protected before the approval is answered (a restart with new guardrails).
    const guarded = createExecutor({ storage: h.store.storage, clock: h.clock, actuators: h.fake.actuators, guardrails: { requirePromotion: false, protected: { names: ["db-*"] } } });
    const [ran] = await guarded.runApproved([tick.pending[0]!.id], approver, "confirmed unused");
    expect(ran).toMatchObject({ status: "blocked", blockedBy: "protected" });
    await h.ladder.tick();
    expect(await h.ladder.get(db.id)).toMatchObject({ status: "failed" });
    expect(h.fake.state.has("db-1")).toBe(false);
  });

  it("notify-only ladders notify once per cooldown, then open a new episode", async () => {
    await h.violate("svc", "spike", { input: { idle: false, spike: true } });
    await h.violate("svc", "spike", { input: { idle: false, spike: true } });
    expect(h.fake.sent).toEqual([{ target: "svc", text: "spike" }]);
    h.clock.advance(25 * HOUR);
    await h.ladder.tick();
    expect((await h.ladder.list({ policy: "spike" }))[0]?.status).toBe("closed");
    await h.violate("svc", "spike", { input: { idle: false, spike: true } });
    expect(h.fake.sent).toHaveLength(2);
    expect((await h.ladder.list({ policy: "spike" }))[0]?.episode).toBe(2);
    h.clock.advance(DAY);
  });

  it("two workers' ticks with a decision re-planning the mark in between apply the held action once: the held action keeps its id through the episode", async () => {
    await h.violate("vm-1", "idle-vm");
    h.clock.set("2026-01-13T12:00:00Z");
    await h.violate("vm-1", "idle-vm");
    h.clock.set("2026-01-14T10:00:00Z");
    // Worker A's tick has read the mark (held actions of the first decision) when a new violation
    // re-plans them and worker B's tick runs; then A applies what it read.
    let interleaved = false;
    const workerA = createLadder({
      storage: h.store.storage, clock: h.clock, notificationKinds: [...defaultNotificationKinds, "fake.notify"], settings: h.ladder.settings,
      executor: {
        ...h.executor,
        async apply(planned) {
          if (!interleaved) {
            interleaved = true;
            await h.violate("vm-1", "idle-vm");
            await h.ladder.tick();
          }
          return h.executor.apply(planned);
        },
      },
    });
    await workerA.tick();
    expect(interleaved).toBe(true);
    expect(h.fake.calls.filter((c) => c.kind === "fake.set-state" && c.op === "apply")).toHaveLength(1);
    const [item] = await h.ladder.list({ policy: "idle-vm" });
    expect(item?.status).toBe("applied");
    const actions = await h.executor.listActions({ policy: "idle-vm" });
    expect(actions.filter((a) => a.actuator === "fake.set-state").map((a) => a.status)).toEqual(["applied"]);
    expect(item?.actions).toEqual(actions.filter((a) => a.actuator === "fake.set-state").map((a) => a.id));
  });

  it("settings are validated naming the field", () => {
    expect(() => resolveLadderSettings({ policies: { p: { graceBusinessDays: -1 } } })).toThrow(/ladder\.policies\.p\.graceBusinessDays must be a number between 0 and 60/);
    expect(() => resolveLadderSettings({ policies: { p: { grace: 3 } } })).toThrow(/ladder\.policies\.p\.grace is not a setting/);
    expect(() => resolveLadderSettings({ calender: {} })).toThrow(/ladder\.calender is not a setting/);
    expect(() => resolveLadderSettings({ calendar: { weekend: ["XX"] } })).toThrow(/ladder\.calendar\.weekend\[0\]/);
    expect(resolveLadderSettings({ policies: { "cost-idle-*": { maxSnoozes: 1 } } }).policies[0]?.settings).toMatchObject({ graceBusinessDays: 3, maxSnoozes: 1 });
  });

  it("a snoozeBusinessDays of 0 (every snooze naming no days would fail, blaming businessDays) is refused at start naming the setting", () => {
    let error: unknown;
    try { resolveLadderSettings({ policies: { p: { snoozeBusinessDays: 0 } } }); } catch (caught) { error = caught; }
    expect(error).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "ladder.policies.p.snoozeBusinessDays" } });
    expect((error as Error).message).toBe("ladder.policies.p.snoozeBusinessDays must be a number above 0 and at most 60 (a snooze adds that many business days), got 0");
    // 0 stays valid where it means something: a grace of 0 acts at once, maxSnoozes 0 allows no snooze.
    expect(resolveLadderSettings({ policies: { p: { graceBusinessDays: 0, maxSnoozes: 0, snoozeBusinessDays: 0.5 } } }).policies[0]?.settings).toMatchObject({ graceBusinessDays: 0, maxSnoozes: 0, snoozeBusinessDays: 0.5 });
  });
});
