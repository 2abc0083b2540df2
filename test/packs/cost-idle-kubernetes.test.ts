/**
 * The idle-workload policy on a real Kubernetes Deployment object (test/fixtures/
 * kubernetes-api-testdata, Apache-2.0, see SOURCE) as an io.k8s.resource event, with the entities
 * the context stage resolves for it: a workload its owner already scaled to zero (spec.replicas 0)
 * is not flagged again — scaling it down saves nothing — while the same workload with replicas is.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Context } from "../../src/core/context.js";
import type { Event } from "../../src/core/event.js";
import { loadPolicySet } from "../../src/agent/policies.js";
import { resolveEvent } from "../../src/context/index.js";
import { fixturesDir, packDir } from "./cost-support.js";

const { policySet } = loadPolicySet([`${packDir}policies`]);
const deployment = JSON.parse(readFileSync(`${fixturesDir}kubernetes-api-testdata/apps.v1.Deployment.json`, "utf8")) as Record<string, unknown> & { spec: Record<string, unknown> };
const now = "2026-02-02T10:00:00Z";

function evaluate(replicas: number, labels?: Record<string, string>) {
  const metadata = deployment["metadata"] as Record<string, unknown>;
  const data = { ...deployment, ...(labels ? { metadata: { ...metadata, labels } } : {}), spec: { ...deployment.spec, replicas } };
  const event: Event = { specversion: "1.0", id: `k-${replicas}`, source: "k8s/watch", type: "io.k8s.resource", subject: "Deployment/namespaceValue/nameValue", time: now, data };
  const { entities } = resolveEvent(event, Date.parse(now), { costColumn: "EffectiveCost", tagKeys: [] });
  expect(entities["resource"]?.id).toBe("Deployment/namespaceValue/nameValue");
  const ctx: Context = {
    event, input: data, now, posture: { level: "normal", scope: "org", since: now }, entities,
    // Idle over the look-back days (before the owner scaled it down, when that is what happened).
    signals: { idle: { detector: "idle", score: 1, confidence: 1, factors: [], values: { applicable: true, windowDays: 14, daysWithSamples: 10, idleDays: 10, meanCpu: 0.3, maxCpu: 2, meanNetwork: 50, scheduled: false } } },
    features: {},
  };
  return policySet.evaluate(ctx, { includePasses: true }).findings.filter((f) => f.policy === "cost-idle-kubernetes-workload");
}

describe("cost pack: idle Kubernetes workloads on real objects", () => {
  it("an idle Deployment with replicas is flagged for scale-to-zero", () => {
    expect(evaluate(1).filter((f) => f.effect === "violation").map((f) => f.rule)).toEqual(["idle-workload"]);
  });

  it("a Deployment already scaled to zero (spec.replicas 0) is excepted, not flagged again", () => {
    const findings = evaluate(0);
    expect(findings.filter((f) => f.effect === "violation")).toEqual([]);
    expect(findings.map((f) => `${f.effect} ${f.skipReason ?? ""}`)).toEqual([expect.stringMatching(/^skip excepted.*already-scaled-down/)]);
  });

  it("the keep-running label is honoured whatever the case of its value", () => {
    const findings = evaluate(1, { "vigil.dev/keep-running": "True" });
    expect(findings.map((f) => `${f.effect} ${f.skipReason ?? ""}`)).toEqual([expect.stringMatching(/^skip excepted.*keep-running-label/)]);
  });
});
