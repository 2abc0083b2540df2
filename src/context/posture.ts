import { postureLevels, type Posture, type PostureLevel } from "../core/entity.js";
import { VigilError } from "../core/errors.js";
import type { Storage } from "../core/ports.js";
import { parseRfc3339 } from "./time.js";

/** Storage collection of postures, one document per scope. */
export const POSTURE_COLLECTION = "posture";

const POSTURE_PAGE = 5_000;

/** What sets a posture (the API, or a `dev.vigil.posture` event). */
export interface PostureInput {
  /** `org`, `account:<id>`, `namespace:<ns>` or `repo:<owner/name>`. Default `org`. */
  readonly scope?: string;
  readonly level: PostureLevel;
  readonly reason?: string;
  /** RFC 3339 expiry; absent means until changed. */
  readonly until?: string;
  /** Who set it: a user, a token name, or an event source. */
  readonly setBy?: string;
}

// Ids without white space: scopes are matched exactly, so "account:123 " (a pasted id) was stored and never applied.
const scopePattern = /^(org|account:\S+|namespace:\S+|repo:[^/\s]+\/[^/\s]+)$/;

/** Rank of a level: normal 0 < elevated 1 < incident 2 < freeze 3. */
export function postureRank(level: PostureLevel): number {
  return postureLevels.indexOf(level);
}

/** Checks and normalises a posture input; throws VigilError(VIGIL_BAD_INPUT) naming the field. */
export function validatePostureInput(input: PostureInput, nowMs: number): Required<Pick<PostureInput, "scope" | "level">> & PostureInput {
  const scope = input.scope ?? "org";
  if (typeof scope !== "string" || !scopePattern.test(scope)) {
    throw new VigilError("VIGIL_BAD_INPUT", `posture.scope must be "org", "account:<id>", "namespace:<ns>" or "repo:<owner>/<name>" with no white space, got ${JSON.stringify(scope)}`, { field: "scope" });
  }
  if (!postureLevels.includes(input.level)) {
    throw new VigilError("VIGIL_BAD_INPUT", `posture.level must be one of ${postureLevels.join(", ")}, got ${JSON.stringify(input.level)}`, { field: "level" });
  }
  if (input.until !== undefined) {
    // RFC 3339 only: with an offset (Z, +01:00). Date.parse also takes times without one, in the server's local time zone.
    const until = parseRfc3339(input.until) ?? Number.NaN;
    if (Number.isNaN(until)) throw new VigilError("VIGIL_BAD_INPUT", `posture.until must be an RFC 3339 time with its offset, like "2025-01-31T18:00:00Z" or "2025-01-31T19:00:00+01:00", got ${JSON.stringify(input.until)}`, { field: "until" });
    if (until <= nowMs) throw new VigilError("VIGIL_BAD_INPUT", `posture.until (${input.until}) is not in the future; omit it or give a later time`, { field: "until" });
  }
  if (input.reason !== undefined && typeof input.reason !== "string") throw new VigilError("VIGIL_BAD_INPUT", "posture.reason must be a string", { field: "reason" });
  return { ...input, scope };
}

/**
 * The postures currently set, one per scope (few; all kept in memory and written through).
 * INVARIANT: the effective posture for an event is the strictest unexpired posture among
 * `org` and the event's scopes; on equal levels the narrower scope is reported.
 */
export class PostureBook {
  private readonly byScope = new Map<string, Posture>();
  private loaded = false;

  constructor(
    private readonly storage: Storage,
    private readonly defaultSince: string,
  ) {}

  async load(): Promise<void> {
    if (this.loaded) return;
    // Every page: postures are never deleted (expired ones stay), and `org` sorts after `account:` and `namespace:` scopes.
    for (let afterId: string | undefined; ; ) {
      const docs = await this.storage.listDocs<Posture>(POSTURE_COLLECTION, { limit: POSTURE_PAGE, ...(afterId === undefined ? {} : { afterId }) });
      for (const doc of docs) {
        if (!doc.value || !postureLevels.includes(doc.value.level)) continue;
        // A repo scope stored in another case before scopes were keyed case-insensitively: the newest wins.
        const key = scopeKey(doc.id);
        const known = this.byScope.get(key);
        if (known === undefined || Date.parse(known.since) <= Date.parse(doc.value.since)) this.byScope.set(key, doc.value);
      }
      if (docs.length < POSTURE_PAGE) break;
      afterId = docs[docs.length - 1]?.id;
    }
    this.loaded = true;
  }

  /**
   * Sets (replaces) the posture of a scope, stores it, and appends an audit entry. `atMs`: when
   * the change was made, for `dev.vigil.posture` events their own time (at most `nowMs`); it
   * becomes `since`, and a change older than the scope's current posture (an event arriving late)
   * is refused with VIGIL_CONFLICT instead of undoing the newer one. Without it (the API) the
   * change is made now and always applies.
   */
  async set(input: PostureInput, nowMs: number, atMs?: number): Promise<Posture> {
    const valid = validatePostureInput(input, nowMs);
    const sinceMs = atMs !== undefined && Number.isFinite(atMs) ? Math.min(atMs, nowMs) : nowMs;
    const key = scopeKey(valid.scope);
    const current = this.byScope.get(key);
    if (atMs !== undefined && current !== undefined && Date.parse(current.since) > sinceMs) {
      throw new VigilError("VIGIL_CONFLICT", `posture ${valid.level} for ${valid.scope} at ${new Date(sinceMs).toISOString()} is older than the ${current.level} posture in force since ${current.since}; not applied`, { field: "scope" });
    }
    const posture: Posture = {
      level: valid.level,
      scope: valid.scope,
      since: new Date(sinceMs).toISOString(),
      ...(valid.reason !== undefined ? { reason: valid.reason } : {}),
      ...(valid.setBy !== undefined ? { setBy: valid.setBy } : {}),
      ...(valid.until !== undefined ? { until: new Date(parseRfc3339(valid.until) as number).toISOString() } : {}),
    };
    const at = new Date(nowMs).toISOString();
    // In force at once (events built after this see it); the write follows.
    const previous = this.byScope.get(key);
    this.byScope.set(key, posture);
    try {
      await this.storage.putDocs([{ collection: POSTURE_COLLECTION, id: key, value: posture }], at);
    } catch (error) {
      if (this.byScope.get(key) === posture) {
        if (previous) this.byScope.set(key, previous);
        else this.byScope.delete(key);
      }
      throw error;
    }
    await this.storage.appendAudit([{ at, actor: posture.setBy ?? "unknown", action: "posture.set", target: posture.scope, detail: { level: posture.level, ...(posture.reason ? { reason: posture.reason } : {}), ...(posture.until ? { until: posture.until } : {}) } }]);
    return posture;
  }

  /** The posture stored for a scope, expired or not. */
  get(scope: string): Posture | undefined {
    return this.byScope.get(scopeKey(scope));
  }

  /** Postures in force at `nowMs` (expired ones are left out), org first. */
  list(nowMs: number): Posture[] {
    return [...this.byScope.values()].filter((posture) => !isExpired(posture, nowMs)).sort((a, b) => (a.scope === "org" ? -1 : b.scope === "org" ? 1 : a.scope.localeCompare(b.scope)));
  }

  /** The strictest unexpired posture among `org` and `scopes` at `nowMs`. */
  effective(scopes: readonly string[], nowMs: number): Posture {
    let best = this.byScope.get("org");
    if (best && isExpired(best, nowMs)) best = undefined;
    for (const scope of scopes) {
      const candidate = this.byScope.get(scopeKey(scope));
      if (!candidate || isExpired(candidate, nowMs)) continue;
      if (!best || postureRank(candidate.level) >= postureRank(best.level)) best = candidate;
    }
    return best ?? { level: "normal", scope: "org", since: this.defaultSince };
  }
}

/** The key of a scope: repo scopes in lower case (GitHub owner and repository names are case-insensitive). */
function scopeKey(scope: string): string {
  return scope.startsWith("repo:") ? scope.toLowerCase() : scope;
}

function isExpired(posture: Posture, nowMs: number): boolean {
  return posture.until !== undefined && Date.parse(posture.until) <= nowMs;
}
