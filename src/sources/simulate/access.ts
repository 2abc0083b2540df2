/**
 * `vigil simulate --scenario access`: a 31-person organisation's CloudTrail and Okta System Log
 * stream with ground truth. Teams work their hours (one in Singapore, whose day is the UTC night);
 * a platform engineer is on call each week and gets paged at night; people travel, most with a
 * travel notice; a deployment pipeline and a backup job run at night; IT admins reset factors and
 * grant roles. A few compromises happen — a stolen access key, an Okta account takeover, a hijacked
 * AWS session — each at an odd hour from a new country and device, touching restricted services.
 * Every event of a compromise is labelled `violation`; everything else `benign`, with a note saying
 * which benign case it is (the ones a static night-time rule would flag included).
 * Setup (`accessScenario.setup`): teams and on-call windows as principal attributes, travel notices
 * as exceptions. docs/packs/access.md#the-simulate-scenario.
 */
import type { Entity } from "../../core/entity.js";
import type { Event } from "../../core/event.js";
import type { PolicyException } from "../../core/review.js";
import { cloudTrailRecordToEvent } from "../cloudtrail.js";
import { oktaEventToEvent } from "../okta.js";
import { DayPlan, type Item } from "./access-activity.js";
import { createOrganisation, OKTA_ORG, principalIds, type Organisation } from "./access-org.js";
import { createRandom, TRUTH_ATTRIBUTE, TRUTH_NOTE_ATTRIBUTE, type Scenario, type ScenarioOptions, type ScenarioSetup } from "./scenario.js";

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** UTC day of week (0 Sunday) of an instant. */
function weekdayOf(ms: number): number {
  return new Date(ms).getUTCDay();
}

/** Monday 09:00 UTC on or before the first day: on-call weeks hand over then. */
function firstHandover(startMs: number): number {
  const dayStart = Math.floor(startMs / DAY) * DAY;
  const sinceMonday = (weekdayOf(dayStart) + 6) % 7;
  return dayStart - sinceMonday * DAY + 9 * HOUR;
}

function toEvent(item: Item): Event | undefined {
  const result = item.kind === "cloudtrail" ? cloudTrailRecordToEvent(item.record) : oktaEventToEvent(item.record, { source: OKTA_ORG });
  if (!result.ok) return undefined;
  return { ...result.event, [TRUTH_ATTRIBUTE]: item.label, [TRUTH_NOTE_ATTRIBUTE]: item.note };
}

function* days(options: ScenarioOptions, org: Organisation): Generator<Event> {
  const startMs = options.start.getTime();
  const handover = firstHandover(startMs);
  const endMs = startMs + options.days * DAY;
  let carried: { item: Item; seq: number }[] = [];
  let seq = 0;
  for (let day = 0; day < options.days; day++) {
    const dayStartMs = Math.floor(startMs / DAY) * DAY + day * DAY;
    // One generator per day: a day's events do not depend on how many events earlier days drew.
    const random = createRandom((options.seed * 1_000_003 + day * 7919) >>> 0);
    const plan = new DayPlan(random, org, dayStartMs, day, weekdayOf(dayStartMs));
    for (const person of org.people) {
      const trip = org.trips.find((t) => t.person === person && t.firstDay <= day && day <= t.lastDay);
      plan.person(person, trip);
    }
    // A page at night goes to whoever is on call at that instant (weeks hand over Monday 09:00 UTC).
    if (random.chance(0.4)) plan.onCallPage((timeMs) => org.onCall(Math.floor((timeMs - handover) / (7 * DAY))));
    for (const job of org.jobs) plan.job(job.name, job.userName, job.accessKeyId, job.hours, job.calls);
    for (const compromise of org.compromises) if (compromise.day === day) plan.compromise(compromise);
    // Late sessions run past midnight: keep what belongs to a later day and merge it with that day.
    const items = [...carried, ...plan.items.map((item) => ({ item, seq: seq++ }))]
      .filter(({ item }) => item.timeMs >= startMs && item.timeMs < endMs)
      .sort((a, b) => a.item.timeMs - b.item.timeMs || a.seq - b.seq);
    carried = [];
    for (const entry of items) {
      if (entry.item.timeMs >= dayStartMs + DAY) { carried.push(entry); continue; }
      const event = toEvent(entry.item);
      if (event !== undefined) yield event;
    }
  }
}

function setup(options: ScenarioOptions): ScenarioSetup {
  const org = createOrganisation(options.seed, options.days);
  const startMs = options.start.getTime();
  const handover = firstHandover(startMs);
  const weeks = Math.ceil((startMs + options.days * DAY - handover) / (7 * DAY)) + 1;
  const entities: Entity[] = [];
  for (const person of org.people) {
    const windows: { from: string; until: string }[] = [];
    for (let week = -1; week < weeks; week++) {
      if (org.onCall(week) !== person) continue;
      const from = handover + week * 7 * DAY;
      windows.push({ from: new Date(from).toISOString(), until: new Date(from + 7 * DAY).toISOString() });
    }
    const attrs: Record<string, unknown> = { team: person.team, displayName: person.name, email: person.login, ...(windows.length > 0 ? { onCall: windows } : {}) };
    for (const id of principalIds(person)) entities.push({ kind: "principal", id, attrs });
  }
  for (const job of org.jobs) entities.push({ kind: "principal", id: `arn:aws:iam::111122223333:user/${job.userName}`, attrs: { team: "automation", displayName: job.name } });
  const exceptions: PolicyException[] = org.trips.filter((t) => t.notice).map((trip, i) => {
    const from = Math.floor(startMs / DAY) * DAY + trip.firstDay * DAY;
    const until = Math.floor(startMs / DAY) * DAY + (trip.lastDay + 2) * DAY;
    return {
      id: `TRAVEL-${i + 1}`,
      policies: ["access-*"],
      subjects: principalIds(trip.person),
      when: `context.entities.?geo.?attrs.?country.orValue("") in ["${trip.place.iso}", "${trip.place.country}"]`,
      justification: `travel notice: ${trip.person.name} works from ${trip.place.city}, ${trip.place.country} from ${new Date(from).toISOString().slice(0, 10)}`,
      ticket: `HR-TRAVEL-${100 + i}`,
      createdBy: "hr-travel-sync",
      createdAt: new Date(from - 2 * DAY).toISOString(),
      expiresAt: new Date(until).toISOString(),
    };
  });
  return { entities, exceptions };
}

export const accessScenario: Scenario = {
  name: "access",
  description: "CloudTrail and Okta events of a 31-person organisation: day and night teams, a weekly on-call rotation, travellers, night jobs, IT admin work, and a few compromises (stolen key, Okta takeover, hijacked AWS session) at odd hours from new countries and devices",
  generate(options) {
    return days(options, createOrganisation(options.seed, options.days));
  },
  setup,
};
