/**
 * The residency pack end to end: `vigil simulate --scenario residency` (seed 1, 14 days) with its
 * setup (namespace data classes, the SCC exception EX-RES-001 with a year-long expiry) through
 * `vigil replay` with context and through a running agent: personal data replicated to us-east-1 is
 * blocked with a reroute suggestion, the transfer under SCCs is allowed and says why.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { vigil } from "../cli/support.js";
import { truthOf } from "../../src/sources/simulate/index.js";
import { agentStream, differences, packDir, printScore, replayStream, simulate, type AgentRun, type ReplayRun, type Stream } from "./packs-support.js";

const REPLICATION = "personal data replicated to us-east-1";
const SCC = "transfer under an approved mechanism (SCCs, exception EX-RES-001)";

let stream: Stream;
let replay: ReplayRun;
let agent: AgentRun;

beforeAll(async () => {
  stream = simulate("residency", 1, 14);
  replay = await replayStream(stream, [packDir("residency")]);
  agent = await agentStream(stream, [packDir("residency")]);
}, 240_000);

afterAll(async () => {
  await agent?.close();
});

function checkBehaviours(decisions: ReadonlyMap<string, { verdict: string; tier: string; findings: readonly { policy: string; rule: string; effect: string; message: string }[]; explanation: { summary: string } }>): void {
  const replicated = stream.events.filter((e) => truthOf(e)?.note === REPLICATION);
  expect(replicated.length).toBeGreaterThan(0);
  for (const event of replicated) {
    const decision = decisions.get(event.id)!;
    expect(decision.verdict).toBe("deny");
    expect(decision.tier).toBe("block");
    const replication = decision.findings.find((f) => f.rule === "replication-not-allowed" && f.effect === "violation");
    expect(replication?.message).toMatch(/replicated from eu-\w+-\d to us-east-1 .* outside EEA; reroute to eu-\w+-\d/);
  }
  const scc = stream.events.filter((e) => truthOf(e)?.note === SCC);
  expect(scc.length).toBeGreaterThan(0);
  for (const event of scc) {
    const decision = decisions.get(event.id)!;
    expect(decision.verdict).toBe("allow");
    expect(decision.explanation.summary).toMatch(/allowed by exception EX-RES-001: SCC 2021\/914/);
  }
}

describe("residency pack through vigil replay (context)", () => {
  it("blocks the replication with a reroute and allows the SCC transfer, with the setup imported", () => {
    expect(replay.code).toBe(0);
    expect(replay.stderr).toMatch(/setup: 4 entities, 1 exceptions imported/);
    checkBehaviours(replay.decisions);
  });

  it("denies exactly the violations", () => {
    printScore("residency replay (seed 1, 14 days)", replay.score);
    expect(replay.score.denies.precision).toBe(1);
    expect(replay.score.denies.recall).toBe(1);
  });

  it("without the setup, the SCC transfer is denied (the exception is what allows it)", async () => {
    const bare = await replayStream({ ...stream, setup: { entities: [], exceptions: [] } }, [packDir("residency")]);
    const scc = stream.events.filter((e) => truthOf(e)?.note === SCC);
    expect(scc.every((e) => bare.decisions.get(e.id)?.verdict === "deny")).toBe(true);
  });
});

describe("the setup in the configured store", () => {
  it("vigil setup import --direct writes it; vigil replay --exceptions applies its exceptions", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-residency-direct-"));
    writeFileSync(join(dir, "setup.json"), JSON.stringify(stream.setup));
    writeFileSync(join(dir, "events.jsonl"), stream.events.map((e) => JSON.stringify(e)).join("\n"));
    // The import checks expiries against the agent's clock: set it to the stream's start (the
    // travel notices of the setup expire in January 2026). The replay applies the exceptions in
    // force at each event's time, whenever it runs.
    const env = { VIGIL_STORE_PATH: join(dir, "vigil.db"), VIGIL_CLOCK_MODE: "manual", VIGIL_CLOCK_START: "2026-01-05T00:00:00Z" };
    const imported = await vigil(["setup", "import", "--direct", "setup.json", "-o", "json"], { cwd: dir, env });
    expect(JSON.parse(imported.stdout)).toMatchObject({ entities: 4, exceptions: 1, problems: [] });
    expect(imported.code).toBe(0);
    const again = await vigil(["setup", "import", "--direct", "setup.json"], { cwd: dir, env });
    expect(again.stdout).toContain("imported 4 entities and 1 exceptions");
    const run = await vigil(["replay", "-p", packDir("residency"), "--exceptions", "events.jsonl"], { cwd: dir, env: { VIGIL_STORE_PATH: env.VIGIL_STORE_PATH } });
    expect(run.code).toBe(0);
    const decisions = new Map(run.stdout.trim().split("\n").map((l) => JSON.parse(l) as { eventId: string; verdict: string; explanation: { summary: string } }).map((d) => [d.eventId, d]));
    const scc = stream.events.filter((e) => truthOf(e)?.note === SCC);
    for (const event of scc) expect(decisions.get(event.id)?.explanation.summary).toMatch(/allowed by exception EX-RES-001/);
  });
});

describe("residency pack through the running agent", () => {
  it("imports EX-RES-001 under its own id and decides like the replay", async () => {
    expect((await agent.agent.reviews.exceptions.get("EX-RES-001"))?.legalBasis).toMatch(/^SCC 2021\/914/);
    expect(differences(stream, replay.decisions, agent.decisions)).toEqual([]);
    checkBehaviours(agent.decisions);
    printScore("residency agent (seed 1, 14 days)", agent.score);
    expect(agent.score.denies.precision).toBe(1);
    expect(agent.score.denies.recall).toBe(1);
  });
});
