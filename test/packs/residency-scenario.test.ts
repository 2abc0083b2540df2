/**
 * The residency scenario of `vigil simulate`: a deterministic, labelled stream of admission
 * reviews, Terraform plans, data flows and inventory snapshots, replayed through the residency
 * pack with the scenario's setup (namespace entities, the SCC exception). The pack must deny
 * exactly the events labelled `violation`; a static "nothing outside the EEA" rule (the same
 * engine with every class limited to the EEA, no treatments and no exceptions) flags the benign
 * cases the scenario is built around.
 */
import { describe, expect, it } from "vitest";
import type { Event } from "../../src/core/event.js";
import { defaultResidencySettings, resolveResidencySettings } from "../../src/context/residency/index.js";
import { findScenario, truthOf, type ScenarioOptions } from "../../src/sources/simulate/index.js";
import { residencyHarness, type ResidencyHarness } from "./residency-support.js";

const scenario = findScenario("residency");
const options: ScenarioOptions = { seed: 7, days: 21, start: new Date("2026-01-05T00:00:00Z") };

async function replay(h: ResidencyHarness, events: readonly Event[], withSetup: boolean): Promise<{ flagged: Set<string>; notesOfFalseAlarms: Set<string>; missed: string[] }> {
  const setup = scenario?.setup?.(options);
  if (withSetup) for (const entity of setup?.entities ?? []) await h.stage.entities.upsert(entity, "simulate-setup");
  const flagged = new Set<string>();
  const notesOfFalseAlarms = new Set<string>();
  const missed: string[] = [];
  for (const event of events) {
    h.clock.set(event.time ?? options.start.toISOString());
    const { draft } = await h.decide(event, { exceptions: withSetup ? setup?.exceptions ?? [] : [] });
    const truth = truthOf(event);
    if (draft.verdict === "deny") {
      flagged.add(event.id);
      if (truth?.label === "benign") notesOfFalseAlarms.add(truth.note ?? "");
    } else if (truth?.label === "violation") missed.push(`${truth.note}: ${draft.explanation.summary}`);
  }
  return { flagged, notesOfFalseAlarms, missed };
}

describe("vigil simulate --scenario residency", () => {
  const events = [...(scenario?.generate(options) ?? [])];

  it("is registered and deterministic, with every event labelled and in time order", () => {
    expect(scenario?.name).toBe("residency");
    expect(JSON.stringify([...(scenario?.generate(options) ?? [])])).toBe(JSON.stringify(events));
    expect(JSON.stringify([...(scenario?.generate({ ...options, seed: 8 }) ?? [])])).not.toBe(JSON.stringify(events));
    expect(events.every((e) => truthOf(e) !== undefined)).toBe(true);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const times = events.map((e) => Date.parse(e.time ?? ""));
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] as number))).toBe(true);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(["io.k8s.admission.review", "com.hashicorp.terraform.plan", "dev.vigil.dataflow", "dev.vigil.resource"]));
    const notes = new Set(events.map((e) => truthOf(e)?.note));
    for (const note of ["personal data replicated to us-east-1", "personal-data deployment pinned to us-east-1 (non-EU region)", "anonymised analytics export to us-east-1", "transfer under an approved mechanism (SCCs, exception EX-RES-001)", "public dataset replicated globally"]) {
      expect(notes.has(note), note).toBe(true);
    }
  });

  it("the pack denies exactly the violations when replayed with the scenario's setup", async () => {
    const { flagged, notesOfFalseAlarms, missed } = await replay(residencyHarness(), events, true);
    const violations = events.filter((e) => truthOf(e)?.label === "violation");
    expect(missed).toEqual([]);
    expect([...notesOfFalseAlarms]).toEqual([]);
    expect(flagged.size).toBe(violations.length);
    expect(violations.length).toBeGreaterThan(20);
    expect(events.length - violations.length).toBeGreaterThan(100);
  });

  it("a static 'nothing outside the EEA' rule flags the benign cases the pack allows", async () => {
    const eeaOnly = resolveResidencySettings({
      dataClasses: Object.fromEntries(Object.keys(defaultResidencySettings.dataClasses).map((name) => [name, { allowed: ["EEA"], local: false }])),
      treatments: { anonymised: null, aggregated: null },
    });
    const { flagged, notesOfFalseAlarms, missed } = await replay(residencyHarness({ settings: eeaOnly }), events, false);
    // It also misses what needs more than geography: health data leaving its country inside the EEA.
    expect(missed.length).toBeGreaterThan(0);
    expect(missed.every((m) => m.startsWith("health data copied out of its country of origin (DE → IE)"))).toBe(true);
    const benignFlagged = events.filter((e) => truthOf(e)?.label === "benign" && flagged.has(e.id)).length;
    expect(benignFlagged).toBeGreaterThan(30);
    for (const note of ["anonymised analytics export to us-east-1", "transfer under an approved mechanism (SCCs, exception EX-RES-001)", "aggregated KPI roll-up to us-east-2", "public dataset replicated globally", "public website served from us-east-1 (public data may be anywhere)"]) {
      expect(notesOfFalseAlarms.has(note), note).toBe(true);
    }
  });
});
