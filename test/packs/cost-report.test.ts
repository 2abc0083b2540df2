import { describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/decision.js";
import type { Finding } from "../../src/core/finding.js";
import { parseSince, renderCostReport, summarizeCostSavings } from "../../src/cli/commands/report-cost.js";

let seq = 0;
function decision(time: string, findings: Partial<Finding>[]): Decision {
  seq++;
  return {
    id: `d-${seq}`, eventId: `e-${seq}`, eventType: "org.finops.focus.cost", time, verdict: "allow", tier: "notify", risk: { score: 0, factors: [] },
    findings: findings.map((f) => ({ policy: "p", rule: "r", revision: "x", language: "vigil", effect: "violation", mode: "warn", severity: "medium", message: "m", trace: [], ...f }) as Finding),
    actions: [], explanation: { summary: "", steps: [] }, policyRevisions: {}, enforced: true, seq, prevHash: "", hash: "",
  };
}

const idle = (entity: string, saving: number, owner = "ana"): Partial<Finding> => ({ policy: "cost-idle-ec2-instance", rule: "idle-instance", outputs: { monthlySaving: saving, currency: "USD", entity, account: "222", service: "EC2", owner } });
const spike = (saving: number, period: string, launch = false): Partial<Finding> => ({ policy: "cost-spend-spike", rule: "service-spike", outputs: { monthlySaving: saving, currency: "USD", entity: "service/EC2", account: "222", service: "EC2", owner: "team", period, launch } });

describe("vigil report cost: summing savings from decisions", () => {
  it("counts each (policy, entity) once: the latest period's estimate, the largest within it; launches and other findings are left out", () => {
    const report = summarizeCostSavings([
      decision("2026-01-10T01:00:00Z", [idle("resource/i-1", 60)]),
      decision("2026-01-11T01:00:00Z", [idle("resource/i-1", 61)]),
      decision("2026-01-11T02:00:00Z", [idle("resource/i-2", 30, "bob")]),
      decision("2026-01-12T00:10:00Z", [spike(100, "2026-01-12 00:00:00")]),
      decision("2026-01-12T00:20:00Z", [spike(300, "2026-01-12 00:00:00")]),
      decision("2026-01-12T00:30:00Z", [spike(250, "2026-01-12 00:00:00")]),
      decision("2026-01-11T00:30:00Z", [spike(900, "2026-01-11 00:00:00")]),
      decision("2026-01-13T00:30:00Z", [{ ...spike(5000, "2026-01-13 00:00:00", true), outputs: { ...spike(5000, "2026-01-13 00:00:00", true).outputs, entity: "account/111" } }]),
      decision("2026-01-13T00:40:00Z", [{ policy: "other", effect: "violation" }, { ...idle("resource/i-3", 99), effect: "error" }]),
    ]);
    expect(report.decisions).toBe(9);
    expect(report.savings.map((s) => [s.entity, s.monthlySaving])).toEqual([["service/EC2", 300], ["resource/i-1", 61], ["resource/i-2", 30]]);
    expect(report.total).toEqual({ USD: 391 });
    expect(report.by.policy).toEqual({ "cost-spend-spike": { USD: 300 }, "cost-idle-ec2-instance": { USD: 91 } });
    expect(report.by.owner).toEqual({ team: { USD: 300 }, ana: { USD: 61 }, bob: { USD: 30 } });
    const text = renderCostReport(report);
    expect(text.split("\n")[0]).toBe("Estimated monthly savings: 391.00 USD (3 resource(s) or spend series, from 9 decision(s))");
    expect(text).toContain("By owner:");
  });

  it("lists the latest budget overrun per account", () => {
    const burn = (time: string, projected: number): Decision => decision(time, [{ policy: "cost-budget-burn", rule: "over-budget", outputs: { projectedMonthly: projected, budget: 1000, overrun: projected - 1000, currency: "USD", account: "111", owner: "web" } }]);
    const report = summarizeCostSavings([burn("2026-01-10T00:00:00Z", 1500), burn("2026-01-11T00:00:00Z", 1400)]);
    expect(report.overruns).toEqual([expect.objectContaining({ account: "111", projectedMonthly: 1400, overrun: 400 })]);
    expect(report.savings).toEqual([]);
    expect(renderCostReport(report)).toContain("account 111: projected 1400.00 USD vs budget 1000.00 (over by 400.00; owner web)");
  });

  it("--since takes RFC 3339 times and durations; anything else names the flag", () => {
    const now = new Date("2026-02-01T00:00:00Z");
    expect(parseSince("30d", now)).toBe("2026-01-02T00:00:00.000Z");
    expect(parseSince("12h", now)).toBe("2026-01-31T12:00:00.000Z");
    expect(parseSince("2026-01-15T08:00:00+01:00", now)).toBe("2026-01-15T07:00:00.000Z");
    expect(() => parseSince("last week", now)).toThrow(/--since must be an RFC 3339 time/);
  });
});
