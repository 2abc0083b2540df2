import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oktaLogToEvents } from "../../src/sources/index.js";
import { startTestServer, type TestServer } from "./support.js";

// Real System Log events (Panther's labelled Okta tests) in the envelope Okta's event hook documentation shows.
const logs = readFileSync(new URL("../fixtures/panther-analysis-rules/okta-tests.jsonl", import.meta.url), "utf8")
  .split("\n").filter((line) => line.length > 0).slice(0, 3).map((line) => (JSON.parse(line) as { log: Record<string, unknown> }).log);
const delivery = (events: unknown[]) => ({
  eventType: "com.okta.event_hook", eventTypeVersion: "1.0", cloudEventsVersion: "0.1",
  source: "https://acme.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3", eventId: "b5a188b9-5ece-4636-b041-482ffda96311",
  data: { events }, eventTime: "2019-03-27T16:59:53.032Z", contentType: "application/json",
});

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe("Okta event hooks (/v1/webhooks/okta)", () => {
  it("answers Okta's one-time verification by echoing the challenge, for the ingest role only", async () => {
    const verified = await t.as("ingest", { method: "GET", url: "/v1/webhooks/okta", headers: { "x-okta-verification-challenge": "gVQSgCmR8ujbyBbv4o6GGd1Pmw6vTpVfgdJx1KLA" } });
    expect(verified.statusCode).toBe(200);
    expect(verified.json()).toEqual({ verification: "gVQSgCmR8ujbyBbv4o6GGd1Pmw6vTpVfgdJx1KLA" });
    const noChallenge = await t.as("ingest", { method: "GET", url: "/v1/webhooks/okta" });
    expect(noChallenge.statusCode).toBe(400);
    expect(noChallenge.json().error.field).toBe("x-okta-verification-challenge");
    expect((await t.as("viewer", { method: "GET", url: "/v1/webhooks/okta", headers: { "x-okta-verification-challenge": "x" } })).statusCode).toBe(403);
    expect((await t.server.app.inject({ method: "GET", url: "/v1/webhooks/okta", headers: { "x-okta-verification-challenge": "x" } })).statusCode).toBe(401);
  });

  it("stores each System Log event of a delivery (a bad one rejected by its index), and a redelivery as duplicates", async () => {
    const body = delivery([...logs, { displayMessage: "no eventType" }]);
    const first = await t.as("ingest", { method: "POST", url: "/v1/webhooks/okta", headers: { "content-type": "application/json" }, payload: body });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ accepted: 3, duplicates: 0, rejected: 1 });
    expect(first.json().results[3]).toMatchObject({ index: 3, status: "rejected", error: { field: "data.events[3].eventType" } });
    const stored = await t.agent.storage.listEvents({ type: "com.okta.system.log" });
    // The ids the System Log API's array gives: an event both polled and pushed is stored once.
    expect(stored.map((s) => s.event.id)).toEqual(oktaLogToEvents(logs).map((r) => (r.ok ? r.event.id : "")));
    const again = await t.as("ingest", { method: "POST", url: "/v1/webhooks/okta", headers: { "content-type": "application/json" }, payload: body });
    expect(again.json()).toMatchObject({ accepted: 0, duplicates: 3 });
  });

  it("refuses a body that is not a delivery, naming the part", async () => {
    const notJson = await t.as("ingest", { method: "POST", url: "/v1/webhooks/okta", headers: { "content-type": "application/json" }, payload: "{ nope" });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error.field).toBe("body");
    const notHook = await t.as("ingest", { method: "POST", url: "/v1/webhooks/okta", headers: { "content-type": "application/json" }, payload: { eventType: "user.session.start" } });
    expect(notHook.statusCode).toBe(400);
    expect(notHook.json().error.field).toBe("eventType");
    const noEvents = await t.as("ingest", { method: "POST", url: "/v1/webhooks/okta", headers: { "content-type": "application/json" }, payload: { eventType: "com.okta.event_hook", data: {} } });
    expect(noEvents.statusCode).toBe(400);
    expect(noEvents.json().error.field).toBe("data.events");
  });
});
