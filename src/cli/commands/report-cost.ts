/**
 * `vigil report cost`: the estimated monthly savings the cost pack's decisions state
 * (`Finding.outputs.monthlySaving`, docs/packs/cost.md), summed from the decision record per
 * policy, account, service and owner, plus the budget overruns (`outputs.overrun`).
 *
 * A saving is a monthly rate, not an amount per decision: an idle instance is flagged every day
 * and a spike on every row of its period, so each (policy, entity) counts once — its estimate
 * from the latest charge period (or decision) in the window, the largest within that period (the
 * period's running total). Spikes during an announced launch (`outputs.launch`) are not savings.
 */
import type { Decision } from "../../core/decision.js";
import { VigilError } from "../../core/errors.js";
import type { Storage } from "../../core/ports.js";
import { stringOption, write, type Command } from "../command.js";
import { configFrom, configOption, openExistingStorage, outputFormat, outputOption } from "../shared.js";

export interface CostSaving {
  readonly policy: string;
  readonly rule: string;
  readonly entity: string;
  readonly account: string;
  readonly service: string;
  readonly owner: string;
  readonly currency: string;
  readonly monthlySaving: number;
  /** Charge period (or decision time) the estimate is from. */
  readonly period: string;
  readonly decisionId: string;
}

export interface CostOverrun {
  readonly account: string;
  readonly owner: string;
  readonly currency: string;
  readonly projectedMonthly: number;
  readonly budget: number;
  readonly overrun: number;
  readonly decisionId: string;
  readonly time: string;
}

export interface CostReport {
  readonly since?: string;
  readonly decisions: number;
  /** Total per currency. */
  readonly total: Readonly<Record<string, number>>;
  /** `by.policy["cost-idle-ec2-instance"]["USD"]` = sum. */
  readonly by: Readonly<Record<"policy" | "account" | "service" | "owner", Readonly<Record<string, Readonly<Record<string, number>>>>>>;
  readonly savings: readonly CostSaving[];
  readonly overruns: readonly CostOverrun[];
}

const str = (value: unknown, fallback: string): string => (typeof value === "string" && value !== "" ? value : fallback);
const round2 = (value: number): number => Math.round(value * 100) / 100;

/** Sums the savings of decisions (any order). Pure; never throws for odd outputs (they are skipped). */
export function summarizeCostSavings(decisions: Iterable<Decision>, since?: string): CostReport {
  const best = new Map<string, CostSaving>();
  const overruns = new Map<string, CostOverrun>();
  let count = 0;
  for (const decision of decisions) {
    count++;
    for (const finding of decision.findings) {
      const outputs = finding.outputs;
      if (finding.effect !== "violation" || outputs === undefined) continue;
      if (typeof outputs["overrun"] === "number" && typeof outputs["budget"] === "number") {
        const account = str(outputs["account"], decision.subject ?? "?");
        const current = overruns.get(account);
        if (current === undefined || current.time <= decision.time) {
          overruns.set(account, {
            account, owner: str(outputs["owner"], "unowned"), currency: str(outputs["currency"], "USD"), projectedMonthly: Number(outputs["projectedMonthly"] ?? 0),
            budget: outputs["budget"], overrun: outputs["overrun"], decisionId: decision.id, time: decision.time,
          });
        }
        continue;
      }
      const saving = outputs["monthlySaving"];
      if (typeof saving !== "number" || !Number.isFinite(saving) || outputs["launch"] === true) continue;
      const entity = str(outputs["entity"], finding.resource ?? decision.subject ?? "?");
      const key = `${finding.policy}\u0000${entity}`;
      const item: CostSaving = {
        policy: finding.policy, rule: finding.rule, entity,
        account: str(outputs["account"], "unknown"), service: str(outputs["service"], "unknown"), owner: str(outputs["owner"], "unowned"),
        currency: str(outputs["currency"], "USD"), monthlySaving: saving, period: str(outputs["period"], decision.time), decisionId: decision.id,
      };
      const current = best.get(key);
      if (current === undefined || item.period > current.period || (item.period === current.period && item.monthlySaving > current.monthlySaving)) best.set(key, item);
    }
  }
  const savings = [...best.values()].sort((a, b) => b.monthlySaving - a.monthlySaving || a.entity.localeCompare(b.entity));
  const total: Record<string, number> = {};
  const by = { policy: {}, account: {}, service: {}, owner: {} } as Record<"policy" | "account" | "service" | "owner", Record<string, Record<string, number>>>;
  for (const s of savings) {
    total[s.currency] = round2((total[s.currency] ?? 0) + s.monthlySaving);
    for (const dimension of ["policy", "account", "service", "owner"] as const) {
      const group = (by[dimension][s[dimension]] ??= {});
      group[s.currency] = round2((group[s.currency] ?? 0) + s.monthlySaving);
    }
  }
  return { ...(since ? { since } : {}), decisions: count, total, by, savings, overruns: [...overruns.values()].sort((a, b) => b.overrun - a.overrun) };
}

/** `--since`: an RFC 3339 time or a duration back from now (`30d`, `12h`, `90m`). */
export function parseSince(value: string, now: Date): string {
  const duration = /^(\d+)([dhm])$/.exec(value);
  if (duration) {
    const ms = Number(duration[1]) * ({ d: 86_400_000, h: 3_600_000, m: 60_000 } as const)[duration[2] as "d" | "h" | "m"];
    return new Date(now.getTime() - ms).toISOString();
  }
  const time = Date.parse(value);
  if (Number.isNaN(time) || !/^\d{4}-\d{2}-\d{2}/.test(value)) throw new VigilError("VIGIL_BAD_INPUT", `--since must be an RFC 3339 time (2026-01-01T00:00:00Z) or a duration such as 30d, 12h or 90m, not "${value}"`, { field: "--since" });
  return new Date(time).toISOString();
}

/** Reads the decision record since a time, page by page (oldest first). */
export async function* decisionsSince(storage: Storage, since: string | undefined, pageSize = 1000): AsyncGenerator<Decision> {
  let afterSeq = 0;
  for (;;) {
    const page = await storage.listDecisions({ afterSeq, limit: pageSize, ...(since ? { since } : {}) });
    yield* page;
    if (page.length < pageSize) return;
    afterSeq = (page[page.length - 1] as Decision).seq;
  }
}

const money = (amounts: Readonly<Record<string, number>>): string => Object.entries(amounts).map(([currency, amount]) => `${amount.toFixed(2)} ${currency}`).join(" + ") || "0.00";

/** The text form of a report. */
export function renderCostReport(report: CostReport): string {
  const lines = [`Estimated monthly savings${report.since ? ` since ${report.since}` : ""}: ${money(report.total)} (${report.savings.length} resource(s) or spend series, from ${report.decisions} decision(s))`];
  for (const dimension of ["policy", "account", "service", "owner"] as const) {
    const groups = Object.entries(report.by[dimension]).sort((a, b) => Object.values(b[1]).reduce((x, y) => x + y, 0) - Object.values(a[1]).reduce((x, y) => x + y, 0));
    if (groups.length === 0) continue;
    lines.push("", `By ${dimension}:`);
    for (const [name, amounts] of groups) lines.push(`  ${name.padEnd(40)}  ${money(amounts)}`);
  }
  if (report.savings.length > 0) {
    lines.push("", "Largest:");
    for (const s of report.savings.slice(0, 20)) lines.push(`  ${s.monthlySaving.toFixed(2).padStart(12)} ${s.currency}  ${s.policy}/${s.rule}  ${s.entity}  (owner ${s.owner}, decision ${s.decisionId})`);
  }
  if (report.overruns.length > 0) {
    lines.push("", "Projected budget overruns:");
    for (const o of report.overruns) lines.push(`  account ${o.account}: projected ${o.projectedMonthly.toFixed(2)} ${o.currency} vs budget ${o.budget.toFixed(2)} (over by ${o.overrun.toFixed(2)}; owner ${o.owner})`);
  }
  return lines.join("\n");
}

export const reportCostCommand: Command = {
  path: ["report", "cost"],
  summary: "Sum the estimated monthly savings in the decision record per policy, account, service and owner",
  description: "Reads the configured decision record. Each resource or spend series counts once, with its latest estimate in the window; spikes during an announced launch are left out. Budget overruns are listed separately.",
  options: {
    ...configOption,
    since: { type: "string", value: "<time|duration>", description: "Only decisions at or after this time: RFC 3339, or back from now (30d, 12h, 90m)" },
    ...outputOption,
  },
  examples: ["vigil report cost", "vigil report cost --since 30d --output json"],
  async run(args, io) {
    const format = outputFormat(args);
    const sinceArg = stringOption(args, "since");
    const since = sinceArg === undefined ? undefined : parseSince(sinceArg, new Date());
    const storage = await openExistingStorage(configFrom(args, io));
    try {
      const decisions: Decision[] = [];
      for await (const decision of decisionsSince(storage, since)) decisions.push(decision);
      const report = summarizeCostSavings(decisions, since);
      write(io.stdout, format === "json" ? JSON.stringify(report, null, 2) : renderCostReport(report));
      return 0;
    } finally {
      await storage.close();
    }
  },
};
