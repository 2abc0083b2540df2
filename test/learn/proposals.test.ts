import { existsSync, readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acceptProposal, getProposal, listProposals, mineProposals, rejectProposal } from "../../src/learn/proposals.js";
import { recordFeedback } from "../../src/learn/feedback.js";
import { loadPolicyText } from "../../src/policy/load.js";
import { runInlineTests } from "../../src/policy/vigil/test-runner.js";
import { createExecutor } from "../../src/act/executor.js";
import { createReviewService } from "../../src/review/index.js";
import { approvers, createHarness, type Harness } from "./support.js";

const policy = `# Buckets must not be public.
apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: public-bucket }
spec:
  on: [dev.vigil.decide]
  rules:
    - name: no-public
      condition: input.acl == "public-read"
      message: "bucket {{ input.bucket }} is public"   # keep this comment
      severity: high
  tests:
    - name: a public bucket is denied
      input: { bucket: b, acl: public-read, owner: data }
      expect: { violations: [no-public] }
`;

let h: Harness;
beforeEach(async () => {
  h = await createHarness(policy);
});
afterEach(async () => {
  await h.dispose();
});

async function overrideWebsites(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const decision = await h.record({ bucket: `site-${i}`, acl: "public-read", owner: "web", website: true }, { subject: `bucket/site-${i}` });
    expect(decision.verdict).toBe("deny");
    await h.review.overrides.create({ decisionId: decision.id, scope: "once", reason: "static website, public on purpose" }, approvers[i % 3] as never);
    ids.push(decision.id);
  }
  return ids;
}

describe("proposals from repeated overrides", () => {
  it("proposes an exception clause with a YAML diff, generated tests and replay evidence; never edits the policy", async () => {
    const overridden = await overrideWebsites(4);
    const confirmed = await h.record({ bucket: "payroll", acl: "public-read", owner: "finance" }, { subject: "bucket/payroll" });
    await recordFeedback({ storage: h.store.storage, clock: h.clock }, { decisionId: confirmed.id, label: "true_positive" }, approvers[0] as never);
    await h.record({ bucket: "logs", acl: "public-read", owner: "ops" }, { subject: "bucket/logs" });
    await h.record({ bucket: "private", acl: "private", owner: "web", website: true });

    const created = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    expect(created).toHaveLength(1);
    const proposal = created[0];
    expect(proposal).toMatchObject({ id: "PROP-1", status: "open", policy: "public-bucket", rule: "no-public", kind: "add-exception" });
    // The condition holds for every overridden decision and for no confirmed one.
    expect(["input.owner == \"web\"", "input.website == true"]).toContain(proposal?.exception.when);
    expect([...(proposal?.source.decisions ?? [])].sort()).toEqual([...overridden].sort());
    expect(proposal?.summary).toContain("4 decisions of public-bucket/no-public were overridden");
    expect(proposal?.replay).toMatchObject({ violationsBefore: 6, violationsAfter: 2, changed: 4, changedOverridden: 4, changedConfirmed: 0, changedUnlabelled: 0 });
    expect(proposal?.tests).toMatchObject({ generated: 3, failed: 0, passed: 4 });
    expect(proposal?.diff).toContain("+  exceptions:\n+    - name: learned-no-public-1\n");
    expect(proposal?.diff).toContain("+    - name: \"learned: allowed like the overridden decision");
    expect(proposal?.diff).not.toMatch(/^-(?!--)/m);
    if (process.env["SHOW_DIFF"]) console.log(proposal?.diff); // only additions: comments and formatting kept
    expect(readFileSync(h.file, "utf8")).toBe(policy);

    // The proposed text loads, its tests (old and generated) pass, and the overridden input is allowed.
    const loaded = loadPolicyText(proposal?.proposedText as string, h.file);
    expect(loaded.errors).toEqual([]);
    expect(runInlineTests(loaded.policies).map((r) => r.status)).toEqual(["pass", "pass", "pass", "pass"]);

    // Mining again proposes nothing new.
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toEqual([]);
  });

  it("approvals that allowed retried requests (overrides made by a review) are not mined as votes against the rule", async () => {
    for (let i = 0; i < 4; i++) {
      const decision = await h.record({ bucket: `site-${i}`, acl: "public-read", owner: "web", website: true }, { subject: `bucket/site-${i}` });
      const override = { id: `OV-R${i + 1}`, decisionId: decision.id, policy: "public-bucket", subject: `bucket/site-${i}`, scope: "once", reason: `approved in review RV-${i + 1}`, by: "ann", at: h.clock.now().toISOString(), review: `RV-${i + 1}` };
      await h.store.storage.putDocs([{ collection: "overrides", id: override.id, value: override }], override.at);
    }
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toEqual([]);
    // The same overrides made by people directly are mined.
    await overrideWebsites(3);
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toHaveLength(1);
  });

  it("never proposes a condition the policy's own test cases of the rule meet: that would switch the rule off", async () => {
    // Only overridden violations were recorded: every candidate matches no other one, input.acl == "public-read" (the rule itself) included.
    await overrideWebsites(3);
    const [proposal] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    expect(proposal?.exception.when).not.toContain("input.acl");
    expect(["input.owner == \"web\"", "input.website == true"]).toContain(proposal?.exception.when);
    expect(proposal?.tests).toMatchObject({ failed: 0, failures: [] });
  });

  it("an overridden decision a person confirmed (true positive, incident) is a confirmed violation, not a vote", async () => {
    const ids = await overrideWebsites(4);
    // Allowed once for the launch, but it was a real exposure.
    await recordFeedback({ storage: h.store.storage, clock: h.clock }, { decisionId: ids[3] as string, label: "incident", reason: "customer data leaked" }, approvers[1] as never);
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toEqual([]);
  });

  it("a confirmed violation older than the decisions read for evidence still blocks every condition it shares", async () => {
    const twin = await h.record({ bucket: "site-x", acl: "public-read", owner: "web", website: true }, { subject: "bucket/site-x" });
    await recordFeedback({ storage: h.store.storage, clock: h.clock }, { decisionId: twin.id, label: "incident" }, approvers[2] as never);
    await overrideWebsites(3);
    await h.record({ bucket: "logs", acl: "public-read", owner: "ops" }, { subject: "bucket/logs" });
    // Only the newest 4 decisions are read: the incident is older.
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir], maxDecisions: 4 })).toEqual([]);
  });

  it("overrides still waiting for the two-person rule's second approver are not mined: they never applied", async () => {
    const review = createReviewService({ storage: h.store.storage, clock: h.clock, executor: createExecutor({ storage: h.store.storage, clock: h.clock, actuators: [] }), policy: (n) => h.set.get(n), twoPersonRule: {} });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const decision = await h.record({ bucket: `site-${i}`, acl: "public-read", owner: "web", website: true }, { subject: `bucket/site-${i}` });
      const override = await review.overrides.create({ decisionId: decision.id, scope: "once", reason: "static website, public on purpose" }, approvers[0] as never);
      expect(override.confirmationRequired).toBe(true);
      ids.push(override.id);
    }
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toEqual([]);
    // Once a second, different approver confirmed them, they are people's judgement and are mined.
    for (const id of ids) await review.overrides.confirm(id, approvers[1] as never);
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toHaveLength(1);
  });

  it("accept needs the approver role, writes the proposed file and a patch next to the policy, and records who", async () => {
    await overrideWebsites(3);
    const [proposal] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    const deps = { storage: h.store.storage, clock: h.clock };
    await expect(acceptProposal(deps, proposal?.id as string, { id: "vic", roles: ["viewer"] }, { write: true })).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    expect(existsSync(`${h.file}.${proposal?.id}.proposed`)).toBe(false);
    const accepted = await acceptProposal(deps, proposal?.id as string, approvers[1] as never, { write: true, note: "ok for websites" });
    expect(accepted).toMatchObject({ status: "accepted", decidedBy: "bob", written: [`${h.file}.PROP-1.proposed`, `${h.file}.PROP-1.patch`] });
    expect(readFileSync(`${h.file}.PROP-1.proposed`, "utf8")).toBe(proposal?.proposedText);
    expect(readFileSync(`${h.file}.PROP-1.patch`, "utf8")).toBe(proposal?.diff);
    expect(readFileSync(h.file, "utf8")).toBe(policy);
    await expect(acceptProposal(deps, "PROP-1", approvers[0] as never)).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
    expect((await h.store.storage.listAudit({ limit: 10 })).some((a) => a.action === "proposal.accept" && a.actor === "bob")).toBe(true);
  });

  it("too few overrides propose nothing; a confirmed violation sharing every candidate blocks the proposal", async () => {
    await overrideWebsites(2);
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toEqual([]);
    await overrideWebsites(1);
    // A confirmed incident with the same owner and website flag and subject pattern: no safe condition... except the subject.
    const twin = await h.record({ bucket: "site-x", acl: "public-read", owner: "web", website: true }, { subject: "bucket/site-x" });
    await recordFeedback({ storage: h.store.storage, clock: h.clock }, { decisionId: twin.id, label: "incident" }, approvers[2] as never);
    const [proposal] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    expect(proposal?.exception.when ?? "").not.toMatch(/input\.(owner|website)/);
    expect(proposal?.replay?.changedConfirmed ?? 0).toBe(0);
  });
});

describe("proposals from repeated exceptions", () => {
  it("the same exception created twice becomes a proposal; rejecting it keeps it from coming back", async () => {
    const expiresAt = new Date(h.clock.now().getTime() + 7 * 86_400_000).toISOString();
    for (let i = 0; i < 2; i++) await h.review.exceptions.create({ policies: ["public-bucket"], rules: ["no-public"], subjects: ["bucket/www-*"], justification: "public website buckets", expiresAt }, approvers[0] as never);
    const created = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    expect(created).toHaveLength(1);
    expect(created[0]?.exception).toEqual({ name: "learned-no-public-1", when: 'event.subject.matches("^bucket/www-.*$")', rules: ["no-public"] });
    expect(created[0]?.source.exceptions).toEqual(["EX-1", "EX-2"]);
    const deps = { storage: h.store.storage, clock: h.clock };
    await expect(rejectProposal(deps, "PROP-1", approvers[0] as never, "")).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "reason" } });
    expect((await getProposal(h.store.storage, "PROP-1")).status).toBe("open");
    const rejected = await rejectProposal(deps, "PROP-1", approvers[0] as never, "exceptions expire on purpose here");
    expect(rejected).toMatchObject({ status: "rejected", decidedBy: "ann", note: "exceptions expire on purpose here" });
    await h.review.exceptions.create({ policies: ["public-bucket"], rules: ["no-public"], subjects: ["bucket/www-*"], justification: "public website buckets", expiresAt }, approvers[0] as never);
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toEqual([]);
    expect((await listProposals(h.store.storage, { status: "rejected" })).map((p) => p.id)).toEqual(["PROP-1"]);
  });

  it("an exception naming its rule with a glob becomes a proposal for the rule it covers, which compiles", async () => {
    const expiresAt = new Date(h.clock.now().getTime() + 7 * 86_400_000).toISOString();
    for (let i = 0; i < 2; i++) await h.review.exceptions.create({ policies: ["public-bucket"], rules: ["no-*"], subjects: ["bucket/www-*"], justification: "public website buckets", expiresAt }, approvers[0] as never);
    // A rule the policy does not have: the exception never applied to anything; nothing to propose.
    for (let i = 0; i < 2; i++) await h.review.exceptions.create({ policies: ["public-bucket"], rules: ["no-pubic"], subjects: ["bucket/www-*"], justification: "public website buckets", expiresAt }, approvers[1] as never);
    const created = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    expect(created.map((p) => [p.rule, p.exception])).toEqual([["no-public", { name: "learned-no-public-1", when: 'event.subject.matches("^bucket/www-.*$")', rules: ["no-public"] }]]);
    expect(created[0]?.tests).toMatchObject({ failed: 0, failures: [] });
    expect(loadPolicyText(created[0]?.proposedText as string, h.file).errors).toEqual([]);
  });

  it("exceptions a person revoked are not votes for making them part of the policy", async () => {
    const expiresAt = new Date(h.clock.now().getTime() + 7 * 86_400_000).toISOString();
    const scope = { policies: ["public-bucket"], rules: ["no-public"], subjects: ["bucket/www-*"], justification: "public website buckets", expiresAt };
    for (let i = 0; i < 2; i++) {
      const created = await h.review.exceptions.create(scope, approvers[0] as never);
      await h.review.exceptions.revoke(created.id, approvers[1] as never, "www-* buckets hold customer exports: not a website");
    }
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toEqual([]);
    // One standing exception of that scope besides the revoked ones is not "created again and again" either.
    await h.review.exceptions.create(scope, approvers[0] as never);
    expect(await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] })).toEqual([]);
    // A second one that stands is.
    await h.review.exceptions.create(scope, approvers[2] as never);
    const [proposal] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    expect(proposal?.source.exceptions).toEqual(["EX-3", "EX-4"]);
  });
});

describe("accepting a proposal another person rejects meanwhile", () => {
  it("is refused and leaves no proposed file or patch next to the policy: a rejected change is never offered to git apply", async () => {
    await overrideWebsites(3);
    const [proposal] = await mineProposals({ storage: h.store.storage, clock: h.clock, policySet: h.set, paths: [h.dir] });
    const id = proposal?.id as string;
    const real = h.store.storage;
    let rejected = false;
    // Bob's accept reads the proposal and writes its files; Ann rejects it just before Bob's decision is stored.
    const storage = new Proxy(real, {
      get(target, name, receiver) {
        if (name !== "putDocs") return Reflect.get(target, name, receiver) as unknown;
        return async (...args: Parameters<typeof real.putDocs>) => {
          if (!rejected && args[0].some((w) => w.collection === "learn.proposals" && w.id === id)) {
            rejected = true;
            await rejectProposal({ storage: real, clock: h.clock }, id, approvers[0] as never, "customer exports live in these buckets");
          }
          return target.putDocs(...args);
        };
      },
    });
    await expect(acceptProposal({ storage, clock: h.clock }, id, approvers[1] as never, { write: true })).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
    expect(rejected).toBe(true);
    expect(await getProposal(real, id)).toMatchObject({ status: "rejected", decidedBy: "ann" });
    expect(existsSync(`${h.file}.${id}.proposed`)).toBe(false);
    expect(existsSync(`${h.file}.${id}.patch`)).toBe(false);
    expect(readFileSync(h.file, "utf8")).toBe(policy);
  });
});
