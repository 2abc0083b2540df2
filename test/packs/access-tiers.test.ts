/**
 * The access pack's enforcement: every adaptive rule of the restricted-service policies (odd hour,
 * new place, new device, a change, on call, incident posture, low confidence) gives the tier the
 * docs table promises, with its reason in the explanation; and the actions each tier plans pass
 * the real actuators' parameter validation (aws.iam.deactivate-access-key, okta.suspend-user,
 * webhook.post) with the values taken from the event.
 */
import { describe, expect, it } from "vitest";
import { createBuiltinActuators } from "../../src/act/actuators/index.js";
import { planActions } from "../../src/act/index.js";
import type { Actuator } from "../../src/core/action.js";
import type { Context } from "../../src/core/context.js";
import type { PostureLevel, Signal } from "../../src/core/entity.js";
import type { Tier } from "../../src/core/policy.js";
import { createConditionCache, createDecider } from "../../src/decide/index.js";
import { loadAccessPack } from "./access-support.js";

const pack = loadAccessPack();
const decider = createDecider({ env: pack.env });
const actuators = new Map<string, Actuator>(createBuiltinActuators({
  aws: { region: "eu-west-1", credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "secret" } },
  okta: { orgUrl: "https://acme.okta.com", token: "t" },
  webhook: { endpoints: { default: { url: "https://soc.example/in", secret: "s" } } },
}).map((a) => [a.kind, a]));
const programs = createConditionCache(pack.env);

interface Situation {
  readonly odd?: boolean;
  readonly onCall?: boolean;
  readonly newDims?: readonly string[];
  readonly write?: boolean;
  readonly posture?: PostureLevel;
  readonly oddConfidence?: number;
  readonly hour?: number;
}

function signals(s: Situation): Record<string, Signal> {
  const seen: Record<string, unknown> = { country: { value: "BR", count: 0, share: 0 }, asn: { value: "AS16509", count: 0, share: 0 }, device: { value: "Boto3", count: 0, share: 0 } };
  return {
    oddHour: { detector: "oddHour", score: s.odd ? 0.9 : 0, confidence: s.oddConfidence ?? 0.9, factors: [], values: { ratio: s.odd ? 0.02 : 2.5, hourOfWeek: "Wed 03:00 UTC", onCall: s.onCall === true } },
    rare: { detector: "rare", score: (s.newDims ?? []).length > 0 ? 0.7 : 0, confidence: 1, factors: [], values: { firstSeen: [...(s.newDims ?? [])], seen } },
  };
}

function awsContext(s: Situation, identity: Record<string, unknown>): Context {
  const time = `2026-01-14T${String(s.hour ?? 3).padStart(2, "0")}:10:00Z`;
  const data = {
    eventSource: "iam.amazonaws.com", eventName: s.write ? "CreateAccessKey" : "ListUsers", readOnly: !s.write, eventTime: time, userIdentity: identity,
    requestParameters: s.write ? { userName: "backup-admin" } : null,
  };
  return {
    event: { specversion: "1.0", id: `e-${JSON.stringify(s)}`, source: "aws.iam", type: "com.amazonaws.cloudtrail", subject: String(identity["arn"]), time, data },
    input: data, entities: {}, signals: signals(s), features: { principal: { firstSeen: "2026-01-01T08:00:00Z" } },
    posture: { level: s.posture ?? "normal", scope: "org", since: "2026-01-01T00:00:00Z", ...(s.posture ? { reason: "INC-7" } : {}) },
    now: time,
  };
}

const keyUser = { type: "IAMUser", userName: "dana", accessKeyId: "AKIADANAEXAMPLE00001", arn: "arn:aws:iam::111122223333:user/dana" };

function decide(ctx: Context) {
  const { findings, policyRevisions } = pack.policySet.evaluate(ctx);
  const draft = decider.decide(ctx, findings, policyRevisions, { id: "d-1", now: ctx.now, enforced: true, policy: (n) => pack.policySet.get(n) });
  const plan = planActions({ draft, ctx, policy: (n) => pack.policySet.get(n), guardrails: {}, actuators, promoted: () => true, programs });
  return { draft, plan };
}

describe("access pack tiers", () => {
  const cases: readonly [string, Situation, Tier, string][] = [
    ["odd hour from the usual place", { odd: true }, "notify", "odd hour from a known location and device"],
    ["odd hour from a new country (read)", { odd: true, newDims: ["country", "asn"] }, "approve", "a person confirms (step-up) before the key is suspended"],
    ["odd hour from a new device (read)", { odd: true, newDims: ["device"] }, "approve", "a person confirms (step-up)"],
    ["odd hour, new country and new device", { odd: true, newDims: ["country", "device"] }, "remediate", "new country or network and a new device together"],
    ["odd hour, new country, a change", { odd: true, newDims: ["country"], write: true }, "remediate", "or a change on a restricted service"],
    ["usual hour, new country and new device", { newDims: ["asn", "device"], hour: 11 }, "approve", "a new country or network and a new device at once"],
    ["usual hour, new country only (a trip)", { newDims: ["country"], hour: 11 }, "observe", ""],
    ["on call at night from home", { odd: true, onCall: true }, "observe", "on call per the principal's onCall schedule"],
    ["on call at night from a new device", { odd: true, onCall: true, newDims: ["device"] }, "approve", "on call explains the hour but not the new location or device"],
    ["incident posture, odd hour from the usual place", { odd: true, posture: "incident" }, "approve", "incident posture, so odd-hour use of a restricted service needs a person"],
    ["incident posture, odd hour from a new country", { odd: true, posture: "incident", newDims: ["country"] }, "remediate", "incident posture, so odd-hour use from a new location or device is suspended now"],
    ["low detector confidence hands a suspension to a person", { odd: true, newDims: ["country", "device"], oddConfidence: 0.3 }, "approve", "< minConfidence 0.5: ask a person (approve) instead of remediate"],
  ];
  for (const [name, situation, tier, reason] of cases) {
    it(`${name} → ${tier}`, () => {
      const { draft } = decide(awsContext(situation, keyUser));
      expect(draft.tier).toBe(tier);
      const step = draft.explanation.steps.find((s) => s.kind === "tier" && s.policy === "access-aws-key-restricted");
      if (reason === "") expect(step).toBeUndefined();
      else expect(step?.text).toContain(reason);
    });
  }

  // Some CloudTrail exports (data lakes, SIEM tables) write readOnly as a string ("False", "True").
  it("readOnly written as a string \"False\" is a change on a restricted service, for a key and for a session", () => {
    const session = { type: "AssumedRole", arn: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_PlatformAdmin_0a1b/maya@acme.example", accessKeyId: "ASIAEXAMPLE" };
    for (const [identity, policy] of [[keyUser, "access-aws-key-restricted"], [session, "access-aws-session-restricted"]] as const) {
      const ctx = awsContext({ odd: true, newDims: ["country"], write: true }, identity);
      const stringly = { ...ctx, input: { ...(ctx.input as Record<string, unknown>), readOnly: "False" } };
      const { draft } = decide(stringly);
      expect(draft.tier, policy).toBe("remediate");
      expect(draft.explanation.steps.find((st) => st.kind === "tier" && st.policy === policy)?.text).toContain("or a change on a restricted service");
    }
  });

  it("each tier plans what it promises, with parameters the real actuators accept", () => {
    const notify = decide(awsContext({ odd: true }, keyUser)).plan;
    expect(notify.planned.map((p) => [p.plan.actuator, p.disposition])).toEqual([["webhook.post", "apply"]]);
    expect(notify.notPlanned).toEqual([{ policy: "access-aws-key-restricted", action: "aws.iam.deactivate-access-key", reason: "tier notify does not run aws.iam.deactivate-access-key" }]);
    const approve = decide(awsContext({ odd: true, newDims: ["country"] }, keyUser)).plan;
    expect(approve.planned.map((p) => [p.plan.actuator, p.disposition])).toEqual([["aws.iam.deactivate-access-key", "approval"], ["webhook.post", "apply"]]);
    const remediate = decide(awsContext({ odd: true, newDims: ["country", "device"] }, keyUser)).plan;
    const deactivate = remediate.planned.find((p) => p.plan.actuator === "aws.iam.deactivate-access-key");
    expect(deactivate).toMatchObject({ disposition: "apply", plan: { params: { userName: "dana", accessKeyId: "AKIADANAEXAMPLE00001" }, target: { kind: "aws.iam.access-key", id: "AKIADANAEXAMPLE00001" } } });
    const flag = remediate.planned.find((p) => p.plan.actuator === "webhook.post");
    expect(flag?.plan.params).toMatchObject({ event: "vigil.access.flagged", payload: { tier: "remediate", rule: "odd-hour-new-location", principal: "arn:aws:iam::111122223333:user/dana", accessKeyId: "AKIADANAEXAMPLE00001" } });
    expect(remediate.planned.every((p) => p.disposition !== "blocked")).toBe(true);
  });

  it("a protected IAM user's key is not deactivated: by a tag on the user's entity, or by a protected name matching the user", () => {
    const ctx = awsContext({ odd: true, newDims: ["country", "device"] }, keyUser);
    const principal = { kind: "principal", id: keyUser.arn, attrs: { type: "IAMUser", userName: "dana", tags: { "vigil.dev/protected": "true" } } };
    const tagged = { ...ctx, entities: { principal } };
    const { findings, policyRevisions } = pack.policySet.evaluate(tagged);
    const draft = decider.decide(tagged, findings, policyRevisions, { id: "d-1", now: tagged.now, enforced: true, policy: (n) => pack.policySet.get(n) });
    expect(draft.tier).toBe("remediate");
    const byTag = planActions({ draft, ctx: tagged, policy: (n) => pack.policySet.get(n), guardrails: {}, actuators, promoted: () => true, programs });
    const deactivate = byTag.planned.find((p) => p.plan.actuator === "aws.iam.deactivate-access-key");
    expect(deactivate).toMatchObject({ disposition: "blocked", blockedBy: "protected", plan: { params: { userName: "dana", accessKeyId: "AKIADANAEXAMPLE00001" } } });
    expect(deactivate?.plan.reason).toContain("(tag vigil.dev/protected=true)");
    const untagged = { ...ctx, entities: { principal: { ...principal, attrs: { type: "IAMUser", userName: "dana" } } } };
    const byName = planActions({ draft, ctx: untagged, policy: (n) => pack.policySet.get(n), guardrails: { protected: { names: ["arn:aws:iam::*:user/dana"] } }, actuators, promoted: () => true, programs });
    expect(byName.planned.find((p) => p.plan.actuator === "aws.iam.deactivate-access-key")).toMatchObject({ disposition: "blocked", blockedBy: "protected" });
    const unprotected = planActions({ draft, ctx: untagged, policy: (n) => pack.policySet.get(n), guardrails: {}, actuators, promoted: () => true, programs });
    expect(unprotected.planned.find((p) => p.plan.actuator === "aws.iam.deactivate-access-key")).toMatchObject({ disposition: "apply", plan: { target: { kind: "principal", id: keyUser.arn } } });
  });

  it("a protected Okta user is not suspended: by a tag on the user's entity, or by a protected name matching their login", () => {
    const time = "2026-01-14T03:10:00Z";
    const data = {
      eventType: "user.account.privilege.grant", published: time, outcome: { result: "SUCCESS" },
      actor: { id: "00u1carla", type: "User", alternateId: "carla@acme.example", displayName: "Carla" },
      target: [{ id: "00u1eve", type: "User", alternateId: "eve@acme.example" }],
    };
    const principal = { kind: "principal", id: "carla@acme.example", attrs: { type: "User", oktaId: "00u1carla", provider: "okta", tags: { "vigil.dev/protected": "true" } } };
    const ctx: Context = {
      event: { specversion: "1.0", id: "o-1", source: "okta", type: "com.okta.system.log", subject: "carla@acme.example", time, data },
      input: data, entities: { principal }, signals: signals({ odd: true, newDims: ["country"] }), features: { principal: { firstSeen: "2026-01-01T08:00:00Z" } },
      posture: { level: "normal", scope: "org", since: "2026-01-01T00:00:00Z" }, now: time,
    };
    const { draft, plan } = decide(ctx);
    expect(draft.tier).toBe("remediate");
    const suspend = plan.planned.find((p) => p.plan.actuator === "okta.suspend-user");
    expect(suspend).toMatchObject({ disposition: "blocked", blockedBy: "protected", plan: { params: { userId: "00u1carla" } } });
    const untagged = { ...ctx, entities: { principal: { ...principal, attrs: { type: "User", oktaId: "00u1carla" } } } };
    const byName = planActions({ draft, ctx: untagged, policy: (n) => pack.policySet.get(n), guardrails: { protected: { names: ["carla@acme.example"] } }, actuators, promoted: () => true, programs });
    expect(byName.planned.find((p) => p.plan.actuator === "okta.suspend-user")).toMatchObject({ disposition: "blocked", blockedBy: "protected" });
    const unprotected = planActions({ draft, ctx: untagged, policy: (n) => pack.policySet.get(n), guardrails: {}, actuators, promoted: () => true, programs });
    expect(unprotected.planned.find((p) => p.plan.actuator === "okta.suspend-user")).toMatchObject({ disposition: "apply", plan: { params: { userId: "00u1carla" }, target: { kind: "principal", id: "carla@acme.example" } } });
  });

  it("a person's SSO session is suspended at the identity provider, by the session's email", () => {
    const session = { type: "AssumedRole", arn: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_PlatformAdmin_0a1b/maya@acme.example", accessKeyId: "ASIAEXAMPLE" };
    const { draft, plan } = decide(awsContext({ odd: true, newDims: ["country", "device"] }, session));
    expect(draft.tier).toBe("remediate");
    expect(plan.planned.find((p) => p.plan.actuator === "okta.suspend-user")).toMatchObject({ disposition: "apply", plan: { params: { userId: "maya@acme.example" } } });
  });

  it("sensitive actions notify, and step up at an odd hour from a new place or in incident posture", () => {
    const root = { type: "Root", arn: "arn:aws:iam::111122223333:root", accountId: "111122223333" };
    const ctx = (s: Situation): Context => {
      const base = awsContext(s, root);
      const data = { ...(base.input as Record<string, unknown>), eventSource: "s3.amazonaws.com", eventName: "PutBucketVersioning", readOnly: false };
      return { ...base, input: data, event: { ...base.event, data } };
    };
    expect(violations(decide(ctx({ hour: 11 })).draft)).toEqual(["access-aws-root/root-activity"]);
    expect(decide(ctx({ hour: 11 })).draft.tier).toBe("notify");
    expect(decide(ctx({ odd: true, newDims: ["country"] })).draft.tier).toBe("approve");
    expect(decide(ctx({ hour: 11, posture: "incident" })).draft.tier).toBe("approve");
  });
});

function violations(draft: { readonly findings: readonly { effect: string; policy: string; rule: string }[] }): string[] {
  return draft.findings.filter((f) => f.effect === "violation").map((f) => `${f.policy}/${f.rule}`);
}
