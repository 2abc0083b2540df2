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
