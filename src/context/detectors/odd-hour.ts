import type { Factor, Signal } from "../../core/entity.js";
import type { VigilError } from "../../core/errors.js";
import { activityAt, type ActivityHolder } from "../activity.js";
import type { CompiledSchedule } from "../schedule.js";
import type { OddHourSettings } from "../settings.js";
import { round } from "../series.js";
import { HOURS_PER_WEEK, hourOfWeek, hourOfWeekLabel, toMinutes } from "../time.js";
import { clamp01, notApplicable, show, signal } from "./signal.js";

export interface OddHourInput {
  readonly own: ActivityHolder | undefined;
  readonly peer: ActivityHolder | undefined;
  /** Peer group key (`peer:team/payments`, `peer:all/principal`) for the explanation. */
  readonly peerKey: string;
  readonly timeMs: number;
  readonly halfLifeMinutes: number;
  /** The principal's `onCall` attribute, compiled (or the error it gave). */
  readonly onCall: CompiledSchedule | VigilError | undefined;
}

/** Smoothed probability of the hour: Dirichlet prior of `prior` events spread over the week. */
function smoothed(events: number, share: number, prior: number): number {
  // No events and no prior (prior 0): nothing known, an average hour (not 0/0).
  return events + prior > 0 ? (share * events + prior / HOURS_PER_WEEK) / (events + prior) : 1 / HOURS_PER_WEEK;
}

function certainty(events: number): number {
  return events / (events + 20);
}

/**
 * Odd hour: how unusual the event's hour of week is for this principal. p = w·p_own +
 * (1-w)·p_peer, each smoothed (neighbouring hours, Dirichlet prior), with w = min(1, n /
 * peerBlendEvents) for n decayed events of the principal: a new principal is judged mostly by
 * its peer group (team, else all principals), one with a long history by its own habits only. ratio = p × 168 (1 = an average hour); score = 1 - ratio /
 * ratioThreshold when below it. When the principal is on call (`onCall` attribute) the score is
 * multiplied by onCallFactor and a negative factor says so. Pure and deterministic.
 */
export function detectOddHour(input: OddHourInput, settings: OddHourSettings): Signal {
  if (!settings.enabled) return notApplicable("oddHour", "disabled");
  const minutes = toMinutes(input.timeMs);
  const how = hourOfWeek(input.timeMs);
  const own = input.own ? activityAt(input.own, minutes, how, input.halfLifeMinutes) : { events: 0, share: 0 };
  const peer = input.peer ? activityAt(input.peer, minutes, how, input.halfLifeMinutes) : { events: 0, share: 0 };
  if (own.events === 0 && peer.events === 0) return signal("oddHour", 0, 0, [], { hourOfWeek: hourOfWeekLabel(how), reason: "no activity history yet" });
  // peerBlendEvents 0: own history alone (not 0/0 for a principal without events).
  const weight = own.events >= settings.peerBlendEvents ? 1 : own.events / settings.peerBlendEvents;
  const pOwn = smoothed(own.events, own.share, settings.prior);
  const pPeer = peer.events > 0 ? smoothed(peer.events, peer.share, settings.prior) : 1 / HOURS_PER_WEEK;
  const probability = weight * pOwn + (1 - weight) * pPeer;
  const ratio = probability * HOURS_PER_WEEK;
  const raw = ratio >= settings.ratioThreshold ? 0 : clamp01(1 - ratio / settings.ratioThreshold);
  const confidence = weight * certainty(own.events) + (1 - weight) * 0.6 * certainty(peer.events);
  const factors: Factor[] = [];
  const blend = `${Math.round(weight * 100)}% own history (${show(own.events)} events), ${Math.round((1 - weight) * 100)}% ${input.peerKey.replace(/^peer:/, "")}`;
  if (raw > 0) factors.push({ name: "unusual hour of week", contribution: raw, detail: `${hourOfWeekLabel(how)} has ${show(ratio)}× the activity of an average hour (blend: ${blend})` });
  let score = raw;
  let onCall = false;
  if (input.onCall instanceof Error) factors.push({ name: "onCall ignored", contribution: 0, detail: input.onCall.message });
  else if (input.onCall && input.onCall.contains(input.timeMs)) {
    onCall = true;
    score = raw * settings.onCallFactor;
    if (raw > 0) factors.push({ name: "on call", contribution: score - raw, detail: `on call at this time per the onCall schedule (${input.onCall.description})` });
  }
  return signal("oddHour", score, confidence, factors, {
    hourOfWeek: hourOfWeekLabel(how),
    probability: round(probability),
    ratio: round(ratio),
    ownEvents: round(own.events),
    peerEvents: round(peer.events),
    ownWeight: round(weight),
    peer: input.peerKey,
    onCall,
  });
}
