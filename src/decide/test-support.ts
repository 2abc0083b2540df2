/**
 * Test helpers of the decide, act and review stages: a manual clock, findings, contexts and
 * policy metadata. Used by tests only (never imported by production code).
 */
import type { Context } from "../core/context.js";
import type { Entity, Posture, Signal } from "../core/entity.js";
import type { Finding } from "../core/finding.js";
import type { EnforcementSpec, PolicyMeta } from "../core/policy.js";
import type { Clock } from "../core/ports.js";

export interface ManualClock extends Clock {
  set(time: string): void;
  advance(ms: number): void;
  iso(): string;
}

export function manualClock(start: string): ManualClock {
  let now = Date.parse(start);
  return {
    now: () => new Date(now),
    iso: () => new Date(now).toISOString(),
    set(time) { now = Date.parse(time); },
    advance(ms) { now += ms; },
  };
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export function violation(over: Partial<Finding> = {}): Finding {
  return { policy: "p", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "deny", severity: "high", message: "bad", trace: [], ...over };
}

export function meta(name: string, enforcement?: EnforcementSpec, over: Partial<PolicyMeta> = {}): PolicyMeta {
  return { name, language: "vigil", revision: "rev-1", on: [], ...(enforcement ? { enforcement } : {}), ...over };
}

export interface CtxOptions {
  readonly subject?: string;
  readonly type?: string;
  readonly now?: string;
  readonly posture?: Partial<Posture>;
  readonly signals?: Record<string, Signal>;
  readonly entities?: Record<string, Entity>;
  readonly violations30d?: number;
  readonly id?: string;
}

export function context(input: unknown, options: CtxOptions = {}): Context {
  return {
    event: { specversion: "1.0", id: options.id ?? "evt-1", source: "test", type: options.type ?? "dev.vigil.decide", ...(options.subject === undefined ? {} : { subject: options.subject }), data: input },
    input,
    entities: options.entities ?? {},
    signals: options.signals ?? {},
    posture: { level: "normal", scope: "org", since: "2024-01-01T00:00:00Z", ...options.posture },
    now: options.now ?? "2024-05-01T12:00:00.000Z",
    ...(options.violations30d === undefined ? {} : { history: { violations30d: options.violations30d, recent: [] } }),
  };
}

export function signal(detector: string, score: number, confidence: number, detail = `${detector} fired`): Signal {
  return { detector, score, confidence, factors: [{ name: `${detector}.main`, contribution: score, detail }] };
}
