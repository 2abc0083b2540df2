/** Anything Vigil keeps memory about: principals, resources, repos, accounts, datasets. */
export interface Entity {
  readonly kind: string;
  readonly id: string;
  /**
   * Free-form attributes. Well-known ones: owner, team, criticality
   * (low|medium|high|critical), classification, environment, labels, tags, region.
   */
  readonly attrs: Readonly<Record<string, unknown>>;
  /** Relations to other entities, e.g. `{ team: ["team/payments"] }`. */
  readonly relations?: Readonly<Record<string, readonly string[]>>;
}

export function entityKey(entity: Pick<Entity, "kind" | "id">): string {
  return `${entity.kind}/${entity.id}`;
}

export type PostureLevel = "normal" | "elevated" | "incident" | "freeze";

export const postureLevels: readonly PostureLevel[] = ["normal", "elevated", "incident", "freeze"];

/** The organisation's current risk posture for a scope, set by events or people, expiring. */
export interface Posture {
  readonly level: PostureLevel;
  /** "org", or "account:123", "namespace:prod", "repo:owner/name". */
  readonly scope: string;
  readonly reason?: string;
  readonly setBy?: string;
  readonly since: string;
  /** RFC 3339; absent means until changed. */
  readonly until?: string;
}

/** One named contribution to a score. Contributions of a score add up to it (before clamping). */
export interface Factor {
  readonly name: string;
  readonly contribution: number;
  /** Plain-language detail: "first access from country BR (never seen in 90 days)". */
  readonly detail?: string;
}

/** A detector's output for one event. */
export interface Signal {
  readonly detector: string;
  /** In [0, 1]. */
  readonly score: number;
  /** How much history backs the score, in [0, 1]. */
  readonly confidence: number;
  readonly factors: readonly Factor[];
  /** Detector-specific numbers (expected, observed, z, probability...). */
  readonly values?: Readonly<Record<string, unknown>>;
}
