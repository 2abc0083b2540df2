/**
 * The supply-chain pack end to end: `vigil simulate --scenario supply-chain` (seed 1, 14 days)
 * through `vigil replay` with context and through a running agent: a pull request that introduces a
 * vulnerable dependency is denied with a failing commit status and a PR comment planned, and a fix
 * the organisation made earlier in the stream is cited (the past-fix memory fed after recording;
 * the agent gets the pull requests as they would arrive, hour by hour).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActionPlan } from "../../src/core/action.js";
import { agentStream, differences, packDir, printScore, replayStream, simulate, type AgentRun, type ReplayRun, type Stream } from "./packs-support.js";

let stream: Stream;
let replay: ReplayRun;
let agent: AgentRun;

beforeAll(async () => {
  stream = simulate("supply-chain", 1, 14);
  replay = await replayStream(stream, [packDir("supply-chain")]);
  // As pull requests arrive (hour by hour): the past-fix memory learns from a batch once it is
  // recorded, so a fix is linked to a block of an earlier batch (src/context/supply-chain).
  agent = await agentStream(stream, [packDir("supply-chain")], {}, { arrival: "hourly" });
}, 240_000);

afterAll(async () => {
  await agent?.close();
});

function checkDenied(decisions: readonly { verdict: string; findings: readonly { policy: string; effect: string; message: string }[]; actions: readonly unknown[] }[]): void {
  const denied = decisions.filter((d) => d.verdict === "deny" && d.findings.some((f) => f.policy === "supply-chain-vulnerable-dependency" && f.effect === "violation"));
  expect(denied.length).toBeGreaterThan(3);
  for (const decision of denied) {
    const kinds = (decision.actions as ActionPlan[]).map((a) => a.actuator);
    expect(kinds).toEqual(expect.arrayContaining(["github.commit-status", "github.pr-comment"]));
    const status = (decision.actions as ActionPlan[]).find((a) => a.actuator === "github.commit-status")!;
    expect(status.params).toMatchObject({ state: "failure", context: "vigil/supply-chain" });
  }
  const messages = denied.flatMap((d) => d.findings.map((f) => f.message));
  expect(messages.some((m) => /introduced: \S+@\S+ .* upgrade to \S+ \(within/.test(m))).toBe(true);
  expect(messages.some((m) => /\(fixed before: acme\/[\w-]+#\d+ moved \S+ \S+ → \S+ on 2026-/.test(m))).toBe(true);
}

describe("supply-chain pack through vigil replay (context)", () => {
  it("denies vulnerable introductions with a commit status and a PR comment planned, citing past fixes", () => {
    expect(replay.code).toBe(0);
    checkDenied([...replay.decisions.values()]);
  });

  it("denies exactly the violations", () => {
    printScore("supply-chain replay (seed 1, 14 days)", replay.score);
    expect(replay.score.denies.precision).toBe(1);
    expect(replay.score.denies.recall).toBe(1);
  });
});

describe("supply-chain pack through the running agent", () => {
  it("decides like the replay and plans the GitHub actions through the actuators (dry run until promoted)", () => {
    expect(differences(stream, replay.decisions, agent.decisions)).toEqual([]);
    checkDenied([...agent.decisions.values()]);
    expect(agent.applied.get("github.commit-status") ?? 0).toBeGreaterThan(0);
    printScore("supply-chain agent (seed 1, 14 days)", agent.score);
    expect(agent.score.denies.precision).toBe(1);
    expect(agent.score.denies.recall).toBe(1);
  });
});
