/**
 * The risk model: one score in [0, 1] per decision, made of named, additive factor
 * contributions (they add up to the score before clamping), so an explanation can say exactly
 * where the number came from.
 *
 * Factors (only when the decision has at least one violation, except errors):
 * - one per violation: severity weight × rule-mode weight (as in buildDecision);
 * - one per policy error (small);
 * - `history.violations30d`: the subject's recent violations (log-scaled, capped);
 * - `signal.<detector>`: detector score × confidence × weight, for each signal that fired;
 * - `asset.criticality`: the most critical entity involved;
 * - `asset.environment`: production raises, development/test lowers;
 * - `posture`: elevated, incident, freeze;
 * - `learned.<policy>/<rule>`: learned adjustments, with their citation as detail.
 * With no context (no signals, entities, posture above normal or learning) the score is exactly
 * buildDecision's.
 */
import type { Context } from "../core/context.js";
import type { Risk } from "../core/decision.js";
import type { Entity, Factor, PostureLevel } from "../core/entity.js";
import type { Finding } from "../core/finding.js";
import { findingFactors, round } from "./decision.js";
import type { AppliedAdjustment } from "./learned.js";
import { withFields } from "../core/objects.js";

export type Criticality = "low" | "medium" | "high" | "critical";
export type EnvironmentClass = "production" | "staging" | "development";

/** Every weight of the model; `createDecider({ weights })` overrides any of them. */
export interface RiskWeights {
  /** Contribution of a policy error. */
  readonly error: number;
  /** Per-violation history factor: `historyPerLog2 × log2(1 + violations30d)`, at most `historyMax`. */
  readonly historyPerLog2: number;
  readonly historyMax: number;
  /** A signal adds `signal × score × confidence`. */
  readonly signal: number;
  /** Signals at or below this score do not count (they did not fire). */
  readonly signalMinScore: number;
  readonly criticality: Readonly<Record<Criticality, number>>;
  readonly environment: Readonly<Record<EnvironmentClass, number>>;
  readonly posture: Readonly<Record<PostureLevel, number>>;
}

export const defaultRiskWeights: RiskWeights = {
  error: 0.05,
  historyPerLog2: 0.05,
  historyMax: 0.15,
  signal: 0.3,
  signalMinScore: 0,
  criticality: { low: 0, medium: 0.05, high: 0.1, critical: 0.2 },
  environment: { production: 0.1, staging: 0.03, development: -0.05 },
  posture: { normal: 0, elevated: 0.05, incident: 0.15, freeze: 0.25 },
};

/** Merges partial weights over the defaults (nested records merged key by key). */
export function riskWeights(overrides: Partial<RiskWeights> = {}): RiskWeights {
  return {
    ...defaultRiskWeights,
    ...overrides,
    criticality: { ...defaultRiskWeights.criticality, ...overrides.criticality },
    environment: { ...defaultRiskWeights.environment, ...overrides.environment },
    posture: { ...defaultRiskWeights.posture, ...overrides.posture },
  };
}

export { round };

const criticalityRank: Readonly<Record<Criticality, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

function record(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * Tags as a map of own keys: a map as is, AWS's list form (`[{ Key, Value }]`, or `key`/`value`,
 * as EC2 and the tagging APIs answer) made into one — as the executor's guardrails read them.
 */
export function tagMap(value: unknown): Readonly<Record<string, unknown>> | undefined {
  if (!Array.isArray(value)) return record(value);
  // No prototype: a tag named __proto__ or constructor is an own key like any other.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const item of value) {
    const entry = record(item);
    const key = entry?.["Key"] ?? entry?.["key"];
    if (typeof key === "string") out[key] = entry?.["Value"] ?? entry?.["value"];
  }
  return out;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value.toLowerCase() : undefined;
}

/** The most critical entity of the context (attrs.criticality), with its role. */
export function assetCriticality(ctx: Context): { readonly level: Criticality; readonly role: string; readonly entity: Entity } | undefined {
  let best: { level: Criticality; role: string; entity: Entity } | undefined;
  for (const role in ctx.entities) {
    const entity = ctx.entities[role];
    const level = text(entity?.attrs["criticality"]);
    // Own keys only: a value like "constructor" or "__proto__" (labels are user input) is not a level.
    if (entity === undefined || level === undefined || !Object.hasOwn(criticalityRank, level)) continue;
    if (best === undefined || criticalityRank[level as Criticality] > criticalityRank[best.level]) best = { level: level as Criticality, role, entity };
  }
  return best;
}

const environmentNames: Readonly<Record<string, EnvironmentClass>> = {
  prod: "production", production: "production", prd: "production", live: "production",
  staging: "staging", stage: "staging", stg: "staging", preprod: "staging", uat: "staging",
  dev: "development", development: "development", test: "development", testing: "development", sandbox: "development", qa: "development",
};

/** An entity's environment from attrs.environment / attrs.env, or its tags / labels (`environment`, `env`). */
export function entityEnvironment(entity: Entity): { readonly value: string; readonly class: EnvironmentClass } | undefined {
  const sources = [entity.attrs, tagMap(entity.attrs["tags"]), record(entity.attrs["labels"])];
  for (const source of sources) {
    if (source === undefined) continue;
    for (const key of ["environment", "env"]) {
      const value = text(source[key]);
      const cls = value === undefined || !Object.hasOwn(environmentNames, value) ? undefined : environmentNames[value];
      if (value !== undefined && cls !== undefined) return { value, class: cls };
    }
  }
  return undefined;
}

const environmentRank: Readonly<Record<EnvironmentClass, number>> = { development: 0, staging: 1, production: 2 };

/** The most production-like environment among the context's entities. */
export function contextEnvironment(ctx: Context): { readonly value: string; readonly class: EnvironmentClass; readonly role: string; readonly entity: Entity } | undefined {
  let best: { value: string; class: EnvironmentClass; role: string; entity: Entity } | undefined;
  for (const role in ctx.entities) {
    const entity = ctx.entities[role];
    if (entity === undefined) continue;
    const env = entityEnvironment(entity);
    if (env !== undefined && (best === undefined || environmentRank[env.class] > environmentRank[best.class])) best = withFields(env, { role, entity });
  }
  return best;
}

/**
 * The context bucket learned adjustments are keyed by: `<environment>/<criticality>/<posture>`,
 * e.g. `production/high/normal`, `any/any/incident`. The learner (issue 6) buckets feedback with
 * the same function, so a lesson learned in development does not lower risk in production.
 */
export function contextBucket(ctx: Context): string {
  return `${contextEnvironment(ctx)?.class ?? "any"}/${assetCriticality(ctx)?.level ?? "any"}/${ctx.posture.level}`;
}

/**
 * Confidence of the detector evidence: the lowest confidence among signals that fired (score
 * above the threshold); undefined when none fired (the finding rests on policy conditions alone).
 */
export function signalConfidence(ctx: Context, minScore = defaultRiskWeights.signalMinScore): { readonly confidence: number; readonly detector: string } | undefined {
  let weakest: { confidence: number; detector: string } | undefined;
  for (const name in ctx.signals) {
    const signal = ctx.signals[name];
    if (signal === undefined || !(signal.score > minScore)) continue;
    if (weakest === undefined || signal.confidence < weakest.confidence) weakest = { confidence: signal.confidence, detector: signal.detector || name };
  }
  return weakest;
}

function signalDetail(score: number, confidence: number, factors: readonly Factor[]): string {
  const top = [...factors].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution)).slice(0, 3)
    .map((f) => f.detail ?? `${f.name} ${f.contribution}`);
  return `score ${round(score)} at confidence ${round(confidence)}${top.length > 0 ? `: ${top.join("; ")}` : ""}`;
}

/**
 * Scores a decision's risk. Pure. `learned` are the adjustments already matched to the
 * decision's violations (see learned.ts); each adds its `riskDelta` as a `learned.*` factor.
 */
export function scoreDecisionRisk(ctx: Context, findings: readonly Finding[], weights: RiskWeights = defaultRiskWeights, learned: readonly AppliedAdjustment[] = []): Risk {
  // The findings' own factors and the subject's history first, then the context's.
  const { factors, violations } = findingFactors(ctx, findings, weights);
  if (violations > 0) {
    for (const name in ctx.signals) {
      const signal = ctx.signals[name];
      if (signal === undefined || !(signal.score > weights.signalMinScore)) continue;
      const contribution = round(weights.signal * clamp01(signal.score) * clamp01(signal.confidence));
      if (contribution !== 0) factors.push({ name: `signal.${signal.detector || name}`, contribution, detail: signalDetail(signal.score, signal.confidence, signal.factors) });
    }
    // Configured weights are rounded as every other contribution is, so the shown ones add up to the shown score.
    const critical = assetCriticality(ctx);
    const criticality = critical === undefined ? 0 : round(weights.criticality[critical.level]);
    if (critical !== undefined && criticality !== 0) {
      factors.push({ name: "asset.criticality", contribution: criticality, detail: `${critical.role} ${critical.entity.id} is ${critical.level} criticality` });
    }
    const env = contextEnvironment(ctx);
    const environment = env === undefined ? 0 : round(weights.environment[env.class]);
    if (env !== undefined && environment !== 0) {
      factors.push({ name: "asset.environment", contribution: environment, detail: `${env.role} ${env.entity.id} is in ${env.value} (${env.class})` });
    }
    const posture = round(weights.posture[ctx.posture.level]);
    if (posture !== 0) {
      factors.push({ name: "posture", contribution: posture, detail: `organisation posture is ${ctx.posture.level} (${ctx.posture.scope}${ctx.posture.reason ? `: ${ctx.posture.reason}` : ""})` });
    }
    for (const applied of learned) {
      const delta = applied.adjustment.riskDelta ?? 0;
      if (delta !== 0) factors.push({ name: `learned.${applied.policy}/${applied.rule}`, contribution: round(delta), detail: applied.adjustment.citation });
    }
  }
  const sum = factors.reduce((total, f) => total + f.contribution, 0);
  return { score: round(clamp01(sum)), factors };
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
