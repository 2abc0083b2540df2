import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { EventTypes, type Event } from "../core/event.js";
import { createActivityLayout, parseLayoutSignature, seenAdd, seenLookup } from "./activity.js";
import { baselineFromDoc, baselineToDoc, EntityBaseline } from "./baseline.js";
import { makeEvent, seededRandom } from "./fixtures.test-support.js";
import { readIdleDay, recordIdleSample } from "./idle-days.js";
import { fnv1a32 } from "./hash.js";
import { writeF32, writeF64, writeU32 } from "./block.js";
import { createSeries, expectedLog, fromLog, observeSeries, periodValue, seriesCount, seriesSummary, seriesWordsWithoutWindow } from "./series.js";
import { defaultContextSettings } from "./settings.js";
import { createContextStage } from "./stage.js";
import { createManualClock, createMemoryDocStorage } from "./test-support.js";
import { DAY_MS, HOUR_MS } from "./time.js";

const start = Date.parse("2024-09-02T00:00:00Z");
const rates = { ...defaultContextSettings.baselines, minSpread: 0.15 };

describe("baseline storage", () => {
  it("round-trips through its document and migrates seen-sets when the layout changes", async () => {
    const storage = createMemoryDocStorage();
    const stage = createContextStage({ storage, clock: createManualClock(start) });
    const call = (region: string, index: number): Event =>
      makeEvent(EventTypes.cloudTrail, { eventTime: new Date(start + index * HOUR_MS).toISOString(), eventSource: "s3.amazonaws.com", awsRegion: region, userIdentity: { arn: "arn:aws:iam::1:user/m" } });
    const regions = ["us-east-1", "us-east-1", "us-east-1", "eu-west-1", "eu-west-1", "ap-south-1"];
    for (const [index, region] of regions.entries()) stage.observe(call(region, index), await stage.build(call(region, index)));
    await stage.flush();
    const [doc] = await storage.listDocs("context.baselines", { idPrefix: "principal/" });
    const smaller = createActivityLayout({ ...defaultContextSettings.baselines.seenSetSizes, region: 2 });
    const migrated = baselineFromDoc("principal/x", doc?.value, smaller);
    expect(migrated.events).toBe(6);
    expect(seenLookup(migrated, smaller, "region", fnv1a32("us-east-1"))?.count).toBe(3);
    expect(seenLookup(migrated, smaller, "region", fnv1a32("eu-west-1"))?.count).toBe(2);
    expect(seenLookup(migrated, smaller, "region", fnv1a32("ap-south-1"))).toBeUndefined();
    const restarted = createContextStage({ storage, clock: createManualClock(start), settings: { baselines: { seenSetSizes: { region: 2 } } } });
    const context = await restarted.build(call("eu-west-1", 10));
    expect(context.signals["rare"]?.values?.["seen"]).toMatchObject({ region: { count: 2 } });
  });

  it("seen-sets stored with 5-word slots (before the inherited count) are widened on load, their values, counts and first-seen times kept", () => {
    const layout = createActivityLayout(defaultContextSettings.baselines.seenSetSizes);
    const old = parseLayoutSignature(layout.signature.replace(/;w6$/, ""));
    expect(old?.slotWidth).toBe(5);
    if (!old) return;
    const block = new Uint16Array(old.length);
    block[10] = 512;
    const region = old.offsets.region;
    writeU32(block, region, 7);
    writeU32(block, region + 2, fnv1a32("eu-west-1"));
    block[region + 4] = 5;
    writeU32(block, region + 5, 28_000_000);
    writeU32(block, region + 7, fnv1a32("us-east-1"));
    block[region + 9] = 2;
    writeU32(block, region + 10, 28_000_100);
    const doc = { v: 2, events: 7, firstSeen: 28_000_000, lastSeen: 28_000_100, block: Buffer.from(block.buffer).toString("base64"), act: { offset: 0, layout: old.signature, anchor: 28_000_000, exp: 0 } };
    const loaded = baselineFromDoc("principal/old", doc, layout);
    expect(loaded.block.length).toBe(layout.length);
    expect(loaded.actTotal).toBe(512);
    expect(seenLookup(loaded, layout, "region", fnv1a32("eu-west-1"))).toMatchObject({ count: 5, inherited: 0, firstSeenMinutes: 28_000_000, total: 7 });
    expect(seenLookup(loaded, layout, "region", fnv1a32("us-east-1"))).toMatchObject({ count: 2, inherited: 0, firstSeenMinutes: 28_000_100 });
  });

  it("a value that took an evicted one's place keeps the inherited part apart, also when its count saturates and halves", () => {
    const layout = createActivityLayout({ ...defaultContextSettings.baselines.seenSetSizes, region: 1 });
    const baseline = new EntityBaseline("principal/one-region");
    for (let index = 0; index < 10; index++) seenAdd(baseline, layout, "region", fnv1a32("a"), 28_000_000 + index);
    seenAdd(baseline, layout, "region", fnv1a32("b"), 28_000_100);
    expect(seenLookup(baseline, layout, "region", fnv1a32("b"))).toMatchObject({ count: 11, inherited: 10, firstSeenMinutes: 28_000_100 });
    for (let index = 0; index < 65_535 - 11; index++) seenAdd(baseline, layout, "region", fnv1a32("b"), 28_000_200);
    expect(seenLookup(baseline, layout, "region", fnv1a32("b"))).toMatchObject({ count: 65_535, inherited: 10 });
    seenAdd(baseline, layout, "region", fnv1a32("b"), 28_000_300);
    expect(seenLookup(baseline, layout, "region", fnv1a32("b"))).toMatchObject({ count: 32_768, inherited: 5 });
  });

  it("a corrupt or foreign document is relearned, not fatal", () => {
    const layout = createActivityLayout(defaultContextSettings.baselines.seenSetSizes);
    for (const value of [null, { v: 2, block: "###" }, { v: 2, block: "AAAA", act: { offset: 0, layout: "bogus" }, series: [["cost", 99, 168]] }, { v: 1 }]) {
      const baseline = baselineFromDoc("resource/r", value, layout);
      expect(baseline.events).toBe(0);
      expect(baseline.actOffset).toBe(-1);
      expect(baseline.seriesCount).toBe(0);
    }
    const good = new EntityBaseline("resource/r");
    const series = good.addSeries(createSeries(good, "cost", 7, "sum", 0.01));
    // Days 0-9: the last 3 stay open, days 0-6 are committed.
    for (let day = 0; day < 10; day++) observeSeries(series, start + day * DAY_MS, day === 0 ? 5 : 6, rates);
    const again = baselineFromDoc("resource/r", JSON.parse(JSON.stringify(baselineToDoc(good, layout))), layout);
    const copy = again.findSeries("cost");
    expect(copy && seriesCount(copy)).toBe(7);
    expect(copy && fromLog(copy, expectedLog(copy, Math.floor(start / HOUR_MS)).value)).toBeCloseTo(5, 2);
    // The open days came along: day 9 holds 6, and a late row of day 7 still adds to its day.
    expect(copy && periodValue(copy, start + 9 * DAY_MS, 1)).toBeCloseTo(7, 5);
    if (copy) observeSeries(copy, start + 7 * DAY_MS, 2, rates);
    expect(copy && periodValue(copy, start + 7 * DAY_MS, 0)).toBeCloseTo(8, 5);
  });

  it("a sum series stored before the open-period ring keeps the period it had open", () => {
    const layout = createActivityLayout(defaultContextSettings.baselines.seenSetSizes);
    // The older layout: header and slots only, the open period in header fields 9 (period) and 10 (sum).
    const old = new EntityBaseline("account/a");
    const current = createSeries(old, "cost", 168, "sum", 0.01);
    old.block = old.block.slice(0, seriesWordsWithoutWindow(168));
    const hour = Math.floor(start / HOUR_MS) + 30;
    writeF64(old.block, current.offset + 9 * 4, hour);
    writeF64(old.block, current.offset + 10 * 4, 12.5);
    const doc = { v: 2, events: 3, firstSeen: 0, lastSeen: 0, block: Buffer.from(old.block.buffer).toString("base64"), series: [["cost", current.offset, 168]] };
    const loaded = baselineFromDoc("account/a", doc, layout).findSeries("cost");
    expect(loaded && periodValue(loaded, hour * HOUR_MS, 0.5)).toBeCloseTo(13, 5);
  });

  it("an idle ring stored with running means (older layout) is converted to sums on load, and round-trips after", () => {
    const layout = createActivityLayout(defaultContextSettings.baselines.seenSetSizes);
    const day = Math.floor(start / DAY_MS);
    // Old layout, 6 words a day: [epochDay, mean CPU ×100, max CPU ×100, CPU samples, log2(1+network) ×1024, network samples].
    const old = new Uint16Array(3 * 6);
    old.set([day, 325, 1200, 288, Math.round(Math.log2(1 + 1000) * 1024), 288], (day % 3) * 6);
    const doc = { v: 2, events: 288, firstSeen: 0, lastSeen: 0, block: Buffer.from(old.buffer).toString("base64"), idle: { offset: 0, days: 3 } };
    const loaded = baselineFromDoc("resource/i-old", doc, layout);
    const ring = loaded.idleRing();
    expect(ring && readIdleDay(ring, day)).toMatchObject({ cpuMean: 3.25, cpuMax: 12, cpuSamples: 288, networkSamples: 288 });
    expect(ring && readIdleDay(ring, day)?.networkMean).toBeCloseTo(1000, -1);
    // New samples average with the converted day by count.
    if (ring) for (let sample = 0; sample < 288; sample++) recordIdleSample(ring, day, "cpu", 6.75);
    const again = baselineFromDoc("resource/i-old", JSON.parse(JSON.stringify(baselineToDoc(loaded, layout))), layout).idleRing();
    expect(again && readIdleDay(again, day)).toMatchObject({ cpuMean: 5, cpuMax: 12, cpuSamples: 576 });
  });

  it("an idle ring stored with a 16-bit day (sums) is widened on load, its days and sums kept", () => {
    const layout = createActivityLayout(defaultContextSettings.baselines.seenSetSizes);
    const day = Math.floor(start / DAY_MS);
    // 8 words a day: [epochDay, CPU sum ×100 (u32), max CPU ×100, CPU samples, network sum (float32), network samples].
    const old = new Uint16Array(3 * 8);
    const at = (day % 3) * 8;
    old[at] = day;
    writeU32(old, at + 1, 93_600);
    old[at + 3] = 1200;
    old[at + 4] = 288;
    writeF32(old, at + 5, 288_000);
    old[at + 7] = 288;
    const doc = { v: 2, events: 288, firstSeen: 0, lastSeen: 0, block: Buffer.from(old.buffer).toString("base64"), idle: { offset: 0, days: 3, sums: true } };
    const ring = baselineFromDoc("resource/i-day16", doc, layout).idleRing();
    expect(ring && readIdleDay(ring, day)).toMatchObject({ cpuMean: 3.25, cpuMax: 12, cpuSamples: 288, networkMean: 1000, networkSamples: 288 });
  });

  it("concurrent builds of the same new entity share one storage read", async () => {
    const storage = createMemoryDocStorage();
    const stage = createContextStage({ storage, clock: createManualClock(start) });
    await stage.posture.list();
    const event = makeEvent(EventTypes.metric, { resource: "i-7", metric: "cpu", value: 3, ts: new Date(start).toISOString() });
    const before = storage.calls.getDocs;
    await Promise.all([stage.build(event), stage.build(event), stage.build(event)]);
    // One read of entity records, one of baselines.
    expect(storage.calls.getDocs - before).toBe(2);
  });
});

describe("series seasonality", () => {
  it("daily spend rows use day-of-week slots: quiet weekends are normal, a weekend at weekday level is not", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const random = seededRandom(11);
    const row = (day: number, cost: number): Event =>
      makeEvent(EventTypes.focusCost, { ResourceId: "i-daily", SubAccountId: "111", ServiceName: "Amazon EC2", ChargePeriodStart: new Date(start + day * DAY_MS).toISOString(), ChargePeriodEnd: new Date(start + (day + 1) * DAY_MS).toISOString(), BilledCost: cost });
    const usual = (day: number): number => (day % 7 >= 5 ? 20 : 200) * (1 + 0.1 * (random() - 0.5));
    for (let day = 0; day < 6 * 7; day++) stage.observe(row(day, usual(day)), await stage.build(row(day, usual(day))));
    const saturday = 6 * 7 + 5;
    const quiet = (await stage.build(row(saturday, 21))).signals["spike"]!;
    expect(quiet.score).toBe(0);
    expect(quiet.values).toMatchObject({ slot: "Sat", baseline: "slot" });
    const busy = (await stage.build(row(saturday, 200))).signals["spike"]!;
    expect(busy.score).toBeGreaterThan(0.5);
    expect((await stage.build(row(saturday, 200))).features?.["resource"]).toMatchObject({ series: { cost: { season: "day-of-week" } } });
  });

  it("5-minute CPU samples with an office-hours pattern: office hours normal, a night-time burst flagged", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const random = seededRandom(5);
    const cpuAt = (timeMs: number): number => {
      const date = new Date(timeMs);
      const office = date.getUTCDay() >= 1 && date.getUTCDay() <= 5 && date.getUTCHours() >= 9 && date.getUTCHours() < 18;
      return (office ? 60 : 5) * (1 + 0.2 * (random() - 0.5));
    };
    const sample = (timeMs: number, value: number): Event => makeEvent(EventTypes.metric, { resource: "i-web", metric: "CPUUtilization", value, ts: new Date(timeMs).toISOString() });
    for (let step = 0; step < 3 * 7 * 288; step++) {
      const timeMs = start + step * 300_000;
      const event = sample(timeMs, cpuAt(timeMs));
      stage.observe(event, await stage.build(event));
    }
    const tuesdayNoon = start + (3 * 7 + 1) * DAY_MS + 12 * HOUR_MS;
    expect((await stage.build(sample(tuesdayNoon, 62))).signals["spike"]?.score).toBe(0);
    const tuesdayNight = start + (3 * 7 + 1) * DAY_MS + 2 * HOUR_MS;
    const burst = (await stage.build(sample(tuesdayNight, 60))).signals["spike"]!;
    expect(burst.score).toBeGreaterThan(0.5);
    expect(burst.values).toMatchObject({ slot: "Tue 02:00 UTC", role: "resource", series: "CPUUtilization" });
  });
});

describe("series summary without history", () => {
  it("shows no expectation while no period has been committed, then the learned one", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const row = (hour: number, cost: number): Event =>
      makeEvent(EventTypes.focusCost, { ResourceId: "i-new", SubAccountId: "111", ServiceName: "Amazon EC2", ChargePeriodStart: new Date(start + hour * HOUR_MS).toISOString(), ChargePeriodEnd: new Date(start + (hour + 1) * HOUR_MS).toISOString(), BilledCost: cost });
    const cost = async (hour: number): Promise<Record<string, unknown> | undefined> =>
      ((await stage.build(row(hour, 40))).features?.["resource"]?.["series"] as Record<string, Record<string, unknown>> | undefined)?.["cost"];
    stage.observe(row(0, 40), await stage.build(row(0, 40)));
    const young = await cost(1);
    expect(young).toMatchObject({ count: 0, expected: null, reason: "no history" });
    for (let hour = 1; hour < 60; hour++) stage.observe(row(hour, 40), await stage.build(row(hour, 40)));
    const learned = await cost(60);
    expect(learned?.["count"]).toBeGreaterThan(0);
    expect(learned?.["expected"]).toBeGreaterThan(30);
    expect(learned).not.toHaveProperty("reason");
  });
});

describe("series sampling interval", () => {
  it("a gap in a 5-minute metric (an instance stopped for two weeks) does not make the hour after it weigh like a whole week of that hour", () => {
    const holder = new EntityBaseline("resource/i-stopped");
    const series = createSeries(holder, "CPUUtilization", 168, "gauge", 0.01);
    const step = 300_000;
    for (let at = 0; at < 3 * 7 * 288; at++) observeSeries(series, start + at * step, 20, rates);
    // Stopped for two weeks; back on a Monday at 10:00 with an hour of boot load.
    const back = start + 5 * 7 * DAY_MS + 10 * HOUR_MS;
    expect(new Date(back).getUTCDay()).toBe(1);
    for (let at = 0; at < 12; at++) observeSeries(series, back + at * step, 80, rates);
    // One hour of twelve samples weighs about one visit of the slot (seasonalAlpha 0.3), each clipped at
    // 3 spreads; with the gap taken as the interval they weighed 0.3 each and the slot went to 72.
    const expected = fromLog(series, expectedLog(series, Math.floor(back / HOUR_MS)).value);
    expect(expected).toBeLessThan(30);
    // The interval keeps its order after the gap: the next hour's samples still weigh a twelfth each.
    for (let at = 12; at < 24; at++) observeSeries(series, back + at * step, 20, rates);
    expect(fromLog(series, expectedLog(series, Math.floor(back / HOUR_MS) + 1).value)).toBeCloseTo(20, 0);
  });

  it("a metric sampled hourly instead of every 5 minutes from now on is learned at its new interval within a day", () => {
    const holder = new EntityBaseline("resource/i-slower");
    const series = createSeries(holder, "CPUUtilization", 168, "gauge", 0.01);
    for (let at = 0; at < 7 * 288; at++) observeSeries(series, start + at * 300_000, 20, rates);
    const hourlyFrom = start + 7 * DAY_MS;
    for (let hour = 0; hour < 24; hour++) observeSeries(series, hourlyFrom + hour * HOUR_MS, 20, rates);
    // One sample an hour: each is the period's only visit and moves its slot by seasonalAlpha.
    const slotHour = Math.floor(hourlyFrom / HOUR_MS) + 24;
    const before = expectedLog(series, slotHour).value;
    observeSeries(series, hourlyFrom + 24 * HOUR_MS, 80, rates);
    const moved = expectedLog(series, slotHour).value - before;
    expect(moved).toBeGreaterThan(0.25 * 3 * 0.15);
  });
});

describe("series mean and variance", () => {
  it("a sample near the largest double (an exporter's DBL_MAX) does not overflow the mean and variance into a stddev of 0 or a mean of NaN", () => {
    const holder = new EntityBaseline("resource/r");
    const series = createSeries(holder, "m", 168, "gauge", 0.01);
    const samples = [10, 12, 1.7e308, -1.7e308, ...Array.from({ length: 20 }, () => 10)];
    samples.forEach((value, index) => observeSeries(series, start + index * HOUR_MS, value, rates));
    const summary = seriesSummary(series, start + samples.length * HOUR_MS);
    // Huge samples leave a huge spread, not none; and the mean stays a number.
    expect(Number(summary["stddev"])).toBeGreaterThan(1e100);
    expect(Number.isFinite(Number(summary["mean"]))).toBe(true);
    expect(summary["mean"]).not.toBe(0);
  });
});
