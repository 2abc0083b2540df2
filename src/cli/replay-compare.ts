/**
 * `vigil replay --policies <new> --compare <old> [events.jsonl | --from-store]`: what-if over
 * historical events. Both policy sets decide every event (never enforced, never recorded); the
 * report lists per-event differences in verdict and tier, counts, and false-positive figures when
 * events carry ground truth (`vigiltruth`) or — with --from-store — feedback on their recorded
 * decisions (people's only: not Vigil's own `vigil:*` labels nor learn.settings.ignoreActors, as the
 * learner). `--fp-budget N|x%` exits 1 when the new policies exceed it. Called by replay.ts.
 *
 * `--with-context`: each side is a replay session (src/agent/replay.ts) over its own throwaway
 * store — the same context as `vigil replay`: the packs' settings (resolvePackSettings), their
 * enrichments, baselines learned in event order, posture events, `--setup` and `--exceptions`,
 * and with `--learned` the learned state of the configured store. Without it, the stateless
 * context of `vigil replay --no-context`.
 */
import { createReplaySession, learnerSettingsFrom, loadExemptions, loadPolicySet, openStorage, type Exemptions, type ReplaySession, type Setup } from "../agent.js";
import type { Decision, DecisionDraft } from "../core/decision.js";
import { VigilError } from "../core/errors.js";
import type { Event } from "../core/event.js";
import type { Feedback } from "../core/feedback.js";
import type { Storage } from "../core/ports.js";
import { createDecider } from "../decide/index.js";
import { checkFpBudget, compareReplay, createReplaySide, defaultLearnerSettings, parseFpBudget, truthLabel, type CompareReport, type Label, type ReplaySide } from "../learn/index.js";
import { ignoredActor, listAll } from "../learn/observations.js";
import type { PolicySet } from "../policy/policy-set.js";
import { FEEDBACK_COLLECTION } from "../review/context.js";
import { readJsonLines } from "../sources/json-lines.js";
import { flag, stringOption, write, type CliIo, type CliOption, type ParsedArgs } from "./command.js";
import { readSetupFile } from "./replay-context.js";
import { badEventText, configFrom, existingPaths, openInputFile, reportLoadErrors, requirePolicies, writeOutputFile } from "./shared.js";

/** The options replay gains for comparing (merged into replay's own). */
export const compareOptions: Record<string, CliOption> = {
  compare: { type: "string", multiple: true, value: "<path>", description: "What-if: compare against these (old) policies; the --policies are the new ones (repeatable)" },
  "from-store": { type: "boolean", description: "With --compare: replay the events of the configured event store (labels from feedback on their decisions)" },
  "fp-budget": { type: "string", value: "<n|x%>", description: "With --compare: exit 1 when the new policies have more false positives (count, or % of labelled benign events)" },
  "with-context": { type: "boolean", description: "With --compare: decide each side as `vigil replay` with context does (pack settings and enrichments, baselines in event order, --setup, --exceptions, --learned), each over its own throwaway store" },
  limit: { type: "string", value: "<n>", description: "With --compare: differences listed (default 50; all go to --out as JSON)" },
};

async function* fileEvents(input: NodeJS.ReadableStream, io: CliIo): AsyncGenerator<Event> {
  for await (const item of readJsonLines(input as AsyncIterable<Uint8Array>)) {
    if (item.ok) yield item.event;
    else write(io.stderr, badEventText(item));
  }
}

async function* storeEvents(storage: Storage): AsyncGenerator<Event> {
  let afterSeq = 0;
  for (;;) {
    const page = await storage.listEvents({ afterSeq, limit: 1000 });
    for (const stored of page) yield stored.event;
    if (page.length < 1000) return;
    afterSeq = page[page.length - 1]?.seq ?? afterSeq;
  }
}

/**
 * Event id → label from the latest feedback on each event's recorded decision(s). As the learner
 * reads feedback: labels by Vigil's own identities (`vigil:*`, always) and by `ignoreActors`
 * (`learn.settings.ignoreActors`, globs) are not ground truth and are skipped.
 */
async function feedbackLabels(storage: Storage, ignoreActors: readonly string[]): Promise<Map<string, Label>> {
  const labels = new Map<string, { label: Label; at: string }>();
  for (const feedback of await listAll<Feedback>(storage, FEEDBACK_COLLECTION)) {
    if (typeof feedback?.by !== "string" || ignoredActor(feedback.by, ignoreActors)) continue;
    const decision = await storage.getDecision(feedback.decisionId);
    if (decision === undefined) continue;
    const previous = labels.get(decision.eventId);
    if (previous === undefined || previous.at <= feedback.at) labels.set(decision.eventId, { label: feedback.label === "false_positive" ? "benign" : "violation", at: feedback.at });
  }
  return new Map([...labels].map(([id, value]) => [id, value.label]));
}

type Config = ReturnType<typeof configFrom>;

function draftOf(decision: Decision): DecisionDraft {
  const { seq: _seq, prevHash: _prev, hash: _hash, ...draft } = decision;
  return draft;
}

/** What both sides of a comparison with context share (the setup, the store's exceptions and learned state). */
interface SessionInputs {
  readonly setup?: () => Setup;
  readonly exemptions?: Exemptions;
  readonly learnedFrom?: Storage;
  readonly onProblem: (message: string) => void;
}

/** A side deciding as `vigil replay` with context: a replay session of `paths`, one event at a time. */
async function sessionSide(config: Config, paths: readonly string[], inputs: SessionInputs, sessions: ReplaySession[]): Promise<ReplaySide> {
  const session = await createReplaySession({
    config: { ...config, policies: [...paths] },
    ...(inputs.setup ? { setup: inputs.setup } : {}), ...(inputs.exemptions ? { exemptions: inputs.exemptions } : {}), ...(inputs.learnedFrom ? { learnedFrom: inputs.learnedFrom } : {}),
    onProblem: inputs.onProblem,
  });
  sessions.push(session);
  return {
    async decide(event) {
      const [decision] = await session.push([event]);
      if (decision) return draftOf(decision);
      // The same (source, id) again: the session decided it once; compare that decision.
      const [earlier] = await session.storage.listDecisions({ eventId: event.id, limit: 1 });
      if (earlier) return draftOf(earlier);
      throw new VigilError("VIGIL_INTERNAL", `the replay session made no decision for event ${event.id}`, { field: "events" });
    },
  };
}

function statelessSide(policySet: PolicySet): ReplaySide {
  return createReplaySide({ policySet, decider: createDecider() });
}

function pct(value: number | null): string {
  return value === null ? "-" : `${Math.round(value * 1000) / 10}%`;
}

export function formatCompare(report: CompareReport, limit: number): string {
  const lines = [
    `replayed ${report.events} event(s): ${report.changed} decision(s) differ — ${report.verdictChanged} verdict, ${report.tierChanged} tier; alerts +${report.alertsAdded} / -${report.alertsRemoved}`,
    `transitions: ${Object.entries(report.transitions).map(([t, n]) => `${t} ${n}`).join(", ") || "none"}`,
  ];
  for (const [name, f] of [["old", report.before], ["new", report.after]] as const) {
    lines.push(`${name}: ${f.alerts} alert(s), ${f.denies} deny; labelled ${f.labelled}: TP ${f.truePositives} FP ${f.falsePositives} FN ${f.falseNegatives} TN ${f.trueNegatives}; precision ${pct(f.precision)} recall ${pct(f.recall)} FP rate ${pct(f.falsePositiveRate)}`);
  }
  for (const d of report.differences.slice(0, limit)) {
    lines.push(`  ${d.eventId}${d.subject ? ` ${d.subject}` : ""}${d.label ? ` [${d.label}]` : ""}: ${d.before.verdict}/${d.before.tier} → ${d.after.verdict}/${d.after.tier}  (${d.before.violations.join(", ") || "none"} → ${d.after.violations.join(", ") || "none"})`);
  }
  const hidden = report.changed - Math.min(limit, report.differences.length);
  if (hidden > 0) lines.push(`  … ${hidden} more (--limit, or --out for JSON)`);
  return lines.join("\n");
}

/** Runs the comparison; returns the exit code (1 when over the FP budget). */
export async function runReplayCompare(args: ParsedArgs, io: CliIo): Promise<number> {
  const config = configFrom(args, io);
  const budgetText = stringOption(args, "fp-budget");
  const budget = budgetText === undefined ? undefined : parseFpBudget(budgetText);
  const limitText = stringOption(args, "limit") ?? "50";
  const limit = /^\d+$/.test(limitText.trim()) ? Number(limitText) : Number.NaN;
  if (!Number.isSafeInteger(limit)) throw new VigilError("VIGIL_BAD_INPUT", `--limit must be a whole number of differences to list (0 or more), not "${limitText}"`, { field: "--limit" });
  const oldPaths = existingPaths(args, "compare", io);
  const next = loadPolicySet(config.policies, { costLimit: config.cel.costLimit });
  const old = loadPolicySet(oldPaths, { costLimit: config.cel.costLimit });
  reportLoadErrors([...old.load.errors, ...next.load.errors], io);
  requirePolicies(args, io, next.load);
  const withContext = flag(args, "with-context");
  const setupPath = stringOption(args, "setup");
  for (const needsContext of ["setup", "exceptions", "learned"]) {
    if (!withContext && (needsContext === "setup" ? setupPath !== undefined : flag(args, needsContext))) {
      throw new VigilError("VIGIL_BAD_INPUT", `--${needsContext} with --compare needs --with-context (the stateless comparison has no context to apply it to)`, { field: `--${needsContext}` });
    }
  }
  const sessions: ReplaySession[] = [];
  const fromStore = flag(args, "from-store");
  const path = args.positionals[0] ?? "-";
  // Opened first: a file that cannot be read stops the comparison before anything else (VIGIL_BAD_INPUT naming it).
  const file = fromStore || path === "-" ? undefined : await openInputFile(path, io);
  const storage = fromStore || flag(args, "learned") ? await openStorage(config) : undefined;
  try {
    const inputs: SessionInputs = {
      ...(setupPath === undefined ? {} : { setup: () => readSetupFile(setupPath, io) }),
      ...(flag(args, "exceptions") ? { exemptions: await loadExemptions(config, undefined, { inForce: "at-decision" }) } : {}),
      ...(flag(args, "learned") && storage ? { learnedFrom: storage } : {}),
      onProblem: (message) => write(io.stderr, `warning: ${message}`),
    };
    const before = withContext ? await sessionSide(config, oldPaths, inputs, sessions) : statelessSide(old.policySet);
    const after = withContext ? await sessionSide(config, config.policies, inputs, sessions) : statelessSide(next.policySet);
    const labels = fromStore && storage ? await feedbackLabels(storage, learnerSettingsFrom(config.learn.settings).ignoreActors ?? defaultLearnerSettings.ignoreActors) : new Map<string, Label>();
    const events = fromStore && storage ? storeEvents(storage) : fileEvents(file ?? io.stdin, io);
    const report = await compareReplay(events, before, after, {
      label: (event) => truthLabel(event) ?? labels.get(event.id),
      onProgress: (n) => { if ((io.stderr as { isTTY?: boolean }).isTTY) io.stderr.write(`\rreplay --compare: ${n} events`); },
    });
    const outPath = stringOption(args, "out");
    // `--out -`: the JSON report is stdout (nothing else there); the text goes to stderr.
    const text = outPath === "-" ? io.stderr : io.stdout;
    if (outPath === "-") write(io.stdout, JSON.stringify(report, null, 2));
    else if (outPath) writeOutputFile(outPath, JSON.stringify(report, null, 2), io);
    write(text, formatCompare(report, limit));
    if (budget === undefined) return 0;
    const check = checkFpBudget(report, budget);
    write(text, check.message);
    return check.ok ? 0 : 1;
  } finally {
    file?.destroy();
    for (const session of sessions) await session.close();
    await storage?.close();
  }
}
