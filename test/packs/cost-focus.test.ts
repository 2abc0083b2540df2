/**
 * Real data: the FOCUS 1.0 sample rows (test/fixtures/focus-sample-data: 298 real, anonymised
 * AWS, Microsoft and Oracle rows) replayed through the cost pack, with spikes injected on real
 * rows. How the stream is built (also in docs/packs/cost.md):
 * - the 298 rows are one "day" of the organisation; day k (k = 0..34, from Monday 2026-01-05)
 *   replays every row with ChargePeriodStart/End set to that whole UTC day (hourly rows folded
 *   into their day) and its cost columns (BilledCost, EffectiveCost, ListCost, ContractedCost)
 *   multiplied by a seeded jitter in [0.9, 1.1]; nothing else changes;
 * - day 35 (Monday): the real rows of ServiceName "Amazon Elastic Compute Cloud" have their cost
 *   columns × 12 (a runaway spend);
 * - day 36: a `dev.vigil.posture` launch announcement (elevated, "launch: …") for one account,
 *   and that account's real rows × 8 (a planned launch).
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/decision.js";
import type { Event } from "../../src/core/event.js";
import { createVigilEvent, focusCsvToEvents, focusRowsToEvents, ingestText } from "../../src/sources/index.js";
import { createRandom } from "../../src/sources/simulate/scenario.js";
import { costHarness, fixturesDir, violationsOf, type CostHarness } from "./cost-support.js";

type Row = Record<string, unknown>;
const DAY = 86_400_000;
const START = Date.parse("2026-01-05T00:00:00Z");
const EC2 = "Amazon Elastic Compute Cloud";
const LAUNCH_ACCOUNT = "11353890204";
const costColumns = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"];

const realRows: Row[] = focusCsvToEvents(readFileSync(`${fixturesDir}focus-sample-data/focus_sample_300.csv`, "utf8"))
  .flatMap((r) => (r.ok ? [r.event.data as Row] : []));

const stamp = (ms: number): string => new Date(ms).toISOString().replace("T", " ").slice(0, 19);

function dayRows(day: number, random: () => number, factor: (row: Row) => number = () => 1): Row[] {
  return realRows.map((row) => {
    const jitter = 0.9 + 0.2 * random();
    const out: Row = { ...row, ChargePeriodStart: stamp(START + day * DAY), ChargePeriodEnd: stamp(START + (day + 1) * DAY) };
    for (const column of costColumns) if (typeof row[column] === "number") out[column] = (row[column] as number) * jitter * factor(row);
    return out;
  });
}

function events(rows: Row[]): Event[] {
  return focusRowsToEvents(rows).map((r) => {
    if (!r.ok) throw r.error;
    return r.event;
  });
}

const accountOf = (row: Row): string => String(row["SubAccountId"] ?? row["BillingAccountId"]);
const effective = (rows: readonly Row[], pick: (row: Row) => boolean): number => rows.filter(pick).reduce((sum, row) => sum + (typeof row["EffectiveCost"] === "number" ? (row["EffectiveCost"] as number) : 0), 0);

describe("cost pack on the FOCUS sample rows with injected spikes", () => {
  let h: CostHarness;
  let baseline: Decision[];
  let spikeDay: Decision[];
  let launchDay: Decision[];
  const marks: Record<string, number> = {};
  const random = createRandom(2026);

  beforeAll(async () => {
    h = await costHarness({ start: "2026-01-05T00:00:00Z" });
    const launchDaily = effective(realRows, (row) => accountOf(row) === LAUNCH_ACCOUNT);
    // A budget below the launch account's run rate (half of it): the budget policy must warn.
    await h.context.entities.upsert({ kind: "account", id: LAUNCH_ACCOUNT, attrs: { monthlyBudget: Math.round(launchDaily * 30.4167 * 0.5 * 100) / 100, owner: "team-commerce" } }, "test");
    const base: Event[] = [];
    for (let day = 0; day < 35; day++) base.push(...events(dayRows(day, random.next)));
    baseline = await h.feed(base);
    marks["baseline"] = h.sent.length;
    spikeDay = await h.feed(events(dayRows(35, random.next, (row) => (row["ServiceName"] === EC2 ? 12 : 1))));
    marks["spike"] = h.sent.length;
    const posture = createVigilEvent("dev.vigil.posture", { level: "elevated", reason: "launch: spring campaign", scope: `account:${LAUNCH_ACCOUNT}`, until: new Date(START + 38 * DAY).toISOString(), by: "pm@acme" }, { source: "/launch-calendar", time: new Date(START + 36 * DAY - 2 * 3_600_000).toISOString() });
    if (!posture.ok) throw posture.error;
    await h.feed([posture.event]);
    launchDay = await h.feed(events(dayRows(36, random.next, (row) => (accountOf(row) === LAUNCH_ACCOUNT ? 8 : 1))));
    marks["launch"] = h.sent.length;
  }, 240_000);
  afterAll(async () => { await h.dispose(); });

  it("35 replayed days of real rows raise no spike (weekly-seasonal baseline, ±10% jitter)", () => {
    expect(baseline.length).toBe(35 * realRows.length);
    expect(violationsOf(baseline, "cost-spend-spike")).toEqual([]);
  });

  it("the injected EC2 runaway is flagged at service level, with the monthly excess over the baseline", () => {
    const spikes = violationsOf(spikeDay, "cost-spend-spike");
    const services = new Set(spikes.filter((s) => s.rule === "service-spike").map((s) => s.outputs["entity"]));
    expect(services).toEqual(new Set([`service/${EC2}`]));
    const daily = effective(realRows, (row) => row["ServiceName"] === EC2);
    // The largest running total of the day: about 11 extra days of EC2 spend, × 30.42 a month.
    const saving = Math.max(...spikes.filter((s) => s.outputs["entity"] === `service/${EC2}`).map((s) => s.outputs["monthlySaving"] as number));
    expect(saving).toBeGreaterThan(daily * 11 * 30.4167 * 0.8);
    expect(saving).toBeLessThan(daily * 11 * 30.4167 * 1.25);
    const message = spikes.find((s) => s.rule === "service-spike")?.message ?? "";
    expect(message).toMatch(/^service spend spike: service\/Amazon Elastic Compute Cloud spent [\d.]+ USD in the Mon period against [\d.]+ expected \(x\d+\.\d\); about [\d.]+ USD\/month above baseline if it persists$/);
  });

  it("precision and recall of account and tag spikes against what the data says grew (≥ 1.5× and ≥ 1 above the day before)", () => {
    const spikes = violationsOf(spikeDay, "cost-spend-spike");
    const flaggedAccounts = new Set(spikes.filter((s) => s.rule === "account-spike").map((s) => String(s.decision.findings.find((f) => f.rule === "account-spike")?.outputs?.["account"])));
    const grew = new Set<string>();
    for (const account of new Set(realRows.map(accountOf))) {
      const before = effective(realRows, (row) => accountOf(row) === account);
      const after = effective(realRows, (row) => accountOf(row) === account && row["ServiceName"] === EC2) * 12 + effective(realRows, (row) => accountOf(row) === account && row["ServiceName"] !== EC2);
      if (after >= 1.5 * before && after - before >= 1) grew.add(account);
    }
    const truePositives = [...flaggedAccounts].filter((a) => grew.has(a)).length;
    const precision = truePositives / Math.max(1, flaggedAccounts.size);
    const recall = truePositives / Math.max(1, grew.size);
    console.log(`FOCUS injected EC2 spike: accounts that grew ${grew.size}, flagged ${flaggedAccounts.size}, precision ${precision.toFixed(2)}, recall ${recall.toFixed(2)}; tag spikes ${new Set(spikes.filter((s) => s.rule === "tag-spike").map((s) => s.outputs["entity"])).size}`);
    expect(grew.size).toBeGreaterThan(0);
    expect(precision).toBe(1);
    expect(recall).toBeGreaterThanOrEqual(0.8);
    expect(spikes.some((s) => s.rule === "tag-spike")).toBe(true);
  });

  it("one notification per spiking entity and day, not one per row (the ladder's cooldown)", () => {
    const spikeEntities = new Set(violationsOf(spikeDay, "cost-spend-spike").map((s) => s.outputs["entity"]));
    const sent = h.sent.slice(marks["baseline"], marks["spike"]).filter((s) => s.kind === "webhook.post" && (s.params["payload"] as Record<string, unknown> | undefined)?.["entity"] !== undefined);
    const perEntity = new Map<unknown, number>();
    for (const s of sent) {
      const entity = (s.params["payload"] as Record<string, unknown>)["entity"];
      perEntity.set(entity, (perEntity.get(entity) ?? 0) + 1);
    }
    for (const entity of spikeEntities) expect(perEntity.get(entity)).toBe(1);
  });

  it("the launch spike is recorded with the launch named, at tier observe, and notifies nobody", () => {
    const spikes = violationsOf(launchDay, "cost-spend-spike").filter((s) => s.rule === "account-spike" && s.outputs["account"] === LAUNCH_ACCOUNT);
    expect(spikes.length).toBeGreaterThan(0);
    for (const s of spikes) {
      expect(s.message).toContain("during the announced launch (launch: spring campaign): noted, not escalated");
      expect(s.outputs["launch"]).toBe(true);
      const tierStep = s.decision.explanation.steps.find((step) => step.kind === "tier" && step.policy === "cost-spend-spike");
      expect(tierStep?.tier).toBe("observe");
      expect(tierStep?.text).toContain("spike during an announced launch");
      expect(s.decision.actions.filter((a) => a.policy === "cost-spend-spike")).toEqual([]);
    }
    expect(h.sent.slice(marks["spike"], marks["launch"]).filter((s) => (s.params["payload"] as Record<string, unknown> | undefined)?.["entity"] === `account/${LAUNCH_ACCOUNT}`)).toEqual([]);
  });

  it("the budget burn rate warns the launch account's owner, once a day", () => {
    const burns = violationsOf(baseline, "cost-budget-burn");
    expect(new Set(burns.map((b) => b.rule))).toEqual(new Set(["over-budget"]));
    expect(new Set(burns.map((b) => b.outputs["account"]))).toEqual(new Set([LAUNCH_ACCOUNT]));
    const first = burns[0]!;
    expect(first.message).toMatch(/^projected over budget: account 11353890204 projects [\d.]+ USD this month at its run rate against a budget of [\d.]+ \(\d+%\); owner team-commerce$/);
    const days = new Set(burns.map((b) => b.decision.time.slice(0, 10)));
    const notified = h.sent.slice(0, marks["baseline"]).filter((s) => (s.params["payload"] as Record<string, unknown> | undefined)?.["budget"] !== undefined);
    expect(notified.length).toBeLessThanOrEqual(days.size);
    expect(notified.length).toBeGreaterThan(0);
  });

  it("a FOCUS row with a missing required column is reported with its row and column; the other rows are decided", async () => {
    const rows = dayRows(37, random.next).slice(0, 6);
    const columns = Object.keys(rows[0]!).filter((c) => c !== "ServiceName").concat("ServiceName");
    const cell = (v: unknown): string => (v === null || v === undefined ? "NULL" : `"${(typeof v === "object" ? JSON.stringify(v) : String(v)).replace(/"/g, '""')}"`);
    const csv = [columns.map((c) => `"${c}"`).join(","), ...rows.map((row, i) => columns.filter((c) => !(i === 3 && c === "ServiceName")).map((c) => cell(row[c])).join(","))].join("\n");
    const { format, results } = await ingestText(csv);
    expect(format).toBe("focus-csv");
    const failed = results.filter((r) => !r.ok);
    expect(failed).toHaveLength(1);
    const bad = failed[0]!;
    if (bad.ok) throw new Error("unreachable");
    expect({ row: bad.row, line: bad.line, field: bad.error.details.field }).toEqual({ row: 4, line: 5, field: "ServiceName" });
    expect(bad.error.message).toBe("row 4: required FOCUS 1.0 column ServiceName is missing: add the column to the export with a value in every row");
    const good = results.flatMap((r) => (r.ok ? [r.event] : []));
    const decided = await h.feed(good);
    expect(decided).toHaveLength(5);
    expect(decided.every((d) => d.eventType === "org.finops.focus.cost")).toBe(true);
  });
});
