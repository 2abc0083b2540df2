import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "../cel/index.js";
import { loadPolicyText } from "../load.js";
import type { KyvernoPolicy } from "./policy.js";
import { resourceInput, type KubeObject } from "./request.js";

const env = createCelEnvironment();

function policy(validate: string): KyvernoPolicy {
  const text = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  rules:
  - name: r
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      failureAction: Enforce
${validate.replace(/^/gm, "      ")}
`;
  const loaded = loadPolicyText(text, "p.yaml", { env });
  expect(loaded.errors).toEqual([]);
  return loaded.policies[0] as KyvernoPolicy;
}

const pod = (labels: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "default", labels }, spec: { containers: [{ name: "app", image: "nginx:1.27" }] } });
const results = (p: KyvernoPolicy, object: KubeObject) => p.evaluateAdmission(resourceInput(object, { operation: "CREATE" })).map((r) => [r.status, r.message]);

describe("validate.anyPattern", () => {
  // Kyverno substitutes the variables of the whole anyPattern list before matching any pattern: a
  // variable that does not resolve in a later pattern is an error even when an earlier one passes.
  const anyPattern = `message: app label, or a tier label equal to the team label
anyPattern:
- metadata:
    labels:
      app: "?*"
- metadata:
    labels:
      tier: "{{ request.object.metadata.labels.team }}"`;

  it("is an error when a variable of any pattern does not resolve, before any pattern is matched", () => {
    const [result] = results(policy(anyPattern), pod({ app: "web" }));
    expect(result?.[0]).toBe("error");
    expect(result?.[1]).toContain("request.object.metadata.labels.team");
  });

  it("passes on the first matching pattern once every variable resolves", () => {
    expect(results(policy(anyPattern), pod({ app: "web", team: "a" }))[0]?.[0]).toBe("pass");
    expect(results(policy(anyPattern), pod({ tier: "a", team: "a" }))[0]?.[0]).toBe("pass");
    expect(results(policy(anyPattern), pod({ tier: "b", team: "a" }))[0]?.[0]).toBe("fail");
  });
});

describe("a variable that resolves to an explicit null in conditions", () => {
  // Kyverno: ctx.Query of request.oldObject.* on CREATE returns nil without error (context/evaluate.go),
  // substituteVariablesIfAny (variables/vars.go) keeps nil for a whole-string variable, and
  // NotEqualHandler.Evaluate (operator/notequal.go) is false for a nil key: the deny does not hold.
  const immutable = `message: the app label cannot change
deny:
  conditions:
    any:
    - key: "{{ request.oldObject.metadata.labels.app }}"
      operator: NotEquals
      value: "{{ request.object.metadata.labels.app }}"`;

  it("does not deny a CREATE (oldObject null), and denies an UPDATE that changes the label", () => {
    const p = policy(immutable);
    expect(results(p, pod({ app: "web" }))).toEqual([["pass", "validation rule 'r' passed."]]);
    const update = p.evaluateAdmission(resourceInput(pod({ app: "api" }), { operation: "UPDATE", oldObject: pod({ app: "web" }) })).map((r) => r.status);
    expect(update).toEqual(["fail"]);
  });
});

describe("validate.deny messages", () => {
  // Kyverno's validator (getDenyMessage) answers a denial with the rule's message and the messages of
  // the conditions that held (evaluate.go: the first true `any` condition, each true `all` one),
  // joined with "; ", then substitutes variables in the whole.
  it("joins the rule message and the messages of the conditions that held", () => {
    const p = policy(`message: "pod {{ request.object.metadata.name }} is denied"
deny:
  conditions:
    any:
    - key: "{{ request.object.metadata.labels.team || '' }}"
      operator: Equals
      value: ""
      message: "no team label on {{ request.object.metadata.name }}"
    - key: "{{ request.object.metadata.labels.tier || '' }}"
      operator: Equals
      value: ""
      message: "no tier label"
    all:
    - key: "{{ request.object.metadata.namespace }}"
      operator: Equals
      value: default
      message: "in the default namespace"
    - key: "{{ request.object.metadata.name }}"
      operator: NotEquals
      value: ""`);
    expect(results(p, pod({}))).toEqual([["fail", "pod web is denied; no team label on web; in the default namespace"]]);
    expect(results(p, pod({ team: "a" }))).toEqual([["fail", "pod web is denied; no tier label; in the default namespace"]]);
    expect(results(p, pod({ team: "a", tier: "b" }))[0]?.[0]).toBe("pass");
  });

  it("without a rule message, the conditions' messages alone; without either, 'validation error: rule r failed'", () => {
    const conditions = (message: string) => `deny:
  conditions:
    all:
    - key: "{{ request.object.metadata.name }}"
      operator: Equals
      value: web${message}`;
    expect(results(policy(conditions("\n      message: web is reserved")), pod({}))).toEqual([["fail", "web is reserved"]]);
    expect(results(policy(conditions("")), pod({}))).toEqual([["fail", "validation error: rule r failed"]]);
  });
});

describe("ValidatingPolicy matchConditions", () => {
  // Kyverno's compiled ValidatingPolicy (match): a condition whose value is no bool
  // (utils.ConvertToNative[bool]) is an error, remembered like one that fails to evaluate; only a
  // false one skips. (A ValidatingAdmissionPolicy, through the API server's matcher, lets it match.)
  const vpol = (condition: string): KyvernoPolicy => {
    const loaded = loadPolicyText(`apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: vp
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  matchConditions:
  - name: cond
    expression: "${condition}"
  validations:
  - expression: "false"
    message: denied
`, "vp.yaml", { env });
    expect(loaded.errors).toEqual([]);
    return loaded.policies[0] as KyvernoPolicy;
  };

  it("a condition that is no bool is an error, not a skip or a match", () => {
    const [status] = results(vpol("dyn(object.metadata.name)"), pod({}));
    expect(status?.[0]).toBe("error");
    expect(status?.[1]).toContain("matchCondition cond");
    expect(results(vpol("dyn(false)"), pod({}))[0]?.[0]).toBe("skip");
    expect(results(vpol("true"), pod({}))).toEqual([["fail", "denied"]]);
  });
});

describe("preconditions not met", () => {
  // Kyverno's validator skips with JoinNonEmpty(["preconditions not met", msg], "; "), msg being the
  // messages of the conditions that made the preconditions false (evaluate.go): every false `any`
  // condition it tried, and the first false `all` one.
  function withPreconditions(preconditions: string): KyvernoPolicy {
    const text = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  rules:
  - name: r
    match:
      any:
      - resources:
          kinds: [Pod]
    preconditions:
${preconditions.replace(/^/gm, "      ")}
    validate:
      failureAction: Enforce
      pattern:
        metadata:
          labels:
            app: "?*"
`;
    const loaded = loadPolicyText(text, "p.yaml", { env });
    expect(loaded.errors).toEqual([]);
    return loaded.policies[0] as KyvernoPolicy;
  }

  it("says so, without a condition message", () => {
    const p = withPreconditions(`all:\n- key: "{{ request.object.metadata.name }}"\n  operator: Equals\n  value: other`);
    expect(results(p, pod({}))).toEqual([["skip", "preconditions not met"]]);
  });

  it("adds the false condition's message after it", () => {
    const p = withPreconditions(`all:\n- key: "{{ request.object.metadata.name }}"\n  operator: Equals\n  value: other\n  message: only for other`);
    expect(results(p, pod({}))).toEqual([["skip", "preconditions not met; only for other"]]);
  });

  it("joins the messages of every false any condition and the first false all condition", () => {
    const p = withPreconditions([
      "any:",
      "- key: a", "  operator: Equals", "  value: b", "  message: first any",
      "- key: a", "  operator: Equals", "  value: c",
      "- key: a", "  operator: Equals", "  value: d", "  message: third any",
      "all:",
      "- key: a", "  operator: Equals", "  value: e", "  message: first all",
      "- key: a", "  operator: Equals", "  value: f", "  message: second all",
    ].join("\n"));
    expect(results(p, pod({}))).toEqual([["skip", "preconditions not met; first any; third any; first all"]]);
  });

  it("keeps the false any messages tried before the true one when all makes them false", () => {
    const p = withPreconditions([
      "any:",
      "- key: a", "  operator: Equals", "  value: b", "  message: false any",
      "- key: a", "  operator: Equals", "  value: a", "  message: true any",
      "all:",
      "- key: a", "  operator: Equals", "  value: e", "  message: false all",
    ].join("\n"));
    expect(results(p, pod({}))).toEqual([["skip", "preconditions not met; false any; false all"]]);
  });

  it("takes the first false message of the legacy list form", () => {
    const p = withPreconditions([
      "- key: a", "  operator: Equals", "  value: a", "  message: true one",
      "- key: a", "  operator: Equals", "  value: b", "  message: false one",
      "- key: a", "  operator: Equals", "  value: c", "  message: never read",
    ].join("\n"));
    expect(results(p, pod({}))).toEqual([["skip", "preconditions not met; false one"]]);
  });
});
