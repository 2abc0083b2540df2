/**
 * Protection of the objects an action's params name (instanceIds, namespace/name, userId, ...),
 * not only of its declared target: at plan time, and again when a held or approved action runs.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Actuator } from "../core/action.js";
import type { Entity } from "../core/entity.js";
import { createConditionCache } from "../decide/conditions.js";
import { createDecider } from "../decide/decider.js";
import { context, manualClock } from "../decide/test-support.js";
import { defaultCelEnvironment, loadPolicyText } from "../policy/load.js";
import { createPolicySet } from "../policy/policy-set.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { AWS_KEYS, playEc2 } from "./actuators/aws-fakes.js";
import { createBuiltinActuators } from "./actuators/index.js";
import { startWireServer, testRuntime, type WireServer } from "./actuators/test-server.js";
import { createExecutor, type ExecutorOptions } from "./executor.js";
import type { GuardrailConfig } from "./guardrails.js";
import { planActions, type PlanOutput } from "./plan.js";
import { createTempStore, type TempStore } from "./test-support.js";
import { currentTouchedProtection, touchedObjects } from "./touched.js";

const REGION = "eu-west-1";
const FREE = "i-0aaaaaaaaaaaaaaa1";
const GUARDED = "i-0bbbbbbbbbbbbbbb2";
/** The guarded instance as a cost export names it (its ARN), tagged protected in AWS's list form. */
const guardedEntity: Entity = { kind: "resource", id: `arn:aws:ec2:${REGION}:123456789012:instance/${GUARDED}`, attrs: { tags: [{ Key: "vigil.dev/protected", Value: "true" }] } };

/** A policy whose one remediation acts through `params` on what its declared target (a report) is not. */
function policy(action: string, params: string, tier = "remediate"): string {
  return `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: p }
spec:
  rules:
    - name: r
      condition: input.bad == true
      message: bad
      effect: deny
  remediation:
    - action: ${action}
      target: '{"kind": "report", "id": "weekly-report"}'
      params: ${params}
  enforcement:
    tier: ${tier}
`;
}

function plan(text: string, guardrails: GuardrailConfig, entities: Record<string, Entity> = {}, actuators: readonly Actuator[] = builtins()): PlanOutput {
  const { policies, errors } = loadPolicyText(text);
  expect(errors).toEqual([]);
  const set = createPolicySet(policies);
  const clock = manualClock("2025-02-03T10:00:00.000Z");
  const ctx = context({ bad: true }, { now: clock.iso(), subject: "weekly-report", entities });
  const { findings, policyRevisions } = set.evaluate(ctx);
  const draft = createDecider().decide(ctx, findings, policyRevisions, { id: "d-1", now: clock.iso(), enforced: true, policy: (name) => set.get(name) });
  return planActions({
    draft, ctx, policy: (name) => set.get(name), guardrails: { requirePromotion: false, ...guardrails },
    actuators: new Map(actuators.map((a) => [a.kind, a])), promoted: () => true, programs: createConditionCache(defaultCelEnvironment()),
  });
}

function builtins(): Actuator[] {
  return createBuiltinActuators({
    aws: { region: REGION, credentials: AWS_KEYS },
    kubernetes: { server: "https://127.0.0.1:1", token: "t" },
    okta: { orgUrl: "https://example.okta.com", token: "t" },
    clock: testRuntime().clock,
  });
}

describe("touchedObjects", () => {
  it("names every object an action kind's params act on, with the param that names it", () => {
    expect(touchedObjects("aws.ec2.stop-instances", { instanceIds: [FREE, GUARDED] })).toEqual([
      { param: "instanceIds[0]", kind: "aws.ec2.instance", id: FREE },
      { param: "instanceIds[1]", kind: "aws.ec2.instance", id: GUARDED },
    ]);
    expect(touchedObjects("aws.s3.block-public-access", { bucket: "payroll" })).toEqual([{ param: "bucket", kind: "aws.s3.bucket", id: "payroll", aliases: ["arn:aws:s3:::payroll"] }]);
    expect(touchedObjects("aws.iam.deactivate-access-key", { userName: "breakglass", accessKeyId: "AKIAEXAMPLE0000001" })).toEqual([
      { param: "userName", kind: "aws.iam.user", id: "breakglass" },
      { param: "accessKeyId", kind: "aws.iam.access-key", id: "AKIAEXAMPLE0000001" },
    ]);
    expect(touchedObjects("okta.suspend-user", { userId: "ceo@example.com" })).toEqual([{ param: "userId", kind: "okta.user", id: "ceo@example.com" }]);
    expect(touchedObjects("kubernetes.scale-to-zero", { namespace: "prod", name: "web" })).toEqual([{ param: "namespace/name", kind: "k8s.Deployment", id: "prod/web", aliases: ["Deployment/prod/web"] }]);
    expect(touchedObjects("kubernetes.label", { kind: "Namespace", name: "prod", labels: { a: "b" } })).toEqual([{ param: "namespace/name", kind: "k8s.Namespace", id: "prod", aliases: ["Namespace/prod"] }]);
    expect(touchedObjects("kubernetes.delete", { apiVersion: "v1", kind: "ConfigMap", namespace: "prod", name: "cfg" })[0]).toMatchObject({ kind: "k8s.ConfigMap", id: "prod/cfg" });
    expect(touchedObjects("kubernetes.delete-pod", { namespace: "prod", name: "web-1" })[0]).toMatchObject({ kind: "k8s.Pod", id: "prod/web-1" });
    expect(touchedObjects("kubernetes.create", { manifest: { apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "prod", name: "cfg" } } })[0]).toMatchObject({ param: "manifest.metadata", kind: "k8s.ConfigMap", id: "prod/cfg" });
    // Notification kinds and kinds Vigil does not know name no object beyond their target; bad params name nothing (and never throw).
    expect(touchedObjects("webhook.post", { payload: { instanceIds: [GUARDED] } })).toEqual([]);
    expect(touchedObjects("custom.kind", { instanceIds: [GUARDED] })).toEqual([]);
    expect(touchedObjects("aws.ec2.stop-instances", { instanceIds: "i-0bbbbbbbbbbbbbbb2" })).toEqual([]);
    expect(touchedObjects("aws.ec2.stop-instances", { instanceIds: [3, null] })).toEqual([]);
  });
});

describe("currentTouchedProtection", () => {
  it("asks the lookup (async, as the entity store answers) for each object the params name by kind and id; one found protected there is named", async () => {
    const asked: string[] = [];
    const lookup = async (object: { kind: string; id: string }): Promise<Entity | undefined> => {
      asked.push(`${object.kind}/${object.id}`);
      return object.id === GUARDED ? { kind: object.kind, id: object.id, attrs: { tags: { "vigil.dev/protected": "true" } } } : undefined;
    };
    expect(await currentTouchedProtection({}, { kind: "aws.ec2.stop-instances", params: { instanceIds: [FREE, GUARDED] } }, lookup))
      .toBe(`params.instanceIds[1] ${GUARDED} (aws.ec2.instance) is protected (tag vigil.dev/protected=true)`);
    expect(asked).toEqual([`aws.ec2.instance/${FREE}`, `aws.ec2.instance/${GUARDED}`]);
    expect(await currentTouchedProtection({}, { kind: "aws.ec2.stop-instances", params: { instanceIds: [FREE] } }, lookup)).toBeUndefined();
  });
});

/** A custom actuator that resets databases named in params.databases; it declares them through `touches`. */
function dbReset(touches?: Actuator["touches"]): Actuator {
  return {
    kind: "custom.db.reset",
    description: "resets databases",
    validate(params) {
      if (!Array.isArray(params["databases"])) throw new Error("params.databases must be a list of database names");
    },
    async apply(p) { return { actionId: p.id, status: "applied", at: "2025-02-03T10:00:00.000Z" }; },
    async undo(p) { return { actionId: p.id, status: "skipped", at: "2025-02-03T10:00:00.000Z" }; },
    ...(touches ? { touches } : {}),
  };
}
const declaring = dbReset((params) => (params["databases"] as string[]).map((id, i) => ({ param: `databases[${i}]`, kind: "db", id })));

describe("custom actuators: the objects their params touch (Actuator.touches)", () => {
  it("touchedObjects adds what the actuator declares to what Vigil knows of the kind", () => {
    expect(touchedObjects("custom.db.reset", { databases: ["scratch", "payroll"] }, declaring)).toEqual([
      { param: "databases[0]", kind: "db", id: "scratch" },
      { param: "databases[1]", kind: "db", id: "payroll" },
    ]);
    expect(touchedObjects("custom.db.reset", { databases: ["payroll"] }, dbReset())).toEqual([]);
  });

  it("a protected object a custom actuator declares blocks the plan, naming the param; one it does not declare is not seen", () => {
    const guard: GuardrailConfig = { protected: { names: ["db/payroll"] } };
    const blocked = plan(policy("custom.db.reset", "{ databases: [scratch, payroll] }"), guard, {}, [declaring]).planned;
    expect(blocked.map((p) => [p.disposition, p.blockedBy, p.plan.reason])).toEqual([["blocked", "protected", "params.databases[1] payroll (db) is protected (name matches db/payroll): never acted on"]]);
    expect(plan(policy("custom.db.reset", "{ databases: [scratch] }"), guard, {}, [declaring]).planned.map((p) => p.disposition)).toEqual(["apply"]);
    const labelled: Entity = { kind: "db", id: "payroll", attrs: { labels: { "vigil.dev/protected": "true" } } };
    expect(plan(policy("custom.db.reset", "{ databases: [payroll] }"), {}, { resource: labelled }, [declaring]).planned[0]?.blockedBy).toBe("protected");
    expect(plan(policy("custom.db.reset", "{ databases: [payroll] }"), guard, {}, [dbReset()]).planned.map((p) => p.disposition)).toEqual(["apply"]);
  });

  it("a touches hook that throws or names an object without kind or id blocks the plan (fail safe), naming the actuator", () => {
    const throwing = dbReset(() => { throw new Error("boom"); });
    expect(plan(policy("custom.db.reset", "{ databases: [scratch] }"), {}, {}, [throwing]).planned.map((p) => [p.disposition, p.blockedBy, p.plan.reason]))
      .toEqual([["blocked", "protected", "actuator custom.db.reset could not name the objects its params touch (boom), so their protection is unknown: never acted on"]]);
    const nameless = dbReset(() => [{ param: "databases[0]", kind: "db", id: "" }]);
    expect(plan(policy("custom.db.reset", "{ databases: [scratch] }"), {}, {}, [nameless]).planned[0]?.plan.reason)
      .toBe("actuator custom.db.reset could not name the objects its params touch (touches()[0] must have a non-empty kind and id, got {\"param\":\"databases[0]\",\"kind\":\"db\",\"id\":\"\"}), so their protection is unknown: never acted on");
  });

  it("an approved action of a custom actuator whose declared database was labelled protected in the entity store since is blocked when it runs", async () => {
    const store = await createTempStore(createSqliteStorage);
    try {
      const labels = new Map<string, Entity>();
      const clock = manualClock("2025-02-03T10:00:00.000Z");
      const executor = createExecutor({ storage: store.storage, clock, actuators: [declaring], guardrails: { requirePromotion: false }, currentEntity: async (t) => labels.get(`${t.kind}/${t.id}`) });
      const { policies } = loadPolicyText(policy("custom.db.reset", "{ databases: [scratch, payroll] }", "approve"));
      const set = createPolicySet(policies);
      const ctx = context({ bad: true }, { now: clock.iso(), subject: "weekly-report" });
      const { findings, policyRevisions } = set.evaluate(ctx);
      const draft = createDecider().decide(ctx, findings, policyRevisions, { id: "d-9", now: clock.iso(), enforced: true, policy: (name) => set.get(name) });
      const out = await executor.act(draft, ctx, (name) => set.get(name));
      expect(out.records.map((r) => r.status)).toEqual(["pending-approval"]);
      labels.set("db/payroll", { kind: "db", id: "payroll", attrs: { labels: { "vigil.dev/protected": "true" } } });
      const [ran] = await executor.runApproved([out.records[0]?.id ?? ""], { id: "ann", roles: ["approver"] }, "ok");
      expect([ran?.status, ran?.blockedBy, ran?.reason]).toEqual(["blocked", "protected", "params.databases[1] payroll (db) is protected (label vigil.dev/protected=true): never acted on"]);
    } finally {
      await store.dispose();
    }
  });
});

describe("planActions: protected objects named in params", () => {
  it("a protected instance listed in instanceIds (found by its ARN entity's tag) blocks the stop whatever the target; the reason names it", () => {
    const { planned } = plan(policy("aws.ec2.stop-instances", `{ instanceIds: ["${FREE}", "${GUARDED}"] }`), {}, { resource: guardedEntity });
    expect(planned.map((p) => [p.disposition, p.blockedBy])).toEqual([["blocked", "protected"]]);
    expect(planned[0]?.plan.reason).toBe(`params.instanceIds[1] ${GUARDED} (aws.ec2.instance) is protected (tag vigil.dev/protected=true): never acted on`);
    // The same stop of the unprotected instance alone runs.
    expect(plan(policy("aws.ec2.stop-instances", `{ instanceIds: ["${FREE}"] }`), {}, { resource: guardedEntity }).planned.map((p) => p.disposition)).toEqual(["apply"]);
  });

  const names: GuardrailConfig = { protected: { names: ["k8s.deployment/prod/*", "Namespace/prod", "prod/keep-*", "arn:aws:s3:::payroll-*", "aws.iam.user/breakglass*", "AKIAPROTECTED*", "okta.user/ceo@*"] } };
  const cases: [string, string, string, string][] = [
    ["kubernetes.scale-to-zero", "{ namespace: prod, name: web }", "{ namespace: dev, name: web }", "params.namespace/name prod/web (k8s.Deployment) is protected (name matches k8s.deployment/prod/*)"],
    ["kubernetes.label", "{ kind: Namespace, name: prod, labels: { quarantine: \"true\" } }", "{ kind: Namespace, name: dev, labels: { quarantine: \"true\" } }", "params.namespace/name prod (k8s.Namespace) is protected (name matches Namespace/prod)"],
    ["kubernetes.delete", "{ apiVersion: v1, kind: ConfigMap, namespace: prod, name: keep-me }", "{ apiVersion: v1, kind: ConfigMap, namespace: prod, name: scratch }", "params.namespace/name prod/keep-me (k8s.ConfigMap) is protected (name matches prod/keep-*)"],
    ["okta.suspend-user", "{ userId: CEO@example.com }", "{ userId: dev@example.com }", "params.userId CEO@example.com (okta.user) is protected (name matches okta.user/ceo@*)"],
    ["aws.iam.deactivate-access-key", "{ userName: breakglass-1, accessKeyId: AKIAEXAMPLE0000001 }", "{ userName: dev, accessKeyId: AKIAEXAMPLE0000001 }", "params.userName breakglass-1 (aws.iam.user) is protected (name matches aws.iam.user/breakglass*)"],
    ["aws.iam.deactivate-access-key", "{ userName: dev, accessKeyId: AKIAPROTECTED00001 }", "{ userName: dev, accessKeyId: AKIAEXAMPLE0000001 }", "params.accessKeyId AKIAPROTECTED00001 (aws.iam.access-key) is protected (name matches AKIAPROTECTED*)"],
    ["aws.s3.block-public-access", "{ bucket: payroll-eu }", "{ bucket: logs-eu }", "params.bucket payroll-eu (aws.s3.bucket) is protected (name matches arn:aws:s3:::payroll-*)"],
  ];
  it.each(cases)("%s: a protected object in params is blocked with the reason naming it; an unprotected one runs", (action, guarded, free, reason) => {
    const blocked = plan(policy(action, guarded), names).planned;
    expect(blocked.map((p) => [p.disposition, p.blockedBy, p.plan.reason])).toEqual([["blocked", "protected", `${reason}: never acted on`]]);
    expect(plan(policy(action, free), names).planned.map((p) => p.disposition)).toEqual(["apply"]);
  });

  it("a protected label on the entity a Kubernetes param names (by its namespace/name id) blocks it; an IAM user entity named by its ARN too", () => {
    const workload: Entity = { kind: "k8s.Deployment", id: "shop/web", attrs: { labels: { "vigil.dev/protected": "true" } } };
    expect(plan(policy("kubernetes.scale-to-zero", "{ namespace: shop, name: web }"), {}, { workload }).planned[0]?.plan.reason)
      .toBe("params.namespace/name shop/web (k8s.Deployment) is protected (label vigil.dev/protected=true): never acted on");
    const user: Entity = { kind: "principal", id: "arn:aws:iam::123456789012:user/ops/alice", attrs: { tags: { "vigil.dev/protected": "true" } } };
    expect(plan(policy("aws.iam.deactivate-access-key", "{ userName: alice, accessKeyId: AKIAEXAMPLE0000001 }"), {}, { principal: user }).planned[0]?.blockedBy).toBe("protected");
    // A name glob over the user's ARN protects it once the entity is known.
    const arnNames: GuardrailConfig = { protected: { names: ["arn:aws:iam::*:user/*/alice"] } };
    expect(plan(policy("aws.iam.deactivate-access-key", "{ userName: alice, accessKeyId: AKIAEXAMPLE0000001 }"), arnNames, { principal: { ...user, attrs: {} } }).planned[0]?.blockedBy).toBe("protected");
  });
});

describe("executor: protected objects named in params", () => {
  let ec2: WireServer;
  let store: TempStore;
  afterEach(async () => { await ec2.close(); await store.dispose(); });

  async function setup(guardrails: GuardrailConfig) {
    ec2 = await startWireServer();
    store = await createTempStore(createSqliteStorage);
    const instances = new Map([[FREE, "running"], [GUARDED, "running"]]);
    playEc2(ec2, REGION, instances);
    const clock = manualClock("2025-02-03T10:00:00.000Z");
    const actuators = createBuiltinActuators({ aws: { region: REGION, credentials: AWS_KEYS, endpoints: { ec2: ec2.url }, maxAttempts: 1 }, clock, sleep: async () => undefined });
    const executorWith = (g: GuardrailConfig, currentEntity?: ExecutorOptions["currentEntity"]) => createExecutor({ storage: store.storage, clock, actuators, guardrails: { requirePromotion: false, ...g }, ...(currentEntity ? { currentEntity } : {}) });
    return { instances, clock, executor: executorWith(guardrails), executorWith };
  }

  it("a protected instance in instanceIds of an action targeting something else is never stopped", async () => {
    const { instances, clock, executor } = await setup({});
    const { policies } = loadPolicyText(policy("aws.ec2.stop-instances", `{ instanceIds: ["${FREE}", "${GUARDED}"] }`));
    const set = createPolicySet(policies);
    const ctx = context({ bad: true }, { now: clock.iso(), subject: "weekly-report", entities: { resource: guardedEntity } });
    const { findings, policyRevisions } = set.evaluate(ctx);
    const draft = createDecider().decide(ctx, findings, policyRevisions, { id: "d-1", now: clock.iso(), enforced: true, policy: (name) => set.get(name) });
    const out = await executor.act(draft, ctx, (name) => set.get(name));
    expect(out.records.map((r) => [r.status, r.blockedBy])).toEqual([["blocked", "protected"]]);
    expect(instances.get(GUARDED)).toBe("running");
    expect(instances.get(FREE)).toBe("running");
    expect(ec2.requests.filter((r) => r.text.includes("StopInstances"))).toEqual([]);
  });

  it("an approved stop whose instanceIds name an instance protected since it was planned is blocked when it runs, naming the instance", async () => {
    const { instances, clock, executor, executorWith } = await setup({});
    const { policies } = loadPolicyText(policy("aws.ec2.stop-instances", `{ instanceIds: ["${FREE}", "${GUARDED}"] }`, "approve"));
    const set = createPolicySet(policies);
    const ctx = context({ bad: true }, { now: clock.iso(), subject: "weekly-report" });
    const { findings, policyRevisions } = set.evaluate(ctx);
    const draft = createDecider().decide(ctx, findings, policyRevisions, { id: "d-2", now: clock.iso(), enforced: true, policy: (name) => set.get(name) });
    const out = await executor.act(draft, ctx, (name) => set.get(name));
    expect(out.records.map((r) => r.status)).toEqual(["pending-approval"]);
    const later = executorWith({ protected: { names: [GUARDED] } });
    const [ran] = await later.runApproved([out.records[0]?.id ?? ""], { id: "ann", roles: ["approver"] }, "ok");
    expect([ran?.status, ran?.blockedBy, ran?.reason]).toEqual(["blocked", "protected", `params.instanceIds[1] ${GUARDED} (aws.ec2.instance) is protected (name matches ${GUARDED}): never acted on`]);
    expect([...instances.values()]).toEqual(["running", "running"]);
  });

  it("an approved stop whose instanceIds name an instance tagged protected in the entity store since it was planned is blocked when it runs", async () => {
    const { instances, clock, executorWith } = await setup({});
    const tagged = new Map<string, Entity>();
    const executor = executorWith({}, async (t) => tagged.get(`${t.kind}/${t.id}`));
    const { policies } = loadPolicyText(policy("aws.ec2.stop-instances", `{ instanceIds: ["${FREE}", "${GUARDED}"] }`, "approve"));
    const set = createPolicySet(policies);
    const ctx = context({ bad: true }, { now: clock.iso(), subject: "weekly-report" });
    const { findings, policyRevisions } = set.evaluate(ctx);
    const draft = createDecider().decide(ctx, findings, policyRevisions, { id: "d-3", now: clock.iso(), enforced: true, policy: (name) => set.get(name) });
    const out = await executor.act(draft, ctx, (name) => set.get(name));
    expect(out.records.map((r) => r.status)).toEqual(["pending-approval"]);
    tagged.set(`aws.ec2.instance/${GUARDED}`, { kind: "aws.ec2.instance", id: GUARDED, attrs: { tags: [{ Key: "vigil.dev/protected", Value: "true" }] } });
    const [ran] = await executor.runApproved([out.records[0]?.id ?? ""], { id: "ann", roles: ["approver"] }, "ok");
    expect([ran?.status, ran?.blockedBy, ran?.reason]).toEqual(["blocked", "protected", `params.instanceIds[1] ${GUARDED} (aws.ec2.instance) is protected (tag vigil.dev/protected=true): never acted on`]);
    expect([...instances.values()]).toEqual(["running", "running"]);
  });
});
