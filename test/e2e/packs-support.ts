/**
 * Shared pieces of the packs' end-to-end tests: a `vigil simulate` stream with its setup, run
 * through `vigil replay` (the command, in-process, with context) and through a running agent
 * (createAgent with the events clock, the setup imported, the stream ingested), each scored against
 * the stream's ground truth.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent, createPreviewActuators, type Agent } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import type { Actuator } from "../../src/core/action.js";
import type { Decision } from "../../src/core/decision.js";
import { isVigilError } from "../../src/core/errors.js";
import type { Event } from "../../src/core/event.js";
import type { DecisionOutput } from "../../src/decide/output.js";
import { chooseScenarios, interleave, mergedSetup } from "../../src/cli/commands/simulate.js";
import { createTruthTally, formatTruth, type TruthScore } from "../../src/cli/replay-context.js";
import type { ScenarioSetup } from "../../src/sources/simulate/index.js";
import { truthOf } from "../../src/sources/simulate/index.js";
import { vigil } from "../cli/support.js";
import { repoRoot } from "./harness.js";

export const START = "2026-01-05T00:00:00Z";
export const packDir = (name: string): string => join(repoRoot, "packs", name);

export interface Stream {
  readonly name: string;
  readonly events: readonly Event[];
  readonly setup: ScenarioSetup;
  readonly byId: ReadonlyMap<string, Event>;
}

/** `vigil simulate --scenario <name> --seed <seed> --days <days>` and its `--setup`, in memory. */
export function simulate(name: string, seed: number, days: number): Stream {
  const chosen = chooseScenarios(name);
  const options = { seed, days, start: new Date(START) };
  const events = [...interleave(chosen.map((s) => s.generate(options)))];
  return { name, events, setup: mergedSetup(chosen, options), byId: new Map(events.map((e) => [e.id, e])) };
}

export function notesOf(stream: Stream): Set<string> {
  return new Set(stream.events.map((e) => truthOf(e)?.note ?? ""));
}

export function scoreOf(stream: Stream, decisions: ReadonlyMap<string, { readonly tier: string; readonly verdict: string }>): TruthScore {
  const tally = createTruthTally();
  for (const event of stream.events) {
    const decision = decisions.get(event.id);
    if (decision) tally.add(event, decision as never);
  }
  return tally.score();
}

export interface ReplayRun {
  readonly code: number;
  readonly stderr: string;
  /** Decision lines by event id. */
  readonly decisions: ReadonlyMap<string, DecisionOutput & { explanation: { summary: string; steps?: string[] } }>;
  readonly score: TruthScore;
}

/** Runs `vigil replay -p <policies> --setup setup.json --explain events.jsonl` (in-process, with context). */
export async function replayStream(stream: Stream, policies: readonly string[], extra: readonly string[] = []): Promise<ReplayRun> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-packs-replay-"));
  writeFileSync(join(dir, "events.jsonl"), stream.events.map((e) => JSON.stringify(e)).join("\n") + "\n");
  writeFileSync(join(dir, "setup.json"), JSON.stringify(stream.setup));
  const args = ["replay", ...policies.flatMap((p) => ["-p", p]), "--setup", "setup.json", "--explain", ...extra, "events.jsonl"];
  const run = await vigil(args, { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "vigil.db") } });
  const decisions = new Map<string, ReplayRun["decisions"] extends ReadonlyMap<string, infer D> ? D : never>();
  for (const line of run.stdout.split("\n")) {
    if (line.trim() === "") continue;
    const decision = JSON.parse(line) as DecisionOutput & { explanation: { summary: string; steps?: string[] } };
    decisions.set(decision.eventId, decision);
  }
  return { code: run.code, stderr: run.stderr, decisions, score: scoreOf(stream, decisions) };
}

export interface AgentRun {
  readonly agent: Agent;
  readonly decisions: ReadonlyMap<string, Decision>;
  readonly score: TruthScore;
  /** Actions the actuators were asked to apply (kind → count; all dry runs until policies are promoted). */
  readonly applied: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/** Actuators that preview every built-in kind and count the calls. */
function countingActuators(applied: Map<string, number>): Actuator[] {
  return createPreviewActuators().map((actuator) => ({
    ...actuator,
    async apply(plan, options) {
      applied.set(plan.actuator, (applied.get(plan.actuator) ?? 0) + 1);
      return actuator.apply(plan, options);
    },
  }));
}

/**
 * A running agent (role all, embedded store, the events clock starting at the stream's start) with
 * the policies, the setup imported through `agent.importSetup`, and the stream ingested in batches.
 */
export async function agentStream(stream: Stream, policies: readonly string[], config: Record<string, unknown> = {}, options: { readonly arrival?: "bulk" | "hourly" } = {}): Promise<AgentRun> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-packs-agent-"));
  const applied = new Map<string, number>();
  const agent = await createAgent(parseConfig({
    policies, store: { path: join(dir, "vigil.db") }, log: { level: "silent" },
    clock: { mode: "events", start: START }, scheduler: { tickMs: 3_600_000 }, ...config,
  }), { actuators: countingActuators(applied), onProblem: () => undefined });
  const imported = await agent.importSetup(stream.setup as never, { id: "e2e-admin", roles: ["admin"] });
  if (imported.problems.length > 0) throw new Error(`setup not imported: ${JSON.stringify(imported.problems)}`);
  await agent.start();
  // bulk: the whole stream at once, in requests of 500; hourly: as it would arrive, each simulated
  // hour's events once the previous hour's are processed.
  const chunks: Event[][] = [];
  if (options.arrival === "hourly") {
    let hour = Number.NaN;
    for (const event of stream.events) {
      const at = Math.floor(Date.parse(event.time ?? START) / 3_600_000);
      if (at !== hour) chunks.push([]);
      hour = at;
      chunks[chunks.length - 1]!.push(event);
    }
  } else for (let i = 0; i < stream.events.length; i += 500) chunks.push(stream.events.slice(i, i + 500));
  for (const batch of chunks) {
    if (options.arrival === "hourly") await agent.ingestor.idle();
    for (;;) {
      try {
        await agent.ingest(batch);
        break;
      } catch (error) {
        if (!isVigilError(error) || error.code !== "VIGIL_BACKPRESSURE") throw error;
        await agent.ingestor.idle();
      }
    }
  }
  await agent.ingestor.idle();
  const decisions = new Map<string, Decision>();
  for (let afterSeq = 0; ;) {
    const page = await agent.storage.listDecisions({ afterSeq, limit: 5000 });
    for (const decision of page) decisions.set(decision.eventId, decision);
    if (page.length < 5000) break;
    afterSeq = page[page.length - 1]?.seq ?? afterSeq;
  }
  return { agent, decisions, score: scoreOf(stream, decisions), applied, close: () => agent.close() };
}

/** Prints the figures the report quotes (precision and recall of alerts and denies). */
export function printScore(label: string, score: TruthScore): void {
  process.stdout.write(`${label}: ${formatTruth(score)}\n`);
}

/** Events whose decision differs (verdict or tier) between two runs. */
export function differences(stream: Stream, a: ReadonlyMap<string, { tier: string; verdict: string }>, b: ReadonlyMap<string, { tier: string; verdict: string }>): string[] {
  const out: string[] = [];
  for (const event of stream.events) {
    const x = a.get(event.id);
    const y = b.get(event.id);
    if (x?.tier !== y?.tier || x?.verdict !== y?.verdict) out.push(`${event.id} ${truthOf(event)?.note ?? ""}: ${x?.verdict}/${x?.tier} vs ${y?.verdict}/${y?.tier}`);
  }
  return out;
}
