import type { NotificationReason, ReviewRecord } from "./types.js";

export type { NotificationReason };

export interface ReviewNotification {
  readonly reason: NotificationReason;
  /** Escalation level (0 = first). */
  readonly level: number;
  /** Recipients as the policy names them (`#channel`, `oncall:team`, a user). */
  readonly targets: readonly string[];
  readonly review: ReviewRecord;
}

/**
 * Where review notifications go. The integrator wires it to the Slack / webhook actuators; a
 * failing notifier never blocks the queue (the failure is recorded in the audit trail).
 */
export interface Notifier {
  notify(notification: ReviewNotification): Promise<void>;
}

export const silentNotifier: Notifier = { notify: async () => {} };
