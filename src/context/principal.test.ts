import { describe, expect, it } from "vitest";
import type { Event } from "../core/event.js";
import { EventTypes } from "../core/event.js";
import { cloudTrailFixture, makeEvent, pantherLog } from "./fixtures.test-support.js";
import { createContextStage, type ContextStage } from "./stage.js";
import { createManualClock, createMemoryDocStorage } from "./test-support.js";
import { DAY_MS, HOUR_MS } from "./time.js";

/** Monday 2024-09-02. */
const start = Date.parse("2024-09-02T00:00:00Z");
const oktaLogin = pantherLog("okta", "rules/okta_rules/okta_login_signal.yml", "Successful Login");

function oktaLoginAt(user: string, timeMs: number, overrides: Record<string, unknown> = {}): Event {
  const published = new Date(timeMs).toISOString().replace("T", " ").replace("Z", "");
  return makeEvent(EventTypes.oktaSystemLog, { ...oktaLogin, published, actor: { ...(oktaLogin["actor"] as object), alternateId: user }, ...overrides });
}

const cloudTrailRecord = cloudTrailFixture("event-cloud-trail-s3.json").data as Record<string, unknown>;

function apiCall(arn: string, timeMs: number, region: string): Event {
  return makeEvent(EventTypes.cloudTrail, { ...cloudTrailRecord, awsRegion: region, eventTime: new Date(timeMs).toISOString(), userIdentity: { ...(cloudTrailRecord["userIdentity"] as object), arn } });
}

async function learn(stage: ContextStage, events: readonly Event[]): Promise<void> {
  for (const event of events) stage.observe(event, await stage.build(event));
}

/** One login per hour in [fromHour, toHour) on the given weekdays (0 = Monday) for `weeks` weeks. */
function logins(user: string, weeks: number, days: readonly number[], fromHour: number, toHour: number): Event[] {
  const events: Event[] = [];
  for (let week = 0; week < weeks; week++) {
    for (const day of days) for (let hour = fromHour; hour < toHour; hour++) events.push(oktaLoginAt(user, start + (week * 7 + day) * DAY_MS + hour * HOUR_MS));
  }
  return events;
}

const weekdays = [0, 1, 2, 3, 4];
const everyDay = [0, 1, 2, 3, 4, 5, 6];
/** Sunday of week 4, 03:00. */
const sundayNight = start + (3 * 7 + 6) * DAY_MS + 3 * HOUR_MS;
/** Tuesday of week 4, 11:00. */
const tuesdayMorning = start + (3 * 7 + 1) * DAY_MS + 11 * HOUR_MS;

describe("odd-hour detector", () => {
  it("a principal with a short history is judged mostly by its team; the factor says so", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    for (const member of ["ana@acme.io", "bo@acme.io", "cy@acme.io"]) {
      await stage.entities.upsert({ kind: "principal", id: member, attrs: { team: "payments" } }, "hr-sync");
      await learn(stage, logins(member, 3, weekdays, 9, 17));
    }
    for (const member of ["night1@acme.io", "night2@acme.io"]) {
      await stage.entities.upsert({ kind: "principal", id: member, attrs: { team: "noc" } }, "hr-sync");
      await learn(stage, logins(member, 3, everyDay, 0, 6));
    }
    await stage.entities.upsert({ kind: "principal", id: "new@acme.io", attrs: { team: "payments" } }, "hr-sync");
    await stage.entities.upsert({ kind: "principal", id: "newnoc@acme.io", attrs: { team: "noc" } }, "hr-sync");
    await learn(stage, [oktaLoginAt("new@acme.io", start + 14 * DAY_MS + 10 * HOUR_MS), oktaLoginAt("newnoc@acme.io", start + 14 * DAY_MS + 2 * HOUR_MS)]);

    const night = (await stage.build(oktaLoginAt("new@acme.io", sundayNight))).signals["oddHour"]!;
    expect(night.score).toBeGreaterThan(0.8);
    expect(night.values).toMatchObject({ hourOfWeek: "Sun 03:00 UTC", peer: "peer:team/payments", onCall: false });
    // One login 12.7 days earlier, decayed with the 28-day half-life.
    expect(night.values?.["ownEvents"]).toBeCloseTo(2 ** (-12.71 / 28), 2);
    expect(night.values?.["ownWeight"]).toBeLessThan(0.05);
    expect(night.factors[0]?.detail).toContain("team/payments");
    expect(night.confidence).toBeGreaterThan(0.3);

    const morning = (await stage.build(oktaLoginAt("new@acme.io", tuesdayMorning))).signals["oddHour"]!;
    expect(morning.score).toBe(0);

    // Same hour, but the new principal's team works nights: not odd.
    const noc = (await stage.build(oktaLoginAt("newnoc@acme.io", sundayNight))).signals["oddHour"]!;
    expect(noc.score).toBe(0);
    expect(noc.values?.["peer"]).toBe("peer:team/noc");
    expect(stage.stats().observeErrors).toEqual([]);
  });

  it("with a long history the principal's own habits win over the peer group", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    for (const member of ["ana@acme.io", "bo@acme.io"]) {
      await stage.entities.upsert({ kind: "principal", id: member, attrs: { team: "payments" } }, "hr-sync");
      await learn(stage, logins(member, 3, weekdays, 9, 17));
    }
    await stage.entities.upsert({ kind: "principal", id: "owl@acme.io", attrs: { team: "payments" } }, "hr-sync");
    await learn(stage, logins("owl@acme.io", 3, everyDay, 0, 6));
    const owl = (await stage.build(oktaLoginAt("owl@acme.io", sundayNight))).signals["oddHour"]!;
    expect(owl.values?.["ownWeight"]).toBeGreaterThan(0.6);
    expect(owl.score).toBe(0);
    // The same hour for a teammate with a long daytime history is odd, although the team
    // (which includes the owl) has night activity.
    const ana = (await stage.build(oktaLoginAt("ana@acme.io", sundayNight))).signals["oddHour"]!;
    expect(ana.values?.["ownWeight"]).toBeGreaterThan(0.6);
    expect(ana.score).toBeGreaterThan(0.3);
  });

  it("one event stamped a year ahead (a source with a wrong clock) does not take over the principal's hours", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    await learn(stage, logins("night@example.com", 8, weekdays, 9, 17));
    const score = async (timeMs: number) => (await stage.build(oktaLoginAt("night@example.com", timeMs))).signals["oddHour"]!;
    const monday = start + 8 * 7 * DAY_MS;
    const before = await score(monday + 10 * HOUR_MS);
    expect(before.score).toBe(0);
    expect((await score(monday + 3 * HOUR_MS)).score).toBeGreaterThan(0.5);
    // Tuesday 03:00 a year on.
    await learn(stage, [oktaLoginAt("night@example.com", start + (52 * 7 + 1) * DAY_MS + 3 * HOUR_MS)]);
    await learn(stage, [9, 10, 11, 12, 13, 14, 15, 16].map((hour) => oktaLoginAt("night@example.com", monday + hour * HOUR_MS)));
    const after = await score(monday + DAY_MS + 10 * HOUR_MS);
    expect(after.score).toBe(0);
    // Tuesday 10:00 is still a busier than average hour for the principal (it was 0.3× an average hour, close to odd).
    expect(Number(after.values?.["ratio"])).toBeGreaterThan(1.5);
    expect(Number(after.values?.["ownEvents"])).toBeLessThan(2 * Number(before.values?.["ownEvents"]));
    expect((await score(monday + 2 * DAY_MS + 3 * HOUR_MS)).score).toBeGreaterThan(0.5);
  });

  it("a principal whose first event is stamped a century ahead (a wrong clock) still gets a finite event count and odd hours flagged", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    await learn(stage, [oktaLoginAt("clock@example.com", Date.parse("2124-09-06T10:00:00Z"))]);
    await learn(stage, logins("clock@example.com", 4, weekdays, 9, 17));
    const night = await stage.build(oktaLoginAt("clock@example.com", sundayNight));
    const events = Number(night.signals["oddHour"]!.values?.["ownEvents"]);
    // The decayed count weighted the future event by 2^(a century / half-life) = Infinity: NaN probabilities, score 0.
    expect(events).toBeGreaterThan(0);
    expect(events).toBeLessThanOrEqual(161);
    expect(night.signals["oddHour"]!.score).toBeGreaterThan(0.5);
    expect(Number(night.features?.["principal"]?.["activityEvents"])).toBeGreaterThan(0);
    expect((await stage.build(oktaLoginAt("clock@example.com", tuesdayMorning))).signals["oddHour"]!.score).toBe(0);
  });

  it("an on-call schedule lowers the score, and a negative factor says why", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    await stage.entities.upsert({ kind: "principal", id: "ana@acme.io", attrs: { team: "payments" } }, "hr-sync");
    await learn(stage, logins("ana@acme.io", 3, weekdays, 9, 17));
    const offCall = (await stage.build(oktaLoginAt("ana@acme.io", sundayNight))).signals["oddHour"]!;
    await stage.entities.upsert({ kind: "principal", id: "ana@acme.io", attrs: { onCall: [{ from: "2024-09-28T18:00:00Z", until: "2024-09-30T08:00:00Z" }] } }, "pagerduty-sync");
    const onCall = (await stage.build(oktaLoginAt("ana@acme.io", sundayNight))).signals["oddHour"]!;
    expect(offCall.score).toBeGreaterThan(0.5);
    expect(onCall.score).toBeCloseTo(offCall.score * 0.2, 3);
    expect(onCall.values?.["onCall"]).toBe(true);
    const factor = onCall.factors.find((item) => item.name === "on call");
    expect(factor?.contribution).toBeLessThan(0);
    expect(factor?.detail).toContain("onCall schedule");
    const sum = onCall.factors.reduce((total, item) => total + item.contribution, 0);
    expect(sum).toBeCloseTo(onCall.score, 3);
  });
});

describe("odd-hour detector: settings at their bounds", () => {
  it("prior 0 or peerBlendEvents 0 give a number for a principal's first event, judged by the team's hours", async () => {
    for (const oddHour of [{ prior: 0 }, { peerBlendEvents: 0 }, { prior: 0, peerBlendEvents: 0 }]) {
      const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start), settings: { detectors: { oddHour } } });
      for (const member of ["ana@acme.io", "bo@acme.io"]) {
        await stage.entities.upsert({ kind: "principal", id: member, attrs: { team: "payments" } }, "hr-sync");
        await learn(stage, logins(member, 3, weekdays, 9, 17));
      }
      await stage.entities.upsert({ kind: "principal", id: "new@acme.io", attrs: { team: "payments" } }, "hr-sync");
      const night = (await stage.build(oktaLoginAt("new@acme.io", sundayNight))).signals["oddHour"]!;
      if (oddHour.peerBlendEvents === undefined) {
        // No prior: the team never logs in on Sunday nights, so this hour is as odd as it gets.
        expect(night.values).toMatchObject({ ownWeight: 0, ratio: 0 });
        expect(night.score).toBe(1);
      } else {
        // peerBlendEvents 0: the principal's own histogram alone, which knows nothing yet (an average hour).
        expect(night.values).toMatchObject({ ownWeight: 1, ratio: 1 });
        expect(night.score).toBe(0);
      }
    }
  });
});

describe("rare / first-seen detector", () => {
  it("flags a first-seen region, then treats it as seen", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const arn = "arn:aws:sts::101010101111:assumed-role/Deploy/ci";
    await learn(stage, Array.from({ length: 40 }, (_, index) => apiCall(arn, start + index * HOUR_MS, "us-east-1")));
    const first = apiCall(arn, start + 50 * HOUR_MS, "ap-southeast-2");
    const firstContext = await stage.build(first);
    const rare = firstContext.signals["rare"]!;
    expect(rare.values?.["firstSeen"]).toEqual(["region"]);
    expect(rare.score).toBeCloseTo(0.4, 3);
    expect(rare.confidence).toBe(1);
    expect(rare.factors[0]).toMatchObject({ name: "first-seen region", contribution: 0.4 });
    expect(rare.factors[0]?.detail).toContain("ap-southeast-2 never seen");
    stage.observe(first, firstContext);

    const again = (await stage.build(apiCall(arn, start + 51 * HOUR_MS, "ap-southeast-2"))).signals["rare"]!;
    expect(again.values?.["firstSeen"]).toEqual([]);
    expect(again.values?.["seen"]).toMatchObject({ region: { value: "ap-southeast-2", count: 1, firstSeen: new Date(start + 50 * HOUR_MS).toISOString() } });
    expect(again.score).toBe(0);
  });

  it("a service pushed out of the principal's top-12 is not called never seen (a CI role using 14 services)", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const arn = "arn:aws:sts::101010101111:assumed-role/Deploy/ci";
    const services = ["s3", "sts", "ecr", "ecs", "logs", "cloudformation", "iam", "ec2", "lambda", "ssm", "kms", "secretsmanager", "dynamodb", "sns"].map((name) => `${name}.amazonaws.com`);
    const callTo = (service: string, index: number): Event => ({ ...apiCall(arn, start + index * 60_000, "us-east-1"), data: { ...(apiCall(arn, start + index * 60_000, "us-east-1").data as object), eventSource: service } });
    let index = 0;
    for (let round = 0; round < 30; round++) for (const service of services) await learn(stage, [callTo(service, index++)]);
    let missing = 0;
    for (const service of services) {
      const rare = (await stage.build(callTo(service, index))).signals["rare"]!;
      const seen = (rare.values?.["seen"] as Record<string, { count: number; atMost?: number }>)["service"]!;
      if (seen.count > 0) continue;
      missing++;
      // Called 30 times: the set keeps 12 values, so this one was evicted, not never seen.
      expect(seen.atMost).toBeGreaterThan(0);
      expect(rare.factors[0]?.detail).not.toContain("never seen");
      expect(rare.factors[0]?.detail).toContain(`${service} is not among the 12 service values kept for this principal: new, or seen at most ${seen.atMost} time(s)`);
    }
    expect(missing).toBe(2);
    // A value never seen by a principal whose set has evictions is described the same way (it cannot be told apart).
    const fresh = (await stage.build(callTo("bedrock.amazonaws.com", index))).signals["rare"]!;
    expect(fresh.factors[0]?.detail).toContain("bedrock.amazonaws.com is not among the 12 service values kept");
  });

  it("a new value that takes an evicted value's place in a full set is still rare on its second event, not as common as the one it replaced", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const arn = "arn:aws:iam::1:user/six-regions";
    // Six regions, 20 calls each: the set of 6 regions is full, every value with a share of 1/6.
    const regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "sa-east-1"];
    let index = 0;
    for (let round = 0; round < 20; round++) for (const region of regions) await learn(stage, [apiCall(arn, start + index++ * 60_000, region)]);
    const first = (await stage.build(apiCall(arn, start + index * 60_000, "ap-southeast-2"))).signals["rare"]!;
    expect(first.values?.["firstSeen"]).toEqual(["region"]);
    await learn(stage, [apiCall(arn, start + index++ * 60_000, "ap-southeast-2")]);

    const second = (await stage.build(apiCall(arn, start + index * 60_000, "ap-southeast-2"))).signals["rare"]!;
    // Space-saving gave it the evicted value's count + 1 (21 of 121 observations): it read as a habit after one call.
    expect(second.values?.["rare"]).toEqual(["region"]);
    expect(second.values?.["seen"]).toMatchObject({ region: { value: "ap-southeast-2", count: 1, atMost: 21 } });
    // 0.4 × ½ × (1 - share / 2%), with share 1 of 121 observations.
    expect(second.score).toBeCloseTo(0.2 * (1 - 1 / 121 / 0.02), 3);
    expect(second.factors[0]?.detail).toContain("seen 1 time(s) (at most 21");
    // A value counted from its first event keeps its exact count.
    const known = (await stage.build(apiCall(arn, start + index * 60_000, "us-west-2"))).signals["rare"]!;
    expect(known.values?.["seen"]).toMatchObject({ region: { value: "us-west-2", count: 20 } });
    expect((known.values?.["seen"] as Record<string, Record<string, unknown>>)["region"]).not.toHaveProperty("atMost");
    expect(known.score).toBe(0);
  });

  it("a value rare for the principal is discounted only when someone else in the peer group used it, not because the principal itself taught the group", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    for (const user of ["ana", "bo", "cy"]) await stage.entities.upsert({ kind: "principal", id: `arn:aws:iam::1:user/${user}`, attrs: { team: "platform" } }, "hr-sync");
    let index = 0;
    const call = (user: string, region: string): Event => apiCall(`arn:aws:iam::1:user/${user}`, start + index++ * 60_000, region);
    for (let round = 0; round < 99; round++) await learn(stage, [call("ana", "us-east-1"), call("bo", "us-east-1")]);
    await learn(stage, [call("ana", "eu-west-1"), call("cy", "ap-south-1"), call("ana", "ap-south-1")]);

    const own = (await stage.build(call("ana", "eu-west-1"))).signals["rare"]!;
    expect(own.values?.["rare"]).toEqual(["region"]);
    // 0.4 × ½ × (1 - share / 2%): only Ana called from eu-west-1, so the team knowing it says nothing.
    expect(own.factors[0]?.detail).not.toContain("known to");
    expect(own.score).toBeCloseTo(0.2 * (1 - 1 / 101 / 0.02), 3);
    const shared = (await stage.build(call("ana", "ap-south-1"))).signals["rare"]!;
    expect(shared.factors[0]?.detail).toContain("known to team/platform");
    expect(shared.score).toBeCloseTo(0.5 * 0.2 * (1 - 1 / 101 / 0.02), 3);
  });

  it("a brand-new principal's first event is not suspicious, and peers' knowledge discounts", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    const fresh = (await stage.build(apiCall("arn:aws:iam::1:user/fresh", start, "eu-west-1"))).signals["rare"]!;
    expect(fresh.score).toBe(0);
    expect(fresh.confidence).toBe(0);

    for (const user of ["a", "b"]) await stage.entities.upsert({ kind: "principal", id: `arn:aws:iam::1:user/${user}`, attrs: { team: "platform" } }, "hr-sync");
    await learn(stage, Array.from({ length: 30 }, (_, index) => apiCall("arn:aws:iam::1:user/a", start + index * HOUR_MS, "us-east-1")));
    await learn(stage, [apiCall("arn:aws:iam::1:user/b", start, "eu-central-1")]);
    const signal = (await stage.build(apiCall("arn:aws:iam::1:user/a", start + 40 * HOUR_MS, "eu-central-1"))).signals["rare"]!;
    expect(signal.score).toBeCloseTo(0.2, 3);
    expect(signal.factors[0]?.detail).toContain("known to team/platform");
  });

  it("Okta: a new country and ASN together add up; device and IP too", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(start) });
    await learn(stage, logins("casey.hill@hey.com", 2, weekdays, 9, 12));
    const brazil = pantherLog("okta", "rules/okta_rules/okta_potentially_stolen_session.yml", "Different device & ASN");
    const foreign = oktaLoginAt("casey.hill@hey.com", tuesdayMorning, { client: brazil["client"], securityContext: brazil["securityContext"] });
    const rare = (await stage.build(foreign)).signals["rare"]!;
    expect(rare.values?.["firstSeen"]).toEqual(expect.arrayContaining(["country", "asn", "ip"]));
    expect(rare.factors.map((factor) => factor.name)).toEqual(expect.arrayContaining(["first-seen country", "first-seen asn"]));
    expect(rare.score).toBeGreaterThan(0.9);
    const total = rare.factors.reduce((sum, factor) => sum + factor.contribution, 0);
    expect(Math.min(1, total)).toBeCloseTo(rare.score, 3);
  });
});
