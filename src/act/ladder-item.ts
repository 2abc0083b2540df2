/** The stored state of one enforcement-ladder episode per (policy, target): see ladder.ts. */
import type { PlannedAction } from "./plan.js";

/** Where an episode stands. Open: notified, waiting, pending-approval. */
export type LadderStatus = "notified" | "waiting" | "pending-approval" | "applied" | "previewed" | "failed" | "released" | "lapsed" | "undone" | "closed";

export interface LadderSnooze {
  readonly by: string;
  readonly reason: string;
  readonly at: string;
  readonly businessDays: number;
  /** The due time after this snooze. */
  readonly dueAt: string;
}

export interface LadderHistoryEntry {
  readonly at: string;
  readonly event: string;
  readonly by?: string;
  readonly note?: string;
}

/** One (policy, target) ladder: its current episode. */
export interface LadderItem {
  readonly id: string;
  readonly policy: string;
  readonly target: { readonly kind: string; readonly id: string };
  readonly owner?: string;
  /** 1 for the first episode; a new violation after the episode closed opens the next. */
  readonly episode: number;
  readonly status: LadderStatus;
  readonly openedAt: string;
  /** The decision that opened the episode (the held actions belong to it). */
  readonly decisionId: string;
  readonly lastDecisionId: string;
  /** Clock time of the latest violation seen in this episode. */
  readonly lastSeenAt: string;
  readonly violations: number;
  readonly graceBusinessDays: number;
  readonly staleAfterHours: number;
  readonly maxSnoozes: number;
  readonly snoozeBusinessDays: number;
  /** When the held actions run (waiting episodes). */
  readonly dueAt?: string;
  /** Notify-only episodes: no new notification before this. */
  readonly quietUntil?: string;
  /** Action ids of the notifications sent when the episode opened. */
  readonly notifications: readonly string[];
  readonly held: readonly PlannedAction[];
  /** Action ids of the held actions once applied. */
  readonly actions: readonly string[];
  readonly snoozes: readonly LadderSnooze[];
  readonly history: readonly LadderHistoryEntry[];
  readonly closedAt?: string;
}
