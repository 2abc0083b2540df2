/**
 * What the access pack added to the context stage: CloudTrail country and ASN from Panther's ipinfo
 * enrichment (a real Panther test log), and `baselines.learnDeniedActivity: false`, which keeps a
 * burst of denied events from teaching a principal's baseline.
 */
import { describe, expect, it } from "vitest";
import type { Event } from "../../src/core/event.js";
import type { Finding } from "../../src/core/finding.js";
import { createContextStage, resolveEvent, resolveContextSettings } from "../../src/context/index.js";
import { createManualClock, createMemoryDocStorage } from "../../src/context/test-support.js";
import { cloudTrailRecordToEvent } from "../../src/sources/cloudtrail.js";
import { readPantherCases } from "./access-support.js";

const spend = { costColumn: "BilledCost", tagKeys: [] };

function cloudTrail(time: string, ip: string, country: string, asn: string): Event {
  return {
    specversion: "1.0", id: `e-${time}-${country}`, source: "aws.iam", type: "com.amazonaws.cloudtrail", time, subject: "arn:aws:iam::111122223333:user/dana",
    data: {
      eventTime: time, eventSource: "iam.amazonaws.com", eventName: "ListUsers", awsRegion: "us-east-1", sourceIPAddress: ip, userAgent: "aws-cli/2.15.0",
      userIdentity: { type: "IAMUser", arn: "arn:aws:iam::111122223333:user/dana", userName: "dana", accessKeyId: "AKIAEXAMPLEDANA00001" },
      p_enrichment: { ipinfo_location: { sourceIPAddress: { country, city: "X" } }, ipinfo_asn: { sourceIPAddress: { asn } } },
    },
  };
}

const denied: Finding = { policy: "access-aws-key-restricted", rule: "odd-hour-new-location", revision: "1", language: "vigil", effect: "violation", mode: "deny", severity: "high", message: "x", trace: [] };

describe("context additions for the access pack", () => {
  it("reads country and ASN of a CloudTrail record from Panther's ipinfo enrichment (real Panther log)", () => {
    const item = readPantherCases().find((c) => c.rule === "Standard.ImpossibleTravel.Login" && c.test === "CloudTrail ConsoleLogin with history");
    expect(item).toBeDefined();
    const converted = cloudTrailRecordToEvent(item?.log);
    if (!converted.ok) throw new Error("the Panther log did not convert");
    const resolved = resolveEvent(converted.event, 0, spend);
    expect(resolved.entities["geo"]).toMatchObject({ kind: "geo", id: "NZ", attrs: { country: "NZ", city: "Auckland" } });
    expect(resolved.observation.seen.country).toBe("NZ");
    const asn = readPantherCases().find((c) => c.rule === "AWS.CloudTrail.IMDSCredentialExfiltration" && JSON.stringify(c.log).includes("ipinfo_asn"));
    const withAsn = cloudTrailRecordToEvent(asn?.log);
    if (!withAsn.ok) throw new Error("the Panther log did not convert");
    expect(resolveEvent(withAsn.event, 0, spend).observation.seen.asn).toBe("AS16509");
  });

  it("a record without enrichment has no geo and no country", () => {
    const event = cloudTrail("2026-01-05T10:00:00Z", "198.51.100.1", "DE", "AS3320");
    delete (event.data as Record<string, unknown>)["p_enrichment"];
    const resolved = resolveEvent(event, 0, spend);
    expect(resolved.entities["geo"]).toBeUndefined();
    expect(resolved.observation.seen.country).toBeUndefined();
  });

  it("learnDeniedActivity is a validated boolean, true by default", () => {
    expect(resolveContextSettings({}).baselines.learnDeniedActivity).toBe(true);
    expect(resolveContextSettings({ baselines: { learnDeniedActivity: false } }).baselines.learnDeniedActivity).toBe(false);
    expect(() => resolveContextSettings({ baselines: { learnDeniedActivity: "no" as unknown as boolean } })).toThrow(/context settings: baselines.learnDeniedActivity must be a boolean/);
  });

  for (const learnDeniedActivity of [true, false]) {
    it(`with learnDeniedActivity ${learnDeniedActivity}, a denied event ${learnDeniedActivity ? "is" : "is not"} learned into the principal's seen values`, async () => {
      const clock = createManualClock("2026-01-20T00:00:00Z");
      const stage = createContextStage({ storage: createMemoryDocStorage(), clock, settings: { baselines: { learnDeniedActivity } } });
      for (let day = 5; day < 17; day++) {
        for (const hour of [9, 11, 14, 16]) {
          const event = cloudTrail(`2026-01-${String(day).padStart(2, "0")}T${String(hour).padStart(2, "0")}:00:00Z`, "198.51.100.1", "DE", "AS3320");
          stage.observe(event, await stage.build(event));
        }
      }
      const attack = cloudTrail("2026-01-17T03:00:00Z", "203.0.113.66", "RU", "AS9009");
      const first = await stage.build(attack);
      expect(first.signals["rare"]?.values?.["firstSeen"]).toEqual(expect.arrayContaining(["country", "asn"]));
      stage.observe(attack, first, [denied]);
      const again = cloudTrail("2026-01-17T03:05:00Z", "203.0.113.66", "RU", "AS9009");
      const second = await stage.build(again);
      const stillNew = (second.signals["rare"]?.values?.["firstSeen"] as string[]).includes("country");
      expect(stillNew).toBe(!learnDeniedActivity);
      // The history of the principal counts the violation either way.
      expect(second.history?.violations30d).toBe(1);
    });
  }
});
