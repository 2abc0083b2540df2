/**
 * Real data: Cloud Custodian's recorded CloudWatch responses for its EC2 CPU-utilisation cases
 * (test/fixtures/cost/cloud-custodian, see SOURCE there), replayed through the cost pack.
 *
 * Conversion (done here, documented in docs/packs/cost.md):
 * - each DescribeInstances instance becomes a `dev.vigil.resource` inventory event (kind
 *   aws.ec2.instance, id, region, tags, attrs.state, attrs.instanceType), sent the day after the
 *   last metric sample, when the pack evaluates the instance;
 * - the n-th recorded GetMetricStatistics response belongs to the n-th instance (Custodian queries
 *   one instance after the other, in DescribeInstances order);
 * - each datapoint becomes `dev.vigil.metric` samples (metric CPUUtilization, unit percent) with
 *   the statistic the Custodian policy asks for (Average, or the p95 extended statistic). A
 *   datapoint covers the policy's `period` (default: the whole `days` window), so it is spread
 *   into one sample per day it covers, each with its value: this keeps the window mean exact
 *   (what Custodian compares) but not the daily maximum, which CloudWatch did not record.
 */
import { readFileSync, readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { Event } from "../../src/core/event.js";
import { createVigilEvent } from "../../src/sources/index.js";
import { costHarness, fixturesDir, violationsOf, type CostHarness } from "./cost-support.js";

interface CustodianCase {
  readonly test: string;
  readonly placebo: string;
  readonly policy: { readonly filters: readonly { readonly days: number; readonly value: number; readonly period?: number; readonly statistics?: string }[] };
  readonly expected_resource_count: number;
}

interface Stamp { year: number; month: number; day: number; hour: number; minute: number; second: number }
const iso = (t: Stamp): string => new Date(Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second)).toISOString();
const DAY = 86_400_000;

const dir = `${fixturesDir}cost/cloud-custodian/`;
const cases = JSON.parse(readFileSync(`${dir}cases.json`, "utf8")) as CustodianCase[];
const read = (placebo: string, file: string): { data: Record<string, unknown> } => JSON.parse(readFileSync(`${dir}placebo/${placebo}/${file}`, "utf8")) as { data: Record<string, unknown> };

function ok(result: ReturnType<typeof createVigilEvent>): Event {
  if (!result.ok) throw result.error;
  return result.event;
}

/** The events of one case: metric samples in time order, then the inventory snapshots. */
function caseEvents(c: CustodianCase, add = 0): { events: Event[]; instances: { id: string; state: string; samples: number }[]; evaluateAt: number } {
  const filter = c.policy.filters[0]!;
  const periodDays = Math.max(1, Math.round((filter.period ?? filter.days * 86_400) / 86_400));
  const reservations = (read(c.placebo, "ec2.DescribeInstances_1.json").data["Reservations"] as { Instances: Record<string, unknown>[] }[]);
  const instances = reservations.flatMap((r) => r.Instances);
  const responses = readdirSync(`${dir}placebo/${c.placebo}`).filter((f) => f.startsWith("monitoring.GetMetricStatistics_")).sort((a, b) => Number(/_(\d+)/.exec(a)?.[1]) - Number(/_(\d+)/.exec(b)?.[1]));
  const metrics: Event[] = [];
  const info: { id: string; state: string; samples: number }[] = [];
  let last = 0;
  instances.forEach((instance, i) => {
    const id = String(instance["InstanceId"]);
    const file = responses[i];
    const points = file ? (read(c.placebo, file).data["Datapoints"] as Record<string, unknown>[]) : [];
    let samples = 0;
    for (const point of points) {
      const value = filter.statistics && filter.statistics !== "Average" ? (point["ExtendedStatistics"] as Record<string, number>)[filter.statistics] : (point["Average"] as number);
      const start = Date.parse(iso(point["Timestamp"] as Stamp));
      for (let d = 0; d < periodDays; d++) {
        const ts = new Date(start + d * DAY).toISOString();
        metrics.push(ok(createVigilEvent("dev.vigil.metric", { resource: id, metric: "CPUUtilization", value: (value as number) + add, unit: "Percent", ts, labels: { statistic: filter.statistics ?? "Average", source: "cloudwatch" } }, { source: "/custodian/placebo" })));
        last = Math.max(last, start + d * DAY);
        samples++;
      }
    }
    info.push({ id, state: String((instance["State"] as { Name: string }).Name), samples });
  });
  metrics.sort((a, b) => Date.parse(a.time ?? "") - Date.parse(b.time ?? ""));
  const evaluateAt = Math.floor(last / DAY) * DAY + DAY + 12 * 3_600_000;
  const inventory = instances.map((instance) => {
    const tags = Object.fromEntries(((instance["Tags"] as { Key: string; Value: string }[] | null) ?? []).map((t) => [t.Key, t.Value]));
    return ok(createVigilEvent("dev.vigil.resource", {
      kind: "aws.ec2.instance", id: String(instance["InstanceId"]), region: "us-east-1", tags,
      attrs: { state: (instance["State"] as { Name: string }).Name, instanceType: instance["InstanceType"] },
    }, { source: "/custodian/placebo", time: new Date(evaluateAt).toISOString() }));
  });
  return { events: [...metrics, ...inventory], instances: info, evaluateAt };
}

/** Replays a case; returns the instances the pack flagged and those whose idle signal fired but an exception held. */
async function replay(c: CustodianCase, options: { add?: number; thresholds?: boolean } = {}): Promise<{ h: CostHarness; flagged: string[]; idleSignal: string[]; excepted: string[] }> {
  const { events, evaluateAt } = caseEvents(c, options.add);
  const filter = c.policy.filters[0]!;
  // With `thresholds`, the idle detector judges the Custodian policy's own statistic and value.
  const idle = options.thresholds ? { days: filter.days, cpuMean: filter.value, cpuMax: filter.value } : {};
  const h = await costHarness({ start: new Date(Date.parse(events[0]?.time ?? "") - DAY).toISOString(), context: { detectors: { idle: { days: 14, minDays: 3, cpuMean: 5, cpuMax: 20, networkMean: 1_000_000, ...idle } } } });
  const decisions = await h.feed(events, (event) => (event.type === "dev.vigil.resource" ? evaluateAt : Date.parse(event.time ?? "")));
  const flagged = violationsOf(decisions, "cost-idle-ec2-instance").map((v) => String(v.decision.subject));
  const idleSignal: string[] = [];
  const excepted: string[] = [];
  for (const event of events.filter((e) => e.type === "dev.vigil.resource")) {
    const { draft, ctx } = await h.pipeline.decideEvent(event, { explain: true, enforced: false });
    if (ctx.signals["idle"]!.score >= 0.8 && ctx.signals["idle"]!.confidence >= 0.5) idleSignal.push(String(event.subject));
    if (draft.findings.some((f) => f.policy === "cost-idle-ec2-instance" && f.effect === "skip" && f.skipReason?.startsWith("excepted"))) excepted.push(String(event.subject));
  }
  return { h, flagged, idleSignal, excepted };
}

describe("cost pack on Cloud Custodian's recorded CloudWatch metrics (EC2 low utilisation)", () => {
  let h: CostHarness | undefined;
  afterEach(async () => { await h?.dispose(); h = undefined; });

  it("the fixture holds the three EC2 CPU cases, each expecting one resource", () => {
    expect(cases.map((c) => [c.placebo, c.expected_resource_count])).toEqual([
      ["test_ec2_metric", 1], ["test_ec2_metric_extended_stats", 1], ["test_metric_filter_multiple_datapoints", 1],
    ]);
  });

  describe("configured like each Custodian policy (its look-back days and threshold as the idle detector's)", () => {
    it("test_ec2_metric: the one running instance (3-day average 0.03% CPU) is flagged and marked", async () => {
      const c = cases.find((x) => x.placebo === "test_ec2_metric")!;
      const run = await replay(c, { thresholds: true });
      h = run.h;
      expect(run.idleSignal).toEqual(["i-0cfbce719a3400834"]);
      expect(run.flagged).toEqual(["i-0cfbce719a3400834"]);
      expect(run.flagged.length).toBe(c.expected_resource_count);
      const [marked] = await h.ladder.list({ policy: "cost-idle-ec2-instance" });
      expect(marked).toMatchObject({ status: "waiting", target: { id: "i-0cfbce719a3400834" } });
      // No cost rows for these instances: the saving is stated as unknown (0), and says why.
      const [finding] = violationsOf(h.decisions, "cost-idle-ec2-instance");
      expect(finding?.outputs).toMatchObject({ monthlySaving: 0, costSource: "no cost data" });
      expect(finding?.message).toContain("is idle on 3 of 3 days with samples in the last 3 (mean CPU 0.03%, max 0.03%, no network samples)");
    });

    it("test_ec2_metric_extended_stats: only the instance with a p95 datapoint (3.1% < 10) is idle; the two without data are not", async () => {
      const c = cases.find((x) => x.placebo === "test_ec2_metric_extended_stats")!;
      const run = await replay(c, { thresholds: true });
      h = run.h;
      expect(run.idleSignal).toEqual(["i-0fdc8cff63616a335"]);
      expect(run.flagged).toEqual(["i-0fdc8cff63616a335"]);
      expect(run.flagged.length).toBe(c.expected_resource_count);
    });

    it("test_metric_filter_multiple_datapoints: three daily averages of ~0.39% are idle; the pack does not stop it again because inventory says it is already stopped", async () => {
      const c = cases.find((x) => x.placebo === "test_metric_filter_multiple_datapoints")!;
      const run = await replay(c, { thresholds: true });
      h = run.h;
      expect(run.idleSignal).toEqual(["i-0ea09b4cbf12b50f2"]);
      expect(run.idleSignal.length).toBe(c.expected_resource_count);
      expect(run.flagged).toEqual([]);
      expect(run.excepted).toEqual(["i-0ea09b4cbf12b50f2"]);
    });
  });

  it("with the pack's defaults (14-day look-back) the same instances score idle, but 3-7 days of CPU without network is too little evidence to act", async () => {
    for (const c of cases) {
      const run = await replay(c);
      expect(run.flagged).toEqual([]);
      const { events } = caseEvents(c);
      for (const event of events.filter((e) => e.type === "dev.vigil.resource")) {
        const { ctx } = await run.h.pipeline.decideEvent(event, { enforced: false });
        const idle = ctx.signals["idle"]!;
        if (idle.values?.["applicable"] !== true) continue;
        expect(idle.score).toBe(1);
        expect(idle.confidence).toBeLessThan(0.5);
      }
      await run.h.dispose();
    }
  });

  it("negative control: the same recordings with 40 points of CPU added are not idle (the comparison can fail)", async () => {
    for (const c of cases) {
      const run = await replay(c, { add: 40, thresholds: true });
      expect(run.idleSignal).toEqual([]);
      expect(run.flagged).toEqual([]);
      await run.h.dispose();
    }
  });
});
