/**
 * The idle-EC2 policy's actions name the instance's resource entity: a FOCUS row of an AWS export
 * names the instance by its ARN (the resource entity's id), so the planned aws.ec2.stop-instances
 * runs in the instance's region (filled from the entity) and the entity's protection tags are
 * honoured. The row is a FOCUS 1.0 EC2 row of test/fixtures/focus-sample-data (CC-BY-4.0, see
 * SOURCE) with the ResourceId an AWS FOCUS export gives an instance.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createBuiltinActuators } from "../../src/act/actuators/index.js";
import { planActions } from "../../src/act/index.js";
import type { Actuator } from "../../src/core/action.js";
import type { Context } from "../../src/core/context.js";
import { loadPolicySet } from "../../src/agent/policies.js";
import { createConditionCache, createDecider } from "../../src/decide/index.js";
import { focusCsvToEvents } from "../../src/sources/index.js";
import { fixturesDir, packDir } from "./cost-support.js";

const { policySet, env } = loadPolicySet([`${packDir}policies`]);
const decider = createDecider({ env });
const programs = createConditionCache(env);
// The actuators' configured region is us-east-1: an action that ran there would miss the instance.
const actuators = new Map<string, Actuator>(createBuiltinActuators({
  aws: { region: "us-east-1", credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "secret" } },
  webhook: { endpoints: { default: { url: "https://finops.example/in", secret: "s" } } },
}).map((a) => [a.kind, a]));
const row = focusCsvToEvents(readFileSync(`${fixturesDir}focus-sample-data/focus_sample_300.csv`, "utf8")).flatMap((r) => (r.ok ? [r.event] : []))
  .find((e) => (e.data as Record<string, unknown>)["ServiceName"] === "Amazon Elastic Compute Cloud");
if (row === undefined) throw new Error("no EC2 row in the FOCUS sample");
const ARN = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abcdef1234567890";
const now = "2026-02-02T10:00:00Z";

function contextOf(tags: Record<string, string>): Context {
  const data = { ...(row!.data as Record<string, unknown>), ResourceId: ARN, RegionId: "eu-west-1", ResourceType: "instance", Tags: tags };
  const event = { ...row!, subject: ARN, time: now, data };
  const ctx: Context = {
    event, input: data, now, posture: { level: "normal", scope: "org", since: now },
    entities: { resource: { kind: "resource", id: ARN, attrs: { type: "instance", provider: "AWS", tags } } },
    signals: { idle: { detector: "idle", score: 1, confidence: 1, factors: [], values: { applicable: true, windowDays: 14, daysWithSamples: 14, idleDays: 14, meanCpu: 0.4, maxCpu: 1.5, meanNetwork: 1500, scheduled: false } } },
    features: { resource: { series: { cost: { mean: 2, season: "day-of-week" } } } },
  };
  return ctx;
}

function decideAndPlan(tags: Record<string, string>) {
  const ctx = contextOf(tags);
  const { findings, policyRevisions } = policySet.evaluate(ctx);
  const draft = decider.decide(ctx, findings, policyRevisions, { id: "d-1", now, enforced: true, policy: (n) => policySet.get(n) });
  expect(draft.findings.filter((f) => f.effect === "violation").map((f) => `${f.policy}/${f.rule}`)).toEqual(["cost-idle-ec2-instance/idle-instance"]);
  return { draft, planned: planActions({ draft, ctx, policy: (n) => policySet.get(n), guardrails: {}, actuators, promoted: () => true, programs }).planned };
}

function plan(tags: Record<string, string>) {
  const { draft, planned } = decideAndPlan(tags);
  expect(draft.tier).toBe("remediate");
  return planned;
}

describe("cost pack: the idle EC2 instance's actions target its resource entity", () => {
  it("a stop of an instance named by its ARN runs in the instance's region, on its bare id", () => {
    const stop = plan({ owner: "ana" }).find((p) => p.plan.actuator === "aws.ec2.stop-instances");
    expect(stop?.disposition).toBe("apply");
    expect(stop?.plan.target).toEqual({ kind: "resource", id: ARN });
    expect(stop?.plan.params).toEqual({ instanceIds: ["i-0abcdef1234567890"], region: "eu-west-1" });
  });

  it("an instance tagged vigil.dev/protected=true is never stopped", () => {
    const planned = plan({ owner: "ana", "vigil.dev/protected": "true" });
    const stop = planned.find((p) => p.plan.actuator === "aws.ec2.stop-instances");
    expect(stop?.disposition).toBe("blocked");
    expect(stop?.blockedBy).toBe("protected");
    expect(stop?.plan.reason).toMatch(/is protected \(tag vigil\.dev\/protected=true\)/);
    expect(planned.filter((p) => p.disposition === "apply").map((p) => p.plan.actuator)).not.toContain("aws.ec2.stop-instances");
  });

  it("AWS's capitalised tag keys count: Environment=Production needs a person's approval, Owner names the owner", () => {
    const { draft, planned } = decideAndPlan({ Environment: "Production", Owner: "ana" });
    expect(draft.tier).toBe("approve");
    const finding = draft.findings.find((f) => f.rule === "idle-instance");
    expect(finding?.message).toMatch(/; owner ana; production\/critical: a person approves the stop$/);
    expect(finding?.outputs?.["owner"]).toBe("ana");
    expect(planned.find((p) => p.plan.actuator === "aws.ec2.stop-instances")?.disposition).toBe("approval");
  });

  it("the keep-running tag is honoured whatever the case of its value (AWS tag values are free text)", () => {
    for (const value of ["true", "True", "TRUE"]) {
      const findings = policySet.evaluate(contextOf({ owner: "ana", "vigil:keep-running": value }), { includePasses: true }).findings.filter((f) => f.policy === "cost-idle-ec2-instance");
      expect(findings.map((f) => `${f.effect} ${f.skipReason ?? ""}`), value).toEqual([expect.stringMatching(/^skip excepted by exception "keep-running-tag"/)]);
    }
  });
});
