import { describe, expect, it } from "vitest";
import { EventTypes } from "../core/event.js";
import { makeEvent, seededRandom } from "./fixtures.test-support.js";
import { compileSchedule, scheduleTouchesDay } from "./schedule.js";
import { createContextStage, type ContextStage } from "./stage.js";
import { createManualClock, createMemoryDocStorage } from "./test-support.js";
import { DAY_MS, HOUR_MS } from "./time.js";

/** Monday 2024-09-02. */
const start = Date.parse("2024-09-02T00:00:00Z");

function metric(resource: string, name: string, value: number, timeMs: number) {
  return makeEvent(EventTypes.metric, { resource, metric: name, value, unit: name === "CPUUtilization" ? "Percent" : "Bytes", ts: new Date(timeMs).toISOString(), labels: {} });
}

/** Hourly CPU and network samples for `days` days from a utilisation model. */
async function feed(stage: ContextStage, resource: string, days: number, model: (timeMs: number) => { cpu: number; network: number }): Promise<void> {
  for (let hour = 0; hour < days * 24; hour++) {
    const timeMs = start + hour * HOUR_MS;
    const { cpu, network } = model(timeMs);
    for (const event of [metric(resource, "CPUUtilization", cpu, timeMs), metric(resource, "NetworkIn", network, timeMs)]) stage.observe(event, await stage.build(event));
  }
}

async function idleAt(stage: ContextStage, resource: string, day: number) {
  const event = metric(resource, "CPUUtilization", 1, start + day * DAY_MS + HOUR_MS);
  return (await stage.build(event)).signals["idle"]!;
}

const isSundayBatch = (timeMs: number): boolean => new Date(timeMs).getUTCDay() === 0 && new Date(timeMs).getUTCHours() >= 1 && new Date(timeMs).getUTCHours() < 4;

describe("idle detector", () => {
  it("flags sustained low CPU and network with confidence from coverage, not a busy resource", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const random = seededRandom(3);
    await feed(stage, "i-idle", 14, () => ({ cpu: 1 + 2 * random(), network: 2_000 + 1_000 * random() }));
    await feed(stage, "i-busy", 14, (timeMs) => ({ cpu: new Date(timeMs).getUTCHours() >= 9 && new Date(timeMs).getUTCHours() < 18 ? 60 : 15, network: 5e7 }));
    const idle = await idleAt(stage, "i-idle", 14);
    expect(idle.score).toBe(1);
    expect(idle.confidence).toBe(1);
    expect(idle.values).toMatchObject({ windowDays: 14, daysWithSamples: 14, idleDays: 14, scheduled: false });
    expect(idle.factors[0]).toMatchObject({ name: "sustained low utilisation", contribution: 1 });
    const busy = await idleAt(stage, "i-busy", 14);
    expect(busy.score).toBe(0);
    expect(busy.factors).toEqual([]);
  });

  it("today's samples do not push the oldest complete day out of the window", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start), settings: { detectors: { idle: { days: 3, minDays: 3 } } } });
    await feed(stage, "i-steady", 4, () => ({ cpu: 1, network: 100 }));
    // Day 4 has started and its first samples were learned, as in any live stream.
    for (const event of [metric("i-steady", "CPUUtilization", 1, start + 4 * DAY_MS), metric("i-steady", "NetworkIn", 100, start + 4 * DAY_MS)]) stage.observe(event, await stage.build(event));
    const idle = await idleAt(stage, "i-steady", 4);
    expect(idle.values).toMatchObject({ windowDays: 3, daysWithSamples: 3, idleDays: 3 });
    expect(idle.score).toBe(1);
    expect(idle.confidence).toBe(1);
  });

  it("a 31-day ring (32 slots with the current day) survives a restart", async () => {
    const storage = createMemoryDocStorage();
    const settings = { detectors: { idle: { days: 31, minDays: 3 } } };
    const stage = createContextStage({ storage, clock: createManualClock(start), settings });
    await feed(stage, "i-long", 4, () => ({ cpu: 1, network: 100 }));
    await stage.flush();
    const restarted = createContextStage({ storage, clock: createManualClock(start), settings });
    expect((await idleAt(restarted, "i-long", 4)).values).toMatchObject({ windowDays: 31, daysWithSamples: 4, idleDays: 4 });
  });

  it("raising idle.days at run time widens the window of resources already tracked, keeping their days", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start), settings: { detectors: { idle: { days: 7, minDays: 3 } } } });
    await feed(stage, "i-old", 10, () => ({ cpu: 1, network: 100 }));
    expect((await idleAt(stage, "i-old", 10)).values).toMatchObject({ windowDays: 7, daysWithSamples: 7 });
    stage.configure({ detectors: { idle: { days: 14 } } });
    // The next sample widens the ring; the days it held are kept.
    const next = metric("i-old", "CPUUtilization", 1, start + 10 * DAY_MS);
    stage.observe(next, await stage.build(next));
    // The 8-slot ring held days 2-9; day 10 joins them.
    expect((await idleAt(stage, "i-old", 11)).values).toMatchObject({ windowDays: 14, daysWithSamples: 9, idleDays: 9 });
    await feed(stage, "i-new", 14, () => ({ cpu: 1, network: 100 }));
    expect((await idleAt(stage, "i-new", 14)).values).toMatchObject({ windowDays: 14, daysWithSamples: 14 });
  });

  it("partial coverage lowers confidence; too few days give no score", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    await feed(stage, "i-new", 2, () => ({ cpu: 1, network: 100 }));
    const young = await idleAt(stage, "i-new", 2);
    expect(young.score).toBe(0);
    expect(young.values?.["reason"]).toContain("only 2 day(s)");
    const partial = await idleAt(stage, "i-new", 7);
    expect(partial.confidence).toBeLessThan(0.3);
    // CPU samples only: idle by CPU, but half the confidence (network unknown).
    for (let hour = 0; hour < 14 * 24; hour++) {
      const event = metric("i-cpu-only", "CPUUtilization", 1, start + hour * HOUR_MS);
      stage.observe(event, await stage.build(event));
    }
    const cpuOnly = await idleAt(stage, "i-cpu-only", 14);
    expect(cpuOnly.score).toBe(1);
    expect(cpuOnly.confidence).toBe(0.5);
    expect(cpuOnly.factors[0]?.detail).toContain("no network samples");
  });

  it("a weekly batch resource is not idle when its schedule says when it runs; idle inside its windows still is", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const batch = (timeMs: number) => (isSundayBatch(timeMs) ? { cpu: 85, network: 8e7 } : { cpu: 0.5, network: 500 });
    await feed(stage, "i-batch", 14, batch);
    // Without a schedule the quiet weekdays look idle.
    const unscheduled = await idleAt(stage, "i-batch", 14);
    expect(unscheduled.score).toBeCloseTo(12 / 14, 3);

    await stage.entities.upsert({ kind: "resource", id: "i-batch-2", attrs: { schedule: "0 1 * * SUN 3h" } }, "ops");
    await feed(stage, "i-batch-2", 14, batch);
    const scheduled = await idleAt(stage, "i-batch-2", 14);
    expect(scheduled.score).toBe(0);
    expect(scheduled.values).toMatchObject({ scheduled: true, scheduledDays: 2, daysWithSamples: 2, idleDays: 0 });
    expect(scheduled.factors.some((factor) => factor.name === "schedule" && factor.detail?.includes("0 1 * * SUN"))).toBe(true);

    await stage.entities.upsert({ kind: "resource", id: "i-batch-dead", attrs: { schedule: "0 1 * * SUN 3h" } }, "ops");
    await feed(stage, "i-batch-dead", 14, () => ({ cpu: 0.5, network: 500 }));
    const dead = await idleAt(stage, "i-batch-dead", 14);
    expect(dead.score).toBe(1);
    expect(dead.values).toMatchObject({ scheduledDays: 2, idleDays: 2 });
    expect(stage.stats().observeErrors).toEqual([]);
  });

  it("per-minute samples (CloudWatch detailed monitoring): the day's mean is the mean of all its samples, not of its first hours", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    // A US-hours service in UTC: ~2% until 13:00, ~9.5% after; max 10 (under cpuMax). Mean ≈ 5.49: not idle.
    const cpuAt = (minute: number): number => (minute < 780 ? 2 + (minute % 3) * 0.1 : 9 + (minute % 5) * 0.25);
    let sum = 0;
    for (let minute = 0; minute < 3 * 1440; minute++) {
      const cpu = cpuAt(minute % 1440);
      sum += cpu;
      const event = metric("i-us-hours", "CPUUtilization", cpu, start + minute * 60_000);
      stage.observe(event, await stage.build(event));
      const network = metric("i-us-hours", "NetworkIn", minute % 1440 < 780 ? 2e5 : 4e5 + (minute % 7) * 1e4, start + minute * 60_000);
      stage.observe(network, await stage.build(network));
    }
    const signal = await idleAt(stage, "i-us-hours", 3);
    expect(signal.values?.["meanCpu"]).toBeCloseTo(sum / (3 * 1440), 2);
    expect(signal.values?.["idleDays"]).toBe(0);
    expect(signal.score).toBe(0);
    // Network: 780 minutes at 200 kB, 660 at 400-460 kB.
    const meanNetwork = (780 * 2e5 + 660 * 4.3e5) / 1440;
    expect(Number(signal.values?.["meanNetwork"]) / meanNetwork).toBeCloseTo(1, 2);
  });

  it("a sample stamped with Go's zero time or in epoch nanoseconds neither corrupts the baseline nor makes later builds throw", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    await feed(stage, "i-go", 14, (timeMs) => ({ cpu: new Date(timeMs).getUTCDay() === 0 ? 40 : 4, network: 1e5 }));
    const sunday = start + 13 * DAY_MS + 3 * HOUR_MS;
    const cpuSeries = (features: Record<string, Record<string, unknown>> | undefined): Record<string, unknown> | undefined => (features?.["resource"]?.["series"] as Record<string, Record<string, unknown>> | undefined)?.["CPUUtilization"];
    const before = cpuSeries((await stage.build(metric("i-go", "CPUUtilization", 40, sunday))).features);
    // time.Time{} marshals as "0001-01-01T00:00:00Z" (an exporter that never set it); OpenTelemetry sends timeUnixNano.
    const zero = makeEvent(EventTypes.metric, { resource: "i-go", metric: "CPUUtilization", value: 3, unit: "Percent", ts: "0001-01-01T00:00:00Z" }, { time: new Date(start + 14 * DAY_MS).toISOString() });
    const nanos = makeEvent(EventTypes.metric, { resource: "i-go", metric: "CPUUtilization", value: 3, unit: "Percent", ts: (start + 14 * DAY_MS) * 1e6 });
    for (const event of [zero, nanos]) {
      const context = await stage.build(event);
      stage.observe(event, context);
    }
    expect(stage.stats().observeErrors).toEqual([]);
    const after = await stage.build(metric("i-go", "CPUUtilization", 40, sunday));
    // The Sunday slots of the CPU series are what they were; the odd samples counted at their event time.
    expect(before?.["expected"]).toBeGreaterThan(30);
    expect(cpuSeries(after.features)?.["expected"]).toBe(before?.["expected"]);
    expect(after.features?.["resource"]).toMatchObject({ firstSeen: new Date(start).toISOString(), lastSeen: new Date(start + 14 * DAY_MS).toISOString() });
    expect(after.signals["spike"]!.score).toBe(0);
  });

  it("CPU utilisation sent as a ratio (OpenTelemetry unit \"1\", Cloud Monitoring \"10^2.%\") is read as percent, not as a near-zero percentage", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const random = seededRandom(11);
    for (const [resource, unit] of [["vm-otel", "1"], ["vm-gcp", "10^2.%"]] as const) {
      for (let hour = 0; hour < 7 * 24; hour++) {
        // 35-60% busy: far from idle.
        const event = makeEvent(EventTypes.metric, { resource, metric: "cpu.utilization", value: 0.35 + 0.25 * random(), unit, ts: new Date(start + hour * HOUR_MS).toISOString() });
        stage.observe(event, await stage.build(event));
      }
      const signal = await idleAt(stage, resource, 7);
      expect(signal.values?.["idleDays"]).toBe(0);
      expect(signal.score).toBe(0);
      expect(Number(signal.values?.["meanCpu"])).toBeGreaterThan(40);
    }
    // Percent stays percent.
    for (let hour = 0; hour < 7 * 24; hour++) {
      const event = makeEvent(EventTypes.metric, { resource: "vm-pct", metric: "cpu.utilization", value: 0.5, unit: "%", ts: new Date(start + hour * HOUR_MS).toISOString() });
      stage.observe(event, await stage.build(event));
    }
    expect((await idleAt(stage, "vm-pct", 7)).values).toMatchObject({ idleDays: 7, meanCpu: 0.5 });
  });

  it("metric names configured in cpuMetrics / networkMetrics match case-insensitively, as configured (CloudWatch spelling)", async () => {
    const settings = { detectors: { idle: { cpuMetrics: ["HostCPUPercent"], networkMetrics: ["HostNetworkBytes"] } } };
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start), settings });
    for (let hour = 0; hour < 5 * 24; hour++) {
      const ts = new Date(start + hour * HOUR_MS).toISOString();
      for (const event of [makeEvent(EventTypes.metric, { resource: "vm-host", metric: "HostCPUPercent", value: 1, ts }), makeEvent(EventTypes.metric, { resource: "vm-host", metric: "hostnetworkbytes", value: 10, ts })]) {
        stage.observe(event, await stage.build(event));
      }
    }
    const signal = await idleAt(stage, "vm-host", 5);
    expect(signal.values).toMatchObject({ daysWithSamples: 5, idleDays: 5, meanNetwork: 10 });
    expect(signal.score).toBe(1);
  });

  it("a malformed schedule is reported as a factor and ignored, never thrown", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    // The API refuses it; an inventory snapshot (written by observe) can still carry one.
    await expect(stage.entities.upsert({ kind: "resource", id: "i-bad", attrs: { schedule: "every sunday" } }, "ops")).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "attrs.schedule" } });
    const snapshot = makeEvent(EventTypes.resource, { id: "i-bad", kind: "aws.ec2.instance", attrs: { schedule: "every sunday" } });
    stage.observe(snapshot, await stage.build(snapshot));
    await feed(stage, "i-bad", 5, () => ({ cpu: 1, network: 10 }));
    const signal = await idleAt(stage, "i-bad", 5);
    expect(signal.score).toBe(1);
    expect(signal.factors.find((factor) => factor.name === "schedule ignored")?.detail).toContain("resource.attrs.schedule");
  });

  it("idle.days must be a whole number of days: with 7.5 the ring's slots were fractional indexes, no sample was stored and the detector never saw a day", async () => {
    const attempt = (days: number): unknown => {
      try {
        return createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start), settings: { detectors: { idle: { days, minDays: 3 } } } });
      } catch (error) {
        return error;
      }
    };
    expect(attempt(7.5)).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "context.detectors.idle.days" } });
    expect(String((attempt(7.5) as Error).message)).toContain("whole number");
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    expect(() => stage.configure({ detectors: { idle: { days: 10.5 } } })).toThrow(/idle\.days/);
    expect(stage.settings.detectors.idle.days).toBe(14);
  });

  it("counts days after 2149-06-05 (epoch day 65,536), which a 16-bit day number no longer holds, and keeps them through a restart", async () => {
    const storage = createMemoryDocStorage();
    const late = Date.parse("2149-06-01T00:00:00Z");
    const clock = createManualClock(late);
    const stage = createContextStage({ storage, clock });
    for (let hour = 0; hour < 14 * 24; hour += 3) {
      for (const event of [metric("i-late", "CPUUtilization", 1, late + hour * HOUR_MS), metric("i-late", "NetworkIn", 100, late + hour * HOUR_MS)]) stage.observe(event, await stage.build(event));
    }
    const probe = metric("i-late", "CPUUtilization", 1, late + 14 * DAY_MS + HOUR_MS);
    expect((await stage.build(probe)).signals["idle"]!.values).toMatchObject({ windowDays: 14, daysWithSamples: 14, idleDays: 14 });
    await stage.flush();
    const restarted = createContextStage({ storage, clock });
    expect((await restarted.build(probe)).signals["idle"]!.values).toMatchObject({ windowDays: 14, daysWithSamples: 14, idleDays: 14 });
  });
});

describe("schedules", () => {
  it("cron windows with durations, offsets, day-of-month, absolute windows and lists", () => {
    const nightly = compileSchedule("30 2 * * 1-5 90m");
    expect(nightly.contains(Date.parse("2024-09-03T02:30:00Z"))).toBe(true);
    expect(nightly.contains(Date.parse("2024-09-03T03:59:00Z"))).toBe(true);
    expect(nightly.contains(Date.parse("2024-09-03T04:00:00Z"))).toBe(false);
    expect(nightly.contains(Date.parse("2024-09-07T02:45:00Z"))).toBe(false);
    const offset = compileSchedule({ cron: "0 9 * * *", duration: "PT8H", utcOffsetMinutes: 120 });
    expect(offset.contains(Date.parse("2024-09-03T07:00:00Z"))).toBe(true);
    expect(offset.contains(Date.parse("2024-09-03T06:59:00Z"))).toBe(false);
    const monthly = compileSchedule("0 0 1 * * 2h");
    expect(monthly.contains(Date.parse("2024-10-01T01:00:00Z"))).toBe(true);
    expect(monthly.contains(Date.parse("2024-10-02T01:00:00Z"))).toBe(false);
    const shifts = compileSchedule([{ from: "2024-09-07T00:00:00Z", until: "2024-09-09T00:00:00Z" }, "0 22 * * FRI 2h"]);
    expect(shifts.contains(Date.parse("2024-09-08T03:00:00Z"))).toBe(true);
    expect(shifts.contains(Date.parse("2024-09-13T23:00:00Z"))).toBe(true);
    expect(shifts.contains(Date.parse("2024-09-12T23:00:00Z"))).toBe(false);
  });

  it("long windows (a monthly week, a whole week every minute) answer as cron does", () => {
    // Reference: a window contains t when some minute in (t - duration, t] is a cron match.
    const matches = (t: number, minute: ReadonlySet<number> | undefined, hour: ReadonlySet<number> | undefined, dom: ReadonlySet<number> | undefined, dow: ReadonlySet<number> | undefined, durationMinutes: number): boolean => {
      for (let back = 0; back < durationMinutes; back++) {
        const date = new Date(Math.floor(t / 60_000) * 60_000 - back * 60_000);
        const domOk = !dom || dom.has(date.getUTCDate());
        const dowOk = !dow || dow.has(date.getUTCDay());
        if ((!minute || minute.has(date.getUTCMinutes())) && (!hour || hour.has(date.getUTCHours())) && (dom && dow ? domOk || dowOk : domOk && dowOk)) return true;
      }
      return false;
    };
    const monthStart = compileSchedule("0 0 1 * * 7d");
    const always = compileSchedule("* * * * * 7d");
    const monthEndOrMonday = compileSchedule("30 22 28 * MON 30h");
    const idleLookback: boolean[] = [];
    for (let day = 19_950; day < 19_964; day++) idleLookback.push(scheduleTouchesDay(monthStart, day));
    const random = seededRandom(17);
    for (let probe = 0; probe < 300; probe++) {
      const t = Date.parse("2024-08-20T00:00:00Z") + Math.floor(random() * 60 * DAY_MS);
      expect(monthStart.contains(t), new Date(t).toISOString()).toBe(matches(t, new Set([0]), new Set([0]), new Set([1]), undefined, 7 * 1440));
      expect(monthEndOrMonday.contains(t), new Date(t).toISOString()).toBe(matches(t, new Set([30]), new Set([22]), new Set([28]), new Set([1]), 30 * 60));
      expect(always.contains(t)).toBe(true);
    }
    // 2024-08-16 .. 2024-08-29 (days 19950-19963): the window of Aug 1 ended on Aug 8.
    expect(idleLookback.every((touches) => !touches)).toBe(true);
    expect(scheduleTouchesDay(monthStart, Math.floor(Date.parse("2024-09-03T00:00:00Z") / DAY_MS))).toBe(true);
  });

  it("a window shorter than 15 minutes, or starting after 23:45, still makes its day a scheduled day", () => {
    const day = Math.floor(Date.parse("2024-09-03T00:00:00Z") / DAY_MS);
    // 02:05-02:15 falls between quarter-hour probes: the idle detector saw no scheduled day at all.
    expect(scheduleTouchesDay(compileSchedule("5 2 * * * 10m"), day)).toBe(true);
    expect(scheduleTouchesDay(compileSchedule("7 2 3 9 * 1m"), day)).toBe(true);
    expect(scheduleTouchesDay(compileSchedule("7 2 3 9 * 1m"), day + 1)).toBe(false);
    expect(scheduleTouchesDay(compileSchedule({ from: "2024-09-03T10:01:00Z", until: "2024-09-03T10:03:00Z" }), day)).toBe(true);
    // A window starting after the last quarter hour of the day, running into the next one.
    expect(scheduleTouchesDay(compileSchedule("50 23 3 9 * 1h"), day)).toBe(true);
  });

  it("a day field starting with * (\"*/2\") leaves the other day field in charge, as cron does: days must match both", () => {
    // Vixie cron / cronie: only when neither day field starts with "*" does either one match.
    const everyOtherWeekday = compileSchedule("0 2 */2 * MON-FRI 2h");
    expect(everyOtherWeekday.contains(Date.parse("2024-09-03T02:30:00Z"))).toBe(true); // Tue 3rd
    expect(everyOtherWeekday.contains(Date.parse("2024-09-04T02:30:00Z"))).toBe(false); // Wed 4th: even day
    expect(everyOtherWeekday.contains(Date.parse("2024-09-07T02:30:00Z"))).toBe(false); // Sat 7th: odd day, weekend
    const firstOrMonday = compileSchedule("0 2 1 * MON 2h");
    expect(firstOrMonday.contains(Date.parse("2024-09-01T02:30:00Z"))).toBe(true); // Sun 1st
    expect(firstOrMonday.contains(Date.parse("2024-09-09T02:30:00Z"))).toBe(true); // Mon 9th
    expect(firstOrMonday.contains(Date.parse("2024-09-10T02:30:00Z"))).toBe(false);
    const starredWeekday = compileSchedule("0 2 15 * */1 2h");
    expect(starredWeekday.contains(Date.parse("2024-09-15T02:30:00Z"))).toBe(true);
    expect(starredWeekday.contains(Date.parse("2024-09-16T02:30:00Z"))).toBe(false);
  });

  it("errors name the field and the fix", () => {
    expect(() => compileSchedule("61 * * * *", "attrs.schedule")).toThrow(/attrs.schedule \(minute\).*outside 0-59/);
    expect(() => compileSchedule("0 2 * *", "attrs.schedule")).toThrow(/needs 5 fields/);
    expect(() => compileSchedule({ cron: "0 2 * * *", duration: "forever" }, "attrs.onCall")).toThrow(/attrs.onCall.duration/);
    expect(() => compileSchedule({ from: "2024-09-09T00:00:00Z", until: "2024-09-01T00:00:00Z" })).toThrow(/until after from/);
    // A shift without an offset would be read in the server's time zone: an error, not a window hours off.
    expect(() => compileSchedule({ from: "2024-09-09T08:00:00", until: "2024-09-09T20:00:00" }, "attrs.onCall")).toThrow(/attrs.onCall: .*offset/);
    expect(compileSchedule({ from: "2024-09-09T08:00:00+02:00", until: "2024-09-09T20:00:00+02:00" }).contains(Date.parse("2024-09-09T06:30:00Z"))).toBe(true);
  });

  it("a window in a time zone (timeZone, IANA) follows its daylight saving time; unknown or misspelt keys are errors, not ignored", () => {
    // A nightly 02:00-03:00 Berlin batch: 01:00 UTC in winter (CET), 00:00 UTC in summer (CEST).
    const berlin = compileSchedule({ cron: "0 2 * * *", duration: "1h", timeZone: "Europe/Berlin" }, "attrs.schedule");
    expect(berlin.contains(Date.parse("2024-01-15T01:30:00Z"))).toBe(true);
    expect(berlin.contains(Date.parse("2024-01-15T00:30:00Z"))).toBe(false);
    expect(berlin.contains(Date.parse("2024-07-15T00:30:00Z"))).toBe(true);
    expect(berlin.contains(Date.parse("2024-07-15T01:30:00Z"))).toBe(false);
    expect(berlin.description).toContain("Europe/Berlin");
    // A weekly shift in New York, whatever the season; and a day-of-month schedule.
    const shift = compileSchedule({ cron: "0 9 * * MON", duration: "8h", timeZone: "America/New_York" });
    expect(shift.contains(Date.parse("2024-01-15T14:30:00Z"))).toBe(true);
    expect(shift.contains(Date.parse("2024-07-15T13:30:00Z"))).toBe(true);
    expect(shift.contains(Date.parse("2024-07-15T21:30:00Z"))).toBe(false);
    expect(compileSchedule({ cron: "0 1 1 * *", duration: "2h", timeZone: "Asia/Kolkata" }).contains(Date.parse("2024-03-31T20:00:00Z"))).toBe(true);
    expect(() => compileSchedule({ cron: "0 2 * * *", timeZone: "Europe/Berlln" }, "attrs.schedule")).toThrow(/attrs.schedule.timeZone.*IANA/);
    expect(() => compileSchedule({ cron: "0 2 * * *", timeZone: "Europe/Berlin", utcOffsetMinutes: 60 }, "attrs.schedule")).toThrow(/attrs.schedule.*timeZone or utcOffsetMinutes/);
    // A misspelt duration was dropped: the window lasted the default hour instead of three.
    expect(() => compileSchedule({ cron: "0 1 * * SUN", durtion: "3h" }, "attrs.schedule")).toThrow(/attrs.schedule.durtion.*not a schedule field/);
    expect(() => compileSchedule({ from: "2024-09-09T08:00:00Z", until: "2024-09-09T20:00:00Z", timeZone: "UTC" }, "attrs.onCall")).toThrow(/attrs.onCall.timeZone/);
  });
});
