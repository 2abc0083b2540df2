/**
 * The background scan: `vigil scan` and `vigil report` over manifests, and `io.k8s.resource`
 * events ingested by the agent (pipeline: PolicySet.evaluate on the object) read back as
 * PolicyReports — all evaluated the same way, with the Kyverno library's PSS policies.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { createAgent, createManualClock } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { kubernetesObjectsToEvents } from "../../src/sources/kubernetes.js";
import { vigil } from "../cli/support.js";
import { pssDir, tempDir, yamlDocuments, type KubeObject } from "./admission-support.js";

const requireTeamNamespace = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: namespace-team
spec:
  validationFailureAction: Audit
  rules:
    - name: team-label
      match:
        any:
        - resources:
            kinds: [Namespace]
      validate:
        message: "namespaces need a team label"
        pattern:
          metadata:
            labels:
              team: "?*"
`;

/** Admission only (`background: false`): a background scan must skip it. */
const admissionOnly = requireTeamNamespace.replace("name: namespace-team", "name: admission-only").replace("kinds: [Namespace]", "kinds: [Pod]").replace("validationFailureAction: Audit", "validationFailureAction: Enforce\n  background: false");

let dir: string;
let manifests: string;
let policies: string;
const good = yamlDocuments(join(pssDir, "../pods/pod-good.yaml")).slice(0, 3);
const bad = yamlDocuments(join(pssDir, "../pods/pod-bad.yaml")).slice(0, 4);
const withNamespace = (o: KubeObject, namespace: string): KubeObject => ({ ...o, metadata: { ...(o["metadata"] as object), namespace } });
const names = (list: readonly KubeObject[]): string[] => list.map((o) => String((o["metadata"] as { name: string }).name));

beforeAll(() => {
  dir = tempDir();
  manifests = join(dir, "manifests");
  policies = join(dir, "policies");
  mkdirSync(join(manifests, "shop"), { recursive: true });
  mkdirSync(policies);
  copyFileSync(join(pssDir, "restricted/require-run-as-nonroot/require-run-as-nonroot.yaml"), join(policies, "require-run-as-nonroot.yaml"));
  copyFileSync(join(pssDir, "restricted/disallow-privilege-escalation/disallow-privilege-escalation.yaml"), join(policies, "disallow-privilege-escalation.yaml"));
  writeFileSync(join(policies, "namespace-team.yaml"), requireTeamNamespace);
  writeFileSync(join(policies, "admission-only.yaml"), admissionOnly);
  const docs = [...good, ...bad].map((o) => withNamespace(o, "shop"));
  writeFileSync(join(manifests, "shop", "pods.yaml"), docs.map((d) => JSON.stringify(d)).join("\n---\n"));
  writeFileSync(join(manifests, "namespaces.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n  labels:\n    team: pay\n");
});

describe("vigil scan", () => {
  it("evaluates every object as a background scan and lists the failures, skipping background: false policies", async () => {
    const run = await vigil(["scan", "-p", policies, "--output", "json", manifests]);
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout) as { summary: Record<string, number>; results: { policy: string; rule: string; result: string; resource: string }[] };
    expect(out.summary).toMatchObject({ resources: good.length + bad.length + 2, policies: 3, manifestErrors: 0 });
    expect(out.results.some((r) => r.policy === "admission-only")).toBe(false);
    const failed = new Set(out.results.filter((r) => r.result === "fail").map((r) => r.resource));
    for (const name of names(good)) expect(failed.has(`Pod/shop/${name}`), name).toBe(false);
    // badpod01 escalates privileges, badpod02 runs as root (restricted-latest fixtures)
    expect(out.results).toContainEqual(expect.objectContaining({ policy: "disallow-privilege-escalation", result: "fail", resource: "Pod/shop/badpod01" }));
    expect(out.results).toContainEqual(expect.objectContaining({ policy: "require-run-as-nonroot", result: "fail", resource: "Pod/shop/badpod02" }));
    expect(out.results).toContainEqual(expect.objectContaining({ policy: "namespace-team", result: "fail", resource: "Namespace/shop" }));
    expect(out.results).toContainEqual(expect.objectContaining({ policy: "namespace-team", result: "pass", resource: "Namespace/payments" }));
    expect(out.summary["fail"]).toBe(out.results.filter((r) => r.result === "fail").length);
  });

  it("prints a table and a summary; --audit-warn reports Audit violations as warn and exits 0", async () => {
    const text = await vigil(["scan", "-p", policies, manifests]);
    expect(text.stdout).toMatch(/^RESULT\s+POLICY\/RULE\s+RESOURCE\s+MESSAGE/m);
    expect(text.stdout).toMatch(/^FAIL\s+namespace-team\/team-label\s+Namespace\/shop\s+validation error: namespaces need a team label/m);
    expect(text.stdout).toMatch(/^\d+ resources, 3 policies: \d+ pass, \d+ fail, 0 warn, 0 error, \d+ skip$/m);
    const warned = await vigil(["scan", "-p", policies, "--audit-warn", manifests]);
    expect(warned.code).toBe(0);
    expect(warned.stdout).toMatch(/^WARN\s+namespace-team/m);
    expect(warned.stdout).toMatch(/, 0 fail, [1-9]\d* warn,/);
  });

  it("reports an unreadable manifest with its file and line, and still scans the others", async () => {
    const broken = tempDir();
    copyFileSync(join(manifests, "namespaces.yaml"), join(broken, "namespaces.yaml"));
    writeFileSync(join(broken, "broken.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: [unclosed\n");
    writeFileSync(join(broken, "nameless.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n");
    const run = await vigil(["scan", "-p", policies, broken]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/manifest error: broken\.yaml:\d+: .*YAML/);
    expect(run.stderr).toMatch(/manifest error: nameless\.yaml:1: .*metadata\.name/);
    expect(run.stdout).toMatch(/2 resources, 3 policies: .*; 2 manifest errors/);
  });

  it("places namespaced objects that name no namespace in --namespace (default: default), cluster-scoped ones stay cluster-scoped", async () => {
    const bare = tempDir();
    writeFileSync(join(bare, "pods.yaml"), bad.map((o) => JSON.stringify(o)).join("\n---\n"));
    copyFileSync(join(manifests, "namespaces.yaml"), join(bare, "namespaces.yaml"));
    const kinds = async (extra: string[]): Promise<string[]> => {
      const run = await vigil(["report", "-p", policies, "--scan", bare, "--output", "json", ...extra]);
      return (JSON.parse(run.stdout).items as { kind: string; metadata: { namespace?: string } }[]).map((i) => `${i.kind}/${i.metadata.namespace ?? ""}`);
    };
    expect(await kinds([])).toEqual(["ClusterPolicyReport/", "PolicyReport/default"]);
    expect(await kinds(["-n", "team-a"])).toEqual(["ClusterPolicyReport/", "PolicyReport/team-a"]);
  });

  it("names the missing directory argument", async () => {
    const run = await vigil(["scan", "-p", policies]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("no directory");
  });
});

describe("vigil report", () => {
  it("--scan prints one PolicyReport per namespace and a ClusterPolicyReport, with consistent summaries", async () => {
    const run = await vigil(["report", "-p", policies, "--scan", manifests]);
    expect(run.code).toBe(0);
    const reports = parseAllDocuments(run.stdout).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; summary: Record<string, number>; results: { result: string; policy: string; resources: { kind: string; name: string }[] }[] });
    expect(reports.map((r) => `${r.apiVersion} ${r.kind} ${r.metadata.namespace ?? "-"}`)).toEqual(["wgpolicyk8s.io/v1alpha2 ClusterPolicyReport -", "wgpolicyk8s.io/v1alpha2 PolicyReport shop"]);
    for (const report of reports) {
      for (const result of ["pass", "fail", "warn", "error", "skip"]) expect(report.summary[result], `${report.kind} ${result}`).toBe(report.results.filter((r) => r.result === result).length);
    }
    const cluster = reports[0];
    expect(cluster?.results.map((r) => `${r.policy} ${r.resources[0]?.name} ${r.result}`).sort()).toEqual(["namespace-team payments pass", "namespace-team shop fail"]);
    expect(reports[1]?.summary["fail"]).toBeGreaterThanOrEqual(2);
    const json = JSON.parse((await vigil(["report", "-p", policies, "--scan", manifests, "--output", "json"])).stdout);
    expect(json).toMatchObject({ apiVersion: "v1", kind: "List" });
    expect(json.items).toHaveLength(2);
  });

  it("reads io.k8s.resource decisions the agent recorded: ingested objects are evaluated like the scan", async () => {
    const store = join(dir, "vigil.db");
    const config = join(dir, "vigil.yaml");
    writeFileSync(config, `policies: [${JSON.stringify(policies)}]\nstore:\n  path: ${JSON.stringify(store)}\nlog:\n  level: silent\n`);
    const agent = await createAgent(parseConfig({ policies: [policies], store: { path: store }, log: { level: "silent" } }), { clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: () => undefined });
    const objects = [...good, ...bad].map((o) => withNamespace(o, "shop"));
    const events = kubernetesObjectsToEvents(objects, { source: "/k8s/prod" }).map((r) => {
      if (!r.ok) throw r.error;
      return r.event;
    });
    await agent.start();
    await agent.ingest(events);
    await agent.ingestor.idle();
    const decisions = await agent.storage.listDecisions({ limit: 100 });
    expect(decisions).toHaveLength(objects.length);
    expect(decisions.every((d) => d.eventType === "io.k8s.resource" && !d.findings.some((f) => f.policy === "admission-only"))).toBe(true);
    await agent.close();

    const run = await vigil(["report", "-c", config, "--output", "json"]);
    expect(run.code).toBe(0);
    const items = JSON.parse(run.stdout).items as { kind: string; metadata: { namespace?: string }; results: { policy: string; result: string; resources: { name: string }[] }[] }[];
    expect(items.map((i) => `${i.kind}/${i.metadata.namespace}`)).toEqual(["PolicyReport/shop"]);
    const fromRecord = items[0]?.results.filter((r) => r.result === "fail").map((r) => `${r.policy} ${r.resources[0]?.name}`).sort();
    const scan = JSON.parse((await vigil(["scan", "-p", policies, "--output", "json", join(manifests, "shop")])).stdout) as { results: { policy: string; result: string; resource: string }[] };
    const fromScan = scan.results.filter((r) => r.result === "fail").map((r) => `${r.policy} ${r.resource.split("/")[2]}`).sort();
    expect(fromRecord).toEqual(fromScan);
    expect(fromRecord?.length).toBeGreaterThanOrEqual(2);
  });
});

describe("report output", () => {
  it("is valid YAML that round-trips to the same objects as the JSON output", async () => {
    const yamlRun = await vigil(["report", "-p", policies, "--scan", manifests]);
    const jsonRun = await vigil(["report", "-p", policies, "--scan", manifests, "--output", "json"]);
    const fromYaml = parseAllDocuments(yamlRun.stdout).map((d) => d.toJS());
    const fromJson = (JSON.parse(jsonRun.stdout) as { items: unknown[] }).items;
    const strip = (r: unknown): unknown => JSON.parse(JSON.stringify(r).replace(/"seconds":\d+/g, '"seconds":0'));
    expect(fromYaml.map(strip)).toEqual(fromJson.map(strip));
  });
});
