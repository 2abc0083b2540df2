import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadPolicyText } from "../../src/policy/load.js";
import { acceptProposal, listProposals, mineProposals } from "../../src/learn/proposals.js";
import { approvers, createHarness, publicBucketPolicy, type Harness } from "./support.js";

const policy = publicBucketPolicy;

let h: Harness;
beforeEach(async () => {
  h = await createHarness(policy(`input.acl == "public-read"`));
});
afterEach(async () => {
  await h.dispose();
});

describe("proposal evidence is computed on the policy revision the diff applies to", () => {
  it("when the policy file changed since the agent loaded it, the replay's 'before' and the recorded revision are the file's", async () => {
    for (let i = 0; i < 3; i++) {
      const decision = await h.record({ bucket: `site-${i}`, acl: "public-read", owner: "web" }, { subject: `bucket/site-${i}` });
      await h.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "website" }, approvers[i] as never);
    }
    // Someone edits the policy file (not yet reloaded by the agent): web buckets no longer violate it.
    const edited = policy(`input.acl == "public-read" && input.owner != "web"`);
    writeFileSync(h.file, edited);
    const fileRevision = loadPolicyText(edited, h.file).policies[0]?.meta.revision;
    expect(fileRevision).not.toBe(h.set.get("public-bucket")?.meta.revision);

    const [proposal] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    expect(proposal?.revision).toBe(fileRevision);
    expect(proposal?.diff).toContain(` condition: input.acl == "public-read" && input.owner != "web"`); // the diff is against the edited file
    // Against the file the diff applies to, the exception changes nothing: the edit already allows these.
    expect(proposal?.replay).toMatchObject({ decisions: 3, recordedViolations: 3, reproduced: 0, violationsBefore: 0, violationsAfter: 0, changed: 0 });
    expect(proposal?.tests.generated).toBe(0);
  });
});

describe("a proposal whose policy file changed before it was accepted", () => {
  it("is refused when written, and mining again gives it a fresh diff and evidence for the file as it is now, so it can be accepted", async () => {
    for (let i = 0; i < 3; i++) {
      const decision = await h.record({ bucket: `site-${i}`, acl: "public-read", owner: "web" }, { subject: `bucket/site-${i}` });
      await h.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "website" }, approvers[i] as never);
    }
    const [proposal] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    // A person edits the file meanwhile (a new comment line): the stored diff no longer applies to it.
    const edited = `# owned by team-storage\n${policy(`input.acl == "public-read"`)}`;
    writeFileSync(h.file, edited);
    const deps = { storage: h.store.storage, clock: h.clock };
    await expect(acceptProposal(deps, proposal?.id as string, approvers[1] as never, { write: true })).rejects.toMatchObject({ code: "VIGIL_CONFLICT", details: { field: "file" } });

    // What the refusal says to do: mine again.
    const [fresh] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    expect(fresh).toMatchObject({ id: proposal?.id, status: "open", exception: proposal?.exception });
    expect(fresh?.diff).not.toBe(proposal?.diff);
    expect(fresh?.proposedText?.startsWith("# owned by team-storage\n")).toBe(true);
    expect(fresh?.replay).toMatchObject({ changed: 3, changedOverridden: 3 });
    expect(await listProposals(h.store.storage, { status: "open" })).toHaveLength(1);
    const accepted = await acceptProposal(deps, proposal?.id as string, approvers[1] as never, { write: true });
    expect(readFileSync(`${h.file}.${proposal?.id}.proposed`, "utf8")).toBe(fresh?.proposedText);
    expect(accepted.status).toBe("accepted");
    expect(readFileSync(h.file, "utf8")).toBe(edited);
    // Unchanged since: mining again proposes nothing.
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toEqual([]);
  });
});

describe("a policy file whose spec.exceptions is left empty", () => {
  it("is proposed for like one without the key (mining used to fail on it: 'spec.exceptions is not a list')", async () => {
    writeFileSync(h.file, `${policy(`input.acl == "public-read"`)}  exceptions:   # added when needed\n`);
    for (let i = 0; i < 3; i++) {
      const decision = await h.record({ bucket: `site-${i}`, acl: "public-read", owner: "web" }, { subject: `bucket/site-${i}` });
      await h.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "website" }, approvers[i] as never);
    }
    const [proposal] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    expect(proposal?.tests.failures).toEqual([]);
    expect(proposal?.replay).toMatchObject({ changed: 3, changedOverridden: 3 });
    expect(loadPolicyText(proposal?.proposedText as string, h.file).errors).toEqual([]);
  });
});
