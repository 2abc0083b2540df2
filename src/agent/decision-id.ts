import { sha256Hex } from "../core/hash.js";
import type { Event } from "../core/event.js";

/**
 * The decision id of an ingested event: a UUID-shaped digest of `(source, id)`. Deterministic, so
 * processing an event twice (a restart between recording and marking it processed, a bus message
 * redelivered to another worker) yields the same id, and the decision record — whose ids are
 * unique — refuses the second copy. INVARIANT: one decision per ingested event.
 */
export function decisionIdFor(event: Pick<Event, "source" | "id">): string {
  const hex = sha256Hex(`vigil-decision\u0000${event.source}\u0000${event.id}`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${(8 | (Number.parseInt(hex[16] as string, 16) & 3)).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The decision id of an event replayed by `vigil replay` run `run`: like `decisionIdFor`, but
 * distinct from the agent's decision of the same event and from other runs, so a replay recorded
 * with --record never collides with what the agent recorded.
 */
export function replayDecisionIdFor(event: Pick<Event, "source" | "id">, run: string): string {
  return decisionIdFor({ source: `vigil-replay\u0000${run}\u0000${event.source}`, id: event.id });
}
