import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { recordFeedback } from "../../src/learn/feedback.js";
import { createLearner } from "../../src/learn/learner.js";
import { mineProposals } from "../../src/learn/proposals.js";
import { approvers, createHarness, publicBucketPolicy, type Harness } from "./support.js";

// The miner reads feedback as the learner does: each person's latest label per decision, since the last reset.
let h: Harness;
beforeEach(async () => {
  // Its own test case keeps the rule's condition from being proposed (no other violation is recorded).
  h = await createHarness(`${publicBucketPolicy()}  tests:
    - name: a public data bucket is denied
      input: { bucket: b, acl: public-read, owner: data }
      expect: { violations: [no-public] }
`);
});
afterEach(async () => {
  await h.dispose();
});

const deps = () => ({ storage: h.store.storage, clock: h.clock });
const mine = () => mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });

/** Four overridden websites: four distinct buckets and subjects, so only owner or website can be the condition. */
async function overrideWebsites(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const decision = await h.record({ bucket: `site-${i}`, acl: "public-read", owner: "web", website: true }, { subject: `bucket/site-${i}` });
    await h.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "static website, public on purpose" }, approvers[i % 3] as never);
  }
}

/** A violation sharing owner and website with the overridden ones. */
const twin = () => h.record({ bucket: "site-x", acl: "public-read", owner: "web", website: true }, { subject: "bucket/site-x" });

describe("mineProposals reads feedback as the learner does", () => {
  it("a confirmation its author later corrected to false positive no longer blocks the condition", async () => {
    const decision = await twin();
    await recordFeedback(deps(), { decisionId: decision.id, label: "true_positive" }, approvers[0] as never);
    h.clock.advance(60_000);
    // The same person, another spelling of the name: one person, whose latest label counts.
    await recordFeedback(deps(), { decisionId: decision.id, label: "false_positive", reason: "it is a website too" }, { id: " ANN ", roles: ["approver"] } as never);
    await overrideWebsites();
    const [proposal] = await mine();
    expect(proposal?.exception.when).toMatch(/input\.(owner|website)/);
    expect(proposal?.diff).not.toContain(`still violated like decision ${decision.id}`);
  });

  it("a later confirmation still blocks it (the latest label counts, either way)", async () => {
    const decision = await twin();
    await recordFeedback(deps(), { decisionId: decision.id, label: "false_positive" }, approvers[0] as never);
    h.clock.advance(60_000);
    await recordFeedback(deps(), { decisionId: decision.id, label: "incident" }, approvers[0] as never);
    await overrideWebsites();
    expect(await mine()).toEqual([]);
  });

  it("feedback a reset of learned state discarded is not mined", async () => {
    const decision = await twin();
    await recordFeedback(deps(), { decisionId: decision.id, label: "incident" }, approvers[0] as never);
    h.clock.advance(60_000);
    await createLearner(deps()).reset(approvers[1] as never, "start over");
    h.clock.advance(60_000);
    await overrideWebsites();
    const [proposal] = await mine();
    expect(proposal?.exception.when).toMatch(/input\.(owner|website)/);
  });
});

describe("mineProposals honours a reset of learned state for overrides too", () => {
  it("overrides made before the reset are not mined; those made after it are", async () => {
    await overrideWebsites();
    h.clock.advance(60_000);
    await createLearner(deps()).reset(approvers[1] as never, "start over");
    h.clock.advance(60_000);
    expect(await mine()).toEqual([]);
    const before = new Set((await h.review.overrides.list()).map((o) => o.id));
    await overrideWebsites();
    const [proposal] = await mine();
    expect(proposal?.source.overrides).toHaveLength(4);
    expect(proposal?.source.overrides.some((id) => before.has(id))).toBe(false);
  });
});
