import { describe, expect, it } from "vitest";
import type { Context } from "../core/context.js";
import type { Signal } from "../core/entity.js";
import { applyDetectorCalibration, validateCalibration } from "./calibration.js";
import { defaultContextSettings } from "./settings.js";

const detectors = defaultContextSettings.detectors;

function ctx(signals: Record<string, Signal>): Context {
  return {
    event: { specversion: "1.0", id: "e1", source: "t", type: "x" },
    input: {},
    entities: { principal: { kind: "principal", id: "ana", attrs: {} } },
    signals,
    posture: { level: "normal", scope: "org", since: "2026-01-01T00:00:00Z" },
    now: "2026-01-10T00:00:00Z",
  };
}

// What the detectors report: spike at z 4.5 (score 0.75 with zThreshold 3), oddHour at ratio 0.05 (score 0.8 with 0.25).
const spike: Signal = { detector: "spike", score: 0.75, confidence: 1, factors: [{ name: "resource cost spike", contribution: 0.75, detail: "cost of resource/i-1 is 90 against 30" }], values: { applicable: true, entity: "resource/i-1", observed: 90, expected: 30, ratio: 3, z: 4.5 } };
const oddHour: Signal = { detector: "oddHour", score: 0.8, confidence: 0.9, factors: [{ name: "unusual hour of week", contribution: 0.8, detail: "Wed 03:00" }], values: { applicable: true, ratio: 0.05, peer: "peer:team/ops", onCall: false, hourOfWeek: "Wed 03:00" } };

describe("detector calibration per entity and peer group", () => {
  it("rescoring with the stage's own thresholds changes nothing", () => {
    const context = ctx({ spike, oddHour });
    expect(applyDetectorCalibration(context, { entities: { "resource/i-1": { spike: { zThreshold: 3 } } } }, detectors)).toBe(context);
    expect(applyDetectorCalibration(context, undefined, detectors)).toBe(context);
  });

  it("a higher zThreshold for one resource lowers its spike score; other entities keep theirs", () => {
    const context = ctx({ spike, oddHour });
    const calibrated = applyDetectorCalibration(context, { entities: { "resource/i-1": { spike: { zThreshold: 6 }, reason: "9 of 10 were false positives" } } }, detectors);
    expect(calibrated.signals["spike"]?.score).toBe(0.375);
    expect(calibrated.signals["spike"]?.factors.map((f) => f.contribution)).toEqual([0.375, 0]);
    expect(calibrated.signals["spike"]?.factors[1]?.detail).toContain("9 of 10 were false positives");
    expect(calibrated.signals["oddHour"]).toBe(oddHour);
    expect(calibrated.event).toBe(context.event); // observe still accepts the copy
    expect(applyDetectorCalibration(context, { entities: { "resource/other": { spike: { zThreshold: 6 } } } }, detectors)).toBe(context);
  });

  it("a minRatio above the observed ratio gates the spike to 0", () => {
    const calibrated = applyDetectorCalibration(ctx({ spike }), { entities: { "resource/i-1": { spike: { minRatio: 4 } } } }, detectors);
    expect(calibrated.signals["spike"]?.score).toBe(0);
    expect(calibrated.signals["spike"]?.factors.reduce((sum, f) => sum + f.contribution, 0)).toBe(0);
  });

  it("oddHour: the principal's threshold wins over its peer group's", () => {
    const context = ctx({ oddHour });
    const peerOnly = applyDetectorCalibration(context, { peers: { "peer:team/ops": { oddHour: { ratioThreshold: 0.1 } } } }, detectors);
    expect(peerOnly.signals["oddHour"]?.score).toBe(0.5);
    const both = applyDetectorCalibration(context, { peers: { "peer:team/ops": { oddHour: { ratioThreshold: 0.1 } } }, entities: { "principal/ana": { oddHour: { ratioThreshold: 0.04 } } } }, detectors);
    expect(both.signals["oddHour"]?.score).toBe(0);
  });

  it("validation names the entry and the field", () => {
    expect(() => validateCalibration({ entities: { "resource/i-1": { spike: { zThreshold: -1 } } } })).toThrow('calibration.entities["resource/i-1"].spike.zThreshold must be a positive number');
    expect(() => validateCalibration({ peers: { p: { oddHour: { ratioThreshold: Number.NaN } } } })).toThrow("oddHour.ratioThreshold");
  });
});

describe("detector calibration: factors add up to the rescored score", () => {
  it("a spike the stage's thresholds gated (score 0, no factor) that a lower threshold lets through gets its factor", () => {
    // z 2.4 against zThreshold 3 passes (score 0.4), but a ratio of 1.2 is under the default minRatio 1.5: gated, no factor.
    const gated: Signal = { detector: "spike", score: 0, confidence: 1, factors: [], values: { applicable: true, role: "resource", entity: "resource/i-1", series: "cost", observed: 36, expected: 30, ratio: 1.2, z: 2.4, slot: "Mon 02:00 UTC" } };
    const calibrated = applyDetectorCalibration(ctx({ spike: gated }), { entities: { "resource/i-1": { spike: { minRatio: 1.1 } } } }, detectors);
    const signal = calibrated.signals["spike"];
    expect(signal?.score).toBe(0.4);
    expect(signal?.factors.reduce((sum, f) => sum + f.contribution, 0)).toBeCloseTo(0.4, 10);
    expect(signal?.factors[0]).toMatchObject({ name: "resource cost spike", contribution: 0.4 });
    expect(signal?.factors[0]?.detail).toContain("36");
  });
});

describe("detector calibration: every role's spike is reconsidered", async () => {
  const { EventTypes } = await import("../core/event.js");
  const { focusFixtureEvents, makeEvent, seededRandom } = await import("./fixtures.test-support.js");
  const { createContextStage } = await import("./stage.js");
  const { createManualClock, createMemoryDocStorage } = await import("./test-support.js");
  const { HOUR_MS } = await import("./time.js");
  const start = Date.parse("2024-09-02T00:00:00Z");
  const template = focusFixtureEvents().find((e) => (e.data as Record<string, unknown>)["ProviderName"] === "AWS" && typeof (e.data as Record<string, unknown>)["ResourceId"] === "string");
  if (!template) throw new Error("no AWS row with a resource in the FOCUS fixture");
  /** A real FOCUS row moved to another resource, charge hour and amount. */
  const row = (resource: string, hour: number, cost: number) =>
    makeEvent(EventTypes.focusCost, { ...(template.data as Record<string, unknown>), ResourceId: resource, ChargePeriodStart: new Date(start + hour * HOUR_MS).toISOString(), ChargePeriodEnd: new Date(start + (hour + 1) * HOUR_MS).toISOString(), BilledCost: cost });

  /** Four weeks of three instances at ~1 an hour, then i-a at 5 in one hour: resource and account spike, the resource more. */
  async function spikeContexts(zThreshold?: number): Promise<Context> {
    const clock = createManualClock(start);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock, ...(zThreshold === undefined ? {} : { settings: { detectors: { spike: { zThreshold } } } }) });
    const random = seededRandom(3);
    for (let hour = 0; hour < 4 * 168; hour++) {
      clock.set(start + (hour + 1) * HOUR_MS);
      for (const resource of ["i-a", "i-b", "i-c"]) {
        const event = row(resource, hour, 1 + 0.1 * random());
        stage.observe(event, await stage.build(event));
      }
    }
    clock.set(start + (4 * 168 + 1) * HOUR_MS);
    return stage.build(row("i-a", 4 * 168 + 40, 5));
  }

  it("a resource calibrated out leaves the account's spike, as the detector would report it", async () => {
    const context = await spikeContexts();
    const before = context.signals["spike"] as Signal;
    const byRole = before.values?.["byRole"] as Record<string, { entity: string; score: number }>;
    expect(before.values?.["role"]).toBe("resource");
    expect(byRole["account"]?.score).toBeGreaterThan(0);
    expect(byRole["account"]?.score).toBeLessThan(before.score);
    const after = applyDetectorCalibration(context, { entities: { [byRole["resource"]!.entity]: { spike: { zThreshold: 1000 }, reason: "noisy instance" } } }, detectors).signals["spike"] as Signal;
    expect(after.values?.["role"]).toBe("account");
    expect(after.score).toBe(byRole["account"]?.score);
    expect(after.factors[0]).toMatchObject({ name: "account cost spike", contribution: after.score });
    expect(after.factors.reduce((sum, f) => sum + f.contribution, 0)).toBeCloseTo(after.score, 10);
    expect((after.values?.["byRole"] as Record<string, { score: number }>)["resource"]?.score).toBeLessThan(0.01);
    expect(after.factors.map((f) => f.detail).join(" ")).toContain("noisy instance");
  });

  it("calibrating every role's entity to a threshold equals the detector run with it", async () => {
    const context = await spikeContexts();
    const byRole = context.signals["spike"]?.values?.["byRole"] as Record<string, { entity?: string }>;
    const entities = Object.fromEntries(Object.values(byRole).flatMap((r) => (r.entity ? [[r.entity, { spike: { zThreshold: 12 } }]] : [])));
    expect(Object.keys(entities).length).toBeGreaterThan(1);
    const calibrated = applyDetectorCalibration(context, { entities }, detectors).signals["spike"] as Signal;
    const detected = (await spikeContexts(12)).signals["spike"] as Signal;
    // z is reported to 4 significant digits, so the rescored score may differ in the 4th.
    expect(Math.abs(calibrated.score - detected.score)).toBeLessThanOrEqual(2e-4);
    expect(calibrated.confidence).toBe(detected.confidence);
    expect(calibrated.values?.["role"]).toBe(detected.values?.["role"]);
    expect(calibrated.factors[0]?.name).toBe(detected.factors[0]?.name);
  });
});
