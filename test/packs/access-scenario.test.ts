/**
 * The access pack on its simulated organisation (`vigil simulate --scenario access`, seed 1, 21
 * days): with the agent's context (baselines, on-call schedules, travel notices) against the same
 * policies without context, the way a static rule engine would run them. An alert is a decision at
 * tier notify or above; the ground truth is each event's `vigiltruth`.
 *
 * Floors (docs/packs/access.md#measured-on-the-simulated-organisation): with context, recall ≥ 0.95
 * overall and every compromise reaches approve or remediate; in the last week the false-positive
 * rate is ≤ 0.005 and at least 80% below the static run's, whose rate stays ≥ 0.02 (the benign
 * night-time cases a static rule flags). On-call pages and trips with a travel notice never alert
 * with context.
 */
import { describe, expect, it } from "vitest";
import { measureScenario, type ScenarioMeasurement } from "./access-support.js";

let runs: { context: ScenarioMeasurement; static: ScenarioMeasurement } | undefined;
async function measured(): Promise<{ context: ScenarioMeasurement; static: ScenarioMeasurement }> {
  runs ??= { context: await measureScenario({ seed: 1, days: 21, mode: "context" }), static: await measureScenario({ seed: 1, days: 21, mode: "static" }) };
  return runs;
}

describe("access pack on the simulated organisation", () => {
  it("with context: catches the compromises and each one reaches step-up or suspension", { timeout: 180_000 }, async () => {
    const { context } = await measured();
    expect(context.events).toBeGreaterThan(10_000);
    expect(context.overall.tp + context.overall.fn).toBeGreaterThan(30);
    expect(context.overall.recall).toBeGreaterThanOrEqual(0.95);
    const compromises = Object.entries(context.notes).filter(([note]) => note.startsWith("violation: compromise"));
    expect(compromises.length).toBeGreaterThanOrEqual(5);
    for (const [note, n] of compromises) expect((n.tiers["approve"] ?? 0) + (n.tiers["remediate"] ?? 0), note).toBeGreaterThan(0);
  });

  it("with context the false alarms fall week by week, far below the static run's", { timeout: 180_000 }, async () => {
    const { context, static: flat } = await measured();
    const last = context.weeks.at(-1);
    const flatLast = flat.weeks.at(-1);
    expect(last?.falsePositiveRate).toBeLessThanOrEqual(0.005);
    expect(flatLast?.falsePositiveRate).toBeGreaterThanOrEqual(0.02);
    expect(last?.falsePositiveRate ?? 1).toBeLessThanOrEqual((flatLast?.falsePositiveRate ?? 0) * 0.2);
    expect(context.weeks[0]?.falsePositiveRate).toBeGreaterThan(last?.falsePositiveRate ?? 1);
    expect(context.overall.precision).toBeGreaterThan(flat.overall.precision);
  });

  it("on-call pages and trips with a travel notice never alert with context; the static run flags the pages", { timeout: 180_000 }, async () => {
    const { context, static: flat } = await measured();
    const pages = "benign: on-call engineer paged at night";
    expect(context.notes[pages]?.events).toBeGreaterThan(0);
    expect(context.notes[pages]?.alerted).toBe(0);
    expect(flat.notes[pages]?.alerted).toBeGreaterThan((flat.notes[pages]?.events ?? 0) / 3);
    const noticed = Object.entries(context.notes).filter(([note]) => note.startsWith("benign: traveller with a travel notice"));
    expect(noticed.length).toBeGreaterThan(0);
    for (const [note, n] of noticed) expect(n.alerted, note).toBe(0);
  });
});
