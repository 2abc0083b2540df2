import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { recordFeedback } from "../../src/learn/feedback.js";
import { mineProposals } from "../../src/learn/proposals.js";
import { approvers, createHarness, publicBucketPolicy, type Harness } from "./support.js";

let h: Harness;
beforeEach(async () => {
  h = await createHarness(publicBucketPolicy());
});
afterEach(async () => {
  await h.dispose();
});

describe("the generated 'still violated' test case", () => {
  it("is never a violation a person marked false positive (it would make the false positive a tested expectation)", async () => {
    for (let i = 0; i < 3; i++) {
      const decision = await h.record({ bucket: `site-${i}`, acl: "public-read", owner: "web" }, { subject: `bucket/site-${i}` });
      await h.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "website" }, approvers[i] as never);
    }
    // Another violation of the rule that a person marked false positive (not overridden), and one nobody labelled.
    // The disputed one is the newest: evidence reads decisions newest first.
    const unlabelled = await h.record({ bucket: "logs", acl: "public-read", owner: "ops" }, { subject: "bucket/logs", id: "unlabelled" });
    const disputed = await h.record({ bucket: "cdn", acl: "public-read", owner: "media" }, { subject: "bucket/cdn", id: "disputed" });
    await recordFeedback({ storage: h.store.storage, clock: h.clock }, { decisionId: disputed.id, label: "false_positive" }, approvers[0] as never);

    const [proposal] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    expect(proposal?.diff).not.toContain(`still violated like decision ${disputed.id}`);
    expect(proposal?.diff).toContain(`still violated like decision ${unlabelled.id}`);
  });
});
