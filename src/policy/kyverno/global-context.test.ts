import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { createCelEnvironment } from "../cel/index.js";
import { UnresolvedContext, type ExternalContextResolver } from "./context.js";
import { parseGlobalContextEntry } from "./global-context.js";
import { kyvernoLanguage } from "./plugin.js";
import type { KyvernoPolicy } from "./policy.js";
import { resourceInput } from "./request.js";

const env = createCelEnvironment();
const files = `apiVersion: kyverno.io/v2alpha1
kind: GlobalContextEntry
metadata: {name: deployments}
spec:
  kubernetesResource: {group: apps, version: v1, resource: deployments, namespace: shop}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: known-app}
spec:
  validationFailureAction: Enforce
  rules:
  - name: app-has-a-deployment
    match: {any: [{resources: {kinds: [Pod]}}]}
    context:
    - name: deployments
      globalReference: {name: deployments, jmesPath: "[].metadata.name"}
    validate:
      message: "no Deployment named {{ request.object.metadata.labels.app }} in shop"
      deny:
        conditions:
          all:
          - {key: "{{ request.object.metadata.labels.app }}", operator: AnyNotIn, value: "{{ deployments }}"}
`;

function load(text: string): KyvernoPolicy {
  const docs = parseAllDocuments(text).map((d, index) => ({ file: "p.yaml", index, value: d.toJS() as Record<string, unknown>, text: "", position: () => undefined }));
  const { policies, errors } = kyvernoLanguage.compile(docs, env);
  expect(errors).toEqual([]);
  return policies[0] as KyvernoPolicy;
}

const pod = (app: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "shop", labels: { app } }, spec: { containers: [{ name: "c", image: "nginx" }] } });

describe("GlobalContextEntry and globalReference", () => {
  it("a kubernetesResource entry is the list of its objects, read through the resolver with the entry's API path", () => {
    const policy = load(files);
    const asked: string[] = [];
    const resolver: ExternalContextResolver = (request) => {
      asked.push(`${request.kind} ${String(request.spec["urlPath"])}`);
      return { kind: "DeploymentList", items: [{ metadata: { name: "web" } }, { metadata: { name: "api" } }] };
    };
    expect(policy.evaluateAdmission(resourceInput(pod("web")), { resolver })[0]?.status).toBe("pass");
    const denied = policy.evaluateAdmission(resourceInput(pod("batch")), { resolver })[0];
    expect(denied).toMatchObject({ status: "fail", message: "no Deployment named batch in shop" });
    expect(asked[0]).toBe("apiCall /apis/apps/v1/namespaces/shop/deployments");
  });

  it("a reference to an entry that is not loaded is the rule's error, naming it; an unanswered read too", () => {
    const policy = load(files.replace("globalReference: {name: deployments", "globalReference: {name: missing"));
    const result = policy.evaluateAdmission(resourceInput(pod("web")), { resolver: () => ({ items: [] }) })[0];
    expect(result?.status).toBe("error");
    expect(result?.message).toContain('no GlobalContextEntry named "missing" is loaded');
    const failing = load(files).evaluateAdmission(resourceInput(pod("web")), { resolver: () => new UnresolvedContext("GET /apis/apps/v1/namespaces/shop/deployments failed: 403 forbidden") })[0];
    expect(failing).toMatchObject({ status: "error", message: expect.stringContaining("403 forbidden") });
  });

  it("parses apiCall entries (urlPath or service) and refuses what cannot be read, naming the field", () => {
    expect(parseGlobalContextEntry({ metadata: { name: "cm" }, spec: { apiCall: { urlPath: "/api/v1/namespaces/p/configmaps/allow", refreshInterval: "5m" } } })).toEqual({ name: "cm", list: false, request: { urlPath: "/api/v1/namespaces/p/configmaps/allow" } });
    expect(parseGlobalContextEntry({ metadata: { name: "nodes" }, spec: { kubernetesResource: { version: "v1", resource: "nodes" } } }).request).toEqual({ urlPath: "/api/v1/nodes" });
    expect(() => parseGlobalContextEntry({ metadata: { name: "x" }, spec: {} })).toThrow(/exactly one of kubernetesResource and apiCall/);
    expect(() => parseGlobalContextEntry({ metadata: { name: "x" }, spec: { kubernetesResource: { group: "apps" } } })).toThrow(/spec.kubernetesResource needs version and resource/);
  });
});

describe("CEL globalContext.Get (ValidatingPolicy)", () => {
  const vpol = `apiVersion: kyverno.io/v2alpha1
kind: GlobalContextEntry
metadata: {name: shop-deployments}
spec:
  kubernetesResource: {group: apps, version: v1, resource: deployments, namespace: shop}
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: known-app-cel}
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  variables:
  - name: apps
    expression: globalContext.Get("shop-deployments", "[].metadata.name")
  validations:
  - expression: object.metadata.labels.app in variables.apps
    messageExpression: "'no Deployment named ' + object.metadata.labels.app"
`;

  it("reads the entry's data through the resolver, with a JMESPath projection; without data it is an error", () => {
    const policy = load(vpol);
    const resolver: ExternalContextResolver = () => ({ items: [{ metadata: { name: "web" } }] });
    expect(policy.evaluateAdmission(resourceInput(pod("web")), { resolver })[0]?.status).toBe("pass");
    expect(policy.evaluateAdmission(resourceInput(pod("batch")), { resolver })[0]).toMatchObject({ status: "fail", message: "no Deployment named batch" });
    const unread = policy.evaluateAdmission(resourceInput(pod("web")), {})[0];
    expect(unread?.status).toBe("error");
  });
});

describe("CEL globalContext.Get (MutatingPolicy)", () => {
  it("a mutation reads an apiCall entry's answer", () => {
    const policy = load(`apiVersion: kyverno.io/v2alpha1
kind: GlobalContextEntry
metadata: {name: owners}
spec:
  apiCall: {urlPath: /api/v1/namespaces/platform/configmaps/owners, refreshInterval: 5m}
---
apiVersion: policies.kyverno.io/v1alpha1
kind: MutatingPolicy
metadata: {name: team-from-owners}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >
        Object{metadata: Object.metadata{labels: {"team": string(globalContext.Get("owners", "data.team"))}}}
`);
    const asked: string[] = [];
    const resolver: ExternalContextResolver = (request) => {
      asked.push(String(request.spec["urlPath"]));
      return { kind: "ConfigMap", data: { team: "payments" } };
    };
    const outcome = policy.mutateAdmission!(resourceInput(pod("web")), { resolver });
    expect(outcome.results[0]?.status).toBe("pass");
    expect((outcome.patched["metadata"] as { labels: Record<string, string> }).labels).toMatchObject({ app: "web", team: "payments" });
    expect(asked).toEqual(["/api/v1/namespaces/platform/configmaps/owners"]);
  });
});
