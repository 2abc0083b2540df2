import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "../cel/index.js";
import { celParamSpec, resolveCelParams } from "./cel-params.js";
import { UnresolvedContext } from "./context.js";
import { kyvernoEnvironment } from "./load.js";
import { compileKyvernoPolicy } from "./policy.js";
import { resourceInput } from "./request.js";

const env = kyvernoEnvironment(createCelEnvironment());
const cm = (name: string, namespace: string, data: Record<string, string>, labels: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels }, data });
const pod = (namespace: string, labels: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace, labels }, spec: { containers: [{ name: "c", image: "nginx" }] } });

function policy(paramRef: Record<string, unknown>) {
  return compileKyvernoPolicy({
    apiVersion: "kyverno.io/v1", kind: "ClusterPolicy", metadata: { name: "team-label" },
    spec: {
      validationFailureAction: "Enforce",
      rules: [{
        name: "required-label",
        match: { any: [{ resources: { kinds: ["Pod"] } }] },
        celPreconditions: [{ name: "enabled", expression: "params.data.?enabled.orValue('true') == 'true'" }],
        validate: { cel: { paramKind: { apiVersion: "v1", kind: "ConfigMap" }, paramRef, expressions: [{ expression: "params.data.label in object.metadata.?labels.orValue({})", messageExpression: "'missing label ' + params.data.label" }] } },
      }],
    },
  }, env);
}

describe("validate.cel paramKind / paramRef", () => {
  it("reads the named parameter object (kyverno test context resources): pass, fail with the message it fills in", () => {
    const p = policy({ name: "labels", namespace: "default" });
    const clusterResources = [cm("labels", "default", { label: "team" })];
    expect(p.evaluateAdmission(resourceInput(pod("apps", { team: "a" })), { clusterResources }).map((r) => r.status)).toEqual(["pass"]);
    const failed = p.evaluateAdmission(resourceInput(pod("apps")), { clusterResources })[0];
    expect(failed).toMatchObject({ status: "fail", message: "missing label team" });
    expect(failed?.trace[0]).toMatchObject({ kind: "note", expr: "params", value: "ConfigMap default/labels" });
  });

  it("celPreconditions read params too; a selector evaluates each selected object and fails at the first that fails", () => {
    const p = policy({ selector: { matchLabels: { "policy.acme/labels": "true" } }, parameterNotFoundAction: "Allow" });
    const selected = [cm("a", "apps", { label: "team" }, { "policy.acme/labels": "true" }), cm("b", "apps", { label: "cost-center" }, { "policy.acme/labels": "true" }), cm("c", "apps", { label: "ignored" })];
    expect(p.evaluateAdmission(resourceInput(pod("apps", { team: "a", "cost-center": "7" })), { clusterResources: selected })[0]?.status).toBe("pass");
    expect(p.evaluateAdmission(resourceInput(pod("apps", { team: "a" })), { clusterResources: selected })[0]).toMatchObject({ status: "fail", message: "missing label cost-center" });
    // Disabled by its own params: the precondition does not hold.
    const disabled = [cm("a", "apps", { label: "team", enabled: "false" }, { "policy.acme/labels": "true" })];
    expect(p.evaluateAdmission(resourceInput(pod("apps")), { clusterResources: disabled })[0]?.status).toBe("skip");
    // Another namespace's objects are not this request's params (the kind is namespaced, no paramRef.namespace): Allow skips.
    expect(p.evaluateAdmission(resourceInput(pod("other")), { clusterResources: selected })[0]).toMatchObject({ status: "skip", message: expect.stringContaining("parameterNotFoundAction Allow") });
  });

  it("none found: parameterNotFoundAction Deny (the default) fails the rule", () => {
    const p = policy({ name: "labels", namespace: "default" });
    expect(p.evaluateAdmission(resourceInput(pod("apps")), { clusterResources: [] })[0]).toMatchObject({ status: "fail", message: "no params found for rule required-label (paramKind ConfigMap labels); parameterNotFoundAction Deny" });
  });

  it("from the cluster: a ConfigMap through the resolver, other kinds by their API path; a 404 is not found, other failures are errors", () => {
    const spec = celParamSpec({ paramKind: { apiVersion: "v1", kind: "ConfigMap" }, paramRef: { name: "labels" } }, "policy p", "validate.cel");
    expect(spec).toEqual({ apiVersion: "v1", kind: "ConfigMap", name: "labels", notFound: "Deny" });
    const asked: unknown[] = [];
    const found = resolveCelParams(spec!, "apps", { resolver: (request) => { asked.push(request); return cm("labels", "apps", { label: "x" }); } });
    expect(found).toMatchObject({ ok: true, found: [{ metadata: { name: "labels" } }] });
    expect(asked).toEqual([{ kind: "configMap", name: "params", spec: { name: "labels", namespace: "apps" } }]);
    const crd = celParamSpec({ paramKind: { apiVersion: "rules.acme.io/v1", kind: "LabelRule" }, paramRef: { selector: { matchLabels: { env: "prod" } } } }, "policy p", "validate.cel")!;
    const paths: string[] = [];
    resolveCelParams(crd, "apps", { resolver: (request) => { paths.push(String(request.spec["urlPath"])); return { items: [] }; } });
    expect(paths).toEqual(["/apis/rules.acme.io/v1/namespaces/apps/labelrules?labelSelector=env%3Dprod"]);
    expect(resolveCelParams(spec!, "apps", { resolver: () => new UnresolvedContext("GET /api/v1/namespaces/apps/configmaps/labels answered HTTP 404: configmaps \"labels\" not found") })).toEqual({ ok: true, found: [] });
    expect(resolveCelParams(spec!, "apps", { resolver: () => new UnresolvedContext("GET ... timed out after 1000 ms") })).toMatchObject({ ok: false, error: expect.stringContaining("timed out") });
    expect(resolveCelParams(spec!, "apps", {})).toMatchObject({ ok: false, error: expect.stringContaining("configure admission.cluster") });
  });

  it("rejects a paramRef it cannot use, naming the field", () => {
    expect(() => celParamSpec({ paramRef: { name: "x" } }, "policy p rule r", "validate.cel")).toThrow(/validate.cel.paramKind must name/);
    expect(() => celParamSpec({ paramKind: { apiVersion: "v1", kind: "ConfigMap" }, paramRef: {} }, "policy p rule r", "validate.cel")).toThrow(/paramRef must name/);
    expect(() => celParamSpec({ paramKind: { apiVersion: "v1", kind: "ConfigMap" }, paramRef: { name: "x", parameterNotFoundAction: "Ignore" } }, "policy p rule r", "validate.cel")).toThrow(/Allow or Deny/);
  });
});
