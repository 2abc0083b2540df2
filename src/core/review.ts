import type { Severity, Tier } from "./policy.js";

export type ReviewStatus = "pending" | "approved" | "denied" | "expired" | "escalated";

/** A pending approval (or escalation) with the decision's explanation. */
export interface Review {
  readonly id: string;
  readonly decisionId: string;
  readonly policy: string;
  readonly actionIds: readonly string[];
  readonly status: ReviewStatus;
  readonly createdAt: string;
  /** Escalation level reached (0 = first). */
  readonly level: number;
  /** When the current level times out. */
  readonly dueAt?: string;
  readonly summary: string;
  readonly resolvedBy?: string;
  readonly resolvedAt?: string;
  readonly reason?: string;
  /** Second approver, when the two-person rule applies. */
  readonly approvals?: readonly { readonly by: string; readonly at: string; readonly reason: string }[];
}

/** An exception: a standing permission not to enforce, with justification and expiry. */
export interface PolicyException {
  readonly id: string;
  /** Policy names (globs allowed, `residency-*`) it applies to; rules optional. */
  readonly policies: readonly string[];
  readonly rules?: readonly string[];
  /** CEL over the same variables as policies (its policy's `variables` included); the exception applies when it is true. */
  readonly when?: string;
  /** Simple selectors: subject globs, or `label:key=value` / `tag:key=value` entity selectors. */
  readonly subjects?: readonly string[];
  readonly justification: string;
  /** A link or key of the ticket that approved it. */
  readonly ticket?: string;
  /** E.g. a legal basis for a data transfer ("SCC 2021/914"). */
  readonly legalBasis?: string;
  readonly createdBy: string;
  readonly createdAt: string;
  /** RFC 3339; required — exceptions always expire. */
  readonly expiresAt: string;
  readonly revokedAt?: string;
}

/** An override: allow once or for a window, reason required; recorded as feedback too. */
export interface Override {
  readonly id: string;
  readonly decisionId: string;
  readonly policy: string;
  readonly subject?: string;
  readonly tier?: Tier;
  readonly scope: "once" | "window";
  readonly until?: string;
  readonly reason: string;
  readonly by: string;
  readonly secondBy?: string;
  readonly at: string;
  readonly used?: boolean;
  /** Two-person rule: set while the override waits for a second, different approver; inactive until `secondBy`. */
  readonly confirmationRequired?: boolean;
  /**
   * The highest severity of the policy's violations in the decision it was made from (what the
   * person, and the two-person rule, judged): it covers violations up to that severity, so a more
   * severe rule of the same policy still decides. Absent on overrides stored before it was kept:
   * they cover every rule of the policy.
   */
  readonly severity?: Severity;
  /** Set when a person revoked it; a revoked override no longer applies. */
  readonly revokedAt?: string;
  /**
   * The review whose approval created it ("allow the retried request"): a person's yes to one
   * request, not a judgement that the rule is wrong, so the learner does not mine it.
   */
  readonly review?: string;
}
