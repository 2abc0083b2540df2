/**
 * `vigil replay --policies <new> --compare <old> [events.jsonl | --from-store]`: what-if over
 * historical events. Both policy sets decide every event (never enforced, never recorded); the
 * report lists per-event differences in verdict and tier, counts, and false-positive figures when
 * events carry ground truth (`vigiltruth`) or — with --from-store — feedback on their recorded
 * decisions. `--fp-budget N|x%` exits 1 when the new policies exceed it. Called by replay.ts.
 */
import { createReadStream, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadPolicySet, openStorage } from "../agent.js";
import type { Event } from "../core/event.js";
import type { Feedback } from "../core/feedback.js";
import type { Clock, Storage } from "../core/ports.js";
import { createContextStage, type ContextSettingsInput } from "../context/index.js";
import { createDecider } from "../decide/index.js";
import { checkFpBudget, compareReplay, createReplaySide, parseFpBudget, truthLabel, type CompareReport, type Label, type ReplaySide } from "../learn/index.js";
import { listAll } from "../learn/observations.js";
import type { PolicySet } from "../policy/policy-set.js";
import { FEEDBACK_COLLECTION } from "../review/context.js";
import { readJsonLines } from "../sources/json-lines.js";
import { flag, stringList, stringOption, write, type CliIo, type CliOption, type ParsedArgs } from "./command.js";
import { configFrom, reportLoadErrors } from "./shared.js";

/** The options replay gains for comparing (merged into replay's own). */
export const compareOptions: Record<string, CliOption> = {
  compare: { type: "string", multiple: true, value: "<path>", description: "What-if: compare against these (old) policies; the --policies are the new ones (repeatable)" },
  "from-store": { type: "boolean", description: "With --compare: replay the events of the configured event store (labels from feedback on their decisions)" },
  "fp-budget": { type: "string", value: "<n|x%>", description: "With --compare: exit 1 when the new policies have more false positives (count, or % of labelled benign events)" },
  "with-context": { type: "boolean", description: "With --compare: build contexts (baselines, detectors) over a scratch store as the agent would, replaying in order" },
  limit: { type: "string", value: "<n>", description: "With --compare: differences listed (default 50; all go to --out as JSON)" },
};

async function* fileEvents(path: string, io: CliIo): AsyncGenerator<Event> {
  const input = path === "-" ? io.stdin : createReadStream(resolve(io.cwd, path));
  for await (const item of readJsonLines(input as AsyncIterable<Uint8Array>)) {
    if (item.ok) yield item.event;
    else write(io.stderr, `bad event: line ${item.line ?? "?"}: ${item.error.message}`);
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

/** Event id → label from the latest feedback on each event's recorded decision(s). */
async function feedbackLabels(storage: Storage): Promise<Map<string, Label>> {
  const labels = new Map<string, { label: Label; at: string }>();
  for (const feedback of await listAll<Feedback>(storage, FEEDBACK_COLLECTION)) {
    const decision = await storage.getDecision(feedback.decisionId);
    if (decision === undefined) continue;
    const previous = labels.get(decision.eventId);
    if (previous === undefined || previous.at <= feedback.at) labels.set(decision.eventId, { label: feedback.label === "false_positive" ? "benign" : "violation", at: feedback.at });
  }
  return new Map([...labels].map(([id, value]) => [id, value.label]));
}

type Config = ReturnType<typeof configFrom>;

async function side(policySet: PolicySet, withContext: boolean, config: Config, scratch: Storage[]): Promise<ReplaySide> {
  const decider = createDecider();
  if (!withContext) return createReplaySide({ policySet, decider });
  let now = new Date(0);
  const clock: Clock = { now: () => now };
  // A scratch store per side: baselines learned during the replay are thrown away.
  const storage = await openStorage({ store: { ...config.store, kind: "sqlite", path: ":memory:" }, decisionLog: config.decisionLog });
  scratch.push(storage);
  const context = createContextStage({ storage, clock, settings: config.context as ContextSettingsInput });
  return createReplaySide({ policySet, decider, context, setTime: (iso) => { now = new Date(iso); } });
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
  const limit = Number(stringOption(args, "limit") ?? "50");
  const oldPaths = stringList(args, "compare").map((p) => resolve(io.cwd, p));
  const next = loadPolicySet(config.policies, { costLimit: config.cel.costLimit });
  const old = loadPolicySet(oldPaths, { costLimit: config.cel.costLimit });
  reportLoadErrors([...old.load.errors, ...next.load.errors], io);
  const withContext = flag(args, "with-context");
  const scratch: Storage[] = [];
  const fromStore = flag(args, "from-store");
  const storage = fromStore ? await openStorage(config) : undefined;
  try {
    const labels = storage ? await feedbackLabels(storage) : new Map<string, Label>();
    const events = storage ? storeEvents(storage) : fileEvents(args.positionals[0] ?? "-", io);
    const report = await compareReplay(events, await side(old.policySet, withContext, config, scratch), await side(next.policySet, withContext, config, scratch), {
      label: (event) => truthLabel(event) ?? labels.get(event.id),
      onProgress: (n) => { if ((io.stderr as { isTTY?: boolean }).isTTY) io.stderr.write(`\rreplay --compare: ${n} events`); },
    });
    const outPath = stringOption(args, "out");
    if (outPath) writeFileSync(resolve(io.cwd, outPath), JSON.stringify(report, null, 2));
    write(io.stdout, formatCompare(report, Number.isInteger(limit) && limit >= 0 ? limit : 50));
    if (budget === undefined) return 0;
    const check = checkFpBudget(report, budget);
    write(io.stdout, check.message);
    return check.ok ? 0 : 1;
  } finally {
    await storage?.close();
    for (const s of scratch) await s.close();
  }
}
