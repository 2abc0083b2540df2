/**
 * Measures the access pack and prints the tables of docs/packs/access.md:
 * - precision and recall against Panther's labelled CloudTrail and Okta tests, per behaviour and
 *   overall (test/fixtures/panther-analysis-rules);
 * - alerts on the simulated organisation (`vigil simulate --scenario access`) per week, with the
 *   agent's context and without it (the same policies as a static engine runs them).
 *
 *   npx tsx scripts/measure-access.ts [--seed 1] [--days 21] [--json]
 *
 * The same code is asserted by test/packs/access-panther.test.ts and access-scenario.test.ts.
 */
import { parseArgs } from "node:util";
import { measurePanther, measureScenario, type ScenarioMeasurement } from "../test/packs/access-support.js";

const { values } = parseArgs({ options: { seed: { type: "string", default: "1" }, days: { type: "string", default: "21" }, json: { type: "boolean", default: false } } });
const seed = Number(values.seed);
const days = Number(values.days);

const pct = (x: number): string => (Number.isNaN(x) ? "n/a" : x.toFixed(2));

const panther = await measurePanther();
const raw = await measurePanther({ normalize: false });
const context = await measureScenario({ seed, days, mode: "context" });
const flat = await measureScenario({ seed, days, mode: "static" });

if (values.json) {
  process.stdout.write(`${JSON.stringify({ panther, pantherWithoutCasing: raw.overall, scenario: { seed, days, context, static: flat } }, null, 2)}\n`);
} else {
  const out: string[] = [];
  out.push("## Panther's labelled tests", "", "| behaviour | Panther rules | cases | TP | FP | FN | TN | precision | recall |", "|---|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const b of panther.behaviours) out.push(`| ${b.name} | ${b.rules.join(", ")} | ${b.tp + b.fp + b.fn + b.tn} | ${b.tp} | ${b.fp} | ${b.fn} | ${b.tn} | ${pct(b.precision)} | ${pct(b.recall)} |`);
  const o = panther.overall;
  out.push(`| **overall** | | **${o.cases}** | ${o.tp} | ${o.fp} | ${o.fn} | ${o.tn} | **${pct(o.precision)}** | **${pct(o.recall)}** |`, "");
  out.push(`Logs with top-level keys restored to the API casing: ${panther.renamed}. Without that: precision ${pct(raw.overall.precision)}, recall ${pct(raw.overall.recall)}.`);
  out.push(`Error findings on all ${panther.otherAlerts.logs + o.cases} CloudTrail and Okta logs: ${panther.errors.length}. Other rules' logs alerted (notify or above): ${panther.otherAlerts.alerted} of ${panther.otherAlerts.logs}.`, "", "Disagreements:", ...panther.mistakes.map((m) => `- ${m}`), "");
  const table = (m: ScenarioMeasurement): string[] => [
    `### ${m.mode === "context" ? "with context (baselines, on-call schedules, travel notices)" : "static (same policies, no context)"}`, "",
    "| week | alerts on violations (TP) | missed (FN) | false alerts (FP) | quiet benign (TN) | precision | recall | false-positive rate |", "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...m.weeks.map((w) => `| ${w.week + 1} | ${w.tp} | ${w.fn} | ${w.fp} | ${w.tn} | ${pct(w.precision)} | ${pct(w.recall)} | ${w.falsePositiveRate.toFixed(4)} |`),
    `| all | ${m.overall.tp} | ${m.overall.fn} | ${m.overall.fp} | ${m.overall.tn} | ${pct(m.overall.precision)} | ${pct(m.overall.recall)} | ${m.overall.falsePositiveRate.toFixed(4)} |`, "",
  ];
  out.push(`## Simulated organisation (seed ${seed}, ${days} days, ${context.events} events)`, "", ...table(context), ...table(flat));
  out.push("| truth | events | alerts with context | alerts static |", "|---|---:|---:|---:|");
  for (const [note, n] of Object.entries(context.notes).sort()) out.push(`| ${note} | ${n.events} | ${n.alerted} | ${flat.notes[note]?.alerted ?? 0} |`);
  process.stdout.write(`${out.join("\n")}\n`);
}
