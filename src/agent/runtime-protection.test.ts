/**
 * The running agent's actions: protection is judged against the entity store when an approved
 * action finally runs (an entity labelled protected after its action was planned is never acted
 * on), and a decision that is not recorded acts on nothing.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createFakeActuators, type FakeActuators } from "../act/test-support.js";
import { parseConfig } from "../config.js";
import type { Event } from "../core/event.js";
import { createManualClock } from "./clock.js";
import { createAgent, type Agent } from "./runtime.js";

/** Approve tier; its action sets the state of the database entity, which the event does not name. */
const resetPolicy = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: reset-db }
spec:
  on: [com.example.change]
  rules:
    - name: bad-change
      condition: input.bad == true
      message: bad change
      severity: medium
      effect: deny
  remediation:
    - action: fake.set-state
      target: '{"kind": "resource", "id": "db-1"}'
      params: { value: reset }
  enforcement: { tier: approve, floor: approve, ceiling: approve }
`;

const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.close();
});

/** An agent on a new store, or on the store of `dir` (a second process on the same database). */
async function open(policy = resetPolicy, dir = mkdtempSync(join(tmpdir(), "vigil-agent-"))): Promise<{ agent: Agent; fake: FakeActuators; dir: string }> {
  writeFileSync(join(dir, "p.yaml"), policy);
  const clock = createManualClock("2025-03-03T10:00:00Z");
  const fake = createFakeActuators(clock);
  const agent = await createAgent(parseConfig({ policies: [join(dir, "p.yaml")], store: { path: join(dir, "v.db") }, act: { requirePromotion: false } }), { clock, actuators: fake.actuators, onProblem: () => undefined });
  agents.push(agent);
  return { agent, fake, dir };
}

const change = (id: string): Event => ({ specversion: "1.0", id, source: "/ops", type: "com.example.change", time: "2025-03-03T10:00:00Z", data: { bad: true } });
const approver = { id: "ann", roles: ["approver" as const] };

describe("agent runtime: protection at approval", () => {
  it("an action planned for approval whose target is labelled protected in the entity store since is recorded blocked when approved, never applied", async () => {
    const { agent: a, fake } = await open();
    // Known and unprotected when the action is planned.
    await a.context.entities.upsert({ kind: "resource", id: "db-1", attrs: { owner: "team-db" } }, "ops");
    const decision = await a.decideEvent(change("c-1"));
    expect(decision.actions?.map((p) => p.target)).toEqual([{ kind: "resource", id: "db-1" }]);
    const [pending] = await a.executor.listActions({ decisionId: decision.id });
    expect(pending?.status).toBe("pending-approval");
    await a.context.entities.upsert({ kind: "resource", id: "db-1", attrs: { labels: { "vigil.dev/protected": "true" } } }, "ops");
    const [review] = await a.reviews.list({});
    const approved = await a.reviews.approve(review?.id ?? "", approver, "looks fine");
    expect(approved.actions.map((r) => [r.status, r.blockedBy, r.reason])).toEqual([["blocked", "protected", "target db-1 is protected (label vigil.dev/protected=true): never acted on"]]);
    expect(fake.calls).toEqual([]);
    expect(fake.state.has("db-1")).toBe(false);
    expect((await a.executor.getAction(pending?.id ?? ""))?.status).toBe("blocked");
  });

  it("a label set through another process on the same store (the api process, while this one holds the entity in memory) is seen when the approval runs", async () => {
    const { agent: worker, fake, dir } = await open();
    await worker.context.entities.upsert({ kind: "resource", id: "db-1", attrs: { owner: "team-db" } }, "ops");
    await worker.decideEvent(change("c-3"));
    const { agent: api } = await open(resetPolicy, dir);
    await api.context.entities.upsert({ kind: "resource", id: "db-1", attrs: { labels: { "vigil.dev/protected": "true" } } }, "ops");
    const [review] = await worker.reviews.list({});
    const approved = await worker.reviews.approve(review?.id ?? "", approver, "looks fine");
    expect(approved.actions.map((r) => [r.status, r.blockedBy])).toEqual([["blocked", "protected"]]);
    expect(fake.calls).toEqual([]);
  });

  it("the same approval runs when the entity stays unprotected", async () => {
    const { agent: a, fake } = await open();
    await a.context.entities.upsert({ kind: "resource", id: "db-1", attrs: { owner: "team-db" } }, "ops");
    await a.decideEvent(change("c-2"));
    const [review] = await a.reviews.list({});
    const approved = await a.reviews.approve(review?.id ?? "", approver, "looks fine");
    expect(approved.actions.map((r) => r.status)).toEqual(["applied"]);
    expect(fake.state.get("db-1")).toBe("reset");
  });
});

describe("agent runtime: decisions that are not recorded", () => {
  it("decideEvent with record: false (a preview) applies no action and opens no review; recorded, the same event acts", async () => {
    const { agent: a, fake } = await open(resetPolicy.replace("enforcement: { tier: approve, floor: approve, ceiling: approve }", "enforcement: { tier: remediate, floor: remediate, ceiling: remediate }"));
    const preview = await a.decideEvent(change("p-1"), { record: false });
    expect([preview.verdict, preview.tier, preview.enforced]).toEqual(["deny", "remediate", false]);
    expect(fake.calls).toEqual([]);
    expect(await a.executor.listActions({})).toEqual([]);
    expect(await a.reviews.list({})).toEqual([]);
    const recorded = await a.decideEvent(change("p-2"));
    expect(recorded.enforced).toBe(true);
    expect((await a.executor.listActions({ decisionId: recorded.id })).map((r) => r.status)).toEqual(["applied"]);
    expect(fake.state.get("db-1")).toBe("reset");
  });
});
