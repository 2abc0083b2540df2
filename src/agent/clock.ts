/**
 * The agent's clock. `clock.mode: manual` (tests, demos) gives a clock that stands still until
 * an admin moves it (`PUT /v1/clock`), so escalation timeouts and expiries are tested without
 * sleeping — in a real server process as well as in-process. `clock.mode: events` (replays and
 * demos of recorded or simulated streams) gives a clock that follows the events: the pipeline
 * moves it to each event's time before deciding it, so posture expiry, exception expiry, history
 * windows and ladder due times are judged in the stream's time, as `vigil replay` judges them.
 */
import { VigilError } from "../core/errors.js";
import { systemClock, type Clock } from "../core/ports.js";
import type { VigilConfig } from "../config.js";

export interface ManualClock extends Clock {
  /** Moves to an absolute time; VIGIL_BAD_INPUT when it would go backwards. */
  set(time: string | number): void;
  advance(ms: number): void;
}

export function createManualClock(start: string | number): ManualClock {
  let now = typeof start === "number" ? start : Date.parse(start);
  if (Number.isNaN(now)) throw new VigilError("VIGIL_BAD_CONFIG", `clock.start must be an RFC 3339 time like "2025-01-01T00:00:00Z", got ${JSON.stringify(start)}`, { field: "clock.start" });
  return {
    now: () => new Date(now),
    set(time) {
      const next = typeof time === "number" ? time : Date.parse(time);
      if (Number.isNaN(next)) throw new VigilError("VIGIL_BAD_INPUT", `time must be an RFC 3339 time, got ${JSON.stringify(time)}`, { field: "time" });
      if (next < now) throw new VigilError("VIGIL_BAD_INPUT", `time ${new Date(next).toISOString()} is before the clock's ${new Date(now).toISOString()}: the clock only moves forward`, { field: "time" });
      now = next;
    },
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new VigilError("VIGIL_BAD_INPUT", `advance must be a non-negative number of milliseconds, got ${ms}`, { field: "advanceMs" });
      now += ms;
    },
  };
}

/** A clock that follows event time: it only moves forward, to the latest event time it is shown. */
export interface EventClock extends Clock {
  /**
   * Moves to the event's time (`time`, RFC 3339) when it is later than the clock; an event without
   * a usable time, or older than the clock, leaves it where it is. Returns the clock's time (ms).
   */
  follow(time: string | undefined): number;
  /**
   * Sets the clock to `ms` for now only: the next usable event time moves it there even when
   * earlier (a replay whose first events carry no time starts on the wall clock, then follows the
   * stream). Later `follow`s only move it forward again.
   */
  provisional(ms: number): void;
}

export function createEventClock(start: string | number): EventClock {
  let now = typeof start === "number" ? start : Date.parse(start);
  if (Number.isNaN(now)) throw new VigilError("VIGIL_BAD_CONFIG", `clock.start must be an RFC 3339 time like "2025-01-01T00:00:00Z", got ${JSON.stringify(start)}`, { field: "clock.start" });
  let tentative = false;
  return {
    now: () => new Date(now),
    follow(time) {
      if (time !== undefined) {
        const at = Date.parse(time);
        if (!Number.isNaN(at) && (at > now || tentative)) {
          now = at;
          tentative = false;
        }
      }
      return now;
    },
    provisional(ms) {
      now = ms;
      tentative = true;
    },
  };
}

/** The configured clock; `manual` is set only for `clock.mode: manual`, `events` only for `clock.mode: events`. */
export function clockFromConfig(config: Pick<VigilConfig, "clock">, override?: Clock): { clock: Clock; manual?: ManualClock; events?: EventClock } {
  if (override) return { clock: override };
  if (config.clock.mode === "manual") {
    const manual = createManualClock(config.clock.start ?? Date.now());
    return { clock: manual, manual };
  }
  if (config.clock.mode === "events") {
    const events = createEventClock(config.clock.start ?? Date.now());
    // Without clock.start, the first event's time starts the clock (a recorded stream is in the past).
    if (config.clock.start === undefined) events.provisional(Date.now());
    return { clock: events, events };
  }
  return { clock: systemClock };
}
