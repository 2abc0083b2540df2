import type { EntityBaseline } from "./baseline.js";
import { DAY_MS, isoFromMs, MINUTE_MS } from "./time.js";

/**
 * Events stamped far ahead (a source with a wrong clock, a year typed wrong) are not learned.
 * Baselines follow the event's own time, so one such event used to move an entity into its future:
 * a spend series took it as its newest period and committed every later real row on its own
 * (ten rows of an hour became ten periods of a tenth), a metric series counted years of history
 * (full spike confidence at once) and slowed its learning rate for good, and the idle ring kept
 * that day in its slot, dropping every real day that fell in it until the stamped date came.
 *
 * The reference is the later of the clock and the newest event the entities involved have seen,
 * so a replay or a test that runs ahead of a fixed clock keeps learning, while a jump of more than
 * AHEAD_LIMIT_MS past both is refused. INVARIANT: an event refused here changes no baseline.
 */
export const AHEAD_LIMIT_DAYS = 31;
const AHEAD_LIMIT_MS = AHEAD_LIMIT_DAYS * DAY_MS;

/** The reason the spike and idle signals of such an event give (one text: signals are cached per reason). */
export const aheadReason = `the event's own time is more than ${AHEAD_LIMIT_DAYS} days ahead of the clock and of its entities' latest event (a wrong clock at the source?): not learned or judged`;

/** Whether an event at `timeMs` is too far ahead of `nowMs` and of every baseline it would teach. */
export function tooFarAhead(timeMs: number, nowMs: number, baselines: Iterable<EntityBaseline>): boolean {
  if (timeMs <= nowMs + AHEAD_LIMIT_MS) return false;
  let latest = nowMs;
  for (const baseline of baselines) latest = Math.max(latest, baseline.lastSeen * MINUTE_MS);
  return timeMs > latest + AHEAD_LIMIT_MS;
}

/** The stats line of a refused event: what was refused, against what, and what to check. */
export function aheadMessage(eventId: string, timeMs: number, nowMs: number): string {
  return `event ${eventId}: its own time ${isoFromMs(timeMs)} (ChargePeriodStart, ts, eventTime, published or time) is more than ${AHEAD_LIMIT_DAYS} days after the clock (${isoFromMs(nowMs)}) and its entities' latest event: not learned; fix the source's clock or time field`;
}
