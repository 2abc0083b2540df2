import { existsSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acceptProposal, getProposal, mineProposals, rejectProposal } from "../../src/learn/proposals.js";
import { ESCALATION_ACTOR } from "../../src/review/context.js";
import { storeOverride } from "../../src/review/overrides.js";
import { approvers, createHarness, publicBucketPolicy, type Harness } from "./support.js";

const policy = publicBucketPolicy();

let h: Harness;
beforeEach(async () => {
  h = await createHarness(policy);
});
afterEach(async () => {
  await h.dispose();
});

describe("proposals are mined from people's overrides only", () => {
  it("overrides made by Vigil itself (the escalation ladder's safe default on expired reviews) are not mined into a proposal", async () => {
    const deps = { storage: h.store.storage, clock: h.clock, policy: (n: string) => h.set.get(n), settings: {} } as never;
    for (let i = 0; i < 4; i++) {
      const decision = await h.record({ bucket: `site-${i}`, acl: "public-read", owner: "web" }, { subject: `bucket/site-${i}` });
      // What review's allowRetry stores when a review expires with a safe default below approve.
      await storeOverride(deps, { decisionId: decision.id, policy: "public-bucket", subject: `bucket/site-${i}`, scope: "once", reason: "expired: safe default notify", by: i % 2 === 0 ? ESCALATION_ACTOR.id : "Vigil:escalation" }, "override.create");
    }
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toEqual([]);

    // The same overrides by people are.
    for (let i = 0; i < 3; i++) {
      const decision = await h.record({ bucket: `www-${i}`, acl: "public-read", owner: "web" }, { subject: `bucket/www-${i}` });
      await h.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "website" }, approvers[i] as never);
    }
    const [proposal] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    expect(proposal?.summary).toContain("3 decisions of public-bucket/no-public were overridden");
    expect(proposal?.source.overrides).toHaveLength(3);
  });

  it("Vigil's own identities may not accept or reject a proposal, whatever role they hold (it proposes; a person accepts)", async () => {
    for (let i = 0; i < 3; i++) {
      const decision = await h.record({ bucket: `www-${i}`, acl: "public-read", owner: "web" }, { subject: `bucket/www-${i}` });
      await h.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "website" }, approvers[i] as never);
    }
    const [proposal] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    const deps = { storage: h.store.storage, clock: h.clock };
    const id = proposal?.id as string;
    await expect(acceptProposal(deps, id, { id: "vigil:learner", roles: ["approver", "admin"] }, { write: true })).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    await expect(acceptProposal(deps, id, { id: "Vigil:escalation", roles: ["approver"] })).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    await expect(rejectProposal(deps, id, { id: "vigil:learner", roles: ["approver"] }, "no")).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    expect((await getProposal(h.store.storage, id)).status).toBe("open");
    expect(existsSync(`${h.file}.${id}.proposed`)).toBe(false);
    expect(await acceptProposal(deps, id, approvers[0] as never)).toMatchObject({ status: "accepted", decidedBy: "ann" });
  });
});
