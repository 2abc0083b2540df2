import { describe, expect, it } from "vitest";
import { createEvaluator } from "../agent/evaluator.js";
import type { DecisionDraft } from "../core/decision.js";
import type { PolicyException } from "../core/review.js";
import { createPolicySet, loadPolicyText } from "../policy/index.js";
import { admissionResourceName, denialMessage, outcomeForDecision, reviewResponse, warningLine, type AdmissionRequestInfo } from "./admission-review.js";

/** A Kyverno policy whose context entry cannot load in the webhook (no configMap resolver): an evaluation error. */
function brokenKyverno(name: string, failurePolicy: "Fail" | "Ignore"): string {
  return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: ${name}
spec:
  validationFailureAction: Audit
  failurePolicy: ${failurePolicy}
  rules:
    - name: allowed-names
      match:
        any:
        - resources:
            kinds: [Pod]
      context:
      - name: allowed
        configMap:
          name: allowed-names
          namespace: kyverno
      validate:
        message: "name not allowed"
        deny:
          conditions:
            any:
            - key: "{{ request.object.metadata.name }}"
              operator: AnyNotIn
              value: "{{ allowed.data.names }}"
`;
}

const enforcedLabel = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team
spec:
  validationFailureAction: Enforce
  rules:
    - name: team-label
      match:
        any:
        - resources:
            kinds: [Pod]
      validate:
        message: "label team is required"
        pattern:
          metadata:
            labels:
              team: "?*"
`;

const auditLabel = enforcedLabel.replace("name: require-team", "name: audit-team").replace("Enforce", "Audit");

const nativeDeny = `apiVersion: vigil.dev/v1
kind: Policy
metadata:
  name: native-owner
spec:
  on: ["io.k8s.admission.review"]
  rules:
    - name: owner-annotation
      condition: request.object.metadata.annotations.owner == "team-a"
      message: "owner must be team-a"
      effect: deny
`;

const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "shop", labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "nginx" }] } };
const request: AdmissionRequestInfo = { apiVersion: "admission.k8s.io/v1", uid: "u-1", dryRun: false, operation: "CREATE", resource: "Pod/shop/web" };

function decide(policies: string, options: { readonly exceptions?: readonly PolicyException[] } = {}): { draft: DecisionDraft; set: ReturnType<typeof createPolicySet> } {
  const loaded = loadPolicyText(policies, "p.yaml");
  expect(loaded.errors).toEqual([]);
  const set = createPolicySet(loaded.policies);
  const evaluator = createEvaluator(set, { clock: { now: () => new Date("2024-05-01T12:00:00Z") }, ...(options.exceptions ? { exemptions: { exceptions: options.exceptions, overrides: [] } } : {}) });
  const review = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u-1", operation: "CREATE", object: pod, userInfo: {} } };
  const event = { ...evaluator.eventForInput(review, "io.k8s.admission.review"), subject: "shop/web" };
  return { draft: evaluator.decideEvent(event, { record: false }), set };
}

describe("outcomeForDecision", () => {
  it("denies on Enforce violations and warns on Audit ones in the same review", () => {
    const { draft, set } = decide(`${enforcedLabel}---\n${auditLabel}`);
    const outcome = outcomeForDecision(draft, request, (n) => set.get(n), "fail");
    expect(outcome.allowed).toBe(false);
    expect(outcome.status?.message).toContain("resource Pod/shop/web was blocked due to the following policies");
    expect(outcome.status?.message).toContain("require-team:\n  team-label: ");
    expect(outcome.status?.message).not.toContain("audit-team");
    expect(outcome.warnings).toEqual([expect.stringMatching(/^policy audit-team\.team-label: validation error: label team is required/)]);
    expect(outcome.draft).toBe(draft);
  });

  it("a policy whose evaluation fails denies by its failurePolicy Fail while the others still decide", () => {
    const { draft, set } = decide(`${brokenKyverno("names-fail", "Fail")}---\n${auditLabel}`);
    expect(draft.verdict).toBe("allow");
    const outcome = outcomeForDecision(draft, request, (n) => set.get(n), "ignore");
    expect(outcome.allowed).toBe(false);
    expect(outcome.status?.message).toMatch(/names-fail:\n {2}allowed-names: "?evaluation error \(failurePolicy Fail\): failed to load context/);
    expect(outcome.warnings.some((w) => w.startsWith("policy audit-team.team-label:"))).toBe(true);
    expect(outcome.draft).toMatchObject({ verdict: "deny", tier: "block" });
    expect(outcome.draft.explanation.summary).toContain("names-fail/allowed-names could not be evaluated");
  });

  it("a ValidatingAdmissionPolicy validation's reason sets the denial's status (Invalid → 422), as the API server answers", () => {
    const vap = (name: string, reason?: string) => `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: ${name} }
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }]
  validations:
    - expression: "has(object.metadata.labels.team)"
      message: "label team is required"${reason ? `
      reason: ${reason}` : ""}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: ${name}-binding }
spec:
  policyName: ${name}
  validationActions: [Deny]
`;
    const invalid = decide(vap("needs-team", "Invalid"));
    expect(outcomeForDecision(invalid.draft, request, (n) => invalid.set.get(n), "fail").status).toMatchObject({ code: 422, reason: "Invalid", status: "Failure" });
    // Without a reason the API server answers Invalid too (Validation.reason: "If not set, StatusReasonInvalid is used").
    const plain = decide(vap("needs-team-plain"));
    expect(outcomeForDecision(plain.draft, request, (n) => plain.set.get(n), "fail").status).toMatchObject({ code: 422, reason: "Invalid" });
    const forbidden = decide(vap("needs-team-forbidden", "Forbidden"));
    expect(outcomeForDecision(forbidden.draft, request, (n) => forbidden.set.get(n), "fail").status).toMatchObject({ code: 403, reason: "Forbidden" });
  });

  it("a policy with failurePolicy Ignore only warns about its error", () => {
    const { draft, set } = decide(`${brokenKyverno("names-ignore", "Ignore")}---\n${auditLabel}`);
    const outcome = outcomeForDecision(draft, request, (n) => set.get(n), "fail");
    expect(outcome.allowed).toBe(true);
    expect(outcome.warnings).toContainEqual(expect.stringMatching(/^policy names-ignore\.allowed-names: evaluation error ignored \(failurePolicy Ignore\)/));
    expect(outcome.draft.verdict).toBe("allow");
  });

  it("a native policy without failurePolicy follows admission.failurePolicy for its deny rules", () => {
    const { draft, set } = decide(nativeDeny);
    expect(draft.findings[0]?.effect).toBe("error");
    expect(outcomeForDecision(draft, request, (n) => set.get(n), "fail").allowed).toBe(false);
    const open = outcomeForDecision(draft, request, (n) => set.get(n), "ignore");
    expect(open.allowed).toBe(true);
    expect(open.warnings[0]).toContain("native-owner.owner-annotation");
  });

  it("an excepted violation neither denies nor hides: the exception is a warning", () => {
    const exception: PolicyException = {
      id: "EX-7", policies: ["require-team"], justification: "legacy workloads until Q3", createdBy: "sec", createdAt: "2024-04-01T00:00:00Z", expiresAt: "2024-09-01T00:00:00Z",
    };
    const { draft, set } = decide(enforcedLabel, { exceptions: [exception] });
    const outcome = outcomeForDecision(draft, request, (n) => set.get(n), "fail");
    expect(outcome.allowed).toBe(true);
    expect(outcome.warnings).toEqual([expect.stringMatching(/^vigil: require-team\/team-label .*EX-7/)]);
  });

  it("shadow-mode policies neither deny nor warn", () => {
    const { draft, set } = decide(enforcedLabel);
    const policy = set.get("require-team");
    const shadow = policy ? Object.create(policy, { meta: { value: { ...policy.meta, enforcement: { mode: "shadow" } } } }) : undefined;
    const outcome = outcomeForDecision(draft, request, () => shadow, "fail");
    expect(outcome.allowed).toBe(true);
    expect(outcome.warnings).toEqual([]);
  });
});

describe("response shape", () => {
  it("names the resource as Kyverno does, with an empty namespace for cluster-scoped objects", () => {
    expect(admissionResourceName({ object: pod })).toBe("Pod/shop/web");
    expect(admissionResourceName({ kind: { kind: "Namespace" }, name: "prod", oldObject: { kind: "Namespace", metadata: { name: "prod" } } })).toBe("Namespace//prod");
    expect(admissionResourceName({ kind: { kind: "Pod" }, namespace: "a", object: { kind: "Pod", metadata: { generateName: "web-" } } })).toBe("Pod/a/web-");
  });

  it("writes the denial list as YAML (policy → rule → reason)", () => {
    const text = denialMessage("Pod/a/b", [{ policy: "p1", rule: "r1", reason: "one" }, { policy: "p1", rule: "r2", reason: "two: with colon" }, { policy: "p2", rule: "r", reason: "three" }]);
    expect(text).toBe("\n\nresource Pod/a/b was blocked due to the following policies \n\np1:\n  r1: one\n  r2: \"two: with colon\"\np2:\n  r: three\n");
  });

  it("leaves warnings and status out when there are none", () => {
    expect(reviewResponse(request, { allowed: true, warnings: [] })).toEqual({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "u-1", allowed: true } });
  });
});

describe("warningLine", () => {
  const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

  it("cuts a long warning at 256 characters as the API server counts them (runes), never inside a character", () => {
    for (const prefix of ["", "a", "ab", "abc"]) {
      const line = warningLine(`${prefix}${"🚫".repeat(300)}`);
      expect(line, prefix).not.toMatch(loneSurrogate);
      expect([...line].length, prefix).toBe(256);
      expect(line.endsWith("…")).toBe(true);
    }
    expect(warningLine(`policy p.r: ${"x".repeat(300)}`)).toHaveLength(256);
    expect(warningLine("policy p.r:\n  short  ")).toBe("policy p.r: short");
  });
});
