/**
 * Cost pack tiers: a spend spike that passes the pack's thresholds (score ≥ minScore, confidence ≥
 * minConfidence) notifies its owner, whatever else lowers the risk score (a development
 * environment, a weak signal). The row is a FOCUS 1.0 row of test/fixtures/focus-sample-data
 * (CC-BY-4.0, see SOURCE); the context is what the context stage gives such a row.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Context } from "../../src/core/context.js";
import { loadPolicySet } from "../../src/agent/policies.js";
import { createDecider } from "../../src/decide/index.js";
import { focusCsvToEvents } from "../../src/sources/index.js";
import { fixturesDir, packDir } from "./cost-support.js";

const { policySet, env } = loadPolicySet([`${packDir}policies`]);
const decider = createDecider({ env });
const row = focusCsvToEvents(readFileSync(`${fixturesDir}focus-sample-data/focus_sample_300.csv`, "utf8")).flatMap((r) => (r.ok ? [r.event] : []))
  .find((e) => (e.data as Record<string, unknown>)["ServiceName"] === "Amazon Elastic Compute Cloud");
if (row === undefined) throw new Error("no EC2 row in the FOCUS sample");
const now = "2026-02-02T10:00:00Z";

function decide(options: { environment?: string; launch?: boolean }) {
  const event = { ...row!, time: now };
  const ctx: Context = {
    event, input: event.data as Record<string, unknown>, now,
    posture: options.launch ? { level: "elevated", scope: "account:111", reason: "launch: spring campaign", since: now } : { level: "normal", scope: "org", since: now },
    entities: {
      account: { kind: "account", id: "111", attrs: { owner: "team-data", ...(options.environment ? { environment: options.environment } : {}) } },
      service: { kind: "service", id: "Amazon Elastic Compute Cloud", attrs: {} },
    },
    signals: {
      // At the pack's thresholds: score 0.5 (the detector's zThreshold), confidence 0.3.
      spike: { detector: "spike", score: 0.5, confidence: 0.3, factors: [{ name: "account cost spike", contribution: 0.5 }], values: { applicable: true, role: "account", entity: "account/111", observed: 30, expected: 10, ratio: 3, slot: "Mon", byRole: { account: { observed: 30, expected: 10, score: 0.5 } } } },
      idle: { detector: "idle", score: 0, confidence: 0, factors: [], values: { applicable: false } },
    },
    features: {},
  };
  const { findings, policyRevisions } = policySet.evaluate(ctx);
  return decider.decide(ctx, findings, policyRevisions, { id: "d-1", now, enforced: true, policy: (name) => policySet.get(name) });
}

describe("cost pack: spend spike tiers", () => {
  it("a spike at the thresholds in a development account notifies the owner", () => {
    const draft = decide({ environment: "development" });
    expect(draft.findings.filter((f) => f.effect !== "skip").map((f) => `${f.policy}/${f.rule}`)).toEqual(["cost-spend-spike/account-spike"]);
    expect(draft.tier).toBe("notify");
  });

  it("the same spike in production notifies too", () => {
    expect(decide({ environment: "production" }).tier).toBe("notify");
  });

  it("during an announced launch it is recorded at observe", () => {
    const draft = decide({ environment: "development", launch: true });
    expect(draft.findings.map((f) => f.rule)).toEqual(["account-spike"]);
    expect(draft.tier).toBe("observe");
  });
});
