/**
 * The access pack end to end: `vigil simulate --scenario access` (seed 1, 8 days) with its setup
 * (teams, on-call windows, travel notices) through `vigil replay` with context and through a
 * running agent. Both step the compromises up to a person or suspend the credential (planned, dry
 * run), never escalate the on-call engineers, and agree decision by decision.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { truthOf } from "../../src/sources/simulate/index.js";
import { agentStream, differences, packDir, printScore, replayStream, simulate, type AgentRun, type ReplayRun, type Stream } from "./packs-support.js";

const ON_CALL = "on-call engineer paged at night";
const SUSPEND = ["okta.suspend-user", "aws.iam.deactivate-access-key"];

let stream: Stream;
let replay: ReplayRun;
let agent: AgentRun;

beforeAll(async () => {
  stream = simulate("access", 1, 8);
  replay = await replayStream(stream, [packDir("access")]);
  agent = await agentStream(stream, [packDir("access")]);
}, 240_000);

afterAll(async () => {
  await agent?.close();
});

describe("access pack through vigil replay (context)", () => {
  it("decides every event, steps compromises up and plans a suspension, with explanations", () => {
    expect(replay.code).toBe(0);
    expect(replay.decisions.size).toBe(stream.events.length);
    const decisions = [...replay.decisions.values()];
    const stepUp = decisions.find((d) => d.tier === "approve" && d.findings.some((f) => f.policy.startsWith("access-") && f.effect === "violation"));
    expect(stepUp, "a step-up (approve tier)").toBeDefined();
    expect(stepUp!.explanation.steps?.some((s) => /^approve: access-.*adaptive rule/.test(s))).toBe(true);
    const suspension = decisions.find((d) => d.tier === "remediate" && (d.actions as { actuator: string }[]).some((a) => SUSPEND.includes(a.actuator)));
    expect(suspension, "a suspension planned (remediate)").toBeDefined();
    expect(suspension!.verdict).toBe("deny");
    expect(suspension!.enforced).toBe(false);
    expect((suspension!.actions as { actuator: string; dryRun: boolean }[]).filter((a) => SUSPEND.includes(a.actuator)).every((a) => a.dryRun)).toBe(true);
    expect(suspension!.explanation.summary).toMatch(/^Denied \(remediate\) by .*odd-hour-new-location/);
    expect(replay.stderr).toMatch(/reviews opened \(step-ups, approvals\): pending \d+/);
    expect(replay.stderr).toMatch(/setup: 56 entities, \d+ exceptions imported/);
  });

  it("does not escalate on-call engineers paged at night, and says why", () => {
    const onCall = stream.events.filter((e) => truthOf(e)?.note === ON_CALL);
    expect(onCall.length).toBeGreaterThan(5);
    for (const event of onCall) expect(replay.decisions.get(event.id)?.tier, event.id).toBe("observe");
    const explained = onCall.map((e) => replay.decisions.get(e.id)!).find((d) => d.findings.some((f) => f.rule === "on-call"));
    expect(explained?.findings.find((f) => f.rule === "on-call")?.message).toMatch(/on call/);
  });

  it("meets the ground truth: every compromise event alerted, no benign event denied", () => {
    printScore("access replay (seed 1, 8 days)", replay.score);
    expect(replay.score.alerts.recall).toBeGreaterThanOrEqual(0.95);
    expect(replay.score.denies.precision).toBeGreaterThanOrEqual(0.95);
    expect(replay.score.denies.recall).toBeGreaterThanOrEqual(0.6);
    expect(replay.stderr).toContain("ground truth: ");
  });
});

describe("access pack through the running agent", () => {
  it("decides like the replay, event by event", () => {
    expect(agent.decisions.size).toBe(stream.events.length);
    expect(differences(stream, replay.decisions, agent.decisions)).toEqual([]);
    printScore("access agent (seed 1, 8 days)", agent.score);
    expect(agent.score.alerts.recall).toBeGreaterThanOrEqual(0.95);
    expect(agent.score.denies.precision).toBeGreaterThanOrEqual(0.95);
  });

  it("plans the suspension through the actuators as a dry run (not promoted), opens step-up reviews, and keeps on-call quiet", async () => {
    const suspensions = [...agent.decisions.values()].filter((d) => d.tier === "remediate" && d.actions.some((a) => SUSPEND.includes(a.actuator)));
    expect(suspensions.length).toBeGreaterThan(0);
    expect(suspensions.every((d) => d.enforced)).toBe(true);
    expect(SUSPEND.some((kind) => (agent.applied.get(kind) ?? 0) > 0)).toBe(true);
    const records = await agent.agent.executor.listActions({ status: "dry-run" });
    expect(records.some((r) => SUSPEND.includes(r.actuator) && r.reason?.includes("acts in dry-run until a person promotes it"))).toBe(true);
    const reviews = await agent.agent.reviews.list({ status: "pending" });
    expect(reviews.some((r) => r.policy.startsWith("access-"))).toBe(true);
    const onCall = stream.events.filter((e) => truthOf(e)?.note === ON_CALL);
    for (const event of onCall) expect(agent.decisions.get(event.id)?.tier).toBe("observe");
  });
});
