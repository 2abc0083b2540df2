/**
 * The enforcement ladder: for the policies its settings name, a violation is enforced step by
 * step per (policy, target) instead of all at once —
 *
 *   1. notify: the policy's notification actions (webhook, Slack...) run once, when the target is
 *      first found violating (an "episode" opens); later violations of the same episode notify
 *      nobody again, they only confirm the target is still violating;
 *   2. mark: the other actions (stop an instance, scale to zero) are held for a grace period
 *      counted in business days (business-days.ts). The owner can snooze (who, why and for how
 *      long are recorded); a person can release the mark;
 *   3. act: at the due time `tick()` applies the held actions — as planned by the latest violating
 *      decision, so the tier reflects the latest evidence (a decision at a tier that no longer runs
 *      them, e.g. notify, drops them: the mark is then released at its due time unless a later
 *      decision plans them again) — through the executor: kill switch,
 *      idempotency, blast radius and dry-run as for any action; an approve-tier action (production
 *      or critical resources) becomes a pending approval handed to the review queue. A target not
 *      seen violating for `staleAfterHours` by then is released instead ("lapsed").
 *   `undo` reverses what the ladder applied (StartInstances, the previous replica count).
 *
 * The held actions carry action ids of the episode, not of the decision that planned them, so a
 * re-planned mark applied by two workers' ticks (one with the older plans) runs each action once.
 *
 * Policies without ladder settings go through the executor unchanged. State: one Storage document
 * per (policy, target) in collection `act-ladder`, written with optimistic concurrency.
 * Time comes from the injected clock only: tests move a manual clock, nothing sleeps.
 */
import { createHash } from "node:crypto";
import type { Context } from "../core/context.js";
import type { Decision, DecisionDraft, ExplanationStep } from "../core/decision.js";
import { VigilError } from "../core/errors.js";
import type { Clock, Storage } from "../core/ports.js";
import type { PolicyLookup } from "../decide/conditions.js";
import { requireRole, type Actor } from "./actor.js";
import { addBusinessDays } from "./business-days.js";
import { describeRecord } from "./describe.js";
import type { ActOutcome, Executor } from "./executor.js";
import { defaultNotificationKinds } from "./guardrails.js";
import { ladderSettingsFor, resolveLadderSettings, type LadderSettings, type LadderSettingsInput } from "./ladder-settings.js";
import type { PlannedAction } from "./plan.js";
import { actionIdOf, type ActionRecord } from "./records.js";
import type { LadderItem, LadderSnooze, LadderStatus } from "./ladder-item.js";
import { ownerOf } from "./ladder-owner.js";
import { listDocsByTime, timeCursor } from "./time-page.js";

export type { LadderHistoryEntry, LadderItem, LadderSnooze, LadderStatus } from "./ladder-item.js";

export const LADDER_COLLECTION = "act-ladder";

export interface LadderOptions {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly executor: Executor;
  readonly settings?: LadderSettingsInput | LadderSettings;
  /** Kinds that count as notifications (default: the executor's defaults). */
  readonly notificationKinds?: readonly string[];
  /** Hands actions that became pending approvals at their due time to the review queue. */
  readonly enqueue?: (decision: DecisionDraft, records: readonly ActionRecord[]) => Promise<unknown>;
}

export interface LadderTickResult {
  readonly applied: readonly ActionRecord[];
  readonly pending: readonly ActionRecord[];
  readonly lapsed: readonly LadderItem[];
  /** Items whose status changed (applied, pending-approval, failed, lapsed, closed). */
  readonly changed: readonly LadderItem[];
}

export interface Ladder {
  readonly settings: LadderSettings;
  /** executor.act with the ladder applied to the policies it names. Never rejects for an actuator failure. */
  act(draft: DecisionDraft, ctx: Context, policy?: PolicyLookup): Promise<ActOutcome & { readonly items: readonly LadderItem[] }>;
  /** Runs what is due, releases stale marks, closes quiet notify-only episodes, follows approvals. */
  tick(): Promise<LadderTickResult>;
  /** The owner (or an operator / approver) postpones the due time by business days; a reason is required. */
  snooze(id: string, actor: Actor, options: { readonly reason: string; readonly businessDays?: number }): Promise<LadderItem>;
  /** Cancels a mark: the held actions never run. Owner, operator or approver; a reason is required. */
  release(id: string, actor: Actor, reason: string): Promise<LadderItem>;
  /**
   * Reverses the actions the ladder applied (operator or approver). Tries every applied action; those
   * whose undo failed are in `failed` with the actuator's reason, and the mark stays applied (undo
   * again to retry them). `records` holds every action tried, as recorded after its undo.
   */
  undo(id: string, actor: Actor, reason?: string): Promise<{ readonly item: LadderItem; readonly records: readonly ActionRecord[]; readonly failed: readonly LadderUndoFailure[] }>;
  get(id: string): Promise<LadderItem | undefined>;
  /**
   * Newest episode first (by openedAt, then id). `after`: `ladderCursor` of the last item of the
   * previous page; a bad one → VIGIL_BAD_INPUT (field `cursor`).
   */
  list(query?: { readonly status?: LadderStatus; readonly policy?: string; readonly limit?: number; readonly after?: string }): Promise<LadderItem[]>;
}

/** The cursor that continues `list` after this item. */
export const ladderCursor = (item: LadderItem): string => timeCursor(item.openedAt, item.id);

/** An action of a ladder item whose undo failed, and why. */
export interface LadderUndoFailure {
  readonly actionId: string;
  readonly actuator: string;
  readonly error: string;
}

const OPEN: readonly LadderStatus[] = ["notified", "waiting", "pending-approval"];
const HOUR_MS = 3_600_000;
const MAX_HISTORY = 50;

/** Stable id of a (policy, target) ladder. */
export function ladderIdOf(policy: string, target: { readonly kind: string; readonly id: string }): string {
  return `lad-${createHash("sha256").update([policy, target.kind, target.id].join("\u0000")).digest("hex").slice(0, 24)}`;
}

function isSettings(value: LadderSettingsInput | LadderSettings | undefined): value is LadderSettings {
  return value !== undefined && Array.isArray((value as LadderSettings).policies) && (value as LadderSettings).calendar !== undefined && (value as LadderSettings).calendar.weekend instanceof Set;
}

/**
 * The held actions with ids and idempotency keys of the episode, not of the decision that planned
 * them: `sha256(ladder id, episode, kind, n)` for the n-th held action of a kind. A decision that
 * re-plans the mark replaces the plans but not their ids, so a tick that read the older plans and
 * one that read the newer (two workers) apply the same action ids: at most once.
 */
function withEpisodeIds(itemId: string, episode: number, plans: readonly PlannedAction[]): PlannedAction[] {
  const seen = new Map<string, number>();
  return plans.map((p) => {
    const n = seen.get(p.plan.actuator) ?? 0;
    seen.set(p.plan.actuator, n + 1);
    const key = createHash("sha256").update([itemId, String(episode), p.plan.actuator, String(n)].join("\u0000")).digest("hex");
    return { ...p, plan: { ...p.plan, id: actionIdOf(key), idempotencyKey: key } };
  });
}

/**
 * True when the actions ran as previews only (their policy in dry-run): nothing was changed, so the
 * mark is `previewed`, not `applied` (which promises something to undo).
 */
function changedNothing(records: readonly ActionRecord[]): boolean {
  return records.some((r) => r.status === "dry-run") && records.every((r) => r.status === "dry-run" || r.status === "skipped");
}

/** One plain line about an item, for explanations and the CLI. */
export function describeLadderItem(item: LadderItem): string {
  const kinds = [...new Set(item.held.map((p) => p.plan.actuator))].join(", ");
  const who = item.owner ? `owner ${item.owner}` : "no owner on record";
  const snoozed = item.snoozes.length > 0 ? `; snoozed ${item.snoozes.length}× (last by ${item.snoozes.at(-1)?.by}: ${item.snoozes.at(-1)?.reason})` : "";
  switch (item.status) {
    case "waiting": return `${item.policy}: ${kinds} on ${item.target.id} marked ${item.openedAt}, due ${item.dueAt} after ${item.graceBusinessDays} business day(s) (${who}${snoozed})`;
    case "notified": return `${item.policy}: ${who} notified about ${item.target.id} at ${item.openedAt}; not again before ${item.quietUntil}`;
    default: return `${item.policy}: ${item.target.id} ${item.status}${item.closedAt ? ` at ${item.closedAt}` : ""} (${who}${snoozed})`;
  }
}

export function createLadder(options: LadderOptions): Ladder {
  const { storage, clock, executor } = options;
  const settings = isSettings(options.settings) ? options.settings : resolveLadderSettings(options.settings ?? {});
  const notification = new Set(options.notificationKinds ?? defaultNotificationKinds);
  const iso = (): string => clock.now().toISOString();

  async function load(id: string): Promise<{ item: LadderItem; version: number }> {
    const doc = await storage.getDoc<LadderItem>(LADDER_COLLECTION, id);
    if (doc === undefined) throw new VigilError("VIGIL_NOT_FOUND", `ladder item ${id} does not exist; list them with \`vigil ladder list\` or GET /v1/ladder`, { field: "id" });
    return { item: doc.value, version: doc.version };
  }

  async function save(item: LadderItem, version: number): Promise<LadderItem> {
    const bounded = item.history.length > MAX_HISTORY ? { ...item, history: item.history.slice(-MAX_HISTORY) } : item;
    await storage.putDocs([{ collection: LADDER_COLLECTION, id: item.id, value: bounded, expectVersion: version }], iso());
    return bounded;
  }

  /**
   * Saves `change(item)`; when another writer changed the item meanwhile (a decision about the same
   * target, another worker's tick), reads it again and applies `change` to the fresh item, which
   * may decline (undefined) when the change no longer applies. Undefined when nothing was saved.
   */
  async function update(item: LadderItem, version: number, change: (current: LadderItem) => LadderItem | undefined): Promise<LadderItem | undefined> {
    let current = item;
    let at = version;
    for (let attempt = 0; attempt < 8; attempt++) {
      const next = change(current);
      if (next === undefined) return undefined;
      try {
        return await save(next, at);
      } catch (error) {
        if (!(error instanceof VigilError) || error.code !== "VIGIL_CONFLICT") throw error;
        const fresh = await storage.getDoc<LadderItem>(LADDER_COLLECTION, item.id);
        if (fresh === undefined) throw error;
        current = fresh.value;
        at = fresh.version;
      }
    }
    throw new VigilError("VIGIL_CONFLICT", `ladder item ${item.id}: too many concurrent writers; the next tick tries again`, { field: "id" });
  }

  const withEvent = (item: LadderItem, event: string, extra: Partial<LadderItem>, by?: string, note?: string): LadderItem => ({
    ...item, ...extra, history: [...item.history, { at: iso(), event, ...(by ? { by } : {}), ...(note ? { note } : {}) }],
  });

  const isOpenNow = (item: LadderItem, nowMs: number): boolean =>
    OPEN.includes(item.status) && !(item.status === "notified" && item.quietUntil !== undefined && Date.parse(item.quietUntil) <= nowMs);

  /**
   * Whether a person may change an item: its owner, or an operator / approver / admin. The owner is
   * recognised as the review stage recognises people: without case and surrounding spaces (an owner
   * tag `Alice@Example.com` is the token `alice@example.com`).
   */
  function authorize(item: LadderItem, actor: Actor, what: string): void {
    const person = actor !== undefined && actor !== null && typeof actor.id === "string" ? actor.id.trim().toLowerCase() : "";
    if (person !== "" && item.owner !== undefined && person === item.owner.trim().toLowerCase()) return;
    requireRole(actor, ["operator", "approver"], `${what} (or be its owner, ${item.owner ?? "none on record"})`);
  }

  function statusAfter(records: readonly ActionRecord[]): LadderStatus | undefined {
    if (records.some((r) => r.status === "blocked" && r.blockedBy === "kill-switch")) return undefined; // retried next tick
    if (records.some((r) => r.status === "planned")) return undefined; // being applied by another worker: its tick records the outcome
    if (records.some((r) => r.status === "pending-approval")) return "pending-approval";
    if (records.some((r) => r.status === "failed" || r.status === "blocked")) return "failed";
    return changedNothing(records) ? "previewed" : "applied";
  }

  const ladder: Ladder = {
    settings,

    async act(draft, ctx, policy) {
      const { planned, notPlanned } = await executor.plan(draft, ctx, policy, { targetsWhenSkipped: (name) => ladderSettingsFor(settings, name) !== undefined });
      const now = clock.now();
      const immediate: PlannedAction[] = [];
      const groups = new Map<string, { policy: string; target: { kind: string; id: string }; plans: PlannedAction[] }>();
      for (const p of planned) {
        if (ladderSettingsFor(settings, p.plan.policy) === undefined) { immediate.push(p); continue; }
        const id = ladderIdOf(p.plan.policy, p.plan.target);
        const group = groups.get(id) ?? { policy: p.plan.policy, target: p.plan.target, plans: [] as PlannedAction[] };
        group.plans.push(p);
        groups.set(id, group);
      }
      const records: ActionRecord[] = [...(await executor.apply(immediate))];
      const steps: ExplanationStep[] = notPlanned.map((item) => ({ kind: "action", text: `${item.action} not planned: ${item.reason}`, policy: item.policy }));
      const heldPlans: PlannedAction[] = [];
      const items: LadderItem[] = [];
      for (const [id, group] of groups) {
        const s = ladderSettingsFor(settings, group.policy);
        if (s === undefined) continue;
        const doc = await storage.getDoc<LadderItem>(LADDER_COLLECTION, id);
        const at = now.toISOString();
        const deferKinds = s.defer === undefined ? undefined : new Set(s.defer);
        const deferred = (p: PlannedAction): boolean => (deferKinds ? deferKinds.has(p.plan.actuator) : !notification.has(p.plan.actuator));
        if (doc !== undefined && isOpenNow(doc.value, now.getTime())) {
          // A waiting mark acts on the latest evidence: the held actions are re-planned from this
          // decision (its tier, confidence and params), the due time stays. Blocked plans replace
          // the held ones too: a target protected since the mark is recorded blocked at the due
          // time instead of being acted on with the older plan.
          // A decision whose tier no longer runs them (notify: its notifications only) holds nothing:
          // at the due time the mark is released unless a later decision plans them again.
          const replanned = doc.value.status === "waiting" ? withEpisodeIds(id, doc.value.episode, group.plans.filter((p) => deferred(p))) : [];
          const seen = { ...doc.value, lastDecisionId: draft.id, lastSeenAt: at, violations: doc.value.violations + 1 };
          const dropped = doc.value.status === "waiting" && replanned.length === 0 && doc.value.held.length > 0;
          const item = await save(dropped
            ? withEvent(seen, "held actions dropped", { held: [] }, undefined, `decision ${draft.id} (tier ${draft.tier}) plans none of them`)
            : { ...seen, ...(replanned.length > 0 ? { held: replanned } : {}) }, doc.version);
          items.push(item);
          steps.push({ kind: "action", text: `already on the ladder (episode ${item.episode}, violation ${item.violations}): ${describeLadderItem(item)}; nothing new sent`, policy: group.policy, ref: item.id });
          continue;
        }
        const direct = group.plans.filter((p) => !deferred(p) || p.disposition === "blocked");
        const held = withEpisodeIds(id, (doc?.value.episode ?? 0) + 1, group.plans.filter((p) => deferred(p) && p.disposition !== "blocked"));
        const sent = await executor.apply(direct);
        records.push(...sent);
        const owner = ownerOf(ctx, group.target);
        const base = {
          id, policy: group.policy, target: group.target, ...(owner ? { owner } : {}), episode: (doc?.value.episode ?? 0) + 1,
          openedAt: at, decisionId: draft.id, lastDecisionId: draft.id, lastSeenAt: at, violations: 1,
          graceBusinessDays: s.graceBusinessDays, staleAfterHours: s.staleAfterHours, maxSnoozes: s.maxSnoozes, snoozeBusinessDays: s.snoozeBusinessDays,
          notifications: sent.map((r) => r.id), actions: [], snoozes: [], history: [{ at, event: "opened", note: `decision ${draft.id}` }],
        };
        let item: LadderItem;
        if (held.length === 0) {
          item = { ...base, status: "notified", held: [], quietUntil: new Date(now.getTime() + s.cooldownHours * HOUR_MS).toISOString() };
        } else if (s.graceBusinessDays === 0) {
          const applied = await executor.apply(held);
          records.push(...applied);
          item = { ...base, status: statusAfter(applied) ?? "waiting", held, dueAt: at, actions: applied.map((r) => r.id) };
        } else {
          const dueAt = addBusinessDays(settings.calendar, now, s.graceBusinessDays).toISOString();
          item = { ...base, status: "waiting", held, dueAt };
          heldPlans.push(...held.map((p) => ({ ...p, plan: { ...p.plan, reason: `held by the enforcement ladder until ${dueAt} (grace ${s.graceBusinessDays} business day(s); the owner may snooze)` } })));
        }
        item = await save(item, doc?.version ?? 0);
        items.push(item);
        steps.push({ kind: "action", text: `enforcement ladder episode ${item.episode} opened: ${describeLadderItem(item)}`, policy: group.policy, ref: item.id });
      }
      // A violation at a tier that runs none of its policy's actions (observe; block without
      // notifications) plans nothing for the target, so it has no group above; a waiting mark on
      // that target drops its held actions as for a notify-tier decision: the latest evidence rules.
      const quiet = new Map<string, { policy: string; target: { kind: string; id: string } }>();
      for (const item of notPlanned) {
        if (item.target === undefined || ladderSettingsFor(settings, item.policy) === undefined) continue;
        const id = ladderIdOf(item.policy, item.target);
        if (!groups.has(id)) quiet.set(id, { policy: item.policy, target: item.target });
      }
      for (const [id, { policy: name }] of quiet) {
        const doc = await storage.getDoc<LadderItem>(LADDER_COLLECTION, id);
        if (doc === undefined || doc.value.status !== "waiting" || !isOpenNow(doc.value, now.getTime())) continue;
        const seen = { ...doc.value, lastDecisionId: draft.id, lastSeenAt: now.toISOString(), violations: doc.value.violations + 1 };
        const item = await save(doc.value.held.length > 0 ? withEvent(seen, "held actions dropped", { held: [] }, undefined, `decision ${draft.id} (tier ${draft.tier}) plans none of them`) : seen, doc.version);
        items.push(item);
        steps.push({ kind: "action", text: `already on the ladder (episode ${item.episode}, violation ${item.violations}): ${describeLadderItem(item)}; nothing new sent`, policy: name, ref: item.id });
      }
      for (const record of records) steps.push({ kind: "action", text: describeRecord(record), policy: record.policy, ref: record.id });
      const actions = [...records.map((r) => r.plan), ...heldPlans.map((p) => p.plan)];
      const updated: DecisionDraft = actions.length === 0 && steps.length === 0 ? draft : { ...draft, actions, explanation: { ...draft.explanation, steps: [...draft.explanation.steps, ...steps] } };
      return { draft: updated, records, pending: records.filter((r) => r.status === "pending-approval"), items };
    },

    async tick() {
      const nowMs = clock.now().getTime();
      const applied: ActionRecord[] = [];
      const pending: ActionRecord[] = [];
      const lapsed: LadderItem[] = [];
      const changed: LadderItem[] = [];
      for (const status of ["waiting", "notified", "pending-approval"] as const) {
        for (const doc of await storage.listDocs<LadderItem>(LADDER_COLLECTION, { where: { status } })) {
          const item = doc.value;
          // A change of this tick applies to the same episode in the same status only (re-checked on a concurrent write).
          const still = (current: LadderItem): boolean => current.episode === item.episode && current.status === status;
          const push = (saved: LadderItem | undefined): LadderItem | undefined => { if (saved !== undefined) changed.push(saved); return saved; };
          if (status === "notified") {
            if (item.quietUntil !== undefined && Date.parse(item.quietUntil) <= nowMs) {
              push(await update(item, doc.version, (c) => (still(c) && c.quietUntil !== undefined && Date.parse(c.quietUntil) <= nowMs ? withEvent(c, "closed", { status: "closed", closedAt: iso() }) : undefined)));
            }
            continue;
          }
          if (status === "pending-approval") {
            const records = (await Promise.all(item.actions.map((id) => executor.getAction(id)))).filter((r): r is ActionRecord => r !== undefined);
            if (records.length === 0 || records.some((r) => r.status === "pending-approval" || r.status === "planned")) continue;
            // An approved action blocked when it ran (protected, or disallowed, since) did not act: failed, as at the due time.
            const next: LadderStatus = records.every((r) => r.status === "skipped") ? "released" : records.some((r) => r.status === "failed" || r.status === "blocked") ? "failed" : changedNothing(records) ? "previewed" : "applied";
            push(await update(item, doc.version, (c) => (still(c) ? withEvent(c, next, { status: next, closedAt: iso() }, records.find((r) => r.approvedBy)?.approvedBy) : undefined)));
            continue;
          }
          if (item.dueAt === undefined || Date.parse(item.dueAt) > nowMs) continue;
          const stale = (c: LadderItem): boolean => nowMs - Date.parse(c.lastSeenAt) > c.staleAfterHours * HOUR_MS;
          if (stale(item)) {
            const saved = push(await update(item, doc.version, (c) => (still(c) && stale(c) ? withEvent(c, "lapsed", { status: "lapsed", closedAt: iso() }, undefined, `not seen violating since ${c.lastSeenAt}`) : undefined)));
            if (saved !== undefined) lapsed.push(saved);
            continue;
          }
          if (item.held.length === 0) {
            // The latest violating decision planned none of the held actions (a lower tier): nothing to do.
            push(await update(item, doc.version, (c) => (still(c) && c.held.length === 0 ? withEvent(c, "released", { status: "released", closedAt: iso() }, undefined, `the latest decision (${c.lastDecisionId}) planned none of the held actions`) : undefined)));
            continue;
          }
          const records = await executor.apply(item.held);
          const next = statusAfter(records);
          if (next === undefined) continue;
          // The actions were applied: record them even if a decision about the target was recorded
          // meanwhile (it re-planned the held actions); not when another tick already recorded the outcome.
          const saved = await update(item, doc.version, (c) => (c.episode === item.episode && (c.status === "waiting" || c.actions.length === 0)
            ? withEvent(c, next === "pending-approval" ? "sent for approval" : next, { status: next, actions: records.map((r) => r.id), ...(next === "pending-approval" ? {} : { closedAt: iso() }) })
            : undefined));
          if (saved === undefined) continue;
          changed.push(saved);
          applied.push(...records.filter((r) => r.status === "applied" || r.status === "dry-run"));
          const waiting = records.filter((r) => r.status === "pending-approval");
          pending.push(...waiting);
          if (waiting.length > 0 && options.enqueue) {
            const decision: Decision | undefined = await storage.getDecision(waiting[0]?.plan.decisionId ?? item.decisionId);
            if (decision !== undefined) await options.enqueue(decision, waiting);
          }
        }
      }
      return { applied, pending, lapsed, changed };
    },

    async snooze(id, actor, snoozeOptions) {
      const { item, version } = await load(id);
      authorize(item, actor, `snooze ${id}`);
      const reason = snoozeOptions?.reason;
      if (typeof reason !== "string" || reason.trim() === "") throw new VigilError("VIGIL_BAD_INPUT", "reason is required to snooze: say why the resource must keep running", { field: "reason" });
      if (item.status !== "waiting") throw new VigilError("VIGIL_CONFLICT", `ladder item ${id} is ${item.status}; only a waiting mark can be snoozed`, { field: "id" });
      if (item.snoozes.length >= item.maxSnoozes) {
        throw new VigilError("VIGIL_CONFLICT", `ladder item ${id} was already snoozed ${item.snoozes.length} time(s), the most allowed (maxSnoozes); ask for a policy exception instead`, { field: "id" });
      }
      const days = snoozeOptions.businessDays ?? item.snoozeBusinessDays;
      if (typeof days !== "number" || !Number.isFinite(days) || days <= 0 || days > 60) throw new VigilError("VIGIL_BAD_INPUT", `businessDays must be a number above 0 and at most 60, got ${JSON.stringify(days)}`, { field: "businessDays" });
      const now = clock.now();
      const from = Math.max(Date.parse(item.dueAt ?? now.toISOString()), now.getTime());
      const dueAt = addBusinessDays(settings.calendar, new Date(from), days).toISOString();
      const snooze: LadderSnooze = { by: actor.id, reason: reason.trim(), at: now.toISOString(), businessDays: days, dueAt };
      const saved = await save(withEvent(item, "snoozed", { dueAt, snoozes: [...item.snoozes, snooze] }, actor.id, `${days} business day(s): ${snooze.reason}`), version);
      await storage.appendAudit([{ at: snooze.at, actor: actor.id, action: "ladder.snooze", target: id, detail: { policy: item.policy, resource: item.target.id, businessDays: days, dueAt, reason: snooze.reason } }]);
      return saved;
    },

    async release(id, actor, reason) {
      const { item, version } = await load(id);
      authorize(item, actor, `release ${id}`);
      if (typeof reason !== "string" || reason.trim() === "") throw new VigilError("VIGIL_BAD_INPUT", "reason is required to release a mark", { field: "reason" });
      if (item.status !== "waiting" && item.status !== "notified") throw new VigilError("VIGIL_CONFLICT", `ladder item ${id} is ${item.status}; only a waiting or notified episode can be released (deny its review instead)`, { field: "id" });
      const at = iso();
      const saved = await save(withEvent(item, "released", { status: "released", closedAt: at }, actor.id, reason.trim()), version);
      await storage.appendAudit([{ at, actor: actor.id, action: "ladder.release", target: id, detail: { policy: item.policy, resource: item.target.id, reason: reason.trim() } }]);
      return saved;
    },

    async undo(id, actor, reason) {
      requireRole(actor, ["operator", "approver"], `undo ladder item ${id}`);
      const { item, version } = await load(id);
      if (item.status !== "applied") throw new VigilError("VIGIL_CONFLICT", `ladder item ${id} is ${item.status}; only applied actions can be undone`, { field: "id" });
      // Every applied action is tried, even after one fails: a failed undo must not leave the later
      // actions applied. The mark records each outcome; it stays applied while any action is, so an
      // undo again reverses what is left (the undone ones are skipped).
      const records: ActionRecord[] = [];
      const failed: LadderUndoFailure[] = [];
      const outcomes: string[] = [];
      for (const actionId of item.actions) {
        const record = await executor.getAction(actionId);
        if (record?.status !== "applied") continue;
        try {
          records.push(await executor.undo(actionId, actor, reason));
          outcomes.push(`${actionId} (${record.actuator}) undone`);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const after = (await executor.getAction(actionId)) ?? record;
          const why = after.undoResult?.status === "failed" || after.undoResult?.status === "skipped" ? after.undoResult.error ?? message : message;
          records.push(after);
          failed.push({ actionId, actuator: record.actuator, error: why });
          outcomes.push(`${actionId} (${record.actuator}) failed: ${why}`);
        }
      }
      const at = iso();
      const undone = records.filter((r) => r.status === "undone");
      const note = [...(reason ? [reason] : []), ...outcomes].join("; ");
      const saved = await update(item, version, (c) => (c.episode === item.episode && c.status === "applied"
        ? (failed.length === 0
          ? withEvent(c, "undone", { status: "undone", closedAt: at }, actor.id, note || undefined)
          : withEvent(c, "undo failed", {}, actor.id, `${failed.length} of ${failed.length + undone.length} action(s) not undone (undo again to retry them): ${note}`))
        : undefined)) ?? (await load(id)).item;
      await storage.appendAudit([{ at, actor: actor.id, action: "ladder.undo", target: id, detail: { policy: item.policy, resource: item.target.id, actions: undone.map((r) => r.id), ...(failed.length > 0 ? { failed: failed.map((f) => ({ actionId: f.actionId, error: f.error })) } : {}), ...(reason ? { reason } : {}) } }]);
      return { item: saved, records, failed };
    },

    async get(id) {
      return (await storage.getDoc<LadderItem>(LADDER_COLLECTION, id))?.value;
    },

    async list(query = {}) {
      const where: Record<string, string> = {};
      if (query.status !== undefined) where["status"] = query.status;
      if (query.policy !== undefined) where["policy"] = query.policy;
      // lad-<hash> ids say nothing of time; openedAt moves only when a new episode opens (to the front).
      return listDocsByTime<LadderItem>(storage, LADDER_COLLECTION, {
        where, order: "newest", timeOf: (doc) => doc.value.openedAt, cursorField: "cursor",
        ...(query.limit === undefined ? {} : { limit: query.limit }), ...(query.after === undefined ? {} : { after: query.after }),
      });
    },
  };
  return ladder;
}
