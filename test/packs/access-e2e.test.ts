/**
 * The access pack end to end, in process, through the agent's pipeline (src/agent createPipeline:
 * context stage → policies → decider with the review service's exceptions → executor → decision
 * record → review queue) over SQLite, with the real built-in actuators talking to local wire
 * fakes of IAM (SigV4 checked), Okta and a webhook receiver. Ten days of ordinary work build the
 * baselines first. Then:
 *   daytime restricted access → observe;
 *   odd hour from a new country → approve (step-up), key suspension waiting for a person;
 *   confirmed → the key is made Inactive, with undo data; restore approved → undo, key Active;
 *   the on-call engineer at night → observe, and the explanation says on call;
 *   a travel notice (exception) → allowed, and the explanation cites it;
 *   incident posture → the same odd-hour access is stepped up instead of notified;
 *   Okta admin console at night from a new country and device → suspended in Okta; undo restores.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBuiltinActuators } from "../../src/act/actuators/index.js";
import { AWS_KEYS, playIam, type IamKey } from "../../src/act/actuators/aws-fakes.js";
import { startWireServer, type WireServer } from "../../src/act/actuators/test-server.js";
import { createExecutor, type ActionRecord, type Executor } from "../../src/act/index.js";
import { createTempStore, type TempStore } from "../../src/act/test-support.js";
import { createFeedbackService, createPipeline, createPolicyCatalog, loadPolicySet, type Pipeline } from "../../src/agent/index.js";
import type { Context } from "../../src/core/context.js";
import type { Decision, DecisionDraft } from "../../src/core/decision.js";
import type { Event } from "../../src/core/event.js";
import { createContextStage, type ContextStage } from "../../src/context/index.js";
import { createDecider } from "../../src/decide/index.js";
import { manualClock, type ManualClock } from "../../src/decide/test-support.js";
import { createReviewService, type ReviewService } from "../../src/review/index.js";
import { cloudTrailRecordToEvent } from "../../src/sources/cloudtrail.js";
import { oktaEventToEvent } from "../../src/sources/okta.js";
import { createRandom } from "../../src/sources/simulate/scenario.js";
import { devices, places, type Device, type Place } from "../../src/sources/simulate/access-org.js";
import { appTarget, behaviours, cloudTrailRecord, iamUserIdentity, oktaEvent } from "../../src/sources/simulate/access-records.js";
import { createSqliteStorage } from "../../src/store/sqlite/index.js";
import { ACCESS_PACK_DIR, accessContextSettings, violations } from "./access-support.js";

const approver = { id: "ann", roles: ["approver"] };
const DANA_KEY = "AKIADANAEXAMPLE00001";
const OMAR_KEY = "AKIAOMAREXAMPLE00002";
const CARLA = "00ucarla0000000000x";
const random = createRandom(42);

function call(time: string, userName: string, keyId: string, service: string, eventName: string, place: Place, device: Device, readOnly = true): Event {
  const record = cloudTrailRecord(random, { timeMs: Date.parse(time), service, eventName, readOnly, identity: iamUserIdentity(userName, keyId), place, host: 17, userAgent: device.cliAgent, requestParameters: {} });
  const result = cloudTrailRecordToEvent(record);
  if (!result.ok) throw new Error("bad CloudTrail record");
  return result.event;
}

function okta(time: string, eventType: string, place: Place, device: Device, app?: string, newFlags = false): Event {
  const record = oktaEvent(random, {
    timeMs: Date.parse(time), eventType, displayMessage: eventType, actor: { id: CARLA, login: "carla@acme.example", name: "Carla" }, place, host: 33, device, sessionId: "102carla",
    ...(app ? { targets: [appTarget("0oaadmin", app)] } : {}),
    ...(eventType === "policy.evaluate_sign_on" ? { debugData: { behaviors: behaviours({ geo: newFlags, device: newFlags, ip: newFlags }) } } : {}),
  });
  const result = oktaEventToEvent(record, { source: "https://acme.okta.com" });
  if (!result.ok) throw new Error("bad Okta event");
  return result.event;
}

const at = (day: number, hour: number, minute = 0): string => new Date(Date.UTC(2026, 0, day, hour, minute)).toISOString();

describe("access pack end to end through the agent pipeline", () => {
  let store: TempStore;
  let clock: ManualClock;
  let iam: WireServer;
  let oktaServer: WireServer;
  let hooks: WireServer;
  let keys: IamKey[];
  let users: Map<string, string>;
  let executor: Executor;
  let review: ReviewService;
  let context: ContextStage;
  let pipeline: Pipeline;
  const outcomes = new Map<string, readonly ActionRecord[]>();

  async function handle(event: Event): Promise<Decision> {
    clock.set(event.time ?? clock.iso());
    const { stored } = await store.storage.appendEvents([event], clock.iso());
    const [decision] = await pipeline.processBatch(stored);
    if (decision === undefined) throw new Error(`no decision for ${event.id}`);
    return decision;
  }

  beforeAll(async () => {
    store = await createTempStore((options) => createSqliteStorage(options));
    clock = manualClock("2026-01-05T00:00:00Z");
    [iam, oktaServer, hooks] = await Promise.all([startWireServer(), startWireServer(), startWireServer()]);
    keys = [
      { userName: "dana", accessKeyId: DANA_KEY, status: "Active", createDate: "2025-06-01T10:00:00Z" },
      { userName: "omar", accessKeyId: OMAR_KEY, status: "Active", createDate: "2025-06-01T10:00:00Z" },
    ];
    playIam(iam, keys);
    users = new Map([[CARLA, "ACTIVE"]]);
    oktaServer.on("GET", "/api/v1/users/:id", (r) => ({ status: 200, body: { id: r.params["id"], status: users.get(r.params["id"] ?? "") ?? "ACTIVE", profile: { login: "carla@acme.example" } } }));
    oktaServer.on("POST", "/api/v1/users/:id/lifecycle/:operation", (r) => {
      users.set(r.params["id"] ?? "", r.params["operation"] === "suspend" ? "SUSPENDED" : "ACTIVE");
      return { status: 200, body: {} };
    });
    hooks.on("POST", "/hook", () => ({ status: 200, body: { ok: true } }));

    const { policySet, load, env } = loadPolicySet([`${ACCESS_PACK_DIR}policies`]);
    expect(load.errors).toEqual([]);
    const catalog = createPolicyCatalog({ policySet, env, loadErrors: load.errors, storage: store.storage, clock });
    await catalog.refresh();
    context = createContextStage({ storage: store.storage, clock, settings: accessContextSettings() });
    const actuators = createBuiltinActuators({
      clock, sleep: async () => {},
      aws: { region: "eu-west-1", credentials: AWS_KEYS, endpoints: { iam: iam.url }, maxAttempts: 1 },
      okta: { orgUrl: oktaServer.url, token: "okta-test-token", maxAttempts: 1 },
      webhook: { endpoints: { default: { url: `${hooks.url}/hook`, secret: "hook-secret" } }, maxAttempts: 1 },
    });
    executor = createExecutor({ storage: store.storage, clock, actuators, env });
    review = createReviewService({ storage: store.storage, clock, executor, policy: catalog.lookup, env });
    pipeline = createPipeline({
      storage: store.storage, context, catalog, decider: createDecider({ env }), clock, feedback: createFeedbackService(store.storage, clock),
      exemptions: () => review.exemptions({ maxAgeMs: 0 }),
      async enforce(draft: DecisionDraft, ctx: Context) {
        if (!draft.findings.some((f) => f.effect === "violation")) return draft;
        const outcome = await executor.act(draft, ctx, catalog.lookup);
        outcomes.set(draft.id, outcome.records);
        return outcome.draft;
      },
      async afterRecord(decisions) {
        for (const d of decisions) await review.enqueue(d, outcomes.get(d.id) ?? [], catalog.lookup);
      },
      contextFlushEvents: 200,
    });
    // A person lets the suspensions run for real (they act in dry-run until promoted).
    await executor.promote("access-aws-key-restricted", approver, { reason: "pack reviewed" });
    await executor.promote("access-okta-restricted", approver, { reason: "pack reviewed" });
    // Who is who: teams, and omar on call from Monday 12 to Monday 19 January.
    await context.entities.upsert({ kind: "principal", id: "arn:aws:iam::111122223333:user/dana", attrs: { team: "developers" } }, "hr-sync");
    await context.entities.upsert({ kind: "principal", id: "arn:aws:iam::111122223333:user/omar", attrs: { team: "platform", onCall: { from: "2026-01-12T09:00:00Z", until: "2026-01-19T09:00:00Z" } } }, "pagerduty-sync");

    // Ten days of ordinary work: weekdays 08:00-17:00 from the office or home, with the usual laptop.
    const office = places.office;
    const home = places.homes[0] as Place;
    for (let day = 5; day <= 15; day++) {
      if (new Date(Date.UTC(2026, 0, day)).getUTCDay() % 6 === 0) continue;
      for (const hour of [8, 9, 10, 11, 13, 14, 15, 16]) {
        await handle(call(at(day, hour, 5), "dana", DANA_KEY, hour % 2 ? "iam.amazonaws.com" : "s3.amazonaws.com", hour % 2 ? "ListUsers" : "ListBuckets", office, devices.mac));
        await handle(call(at(day, hour, 20), "omar", OMAR_KEY, hour % 2 ? "kms.amazonaws.com" : "ec2.amazonaws.com", hour % 2 ? "Decrypt" : "DescribeInstances", home, devices.linux));
        await handle(okta(at(day, hour, 30), hour % 3 ? "user.session.start" : "user.session.access_admin_app", office, devices.windows, hour % 3 ? undefined : "Okta Admin Console"));
      }
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([iam.close(), oktaServer.close(), hooks.close()]);
    await store.dispose();
  });

  it("daytime use of a restricted service from the usual place is observed, nothing more", async () => {
    const decision = await handle(call(at(16, 10, 12), "dana", DANA_KEY, "iam.amazonaws.com", "ListUsers", places.office, devices.mac));
    expect(decision).toMatchObject({ verdict: "allow", tier: "observe", actions: [] });
    expect(violations(decision)).toEqual([]);
  });

  let suspension: ActionRecord | undefined;

  it("an odd hour from a new country asks for step-up: the key suspension waits for a person", async () => {
    const decision = await handle(call(at(17, 2, 30), "dana", DANA_KEY, "iam.amazonaws.com", "ListUsers", places.attackers[2] as Place, devices.mac));
    expect(violations(decision)).toContain("access-aws-key-restricted/odd-hour-new-location");
    expect(decision).toMatchObject({ verdict: "deny", tier: "approve" });
    const tierStep = decision.explanation.steps.find((s) => s.kind === "tier" && s.policy === "access-aws-key-restricted");
    expect(tierStep?.text).toContain("a person confirms (step-up) before the key is suspended");
    const finding = decision.findings.find((f) => f.rule === "odd-hour-new-location");
    expect(finding?.message).toMatch(/^dana used access key AKIADANAEXAMPLE00001 for iam:ListUsers at an odd hour \(Sat 02:00 UTC is 0\.\d+x their average hour\) from a new country BR, asn AS16509$/);
    const records = outcomes.get(decision.id) ?? [];
    const deactivate = records.find((r) => r.actuator === "aws.iam.deactivate-access-key");
    expect(deactivate).toMatchObject({ status: "pending-approval", plan: { params: { userName: "dana", accessKeyId: DANA_KEY }, target: { kind: "principal", id: "arn:aws:iam::111122223333:user/dana" } } });
    expect(records.find((r) => r.actuator === "webhook.post")?.status).toBe("applied");
    expect(keys.find((k) => k.userName === "dana")?.status).toBe("Active");
    suspension = deactivate;
  });

  it("confirmed by a person: the key is made Inactive, with what undo needs", async () => {
    const [open] = await review.list({ status: "pending", policy: "access-aws-key-restricted" });
    expect(open?.actionIds).toContain(suspension?.id);
    const result = await review.approve(open?.id ?? "", approver, "dana is asleep; not her");
    const applied = result.actions.find((r) => r.actuator === "aws.iam.deactivate-access-key");
    expect(applied?.status).toBe("applied");
    expect(applied?.result?.undo).toEqual({ actuator: "aws.iam.deactivate-access-key", params: expect.objectContaining({ userName: "dana", accessKeyId: DANA_KEY }) });
    expect(keys.find((k) => k.userName === "dana")?.status).toBe("Inactive");
    expect(iam.problems).toEqual([]);
  });

  it("restore approved: undo makes the key Active again and records who", async () => {
    const undone = await executor.undo(suspension?.id ?? "", approver, "restore approved: dana confirmed the trip");
    expect(undone).toMatchObject({ status: "undone", undoneBy: "ann" });
    expect(keys.find((k) => k.userName === "dana")?.status).toBe("Active");
  });

  it("the on-call engineer at night is not escalated, and the decision says why", async () => {
    const decision = await handle(call(at(17, 3, 10), "omar", OMAR_KEY, "kms.amazonaws.com", "Decrypt", places.homes[0] as Place, devices.linux));
    expect(violations(decision)).toEqual(["access-aws-key-restricted/on-call"]);
    expect(decision).toMatchObject({ verdict: "allow", tier: "observe", actions: [] });
    const text = [decision.explanation.summary, ...decision.explanation.steps.map((s) => s.text)].join("\n");
    expect(text).toContain("while on call per their onCall schedule: expected, not escalated");
    expect(text).toContain("on call per the principal's onCall schedule, so out-of-hours access is expected");
    expect(await review.list({ decisionId: decision.id })).toEqual([]);
  });

  it("a travel notice (an exception with expiry) allows the trip, and the decision cites it", async () => {
    const japan = places.travel[0]?.place as Place;
    const notice = await review.exceptions.create({
      policies: ["access-*"], subjects: ["arn:aws:iam::111122223333:user/dana"], when: 'context.entities.?geo.?attrs.?country.orValue("") in ["JP", "Japan"]',
      justification: "travel notice: dana works from Tokyo for KubeCon", ticket: "HR-TRAVEL-7", expiresAt: at(25, 0),
    }, approver);
    const decision = await handle(call(at(18, 1, 15), "dana", DANA_KEY, "iam.amazonaws.com", "ListUsers", japan, devices.mac));
    expect(decision).toMatchObject({ verdict: "allow", tier: "observe", actions: [] });
    expect(violations(decision)).toEqual([]);
    expect(decision.findings.some((f) => f.effect === "skip" && f.rule === "odd-hour-new-location")).toBe(true);
    expect(decision.explanation.summary).toContain(`allowed by exception ${notice.id}: travel notice: dana works from Tokyo for KubeCon (HR-TRAVEL-7)`);
    // The same trip after the notice expired is judged again.
    const later = await handle(call(at(26, 1, 15), "dana", DANA_KEY, "iam.amazonaws.com", "ListUsers", japan, devices.mac));
    expect(violations(later).length).toBeGreaterThan(0);
  });

  it("incident posture makes the same odd-hour access stricter: notify becomes approve", async () => {
    const before = await handle(call(at(20, 22, 40), "omar", OMAR_KEY, "kms.amazonaws.com", "Decrypt", places.homes[0] as Place, devices.linux));
    expect(violations(before)).toEqual(["access-aws-key-restricted/odd-hour"]);
    expect(before.tier).toBe("notify");
    await context.posture.set({ scope: "org", level: "incident", reason: "INC-7 credential leak", setBy: "soc" });
    const during = await handle(call(at(21, 4, 10), "omar", OMAR_KEY, "kms.amazonaws.com", "Decrypt", places.homes[0] as Place, devices.linux));
    expect(during.tier).toBe("approve");
    expect(during.explanation.steps.some((s) => s.kind === "tier" && s.text.includes("incident posture, so odd-hour use of a restricted service needs a person"))).toBe(true);
    await context.posture.set({ scope: "org", level: "normal", setBy: "soc" });
  });

  it("the Okta admin console at night from a new country and device suspends the user in Okta; undo restores", async () => {
    const attacker = places.attackers[3] as Place;
    await handle(okta(at(21, 2, 0), "policy.evaluate_sign_on", attacker, devices.attacker, "Okta Admin Console", true));
    const decision = await handle(okta(at(21, 2, 1), "user.session.access_admin_app", attacker, devices.attacker, "Okta Admin Console"));
    expect(violations(decision)).toContain("access-okta-restricted/odd-hour-new-location");
    expect(decision.tier).toBe("remediate");
    const suspend = (outcomes.get(decision.id) ?? []).find((r) => r.actuator === "okta.suspend-user");
    expect(suspend).toMatchObject({ status: "applied", plan: { params: { userId: CARLA } } });
    expect(suspend?.result?.undo).toBeDefined();
    expect(users.get(CARLA)).toBe("SUSPENDED");
    await executor.undo(suspend?.id ?? "", approver, "carla confirmed by phone");
    expect(users.get(CARLA)).toBe("ACTIVE");
  });
});
