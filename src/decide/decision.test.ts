import { describe, expect, it } from "vitest";
import type { Finding } from "../core/finding.js";
import type { PolicyMeta } from "../core/policy.js";
import { buildDecision, findingTier, scoreRisk } from "./decision.js";
import { createPolicySet } from "../policy/policy-set.js";
import { loadPolicies } from "../policy/load.js";
import { policyContext } from "../../test/helpers/policy-context.js";

function finding(over: Partial<Finding>): Finding {
  return { policy: "p", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "deny", severity: "high", message: "bad", trace: [], ...over };
}
const options = { id: "d-1", now: "2024-05-01T12:00:00Z", enforced: true };
const ctx = policyContext({ a: 1 }, { subject: "arn:aws:s3:::b" });

describe("buildDecision", () => {
  it("allows when nothing is violated", () => {
    const d = buildDecision(ctx, [finding({ effect: "pass" })], { p: "1", q: "2" }, options);
    expect(d).toMatchObject({ id: "d-1", eventId: "evt-1", eventType: "dev.vigil.decide", subject: "arn:aws:s3:::b", time: "2024-05-01T12:00:00Z", verdict: "allow", tier: "observe", enforced: true, actions: [] });
    expect(d.risk).toEqual({ score: 0, factors: [] });
    expect(d.explanation.summary).toBe("Allowed: 2 policies evaluated, none violated.");
    expect(d.policyRevisions).toEqual({ p: "1", q: "2" });
  });

  it("the summary of violations that do not deny agrees in number (1 violation that does not deny, 2 violations that do not deny)", () => {
    const warn = (rule: string) => finding({ rule, mode: "warn", severity: "medium" });
    expect(buildDecision(ctx, [warn("w")], {}, options).explanation.summary).toBe("Allowed (notify) with 1 violation that does not deny: p/w: bad.");
    expect(buildDecision(ctx, [warn("w"), warn("v")], {}, options).explanation.summary).toBe("Allowed (notify) with 2 violations that do not deny: p/w: bad (and 1 more).");
  });

  it("denies iff a deny-mode violation exists; tier from the strongest mode", () => {
    const warn = finding({ rule: "w", mode: "warn", severity: "medium" });
    expect(buildDecision(ctx, [warn], {}, options)).toMatchObject({ verdict: "allow", tier: "notify" });
    expect(buildDecision(ctx, [finding({ mode: "audit" })], {}, options)).toMatchObject({ verdict: "allow", tier: "observe" });
    const d = buildDecision(ctx, [warn, finding({})], {}, options);
    expect(d).toMatchObject({ verdict: "deny", tier: "block" });
    expect(d.explanation.summary).toBe("Denied (block) by 1 deny violation: p/r: bad.");
  });

  it("applies the policy's enforcement tier, floor/ceiling and shadow mode", () => {
    const metas: Record<string, PolicyMeta> = {
      remediating: { name: "remediating", language: "vigil", revision: "1", on: [], enforcement: { tier: "remediate" } },
      capped: { name: "capped", language: "vigil", revision: "1", on: [], enforcement: { ceiling: "notify" } },
      floored: { name: "floored", language: "vigil", revision: "1", on: [], enforcement: { floor: "approve" } },
      shadow: { name: "shadow", language: "vigil", revision: "1", on: [], enforcement: { mode: "shadow", tier: "block" } },
    };
    const policy = (name: string): PolicyMeta | undefined => metas[name];
    expect(findingTier(finding({ policy: "remediating", mode: "warn" }), metas["remediating"])?.tier).toBe("remediate");
    expect(findingTier(finding({ policy: "capped" }), metas["capped"])?.tier).toBe("notify");
    expect(findingTier(finding({ policy: "floored", mode: "audit" }), metas["floored"])?.tier).toBe("approve");
    const shadowed = buildDecision(ctx, [finding({ policy: "shadow" })], {}, { ...options, policy });
    expect(shadowed).toMatchObject({ verdict: "allow", tier: "observe" });
    expect(shadowed.explanation.steps.some((s) => s.kind === "tier" && s.text.includes("shadow mode"))).toBe(true);
    expect(buildDecision(ctx, [finding({ policy: "capped" })], {}, { ...options, policy })).toMatchObject({ verdict: "deny", tier: "notify" });
  });

  it("an error finding notifies but does not deny", () => {
    const d = buildDecision(ctx, [finding({ effect: "error", error: { code: "other", message: "boom" } })], { p: "1" }, options);
    expect(d).toMatchObject({ verdict: "allow", tier: "notify" });
    expect(d.explanation.summary).toBe("Allowed (notify), but 1 policy error: p/r: bad.");
    expect(d.risk.factors).toEqual([{ name: "p/r (error)", contribution: 0.05, detail: "policy could not be evaluated" }]);
  });

  it("scores risk additively by severity and mode, clamped to 1", () => {
    const risk = scoreRisk(ctx, [finding({ severity: "high" }), finding({ rule: "r2", severity: "medium", mode: "warn" })]);
    expect(risk.factors.map((f) => [f.name, f.contribution])).toEqual([["p/r", 0.45], ["p/r2", 0.175]]);
    expect(risk.score).toBe(0.625);
    const many = scoreRisk(ctx, [1, 2, 3].map((i) => finding({ rule: `c${i}`, severity: "critical" })));
    expect(many.score).toBe(1);
    const repeat = scoreRisk({ ...ctx, history: { violations30d: 3, recent: [] } }, [finding({ severity: "low" })]);
    expect(repeat.factors.map((f) => f.name)).toEqual(["p/r", "history.violations30d"]);
    expect(repeat.score).toBe(0.2);
  });

  it("explains a real CloudTrail decision end to end", () => {
    const { policies, errors } = loadPolicies("test/fixtures/policies/aws/s3-public-access.yaml");
    expect(errors).toEqual([]);
    const set = createPolicySet(policies);
    const input = { eventSource: "s3.amazonaws.com", eventName: "PutBucketAcl", userIdentity: { arn: "arn:aws:sts::1:assumed-role/dev" }, requestParameters: { bucketName: "reports", "x-amz-acl": ["public-read"] } };
    const event = policyContext(input, { type: "com.amazonaws.cloudtrail", subject: "arn:aws:sts::1:assumed-role/dev" });
    const { findings, policyRevisions } = set.evaluate(event);
    const d = buildDecision(event, findings, policyRevisions, { ...options, policy: (name) => set.get(name)?.meta });
    expect(d.verdict).toBe("deny");
    expect(d.tier).toBe("remediate");
    expect(d.explanation.summary).toBe("Denied (remediate) by 1 deny violation: s3-public-access/no-public-acl: Bucket reports was given the canned ACL public-read by arn:aws:sts::1:assumed-role/dev.");
    // One condition step per decisive conjunct (how many depends on the CEL analysis), then factor and tier.
    const kinds = d.explanation.steps.map((s) => s.kind);
    expect(kinds.slice(-2)).toEqual(["factor", "tier"]);
    expect(kinds.slice(0, -2).length).toBeGreaterThanOrEqual(1);
    expect(kinds.slice(0, -2).every((k) => k === "condition")).toBe(true);
    expect(d.explanation.steps.some((s) => s.kind === "condition" && s.text.includes("was true"))).toBe(true);
    expect(d.explanation.steps.at(-1)).toMatchObject({ kind: "tier", tier: "remediate", policy: "s3-public-access", rule: "no-public-acl", text: "remediate: s3-public-access/no-public-acl: enforcement.tier remediate" });
    expect(Object.keys(d.policyRevisions)).toEqual(["s3-public-access"]);
  });
});
