/**
 * ValidatingAdmissionPolicy behaviour checked against the Kubernetes API server's own code
 * (apiserver admission/plugin/webhook/predicates/rules, admission/plugin/policy/validating).
 */
import { describe, expect, it } from "vitest";
import type { Context } from "../../core/context.js";
import { createCelEnvironment } from "../cel/index.js";
import type { PolicyDocument } from "../language.js";
import { vapLanguage } from "./plugin.js";

const env = createCelEnvironment();
const doc = (value: unknown, index: number): PolicyDocument => ({ file: "vap.yaml", index, value, text: "", position: () => undefined });
const ctx = (input: unknown): Context => ({ event: { specversion: "1.0", id: "1", source: "t", type: "io.k8s.admission.review" }, input, entities: {}, signals: {}, posture: { level: "normal", scope: "org", since: "2024-01-01T00:00:00Z" }, now: "2024-01-01T00:00:00Z" });
const review = (request: Record<string, unknown>) => ({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u1", kind: { group: "", version: "v1", kind: "Pod" }, resource: { group: "", version: "v1", resource: "pods" }, operation: "CREATE", userInfo: { username: "bob" }, ...request } });
const pod = () => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "shop" }, spec: {} });
const policyOf = (spec: Record<string, unknown>) => ({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", metadata: { name: "p" }, spec });
const bindingOf = (spec: Record<string, unknown> = {}) => ({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: "b" }, spec: { policyName: "p", validationActions: ["Deny"], ...spec } });
const deny = [{ expression: "false", message: "denied" }];

function evaluate(policySpec: Record<string, unknown>, input: unknown, binding: Record<string, unknown> = {}): string[][] {
  const { policies, errors } = vapLanguage.compile([doc(policyOf(policySpec), 0), doc(bindingOf(binding), 1)], env);
  expect(errors).toEqual([]);
  return (policies[0]?.evaluate(ctx(input)) ?? []).map((f) => [f.effect, f.mode, f.message]);
}

describe("ValidatingAdmissionPolicy matchConstraints, as the API server's rule matcher", () => {
  const rules = (resources: string[], scope?: string) => ({ resourceRules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources, ...(scope ? { scope } : {}) }] });

  it("`pods/*` matches the pods resource itself as well as its subresources", () => {
    expect(evaluate({ matchConstraints: rules(["pods/*"]), validations: deny }, review({ object: pod() }))).toEqual([["violation", "deny", "denied"]]);
    expect(evaluate({ matchConstraints: rules(["*/status"]), validations: deny }, review({ object: pod() }))).toEqual([]);
  });

  it("a Namespace is cluster-scoped even though the API server puts its name in request.namespace", () => {
    const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } };
    const nsReview = review({ kind: { group: "", version: "v1", kind: "Namespace" }, resource: { group: "", version: "v1", resource: "namespaces" }, name: "shop", namespace: "shop", object: ns });
    expect(evaluate({ matchConstraints: rules(["namespaces"], "Cluster"), validations: deny }, nsReview)).toEqual([["violation", "deny", "denied"]]);
    expect(vapLanguage.compile([doc(policyOf({ matchConstraints: rules(["namespaces"]), validations: deny }), 0), doc(bindingOf(), 1)], env).policies[0]?.evaluate(ctx(nsReview))[0]?.resource).toBe("Namespace/shop");
    expect(evaluate({ matchConstraints: rules(["*"], "Namespaced"), validations: deny }, nsReview)).toEqual([]);
    expect(evaluate({ matchConstraints: rules(["*"], "Namespaced"), validations: deny }, review({ object: pod(), namespace: "shop" }))).toEqual([["violation", "deny", "denied"]]);
    // CEL namespaceObject is null for a Namespace (the API server does not look the namespace up as its own namespace)
    const { policies } = vapLanguage.compile([doc(policyOf({ matchConstraints: rules(["namespaces"]), validations: [{ expression: "namespaceObject == null", message: "namespaceObject set" }] }), 0), doc(bindingOf(), 1)], env);
    const withCache = { ...ctx(nsReview), kubernetes: { namespaceObject: { ...ns, metadata: { name: "shop", labels: { stale: "yes" } } } } };
    expect(policies[0]?.evaluate(withCache)).toEqual([]);
  });
});

describe("ValidatingAdmissionPolicy exemptions, as the API server's policy plugin", () => {
  it("never applies to ValidatingAdmissionPolicies, MutatingAdmissionPolicies or their bindings (a policy could lock itself in)", () => {
    const everything = { resourceRules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"] }] };
    for (const [kind, resource] of [["ValidatingAdmissionPolicy", "validatingadmissionpolicies"], ["ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings"], ["MutatingAdmissionPolicy", "mutatingadmissionpolicies"], ["MutatingAdmissionPolicyBinding", "mutatingadmissionpolicybindings"]] as const) {
      const object = { apiVersion: "admissionregistration.k8s.io/v1", kind, metadata: { name: "x" }, spec: {} };
      const admission = review({ kind: { group: "admissionregistration.k8s.io", version: "v1", kind }, resource: { group: "admissionregistration.k8s.io", version: "v1", resource }, name: "x", object });
      expect(evaluate({ matchConstraints: everything, validations: deny }, admission)).toEqual([]);
      expect(evaluate({ matchConstraints: everything, validations: deny }, object)).toEqual([]);
    }
    // other admissionregistration resources (webhook configurations) are not exempt from policies
    const webhook = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: "x" } };
    expect(evaluate({ matchConstraints: everything, validations: deny }, webhook)).toEqual([["violation", "deny", "denied"]]);
  });
});

describe("ValidatingAdmissionPolicy params, as the API server's CollectParams", () => {
  const paramKind = { apiVersion: "v1", kind: "ConfigMap" };

  it("a binding without paramRef to a policy with paramKind is evaluated with params null, not refused", () => {
    const validations = [{ expression: "params == null || params.data.team == 'web'", message: "team is not web" }];
    expect(evaluate({ paramKind, matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] }, validations }, review({ object: pod() }))).toEqual([]);
    expect(evaluate({ paramKind, matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] }, validations: [{ expression: "params != null", message: "no params" }] }, review({ object: pod() }))).toEqual([["violation", "deny", "no params"]]);
  });
});

describe("ValidatingAdmissionPolicy binding misconfiguration, as the API server's dispatcher", () => {
  it("a namespaced paramKind (ConfigMap) without paramRef.namespace cannot serve a cluster-scoped object: failurePolicy Fail denies even with parameterNotFoundAction Allow", () => {
    const spec = { failurePolicy: "Fail", paramKind: { apiVersion: "v1", kind: "ConfigMap" }, matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["nodes"] }] }, validations: [{ expression: "true" }] };
    const node = { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } };
    const found = evaluate(spec, node, { validationActions: ["Warn"], paramRef: { name: "limits", parameterNotFoundAction: "Allow" } });
    expect(found.map(([effect, mode]) => [effect, mode])).toEqual([["violation", "deny"]]);
    expect(found[0]?.[2]).toContain("paramRef.namespace");
    // with paramRef.namespace the lookup is well defined: not found + Allow admits
    expect(evaluate(spec, node, { paramRef: { name: "limits", namespace: "config", parameterNotFoundAction: "Allow" } })).toEqual([]);
  });

  it("no params under parameterNotFoundAction Deny and failurePolicy Fail denies the request whatever the binding's validationActions", () => {
    const spec = { failurePolicy: "Fail", paramKind: { apiVersion: "v1", kind: "ConfigMap" }, matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] }, validations: [{ expression: "true" }] };
    for (const validationActions of [["Warn"], ["Audit"], ["Warn", "Audit"]]) {
      const found = evaluate(spec, review({ object: pod() }), { validationActions, paramRef: { name: "missing", parameterNotFoundAction: "Deny" } });
      expect(found.map(([effect, mode]) => [effect, mode])).toEqual([["violation", "deny"]]);
    }
  });
});

describe("ValidatingAdmissionPolicy failure messages, as the API server's validator", () => {
  const rules = { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] };
  const messageOf = (validation: Record<string, unknown>) => evaluate({ matchConstraints: rules, validations: [{ expression: " false ", ...validation }] }, review({ object: pod() }))[0]?.[2];

  it("trims the messageExpression result and falls back to message when it has a line break or is too long", () => {
    expect(messageOf({ messageExpression: "'  pods need a team  '" })).toBe("pods need a team");
    expect(messageOf({ messageExpression: "'line one\\nline two'", message: "one line" })).toBe("one line");
    // longer than the API server's 5 KiB limit for an evaluated message
    expect(messageOf({ messageExpression: `'${"x".repeat(5 * 1024 + 1)}'`, message: "short" })).toBe("short");
    expect(messageOf({ messageExpression: `'${"x".repeat(5 * 1024)}'`, message: "short" })).toBe("x".repeat(5 * 1024));
    expect(messageOf({ messageExpression: "'  '", message: " padded message " })).toBe("padded message");
  });

  it("an empty message falls back to the expression, trimmed", () => {
    expect(messageOf({ message: "" })).toBe("failed expression: false");
    expect(messageOf({})).toBe("failed expression: false");
  });
});

describe("ValidatingAdmissionPolicy decisions in validation order, as the API server's dispatcher", () => {
  const rules = { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] };
  const validations = [{ expression: "object.spec.missing.field == 1" }, { expression: "false", message: "second fails" }];

  it("under failurePolicy Fail an erring validation is a denied decision in its place: Deny answers with the first, Warn warns each", () => {
    const denied = evaluate({ matchConstraints: rules, failurePolicy: "Fail", validations }, review({ object: pod() }));
    expect(denied).toHaveLength(1);
    expect(denied[0]?.[2]).toContain("object.spec.missing.field == 1");
    const warned = evaluate({ matchConstraints: rules, failurePolicy: "Fail", validations }, review({ object: pod() }), { validationActions: ["Warn"] });
    expect(warned.map(([effect, mode]) => [effect, mode])).toEqual([["violation", "warn"], ["violation", "warn"]]);
    expect(warned[1]?.[2]).toBe("second fails");
  });

  it("under failurePolicy Ignore an erring validation admits: only the failure is reported", () => {
    expect(evaluate({ matchConstraints: rules, failurePolicy: "Ignore", validations }, review({ object: pod() }), { validationActions: ["Warn"] })).toEqual([["violation", "warn", "second fails"]]);
  });
});

describe("ValidatingAdmissionPolicy auditAnnotations, as the API server's dispatcher", () => {
  const rules = { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] };
  const auditAnnotations = [{ key: "team", valueExpression: "object.metadata.labels.team" }];

  it("an annotation that errs under failurePolicy Fail denies whatever the binding's validationActions, also when a validation failed", () => {
    const passing = evaluate({ matchConstraints: rules, failurePolicy: "Fail", validations: [{ expression: "true" }], auditAnnotations }, review({ object: pod() }), { validationActions: ["Warn"] });
    expect(passing.map(([effect, mode]) => [effect, mode])).toEqual([["violation", "deny"]]);
    expect(passing[0]?.[2]).toContain("auditAnnotations team");
    const failing = evaluate({ matchConstraints: rules, failurePolicy: "Fail", validations: deny, auditAnnotations }, review({ object: pod() }), { validationActions: ["Audit"] });
    expect(failing.map(([effect, mode, message]) => [effect, mode, message?.startsWith("auditAnnotations team") ? "annotation" : message])).toEqual([["violation", "audit", "denied"], ["violation", "deny", "annotation"]]);
    // under Ignore the annotation's error is reported without denying
    const ignored = evaluate({ matchConstraints: rules, failurePolicy: "Ignore", validations: deny, auditAnnotations }, review({ object: pod() }), { validationActions: ["Audit"] });
    expect(ignored.map(([effect, mode]) => [effect, mode])).toEqual([["violation", "audit"], ["error", "audit"]]);
  });
});

describe("ValidatingAdmissionPolicy rules checked at load, as the API server validates them", () => {
  it("a resourceRules or excludeResourceRules entry without operations, apiGroups, apiVersions or resources is a load error naming the field", () => {
    const full = { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] };
    const cases: [Record<string, unknown>, string][] = [
      [{ resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }] }, "spec.matchConstraints.resourceRules[0].operations"],
      [{ resourceRules: [full, { ...full, apiGroups: [] }] }, "spec.matchConstraints.resourceRules[1].apiGroups"],
      [{ resourceRules: [{ ...full, apiVersions: undefined }] }, "spec.matchConstraints.resourceRules[0].apiVersions"],
      [{ resourceRules: [full], excludeResourceRules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }] }, "spec.matchConstraints.excludeResourceRules[0].operations"],
    ];
    for (const [matchConstraints, field] of cases) {
      const { policies, errors } = vapLanguage.compile([doc(policyOf({ matchConstraints, validations: deny }), 0), doc(bindingOf(), 1)], env);
      expect(policies).toEqual([]);
      expect(errors.map((e) => e.details)).toEqual([expect.objectContaining({ field })]);
      expect(errors[0]?.message).toContain(field);
    }
    const bound = bindingOf({ matchResources: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }] } });
    const { errors } = vapLanguage.compile([doc(policyOf({ matchConstraints: { resourceRules: [full] }, validations: deny }), 0), doc(bound, 1)], env);
    expect(errors.map((e) => e.details)).toEqual([expect.objectContaining({ field: "spec.matchResources.resourceRules[0].operations" })]);
  });
});

describe("ValidatingAdmissionPolicy enum fields checked at load, as the API server validates them", () => {
  const rules = { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] };
  const load = (policySpec: Record<string, unknown>, binding: Record<string, unknown> = {}) => vapLanguage.compile([doc(policyOf({ matchConstraints: rules, validations: deny, ...policySpec }), 0), doc(bindingOf(binding), 1)], env);

  it("refuses a failurePolicy other than Fail or Ignore instead of treating it as Fail", () => {
    const { policies, errors } = load({ failurePolicy: "ignore" });
    expect(policies).toEqual([]);
    expect(errors.map((e) => e.details)).toEqual([expect.objectContaining({ field: "spec.failurePolicy" })]);
    expect(errors[0]?.message).toContain("Fail or Ignore");
  });

  it("refuses a policy with neither validations nor auditAnnotations, a validation without expression, or a message with a line break", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ validations: [] }, "spec.validations"],
      [{ validations: [{ expression: "true" }, { message: "nope" }] }, "spec.validations[1].expression"],
      [{ validations: [{ expression: "false", message: "first line\nsecond line" }] }, "spec.validations[0].message"],
    ];
    for (const [policySpec, field] of cases) {
      const { policies, errors } = load(policySpec);
      expect(policies).toEqual([]);
      expect(errors.map((e) => e.details)).toEqual([expect.objectContaining({ field })]);
    }
    expect(load({ validations: [], auditAnnotations: [{ key: "k", valueExpression: "'v'" }] }).errors).toEqual([]);
  });

  it("refuses a matchCondition without a name or with a repeated one, and a variable whose name is not a CEL identifier", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ matchConditions: [{ name: "", expression: "true" }] }, "spec.matchConditions[0].name"],
      [{ matchConditions: [{ name: "a", expression: "true" }, { name: "a", expression: "true" }] }, "spec.matchConditions[1].name"],
      [{ variables: [{ name: "my-var", expression: "1" }] }, "spec.variables[0].name"],
    ];
    for (const [policySpec, field] of cases) {
      const { policies, errors } = load(policySpec);
      expect(policies).toEqual([]);
      expect(errors.map((e) => e.details)).toEqual([expect.objectContaining({ field })]);
    }
  });

  it("refuses a validation reason other than Unauthorized, Forbidden, Invalid or RequestEntityTooLarge", () => {
    const { policies, errors } = load({ validations: [{ expression: "true" }, { expression: "false", reason: "Conflict" }] });
    expect(policies).toEqual([]);
    expect(errors.map((e) => e.details)).toEqual([expect.objectContaining({ field: "spec.validations[1].reason" })]);
    expect(load({ validations: [{ expression: "false", reason: "Forbidden" }] }).errors).toEqual([]);
  });

  it("refuses a paramRef with both name and selector, or a parameterNotFoundAction other than Allow or Deny", () => {
    const paramKind = { apiVersion: "v1", kind: "ConfigMap" };
    const both = load({ paramKind }, { paramRef: { name: "limits", selector: {}, parameterNotFoundAction: "Deny" } });
    expect(both.errors.map((e) => e.details)).toEqual([expect.objectContaining({ field: "spec.paramRef" })]);
    const action = load({ paramKind }, { paramRef: { name: "limits", parameterNotFoundAction: "allow" } });
    expect(action.errors.map((e) => e.details)).toEqual([expect.objectContaining({ field: "spec.paramRef.parameterNotFoundAction" })]);
    expect(load({ paramKind }, { paramRef: { name: "limits", parameterNotFoundAction: "Allow" } }).errors).toEqual([]);
    const selector = load({ paramKind }, { paramRef: { selector: { matchExpressions: [{ key: "tier", operator: "in", values: ["a"] }] }, parameterNotFoundAction: "Deny" } });
    expect(selector.errors.map((e) => e.details)).toEqual([expect.objectContaining({ field: "spec.paramRef.selector.matchExpressions[0].operator" })]);
  });

  it("refuses a paramRef with neither name nor selector, or without parameterNotFoundAction (validation.go validateParamRef: both required)", () => {
    const paramKind = { apiVersion: "v1", kind: "ConfigMap" };
    const neither = load({ paramKind }, { paramRef: { namespace: "config", parameterNotFoundAction: "Deny" } });
    expect(neither.policies).toEqual([]);
    expect(neither.errors.map((e) => e.details)).toEqual([expect.objectContaining({ field: "spec.paramRef" })]);
    expect(neither.errors[0]?.message).toMatch(/one of name or selector/);
    const noAction = load({ paramKind }, { paramRef: { name: "limits" } });
    expect(noAction.errors.map((e) => e.details)).toEqual([expect.objectContaining({ field: "spec.paramRef.parameterNotFoundAction" })]);
    expect(noAction.errors[0]?.message).toMatch(/is required.*Allow.*Deny/);
    expect(load({ paramKind }, { paramRef: { selector: {}, parameterNotFoundAction: "Allow" } }).errors).toEqual([]);
  });
});

describe("ValidatingAdmissionPolicy CEL that Vigil cannot run", () => {
  it("an expression using the authorizer library fails to load saying the authorizer is not available, not only 'unknown function'", () => {
    const matchConstraints = { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] };
    const { errors } = vapLanguage.compile([doc(policyOf({ matchConstraints, validations: [{ expression: "authorizer.requestResource.check('delete').allowed()" }] }), 0), doc(bindingOf(), 1)], env);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain("validations[0].expression");
    expect(errors[0]?.message).toMatch(/authorizer.*not available/);
  });
});

describe("ValidatingAdmissionPolicy variables, as the API server composes them", () => {
  it("an expression reading a variable that failed to evaluate reports the variable's own error, not 'no such key'", () => {
    const matchConstraints = { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] };
    const found = evaluate({ matchConstraints, variables: [{ name: "team", expression: "object.metadata.labels.team" }], validations: [{ expression: "variables.team == 'web'" }] }, review({ object: pod() }));
    expect(found).toHaveLength(1);
    expect(found[0]?.[2]).toContain('composited variable "team" fails to evaluate: ');
    expect(found[0]?.[2]).not.toContain("no such key: team");
  });
});

describe("ValidatingAdmissionPolicy validation results, as the API server's validator", () => {
  it("a validation that evaluates to anything but true denies (a string, null), also under failurePolicy Ignore", () => {
    const matchConstraints = { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] };
    expect(evaluate({ matchConstraints, failurePolicy: "Ignore", validations: [{ expression: "object.metadata.name" }] }, review({ object: pod() }))).toEqual([["violation", "deny", "failed expression: object.metadata.name"]]);
    expect(evaluate({ matchConstraints, failurePolicy: "Ignore", validations: [{ expression: "object.spec.?nodeName.orValue(null)", message: "no node" }] }, review({ object: pod() }))).toEqual([["violation", "deny", "no node"]]);
  });
});

describe("ValidatingAdmissionPolicy CEL request, as the API server's CreateAdmissionRequest", () => {
  it("a bare object's request has requestKind, requestResource and requestSubResource (the same as kind, resource and subResource)", () => {
    const matchConstraints = { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] };
    const validations = [{ expression: "request.requestKind.kind == 'Pod' && request.requestResource.resource == 'pods' && request.requestSubResource == '' && request.requestKind.version == 'v1'", message: "request fields missing" }];
    expect(evaluate({ matchConstraints, validations }, pod())).toEqual([]);
  });
});

describe("ValidatingAdmissionPolicy label selectors checked at load, as the API server validates them", () => {
  it("an unknown operator, or In/NotIn without values, is a load error naming the field instead of a selector that matches everything", () => {
    const rules = [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }];
    const cases: [Record<string, unknown>, string][] = [
      [{ resourceRules: rules, objectSelector: { matchExpressions: [{ key: "env", operator: "in", values: ["prod"] }] } }, "spec.matchConstraints.objectSelector.matchExpressions[0].operator"],
      [{ resourceRules: rules, namespaceSelector: { matchExpressions: [{ key: "env", operator: "Exists" }, { key: "tier", operator: "NotIn", values: [] }] } }, "spec.matchConstraints.namespaceSelector.matchExpressions[1].values"],
      [{ resourceRules: rules, objectSelector: { matchExpressions: [{ key: "env", operator: "DoesNotExist", values: ["x"] }] } }, "spec.matchConstraints.objectSelector.matchExpressions[0].values"],
    ];
    for (const [matchConstraints, field] of cases) {
      const { policies, errors } = vapLanguage.compile([doc(policyOf({ matchConstraints, validations: deny }), 0), doc(bindingOf(), 1)], env);
      expect(policies).toEqual([]);
      expect(errors.map((e) => e.details)).toEqual([expect.objectContaining({ field })]);
    }
    const bound = bindingOf({ matchResources: { objectSelector: { matchExpressions: [{ key: "env", operator: "Equals", values: ["x"] }] } } });
    const { errors } = vapLanguage.compile([doc(policyOf({ matchConstraints: { resourceRules: rules }, validations: deny }), 0), doc(bound, 1)], env);
    expect(errors.map((e) => e.details)).toEqual([expect.objectContaining({ field: "spec.matchResources.objectSelector.matchExpressions[0].operator" })]);
  });
});
