import { readFileSync } from "node:fs";
import type { Event } from "../core/event.js";
import { eventBridgeToEvent, cloudTrailRecordToEvent } from "../sources/cloudtrail.js";
import { focusCsvToEvents } from "../sources/focus.js";
import { oktaEventToEvent } from "../sources/okta.js";
import type { IngestResult } from "../sources/results.js";

/**
 * Real payloads for the context tests, read from test/fixtures (copied from the team corpora
 * with their LICENSE and SOURCE) and turned into events by the sources stage's own adapters.
 */
const fixtures = new URL("../../test/fixtures/", import.meta.url);

export function readFixture(path: string): string {
  return readFileSync(new URL(path, fixtures), "utf8");
}

export function ok(result: IngestResult): Event {
  if (!result.ok) throw new Error(`fixture did not convert: ${result.error.message}`);
  return result.event;
}

export function cloudTrailFixture(name: string): Event {
  const value = JSON.parse(readFixture(`cloud-custodian/cwe/${name}`)) as Record<string, unknown>;
  return ok(value["detail-type"] !== undefined ? eventBridgeToEvent(value) : cloudTrailRecordToEvent(value));
}

interface PantherTest {
  readonly file: string;
  readonly test: string;
  readonly log: Record<string, unknown>;
}

export function pantherLog(kind: "okta" | "cloudtrail", file: string, test: string): Record<string, unknown> {
  const lines = readFixture(`panther-analysis-rules/${kind}-tests.jsonl`).split("\n").filter((line) => line.trim() !== "");
  const found = lines.map((line) => JSON.parse(line) as PantherTest).find((entry) => entry.file === file && entry.test === test);
  if (!found) throw new Error(`no panther test ${file} / ${test}`);
  return found.log;
}

export function oktaFixture(file: string, test: string): Event {
  return ok(oktaEventToEvent(pantherLog("okta", file, test)));
}

/** The sample's rows that the FOCUS adapter accepts (it rejects a few rows with nulls in mandatory columns). */
export function focusFixtureEvents(): Event[] {
  return focusCsvToEvents(readFixture("focus-sample-data/focus_sample_300.csv")).flatMap((result) => (result.ok ? [result.event] : []));
}

/** A deterministic PRNG (mulberry32) so tests with noise are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

let counter = 0;

/** A CloudEvent around `data`, with a fresh id. */
export function makeEvent(type: string, data: unknown, extra: Partial<Event> = {}): Event {
  counter++;
  return { specversion: "1.0", id: `test-${counter}`, source: "/test", type, data, ...extra };
}
