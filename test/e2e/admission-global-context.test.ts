/**
 * Kyverno GlobalContextEntry + globalReference through the admission webhook with
 * admission.cluster: the entry's list is read from a local stand-in for the API server (a live GET
 * fetched by the lookup rounds, as apiCall entries are) and the policy decides on it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../../src/context/kubernetes/api-test-server.js";
import { admissionReview, startAdmissionAgent, tempDir, type KubeObject } from "./admission-support.js";

const policies = `apiVersion: kyverno.io/v2alpha1
kind: GlobalContextEntry
metadata: {name: shop-deployments}
spec:
  kubernetesResource: {group: apps, version: v1, resource: deployments, namespace: shop}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: pods-of-known-apps}
spec:
  validationFailureAction: Enforce
  rules:
  - name: known-app
    match: {any: [{resources: {kinds: [Pod], namespaces: [shop]}}]}
    context:
    - name: apps
      globalReference: {name: shop-deployments, jmesPath: "[].metadata.name"}
    validate:
      message: "no Deployment named {{ request.object.metadata.labels.app }} in shop"
      deny:
        conditions:
          all:
          - {key: "{{ request.object.metadata.labels.app }}", operator: AnyNotIn, value: "{{ apps }}"}
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: pods-of-known-apps-cel}
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  matchConditions:
  - {name: shop, expression: "object.metadata.namespace == 'shop'"}
  variables:
  - {name: apps, expression: 'globalContext.Get("shop-deployments", "[].metadata.name")'}
  validations:
  - expression: object.metadata.labels.app in variables.apps
    messageExpression: "'CEL: no Deployment named ' + object.metadata.labels.app"
`;
const pod = (app: string): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name: `p-${app}`, namespace: "shop", labels: { app } }, spec: { containers: [{ name: "c", image: "nginx" }] } });

describe("globalReference entries read the cluster", () => {
  let api: FakeKubernetesApi;
  let running: Awaited<ReturnType<typeof startAdmissionAgent>>;
  beforeAll(async () => {
    api = await startFakeKubernetesApi({
      namespaces: [{ metadata: { name: "shop" } }],
      paths: { "/apis/apps/v1/namespaces/shop/deployments": { kind: "DeploymentList", apiVersion: "apps/v1", metadata: {}, items: [{ metadata: { name: "web", namespace: "shop" } }, { metadata: { name: "api", namespace: "shop" } }] } },
    });
    const file = join(tempDir(), "policies.yaml");
    writeFileSync(file, policies);
    running = await startAdmissionAgent({ policies: [file], admission: { cluster: { server: api.url } } });
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
  });

  it("admits a pod of a deployed app and denies one of an unknown app, with the entry's data (globalReference and CEL globalContext.Get)", async () => {
    const review = async (object: KubeObject) => (await running.server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview(object) })).json() as { response: { allowed: boolean; status?: { message?: string } } };
    expect((await review(pod("web"))).response.allowed).toBe(true);
    const denied = await review(pod("batch"));
    expect(denied.response.allowed).toBe(false);
    expect(denied.response.status?.message).toContain("no Deployment named batch in shop");
    // The ValidatingPolicy's globalContext.Get reads the same entry.
    expect(denied.response.status?.message).toContain("CEL: no Deployment named batch");
    expect(api.requests.some((r) => r.path === "/apis/apps/v1/namespaces/shop/deployments")).toBe(true);
  });
});
