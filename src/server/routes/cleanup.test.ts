import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../../context/kubernetes/api-test-server.js";
import { startTestServer, type TestServer } from "../../../test/server/support.js";

const policy = readFileSync(new URL("../../../test/fixtures/kyverno/cleanup/cleanup-bare-pods/cleanup-bare-pods.yaml", import.meta.url), "utf8");
/** A namespaced CleanupPolicy: named `default/bare-pods` (Kyverno's policy key), so its path encodes the slash. */
const namespaced = `apiVersion: kyverno.io/v2
kind: CleanupPolicy
metadata:
  name: bare-pods
  namespace: default
spec:
  schedule: "0 3 * * *"
  match:
    any:
    - resources:
        kinds: [Pod]
`;
const pod = (name: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { containers: [{ name: "c", image: "nginx:1.27" }] } });

let api: FakeKubernetesApi;
let t: TestServer;
let none: TestServer;

beforeAll(async () => {
  api = await startFakeKubernetesApi({ namespaces: [{ metadata: { name: "default" } }], objects: [pod("bare-1"), pod("bare-2")] });
  t = await startTestServer({ files: { "cleanup.yaml": policy, "namespaced.yaml": namespaced }, config: { admission: { cluster: { server: api.url } } }, start: true });
  await t.agent.cluster?.synced();
  none = await startTestServer({ files: { "cleanup.yaml": policy } });
});

afterAll(async () => {
  await t?.close();
  await none?.close();
  await api?.close();
});

describe("cleanup API", () => {
  it("shows each cleanup policy's schedule and next run to viewers", async () => {
    const response = await t.as("viewer", { method: "GET", url: "/v1/cleanup" });
    expect(response.statusCode).toBe(200);
    // With the TTL label's built-in policy (cleanup.ttl.enabled by default), every minute.
    expect(response.json().policies).toEqual([
      { policy: "clean-bare-pods", kind: "ClusterCleanupPolicy", schedule: "*/5 * * * *", next: "2025-03-03T10:05:00.000Z" },
      { policy: "default/bare-pods", kind: "CleanupPolicy", schedule: "0 3 * * *", next: "2025-03-04T03:00:00.000Z" },
      { policy: "kyverno-ttl-label", kind: "TTLLabel", schedule: "* * * * *", next: "2025-03-03T10:01:00.000Z" },
    ]);
    expect((await t.as("ingest", { method: "GET", url: "/v1/cleanup" })).statusCode).toBe(403);
  });

  it("an operator runs a policy now: the due objects become decisions (dry-run deletes), the run is kept and audited", async () => {
    expect((await t.as("viewer", { method: "POST", url: "/v1/cleanup/clean-bare-pods/run", payload: {} })).statusCode).toBe(403);
    const run = await t.as("operator", { method: "POST", url: "/v1/cleanup/clean-bare-pods/run", payload: { reason: "after the migration" } });
    expect(run.statusCode).toBe(200);
    expect(run.json()).toMatchObject({ policy: "clean-bare-pods", run: "2025-03-03T10:00:00.000Z", listed: 2, selected: 2, ingested: 2, errors: 0, problems: [] });
    await t.agent.ingestor.idle();
    const decisions = await t.agent.storage.listDecisions({ policy: "clean-bare-pods" });
    expect(decisions.map((d) => d.subject).sort()).toEqual(["Pod/default/bare-1", "Pod/default/bare-2"]);
    expect(api.writes).toEqual([]);
    const shown = (await t.as("viewer", { method: "GET", url: "/v1/cleanup" })).json().policies[0];
    expect(shown.last).toMatchObject({ run: "2025-03-03T10:00:00.000Z", ingested: 2 });
    const audit = (await t.as("admin", { method: "GET", url: "/v1/audit?limit=50" })).json().entries as { action: string; actor: string }[];
    expect(audit.some((e) => e.action === "api POST /v1/cleanup/:policy/run" && e.actor === "operator-token")).toBe(true);
    expect((await t.as("operator", { method: "POST", url: "/v1/cleanup/no-such-policy/run", payload: {} })).statusCode).toBe(404);
    // A namespaced policy by its namespace/name, the slash encoded in the path.
    const namespacedRun = await t.as("operator", { method: "POST", url: "/v1/cleanup/default%2Fbare-pods/run", payload: {} });
    expect(namespacedRun.statusCode).toBe(200);
    expect(namespacedRun.json()).toMatchObject({ policy: "default/bare-pods", listed: 2, selected: 2 });
  });

  it("answers 404 naming the missing setting when cleanup does not run (no admission.cluster)", async () => {
    const response = await none.as("viewer", { method: "GET", url: "/v1/cleanup" });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.message).toContain("set admission.cluster");
  });
});
