import { describe, expect, it } from "vitest";
import type { Event } from "../core/event.js";
import { EventTypes } from "../core/event.js";
import { focusFixtureEvents, makeEvent, seededRandom } from "./fixtures.test-support.js";
import { createContextStage } from "./stage.js";
import { createManualClock, createMemoryDocStorage } from "./test-support.js";
import { HOUR_MS, hourOfWeek } from "./time.js";

/** Monday 2024-09-02 00:00 UTC: week starts line up with hour-of-week 0. */
const start = Date.parse("2024-09-02T00:00:00Z");

/** Hourly spend with a weekly shape: office hours, nights, weekends, and a Monday 02:00 batch. */
function weeklyCost(hour: number): number {
  const how = hourOfWeek(start + hour * HOUR_MS);
  const day = Math.floor(how / 24);
  const hourOfDay = how % 24;
  if (how === 2) return 30;
  if (day >= 5) return 1;
  return hourOfDay >= 9 && hourOfDay < 18 ? 8 : 2;
}

/** A real FOCUS row (AWS, with a resource) moved to another charge hour and amount: spikes injected on real rows. */
function rowAt(template: Event, hour: number, cost: number): Event {
  const periodStart = new Date(start + hour * HOUR_MS).toISOString();
  const periodEnd = new Date(start + (hour + 1) * HOUR_MS).toISOString();
  return makeEvent(EventTypes.focusCost, { ...(template.data as Record<string, unknown>), ChargePeriodStart: periodStart, ChargePeriodEnd: periodEnd, BilledCost: cost });
}

function template(): Event {
  const found = focusFixtureEvents().find((event) => {
    const data = event.data as Record<string, unknown>;
    return data["ProviderName"] === "AWS" && typeof data["ResourceId"] === "string";
  });
  if (!found) throw new Error("no AWS row with a resource in the FOCUS fixture");
  return found;
}

describe("spike detector: spend against a seasonal baseline", () => {
  it("does not flag weekly seasonality (incl. a weekly batch hour) but flags a real spike", async () => {
    const clock = createManualClock(start);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    const row = template();
    const random = seededRandom(7);
    const noisy = (hour: number): number => weeklyCost(hour) * (1 + 0.2 * (random() - 0.5));
    const history: number[] = [];
    for (let hour = 0; hour < 4 * 168; hour++) {
      const event = rowAt(row, hour, noisy(hour));
      clock.set(start + (hour + 1) * HOUR_MS);
      stage.observe(event, await stage.build(event));
      history.push((event.data as Record<string, number>)["BilledCost"] as number);
    }
    // A flat baseline would flag the Monday batch: it sits far outside the overall mean ± 3 sd.
    const mean = history.reduce((sum, value) => sum + value, 0) / history.length;
    const sd = Math.sqrt(history.reduce((sum, value) => sum + (value - mean) ** 2, 0) / history.length);
    expect((30 - mean) / sd).toBeGreaterThan(3);

    let worst = 0;
    let batchScore = -1;
    for (let hour = 4 * 168; hour < 5 * 168; hour++) {
      const event = rowAt(row, hour, noisy(hour));
      clock.set(start + (hour + 1) * HOUR_MS);
      const context = await stage.build(event);
      const spike = context.signals["spike"]!;
      expect(spike.values?.["applicable"]).toBe(true);
      worst = Math.max(worst, spike.score);
      if (hour % 168 === 2) batchScore = spike.score;
      stage.observe(event, context);
    }
    expect(batchScore).toBe(0);
    expect(worst).toBeLessThan(0.5);

    // Wednesday 14:00 of week 6 at five times its usual spend.
    const spikeHour = 5 * 168 + 2 * 24 + 14;
    const event = rowAt(row, spikeHour, 5 * weeklyCost(spikeHour));
    clock.set(start + (spikeHour + 1) * HOUR_MS);
    const context = await stage.build(event);
    const spike = context.signals["spike"]!;
    expect(spike.score).toBeGreaterThanOrEqual(0.5);
    expect(spike.confidence).toBeGreaterThan(0.9);
    expect(spike.values).toMatchObject({ slot: "Wed 14:00 UTC", baseline: "slot" });
    expect(spike.values?.["expected"]).toBeGreaterThan(6);
    expect(spike.values?.["expected"]).toBeLessThan(10);
    expect(spike.factors).toHaveLength(1);
    expect(spike.factors[0]?.contribution).toBe(spike.score);
    expect(spike.factors[0]?.detail).toContain("Wed 14:00 UTC");
    // The same amount on the Monday batch hour is normal.
    const batch = rowAt(row, 5 * 168 + 2, 30);
    expect((await stage.build(batch)).signals["spike"]?.score).toBe(0);
    expect(stage.stats().observeErrors).toEqual([]);
  });

  it("sums the rows of one period: many small rows of a normal hour are not a spike, their total is judged", async () => {
    const clock = createManualClock(start);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    const row = template();
    // Four rows per hour of 1 each: the period total is 4.
    for (let hour = 0; hour < 3 * 168; hour++) {
      for (let part = 0; part < 4; part++) {
        const event = rowAt(row, hour, 1);
        stage.observe(event, await stage.build(event));
      }
    }
    const hour = 3 * 168 + 10;
    const scores: number[] = [];
    for (let part = 0; part < 12; part++) {
      const event = rowAt(row, hour, 1);
      const context = await stage.build(event);
      scores.push(context.signals["spike"]!.score);
      stage.observe(event, context);
    }
    // The first four rows make a normal hour; the 12th makes the hour 3× its usual total.
    expect(scores.slice(0, 4).every((score) => score === 0)).toBe(true);
    expect(scores[11]).toBeGreaterThan(0.5);
  });

  it("a monthly charge (a Route 53 hosted zone, a support fee) in an hourly series is not a spike on the 1st at 00:00", async () => {
    // Monday 2024-09-02 00:00 to Tuesday 2024-10-01 00:00, hourly, ~2 an hour with noise.
    const clock = createManualClock(start);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    const row = template();
    const random = seededRandom(13);
    const hours = (Date.parse("2024-10-01T00:00:00Z") - start) / HOUR_MS;
    for (let hour = 0; hour < hours; hour++) {
      const event = rowAt(row, hour, 2 * (1 + 0.2 * (random() - 0.5)));
      stage.observe(event, await stage.build(event));
    }
    const monthly = makeEvent(EventTypes.focusCost, { ...(row.data as Record<string, unknown>), ChargePeriodStart: "2024-10-01T00:00:00Z", ChargePeriodEnd: "2024-11-01T00:00:00Z", BilledCost: 50 });
    const monthlyContext = await stage.build(monthly);
    expect(monthlyContext.signals["spike"]!.score).toBe(0);
    expect(monthlyContext.signals["spike"]!.values?.["reason"]).toContain("longer than a day");
    stage.observe(monthly, monthlyContext);
    // The hour's own usage after it is judged on its own: 2 against ~2.
    const usage = rowAt(row, hours, 2);
    const usageContext = await stage.build(usage);
    expect(usageContext.signals["spike"]!.score).toBe(0);
    expect(usageContext.signals["spike"]!.values?.["observed"]).toBe(2);
    stage.observe(usage, usageContext);
    expect(stage.stats().observeErrors).toEqual([]);
  });

  it("a metric past the per-entity series limit is said not to be tracked, not to have no baseline yet", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const sample = (metric: string, hour: number): Event => makeEvent(EventTypes.metric, { resource: "node-1", metric, value: 10 + (hour % 3), unit: "Count", ts: new Date(start + hour * HOUR_MS).toISOString() });
    // A node exporter sends many metrics; the first eight get series.
    const names = ["node_load1", "node_load5", "node_load15", "node_memory_MemFree_bytes", "node_filesystem_free_bytes", "node_network_receive_bytes_total", "node_network_transmit_bytes_total", "node_disk_io_time_seconds_total", "node_cpu_seconds_total"];
    for (let hour = 0; hour < 48; hour++) for (const name of names) stage.observe(sample(name, hour), await stage.build(sample(name, hour)));
    const tracked = (await stage.build(sample("node_load1", 48))).signals["spike"]!;
    expect(tracked.values?.["applicable"]).toBe(true);
    const untracked = (await stage.build(sample("node_cpu_seconds_total", 48))).signals["spike"]!;
    expect(untracked.values?.["applicable"]).toBe(false);
    expect(untracked.values?.["reason"]).not.toContain("yet");
    expect(untracked.values?.["reason"]).toContain("8 series");
  });

  it("a daily delivery of the last day's hourly rows in file order (not time order) is summed per hour: steady spend raises no spike", async () => {
    const clock = createManualClock(start);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    const row = template();
    const random = seededRandom(5);
    const at = (resource: string, hour: number): Event => {
      const event = rowAt(row, hour, 1 + 0.1 * random());
      return { ...event, data: { ...(event.data as Record<string, unknown>), ResourceId: resource } };
    };
    let worst = 0;
    for (let day = 0; day < 35; day++) {
      // Three instances at ~1 an hour each; an export lists its rows in its own order.
      const rows: Event[] = [];
      for (let hour = day * 24; hour < day * 24 + 24; hour++) for (const resource of ["i-a", "i-b", "i-c"]) rows.push(at(resource, hour));
      for (let index = rows.length - 1; index > 0; index--) {
        const other = Math.floor(random() * (index + 1));
        [rows[index], rows[other]] = [rows[other] as Event, rows[index] as Event];
      }
      clock.set(start + (day + 1) * 24 * HOUR_MS);
      for (const event of rows) {
        const context = await stage.build(event);
        if (day >= 21) worst = Math.max(worst, context.signals["spike"]!.score);
        stage.observe(event, context);
      }
    }
    expect(worst).toBeLessThan(0.5);
    // The account's hours are learned as their totals (~3.15), not as single rows (~1.05).
    const probe = await stage.build(at("i-a", 35 * 24));
    expect((probe.signals["spike"]!.values?.["byRole"] as Record<string, { expected: number }>)["account"]!.expected).toBeGreaterThan(2.5);
    // A real jump in one hour of the next delivery still shows.
    const jump = at("i-a", 35 * 24 + 5);
    const jumped = { ...jump, data: { ...(jump.data as Record<string, unknown>), BilledCost: 12 } };
    expect((await stage.build(jumped)).signals["spike"]!.score).toBeGreaterThanOrEqual(0.5);
  });

  it("gates on minDelta from settings (packs set it) and reports learning series", async () => {
    const clock = createManualClock(start);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock, settings: { detectors: { spike: { minDelta: 100 } } } });
    const row = template();
    const first = rowAt(row, 0, 1);
    const firstContext = await stage.build(first);
    expect(firstContext.signals["spike"]?.values).toMatchObject({ applicable: false });
    stage.observe(first, firstContext);
    const second = rowAt(row, 1, 1);
    expect((await stage.build(second)).signals["spike"]?.values?.["byRole"]).toMatchObject({ resource: { learning: true, periods: 0 } });
    for (let hour = 1; hour < 3 * 168; hour++) {
      const event = rowAt(row, hour, 1);
      stage.observe(event, await stage.build(event));
    }
    // ×20 but only 19 above expected: below minDelta 100.
    expect((await stage.build(rowAt(row, 3 * 168 + 5, 20))).signals["spike"]?.score).toBe(0);
    expect((await stage.build(rowAt(row, 3 * 168 + 5, 500))).signals["spike"]?.score).toBeGreaterThan(0.5);
  });

  it("daily rows in local time starting on a 23-hour day (DST begins) get a day-of-week series, not an hour-of-week one", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(Date.parse("2024-03-10T05:00:00Z")) });
    const row = template();
    // US Eastern days: 2024-03-10 has 23 hours (clocks go forward), the days after it 24.
    const local = (day: number): string => `2024-03-${String(10 + day).padStart(2, "0")}T00:00:00${day === 0 ? "-05:00" : "-04:00"}`;
    const day = (index: number, cost: number): Event => makeEvent(EventTypes.focusCost, { ...(row.data as Record<string, unknown>), ChargePeriodStart: local(index), ChargePeriodEnd: local(index + 1), BilledCost: cost });
    for (let index = 0; index < 8; index++) {
      const event = day(index, 20);
      stage.observe(event, await stage.build(event));
    }
    const context = await stage.build(day(8, 20));
    expect(context.features?.["resource"]?.["series"]).toMatchObject({ cost: { season: "day-of-week" } });
    expect(context.signals["spike"]?.values?.["slot"]).toBe("Mon");
  });

  it("a daily credit row after the usage row is not read as spend: stable usage with credits raises no spike", async () => {
    const clock = createManualClock(start);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    const row = template();
    const day = (index: number, cost: number, category: string): Event => makeEvent(EventTypes.focusCost, {
      ...(row.data as Record<string, unknown>), ChargeCategory: category,
      ChargePeriodStart: new Date(start + index * 24 * HOUR_MS).toISOString(), ChargePeriodEnd: new Date(start + (index + 1) * 24 * HOUR_MS).toISOString(), BilledCost: cost,
    });
    let worst = 0;
    for (let index = 0; index < 28; index++) {
      for (const event of [day(index, 20, "Usage"), day(index, -10, "Credit")]) {
        clock.set(start + (index + 1) * 24 * HOUR_MS);
        const context = await stage.build(event);
        if (index >= 14) worst = Math.max(worst, context.signals["spike"]?.score ?? 0);
        stage.observe(event, context);
      }
    }
    expect(worst).toBeLessThan(0.5);
    // A real jump in usage still shows.
    const jump = day(28, 100, "Usage");
    clock.set(start + 29 * 24 * HOUR_MS);
    expect((await stage.build(jump)).signals["spike"]?.score).toBeGreaterThanOrEqual(0.5);
  });
});

describe("spike detector: metrics sampled every few minutes", () => {
  it("a sustained tripling of a 5-minute CPU metric stays a spike for its first hour: the spread learns per hour, not per sample", async () => {
    const clock = createManualClock(start);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    const random = seededRandom(11);
    const sample = (timeMs: number, value: number): Event => makeEvent(EventTypes.metric, { resource: "i-api", metric: "CPUUtilization", value, unit: "Percent", ts: new Date(timeMs).toISOString() });
    const step = 300_000;
    const steady = 14 * 288;
    for (let index = 0; index < steady; index++) {
      const event = sample(start + index * step, 20 * (1 + 0.1 * (random() - 0.5)));
      stage.observe(event, await stage.build(event));
    }
    const scores: number[] = [];
    for (let index = steady; index < steady + 12; index++) {
      const event = sample(start + index * step, 60);
      const context = await stage.build(event);
      scores.push(context.signals["spike"]!.score);
      stage.observe(event, context);
    }
    // Per sample, the spread took each 5-minute sample as a period: from the 9th sample (40 minutes in) the tripled CPU scored under 0.5.
    expect(Math.min(...scores)).toBeGreaterThanOrEqual(0.5);
  });
});
