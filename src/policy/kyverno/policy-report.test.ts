import { describe, expect, it } from "vitest";
import type { Finding } from "../../core/finding.js";
import { buildPolicyReports } from "./policy-report.js";

const finding = (effect: Finding["effect"], mode: Finding["mode"] = "warn"): Finding => ({ policy: "p", rule: "r", revision: "1", language: "kyverno", effect, mode, severity: "medium", message: "m", trace: [] });

describe("PolicyReport", () => {
  it("groups namespaced results per namespace and cluster-scoped ones in a ClusterPolicyReport, with summaries", () => {
    const reports = buildPolicyReports([
      { resource: { apiVersion: "v1", kind: "Pod", metadata: { name: "a", namespace: "dev" } }, findings: [finding("violation"), finding("pass")] },
      { resource: { apiVersion: "v1", kind: "Namespace", metadata: { name: "dev" } }, findings: [finding("error")] },
      { resource: { apiVersion: "v1", kind: "Pod", metadata: { name: "b", namespace: "dev" } }, findings: [{ ...finding("skip"), skipReason: "not matched" }] },
    ], { now: new Date("2024-01-01T00:00:00Z") });
    expect(reports.map((r) => [r.kind, r.metadata.namespace])).toEqual([["ClusterPolicyReport", undefined], ["PolicyReport", "dev"]]);
    expect(reports[1]?.summary).toEqual({ pass: 1, fail: 1, warn: 0, error: 0, skip: 0 });
    expect(reports[1]?.results[0]).toMatchObject({ policy: "p", rule: "r", source: "kyverno", resources: [{ kind: "Pod", name: "a", namespace: "dev" }], timestamp: { seconds: 1704067200, nanos: 0 } });
    expect(reports[0]?.summary.error).toBe(1);
  });

  it("reports audit violations as warn with auditWarn", () => {
    const [report] = buildPolicyReports([{ resource: { kind: "Pod", metadata: { name: "a", namespace: "n" } }, findings: [finding("violation", "warn"), finding("violation", "deny")] }], { now: new Date(0), auditWarn: true });
    expect(report?.summary).toMatchObject({ warn: 1, fail: 1 });
  });
});
