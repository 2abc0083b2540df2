import { EventTypes, type Event } from "../core/index.js";
import { place, position, problem, type Conversion, type FieldProblem, type IngestResult } from "./results.js";
import {
  createContentIdAllocator,
  field,
  fieldName,
  isRecord,
  kindOf,
  nestingProblem,
  upstreamTime,
  type ContentIdAllocator,
  type JsonRecord,
} from "./values.js";

/**
 * Okta System Log → `com.okta.system.log`. Mapping: id = `uuid` (content hash when absent),
 * time = `published`, subject = `actor.alternateId` (else `actor.id`), source = the configured
 * Okta org (default `okta`), data = the log event unchanged.
 */

export interface OktaOptions {
  /** CloudEvents `source`, e.g. the org URL `https://acme.okta.com`; default `okta`. */
  readonly source?: string;
  readonly ids?: ContentIdAllocator;
}

/** Checks an Okta System Log event: an object with a string `eventType`. Never throws. */
export function validateOktaEvent(value: unknown, prefix = ""): FieldProblem[] {
  const at = (name: string): string => (prefix === "" ? name : `${prefix}.${name}`);
  if (!isRecord(value)) {
    return [problem(prefix === "" ? "(event)" : prefix, `an Okta System Log event is a JSON object, got ${kindOf(value)}`)];
  }
  const eventType = field(value, "eventType");
  if (typeof eventType !== "string" || eventType.length === 0) {
    return [problem(at(fieldName(value, "eventType")), `\`${at(fieldName(value, "eventType"))}\` is ${kindOf(eventType)}: an Okta System Log event names what happened in \`eventType\` (e.g. "user.session.start"); send the event as the System Log API returns it`)];
  }
  return [];
}

export function oktaActor(value: JsonRecord): string | undefined {
  const actor = field(value, "actor");
  if (!isRecord(actor)) return undefined;
  for (const name of ["alternateId", "id"]) {
    const id = field(actor, name);
    if (typeof id === "string" && id.length > 0 && id !== "unknown") return id;
  }
  return undefined;
}

/** `prefix`: where the event sits in its document (`data.events[3]` of a hook delivery), for field names and messages. */
export function convertOktaEvent(value: unknown, ids: ContentIdAllocator, source = "okta", prefix = ""): Conversion {
  const problems = validateOktaEvent(value, prefix);
  const deep = nestingProblem(value, prefix);
  if (deep !== undefined) problems.push(deep);
  if (problems.length > 0 || !isRecord(value)) return { problems };
  const uuid = field(value, "uuid");
  const timed = upstreamTime(field(value, "published"), fieldName(value, "published"));
  const subject = oktaActor(value);
  const event: Event = {
    specversion: "1.0",
    id: typeof uuid === "string" && uuid.length > 0 ? uuid : ids.idFor(value),
    source,
    type: EventTypes.oktaSystemLog,
    ...(subject === undefined ? {} : { subject }),
    ...(timed.time === undefined ? {} : { time: timed.time }),
    datacontenttype: "application/json",
    data: value,
  };
  return { event, warnings: timed.warning === undefined ? [] : [timed.warning] };
}

/** One Okta System Log event → one event (`index` 0). Never throws. */
export function oktaEventToEvent(value: unknown, options: OktaOptions = {}): IngestResult {
  return place(convertOktaEvent(value, options.ids ?? createContentIdAllocator(), options.source), position(0));
}

/** An Okta log array (what `GET /api/v1/logs` returns) → one result per element. Never throws. */
export function oktaLogToEvents(values: readonly unknown[], options: OktaOptions = {}): IngestResult[] {
  const ids = options.ids ?? createContentIdAllocator();
  return values.map((value, index) => place(convertOktaEvent(value, ids, options.source), position(index)));
}

/** The `eventType` of an Okta event hook delivery's envelope. */
export const OKTA_EVENT_HOOK_TYPE = "com.okta.event_hook";

/** True for an Okta event hook delivery (Okta's POST to a registered endpoint): `eventType` com.okta.event_hook. */
export function looksLikeOktaEventHook(value: unknown): value is JsonRecord {
  return isRecord(value) && field(value, "eventType") === OKTA_EVENT_HOOK_TYPE;
}

/**
 * An Okta event hook delivery (`{ eventType: "com.okta.event_hook", eventTypeVersion, source,
 * eventId, eventTime, data: { events: [System Log events] } }`) → one conversion per System Log
 * event in `data.events`, as the System Log API's events convert (same ids, so an event polled and
 * pushed is stored once), problems named `data.events[i].…`. A delivery without a `data.events`
 * array is one conversion naming it. Never throws.
 */
export function oktaEventHookConversions(value: JsonRecord, ids: ContentIdAllocator, source = "okta"): Conversion[] {
  const data = field(value, "data");
  const events = isRecord(data) ? field(data, "events") : undefined;
  if (!Array.isArray(events)) {
    return [{ problems: [problem("data.events", `an Okta event hook delivery carries its System Log events in \`data.events\`, got ${kindOf(events)}; send the body Okta posts as it is`)] }];
  }
  return events.map((event, index) => convertOktaEvent(event, ids, source, `data.events[${index}]`));
}

/** An Okta event hook delivery → one result per System Log event (`index` = its place in `data.events`). Never throws. */
export function oktaEventHookToEvents(value: unknown, options: OktaOptions = {}): IngestResult[] {
  if (!looksLikeOktaEventHook(value)) {
    return [place({ problems: [problem("eventType", `an Okta event hook delivery has eventType "${OKTA_EVENT_HOOK_TYPE}", got ${isRecord(value) ? kindOf(field(value, "eventType")) : kindOf(value)}; register this URL as an Okta event hook`)] }, position(0))];
  }
  return oktaEventHookConversions(value, options.ids ?? createContentIdAllocator(), options.source).map((conversion, index) => place(conversion, position(index)));
}

/** True when a value looks like an Okta System Log event. */
export function looksLikeOktaEvent(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const hits = ["eventType", "published", "actor", "uuid", "displayMessage", "legacyEventType"].filter(
    (name) => field(value, name) !== undefined,
  ).length;
  return field(value, "eventType") !== undefined && hits >= 2;
}
