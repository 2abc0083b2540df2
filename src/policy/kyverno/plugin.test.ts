import { describe, expect, it } from "vitest";
import type { Context } from "../../core/context.js";
import { createCelEnvironment } from "../cel/index.js";
import type { PolicyDocument } from "../language.js";
import { kyvernoLanguage } from "./plugin.js";

const env = createCelEnvironment();
const doc = (value: unknown, index = 0): PolicyDocument => ({ file: "p.yaml", index, value, text: "", position: () => undefined });

const policy = (rules: unknown[], spec: Record<string, unknown> = {}) => ({
  apiVersion: "kyverno.io/v1",
  kind: "ClusterPolicy",
  metadata: { name: "no-latest", annotations: { "policies.kyverno.io/severity": "high" } },
  spec: { validationFailureAction: "Enforce", rules, ...spec },
});
const latestRule = { name: "no-latest-tag", match: { any: [{ resources: { kinds: ["Pod"] } }] }, validate: { message: "Images must not use latest.", pattern: { spec: { containers: [{ image: "!*:latest" }] } } } };
const ctx = (input: unknown): Context => ({
  event: { specversion: "1.0", id: "1", source: "test", type: "io.k8s.admission.review" },
  input, entities: {}, signals: {}, posture: { level: "normal", scope: "org", since: "2024-01-01T00:00:00Z" }, now: "2024-01-01T00:00:00Z",
});
const pod = (image: string, namespace = "dev") => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace }, spec: { containers: [{ name: "c", image }] } });

describe("kyverno language plugin", () => {
  it("accepts Kyverno documents only", () => {
    expect(kyvernoLanguage.accepts(doc(policy([])))).toBe(true);
    expect(kyvernoLanguage.accepts(doc({ apiVersion: "policies.kyverno.io/v1alpha1", kind: "ValidatingPolicy" }))).toBe(true);
    expect(kyvernoLanguage.accepts(doc({ apiVersion: "v1", kind: "Pod" }))).toBe(false);
  });

  it("produces one finding per violated rule with Kyverno's message, mode and a trace naming the path and value", () => {
    const { policies, errors } = kyvernoLanguage.compile([doc(policy([latestRule]))], env);
    expect(errors).toEqual([]);
    const findings = policies[0]?.evaluate(ctx(pod("nginx:latest"))) ?? [];
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ policy: "no-latest", rule: "no-latest-tag", effect: "violation", mode: "deny", severity: "high", language: "kyverno", resource: "Pod/dev/p" });
    expect(findings[0]?.message).toBe("validation error: Images must not use latest. rule no-latest-tag failed at path /spec/containers/0/image/");
    expect(findings[0]?.trace[0]).toMatchObject({ kind: "pattern", expr: "/spec/containers/0/image/", inputs: { found: "nginx:latest", expected: "!*:latest" } });
    expect(policies[0]?.evaluate(ctx(pod("nginx:1.25")))).toEqual([]);
    expect(policies[0]?.evaluate(ctx(pod("nginx:1.25")), { includePasses: true })[0]?.effect).toBe("pass");
  });

  it("evaluates AdmissionReview requests and honours Audit overrides per namespace", () => {
    const { policies } = kyvernoLanguage.compile([doc(policy([latestRule], { validationFailureActionOverrides: [{ action: "Audit", namespaces: ["dev"] }] }))], env);
    const review = (ns: string) => ({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "1", operation: "CREATE", object: pod("a:latest", ns), userInfo: { username: "u" } } });
    expect(policies[0]?.evaluate(ctx(review("dev")))[0]?.mode).toBe("warn");
    expect(policies[0]?.evaluate(ctx(review("prod")))[0]?.mode).toBe("deny");
  });

  it("auto-generates controller rules for Pod rules", () => {
    const { policies } = kyvernoLanguage.compile([doc(policy([latestRule]))], env);
    const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "x" }, spec: { template: { spec: { containers: [{ name: "c", image: "a:latest" }] } } } };
    const findings = policies[0]?.evaluate(ctx(deployment)) ?? [];
    expect(findings.map((f) => f.rule)).toEqual(["autogen-no-latest-tag"]);
    expect(findings[0]?.trace[0]?.expr).toBe("/spec/template/spec/containers/0/image/");
  });

  it("fails to load a rule using an unsupported feature, naming the policy, the rule and the feature", () => {
    // Keyless manifest attestors need Fulcio and Rekor, which the policy layer cannot reach.
    const bad = policy([{ ...latestRule, validate: { manifests: { attestors: [{ entries: [{ keyless: { subject: "ci@example.com", issuer: "https://token.actions.githubusercontent.com" } }] }] } } }]);
    const badOperator = policy([{ name: "op", match: latestRule.match, validate: { deny: { conditions: { any: [{ key: "a", operator: "Contains", value: "a" }] } } } }]);
    const { policies, errors } = kyvernoLanguage.compile([doc(bad), doc(badOperator, 1)], env);
    expect(policies).toEqual([]);
    expect(errors).toHaveLength(2);
    expect(errors[0]?.code).toBe("VIGIL_POLICY_UNSUPPORTED");
    expect(errors[0]?.message).toContain("no-latest");
    expect(errors[0]?.message).toContain("no-latest-tag");
    expect(errors[0]?.message).toContain("validate.manifests");
    expect(errors[1]?.message).toContain("condition operator 'Contains'");
  });

  it("loads a policy with a mutate rule for its validate rules", () => {
    const mutate = { name: "add-label", match: latestRule.match, mutate: { patchStrategicMerge: { metadata: { labels: { a: "b" } } } } };
    const { policies, errors } = kyvernoLanguage.compile([doc(policy([latestRule, mutate]))], env);
    expect(errors).toEqual([]);
    expect(policies[0]?.evaluate(ctx(pod("x:latest"))).map((f) => f.rule)).toEqual(["no-latest-tag"]);
  });

  it("rejects policies.kyverno.io kinds it does not evaluate", () => {
    const { errors } = kyvernoLanguage.compile([doc({ apiVersion: "policies.kyverno.io/v1alpha1", kind: "ImageVerificationPolicy", metadata: { name: "d" }, spec: {} })], env);
    expect(errors[0]?.code).toBe("VIGIL_POLICY_UNSUPPORTED");
    expect(errors[0]?.message).toContain("ImageVerificationPolicy d");
  });

  it("compiles a DeletingPolicy, and names the field when its schedule is missing", () => {
    const { errors } = kyvernoLanguage.compile([doc({ apiVersion: "policies.kyverno.io/v1alpha1", kind: "DeletingPolicy", metadata: { name: "d" }, spec: {} })], env);
    expect(errors[0]?.code).toBe("VIGIL_POLICY_LOAD");
    expect(errors[0]?.message).toContain("spec.schedule is missing");
  });

  it("compiles a GeneratingPolicy, and names the field when its generate list is missing", () => {
    const { errors } = kyvernoLanguage.compile([doc({ apiVersion: "policies.kyverno.io/v1alpha1", kind: "GeneratingPolicy", metadata: { name: "g" }, spec: {} })], env);
    expect(errors[0]?.code).toBe("VIGIL_POLICY_LOAD");
    expect(errors[0]?.message).toContain("spec.generate");
  });

  it("compiles a MutatingPolicy, and names the field when its mutations are missing", () => {
    const { errors } = kyvernoLanguage.compile([doc({ apiVersion: "policies.kyverno.io/v1alpha1", kind: "MutatingPolicy", metadata: { name: "m" }, spec: {} })], env);
    expect(errors[0]?.code).toBe("VIGIL_POLICY_LOAD");
    expect(errors[0]?.message).toContain("spec.mutations");
  });

  it("turns a rule that breaks at evaluation into an error finding while other rules still decide", () => {
    const broken = { name: "ctx", match: latestRule.match, context: [{ name: "cm", configMap: { name: "x", namespace: "y" } }], validate: { deny: {} } };
    const { policies } = kyvernoLanguage.compile([doc(policy([broken, latestRule]))], env);
    const findings = policies[0]?.evaluate(ctx(pod("x:latest"))) ?? [];
    expect(findings.map((f) => [f.rule, f.effect])).toEqual([["ctx", "error"], ["no-latest-tag", "violation"]]);
  });
});
