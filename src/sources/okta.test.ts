import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { oktaEventHookToEvents, oktaEventToEvent, oktaLogToEvents } from "./okta.js";
import { ingestText } from "./ingest.js";
import type { IngestResult } from "./results.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
type Json = Record<string, unknown>;
interface PantherTest {
  rule: string;
  test: string;
  expectedResult: boolean;
  log: Json;
}
const panther = readFileSync(`${fixtures}panther-analysis-rules/okta-tests.jsonl`, "utf8")
  .split("\n")
  .filter((line) => line.length > 0)
  .map((line) => JSON.parse(line) as PantherTest);

const event = (result: IngestResult) => {
  if (!result.ok) throw result.error;
  return result.event;
};
const find = (name: string): PantherTest => {
  const test = panther.find((t) => t.test === name);
  if (test === undefined) throw new Error(`no Panther test named ${name}`);
  return test;
};

describe("Okta System Log (Panther's labelled Okta tests)", () => {
  it("maps uuid, published, actor and keeps the event unchanged", () => {
    const test = find("Admin Access Assigned");
    const e = event(oktaEventToEvent(test.log, { source: "https://acme.okta.com" }));
    expect(e).toEqual({
      specversion: "1.0",
      id: "2a992f80-d1ad-4f62-900e-8c68bb72a21b",
      source: "https://acme.okta.com",
      type: "com.okta.system.log",
      subject: "jack@acme.io",
      time: "2020-11-25T21:27:03.496000000Z",
      datacontenttype: "application/json",
      data: test.log,
    });
    expect(event(oktaEventToEvent(test.log)).source).toBe("okta");
  });

  it("converts all 88 tests, rejecting only the two enrichment-only logs by field", () => {
    const results = oktaLogToEvents(panther.map((t) => t.log));
    expect(results).toHaveLength(88);
    const rejected = results.filter((r) => !r.ok);
    expect(rejected.map((r) => r.index)).toEqual([70, 82]);
    for (const result of rejected) expect(result.ok === false && result.error.details.field).toBe("eventType");
    results.forEach((result, index) => {
      if (result.ok) expect(result.event.data).toBe(panther[index]?.log);
    });
  });

  it("uses actor.id when there is no alternateId, and hashes events without uuid", () => {
    const log = { ...find("Admin Access Assigned").log, uuid: undefined, actor: { id: "00uu1uuuuIlllaaaa356", type: "User" } };
    const e = event(oktaEventToEvent(log));
    expect(e.subject).toBe("00uu1uuuuIlllaaaa356");
    expect(e.id).toMatch(/^sha256:/);
    expect(event(oktaEventToEvent({ ...log })).id).toBe(e.id);
  });

  it("keeps an event whose published is not a timestamp, without time, and says so", () => {
    const redacted = panther.find((t) => t.log["published"] === "redacted");
    const log = redacted?.log ?? { ...find("Admin Access Assigned").log, published: "redacted" };
    const result = oktaEventToEvent(log);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event.time).toBeUndefined();
    expect(result.warnings?.[0]).toContain("`published` is \"redacted\", not a timestamp");
  });

  it("rejects a non-object and an event without eventType", () => {
    expect(oktaEventToEvent(["x"]).ok).toBe(false);
    const { eventType: _t, ...rest } = find("Admin Access Assigned").log;
    const result = oktaEventToEvent(rest);
    expect(result.ok === false && result.error.message).toContain("eventType");
  });
});

describe("Okta event hook deliveries (what Okta POSTs to a registered event hook)", () => {
  // The envelope as Okta's event hook documentation shows it; the events are Panther's real System Log events.
  const logs = panther.slice(0, 3).map((t) => t.log);
  const delivery = {
    eventType: "com.okta.event_hook",
    eventTypeVersion: "1.0",
    cloudEventsVersion: "0.1",
    source: "https://acme.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3",
    eventId: "b5a188b9-5ece-4636-b041-482ffda96311",
    data: { events: logs },
    eventTime: "2019-03-27T16:59:53.032Z",
    contentType: "application/json",
  };

  it("gives one event per System Log event, the same events the System Log API's array gives", () => {
    const results = oktaEventHookToEvents(delivery);
    expect(results.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(results.map((r) => event(r))).toEqual(oktaLogToEvents(logs).map((r) => event(r)));
  });

  it("names a bad event by its place in data.events and keeps the others; a delivery without data.events is one problem", () => {
    const results = oktaEventHookToEvents({ ...delivery, data: { events: [logs[0], { displayMessage: "no type" }] } });
    expect(results[0]?.ok).toBe(true);
    expect(results[1]).toMatchObject({ ok: false, error: { details: { field: "data.events[1].eventType" } } });
    // The message names the same path as the field (it said only `eventType`).
    expect(results[1]?.ok === false && results[1].error.message).toMatch(/^`data\.events\[1\]\.eventType` is missing/);
    expect(oktaEventHookToEvents({ ...delivery, data: {} })).toMatchObject([{ ok: false, error: { details: { field: "data.events" } } }]);
    expect(oktaEventHookToEvents({ eventType: "user.session.start" })).toMatchObject([{ ok: false, error: { details: { field: "eventType" } } }]);
  });

  it("is read by vigil ingest's detection: a saved delivery gives its System Log events", async () => {
    const { results } = await ingestText(JSON.stringify(delivery));
    expect(results.map((r) => (r.ok ? r.event.type : r.error.message))).toEqual(["com.okta.system.log", "com.okta.system.log", "com.okta.system.log"]);
  });
});
