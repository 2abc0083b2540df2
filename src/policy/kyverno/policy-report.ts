/**
 * wgpolicyk8s.io/v1alpha2 PolicyReport (one per namespace) and ClusterPolicyReport (cluster-scoped
 * resources) built from findings over resources, as Kyverno's background scan reports them.
 * Pure: no I/O; `vigil scan` / `vigil report` serialise the result.
 */
import type { Finding } from "../../core/finding.js";

/** One evaluated resource and the findings about it (passes included when they should be reported). */
export interface ScannedResource {
  readonly resource: Readonly<Record<string, unknown>>;
  readonly findings: readonly Finding[];
}

export type ReportResult = "pass" | "fail" | "warn" | "error" | "skip";

export interface PolicyReportResult {
  readonly policy: string;
  readonly rule: string;
  readonly result: ReportResult;
  readonly message: string;
  readonly severity?: string;
  readonly source: "kyverno" | "vigil";
  readonly scored: boolean;
  readonly timestamp: { readonly seconds: number; readonly nanos: number };
  readonly resources: readonly { readonly apiVersion: string; readonly kind: string; readonly name: string; readonly namespace?: string; readonly uid?: string }[];
  readonly properties?: Readonly<Record<string, string>>;
}

export interface PolicyReportObject {
  readonly apiVersion: "wgpolicyk8s.io/v1alpha2";
  readonly kind: "PolicyReport" | "ClusterPolicyReport";
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels: Readonly<Record<string, string>> };
  readonly summary: { readonly pass: number; readonly fail: number; readonly warn: number; readonly error: number; readonly skip: number };
  readonly results: readonly PolicyReportResult[];
}

export interface PolicyReportOptions {
  /** Report time (from the injected clock). */
  readonly now: Date;
  /** `warn` instead of `fail` for violations whose mode is not deny (Kyverno's --audit-warn). Default false. */
  readonly auditWarn?: boolean;
}

function resultOf(finding: Finding, auditWarn: boolean): ReportResult {
  switch (finding.effect) {
    case "violation": return auditWarn && finding.mode !== "deny" ? "warn" : "fail";
    case "pass": return "pass";
    case "error": return "error";
    default: return "skip";
  }
}

/**
 * Groups findings by the resource's namespace: namespaced resources go to `PolicyReport`
 * objects (one per namespace), cluster-scoped ones to a single `ClusterPolicyReport`.
 * Findings with skip reason "not matched" are left out, as Kyverno does. Deterministic order.
 */
export function buildPolicyReports(scanned: readonly ScannedResource[], options: PolicyReportOptions): PolicyReportObject[] {
  const seconds = Math.floor(options.now.getTime() / 1000);
  const groups = new Map<string, PolicyReportResult[]>();
  for (const { resource, findings } of scanned) {
    const meta = (resource["metadata"] ?? {}) as Record<string, unknown>;
    const namespace = typeof meta["namespace"] === "string" ? meta["namespace"] : "";
    const ref = {
      apiVersion: String(resource["apiVersion"] ?? ""),
      kind: String(resource["kind"] ?? ""),
      name: String(meta["name"] ?? ""),
      ...(namespace ? { namespace } : {}),
      ...(typeof meta["uid"] === "string" ? { uid: meta["uid"] } : {}),
    };
    for (const f of findings) {
      if (f.effect === "skip" && f.skipReason === "not matched") continue;
      const list = groups.get(namespace) ?? [];
      list.push({
        policy: f.policy,
        rule: f.rule,
        result: resultOf(f, options.auditWarn ?? false),
        message: f.message,
        severity: f.severity,
        source: f.language === "kyverno" || f.language === "kyverno-cel" ? "kyverno" : "vigil",
        scored: true,
        timestamp: { seconds, nanos: 0 },
        resources: [ref],
        properties: { mode: f.mode, revision: f.revision },
      });
      groups.set(namespace, list);
    }
  }
  const reports: PolicyReportObject[] = [];
  for (const namespace of [...groups.keys()].sort()) {
    const results = (groups.get(namespace) ?? []).sort((a, b) => `${a.policy}/${a.rule}/${a.resources[0]?.name ?? ""}`.localeCompare(`${b.policy}/${b.rule}/${b.resources[0]?.name ?? ""}`));
    const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    for (const r of results) summary[r.result]++;
    const labels = { "app.kubernetes.io/managed-by": "vigil" };
    reports.push(namespace === ""
      ? { apiVersion: "wgpolicyk8s.io/v1alpha2", kind: "ClusterPolicyReport", metadata: { name: "vigil-cluster-report", labels }, summary, results }
      : { apiVersion: "wgpolicyk8s.io/v1alpha2", kind: "PolicyReport", metadata: { name: `vigil-${namespace}`, namespace, labels }, summary, results });
  }
  return reports;
}
