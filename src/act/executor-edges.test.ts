/**
 * Edge cases of the executor's guardrails, with plans built by hand (no policy set): the kill
 * switch during a batch, concurrent undo, budgets on replays.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ActionPlan, Actuator } from "../core/action.js";
import type { Entity } from "../core/entity.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { HOUR, manualClock, type ManualClock } from "../decide/test-support.js";
import { createExecutor, type Executor } from "./executor.js";
import type { GuardrailConfig } from "./guardrails.js";
import type { PlannedAction } from "./plan.js";
import { actionIdOf, idempotencyKey } from "./records.js";
import { createFakeActuators, createTempStore, type FakeActuators, type TempStore } from "./test-support.js";

const operator = { id: "otto", roles: ["operator"] };
const approver = { id: "ann", roles: ["approver"] };

function planned(target: string, over: { policy?: string; decisionId?: string; disposition?: PlannedAction["disposition"]; value?: string } = {}): PlannedAction {
  const policy = over.policy ?? "p";
  const decisionId = over.decisionId ?? "d-1";
  const key = idempotencyKey(decisionId, policy, "fake.set-state", { kind: "bucket", id: target });
  const disposition = over.disposition ?? "apply";
  const plan: ActionPlan = {
    id: actionIdOf(key), decisionId, policy, actuator: "fake.set-state", target: { kind: "bucket", id: target },
    params: { value: over.value ?? "private" }, idempotencyKey: key, dryRun: disposition === "dry-run",
    ...(disposition === "approval" ? { requiresApproval: true } : {}), reason: "test",
  };
  return { plan, disposition, tier: disposition === "approval" ? "approve" : "remediate" };
}

interface Harness {
  store: TempStore;
  clock: ManualClock;
  fake: FakeActuators;
  executor: Executor;
}

async function harness(guardrails: GuardrailConfig = {}, wrap?: (fake: FakeActuators, executor: () => Executor) => Actuator[]): Promise<Harness> {
  const store = await createTempStore(createSqliteStorage);
  const clock = manualClock("2025-02-03T10:00:00.000Z");
  const fake = createFakeActuators(clock);
  let executor: Executor | undefined;
  const actuators = wrap ? wrap(fake, () => executor!) : fake.actuators;
  executor = createExecutor({ storage: store.storage, clock, actuators, guardrails });
  return { store, clock, fake, executor };
}

/** fake.set-state whose apply first runs `before` (e.g. an operator turning the kill switch on meanwhile). */
function withHook(fake: FakeActuators, before: (plan: ActionPlan) => Promise<void>): Actuator[] {
  const [setState, notify] = fake.actuators as [Actuator, Actuator];
  const hooked: Actuator = {
    kind: setState.kind, description: setState.description, validate: (p) => setState.validate(p),
    async apply(plan, options) { await before(plan); return setState.apply(plan, options); },
    undo: (plan, result) => setState.undo(plan, result),
  };
  return [hooked, notify];
}

describe("executor edge cases", () => {
  let h: Harness;
  afterEach(async () => { await h.store.dispose(); });

  describe("kill switch", () => {
    beforeEach(async () => {
      let first = true;
      h = await harness({}, (fake, executor) => withHook(fake, async () => {
        if (first) { first = false; await executor().killSwitch.set(true, operator, "runaway"); }
      }));
    });

    it("turned on while a batch is being applied: the actions after it are not applied", async () => {
      const records = await h.executor.apply([planned("a"), planned("b"), planned("c")]);
      expect(records.map((r) => [r.plan.target.id, r.status, r.blockedBy ?? ""])).toEqual([
        ["a", "applied", ""],
        ["b", "blocked", "kill-switch"],
        ["c", "blocked", "kill-switch"],
      ]);
      expect([...h.fake.state.keys()]).toEqual(["a"]);
    });

    it("turned on while approved actions run: the ones after it are not run", async () => {
      const pending = await h.executor.apply([planned("x", { disposition: "approval" }), planned("y", { disposition: "approval" })]);
      expect(pending.map((r) => r.status)).toEqual(["pending-approval", "pending-approval"]);
      await expect(h.executor.runApproved(pending.map((r) => r.id), approver, "ok")).rejects.toMatchObject({ code: "VIGIL_KILL_SWITCH" });
      expect([...h.fake.state.keys()]).toEqual(["x"]);
      expect((await h.executor.getAction(pending[1]!.id))?.status).toBe("pending-approval");
    });
  });

  it("an action tried again while the switch stays on (each ladder tick) is not rewritten: its record does not grow a history entry per try", async () => {
    h = await harness();
    await h.executor.killSwitch.set(true, operator, "incident");
    for (let i = 0; i < 5; i++) {
      h.clock.advance(5_000);
      const [record] = await h.executor.apply([planned("a")]);
      expect(record).toMatchObject({ status: "blocked", blockedBy: "kill-switch" });
    }
    const doc = await h.store.storage.getDoc<{ history: unknown[] }>("actions", planned("a").plan.id);
    expect(doc?.value.history).toHaveLength(1);
    expect(doc?.version).toBe(1);
    // Turned off and on again by someone else: the record says so.
    await h.executor.killSwitch.set(false, operator, "calm");
    await h.executor.killSwitch.set(true, { id: "olga", roles: ["operator"] }, "again");
    const [again] = await h.executor.apply([planned("a")]);
    expect(again?.reason).toMatch(/set by olga .*: again/);
    await h.executor.killSwitch.set(false, operator, "calm");
    expect((await h.executor.apply([planned("a")]))[0]?.status).toBe("applied");
  });

  it("an identity of Vigil's own may turn the kill switch on, never off: the switch a person threw stays until a person releases it", async () => {
    h = await harness();
    const agent = { id: "vigil:escalation", roles: ["operator", "approver"] };
    await h.executor.killSwitch.set(true, agent, "safe default");
    await expect(h.executor.killSwitch.set(false, agent, "timeout")).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" }, message: expect.stringMatching(/vigil:escalation may not turn the kill switch off.*a person with the operator or admin role/) });
    expect((await h.executor.apply([planned("a")]))[0]?.blockedBy).toBe("kill-switch");
    await h.executor.killSwitch.set(false, operator, "checked");
    expect((await h.executor.apply([planned("a")]))[0]?.status).toBe("applied");
  });

  describe("undo", () => {
    beforeEach(async () => { h = await harness(); });

    it("two concurrent undos of the same action reverse it once; the other is refused", async () => {
      h.fake.state.set("a", "public");
      const [record] = await h.executor.apply([planned("a")]);
      expect(record?.status).toBe("applied");
      // Someone changes the target after the action; only one undo may restore "public".
      const outcomes = await Promise.allSettled([h.executor.undo(record!.id, operator, "one"), h.executor.undo(record!.id, operator, "two")]);
      expect(h.fake.calls.filter((c) => c.op === "undo")).toHaveLength(1);
      expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
      const rejected = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
      expect(rejected.reason).toMatchObject({ code: "VIGIL_CONFLICT" });
      expect((await h.executor.getAction(record!.id))?.status).toBe("undone");
    });

    it("an undo that failed leaves no claim behind: it can be tried again at once; a claim left by a crashed worker lapses", async () => {
      await h.store.dispose();
      let failUndo = true;
      h = await harness({}, (fake) => {
        const [setState, notify] = fake.actuators as [Actuator, Actuator];
        return [{ ...setState, validate: (p) => setState.validate(p), apply: (p, o) => setState.apply(p, o), async undo(plan, result) { if (failUndo) { failUndo = false; throw new Error("HTTP 503"); } return setState.undo(plan, result); } }, notify];
      });
      const [record] = await h.executor.apply([planned("a")]);
      await expect(h.executor.undo(record!.id, operator)).rejects.toMatchObject({ code: "VIGIL_ACTUATOR" });
      const failed = await h.executor.getAction(record!.id);
      expect(failed).toMatchObject({ status: "applied", undoResult: { status: "failed" } });
      expect(failed?.undoStartedAt).toBeUndefined();
      expect(await h.executor.undo(record!.id, operator)).toMatchObject({ status: "undone" });

      // A worker that claimed an undo and died: refused while the claim is fresh, then it lapses.
      const [other] = await h.executor.apply([planned("b")]);
      const doc = await h.store.storage.getDoc<Record<string, unknown>>("actions", other!.id);
      await h.store.storage.putDocs([{ collection: "actions", id: other!.id, value: { ...doc!.value, undoStartedBy: "ghost", undoStartedAt: h.clock.iso() }, expectVersion: doc!.version }], h.clock.iso());
      await expect(h.executor.undo(other!.id, operator)).rejects.toMatchObject({ code: "VIGIL_CONFLICT", message: expect.stringContaining("being undone by ghost") });
      h.clock.advance(HOUR);
      const undone = await h.executor.undo(other!.id, operator);
      expect(undone).toMatchObject({ status: "undone", undoneBy: "otto" });
      expect(undone.undoStartedBy).toBeUndefined();
    });
  });

  it("demote, like promote, refuses an empty policy name naming the field", async () => {
    h = await harness();
    await expect(h.executor.promote("", approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "policy" } });
    await expect(h.executor.demote("", approver)).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "policy" } });
    expect(await h.store.storage.listDocs("act-promotions")).toEqual([]);
  });

  it("a plan judged before the guardrails changed (a pending approval, a held action) is checked again against protected names and the allowlist when it runs", async () => {
    h = await harness();
    const pending = await h.executor.apply([planned("prod-1", { disposition: "approval" }), planned("dev-1", { disposition: "approval" })]);
    expect(pending.map((r) => r.status)).toEqual(["pending-approval", "pending-approval"]);
    // Restart with prod-* protected.
    const executor = createExecutor({ storage: h.store.storage, clock: h.clock, actuators: h.fake.actuators, guardrails: { protected: { names: ["prod-*"] }, allow: { p: ["fake.set-state"] } } });
    const ran = await executor.runApproved(pending.map((r) => r.id), approver, "ok");
    expect(ran.map((r) => [r.plan.target.id, r.status, r.blockedBy ?? ""])).toEqual([["prod-1", "blocked", "protected"], ["dev-1", "applied", ""]]);
    expect(ran[0]?.reason).toBe("target prod-1 is protected (name matches prod-*): never acted on");
    const held = await executor.apply([planned("prod-2"), planned("dev-2", { policy: "q" })]);
    expect(held.map((r) => [r.plan.target.id, r.status, r.blockedBy ?? ""])).toEqual([["prod-2", "blocked", "protected"], ["dev-2", "blocked", "allowlist"]]);
    expect([...h.fake.state.keys()]).toEqual(["dev-1"]);
  });

  it("a plan is checked again against the entities as they are now (currentEntity, the entity store) when it runs: a label added since it was planned blocks it", async () => {
    const labels = new Map<string, Record<string, string>>();
    const currentEntity = async (target: { kind: string; id: string }): Promise<Entity | undefined> => {
      const found = labels.get(`${target.kind}/${target.id}`);
      return found === undefined ? undefined : { kind: target.kind, id: target.id, attrs: { labels: found } };
    };
    h = await harness();
    const executor = createExecutor({ storage: h.store.storage, clock: h.clock, actuators: h.fake.actuators, currentEntity });
    const pending = await executor.apply([planned("db-1", { disposition: "approval" }), planned("db-2", { disposition: "approval" })]);
    expect(pending.map((r) => r.status)).toEqual(["pending-approval", "pending-approval"]);
    labels.set("bucket/db-1", { "vigil.dev/protected": "true" });
    labels.set("bucket/db-2", { team: "storage" });
    const ran = await executor.runApproved(pending.map((r) => r.id), approver, "ok");
    expect(ran.map((r) => [r.plan.target.id, r.status, r.blockedBy ?? "", r.reason ?? ""])).toEqual([
      ["db-1", "blocked", "protected", "target db-1 is protected (label vigil.dev/protected=true): never acted on"],
      ["db-2", "applied", "", "test"],
    ]);
    // A held action (the ladder's) is checked the same way when it finally runs.
    labels.set("bucket/db-3", { "Vigil.dev/Protected": "TRUE" });
    const held = await executor.apply([planned("db-3")]);
    expect(held.map((r) => [r.status, r.blockedBy])).toEqual([["blocked", "protected"]]);
    expect([...h.fake.state.keys()]).toEqual(["db-2"]);
  });

  it("a full budget's reason gives a window shorter than a minute (or not whole minutes) as it is, not rounded to 0 min", async () => {
    h = await harness({ blastRadius: { perPolicy: { max: 1, windowMs: 30_000 }, global: { max: 50, windowMs: 90_500 } } });
    const [first, second] = await h.executor.apply([planned("b-1"), planned("b-2")]);
    expect([first?.status, second?.status]).toEqual(["applied", "pending-approval"]);
    expect(second?.reason).toBe("blast radius: policy p already ran 1 action(s) in the last 30 s (budget 1); a person must approve more");
    const tight = await harness({ blastRadius: { global: { max: 1, windowMs: 90_500 } } });
    const [, held] = await tight.executor.apply([planned("c-1"), planned("c-2")]);
    expect(held?.reason).toBe("blast radius: all policies already ran 1 action(s) in the last 90.5 s (budget 1); a person must approve more");
    await tight.store.dispose();
  });

  it("a budget that cannot be reserved (storage refusing the write) fails the action with the reason and sends nothing; the record does not stay planned", async () => {
    const store = await createTempStore(createSqliteStorage);
    try {
      const clock = manualClock("2025-02-03T10:00:00.000Z");
      const fake = createFakeActuators(clock);
      const refusing = new Proxy(store.storage, {
        get(target, prop, receiver) {
          if (prop === "putDocs") {
            return async (writes: readonly { collection: string }[], at: string) => {
              if (writes.some((w) => w.collection === "act-budget")) throw new Error("disk I/O error");
              return target.putDocs(writes as never, at);
            };
          }
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const executor = createExecutor({ storage: refusing, clock, actuators: fake.actuators, guardrails: { blastRadius: { perPolicy: { max: 5, windowMs: 3_600_000 } } } });
      const [record] = await executor.apply([planned("bucket-9")]);
      expect(record?.status).toBe("failed");
      expect(record?.reason).toBe("blast-radius budget could not be reserved (disk I/O error): nothing was sent");
      expect(fake.calls).toEqual([]);
      expect((await executor.getAction(record!.id))?.status).toBe("failed");
    } finally {
      await store.dispose();
    }
  });
});

/** The store, with putDocs to `collection` running `hook` first (which may throw, or change state meanwhile). */
function hookedStore(storage: TempStore["storage"], collection: string, hook: () => Promise<void>): TempStore["storage"] {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      if (prop === "putDocs") {
        return async (writes: readonly { collection: string }[], at: string) => {
          if (writes.some((w) => w.collection === collection)) await hook();
          return target.putDocs(writes as never, at);
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe("executor races with storage", () => {
  let store: TempStore;
  let clock: ManualClock;
  let fake: FakeActuators;
  beforeEach(async () => {
    store = await createTempStore(createSqliteStorage);
    clock = manualClock("2025-02-03T10:00:00.000Z");
    fake = createFakeActuators(clock);
  });
  afterEach(async () => { await store.dispose(); });

  it("an approved action whose budget cannot be reserved is recorded failed with the reason, sends nothing, and the rest still run; it does not stay planned", async () => {
    let refuse = false;
    const storage = hookedStore(store.storage, "act-budget", async () => { if (refuse) { refuse = false; throw new Error("disk I/O error"); } });
    const executor = createExecutor({ storage, clock, actuators: fake.actuators });
    const pending = await executor.apply([planned("x", { disposition: "approval" }), planned("y", { disposition: "approval" })]);
    expect(pending.map((r) => r.status)).toEqual(["pending-approval", "pending-approval"]);
    refuse = true;
    const ran = await executor.runApproved(pending.map((r) => r.id), approver, "ok");
    expect(ran.map((r) => [r.plan.target.id, r.status])).toEqual([["x", "failed"], ["y", "applied"]]);
    expect(ran[0]?.reason).toBe("blast-radius budget could not be reserved (disk I/O error): nothing was sent");
    expect((await executor.getAction(pending[0]!.id))).toMatchObject({ status: "failed", approvedBy: "ann" });
    expect(fake.calls.map((c) => c.actionId)).toEqual([pending[1]!.id]);
  });

  it("a kill switch turned on after the check but before the actuator is called (while the budget is reserved) stops the action; it stays re-runnable", async () => {
    let executor: Executor | undefined;
    let turnOn = true;
    const storage = hookedStore(store.storage, "act-budget", async () => { if (turnOn) { turnOn = false; await executor!.killSwitch.set(true, operator, "runaway"); } });
    executor = createExecutor({ storage, clock, actuators: fake.actuators });
    const [record] = await executor.apply([planned("a")]);
    expect(record).toMatchObject({ status: "blocked", blockedBy: "kill-switch" });
    expect(fake.calls).toEqual([]);
    await executor.killSwitch.set(false, operator, "calm");
    const [again] = await executor.apply([planned("a")]);
    expect(again?.status).toBe("applied");
    expect(fake.calls).toHaveLength(1);
  });

  it("a kill switch turned on while an approved action is claimed stops it before the actuator is called; it is pending approval again", async () => {
    let executor: Executor | undefined;
    let turnOn = false;
    const storage = hookedStore(store.storage, "act-budget", async () => { if (turnOn) { turnOn = false; await executor!.killSwitch.set(true, operator, "runaway"); } });
    executor = createExecutor({ storage, clock, actuators: fake.actuators });
    const [pending] = await executor.apply([planned("x", { disposition: "approval" })]);
    turnOn = true;
    await expect(executor.runApproved([pending!.id], approver, "ok")).rejects.toMatchObject({ code: "VIGIL_KILL_SWITCH" });
    expect(fake.calls).toEqual([]);
    expect(await executor.getAction(pending!.id)).toMatchObject({ status: "pending-approval" });
    await executor.killSwitch.set(false, operator, "calm");
    expect((await executor.runApproved([pending!.id], approver, "ok"))[0]?.status).toBe("applied");
  });
});

describe("budgets of actions a late kill switch stopped", () => {
  let store: TempStore;
  let clock: ManualClock;
  let fake: FakeActuators;
  beforeEach(async () => {
    store = await createTempStore(createSqliteStorage);
    clock = manualClock("2025-02-03T10:00:00.000Z");
    fake = createFakeActuators(clock);
  });
  afterEach(async () => { await store.dispose(); });

  it("an action stopped after its budget was reserved gives the slot back: run again, it counts once (apply and runApproved)", async () => {
    let executor: Executor | undefined;
    let turnOn = false;
    const storage = hookedStore(store.storage, "act-budget", async () => { if (turnOn) { turnOn = false; await executor!.killSwitch.set(true, operator, "runaway"); } });
    executor = createExecutor({ storage, clock, actuators: fake.actuators, guardrails: { blastRadius: { perPolicy: { max: 2, windowMs: 3_600_000 } } } });
    turnOn = true;
    expect((await executor.apply([planned("a")]))[0]?.blockedBy).toBe("kill-switch");
    expect((await executor.budgets("p")).map((b) => b.used)).toEqual([0, 0]);
    await executor.killSwitch.set(false, operator, "calm");
    expect((await executor.apply([planned("a")]))[0]?.status).toBe("applied");
    const [pending] = await executor.apply([planned("x", { disposition: "approval" })]);
    turnOn = true;
    await expect(executor.runApproved([pending!.id], approver, "ok")).rejects.toMatchObject({ code: "VIGIL_KILL_SWITCH" });
    expect((await executor.budgets("p")).map((b) => b.used)).toEqual([1, 1]);
    await executor.killSwitch.set(false, operator, "calm");
    expect((await executor.runApproved([pending!.id], approver, "ok"))[0]?.status).toBe("applied");
    // Two actions ran: the budget of 2 is used up, not exceeded by the tries the switch stopped.
    expect((await executor.budgets("p")).map((b) => b.used)).toEqual([2, 2]);
    expect((await executor.apply([planned("b")]))[0]?.status).toBe("pending-approval");
  });
});

describe("approvals of a policy demoted since", () => {
  let h: Harness;
  beforeEach(async () => { h = await harness({ blastRadius: { perPolicy: { max: 1, windowMs: HOUR } } }); });
  afterEach(async () => { await h.store.dispose(); });

  it("an approve-tier action, or one held by the budget, approved after its policy was demoted only dry-runs", async () => {
    await h.executor.promote("p", approver);
    const promoted = (p: PlannedAction): PlannedAction => ({ ...p, promoted: true });
    const records = await h.executor.apply([promoted(planned("a")), promoted(planned("b")), promoted(planned("c", { disposition: "approval" }))]);
    expect(records.map((r) => [r.plan.target.id, r.status])).toEqual([["a", "applied"], ["b", "pending-approval"], ["c", "pending-approval"]]);
    await h.executor.demote("p", approver, "misfiring");
    const ran = await h.executor.runApproved([records[1]!.id, records[2]!.id], approver, "ok");
    expect(ran.map((r) => [r.plan.target.id, r.status])).toEqual([["b", "dry-run"], ["c", "dry-run"]]);
    expect(ran[0]?.reason).toBe("policy p acts in dry-run until a person promotes it (demoted since the action was planned)");
    expect(h.fake.calls.map((c) => [c.actionId, c.dryRun])).toEqual([[records[0]!.id, false], [records[1]!.id, true], [records[2]!.id, true]]);
    expect([...h.fake.state.keys()]).toEqual(["a"]);
  });

  it("an approval the kill switch stops just before it runs is put back as it was: promoted again since, approved again, it runs for real", async () => {
    await h.executor.promote("p", approver);
    const [pending] = await h.executor.apply([{ ...planned("c", { disposition: "approval" }), promoted: true }]);
    await h.executor.demote("p", approver, "misfiring");
    // An operator turns the switch on while the approval is being carried out (after its first check).
    let turned = false;
    const currentEntity = async (): Promise<undefined> => {
      if (!turned) { turned = true; await h.executor.killSwitch.set(true, operator, "incident"); }
      return undefined;
    };
    const racing = createExecutor({ storage: h.store.storage, clock: h.clock, actuators: h.fake.actuators, guardrails: { blastRadius: { perPolicy: { max: 1, windowMs: HOUR } } }, currentEntity });
    await expect(racing.runApproved([pending!.id], approver, "ok")).rejects.toMatchObject({ code: "VIGIL_KILL_SWITCH" });
    const back = await h.executor.getAction(pending!.id);
    expect([back?.status, back?.promoted, back?.plan.dryRun, back?.reason, back?.approvedBy]).toEqual(["pending-approval", true, false, pending!.reason, undefined]);
    await h.executor.killSwitch.set(false, operator);
    await h.executor.promote("p", approver, { reason: "fixed" });
    const [ran] = await h.executor.runApproved([pending!.id], approver, "ok");
    expect([ran?.status, ran?.plan.dryRun]).toEqual(["applied", false]);
    expect(h.fake.calls.map((c) => c.dryRun)).toEqual([false]);
  });

  it("approved while the policy is still promoted, it runs for real", async () => {
    await h.executor.promote("p", approver);
    const [pending] = await h.executor.apply([{ ...planned("c", { disposition: "approval" }), promoted: true }]);
    expect((await h.executor.runApproved([pending!.id], approver, "ok"))[0]?.status).toBe("applied");
  });
});

describe("a record write that fails once after the actuator acted", () => {
  let store: TempStore;
  let clock: ManualClock;
  let fake: FakeActuators;
  beforeEach(async () => {
    store = await createTempStore(createSqliteStorage);
    clock = manualClock("2025-02-03T10:00:00.000Z");
    fake = createFakeActuators(clock);
  });
  afterEach(async () => { await store.dispose(); });

  /** The store, failing the first write of an action record whose status is `status` (a transient "database is locked"). */
  function flaky(status: string): { storage: TempStore["storage"]; failed: () => number } {
    let failures = 0;
    const storage = new Proxy(store.storage, {
      get(target, prop, receiver) {
        if (prop === "putDocs") {
          return async (writes: readonly { collection: string; value: unknown }[], at: string) => {
            if (failures === 0 && writes.some((w) => w.collection === "actions" && (w.value as { status?: string }).status === status)) { failures++; throw new Error("SQLITE_BUSY: database is locked"); }
            return target.putDocs(writes as never, at);
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return { storage, failed: () => failures };
  }

  it("an applied action keeps its result and undo data (the write is retried), and can be undone", async () => {
    const { storage, failed } = flaky("applied");
    const executor = createExecutor({ storage, clock, actuators: fake.actuators });
    const [record] = await executor.apply([planned("a")]);
    expect(failed()).toBe(1);
    expect(record).toMatchObject({ status: "applied", result: { undo: { actuator: "fake.set-state" } } });
    expect(await executor.getAction(record!.id)).toMatchObject({ status: "applied" });
    expect((await executor.undo(record!.id, operator)).status).toBe("undone");
    expect(fake.state.has("a")).toBe(false);
  });

  it("an undone action is recorded undone (the write is retried), not left applied to be reversed twice", async () => {
    const { storage, failed } = flaky("undone");
    const executor = createExecutor({ storage, clock, actuators: fake.actuators });
    const [record] = await executor.apply([planned("a")]);
    expect((await executor.undo(record!.id, operator, "false alarm")).status).toBe("undone");
    expect(failed()).toBe(1);
    expect(await executor.getAction(record!.id)).toMatchObject({ status: "undone", undoneBy: "otto" });
    expect(fake.calls.map((c) => c.op)).toEqual(["apply", "undo"]);
  });
});
