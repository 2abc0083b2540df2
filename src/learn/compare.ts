/**
 * Replay and what-if: the same historical events decided by two policy sets (or two ways of
 * deciding: with or without context, with or without learning), event by event — which verdicts
 * and tiers change, how many, and the false-positive figures of each side when events carry
 * ground truth (`vigiltruth`) or feedback labels. Nothing is enforced or recorded.
 *
 * An ALERT is a decision with at least one violation whose tier is notify or stronger: a person
 * is told, asked or overruled. `observe` is recorded silently, so it is not an alert. A false
 * positive is an alert on an event labelled benign (ground truth, or feedback `false_positive`).
 */
import type { Context } from "../core/context.js";
import type { DecisionDraft } from "../core/decision.js";
import { VigilError } from "../core/errors.js";
import type { Event } from "../core/event.js";
import type { Posture } from "../core/entity.js";
import { tierRank, type Tier } from "../core/policy.js";
import type { ContextStage } from "../context/stage-types.js";
import type { Decider } from "../decide/decider.js";
import type { LearnedAdjustments } from "../decide/learned.js";
import type { PolicySet } from "../policy/policy-set.js";
import { truthOf } from "../sources/simulate/scenario.js";

/** A draft as `isAlert` reads it: its per-finding tier steps when it has an explanation. */
export type AlertDraft = Pick<DecisionDraft, "findings" | "tier"> & { readonly explanation?: Pick<DecisionDraft["explanation"], "steps"> };

/**
 * True when the decision alerts: a violation at notify or above — the violation's own tier (its
 * `tier` step), not the decision's, which an error of another policy (notify, so the policy gets
 * fixed) may have raised. A draft without tier steps is judged by its tier.
 */
export function isAlert(draft: AlertDraft): boolean {
  const notify = tierRank("notify");
  if (tierRank(draft.tier) < notify) return false;
  const violations = draft.findings.filter((f) => f.effect === "violation");
  if (violations.length === 0) return false;
  const steps = (draft.explanation?.steps ?? []).filter((s) => s.kind === "tier" && s.tier !== undefined && s.policy !== undefined);
  if (steps.length === 0) return true;
  return steps.some((s) => tierRank(s.tier as Tier) >= notify && violations.some((f) => f.policy === s.policy && f.rule === s.rule));
}

/** One way of deciding replayed events. */
export interface ReplaySide {
  decide(event: Event): Promise<DecisionDraft>;
}

const normalPosture: Posture = { level: "normal", scope: "org", since: new Date(0).toISOString() };

/** The event's own time (replays decide "as of" then), else the fallback. */
export function eventTime(event: Event, fallback: string): string {
  const time = typeof event.time === "string" ? Date.parse(event.time) : Number.NaN;
  return Number.isNaN(time) ? fallback : new Date(time).toISOString();
}

export interface ReplaySideOptions {
  readonly policySet: PolicySet;
  readonly decider: Decider;
  /**
   * A context stage (over a scratch store) to build contexts as the agent would, observing each
   * event after deciding it. Absent: the stateless context of `vigil replay` (no entities,
   * signals, history, features; normal posture).
   */
  readonly context?: ContextStage;
  /** A clock the side moves to each event's time before deciding (the context stage's clock). */
  readonly setTime?: (iso: string) => void;
  /** Called with each built context, before evaluation (e.g. detector calibration). */
  readonly prepare?: (ctx: Context) => Context;
  /** Learned adjustments for a context. */
  readonly learned?: (ctx: Context) => LearnedAdjustments | undefined;
  /** Labels recorded on each draft (e.g. learning labels). */
  readonly labels?: (ctx: Context) => Readonly<Record<string, string>>;
  /** Decision ids (default `replay-<event id>`). */
  readonly id?: (event: Event) => string;
}

/** Decides events like the agent (or like `vigil replay` without a context stage), never enforced. Never throws for bad policies or inputs. */
export function createReplaySide(options: ReplaySideOptions): ReplaySide {
  const { policySet, decider } = options;
  return {
    async decide(event) {
      const now = eventTime(event, new Date(0).toISOString());
      options.setTime?.(now);
      let ctx: Context = options.context
        ? await options.context.build(event)
        : { event, input: event.data, entities: {}, signals: {}, posture: normalPosture, now };
      if (options.prepare) ctx = options.prepare(ctx);
      const result = policySet.evaluate(ctx);
      const learned = options.learned?.(ctx);
      const labels = options.labels?.(ctx);
      const draft = decider.decide(ctx, result.findings, result.policyRevisions, {
        id: options.id?.(event) ?? `replay-${event.id}`, now: ctx.now, enforced: false,
        policy: (name) => policySet.get(name),
        ...(learned ? { learned } : {}),
        ...(labels ? { labels } : {}),
      });
      options.context?.observe(event, ctx, draft.findings);
      return draft;
    },
  };
}

export type Label = "violation" | "benign";

/** Precision / recall figures of one side over the labelled events. */
export interface SideFigures {
  readonly decisions: number;
  readonly denies: number;
  readonly alerts: number;
  readonly tiers: Readonly<Record<string, number>>;
  readonly labelled: number;
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly falseNegatives: number;
  readonly trueNegatives: number;
  /** TP / (TP + FP); null without alerts on labelled events. */
  readonly precision: number | null;
  /** TP / (TP + FN); null without labelled violations. */
  readonly recall: number | null;
  /** FP / (FP + TN): the share of labelled benign events that alerted; null without them. */
  readonly falsePositiveRate: number | null;
}

export interface DecisionSummary {
  readonly verdict: "allow" | "deny";
  readonly tier: Tier;
  readonly alert: boolean;
  /** `policy/rule` of each violation. */
  readonly violations: readonly string[];
}

export interface EventDifference {
  readonly eventId: string;
  readonly type: string;
  readonly subject?: string;
  readonly time?: string;
  readonly label?: Label;
  readonly before: DecisionSummary;
  readonly after: DecisionSummary;
}

export interface CompareReport {
  readonly events: number;
  /** Events whose verdict, tier or violations differ. */
  readonly changed: number;
  readonly verdictChanged: number;
  readonly tierChanged: number;
  readonly alertsAdded: number;
  readonly alertsRemoved: number;
  /** `allow→deny`, `notify→observe`, ... counts. */
  readonly transitions: Readonly<Record<string, number>>;
  readonly before: SideFigures;
  readonly after: SideFigures;
  /** The first `maxDifferences` differences, in event order. */
  readonly differences: readonly EventDifference[];
  /** Differences not listed. */
  readonly omitted: number;
}

export interface CompareOptions {
  /** Ground truth or feedback label of an event; default: the event's `vigiltruth` attribute. */
  readonly label?: (event: Event) => Label | undefined;
  readonly maxDifferences?: number;
  /** Progress callback every 1000 events. */
  readonly onProgress?: (events: number) => void;
}

/** A label function: the event's `vigiltruth` when it has one. */
export function truthLabel(event: Event): Label | undefined {
  return truthOf(event)?.label;
}

function summary(draft: DecisionDraft): DecisionSummary {
  return {
    verdict: draft.verdict, tier: draft.tier, alert: isAlert(draft),
    violations: draft.findings.filter((f) => f.effect === "violation").map((f) => `${f.policy}/${f.rule}`).sort(),
  };
}

/** Accumulates a side's figures. */
export class FiguresTally {
  decisions = 0; denies = 0; alerts = 0; labelled = 0; tp = 0; fp = 0; fn = 0; tn = 0;
  readonly tiers: Record<string, number> = {};
  add(draft: AlertDraft & Pick<DecisionDraft, "verdict">, label: Label | undefined): void {
    this.decisions++;
    if (draft.verdict === "deny") this.denies++;
    this.tiers[draft.tier] = (this.tiers[draft.tier] ?? 0) + 1;
    const alert = isAlert(draft);
    if (alert) this.alerts++;
    if (label === undefined) return;
    this.labelled++;
    if (label === "violation") { if (alert) this.tp++; else this.fn++; }
    else if (alert) this.fp++;
    else this.tn++;
  }
  figures(): SideFigures {
    const ratio = (a: number, b: number): number | null => (b === 0 ? null : Math.round((a / b) * 10_000) / 10_000);
    return {
      decisions: this.decisions, denies: this.denies, alerts: this.alerts, tiers: { ...this.tiers }, labelled: this.labelled,
      truePositives: this.tp, falsePositives: this.fp, falseNegatives: this.fn, trueNegatives: this.tn,
      precision: ratio(this.tp, this.tp + this.fp), recall: ratio(this.tp, this.tp + this.fn), falsePositiveRate: ratio(this.fp, this.fp + this.tn),
    };
  }
}

/** Decides every event on both sides, in order, and compares. Never enforces or records. */
export async function compareReplay(events: Iterable<Event> | AsyncIterable<Event>, before: ReplaySide, after: ReplaySide, options: CompareOptions = {}): Promise<CompareReport> {
  const label = options.label ?? truthLabel;
  const max = options.maxDifferences ?? 1000;
  const left = new FiguresTally();
  const right = new FiguresTally();
  const transitions: Record<string, number> = {};
  const differences: EventDifference[] = [];
  let count = 0, changed = 0, verdictChanged = 0, tierChanged = 0, alertsAdded = 0, alertsRemoved = 0;
  for await (const event of events) {
    count++;
    const truth = label(event);
    const a = await before.decide(event);
    const b = await after.decide(event);
    left.add(a, truth);
    right.add(b, truth);
    const sa = summary(a);
    const sb = summary(b);
    const verdict = sa.verdict !== sb.verdict;
    const tier = sa.tier !== sb.tier;
    const violations = sa.violations.join(",") !== sb.violations.join(",");
    if (verdict) { verdictChanged++; transitions[`${sa.verdict}→${sb.verdict}`] = (transitions[`${sa.verdict}→${sb.verdict}`] ?? 0) + 1; }
    if (tier) { tierChanged++; transitions[`${sa.tier}→${sb.tier}`] = (transitions[`${sa.tier}→${sb.tier}`] ?? 0) + 1; }
    if (!sa.alert && sb.alert) alertsAdded++;
    if (sa.alert && !sb.alert) alertsRemoved++;
    if (verdict || tier || violations) {
      changed++;
      if (differences.length < max) {
        differences.push({
          eventId: event.id, type: event.type, ...(event.subject === undefined ? {} : { subject: event.subject }),
          ...(typeof event.time === "string" ? { time: event.time } : {}), ...(truth === undefined ? {} : { label: truth }), before: sa, after: sb,
        });
      }
    }
    if (count % 1000 === 0) options.onProgress?.(count);
  }
  return {
    events: count, changed, verdictChanged, tierChanged, alertsAdded, alertsRemoved, transitions,
    before: left.figures(), after: right.figures(), differences, omitted: changed - differences.length,
  };
}

/** A false-positive budget: at most `count` false positives, or at most `rate` of labelled benign events. */
export type FpBudget = { readonly count: number } | { readonly rate: number };

/** Parses `--fp-budget`: a whole number (`25`) or a percentage (`2%`, `0.5%`). Throws VIGIL_BAD_INPUT. */
export function parseFpBudget(text: string): FpBudget {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (percent) {
    const rate = Number(percent[1]) / 100;
    if (rate <= 1) return { rate };
  } else if (/^\d+$/.test(text.trim())) return { count: Number(text.trim()) };
  throw new VigilError("VIGIL_BAD_INPUT", `--fp-budget must be a whole number of false positives (25) or a percentage of labelled benign events (2%), got "${text}"`, { field: "--fp-budget" });
}

export interface BudgetCheck {
  readonly ok: boolean;
  readonly message: string;
}

/**
 * Checks the proposed side's false positives against the budget. Without labelled benign events
 * the budget cannot be checked: VIGIL_BAD_INPUT (a gate that cannot see must not pass).
 */
export function checkFpBudget(report: CompareReport, budget: FpBudget): BudgetCheck {
  const after = report.after;
  const benign = after.falsePositives + after.trueNegatives;
  if (benign === 0) {
    throw new VigilError("VIGIL_BAD_INPUT", "--fp-budget needs labelled events: none of the replayed events carries ground truth (vigiltruth) or feedback marking it benign", { field: "--fp-budget" });
  }
  const before = `${report.before.falsePositives} before`;
  if ("count" in budget) {
    const ok = after.falsePositives <= budget.count;
    return { ok, message: `false positives: ${after.falsePositives} (budget ${budget.count}; ${before}) — ${ok ? "within budget" : "OVER BUDGET"}` };
  }
  const rate = after.falsePositives / benign;
  // Compared as counts: 7 / 1000 is above 0.7 / 100 in floating point, though both are 0.7%.
  // The margin is far below one event and far above the rounding error of rate × benign.
  const ok = after.falsePositives <= budget.rate * benign + 1e-6;
  const pct = (value: number): string => `${Math.round(value * 10_000) / 100}%`;
  return { ok, message: `false-positive rate: ${pct(rate)} of ${benign} labelled benign events (budget ${pct(budget.rate)}; ${before}) — ${ok ? "within budget" : "OVER BUDGET"}` };
}
