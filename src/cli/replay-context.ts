/**
 * `vigil replay` with context (the default): the events go through the agent's pipeline in replay
 * mode (src/agent/replay.ts) — baselines learned event by event, the packs' enrichments, posture
 * events, exceptions (`--setup`, `--exceptions`), adaptive tiers, actions planned and previewed —
 * on a throwaway store (a temporary SQLite file); `--record` also appends the decisions (not
 * enforced) to the configured decision record; `--learned` applies the learned state of the
 * configured store (read only, verified) as the running agent does — without it nothing learned
 * applies (the throwaway store has none). `--no-context` is the stateless mode
 * (src/cli/commands/replay.ts). Called by replay.ts.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createReplaySession, loadExemptions, openStorage, parseSetup, type ReplayStats, type Setup } from "../agent.js";
import type { Decision, DecisionDraft } from "../core/decision.js";
import { VigilError } from "../core/errors.js";
import type { Event } from "../core/event.js";
import { tierRank } from "../core/policy.js";
import type { Storage } from "../core/ports.js";
import { decisionOutput } from "../decide/output.js";
import { readJsonLines } from "../sources/json-lines.js";
import { truthOf } from "../sources/simulate/scenario.js";
import { flag, stringOption, write, type CliIo, type CliOption, type ParsedArgs } from "./command.js";
import { badEventText, configFrom, fileOption, openInputFile, openOutputOrStdout, reportLoadErrors, requirePolicies, stderrLine, withoutBom, writeChunk } from "./shared.js";

/** The options replay gains for the context mode (merged into replay's own). */
export const contextReplayOptions: Record<string, CliOption> = {
  setup: { type: "string", value: "<file>", description: "Import a setup first (vigil simulate --setup: entities such as teams and on-call schedules, exceptions such as travel notices)" },
  "no-context": { type: "boolean", description: "Stateless: evaluate each event on its own (no baselines, enrichments, exceptions of the setup, actions), as before" },
  learned: { type: "boolean", description: "Apply the learned state of the configured store (lessons, detector thresholds; read only) as the running agent does; default: nothing learned applies" },
};

const CHUNK = 256;

/** Precision and recall of alerts (tier notify or above) and denies against `vigiltruth` labels. */
export interface TruthScore {
  readonly labelled: number;
  readonly violations: number;
  readonly benign: number;
  readonly alerts: { readonly tp: number; readonly fp: number; readonly fn: number; readonly precision: number | null; readonly recall: number | null };
  readonly denies: { readonly tp: number; readonly fp: number; readonly fn: number; readonly precision: number | null; readonly recall: number | null };
}

export interface TruthTally {
  add(event: Event, decision: Pick<DecisionDraft, "tier" | "verdict">): void;
  score(): TruthScore;
}

/** Counts decisions against the ground truth simulated events carry (`vigiltruth`); unlabelled events are ignored. */
export function createTruthTally(): TruthTally {
  const alerts = { tp: 0, fp: 0, fn: 0 };
  const denies = { tp: 0, fp: 0, fn: 0 };
  let violations = 0, benign = 0;
  const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);
  const tally = (c: { tp: number; fp: number; fn: number }, positive: boolean, violation: boolean): void => {
    if (positive && violation) c.tp++;
    else if (positive) c.fp++;
    else if (violation) c.fn++;
  };
  return {
    add(event, decision) {
      const truth = truthOf(event);
      if (truth === undefined) return;
      const violation = truth.label === "violation";
      if (violation) violations++;
      else benign++;
      tally(alerts, tierRank(decision.tier) >= tierRank("notify"), violation);
      tally(denies, decision.verdict === "deny", violation);
    },
    score() {
      const figures = (c: { tp: number; fp: number; fn: number }) => ({ ...c, precision: ratio(c.tp, c.tp + c.fp), recall: ratio(c.tp, c.tp + c.fn) });
      return { labelled: violations + benign, violations, benign, alerts: figures(alerts), denies: figures(denies) };
    },
  };
}

const pct = (value: number | null): string => (value === null ? "-" : value.toFixed(2));

export function formatTruth(score: TruthScore): string {
  const a = score.alerts;
  const d = score.denies;
  return `ground truth: ${score.violations} violation, ${score.benign} benign; alerts (notify or above): TP ${a.tp} FP ${a.fp} FN ${a.fn}, precision ${pct(a.precision)} recall ${pct(a.recall)}; denies: TP ${d.tp} FP ${d.fp} FN ${d.fn}, precision ${pct(d.precision)} recall ${pct(d.recall)}`;
}

function formatCounts(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
}

export function formatStats(stats: ReplayStats): string {
  const lines = [
    `context: reviews opened (step-ups, approvals): ${formatCounts(stats.reviews)}; planned actions (previews, nothing applied): ${formatCounts(stats.actions)}; enforcement ladder: ${formatCounts(stats.ladder)}; replay clock ${stats.clock}`,
  ];
  if (stats.learned) {
    const l = stats.learned;
    lines.push(l.status === "ok" ? `learned state: version ${l.version ?? "?"} of the configured store applied (${l.lessons} lesson(s) that change something)`
      : l.status === "none" ? "learned state: nothing learned in the configured store yet (declared tiers)"
        : `learned state: CORRUPT in the configured store, not applied (declared tiers): ${l.problem ?? ""}`);
  }
  if (stats.duplicates > 0) lines.push(`${stats.duplicates} duplicate event(s) (same source and id) decided once`);
  if (stats.setup) {
    lines.push(`setup: ${stats.setup.entities} entities, ${stats.setup.exceptions} exceptions imported${stats.setup.problems.length > 0 ? `; ${stats.setup.problems.length} not imported:` : ""}`);
    for (const p of stats.setup.problems) lines.push(`  ${p.item}: ${p.message} [${p.code}]`);
  }
  return lines.join("\n");
}

/** Reads and checks a setup file; VIGIL_BAD_INPUT naming the file. */
export function readSetupFile(path: string, io: Pick<CliIo, "cwd">): Setup {
  let text: string;
  try {
    text = readFileSync(resolve(io.cwd, path), "utf8");
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_INPUT", `cannot read the setup ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}; write one with vigil simulate --setup <file>`, { field: "--setup", file: path }, cause);
  }
  // A byte order mark (Windows editors write one) made the file "not JSON".
  text = withoutBom(text);
  if (text.trim() === "") throw new VigilError("VIGIL_BAD_INPUT", `cannot read the setup ${path}: it is empty; write one with vigil simulate --setup <file>`, { field: "--setup", file: path });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_INPUT", `${path} is not JSON: ${(cause as Error).message}; fix it, or write one with vigil simulate --setup <file>`, { field: "--setup", file: path }, cause);
  }
  return parseSetup(value, path);
}

function draftOf(decision: Decision): DecisionDraft {
  const { seq: _seq, prevHash: _prev, hash: _hash, ...draft } = decision;
  return draft;
}

/** Runs the replay with context; returns the exit code. */
export async function runContextReplay(args: ParsedArgs, io: CliIo): Promise<number> {
  const config = configFrom(args, io);
  const setupPath = stringOption(args, "setup");
  // Read when the first event arrives: `simulate --setup f | replay --setup f` has written it by then.
  const setup = setupPath === undefined ? undefined : () => readSetupFile(setupPath, io);
  // In force at each event's time (the replay clock), not at the time the replay runs.
  const exemptions = flag(args, "exceptions") ? await loadExemptions(config, undefined, { inForce: "at-decision" }) : undefined;
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  // The input and the output first: a file that cannot be read or written stops the replay
  // before anything is opened (VIGIL_BAD_INPUT naming it).
  const path = args.positionals[0] ?? "-";
  const file = path === "-" ? undefined : await openInputFile(path, io);
  const input = file ?? io.stdin;
  const outPath = fileOption(args, "out");
  const outStream = await openOutputOrStdout(outPath, io, file);
  // Ctrl-C (or a TERM) from here on stops reading; the throwaway store is still removed (finally
  // below). A second Ctrl-C, with the handler gone, ends the process at once.
  let interrupted = false;
  const interrupt = (): void => {
    interrupted = true;
    (input as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  };
  const stopListening = (): void => {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  let learnedFrom: Storage | undefined;
  let record: Storage | undefined;
  let session: Awaited<ReturnType<typeof createReplaySession>>;
  try {
    learnedFrom = flag(args, "learned") ? await openStorage(config) : undefined;
    record = flag(args, "record") ? await openStorage(config) : undefined;
    session = await createReplaySession({
      config, ...(setup ? { setup } : {}), ...(exemptions ? { exemptions } : {}), ...(learnedFrom ? { learnedFrom } : {}),
      onProblem: (message) => stderrLine(io, `warning: ${message}`),
    });
  } catch (error) {
    stopListening();
    await record?.close();
    await learnedFrom?.close();
    file?.destroy();
    if (outPath) outStream.end();
    throw error;
  }
  reportLoadErrors(session.loadErrors, io);
  const explain = flag(args, "explain");
  const started = performance.now();
  const truth = createTruthTally();
  let read = 0, bad = 0, deny = 0, decided = 0;
  const tiers: Record<string, number> = {};
  let buffer = "";
  const emit = async (decisions: readonly Decision[], chunk: readonly Event[]): Promise<void> => {
    const byId = new Map<string, Event>();
    for (const event of chunk) if (!byId.has(event.id)) byId.set(event.id, event);
    const lines = record ? await record.appendDecisions(decisions.map(draftOf)) : decisions.map(draftOf);
    for (const decision of lines) {
      decided++;
      if (decision.verdict === "deny") deny++;
      tiers[decision.tier] = (tiers[decision.tier] ?? 0) + 1;
      buffer += `${JSON.stringify(decisionOutput(decision, { steps: explain }))}\n`;
    }
    for (const decision of decisions) {
      const event = byId.get(decision.eventId);
      if (event) truth.add(event, decision);
    }
    if (buffer.length > 1 << 16) {
      const text = buffer;
      buffer = "";
      await writeChunk(outStream, text);
    }
  };
  try {
    requirePolicies(args, io, { policies: session.policySet.policies, errors: session.loadErrors });
    let chunk: Event[] = [];
    try {
      for await (const item of readJsonLines(input as AsyncIterable<Uint8Array>)) {
        if (interrupted) break;
        if (!item.ok) {
          bad++;
          stderrLine(io, badEventText(item));
          continue;
        }
        read++;
        chunk.push(item.event);
        if (chunk.length >= CHUNK) {
          await emit(await session.push(chunk), chunk);
          chunk = [];
          if (tty && read % 5000 < CHUNK) io.stderr.write(`\r replay: ${read} events   `);
        }
      }
    } catch (error) {
      if (!interrupted) throw error; // the input destroyed by the interrupt
    }
    if (interrupted) {
      if (buffer !== "") outStream.write(buffer);
      stderrLine(io, `replay interrupted after ${read} events (${decided} decisions written)`);
      return 130;
    }
    if (chunk.length > 0) await emit(await session.push(chunk), chunk);
    if (buffer !== "") await writeChunk(outStream, buffer);
    const stats = await session.stats();
    const elapsed = (performance.now() - started) / 1000;
    if (tty) io.stderr.write("\r\x1b[K");
    write(io.stderr, `replay: ${read} events, ${decided} decisions (${deny} deny; tiers: ${formatCounts(tiers)}), ${bad} bad lines, ${elapsed.toFixed(2)}s, ${Math.round(read / Math.max(elapsed, 1e-9))} events/s${record ? ", recorded (not enforced)" : ""}`);
    write(io.stderr, formatStats(stats));
    const score = truth.score();
    if (score.labelled > 0) write(io.stderr, formatTruth(score));
  } finally {
    stopListening();
    if (outPath) await new Promise<void>((done) => (outStream as NodeJS.WritableStream).end(done));
    await record?.close();
    await session.close();
    await learnedFrom?.close();
  }
  // Like `vigil ingest` with rejected items: the good lines are decided, the exit says some were not.
  return bad > 0 ? 1 : 0;
}
