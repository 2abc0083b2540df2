import { resolve } from "node:path";
import { createBulkDecisionRecorder, createEvaluator, loadExemptions, loadPolicySet, type BulkDecisionRecorder } from "../../agent.js";
import { VigilError } from "../../core/errors.js";
import { decisionOutput } from "../../decide/output.js";
import { readJsonLines } from "../../sources/json-lines.js";
import { flag, stringList, stringOption, write, type CliIo, type Command, type ParsedArgs } from "../command.js";
import { compareOptions, runReplayCompare } from "../replay-compare.js";
import { contextReplayOptions, runContextReplay } from "../replay-context.js";
import { badEventText, configFrom, configOption, fileOption, openInputFile, openOutputOrStdout, policiesOption, reportLoadErrors, requirePolicies, sameFile, stderrLine, writeChunk } from "../shared.js";

const BATCH = 1000;

/** A decision-log writer with backpressure: buffers lines, awaits `drain` when the stream is full. */
function lineWriter(stream: NodeJS.WritableStream): { push(line: string): Promise<void>; flush(): Promise<void> } {
  let buffer = "";
  const flush = async (): Promise<void> => {
    if (!buffer) return;
    const chunk = buffer;
    buffer = "";
    await writeChunk(stream, chunk);
  };
  return {
    async push(line) {
      buffer += line + "\n";
      if (buffer.length > 1 << 16) await flush();
    },
    flush,
  };
}

function progress(io: CliIo, read: number, bad: number, started: number): void {
  const elapsed = (performance.now() - started) / 1000;
  const rate = elapsed > 0 ? Math.round(read / elapsed) : 0;
  const spinner = "|/-\\"[Math.floor(elapsed * 4) % 4];
  io.stderr.write(`\r${spinner} replay: ${read} events, ${bad} bad lines, ${rate} events/s   `);
}

/** An option the mode asked for would not use is refused, naming it, rather than ignored (e.g. --fp-budget without --compare never fails the run). */
function refuseIgnoredOptions(args: ParsedArgs): void {
  const compare = stringList(args, "compare").length > 0;
  const given = (name: string): boolean => args.values[name] !== undefined && args.values[name] !== false;
  const refuse = (name: string, why: string): never => {
    throw new VigilError("VIGIL_BAD_INPUT", `--${name} ${why}`, { field: `--${name}` });
  };
  if (compare) {
    if (given("record")) refuse("record", "does not apply with --compare (a comparison records nothing): drop it, or drop --compare");
    return;
  }
  for (const name of ["fp-budget", "limit", "from-store", "with-context"]) {
    if (given(name)) refuse(name, "only applies with --compare <old policies>: add --compare, or drop it");
  }
  if (flag(args, "no-context") && given("learned")) refuse("learned", "needs the context (the learned state applies to it): drop --no-context");
  if (given("record-thread") && !(flag(args, "no-context") && flag(args, "record"))) refuse("record-thread", "only applies with --no-context --record: add them, or drop it");
}

export const replayCommand: Command = {
  path: ["replay"],
  summary: "Evaluate a JSON Lines stream of CloudEvents and write one decision per event (JSON Lines)",
  args: "[events.jsonl | -]",
  description: "Reads structured-mode CloudEvents, one per line (default: stdin). A malformed line is reported with its line number and counted; the replay goes on, and exits 1 at the end (0 when every line was an event).\nDecisions go to stdout (or --out) as JSON Lines; a summary goes to stderr at the end, with a progress line on a terminal.\nBy default the events go through the agent's pipeline in replay mode on a throwaway store: baselines learned event by event, the packs' enrichments and settings, posture events, exceptions (--setup, --exceptions), adaptive tiers, actions planned and previewed (never applied), the enforcement ladder and reviews as the stream's time passes; events with ground truth (vigil simulate) get precision and recall in the summary. --no-context evaluates each event on its own (stateless).\nReplayed decisions are not enforced; --record also appends them to the decision record.",
  options: {
    ...policiesOption,
    ...configOption,
    out: { type: "string", value: "<file>", description: "Write decisions to this file instead of stdout (missing directories are created; - is stdout)" },
    record: { type: "boolean", description: "Append the decisions to the configured decision record (hash-chained store)" },
    "record-thread": { type: "string", value: "<worker|caller>", description: "With --no-context --record: append from a worker thread (the default with two or more cores) or on the thread that decides (the default with one)" },
    explain: { type: "boolean", description: "Include explanation steps in each decision line" },
    exceptions: { type: "boolean", description: "Apply the exceptions and overrides in force in the configured store, as the running agent does" },
    ...contextReplayOptions,
    ...compareOptions,
  },
  examples: [
    "vigil replay -p packs/ events.jsonl > decisions.jsonl",
    "vigil simulate --scenario access --days 7 --setup setup.json | vigil replay -p packs/access --setup setup.json",
    "vigil replay --no-context -p packs/ events.jsonl",
    "vigil replay -p new/ --compare old/ --fp-budget 2% events.jsonl",
  ],
  async run(args, io) {
    refuseIgnoredOptions(args);
    const outPath = fileOption(args, "out");
    const inPath = args.positionals[0];
    if (outPath !== undefined && inPath !== undefined && inPath !== "-" && sameFile(resolve(io.cwd, outPath), resolve(io.cwd, inPath))) {
      throw new VigilError("VIGIL_BAD_INPUT", `--out ${outPath} is the input file: writing it would empty it before it is read; name another file`, { field: "--out" });
    }
    if (stringList(args, "compare").length > 0) return runReplayCompare(args, io);
    if (!flag(args, "no-context")) return runContextReplay(args, io);
    if (stringOption(args, "setup") !== undefined) throw new VigilError("VIGIL_BAD_INPUT", "--setup needs the context (entities and exceptions are part of it): drop --no-context", { field: "--setup" });
    const config = configFrom(args, io);
    const { policySet, load } = loadPolicySet(config.policies, { costLimit: config.cel.costLimit });
    reportLoadErrors(load.errors, io);
    requirePolicies(args, io, load);
    const exemptions = flag(args, "exceptions") ? await loadExemptions(config) : undefined;
    const evaluator = createEvaluator(policySet, exemptions ? { exemptions } : {});
    // Appended off this thread when the store allows it (a worker with its own connection), in
    // batches of BATCH, with backpressure: the thread that decides is the replay's bottleneck.
    const thread = stringOption(args, "record-thread");
    if (thread !== undefined && thread !== "worker" && thread !== "caller") throw new VigilError("VIGIL_BAD_INPUT", `--record-thread is "${thread}": use worker or caller`, { field: "--record-thread" });
    const path = args.positionals[0] ?? "-";
    const file = path === "-" ? undefined : await openInputFile(path, io);
    const input = file ?? io.stdin;
    const outStream = await openOutputOrStdout(outPath, io, file);
    const out = lineWriter(outStream);
    const recorder: BulkDecisionRecorder | undefined = flag(args, "record") ? await createBulkDecisionRecorder(config, { batchSize: BATCH, ...(thread ? { thread } : {}) }) : undefined;
    const explain = flag(args, "explain");
    const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
    const started = performance.now();
    let read = 0, bad = 0, deny = 0;
    const tiers: Record<string, number> = {};
    try {
      for await (const item of readJsonLines(input as AsyncIterable<Uint8Array>)) {
        if (!item.ok) {
          bad++;
          stderrLine(io, badEventText(item));
          continue;
        }
        read++;
        const decision = evaluator.decideEvent(item.event, { record: false, explain: false, labels: { source: "replay" } });
        if (decision.verdict === "deny") deny++;
        tiers[decision.tier] = (tiers[decision.tier] ?? 0) + 1;
        if (recorder) await recorder.add(decision);
        await out.push(JSON.stringify(decisionOutput(decision, { steps: explain })));
        if (tty && read % 5000 === 0) progress(io, read, bad, started);
      }
      await recorder?.flush();
      await out.flush();
    } finally {
      if (outPath) await new Promise<void>((done) => (outStream as NodeJS.WritableStream).end(done));
      await recorder?.close();
    }
    const elapsed = (performance.now() - started) / 1000;
    if (tty) io.stderr.write("\r\x1b[K");
    const tierText = Object.entries(tiers).map(([t, n]) => `${t} ${n}`).join(", ") || "none";
    write(io.stderr, `replay: ${read} events, ${read} decisions (${deny} deny; tiers: ${tierText}), ${bad} bad lines, ${elapsed.toFixed(2)}s, ${Math.round(read / Math.max(elapsed, 1e-9))} events/s${recorder ? ", recorded" : ""}`);
    // Like `vigil ingest` with rejected items: the good lines are decided, the exit says some were not.
    return bad > 0 ? 1 : 0;
  },
};
