import { afterEach, describe, expect, it } from "vitest";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { MINUTE } from "../decide/test-support.js";
import { approver, createLoop, type Loop } from "./test-support.js";

/** A policy with a low and a critical deny rule, at the approve tier, with nothing to run. */
const gate = (safeDefault: string): string => `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: gate }
spec:
  rules:
    - name: minor
      condition: input.public == true
      message: "bucket {{ input.bucket }} is public"
      severity: low
      effect: deny
    - name: major
      condition: input.exposed == true
      message: "bucket {{ input.bucket }} exposes secrets"
      severity: critical
      effect: deny
  enforcement:
    tier: approve
    safeDefault: ${safeDefault}
  escalation:
    - notify: ["#gate"]
      after: 15m
`;

// The retry override an approval (or a permissive safe default) creates covers what was judged: the severity of the reviewed violations.
describe("the override that lets a denied request's retry through", () => {
  let loop: Loop;
  afterEach(async () => { await loop.dispose(); });

  it("approving a low finding does not let a critical violation of another rule of the policy through", async () => {
    loop = await createLoop(createSqliteStorage, [gate("block")]);
    const first = await loop.handle({ bucket: "b", public: true });
    expect(first.decision).toMatchObject({ verdict: "deny", tier: "approve" });
    const approval = await loop.review.approve(first.reviews[0]?.id as string, approver, "fine for b");
    expect(await loop.review.overrides.get(approval.overrideId as string)).toMatchObject({ review: first.reviews[0]?.id, severity: "low" });
    const retry = await loop.handle({ bucket: "b", public: true, exposed: true });
    expect(retry.decision.verdict).toBe("deny");
    expect(retry.decision.findings.filter((f) => f.effect === "violation").map((f) => f.rule)).toEqual(["major"]);
    // That request was denied all the same: the pass is still there for the retry that was approved, once.
    expect((await loop.handle({ bucket: "b", public: true })).decision.verdict).toBe("allow");
    // Had the process died before marking it used, the next start finds the decision that let the request through.
    const doc = await loop.storage.getDoc<Record<string, unknown>>("overrides", approval.overrideId as string);
    await loop.storage.putDocs([{ collection: "overrides", id: approval.overrideId as string, value: { ...doc!.value, used: false } }], loop.clock.iso());
    expect(await loop.review.overrides.reconcileUsed()).toEqual([approval.overrideId]);
    expect((await loop.handle({ bucket: "b", public: true })).decision.verdict).toBe("deny");
  });

  it("a permissive safe default does not either", async () => {
    loop = await createLoop(createSqliteStorage, [gate("notify")]);
    await loop.handle({ bucket: "b", public: true });
    loop.clock.advance(15 * MINUTE);
    expect((await loop.review.tick()).expired).toHaveLength(1);
    expect((await loop.handle({ bucket: "b", public: true, exposed: true })).decision.verdict).toBe("deny");
  });
});
