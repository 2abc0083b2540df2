import { describe, expect, it } from "vitest";
import type { Event } from "../core/event.js";
import { EventTypes } from "../core/event.js";
import { focusFixtureEvents, makeEvent } from "./fixtures.test-support.js";
import { createContextStage, type ContextStage } from "./stage.js";
import { createManualClock, createMemoryDocStorage, type ManualClock } from "./test-support.js";
import { DAY_MS, HOUR_MS } from "./time.js";

/** Monday 2024-09-02 00:00 UTC. */
const start = Date.parse("2024-09-02T00:00:00Z");
/** Ten years on: a row stamped by a source with a wrong clock (or a typo in the year). */
const decadeAhead = Date.parse("2034-09-04T10:00:00Z");

function focusTemplate(): Event {
  const found = focusFixtureEvents().find((event) => {
    const data = event.data as Record<string, unknown>;
    return data["ProviderName"] === "AWS" && typeof data["ResourceId"] === "string";
  });
  if (!found) throw new Error("no AWS row with a resource in the FOCUS fixture");
  return found;
}

/** A real FOCUS row moved to the charge hour starting at `timeMs`. */
function rowAt(template: Event, timeMs: number, cost: number): Event {
  return makeEvent(EventTypes.focusCost, { ...(template.data as Record<string, unknown>), ChargePeriodStart: new Date(timeMs).toISOString(), ChargePeriodEnd: new Date(timeMs + HOUR_MS).toISOString(), BilledCost: cost });
}

function metric(resource: string, name: string, value: number, timeMs: number): Event {
  return makeEvent(EventTypes.metric, { resource, metric: name, value, unit: name === "CPUUtilization" ? "Percent" : "Bytes", ts: new Date(timeMs).toISOString(), labels: {} });
}

/** Observes an event as the live pipeline does: the clock a little after the event's own time. */
async function live(stage: ContextStage, clock: ManualClock, event: Event, timeMs: number): Promise<void> {
  clock.set(Math.max(clock.now().getTime(), timeMs + 60_000));
  stage.observe(event, await stage.build(event));
}

/** Observes an event stamped by a wrong clock: the stage's clock stays where it is. */
async function stamped(stage: ContextStage, event: Event): Promise<void> {
  stage.observe(event, await stage.build(event));
}

const costSeries = (features: Record<string, unknown> | undefined): Record<string, unknown> => (features?.["series"] as Record<string, Record<string, unknown>>)["cost"] as Record<string, unknown>;

describe("an event stamped far ahead of the clock", () => {
  it("does not stop a spend series from summing the rows of each hour, and is reported", async () => {
    const clock = createManualClock(start);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    const template = focusTemplate();
    // Four rows of 1 per hour: each hour's total is 4.
    const hours = async (from: number, to: number): Promise<void> => {
      for (let hour = from; hour < to; hour++) for (let part = 0; part < 4; part++) await live(stage, clock, rowAt(template, start + hour * HOUR_MS, 1), start + hour * HOUR_MS);
    };
    await hours(0, 2 * 168);
    const wrong = rowAt(template, decadeAhead, 1);
    const wrongContext = await stage.build(wrong);
    expect(wrongContext.signals["spike"]?.values?.["reason"]).toContain("ahead of the clock");
    stage.observe(wrong, wrongContext);
    expect(stage.stats().futureEvents?.[0]).toContain(wrong.id);
    expect(stage.stats().futureEvents?.[0]).toContain("2034-09-04T10:00:00.000Z");
    await hours(2 * 168, 3 * 168);

    const next = rowAt(template, start + (3 * 168 + 10) * HOUR_MS, 1);
    const context = await stage.build(next);
    const cost = costSeries(context.features?.["resource"]);
    // Hours committed: one per hour (less the 32 still open), not one per row.
    expect(cost["count"]).toBe(3 * 168 - 32);
    expect(cost["expected"]).toBeGreaterThan(3.5);
    expect(cost["expected"]).toBeLessThan(4.5);
    // Its own row of an ordinary hour is no spike.
    expect(context.signals["spike"]?.score).toBe(0);
    expect(context.features?.["resource"]?.["lastSeen"]).not.toContain("2034");
    expect(stage.stats().observeErrors).toEqual([]);
  });

  it("does not give a young metric series full confidence (weeks of history counted up to it)", async () => {
    const clock = createManualClock(start);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    for (let hour = 0; hour < 3 * 24; hour++) await live(stage, clock, metric("i-young", "CPUUtilization", 40, start + hour * HOUR_MS), start + hour * HOUR_MS);
    await stamped(stage, metric("i-young", "CPUUtilization", 40, decadeAhead));
    const sample = metric("i-young", "CPUUtilization", 40, start + 3 * DAY_MS);
    const spike = (await stage.build(sample)).signals["spike"]!;
    // Three days of a two-week confidence ramp.
    expect(spike.confidence).toBeLessThan(0.3);
  });

  it("does not take the idle ring's slot of its day from the real days that fall in it later", async () => {
    const clock = createManualClock(start);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    const sample = async (timeMs: number): Promise<void> => {
      await live(stage, clock, metric("i-idle", "CPUUtilization", 1, timeMs), timeMs);
      await live(stage, clock, metric("i-idle", "NetworkIn", 100, timeMs), timeMs);
    };
    for (let hour = 0; hour < 3 * 24; hour += 6) await sample(start + hour * HOUR_MS);
    await stamped(stage, metric("i-idle", "CPUUtilization", 1, decadeAhead));
    await stamped(stage, metric("i-idle", "NetworkIn", 100, decadeAhead));
    for (let hour = 3 * 24; hour < 20 * 24; hour += 6) await sample(start + hour * HOUR_MS);
    const idle = (await stage.build(metric("i-idle", "CPUUtilization", 1, start + 20 * DAY_MS + HOUR_MS))).signals["idle"]!;
    expect(idle.values).toMatchObject({ windowDays: 14, daysWithSamples: 14, idleDays: 14 });
  });
});
