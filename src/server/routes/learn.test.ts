import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createManualClock, type ManualClock } from "../../agent.js";
import type { Decision } from "../../core/decision.js";
import { HEAD_ID, LEARN_COLLECTION, PROPOSALS_COLLECTION, versionId, type Proposal } from "../../learn/index.js";
import { startTestServer, type TestServer } from "../../../test/server/support.js";

/** Night logins of batch accounts: noisy, notify by default, may go down to observe. */
const noisyPolicy = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: night-login }
spec:
  on: [dev.vigil.decide]
  rules:
    - name: at-night
      condition: input.hour < 6
      message: "login at {{ input.hour }}h by {{ input.team }}"
      severity: medium
      effect: warn
  enforcement: { tier: notify, floor: observe, ceiling: approve }
`;

/** A deny policy still in shadow mode. */
const shadowPolicy = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: big-export }
spec:
  on: [dev.vigil.decide]
  rules:
    - name: too-big
      condition: input.rows > 1000
      message: "export of {{ input.rows }} rows"
      severity: high
      effect: deny
  enforcement: { mode: shadow }
`;

let t: TestServer;
let clock: ManualClock;
let second: string;
let n = 0;

beforeAll(async () => {
  clock = createManualClock("2025-03-03T10:00:00Z");
  t = await startTestServer({ files: { "night.yaml": noisyPolicy, "export.yaml": shadowPolicy }, config: { learn: { proposalsIntervalMs: 60_000 } }, agent: { clock } });
  second = (await t.agent.tokens.create({ name: "second-approver", roles: ["approver"] }, "test")).token;
});

afterAll(async () => {
  await t.close();
});

/** Decides and records one request of `subject` (a recorded, enforced decision). */
async function decide(subject: string, data: Record<string, unknown>): Promise<Decision> {
  n++;
  clock.advance(60_000);
  return (await t.agent.decideEvent({ specversion: "1.0", id: `e-${n}`, source: "test", type: "dev.vigil.decide", subject, time: clock.now().toISOString(), data })) as Decision;
}

const feedback = (token: string, payload: Record<string, unknown>) => t.server.app.inject({ method: "POST", url: "/v1/feedback", headers: { authorization: `Bearer ${token}` }, payload });

describe("learning API", () => {
  it("GET /v1/learn before anything is learned", async () => {
    const body = (await t.as("viewer", { method: "GET", url: "/v1/learn" })).json();
    expect(body).toMatchObject({ enabled: true, leader: true, inUse: null, stored: { status: "none" }, entries: [] });
    expect(body.schedule).toMatchObject({ updateIntervalMs: 3_600_000, proposalsIntervalMs: 60_000 });
  });

  it("POST /v1/feedback refuses a wrong role, an unknown label and an unknown decision, changing nothing; records who", async () => {
    // A decision without a violation: its label is recorded but teaches nothing (no finding to learn about).
    const decision = await decide("svc/probe", { hour: 12, team: "probe" });
    expect((await t.as("viewer", { method: "POST", url: "/v1/feedback", payload: { decisionId: decision.id, label: "false_positive" } })).statusCode).toBe(403);
    const badLabel = await t.as("approver", { method: "POST", url: "/v1/feedback", payload: { decisionId: decision.id, label: "meh" } });
    expect(badLabel.statusCode).toBe(400);
    expect(badLabel.json().error.field).toBe("label");
    const unknown = await t.as("approver", { method: "POST", url: "/v1/feedback", payload: { decisionId: "no-such-decision", label: "false_positive" } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatchObject({ code: "VIGIL_NOT_FOUND", field: "decisionId" });
    expect((await t.as("viewer", { method: "GET", url: "/v1/feedback" })).json().feedback).toEqual([]);
    const given = await t.as("approver", { method: "POST", url: "/v1/feedback", payload: { decisionId: decision.id, label: "true_positive", reason: "probe is real" } });
    expect(given.statusCode).toBe(201);
    expect(given.json()).toMatchObject({ decisionId: decision.id, label: "true_positive", by: "approver-token", via: "api", reason: "probe is real" });
  });

  it("an update learned from two approvers lowers the tier of that entity's later decisions, cited; reset returns to the declared tier", async () => {
    for (let i = 0; i < 10; i++) {
      const decision = await decide("svc/batch", { hour: 2, team: "batch" });
      expect(decision.tier).toBe("notify");
      expect(decision.labels?.["learn.bucket"]).toBeDefined();
      expect((await feedback(i % 2 === 0 ? t.tokens.approver : second, { decisionId: decision.id, label: "false_positive", reason: "nightly batch" })).statusCode).toBe(201);
    }
    expect((await t.as("viewer", { method: "POST", url: "/v1/learn/update", payload: {} })).statusCode).toBe(403);
    const updated = await t.as("approver", { method: "POST", url: "/v1/learn/update", payload: { reason: "after the batch review" } });
    expect(updated.statusCode).toBe(200);
    expect(updated.json().state).toMatchObject({ version: 1, kind: "update", createdBy: "approver-token", reason: "after the batch review", reviewers: 2 });
    expect(updated.json().state.lessons.lowering).toBeGreaterThanOrEqual(1);

    const later = await decide("svc/batch", { hour: 1, team: "batch" });
    expect(later.tier).toBe("observe");
    const step = later.explanation.steps.find((s) => s.kind === "learning");
    expect(step?.text).toMatch(/^night-login\/at-night \[.*\]: risk lowered by [\d.]+, tier shifted -1 \(within floor\.\.ceiling\): 10 of 10 similar findings for .*svc\/batch were marked false positive by 2 reviewers$/);
    // Another entity in the same bucket keeps the declared tier (an entity's lesson is its own).
    expect((await decide("svc/other", { hour: 1, team: "other" })).tier).toBe("notify");

    const shown = (await t.as("viewer", { method: "GET", url: "/v1/learn?policy=night-login" })).json();
    expect(shown.inUse).toMatchObject({ version: 1, feedbackUsed: 10 });
    expect(shown.stored).toEqual({ status: "ok", version: 1, checksumOk: true });
    expect(shown.inUse.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(shown.entries).toContainEqual(expect.objectContaining({ policy: "night-login", rule: "at-night", scope: "entity", tierShift: -1, citation: expect.stringContaining("10 of 10 similar findings") }));

    const reset = await t.as("approver", { method: "POST", url: "/v1/learn/reset", payload: { reason: "policy rewritten" } });
    expect(reset.statusCode).toBe(200);
    expect(reset.json()).toMatchObject({ version: 2, parent: 1, kind: "reset", createdBy: "approver-token", lessons: { slices: 0 } });
    expect((await decide("svc/batch", { hour: 1, team: "batch" })).tier).toBe("notify");
    const audit = (await t.as("admin", { method: "GET", url: "/v1/audit?limit=1000" })).json().entries as { actor: string; action: string }[];
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ actor: "approver-token", action: "learn.update" }), expect.objectContaining({ actor: "approver-token", action: "learn.reset" })]));
  });

  it("GET /v1/learn reports a stored state modified outside Vigil as corrupt", async () => {
    const head = await t.agent.storage.getDoc<{ version: number }>(LEARN_COLLECTION, HEAD_ID);
    const id = versionId(head?.value.version ?? 0);
    const doc = await t.agent.storage.getDoc<{ state: Record<string, unknown>; checksum: string }>(LEARN_COLLECTION, id);
    await t.agent.storage.putDocs([{ collection: LEARN_COLLECTION, id, value: { ...doc?.value, state: { ...doc?.value.state, reason: "edited by hand" } } }], clock.now().toISOString());
    const shown = (await t.as("viewer", { method: "GET", url: "/v1/learn" })).json();
    expect(shown.stored).toMatchObject({ status: "corrupt", version: 2, checksumOk: false, problem: expect.stringContaining("fails its checksum") });
    // The state in use is the verified one this process loaded; an update writes a fresh version.
    expect(shown.inUse).toMatchObject({ version: 2 });
    expect((await t.as("approver", { method: "POST", url: "/v1/learn/update", payload: {} })).json().state).toMatchObject({ version: 3, parent: 2 });
    expect((await t.as("viewer", { method: "GET", url: "/v1/learn" })).json().stored).toEqual({ status: "ok", version: 3, checksumOk: true });
  });

  it("shadow figures: GET /v1/policies/:name/shadow, and the promotion answers with them", async () => {
    for (const rows of [5000, 20, 7000]) {
      const decision = await decide("svc/export", { rows, hour: 12 });
      expect(decision.verdict).toBe("allow"); // shadow mode: recorded, never enforced
    }
    const figures = await t.as("viewer", { method: "GET", url: "/v1/policies/big-export/shadow" });
    expect(figures.statusCode).toBe(200);
    expect(figures.json()).toMatchObject({ policy: "big-export", declaredMode: "shadow", violations: 2, wouldChange: 2, wouldDeny: 2 });
    expect((await t.as("viewer", { method: "GET", url: "/v1/policies/nope/shadow" })).statusCode).toBe(404);
    const promoted = await t.as("approver", { method: "POST", url: "/v1/policies/big-export/promote", payload: { reason: "two weeks in shadow" } });
    expect(promoted.statusCode).toBe(200);
    expect(promoted.json()).toMatchObject({ name: "big-export", mode: "enforce", shadow: { declaredMode: "shadow", wouldDeny: 2 } });
    expect((await decide("svc/export", { rows: 9000, hour: 12 })).verdict).toBe("deny");
  });

  it("proposals: mined on the leader's schedule from repeated overrides, listed, shown, accepted next to the policy (never edited), rejected", async () => {
    for (let i = 0; i < 4; i++) {
      const decision = await decide(`svc/etl-${i}`, { hour: 4, team: "etl" });
      expect((await t.as("approver", { method: "POST", url: "/v1/overrides", payload: { decisionId: decision.id, scope: "once", reason: "etl runs at night" } })).statusCode).toBe(201);
    }
    clock.advance(60_000);
    const ticked = await t.agent.learning.tick();
    expect(ticked.proposals?.length).toBe(1);
    const list = (await t.as("viewer", { method: "GET", url: "/v1/proposals" })).json().proposals as Proposal[];
    expect(list).toHaveLength(1);
    const proposal = list[0] as Proposal;
    expect(proposal).toMatchObject({ status: "open", policy: "night-login", rule: "at-night" });
    expect(proposal.exception.when).toContain("etl");
    expect((await t.as("viewer", { method: "GET", url: `/v1/proposals/${proposal.id}` })).json().diff).toContain("+");
    expect((await t.as("viewer", { method: "GET", url: "/v1/proposals/PROP-404" })).statusCode).toBe(404);
    const before = readFileSync(proposal.file as string, "utf8");
    const accepted = await t.as("approver", { method: "POST", url: `/v1/proposals/${proposal.id}/accept`, payload: { note: "looks right" } });
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toMatchObject({ status: "accepted", decidedBy: "approver-token", note: "looks right" });
    expect(existsSync(`${proposal.file}.${proposal.id}.proposed`) && existsSync(`${proposal.file}.${proposal.id}.patch`)).toBe(true);
    expect(readFileSync(proposal.file as string, "utf8")).toBe(before);
    expect((await t.as("approver", { method: "POST", url: `/v1/proposals/${proposal.id}/reject`, payload: { reason: "changed my mind" } })).statusCode).toBe(409);
    // Another open proposal (a copy under a new id): reject needs a reason, and records who.
    await t.agent.storage.putDocs([{ collection: PROPOSALS_COLLECTION, id: "PROP-99", value: { ...proposal, id: "PROP-99", signature: "copy" } }], clock.now().toISOString());
    expect((await t.as("approver", { method: "POST", url: "/v1/proposals/PROP-99/reject", payload: {} })).statusCode).toBe(400);
    const rejected = await t.as("approver", { method: "POST", url: "/v1/proposals/PROP-99/reject", payload: { reason: "not for etl" } });
    expect(rejected.json()).toMatchObject({ id: "PROP-99", status: "rejected", decidedBy: "approver-token", note: "not for etl" });
    expect((await t.as("viewer", { method: "GET", url: "/v1/proposals?status=all" })).json().proposals.map((p: Proposal) => p.status).sort()).toEqual(["accepted", "rejected"]);
  });
});
