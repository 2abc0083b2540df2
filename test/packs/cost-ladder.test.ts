/**
 * The cost pack's enforcement ladder end to end, on the clock (nothing sleeps): idle EC2
 * instances are flagged from their metrics and FOCUS rows, the owner is notified, the stop is
 * held for 3 business days (a weekend in between does not count), the owner snoozes one of them
 * (who and why recorded), the real aws.ec2.stop-instances actuator stops them against the EC2
 * wire fake at the due times, and undo starts one again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event } from "../../src/core/event.js";
import { createVigilEvent, focusRowToEvent } from "../../src/sources/index.js";
import { playEc2 } from "../../src/act/actuators/aws-fakes.js";
import { startWireServer, type WireServer } from "../../src/act/actuators/test-server.js";
import type { LadderItem } from "../../src/act/ladder.js";
import { costHarness, violationsOf, type CostHarness } from "./cost-support.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.parse("2026-01-02T00:00:00Z"); // a Friday
const ANA = "i-0a1b2c3d4e5f60002";
const BOB = "i-0a1b2c3d4e5f60009";
const stamp = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z");

function must(result: { ok: true; event: Event } | { ok: false; error: Error }): Event {
  if (!result.ok) throw result.error;
  return result.event;
}

function dayEvents(day: number, running: (id: string) => boolean): Event[] {
  const out: Event[] = [];
  const from = START + day * DAY;
  for (const id of [ANA, BOB].filter(running)) {
    for (let hour = 0; hour < 24; hour++) {
      const ts = stamp(from + hour * HOUR + 5 * 60_000);
      out.push(must(createVigilEvent("dev.vigil.metric", { resource: id, metric: "CPUUtilization", value: 0.4 + (hour % 3) * 0.1, unit: "Percent", ts })));
      out.push(must(createVigilEvent("dev.vigil.metric", { resource: id, metric: "NetworkIn", value: 1500, unit: "Bytes", ts })));
    }
  }
  for (const id of [ANA, BOB].filter(running)) {
    out.push(must(focusRowToEvent({
      BilledCost: 2, EffectiveCost: 2, ListCost: 2, ContractedCost: 2, BillingAccountId: "999999999999", BillingAccountName: "acme", BillingCurrency: "USD",
      BillingPeriodStart: "2026-01-01T00:00:00Z", BillingPeriodEnd: "2026-02-01T00:00:00Z", ChargeCategory: "Usage", ChargeClass: null, ChargeDescription: "t3.medium hours",
      ChargePeriodStart: stamp(from), ChargePeriodEnd: stamp(from + DAY), InvoiceIssuerName: "AWS", PricingQuantity: 24, PricingUnit: "Hours", ProviderName: "AWS",
      PublisherName: "AWS", ServiceCategory: "Compute", ServiceName: "Amazon Elastic Compute Cloud", SubAccountId: "222222222222", ResourceId: id, ResourceType: "instance",
      Tags: { owner: id === ANA ? "ana" : "bob" },
    }) as never));
  }
  return out;
}

describe("cost pack ladder: notify → mark with a business-day grace → stop → undo", () => {
  let ec2: WireServer;
  let h: CostHarness;
  const instances = new Map([[ANA, "running"], [BOB, "running"]]);
  const statusByDay: Record<string, Record<string, string>> = {};
  let anaItem: LadderItem | undefined;

  beforeAll(async () => {
    ec2 = await startWireServer();
    playEc2(ec2, "us-east-1", instances);
    h = await costHarness({ start: stamp(START), ec2Endpoint: ec2.url });
    for (let day = 0; day < 16; day++) {
      await h.feed(dayEvents(day, (id) => instances.get(id) === "running"));
        // Monday 09:00: Ana snoozes her instance before it is stopped.
      if (day === 10) {
        h.clock.set(stamp(START + day * DAY + 9 * HOUR));
        anaItem = (await h.ladder.list({ policy: "cost-idle-ec2-instance" })).find((i) => i.target.id === ANA);
        await expect(h.ladder.snooze(anaItem!.id, { id: "bob", roles: ["viewer"] }, { reason: "not mine" })).rejects.toThrow(/operator or approver/);
        anaItem = await h.ladder.snooze(anaItem!.id, { id: "ana", roles: ["viewer"] }, { reason: "benchmark rerun on Wednesday" });
      }
      h.clock.set(stamp(Math.max(h.clock.now().getTime(), START + (day + 1) * DAY + 9 * HOUR)));
      await h.ladder.tick();
      statusByDay[new Date(START + (day + 1) * DAY).toISOString().slice(0, 10)] = Object.fromEntries([...instances]);
    }
  }, 240_000);
  afterAll(async () => {
    await h.dispose();
    await ec2.close();
  });

  it("flags both idle instances once a week of evidence is in, with the monthly saving from their FOCUS rows", () => {
    const first = violationsOf(h.decisions, "cost-idle-ec2-instance");
    const firstBob = first.find((v) => v.decision.subject === BOB)!;
    // Friday's row arrives after Friday's last metric (billing lags), so the mark is made at Saturday 00:05.
    expect(firstBob.decision.time).toBe("2026-01-10T00:05:00.000Z");
    expect(firstBob.outputs["monthlySaving"]).toBeCloseTo(2 * 30.4167, 1);
    expect(firstBob.message).toContain(`EC2 instance ${BOB} is idle on 7 of 7 days with samples in the last 14`);
    const steps = firstBob.decision.explanation.steps.map((s) => s.text).join("\n");
    expect(steps).toMatch(/enforcement ladder episode 1 opened: cost-idle-ec2-instance: aws\.ec2\.stop-instances on i-0a1b2c3d4e5f60009 marked 2026-01-10T00:05:00\.000Z, due 2026-01-15T00:00:00\.000Z after 3 business day\(s\) \(owner bob\)/);
    expect(h.sent.filter((s) => s.kind === "webhook.post").map((s) => (s.params["payload"] as Record<string, unknown>)["resource"])).toEqual([ANA, BOB]);
  });

  it("the weekend does not count: marked on Saturday, Bob's instance runs Monday to Wednesday and is stopped on Thursday", () => {
    for (const day of ["2026-01-10", "2026-01-11", "2026-01-12", "2026-01-13", "2026-01-14"]) expect(statusByDay[day]?.[BOB]).toBe("running");
    expect(statusByDay["2026-01-15"]?.[BOB]).toBe("stopped");
    expect(ec2.requests.filter((r) => new URLSearchParams(r.text).get("Action") === "StopInstances")).toHaveLength(2);
  });

  it("Ana's snooze moved her due time by 2 business days, recorded with who and why", async () => {
    expect(anaItem?.snoozes).toEqual([expect.objectContaining({ by: "ana", reason: "benchmark rerun on Wednesday", businessDays: 2 })]);
    expect(anaItem?.dueAt).toBe("2026-01-17T00:00:00.000Z"); // Thursday 00:00 + Thursday and Friday
    for (const day of ["2026-01-15", "2026-01-16"]) expect(statusByDay[day]?.[ANA]).toBe("running");
    expect(statusByDay["2026-01-17"]?.[ANA]).toBe("stopped");
    expect((await h.store.storage.listAudit({ limit: 50 })).find((a) => a.action === "ladder.snooze")).toMatchObject({ actor: "ana", target: anaItem!.id });
  });

  it("undo starts Bob's instance again through StartInstances", async () => {
    const item = (await h.ladder.list({ policy: "cost-idle-ec2-instance" })).find((i) => i.target.id === BOB)!;
    expect(item.status).toBe("applied");
    const undone = await h.ladder.undo(item.id, { id: "otto", roles: ["operator"] }, "bob needs it for the quarter close");
    expect(undone.item.status).toBe("undone");
    expect(instances.get(BOB)).toBe("running");
    expect(new URLSearchParams(ec2.requests.at(-1)!.text).get("Action")).toBe("StartInstances");
    expect(ec2.problems).toEqual([]);
  });
});
