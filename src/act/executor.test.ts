import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Context } from "../core/context.js";
import type { DecisionDraft } from "../core/decision.js";
import type { Actuator } from "../core/action.js";
import type { Entity } from "../core/entity.js";
import { loadPolicyText } from "../policy/load.js";
import { createPolicySet, type PolicySet } from "../policy/policy-set.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { createDecider } from "../decide/decider.js";
import { context, HOUR, manualClock, MINUTE, type ManualClock } from "../decide/test-support.js";
import { createAwsActuators } from "./actuators/aws.js";
import { createExecutor, type Executor } from "./executor.js";
import type { GuardrailConfig } from "./guardrails.js";
import { createFakeActuators, createTempStore, scaleDownPolicy, type FakeActuators, type TempStore } from "./test-support.js";

const admin = { id: "ada", roles: ["admin"] };
const operator = { id: "otto", roles: ["operator"] };
const viewer = { id: "vic", roles: ["viewer"] };

function policyYaml(name: string, tier: string, extra = ""): string {
  return `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: ${name} }
spec:
  variables:
    - name: bucket
      expression: input.bucket
  rules:
    - name: no-public
      condition: input.public == true
      message: "bucket {{ variables.bucket }} is public"
      severity: high
      effect: deny
  remediation:
    - action: fake.set-state
      params: { value: "private:{{ variables.bucket }}" }
      target: '"bucket/" + variables.bucket'
    - action: fake.notify
      params: { text: "{{ finding.message }} (decision {{ decision.id }})", tags: ["{{ variables.bucket }}"] }
  enforcement:
    tier: ${tier}
${extra}`;
}

function loadSet(...docs: string[]): PolicySet {
  const { policies, errors } = loadPolicyText(docs.join("---\n"));
  expect(errors).toEqual([]);
  return createPolicySet(policies);
}

interface Harness {
  store: TempStore;
  clock: ManualClock;
  fake: FakeActuators;
  executor: Executor;
  set: PolicySet;
  decide(input: Record<string, unknown>, options?: { id?: string; entities?: Record<string, Entity>; enforced?: boolean }): { draft: DecisionDraft; ctx: Context };
}

async function harness(guardrails: GuardrailConfig = {}, set = loadSet(policyYaml("lock-bucket", "remediate"))): Promise<Harness> {
  const store = await createTempStore(createSqliteStorage);
  const clock = manualClock("2025-02-03T10:00:00.000Z");
  const fake = createFakeActuators(clock);
  const executor = createExecutor({ storage: store.storage, clock, actuators: fake.actuators, guardrails });
  const decider = createDecider();
  let n = 0;
  return {
    store, clock, fake, executor, set,
    decide(input, options = {}) {
      const ctx = context(input, { now: clock.iso(), subject: `bucket/${String(input["bucket"])}`, ...(options.entities ? { entities: options.entities } : {}) });
      const { findings, policyRevisions } = set.evaluate(ctx);
      const draft = decider.decide(ctx, findings, policyRevisions, { id: options.id ?? `d-${++n}`, now: clock.iso(), enforced: options.enforced ?? true, policy: (name) => set.get(name) });
      return { draft, ctx };
    },
  };
}

describe("executor", () => {
  let h: Harness;
  afterEach(async () => { await h.store.dispose(); });

  describe("planning", () => {
    beforeEach(async () => { h = await harness(); });

    it("renders params and targets with the policy's variables, finding and decision; keys are stable", async () => {
      const { draft, ctx } = h.decide({ bucket: "logs", public: true }, { id: "dec-1" });
      const { planned } = await h.executor.plan(draft, ctx, (n) => h.set.get(n));
      expect(planned.map((p) => [p.plan.actuator, p.plan.target, p.plan.params])).toEqual([
        ["fake.set-state", { kind: "subject", id: "bucket/logs" }, { value: "private:logs" }],
        ["fake.notify", { kind: "subject", id: "bucket/logs" }, { text: "bucket logs is public (decision dec-1)", tags: ["logs"] }],
      ]);
      const again = await h.executor.plan(draft, ctx, (n) => h.set.get(n));
      expect(again.planned.map((p) => p.plan.idempotencyKey)).toEqual(planned.map((p) => p.plan.idempotencyKey));
      expect(planned[0]?.plan.id).toBe(`act-${planned[0]?.plan.idempotencyKey.slice(0, 24)}`);
      const other = h.decide({ bucket: "logs", public: true }, { id: "dec-2" });
      const otherPlans = await h.executor.plan(other.draft, other.ctx, (n) => h.set.get(n));
      expect(otherPlans.planned[0]?.plan.idempotencyKey).not.toBe(planned[0]?.plan.idempotencyKey);
    });

    it("a target names its kind: the protected entity of that kind is found even when another entity with the same id comes first", async () => {
      const scaleDown = scaleDownPolicy('{"kind": "k8s.Deployment", "id": "shop/web"}');
      await h.store.dispose();
      h = await harness({ requirePromotion: false }, loadSet(scaleDown));
      // The Service and the Deployment share the id shop/web; only the Deployment is protected.
      const entities: Record<string, Entity> = {
        resource: { kind: "k8s.Service", id: "shop/web", attrs: {} },
        workload: { kind: "k8s.Deployment", id: "shop/web", attrs: { labels: { "vigil.dev/protected": "true" } } },
      };
      const { draft, ctx } = h.decide({ idle: true, bucket: "web" }, { entities });
      const out = await h.executor.act(draft, ctx, (n) => h.set.get(n));
      expect(out.records.map((r) => [r.plan.target, r.status, r.blockedBy])).toEqual([[{ kind: "k8s.Deployment", id: "shop/web" }, "blocked", "protected"]]);
      expect(out.records[0]?.reason).toBe("target shop/web is protected (label vigil.dev/protected=true): never acted on");
      expect(h.fake.calls).toEqual([]);
    });

    it("a regional action without a region param runs in its target entity's region (attrs.region); a region the policy sets wins", async () => {
      const stopIdle = (region: string) => `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: idle-vm }
spec:
  rules:
    - name: idle
      condition: input.idle == true
      message: "idle"
      effect: deny
  remediation:
    - action: aws.ec2.stop-instances
      target: context.entities.resource
      params: { instanceIds: "{{ [context.entities.resource.id] }}"${region} }
  enforcement:
    tier: remediate
`;
      const aws = createAwsActuators({ region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" } }, { clock: h.clock, sleep: async () => undefined });
      const executor = createExecutor({ storage: h.store.storage, clock: h.clock, actuators: aws, guardrails: { requirePromotion: false } });
      const entities: Record<string, Entity> = { resource: { kind: "aws.ec2.instance", id: "i-0a1b2c3d4e5f60718", attrs: { region: "us-west-2" } } };
      const paramsOf = async (set: PolicySet, ents: Record<string, Entity>) => {
        const ctx = context({ idle: true }, { now: h.clock.iso(), subject: "i-0a1b2c3d4e5f60718", entities: ents });
        const { findings, policyRevisions } = set.evaluate(ctx);
        const draft = createDecider().decide(ctx, findings, policyRevisions, { id: "d-r", now: h.clock.iso(), enforced: true, policy: (n) => set.get(n) });
        const { planned } = await executor.plan(draft, ctx, (n) => set.get(n));
        expect(planned.map((p) => p.disposition)).toEqual(["apply"]);
        return planned[0]?.plan.params;
      };
      expect(await paramsOf(loadSet(stopIdle("")), entities)).toEqual({ instanceIds: ["i-0a1b2c3d4e5f60718"], region: "us-west-2" });
      expect(await paramsOf(loadSet(stopIdle(", region: ap-south-1")), entities)).toEqual({ instanceIds: ["i-0a1b2c3d4e5f60718"], region: "ap-south-1" });
      const noRegion: Record<string, Entity> = { resource: { kind: "aws.ec2.instance", id: "i-0a1b2c3d4e5f60718", attrs: {} } };
      expect(await paramsOf(loadSet(stopIdle("")), noRegion)).toEqual({ instanceIds: ["i-0a1b2c3d4e5f60718"] });
    });

    it("two entries of the same kind and target are two actions; two findings of the policy plan each entry once", async () => {
      const twoRules = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: two-receivers }
spec:
  rules:
    - name: public
      condition: input.public == true
      message: public
      effect: deny
    - name: unencrypted
      condition: input.encrypted == false
      message: unencrypted
      effect: deny
  remediation:
    - action: fake.notify
      params: { text: "to security" }
    - action: fake.notify
      params: { text: "to the owner" }
  enforcement:
    tier: remediate
`;
      const set = loadSet(twoRules);
      await h.store.dispose();
      h = await harness({}, set);
      const { draft, ctx } = h.decide({ bucket: "b", public: true, encrypted: false }, { id: "dec-7" });
      expect(draft.findings.filter((f) => f.effect === "violation")).toHaveLength(2);
      const { planned } = await h.executor.plan(draft, ctx, (n) => set.get(n));
      expect(planned.map((p) => p.plan.params["text"])).toEqual(["to security", "to the owner"]);
      expect(new Set(planned.map((p) => p.plan.id)).size).toBe(2);
      // The first entry keeps the documented key.
      const { idempotencyKey } = await import("./records.js");
      expect(planned[0]?.plan.idempotencyKey).toBe(idempotencyKey("dec-7", "two-receivers", "fake.notify", planned[0]!.plan.target));
      expect(planned[1]?.plan.idempotencyKey).toBe(idempotencyKey("dec-7", "two-receivers", "fake.notify#1", planned[1]!.plan.target));
    });

    it("plans by tier: notify runs only notification kinds, observe nothing", async () => {
      const set = loadSet(policyYaml("p-notify", "notify"), policyYaml("p-observe", "observe"));
      await h.store.dispose();
      h = await harness({ notificationKinds: ["fake.notify"] }, set);
      const { draft, ctx } = h.decide({ bucket: "b", public: true });
      const { planned, notPlanned } = await h.executor.plan(draft, ctx, (n) => set.get(n));
      expect(planned.map((p) => `${p.plan.policy}:${p.plan.actuator}`)).toEqual(["p-notify:fake.notify"]);
      expect(notPlanned.map((n) => `${n.policy}:${n.action}`)).toEqual(["p-notify:fake.set-state", "p-observe:fake.set-state", "p-observe:fake.notify"]);
    });
  });

  it("acts in dry-run until a person promotes the policy; promotion survives a restart", async () => {
    h = await harness();
    const first = h.decide({ bucket: "logs", public: true });
    const out = await h.executor.act(first.draft, first.ctx, (n) => h.set.get(n));
    expect(out.records.map((r) => r.status)).toEqual(["dry-run", "dry-run"]);
    expect(h.fake.calls.every((c) => c.dryRun)).toBe(true);
    expect(h.fake.state.size).toBe(0);
    expect(out.draft.actions.every((a) => a.dryRun)).toBe(true);
    expect(out.draft.explanation.steps.filter((s) => s.kind === "action").map((s) => s.text)).toContain("fake.set-state on subject bucket/logs: dry-run only — policy lock-bucket acts in dry-run until a person promotes it");
    await expect(h.executor.promote("lock-bucket", viewer)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    await h.executor.promote("lock-bucket", { id: "ann", roles: ["approver"] }, { reason: "two weeks clean in dry-run" });
    await h.store.reopen();
    const executor = createExecutor({ storage: h.store.storage, clock: h.clock, actuators: h.fake.actuators });
    expect(await executor.promotion("lock-bucket")).toMatchObject({ promoted: true, by: "ann" });
    const second = h.decide({ bucket: "logs", public: true });
    const applied = await executor.act(second.draft, second.ctx, (n) => h.set.get(n));
    expect(applied.records.map((r) => r.status)).toEqual(["applied", "applied"]);
    expect(h.fake.state.get("bucket/logs")).toBe("private:logs");
    expect(h.fake.sent).toEqual([{ target: "bucket/logs", text: `bucket logs is public (decision ${second.draft.id})` }]);
    expect((await h.store.storage.listAudit({ actor: "ann" })).map((a) => a.action)).toEqual(["policy.promote"]);
  });

  it("refuses to promote for Vigil's own identities (vigil:*), whatever role they hold", async () => {
    h = await harness();
    for (const id of ["vigil:learner", "vigil:escalation", " Vigil:Agent"]) {
      const err = await h.executor.promote("lock-bucket", { id, roles: ["approver", "admin"] }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" } });
      expect((err as Error).message).toContain(`${id} may not promote policy lock-bucket`);
    }
    expect(await h.executor.promotion("lock-bucket")).toBeUndefined();
    expect((await h.store.storage.listAudit({ limit: 20 })).filter((a) => a.action === "policy.promote")).toEqual([]);
    const first = h.decide({ bucket: "logs", public: true });
    expect((await h.executor.act(first.draft, first.ctx, (n) => h.set.get(n))).records.map((r) => r.status)).toEqual(["dry-run", "dry-run"]);
  });

  it("kill switch turned on while a decision's actions are applied: the explanation counts the actions applied before it, not 'none applied'", async () => {
    h = await harness({ requirePromotion: false, notificationKinds: ["fake.notify"] });
    const [setState, notify] = h.fake.actuators as [Actuator, Actuator];
    // set-state acts, then an operator turns the switch on before notify runs.
    const hooked: Actuator = { ...setState, async apply(plan, options) { const result = await setState.apply(plan, options); await h.executor.killSwitch.set(true, operator, "runaway"); return result; } };
    const executor = createExecutor({ storage: h.store.storage, clock: h.clock, actuators: [hooked, notify], guardrails: { requirePromotion: false, notificationKinds: ["fake.notify"] } });
    const { draft, ctx } = h.decide({ bucket: "logs", public: true });
    const out = await executor.act(draft, ctx, (n) => h.set.get(n));
    expect(out.records.map((r) => [r.actuator, r.status])).toEqual([["fake.set-state", "applied"], ["fake.notify", "blocked"]]);
    const texts = out.draft.explanation.steps.map((s) => s.text);
    expect(texts).toContain("kill switch is on: 1 action(s) recorded as blocked, 1 applied before it was turned on");
    expect(texts.some((t) => t.includes("none applied"))).toBe(false);
  });

  describe("with the policy promoted", () => {
    beforeEach(async () => {
      h = await harness({ blastRadius: { perPolicy: { max: 2, windowMs: HOUR }, global: { max: 100, windowMs: HOUR } }, notificationKinds: ["fake.notify"] }, loadSet(policyYaml("lock-bucket", "remediate").replace(/    - action: fake.notify\n.*\n/, "")));
      await h.executor.promote("lock-bucket", admin);
    });
    const act = async (bucket: string, extra: { id?: string; entities?: Record<string, Entity> } = {}) => {
      const { draft, ctx } = h.decide({ bucket, public: true }, extra);
      return h.executor.act(draft, ctx, (n) => h.set.get(n));
    };

    it("idempotent: re-planning and re-applying a decision does not apply again", async () => {
      const { draft, ctx } = h.decide({ bucket: "logs", public: true }, { id: "same" });
      const a = await h.executor.act(draft, ctx, (n) => h.set.get(n));
      const b = await h.executor.act(draft, ctx, (n) => h.set.get(n));
      expect(a.records[0]?.status).toBe("applied");
      expect(b.records).toEqual(a.records);
      expect(h.fake.calls.filter((c) => c.op === "apply")).toHaveLength(1);
      expect(await h.executor.listActions({ decisionId: "same" })).toHaveLength(1);
    });

    it("blast radius: the N+1th action in the window needs approval; the window slides", async () => {
      expect((await act("a")).records[0]?.status).toBe("applied");
      h.clock.advance(10 * MINUTE);
      expect((await act("b")).records[0]?.status).toBe("applied");
      const third = await act("c");
      expect(third.records[0]).toMatchObject({ status: "pending-approval", plan: { requiresApproval: true } });
      expect(third.records[0]?.reason).toBe("blast radius: policy lock-bucket already ran 2 action(s) in the last 60 min (budget 2); a person must approve more");
      expect(third.pending).toHaveLength(1);
      expect(h.fake.state.has("bucket/c")).toBe(false);
      expect(await h.executor.budgets("lock-bucket")).toEqual([
        { id: "policy:lock-bucket", used: 2, max: 2, windowMs: HOUR },
        { id: "global", used: 2, max: 100, windowMs: HOUR },
      ]);
      h.clock.advance(50 * MINUTE);
      expect((await act("d")).records[0]?.status).toBe("applied");
      // Approved actions run past the budget (and count in it).
      const [ran] = await h.executor.runApproved([third.records[0]?.id ?? ""], { id: "ann", roles: ["approver"] }, "looked at it");
      expect(ran).toMatchObject({ status: "applied", approvedBy: "ann" });
      expect(h.fake.state.get("bucket/c")).toBe("private:c");
    });

    it("global budget spans policies", async () => {
      await h.store.dispose();
      const set = loadSet(policyYaml("p1", "remediate"), policyYaml("p2", "remediate"));
      h = await harness({ blastRadius: { perPolicy: { max: 10, windowMs: HOUR }, global: { max: 3, windowMs: HOUR } }, notificationKinds: [] }, set);
      await h.executor.promote("p1", admin);
      await h.executor.promote("p2", admin);
      const { draft, ctx } = h.decide({ bucket: "x", public: true });
      const out = await h.executor.act(draft, ctx, (n) => set.get(n));
      expect(out.records.map((r) => r.status)).toEqual(["applied", "applied", "applied", "pending-approval"]);
      expect(out.records[3]?.reason).toContain("all policies already ran 3 action(s)");
    });

    it("kill switch: nothing is applied, the decision says so, and it survives reopening the store", async () => {
      await expect(h.executor.killSwitch.set(true, viewer, "x")).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
      await h.executor.killSwitch.set(true, operator, "runaway remediation");
      await h.store.reopen();
      const executor = createExecutor({ storage: h.store.storage, clock: h.clock, actuators: h.fake.actuators });
      expect(await executor.killSwitch.state()).toMatchObject({ on: true, by: "otto", reason: "runaway remediation" });
      const { draft, ctx } = h.decide({ bucket: "logs", public: true }, { id: "k1" });
      const out = await executor.act(draft, ctx, (n) => h.set.get(n));
      expect(out.records.map((r) => [r.status, r.blockedBy])).toEqual([["blocked", "kill-switch"]]);
      expect(h.fake.calls).toEqual([]);
      expect(out.draft.explanation.steps.map((s) => s.text)).toContain("kill switch is on: 1 action(s) recorded as blocked, none applied");
      await expect(executor.runApproved([out.records[0]?.id ?? ""], admin)).rejects.toMatchObject({ code: "VIGIL_KILL_SWITCH" });
      await executor.killSwitch.set(false, operator);
      const again = await executor.act(draft, ctx, (n) => h.set.get(n));
      expect(again.records[0]?.status).toBe("applied");
      expect((await h.store.storage.listAudit({ actor: "otto" })).map((a) => a.action)).toEqual(["killswitch.on", "killswitch.off"]);
    });

    it("protected entities are never acted on (labels, tags, names)", async () => {
      const labelled = await act("payroll", { entities: { resource: { kind: "bucket", id: "bucket/payroll", attrs: { labels: { "vigil.dev/protected": "true" } } } } });
      expect(labelled.records[0]).toMatchObject({ status: "blocked", blockedBy: "protected" });
      expect(labelled.records[0]?.reason).toBe("target bucket/payroll is protected (label vigil.dev/protected=true): never acted on");
      const tagged = await act("audit", { entities: { resource: { kind: "bucket", id: "bucket/audit", attrs: { tags: { "vigil.dev/protected": "true" } } } } });
      expect(tagged.records[0]?.blockedBy).toBe("protected");
      expect(h.fake.calls).toEqual([]);
      await h.store.dispose();
      h = await harness({ protected: { names: ["bucket/prod-*"] } });
      await h.executor.promote("lock-bucket", admin);
      expect((await act("prod-logs")).records.map((r) => r.blockedBy)).toEqual(["protected", "protected"]);
      expect((await act("dev-logs")).records.map((r) => r.status)).toEqual(["applied", "applied"]);
    });

    it("undo reverses through the actuator and records who; only applied, reversible actions", async () => {
      h.fake.state.set("bucket/logs", "public");
      const { records } = await act("logs");
      const id = records[0]?.id ?? "";
      expect(h.fake.state.get("bucket/logs")).toBe("private:logs");
      await expect(h.executor.undo(id, viewer)).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
      const undone = await h.executor.undo(id, operator, "false alarm");
      expect(undone).toMatchObject({ status: "undone", undoneBy: "otto", undoResult: { status: "undone" } });
      expect(h.fake.state.get("bucket/logs")).toBe("public");
      await expect(h.executor.undo(id, operator)).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
      const missing = await h.executor.undo("act-nope", operator).catch((error: unknown) => error);
      expect(missing).toMatchObject({ code: "VIGIL_NOT_FOUND" });
      // It names a way to list actions that exists (there is no `vigil actions` command).
      expect((missing as Error).message).toMatch(/GET \/v1\/actions/);
      expect((missing as Error).message).not.toContain("vigil actions");
      expect((await h.store.storage.listAudit({ actor: "otto" }))[0]).toMatchObject({ action: "action.undo", target: id, detail: { status: "undone", reason: "false alarm" } });
      expect((await h.executor.getAction(id))?.history.map((e) => e.status)).toEqual(["planned", "applied", "undone"]);
    });

    it("a failed apply is recorded and never retried automatically", async () => {
      h.fake.failNext = "HTTP 503";
      const { draft, ctx } = h.decide({ bucket: "logs", public: true }, { id: "f" });
      const out = await h.executor.act(draft, ctx, (n) => h.set.get(n));
      expect(out.records[0]).toMatchObject({ status: "failed", result: { error: "HTTP 503" } });
      await h.executor.act(draft, ctx, (n) => h.set.get(n));
      expect(h.fake.calls).toHaveLength(1);
    });
  });

  it("allowlist, unknown kinds, invalid params and template errors block with the reason", async () => {
    const set = loadSet(`apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: odd }
spec:
  rules:
    - name: r
      condition: "true"
      effect: deny
  remediation:
    - action: fake.set-state
      params: { value: 3 }
      target: '"t1"'
    - action: fake.unknown
      target: '"t2"'
    - action: fake.notify
      params: { text: "{{ input.missing.deeper }}" }
      target: '"t3"'
  enforcement: { tier: remediate }
`, policyYaml("lock-bucket", "remediate"));
    h = await harness({ allow: { "lock-*": ["fake.set-state"], odd: ["fake.*"] } }, set);
    await h.executor.promote("odd", admin);
    await h.executor.promote("lock-bucket", admin);
    const { draft, ctx } = h.decide({ bucket: "b", public: true });
    const out = await h.executor.act(draft, ctx, (n) => set.get(n));
    expect(out.records.map((r) => [r.plan.policy, r.actuator, r.status, r.blockedBy ?? ""])).toEqual([
      ["odd", "fake.set-state", "blocked", "invalid"],
      ["odd", "fake.unknown", "blocked", "no-actuator"],
      ["odd", "fake.notify", "blocked", "template"],
      ["lock-bucket", "fake.set-state", "applied", ""],
      ["lock-bucket", "fake.notify", "blocked", "allowlist"],
    ]);
    expect(out.records[0]?.reason).toBe("params.value must be a string");
    expect(out.records[4]?.reason).toBe("action fake.notify is not in the allowlist of policy lock-bucket (guardrails.allow)");
    expect(h.fake.calls.map((c) => c.kind)).toEqual(["fake.set-state"]);
  });

  it("an approve-tier action waits for approval; a decision that is not enforced only dry-runs", async () => {
    const set = loadSet(policyYaml("gate", "approve"));
    h = await harness({ notificationKinds: ["fake.notify"] }, set);
    await h.executor.promote("gate", admin);
    const a = h.decide({ bucket: "b", public: true });
    const out = await h.executor.act(a.draft, a.ctx, (n) => set.get(n));
    // The notification runs now; the change waits for a person.
    expect(out.records.map((r) => [r.actuator, r.status])).toEqual([["fake.set-state", "pending-approval"], ["fake.notify", "applied"]]);
    expect(out.records[0]?.reason).toBe("tier approve: a person approves fake.set-state before it runs");
    expect(out.pending.map((r) => r.actuator)).toEqual(["fake.set-state"]);
    expect(h.fake.state.size).toBe(0);
    const replay = h.decide({ bucket: "c", public: true }, { enforced: false });
    const dry = await h.executor.act(replay.draft, replay.ctx, (n) => set.get(n));
    expect(dry.records[0]).toMatchObject({ status: "dry-run", reason: "decision not enforced (dry run, shadow evaluation or replay)" });
  });
});
