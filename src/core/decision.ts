import type { Factor } from "./entity.js";
import type { Finding } from "./finding.js";
import type { Tier } from "./policy.js";
import type { ActionPlan } from "./action.js";

export type Verdict = "allow" | "deny";

export interface Risk {
  /** In [0, 1]. The factors' contributions add up to the score before clamping. */
  readonly score: number;
  readonly factors: readonly Factor[];
}

export interface ExplanationStep {
  /** condition | factor | tier | exception | override | learning | action | note */
  readonly kind: string;
  /** One plain-language line, e.g. "resource.region == \"us-east-1\" was false (resource.region = \"eu-west-1\")". */
  readonly text: string;
  readonly policy?: string;
  readonly rule?: string;
  /** For factors: the contribution to the risk score. */
  readonly contribution?: number;
  /** For tier steps: the tier this finding asked for (the executor plans actions from it). */
  readonly tier?: Tier;
  /** For exception, override and learning steps: the id of what was applied (`EX-12`, an override id). */
  readonly ref?: string;
}

export interface Explanation {
  /** One sentence. */
  readonly summary: string;
  readonly steps: readonly ExplanationStep[];
}

/**
 * A decision as the pipeline produces it, before the decision record chains it.
 * INVARIANT: every decision is recorded with its explanation.
 */
export interface DecisionDraft {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly subject?: string;
  /** RFC 3339, from the injected clock. */
  readonly time: string;
  readonly verdict: Verdict;
  readonly tier: Tier;
  readonly risk: Risk;
  readonly findings: readonly Finding[];
  readonly actions: readonly ActionPlan[];
  readonly explanation: Explanation;
  /** policy name → revision of every policy that was evaluated. */
  readonly policyRevisions: Readonly<Record<string, string>>;
  /** The input as evaluated, with configured sensitive paths masked. */
  readonly input?: unknown;
  /**
   * Set by the decision record when configured sensitive input paths were masked (OPA's
   * `erased` / `masked`): JSON Pointers from the draft root, e.g. `/input/password`; `scrubbed`
   * counts copies of the masked values replaced elsewhere (traces, explanation text).
   */
  readonly masking?: { readonly erased?: readonly string[]; readonly redacted?: readonly string[]; readonly scrubbed?: number };
  /** Admission dry-run, shadow evaluation, or replay: evaluated but not enforced. */
  readonly enforced: boolean;
  /** Free-form labels (source, pack, scope). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A decision as stored in the append-only, hash-chained decision record. */
export interface Decision extends DecisionDraft {
  /** 1-based position in the chain. */
  readonly seq: number;
  readonly prevHash: string;
  /** sha256 hex of `prevHash` + canonical JSON of the draft. */
  readonly hash: string;
}
