/**
 * `vigil simulate`: flags, determinism (byte-identical output), interleaving of scenarios in time
 * order, and the `access` scenario's stream (real CloudTrail / Okta shapes through the source
 * adapters, ground truth on every event, setup consistent with the truth notes).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { chooseScenarios, interleave, mergedSetup, simulateCommand, simulateOptions } from "../../src/cli/commands/simulate.js";
import { parseCommandArgs } from "../../src/cli/command.js";
import type { Event } from "../../src/core/event.js";
import { compileSchedule } from "../../src/context/index.js";
import { globMatch } from "../../src/decide/index.js";
import { cloudTrailRecordToEvent } from "../../src/sources/cloudtrail.js";
import { oktaEventToEvent } from "../../src/sources/okta.js";
import { accessScenario } from "../../src/sources/simulate/access.js";
import { scenarios, truthOf, type Scenario } from "../../src/sources/simulate/index.js";
import { vigil } from "../cli/support.js";

async function simulate(argv: readonly string[], cwd = process.cwd()): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => (out += c.toString()));
  stderr.on("data", (c: Buffer) => (err += c.toString()));
  const code = await simulateCommand.run(parseCommandArgs(simulateCommand, argv), { stdout, stderr, stdin: Readable.from([]), env: {}, cwd });
  return { code, stdout: out, stderr: err };
}

const lines = (text: string): Event[] => text.trim().split("\n").map((line) => JSON.parse(line) as Event);
const options = { seed: 3, days: 7, start: new Date("2026-01-05T00:00:00Z") };

function fake(name: string, times: readonly string[]): Scenario {
  return {
    name, description: name,
    *generate() {
      for (const [i, time] of times.entries()) yield { specversion: "1.0", id: `${name}-${i}`, source: name, type: "test", time, vigiltruth: "benign" };
    },
  };
}

describe("vigil simulate", () => {
  it("is registered, and the same seed gives byte-identical output; another seed a different stream", { timeout: 60_000 }, async () => {
    const a = await vigil(["simulate", "--scenario", "access", "--seed", "7", "--days", "2"]);
    const b = await vigil(["simulate", "--scenario", "access", "--seed", "7", "--days", "2"]);
    const c = await vigil(["simulate", "--scenario", "access", "--seed", "8", "--days", "2"]);
    expect(a.code).toBe(0);
    expect(a.stdout.length).toBeGreaterThan(100_000);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
    expect(a.stderr).toMatch(/^simulate: access, seed 7, 2 day\(s\) from 2026-01-05T00:00:00.000Z: \d+ events \(\d+ violation, \d+ benign\)/);
  });

  it("an unknown scenario is an error naming the flag and listing the known scenarios", async () => {
    const run = await vigil(["simulate", "--scenario", "payroll"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown scenario "payroll"; known scenarios: ');
    for (const s of scenarios) expect(run.stderr).toContain(s.name);
    expect(run.stderr).toContain("all");
    expect(() => chooseScenarios(undefined)).toThrow(/--scenario is required/);
  });

  it("rejects bad --seed, --days and --start naming the flag", () => {
    const parse = (argv: string[]) => simulateOptions(parseCommandArgs(simulateCommand, argv));
    expect(() => parse(["--days", "0"])).toThrow(/--days must be a whole number from 1 to 366, not "0"/);
    expect(() => parse(["--days", "2.5"])).toThrow(/--days/);
    expect(() => parse(["--seed", "-1"])).toThrow(/--seed/);
    expect(() => parse(["--start", "next monday"])).toThrow(/--start must be an ISO 8601 date/);
    expect(parse(["--start", "2026-03-02", "--days", "3", "--seed", "9"])).toEqual({ seed: 9, days: 3, start: new Date("2026-03-02T00:00:00Z") });
  });

  it("`all` takes every registered scenario and interleaves them in time order (ties: registration order)", () => {
    const registry = [fake("one", ["2026-01-05T01:00:00Z", "2026-01-05T03:00:00Z", "2026-01-05T05:00:00Z"]), fake("two", ["2026-01-05T00:30:00Z", "2026-01-05T03:00:00Z", "2026-01-06T00:00:00Z"])];
    expect(chooseScenarios("all", registry).map((s) => s.name)).toEqual(["one", "two"]);
    const merged = [...interleave(registry.map((s) => s.generate(options)))].map((e) => e.id);
    expect(merged).toEqual(["two-0", "one-0", "one-1", "two-1", "one-2", "two-2"]);
    expect(() => chooseScenarios("all", [])).toThrow(/no scenario is registered/);
  });

  it("--out and --setup write the stream and the setup to files", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-simulate-"));
    const run = await simulate(["--scenario", "all", "--days", "1", "--out", "events.jsonl", "--setup", "setup.json"], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
    const events = lines(readFileSync(join(dir, "events.jsonl"), "utf8"));
    expect(events.length).toBeGreaterThan(100);
    const setup = JSON.parse(readFileSync(join(dir, "setup.json"), "utf8")) as { entities: unknown[]; exceptions: unknown[] };
    expect(setup).toEqual(JSON.parse(JSON.stringify(mergedSetup(scenarios, { seed: 1, days: 1, start: new Date("2026-01-05T00:00:00Z") }))));
    expect(setup.entities.length).toBeGreaterThan(30);
  });
});

describe("the access scenario", () => {
  const events = [...accessScenario.generate(options)];
  const setup = accessScenario.setup?.(options);

  it("emits real CloudTrail and Okta shapes: each record converts through its source adapter to the same event", () => {
    expect(events.length).toBeGreaterThan(3000);
    for (const event of events) {
      expect(["com.amazonaws.cloudtrail", "com.okta.system.log"]).toContain(event.type);
      const again = event.type === "com.amazonaws.cloudtrail" ? cloudTrailRecordToEvent(event.data) : oktaEventToEvent(event.data, { source: event.source });
      expect(again.ok).toBe(true);
      if (again.ok) expect({ id: again.event.id, subject: again.event.subject, time: again.event.time }).toEqual({ id: event.id, subject: event.subject, time: event.time });
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it("is in time order and inside the simulated days", () => {
    const times = events.map((e) => Date.parse(e.time ?? ""));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] as number);
    expect(times[0]).toBeGreaterThanOrEqual(options.start.getTime());
    expect(times.at(-1)).toBeLessThan(options.start.getTime() + options.days * 86_400_000);
  });

  it("labels every event, with compromises and the benign cases a static night-time rule would flag", () => {
    const notes = new Map<string, number>();
    for (const event of events) {
      const truth = truthOf(event);
      expect(truth).toBeDefined();
      notes.set(`${truth?.label}: ${truth?.note}`, (notes.get(`${truth?.label}: ${truth?.note}`) ?? 0) + 1);
    }
    const keys = [...notes.keys()];
    expect(keys.filter((k) => k.startsWith("violation: compromise")).length).toBeGreaterThanOrEqual(2);
    for (const benign of ["on-call engineer paged at night", "night-shift team in its usual hours", "scheduled job at night", "deployment pipeline", "traveller with"]) {
      expect(keys.some((k) => k.startsWith("benign") && k.includes(benign)), benign).toBe(true);
    }
    // Compromises happen at night from a hosting network the organisation never used.
    for (const event of events.filter((e) => truthOf(e)?.label === "violation")) {
      expect(new Date(event.time ?? "").getUTCHours()).toBeLessThan(6);
      const ip = JSON.stringify(event.data).match(/"(?:sourceIPAddress|ipAddress)":"([\d.]+)"/)?.[1];
      expect(ip?.startsWith("203.0.113.")).toBe(true);
    }
  });

  it("its setup explains the truth: on-call pages fall in the paged person's onCall windows, travel notices cover their trips", () => {
    expect(setup).toBeDefined();
    const byId = new Map((setup?.entities ?? []).map((e) => [e.id, e]));
    const pages = events.filter((e) => truthOf(e)?.note === "on-call engineer paged at night");
    expect(pages.length).toBeGreaterThan(0);
    for (const page of pages) {
      const onCall = compileSchedule(byId.get(page.subject ?? "")?.attrs["onCall"], "onCall");
      expect(onCall.contains(Date.parse(page.time ?? "")), `${page.subject} at ${page.time}`).toBe(true);
    }
    const noticed = events.filter((e) => truthOf(e)?.note?.startsWith("traveller with a travel notice"));
    for (const event of noticed) {
      const notice = setup?.exceptions.find((x) => x.subjects?.some((s) => globMatch(s, event.subject ?? "")) && Date.parse(x.expiresAt) > Date.parse(event.time ?? ""));
      expect(notice, `${event.subject} at ${event.time}`).toBeDefined();
    }
  });
});
