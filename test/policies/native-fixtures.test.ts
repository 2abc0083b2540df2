/**
 * The fixture policies against real upstream payloads: Kyverno's pod-security test Pods and
 * panther-analysis' CloudTrail records (see test/fixtures/policies/*\/SOURCE).
 */
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { buildDecision } from "../../src/decide/decision.js";
import { createPolicySet, explainFindings, loadPolicies } from "../../src/policy/index.js";
import { policyContext } from "../helpers/policy-context.js";

const { policies, errors } = loadPolicies("test/fixtures/policies");
const set = createPolicySet(policies);

function pods(file: string): { name: string; pod: Record<string, unknown> }[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((p): p is Record<string, unknown> => p !== null)
    .map((pod) => ({ name: (pod["metadata"] as { name: string }).name, pod }));
}

describe("fixture policies on upstream payloads", () => {
  it("load without errors", () => {
    expect(errors).toEqual([]);
  });

  it("pod-security-baseline flags exactly Kyverno's bad privileged pods", () => {
    const all = pods("test/fixtures/policies/kubernetes/pods-privileged.yaml");
    expect(all).toHaveLength(11);
    for (const { name, pod } of all) {
      const { findings } = set.evaluate(policyContext(pod, { type: "io.k8s.resource", subject: `pod/default/${name}` }));
      const privileged = findings.filter((f) => f.rule === "no-privileged-containers");
      expect({ name, violated: privileged.length === 1 }).toEqual({ name, violated: name.startsWith("bad") });
      if (name.startsWith("bad")) expect(privileged[0]?.message).toMatch(new RegExp(`^Pod ${name} runs privileged containers: \\[".+"\\]$`));
    }
  });

  it("pod-security-baseline warns on mutable image tags like Kyverno's disallow-latest-tag", () => {
    const verdicts = pods("test/fixtures/policies/kubernetes/pods-image-tags.yaml").map(({ name, pod }) => {
      const { findings } = set.evaluate(policyContext(pod, { type: "io.k8s.admission.review" }));
      return [name, findings.filter((f) => f.rule === "no-latest-tag").map((f) => f.mode)];
    });
    expect(verdicts).toEqual([["myapp-pod", []], ["badpod01", ["warn"]], ["badpod02", ["warn"]], ["vit-badpod01", ["warn"]], ["vit-badpod02", ["warn"]]]);
  });

  it("CloudTrail: a public bucket policy is denied with an explanation; a service principal is allowed", () => {
    const record = (file: string): unknown => JSON.parse(readFileSync(`test/fixtures/policies/cloudtrail/${file}`, "utf8"));
    const publicCtx = policyContext(record("put-bucket-policy-public.json"), { type: "com.amazonaws.cloudtrail", subject: "arn:aws:sts::123456789012:assumed-role/example-role/example-user" });
    const result = set.evaluate(publicCtx);
    const decision = buildDecision(publicCtx, result.findings, result.policyRevisions, { id: "d1", now: "2024-01-01T00:00:00Z", enforced: true, policy: (n) => set.get(n)?.meta });
    expect(decision.verdict).toBe("deny");
    expect(decision.findings.map((f) => `${f.policy}/${f.rule}`)).toEqual(["s3-public-access/no-public-policy"]);
    expect(decision.explanation.summary).toContain("Bucket example-bucket got a policy allowing everyone");
    expect(explainFindings(result.findings)).toContain("variables.publicStatements = ");
    expect(Object.keys(decision.policyRevisions)).not.toContain("pod-security-baseline");

    const serviceCtx = policyContext(record("put-bucket-policy-service-principal.json"), { type: "com.amazonaws.cloudtrail" });
    expect(set.evaluate(serviceCtx).findings).toEqual([]);
  });
});
