/**
 * The cost pack end to end: `vigil simulate --scenario cost` (seed 1, 15 days: the announced launch
 * is on day 14) through `vigil replay` with context and through a running agent. Idle instances and
 * the idle Deployment are marked by the enforcement ladder with a grace period in business days
 * (the stop is held, the owner notified), the launch spike is observed and noted, not escalated;
 * both runs agree decision by decision and meet the ground truth.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { truthOf } from "../../src/sources/simulate/index.js";
import { agentStream, differences, packDir, printScore, replayStream, simulate, type AgentRun, type ReplayRun, type Stream } from "./packs-support.js";

const LAUNCH = "planned launch, announced by posture";
const FORGOTTEN = "forgotten idle dev instance";

let stream: Stream;
let replay: ReplayRun;
let agent: AgentRun;

beforeAll(async () => {
  stream = simulate("cost", 1, 15);
  replay = await replayStream(stream, [packDir("cost")]);
  agent = await agentStream(stream, [packDir("cost")]);
}, 240_000);

afterAll(async () => {
  await agent?.close();
});

describe("cost pack through vigil replay (context)", () => {
  it("marks the forgotten idle instance for a stop after a grace period in business days, with its saving", () => {
    expect(replay.code).toBe(0);
    const flagged = stream.events.filter((e) => truthOf(e)?.note === FORGOTTEN).map((e) => replay.decisions.get(e.id)!).filter((d) => d.findings.some((f) => f.policy === "cost-idle-ec2-instance" && f.effect === "violation"));
    expect(flagged.length).toBeGreaterThan(0);
    const first = flagged[0]!;
    expect(first.findings.find((f) => f.policy === "cost-idle-ec2-instance")?.message).toMatch(/is idle on \d+ of \d+ days .* saves about [\d.]+ USD\/month/);
    expect(first.explanation.steps?.some((s) => /^enforcement ladder episode 1 opened: cost-idle-ec2-instance: aws\.ec2\.stop-instances on i-\w+ marked .*, due .* after 3 business day\(s\) \(owner \w+\)/.test(s))).toBe(true);
    expect((first.actions as { actuator: string; reason?: string }[]).find((a) => a.actuator === "aws.ec2.stop-instances")?.reason).toMatch(/held by the enforcement ladder until/);
    expect(replay.stderr).toMatch(/enforcement ladder: .*waiting \d+/);
  });

  it("observes the launch spike during the announced launch and does not escalate it", () => {
    const launch = stream.events.filter((e) => truthOf(e)?.note === LAUNCH);
    expect(launch.length).toBeGreaterThan(0);
    const decisions = launch.map((e) => replay.decisions.get(e.id)!);
    expect(decisions.every((d) => d.tier === "observe")).toBe(true);
    const spike = decisions.find((d) => d.findings.some((f) => f.policy === "cost-spend-spike" && f.effect === "violation"));
    expect(spike, "the spike is found").toBeDefined();
    expect(spike!.findings.find((f) => f.policy === "cost-spend-spike")?.message).toMatch(/during the announced launch \(launch: spring sale\): noted, not escalated/);
    expect(spike!.explanation.steps?.some((s) => s.startsWith("posture: +"))).toBe(true);
  });

  it("meets the ground truth", () => {
    printScore("cost replay (seed 1, 15 days)", replay.score);
    expect(replay.score.alerts.precision).toBeGreaterThanOrEqual(0.95);
    expect(replay.score.alerts.recall).toBeGreaterThanOrEqual(0.9);
  });
});

describe("cost pack through the running agent", () => {
  it("decides like the replay, event by event, and meets the ground truth", () => {
    expect(agent.decisions.size).toBe(stream.events.length);
    expect(differences(stream, replay.decisions, agent.decisions)).toEqual([]);
    printScore("cost agent (seed 1, 15 days)", agent.score);
    expect(agent.score.alerts.precision).toBeGreaterThanOrEqual(0.95);
    expect(agent.score.alerts.recall).toBeGreaterThanOrEqual(0.9);
  });

  it("keeps the marks on its ladder (the owner can snooze), sends the notifications, and asks a person about the critical instance", async () => {
    const ladder = agent.agent.ladder!;
    const waiting = await ladder.list({ status: "waiting", policy: "cost-idle-ec2-instance" });
    expect(waiting.length).toBeGreaterThan(0);
    const item = waiting.find((i) => i.owner !== undefined)!;
    expect(item.held.map((h) => h.plan.actuator)).toContain("aws.ec2.stop-instances");
    expect(Date.parse(item.dueAt!)).toBeGreaterThan(Date.parse(item.openedAt) + 24 * 3_600_000);
    const snoozed = await ladder.snooze(item.id, { id: item.owner!, roles: ["viewer"] }, { reason: "benchmark rerun" });
    expect(Date.parse(snoozed.dueAt!)).toBeGreaterThan(Date.parse(item.dueAt!));
    expect(agent.applied.get("webhook.post") ?? 0).toBeGreaterThan(0);
    expect(agent.applied.get("aws.ec2.stop-instances") ?? 0).toBe(0);
    const reviews = await agent.agent.reviews.list({ status: "pending", policy: "cost-idle-ec2-instance" });
    expect(reviews.length).toBeGreaterThan(0);
  });

  it("applies a due mark on the scheduler tick once the stream's time passes it (dry run until promoted)", async () => {
    const item = (await agent.agent.ladder!.list({ status: "waiting" }))[0]!;
    agent.agent.eventClock!.follow(new Date(Date.parse(item.dueAt!) + 60_000).toISOString());
    await agent.agent.tick();
    const after = await agent.agent.ladder!.get(item.id);
    // Not promoted: the stop is only previewed, and the mark says so (not "applied").
    expect(["previewed", "pending-approval", "lapsed"]).toContain(after?.status);
    if (after?.status === "previewed") expect((await agent.agent.executor.getAction(after.actions[0]!))?.status).toBe("dry-run");
  });
});
