import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acceptProposal, getProposal, mineProposals, PROPOSALS_COLLECTION, type Proposal } from "../../src/learn/proposals.js";
import { approvers, createHarness, publicBucketPolicy, type Harness } from "./support.js";

// A person accepts a proposed change after a replay shows its effect (docs/learning.md, "Proposals").
let h: Harness;
beforeEach(async () => {
  h = await createHarness(publicBucketPolicy());
});
afterEach(async () => {
  await h.dispose();
});

const deps = () => ({ storage: h.store.storage, clock: h.clock });
const mine = () => mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });

describe("proposals carry replay evidence, and are accepted only with it", () => {
  it("an exception to every rule of the policy, created twice, is proposed with the replay of its effect", async () => {
    for (const bucket of ["www-a", "www-b", "data-1"]) await h.record({ bucket, acl: "public-read" }, { subject: `bucket/${bucket}` });
    const expiresAt = new Date(h.clock.now().getTime() + 7 * 86_400_000).toISOString();
    for (let i = 0; i < 2; i++) await h.review.exceptions.create({ policies: ["public-bucket"], subjects: ["bucket/www-*"], justification: "public website buckets", expiresAt }, approvers[i] as never);
    const [proposal] = await mine();
    expect(proposal?.rule).toBeUndefined();
    expect(proposal?.replay).toMatchObject({ decisions: 3, recordedViolations: 3, reproduced: 3, violationsBefore: 3, violationsAfter: 1, changed: 2, changedUnlabelled: 2 });
    expect(await acceptProposal(deps(), proposal?.id as string, approvers[2] as never)).toMatchObject({ status: "accepted" });
  });

  it("a proposal for a policy file without replay evidence is refused, naming the field, and stays open", async () => {
    const at = h.clock.iso();
    const stored: Proposal = {
      id: "PROP-9", status: "open", kind: "add-exception", policy: "public-bucket", revision: "r", createdAt: at, createdBy: "vigil:learner",
      summary: "s", source: { overrides: [], exceptions: ["EX-1", "EX-2"], decisions: [], reasons: [] },
      exception: { name: "learned-all-rules-1", when: "event.subject == \"x\"" }, snippet: "spec: {}\n", file: h.file, fileChecksum: "c", diff: "d", proposedText: "t",
      tests: { generated: 0, passed: 0, failed: 0, failures: [] }, signature: "public-bucket|*|x",
    };
    await h.store.storage.putDocs([{ collection: PROPOSALS_COLLECTION, id: stored.id, value: stored, expectVersion: 0 }], at);
    await expect(acceptProposal(deps(), "PROP-9", approvers[0] as never)).rejects.toMatchObject({ code: "VIGIL_CONFLICT", details: { field: "replay" }, message: expect.stringContaining("no replay evidence") });
    expect((await getProposal(h.store.storage, "PROP-9")).status).toBe("open");
  });
});
