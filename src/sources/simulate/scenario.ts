import type { Entity } from "../../core/entity.js";
import type { Event } from "../../core/event.js";
import type { PolicyException } from "../../core/review.js";

/**
 * `vigil simulate`: synthetic but realistic event streams of an organisation, with a ground-truth
 * label per event, for demos, the learning benchmark and pack tests.
 *
 * The label travels in CloudEvents extension attributes so the stream stays plain JSON Lines:
 * `vigiltruth` = "violation" | "benign", `vigiltruthnote` = why (e.g. "on-call engineer at night").
 * INVARIANT: policies and detectors never read these attributes; only scoring code does.
 */
export type TruthLabel = "violation" | "benign";

export interface ScenarioOptions {
  /** Seed of the deterministic generator: same seed, same stream. */
  readonly seed: number;
  /** Simulated days. */
  readonly days: number;
  /** First simulated instant (default 2026-01-05T00:00:00Z, a Monday). */
  readonly start: Date;
}

/**
 * What a stream takes as known before its first event, as an organisation would have it: entity
 * attributes (teams, on-call schedules, criticality) for the entity store, and exceptions in force
 * (travel notices) for the review service. Replaying a stream without its setup judges it as an
 * organisation that told Vigil nothing.
 */
export interface ScenarioSetup {
  readonly entities: readonly Entity[];
  readonly exceptions: readonly PolicyException[];
}

export interface Scenario {
  /** `cost`, `supply-chain`, `residency`, `access`. */
  readonly name: string;
  readonly description: string;
  /** Events in time order, each already labelled with `vigiltruth`/`vigiltruthnote`. */
  generate(options: ScenarioOptions): Iterable<Event>;
  /** The setup the stream assumes (same options, same result); absent when it needs none. */
  setup?(options: ScenarioOptions): ScenarioSetup;
}

export const TRUTH_ATTRIBUTE = "vigiltruth";
export const TRUTH_NOTE_ATTRIBUTE = "vigiltruthnote";

/** The ground truth of a simulated event, when it carries one. */
export function truthOf(event: Event): { readonly label: TruthLabel; readonly note?: string } | undefined {
  const label = event[TRUTH_ATTRIBUTE];
  if (label !== "violation" && label !== "benign") return undefined;
  const note = event[TRUTH_NOTE_ATTRIBUTE];
  return typeof note === "string" ? { label, note } : { label };
}

/** A small deterministic PRNG (mulberry32): scenarios must not use Math.random. */
export function createRandom(seed: number): { next(): number; int(min: number, max: number): number; pick<T>(items: readonly T[]): T; chance(p: number): boolean } {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)] as never,
    chance: (p) => next() < p,
  };
}
