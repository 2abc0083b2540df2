import { describe, expect, it } from "vitest";
import type { Context } from "../../core/context.js";
import { createCelEnvironment } from "../cel/index.js";
import type { PolicyDocument } from "../language.js";
import { createVapLanguage, vapLanguage } from "./plugin.js";

const env = createCelEnvironment();
const doc = (value: unknown, index: number): PolicyDocument => ({ file: "vap.yaml", index, value, text: "", position: () => undefined });
const vap = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicy",
  metadata: { name: "max-replicas" },
  spec: {
    failurePolicy: "Fail",
    paramKind: { apiVersion: "v1", kind: "ConfigMap" },
    matchConstraints: { resourceRules: [{ apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["deployments"] }] },
    variables: [{ name: "replicas", expression: "object.spec.replicas" }],
    validations: [{ expression: "variables.replicas <= int(params.data.max)", messageExpression: "'replicas ' + string(variables.replicas) + ' above ' + params.data.max" }],
  },
};
const binding = (name: string, extra: Record<string, unknown>) => ({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name }, spec: { policyName: "max-replicas", ...extra } });
const ctx = (input: unknown): Context => ({ event: { specversion: "1.0", id: "1", source: "t", type: "io.k8s.resource" }, input, entities: {}, signals: {}, posture: { level: "normal", scope: "org", since: "2024-01-01T00:00:00Z" }, now: "2024-01-01T00:00:00Z" });
const deployment = (replicas: number, ns = "prod") => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: ns, labels: {} }, spec: { replicas } });

describe("ValidatingAdmissionPolicy plugin", () => {
  const params = createVapLanguage({ params: (_kind, ref) => (ref.name === "limits" ? [{ data: { max: "3" } }] : []) });

  it("evaluates validations with params and the binding's validationActions", () => {
    const { policies, errors } = params.compile([doc(vap, 0), doc(binding("deny-prod", { paramRef: { name: "limits", parameterNotFoundAction: "Deny" }, validationActions: ["Deny"] }), 1)], env);
    expect(errors).toEqual([]);
    const findings = policies[0]?.evaluate(ctx(deployment(5))) ?? [];
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ policy: "max-replicas", rule: "deny-prod", effect: "violation", mode: "deny", language: "vap" });
    expect(findings[0]?.message).toBe("replicas 5 above 3");
    expect(policies[0]?.evaluate(ctx(deployment(2)))).toEqual([]);
  });

  it("keeps a variable's CEL type for the variables and validations that read it (a duration, a timestamp), and the JSON form in the trace", () => {
    const typed = {
      ...vap,
      metadata: { name: "typed-variables" },
      spec: {
        matchConstraints: vap.spec.matchConstraints,
        variables: [
          { name: "maxAge", expression: "duration('24h')" },
          { name: "created", expression: "timestamp(object.metadata.creationTimestamp)" },
          { name: "deadline", expression: "variables.created + variables.maxAge" },
        ],
        validations: [{ expression: "variables.deadline > timestamp('2024-01-02T00:00:00Z')", message: "too old" }],
      },
    };
    const typedBinding = { ...binding("all", { validationActions: ["Deny"] }), spec: { policyName: "typed-variables", validationActions: ["Deny"] } };
    const { policies, errors } = vapLanguage.compile([doc(typed, 0), doc(typedBinding, 1)], env);
    expect(errors).toEqual([]);
    const at = (creationTimestamp: string) => ({ ...deployment(1), metadata: { ...deployment(1).metadata, creationTimestamp } });
    expect(policies[0]?.evaluate(ctx(at("2024-01-01T06:00:00Z")))).toEqual([]);
    const old = policies[0]?.evaluate(ctx(at("2023-12-31T00:00:00Z")), { includePasses: true }) ?? [];
    expect(old.map((f) => [f.effect, f.message])).toEqual([["violation", "too old"]]);
    expect(old[0]?.trace.find((t) => t.expr === "variables.maxAge")?.value).toBe("86400s");
  });

  it("applies parameterNotFoundAction and binding matchResources", () => {
    const docs = [doc(vap, 0),
      doc(binding("missing-deny", { paramRef: { name: "nope", parameterNotFoundAction: "Deny" }, validationActions: ["Warn"] }), 1),
      doc(binding("missing-allow", { paramRef: { name: "nope", parameterNotFoundAction: "Allow" }, validationActions: ["Deny"] }), 2),
      doc(binding("only-dev", { paramRef: { name: "limits", parameterNotFoundAction: "Deny" }, validationActions: ["Audit"], matchResources: { namespaceSelector: {}, objectSelector: { matchLabels: { env: "dev" } } } }), 3)];
    const { policies } = params.compile(docs, env);
    const findings = policies[0]?.evaluate(ctx(deployment(5))) ?? [];
    // a misconfigured binding denies under failurePolicy Fail whatever its validationActions, as the API server
    expect(findings.map((f) => [f.rule, f.mode])).toEqual([["missing-deny", "deny"]]);
  });

  it("does not match other resources, and reports a binding to an unknown policy", () => {
    const { policies, errors } = vapLanguage.compile([doc(vap, 0), doc({ ...binding("b", {}), spec: { policyName: "ghost" } }, 1)], env);
    expect(policies[0]?.evaluate(ctx({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" } }))).toEqual([]);
    expect(errors[0]?.message).toContain("ghost");
  });

  it("fails to load a policy with a CEL syntax error, naming the policy and the field", () => {
    const bad = { ...vap, spec: { ...vap.spec, validations: [{ expression: "object.spec.replicas <" }] } };
    const { policies, errors } = vapLanguage.compile([doc(bad, 0)], env);
    expect(policies).toEqual([]);
    expect(errors[0]?.message).toContain("max-replicas");
    expect(errors[0]?.message).toContain("validations[0]");
  });

  describe("as the Kubernetes API server evaluates it", () => {
    const review = (request: Record<string, unknown>) => ({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u1", kind: { group: "", version: "v1", kind: "Pod" }, resource: { group: "", version: "v1", resource: "pods" }, operation: "CREATE", userInfo: { username: "bob" }, ...request } });
    const pod = (labels: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "shop", labels }, spec: {} });
    const podRules = { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods"] }] };
    const policyOf = (spec: Record<string, unknown>) => ({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", metadata: { name: "pods" }, spec: { matchConstraints: podRules, ...spec } });
    const bindingOf = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: "pods-deny" }, spec: { policyName: "pods", validationActions: ["Deny"] } };
    const evaluate = (spec: Record<string, unknown>, input: unknown) => {
      const { policies, errors } = vapLanguage.compile([doc(policyOf(spec), 0), doc(bindingOf, 1)], env);
      expect(errors).toEqual([]);
      return (policies[0]?.evaluate(ctx(input)) ?? []).map((f) => [f.effect, f.message]);
    };

    it("skips the policy when any matchCondition is false, even if an earlier one errs (the error applies only when none is false)", () => {
      const deny = [{ expression: "false", message: "denied" }];
      const erring = { name: "errs", expression: "object.spec.missing.field == 1" };
      expect(evaluate({ matchConditions: [erring, { name: "no", expression: "false" }], validations: deny }, review({ object: pod() }))).toEqual([]);
      expect(evaluate({ matchConditions: [{ name: "no", expression: "false" }, erring], validations: deny }, review({ object: pod() }))).toEqual([]);
      // none false, one errs: failurePolicy (Fail by default) decides
      const failed = evaluate({ matchConditions: [erring, { name: "yes", expression: "true" }], validations: deny }, review({ object: pod() }));
      expect(failed).toHaveLength(1);
      expect(failed[0]?.[1]).toContain("matchCondition errs failed to evaluate");
    });

    it("only a false matchCondition skips: one that gives another value (dyn, which type checking lets through) matches, as the API server's matcher (EvalResult == False)", () => {
      const deny = [{ expression: "false", message: "denied" }];
      expect(evaluate({ matchConditions: [{ name: "named", expression: "dyn(object.metadata.name)" }], validations: deny }, review({ object: pod() }))).toEqual([["violation", "denied"]]);
      expect(evaluate({ matchConditions: [{ name: "off", expression: "dyn(false)" }], validations: deny }, review({ object: pod() }))).toEqual([]);
    });

    it("resources: `*` is every resource but no subresource; `*/*`, `pods/*` and `*/status` reach subresources", () => {
      const statusUpdate = review({ operation: "UPDATE", subResource: "status", object: pod(), oldObject: pod() });
      const withResources = (resources: string[]) => evaluate({ matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources }] }, validations: [{ expression: "false", message: "denied" }] }, statusUpdate);
      expect(withResources(["*"])).toEqual([]);
      expect(withResources(["pods"])).toEqual([]);
      for (const resources of [["*/*"], ["pods/*"], ["*/status"], ["pods/status"]]) expect(withResources(resources)).toEqual([["violation", "denied"]]);
      expect(evaluate({ matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["*"] }] }, validations: [{ expression: "false", message: "denied" }] }, review({ object: pod() }))).toEqual([["violation", "denied"]]);
    });

    it("objectSelector matches when either the object or the oldObject matches (removing the label in an UPDATE does not escape)", () => {
      const spec = { matchConstraints: { ...podRules, objectSelector: { matchLabels: { team: "payments" } } }, validations: [{ expression: "false", message: "denied" }] };
      expect(evaluate(spec, review({ operation: "UPDATE", object: pod(), oldObject: pod({ team: "payments" }) }))).toEqual([["violation", "denied"]]);
      expect(evaluate(spec, review({ operation: "UPDATE", object: pod({ team: "payments" }), oldObject: pod() }))).toEqual([["violation", "denied"]]);
      expect(evaluate(spec, review({ operation: "UPDATE", object: pod({ team: "web" }), oldObject: pod() }))).toEqual([]);
      expect(evaluate(spec, review({ operation: "DELETE", object: null, oldObject: pod({ team: "payments" }) }))).toEqual([["violation", "denied"]]);
    });

    it("CEL `request` is the AdmissionRequest (name, namespace, kind, resource, uid, subResource...), not only operation and userInfo", () => {
      const spec = { validations: [{ expression: "request.namespace == 'shop' && request.name == 'web' && request.kind.kind == 'Pod' && request.resource.resource == 'pods' && request.uid == 'u1' && request.operation == 'CREATE' && request.userInfo.username == 'bob'", message: "request seen wrong" }] };
      expect(evaluate(spec, review({ object: pod(), name: "web", namespace: "shop" }))).toEqual([]);
      // a bare object (io.k8s.resource event) gets the same fields from the object itself
      const bare = { validations: [{ expression: "request.namespace == 'shop' && request.name == 'web' && request.kind.kind == 'Pod' && request.resource.resource == 'pods' && request.operation == 'CREATE'", message: "request seen wrong" }] };
      expect(evaluate(bare, pod())).toEqual([]);
    });

    it("matches on the request's resource, namespace and name (pods/exec carries a PodExecOptions; a generateName pod has no namespace in its metadata)", () => {
      const deny = [{ expression: "false", message: "denied" }];
      const exec = review({ operation: "CONNECT", subResource: "exec", name: "web", namespace: "shop", object: { apiVersion: "v1", kind: "PodExecOptions", command: ["sh"] } });
      expect(evaluate({ matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CONNECT"], resources: ["pods/exec"] }] }, validations: deny }, exec)).toEqual([["violation", "denied"]]);
      const generated = review({ namespace: "shop", object: { apiVersion: "v1", kind: "Pod", metadata: { generateName: "web-" }, spec: {} } });
      expect(evaluate({ matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "Namespaced" }] }, validations: deny }, generated)).toEqual([["violation", "denied"]]);
    });

    it("no params with parameterNotFoundAction Deny is subject to failurePolicy: Ignore does not deny", () => {
      const withParams = (failurePolicy: string, paramRef: Record<string, unknown> | undefined) => {
        const policy = policyOf({ failurePolicy, paramKind: { apiVersion: "v1", kind: "ConfigMap" }, validations: [{ expression: "true" }] });
        const bound = { ...bindingOf, spec: { ...bindingOf.spec, ...(paramRef ? { paramRef } : {}) } };
        const { policies, errors } = vapLanguage.compile([doc(policy, 0), doc(bound, 1)], env);
        expect(errors).toEqual([]);
        return (policies[0]?.evaluate(ctx(review({ object: pod() }))) ?? []).map((f) => [f.effect, f.mode]);
      };
      expect(withParams("Fail", { name: "limits", parameterNotFoundAction: "Deny" })).toEqual([["violation", "deny"]]);
      expect(withParams("Ignore", { name: "limits", parameterNotFoundAction: "Deny" })).toEqual([["error", "deny"]]);
      expect(withParams("Ignore", undefined)).toEqual([]);
      expect(withParams("Fail", { name: "limits", parameterNotFoundAction: "Allow" })).toEqual([]);
    });

    it("rejects a binding whose validationActions is empty or names an unknown action, instead of silently auditing", () => {
      for (const validationActions of [[], ["deny"], ["Deny", "Block"]]) {
        const bound = { ...bindingOf, spec: { ...bindingOf.spec, validationActions } };
        const { policies, errors } = vapLanguage.compile([doc(policyOf({ validations: [{ expression: "false" }] }), 0), doc(bound, 1)], env);
        expect(policies).toEqual([]);
        expect(errors).toHaveLength(1);
        expect(errors[0]?.message).toContain("ValidatingAdmissionPolicyBinding pods-deny: spec.validationActions");
        expect(errors[0]?.message).toContain("Deny, Warn, Audit");
        expect(errors[0]?.details).toMatchObject({ field: "spec.validationActions" });
      }
    });

    it("rejects a binding with Deny and Warn together, or an action listed twice, as the API server does", () => {
      const cases: [string[], string][] = [[["Deny", "Warn"], "may not hold both Deny and Warn"], [["Warn", "Audit", "Deny"], "may not hold both Deny and Warn"], [["Audit", "Audit"], "lists \"Audit\" more than once"]];
      for (const [validationActions, message] of cases) {
        const bound = { ...bindingOf, spec: { ...bindingOf.spec, validationActions } };
        const { policies, errors } = vapLanguage.compile([doc(policyOf({ validations: [{ expression: "false" }] }), 0), doc(bound, 1)], env);
        expect(policies).toEqual([]);
        expect(errors.map((e) => e.message)).toEqual([expect.stringContaining(message)]);
        expect(errors[0]?.details).toMatchObject({ field: "spec.validationActions" });
      }
      const warnAudit = { ...bindingOf, spec: { ...bindingOf.spec, validationActions: ["Warn", "Audit"] } };
      expect(vapLanguage.compile([doc(policyOf({ validations: [{ expression: "false" }] }), 0), doc(warnAudit, 1)], env).errors).toEqual([]);
    });

    it("evaluates auditAnnotations: the values are in the trace, and one that fails to evaluate follows failurePolicy", () => {
      const annotations = (failurePolicy: string, valueExpression: string) => {
        const policy = policyOf({ failurePolicy, variables: [{ name: "team", expression: "object.metadata.labels.team" }], validations: [{ expression: "true" }], auditAnnotations: [{ key: "team", valueExpression }] });
        const { policies, errors } = vapLanguage.compile([doc(policy, 0), doc(bindingOf, 1)], env);
        expect(errors).toEqual([]);
        return policies[0]?.evaluate(ctx(review({ object: pod({ team: "payments" }) })), { includePasses: true }) ?? [];
      };
      const ok = annotations("Fail", "'owned by ' + variables.team");
      expect(ok.map((f) => f.effect)).toEqual(["pass"]);
      expect(ok[0]?.trace.find((t) => t.expr === "auditAnnotations.team")?.value).toBe("owned by payments");
      const failed = annotations("Fail", "object.spec.missing.value");
      expect(failed.map((f) => [f.effect, f.mode])).toEqual([["violation", "deny"]]);
      expect(failed[0]?.message).toContain("auditAnnotations team");
      expect(annotations("Ignore", "object.spec.missing.value").map((f) => f.effect)).toEqual(["error"]);
      // a compile error names the field at load
      const broken = vapLanguage.compile([doc(policyOf({ validations: [{ expression: "true" }], auditAnnotations: [{ key: "k", valueExpression: "object.(" }] }), 0)], env);
      expect(broken.errors[0]?.message).toContain("auditAnnotations[0]");
    });

    it("reads ConfigMap params from the cluster cache (paramRef.namespace, else the object's namespace) when no resolver is given", () => {
      const configMaps: Record<string, Record<string, unknown>> = { "shop/limits": { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "limits", namespace: "shop" }, data: { team: "payments" } } };
      const cluster = { namespace: () => undefined, configMap: (ns: string, name: string) => configMaps[`${ns}/${name}`], rolesOf: () => ({ roles: [], clusterRoles: [] }) };
      const withRef = (paramRef: Record<string, unknown>) => {
        const policy = policyOf({ paramKind: { apiVersion: "v1", kind: "ConfigMap" }, validations: [{ expression: "object.metadata.labels.team == params.data.team", messageExpression: "'team must be ' + params.data.team" }] });
        const bound = { ...bindingOf, spec: { ...bindingOf.spec, paramRef } };
        const { policies } = vapLanguage.compile([doc(policy, 0), doc(bound, 1)], env);
        const c = { ...ctx(review({ object: pod({ team: "web" }) })), kubernetes: { cluster } };
        return (policies[0]?.evaluate(c) ?? []).map((f) => [f.effect, f.message]);
      };
      expect(withRef({ name: "limits", parameterNotFoundAction: "Deny" })).toEqual([["violation", "team must be payments"]]);
      expect(withRef({ name: "limits", namespace: "shop", parameterNotFoundAction: "Deny" })).toEqual([["violation", "team must be payments"]]);
      expect(withRef({ name: "limits", namespace: "other", parameterNotFoundAction: "Allow" })).toEqual([]);
    });

    it("rejects a policy without matchConstraints.resourceRules (the API server requires them) instead of loading one that never applies", () => {
      for (const matchConstraints of [undefined, {}, { resourceRules: [] }]) {
        const policy = { ...policyOf({ validations: [{ expression: "false" }] }), spec: { ...(matchConstraints ? { matchConstraints } : {}), validations: [{ expression: "false" }] } };
        const { policies, errors } = vapLanguage.compile([doc(policy, 0), doc(bindingOf, 1)], env);
        expect(policies).toEqual([]);
        expect(errors[0]?.message).toContain("ValidatingAdmissionPolicy pods: spec.matchConstraints.resourceRules");
        expect(errors[0]?.details).toMatchObject({ field: "spec.matchConstraints.resourceRules", policy: "pods" });
      }
    });

    it("a validation that errs under failurePolicy Ignore does not hide a later validation that fails", () => {
      const validations = [{ expression: "object.spec.missing.field == 1", message: "never" }, { expression: "has(object.metadata.labels.team)", message: "pods need a team label" }];
      expect(evaluate({ failurePolicy: "Ignore", validations }, review({ object: pod() }))).toEqual([["violation", "pods need a team label"]]);
      // nothing fails: the error is what remains, and Ignore reports it without denying
      expect(evaluate({ failurePolicy: "Ignore", validations }, review({ object: pod({ team: "web" }) })).map(([effect]) => effect)).toEqual(["error"]);
      expect(evaluate({ failurePolicy: "Fail", validations }, review({ object: pod({ team: "web" }) })).map(([effect]) => effect)).toEqual(["violation"]);
    });

    it("a Warn or Audit binding reports every failing validation (the API server warns each); Deny reports the first", () => {
      const validations = [{ expression: "has(object.metadata.labels.team)", message: "pods need a team label" }, { expression: "true" }, { expression: "has(object.metadata.labels.owner)", message: "pods need an owner label" }];
      const withActions = (validationActions: string[]) => {
        const bound = { ...bindingOf, spec: { ...bindingOf.spec, validationActions } };
        const { policies } = vapLanguage.compile([doc(policyOf({ validations }), 0), doc(bound, 1)], env);
        return (policies[0]?.evaluate(ctx(review({ object: pod() }))) ?? []).map((f) => [f.mode, f.message]);
      };
      expect(withActions(["Warn"])).toEqual([["warn", "pods need a team label"], ["warn", "pods need an owner label"]]);
      expect(withActions(["Audit"])).toEqual([["audit", "pods need a team label"], ["audit", "pods need an owner label"]]);
      expect(withActions(["Deny"])).toEqual([["deny", "pods need a team label"]]);
    });
  });
});
