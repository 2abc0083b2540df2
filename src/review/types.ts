import type { Explanation, Verdict } from "../core/decision.js";
import type { EscalationLevel, Severity, Tier } from "../core/policy.js";
import type { Review } from "../core/review.js";

/** Why people are being told about a review. */
export type NotificationReason = "created" | "escalated" | "safe-default" | "resolved";

/** A review as stored: the core Review plus what a reviewer and the ladder need. */
export interface ReviewRecord extends Review {
  readonly explanation: Explanation;
  readonly verdict: Verdict;
  readonly tier: Tier;
  readonly severity: Severity;
  readonly subject?: string;
  /** The policy's ladder when the review opened. */
  readonly escalation: readonly EscalationLevel[];
  readonly safeDefault: Tier;
  readonly twoPersonRequired?: boolean;
  readonly outcome?: "approved" | "denied" | "safe-default";
  readonly notifications: readonly { readonly at: string; readonly level: number; readonly reason: NotificationReason; readonly targets: readonly string[]; readonly error?: string }[];
  /**
   * Set while someone's answer is being carried out (approve running the actions, deny settling
   * them, the safe default): claimed with a versioned save before any action is touched, so a
   * concurrent answer is refused instead of acting on the same actions. Lapses after 5 minutes
   * (a process that died while answering).
   */
  readonly answering?: { readonly by: string; readonly answer: "approve" | "deny" | "safe-default"; readonly at: string };
}

