/**
 * Kyverno PolicyExceptions kept in the cluster (admission.cluster.policyExceptions, on by default):
 * the agent lists and watches them from a local stand-in for the API server and applies them with
 * the policies' own, as Kyverno does — a request they cover is admitted and the decision names the
 * exception; deleting the exception in the cluster takes effect without a restart; with
 * exceptionNamespace only that namespace's exceptions apply.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../../src/context/kubernetes/api-test-server.js";
import { admissionReview, startAdmissionAgent, tempDir, type KubeObject } from "./admission-support.js";

const policy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team-label
spec:
  validationFailureAction: Enforce
  rules:
  - name: team
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: Pods need a team label.
      pattern:
        metadata:
          labels:
            team: "?*"
`;

const exception = (name: string, namespace: string, podNamespace: string) => ({
  apiVersion: "kyverno.io/v2", kind: "PolicyException", metadata: { name, namespace },
  spec: { exceptions: [{ policyName: "require-team-label", ruleNames: ["team"] }], match: { any: [{ resources: { kinds: ["Pod"], namespaces: [podNamespace] } }] } },
});
const pod = (namespace: string): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "job-runner", namespace }, spec: { containers: [{ name: "c", image: "busybox" }] } });

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("the cluster's PolicyExceptions apply in the admission webhook", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;
  let scoped: Awaited<ReturnType<typeof startAdmissionAgent>>;

  beforeAll(async () => {
    api = await startFakeKubernetesApi({ namespaces: [{ metadata: { name: "legacy" } }, { metadata: { name: "apps" } }, { metadata: { name: "batch" } }], policyExceptions: [exception("legacy-pods", "kyverno", "legacy"), exception("batch-pods", "team-batch", "batch")] });
    const file = join(tempDir(), "policy.yaml");
    writeFileSync(file, policy);
    running = await startAdmissionAgent({ policies: [file], admission: { cluster: { server: api.url } } });
    scoped = await startAdmissionAgent({ policies: [file], admission: { cluster: { server: api.url, exceptionNamespace: "kyverno" } } });
  });
  afterAll(async () => {
    await running?.close();
    await scoped?.close();
    await api?.close();
  });

  const review = async (target: typeof running, object: KubeObject) => {
    const response = await target.server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview(object) });
    const body = response.json() as { response: { allowed: boolean; status?: { message?: string } } };
    return { allowed: body.response.allowed, message: body.response.status?.message ?? "" };
  };

  it("admits what an exception covers, names it in the decision, and denies the rest", async () => {
    expect((await review(running, pod("legacy"))).allowed).toBe(true);
    expect((await review(running, pod("batch"))).allowed).toBe(true);
    const denied = await review(running, pod("apps"));
    expect(denied.allowed).toBe(false);
    expect(denied.message).toContain("Pods need a team label");
    const [decision] = await running.agent.storage.listDecisions({ subject: "legacy/job-runner" });
    expect(decision?.findings[0]).toMatchObject({ effect: "skip", message: "rule skipped due to policy exception kyverno/legacy-pods" });
  });

  it("with exceptionNamespace, only that namespace's exceptions apply", async () => {
    expect((await review(scoped, pod("legacy"))).allowed).toBe(true);
    expect((await review(scoped, pod("batch"))).allowed).toBe(false);
  });

  it("an exception deleted in the cluster stops applying, without a restart", async () => {
    api.remove("policyexceptions", "legacy-pods", "kyverno");
    await until(async () => !(await review(running, pod("legacy"))).allowed, "the deletion to reach the cache");
    expect((await review(running, pod("batch"))).allowed).toBe(true);
  });
});
