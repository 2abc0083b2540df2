import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import { startFakeKubernetesApi } from "../context/kubernetes/api-test-server.js";
import type { Event } from "../core/event.js";
import { MAX_NESTING_DEPTH } from "../sources/values.js";
import { openStorage } from "./adapters.js";
import { createManualClock } from "./clock.js";
import { decisionIdFor } from "./decision-id.js";
import { createPolicyCatalog, loadPolicySet } from "./policies.js";
import { createAgent, type Agent } from "./runtime.js";

const shadowPolicy = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: big-transfer }
spec:
  on: [com.example.transfer]
  rules:
    - name: too-big
      condition: input.amount > 1000
      message: "transfer of {{ input.amount }}"
      severity: high
      effect: deny
  enforcement: { mode: shadow }
`;

let agent: Agent | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
});

async function open(policy = shadowPolicy): Promise<Agent> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-agent-"));
  writeFileSync(join(dir, "p.yaml"), policy);
  agent = await createAgent(parseConfig({ policies: [join(dir, "p.yaml")], store: { path: join(dir, "v.db") } }), { clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: () => undefined });
  return agent;
}

const transfer = (id: string, amount: number): Event => ({ specversion: "1.0", id, source: "/bank", type: "com.example.transfer", data: { amount } });

describe("agent runtime", () => {
  it("records one decision per event even when a batch is processed twice", async () => {
    const a = await open();
    const { stored } = await a.storage.appendEvents([transfer("t-1", 5), transfer("t-2", 5000)], "2025-03-03T10:00:00Z");
    const first = await a.pipeline.processBatch(stored);
    expect(first.map((d) => d.id)).toEqual(stored.map((s) => decisionIdFor(s.event)));
    const second = await a.pipeline.processBatch(stored);
    expect(second).toEqual([]);
    expect(await a.storage.listDecisions({ limit: 10 })).toHaveLength(2);
  });

  it("records the decision of an event nested as deeply as the sources accept (MAX_NESTING_DEPTH), not only up to the record's old 1000 levels", async () => {
    const a = await open();
    let data: unknown = { amount: 5 };
    for (let level = 0; level < MAX_NESTING_DEPTH - 1; level++) data = { nested: data };
    const event: Event = { ...transfer("deep-1", 5), data };
    const { stored } = await a.storage.appendEvents([event], "2025-03-03T10:00:00Z");
    const decided = await a.pipeline.processBatch(stored);
    expect(decided.map((d) => d.id)).toEqual([decisionIdFor(event)]);
    expect(await a.storage.getDecision(decisionIdFor(event))).toBeDefined();
  });

  it("runs a shadow policy unenforced until promoted for its revision, then enforces it", async () => {
    const a = await open();
    const before = await a.decideEvent(transfer("s-1", 5000));
    expect(before).toMatchObject({ verdict: "allow", tier: "observe" });
    const [state] = await a.policyStates();
    expect(state).toMatchObject({ name: "big-transfer", mode: "shadow", declared: { mode: "shadow" } });
    await expect(a.promotePolicy("big-transfer", { id: "ops", roles: ["operator"] })).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    const promoted = await a.promotePolicy("big-transfer", { id: "alice", roles: ["approver"] }, "reviewed");
    expect(promoted).toMatchObject({ mode: "enforce", promotion: { by: "alice", revision: state?.revision } });
    const after = await a.decideEvent(transfer("s-2", 5000));
    expect(after).toMatchObject({ verdict: "deny", tier: "block" });
    await expect(a.promotePolicy("big-transfer", { id: "alice", roles: ["approver"] })).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
    await expect(a.promotePolicy("nope", { id: "alice", roles: ["approver"] })).rejects.toMatchObject({ code: "VIGIL_NOT_FOUND" });
    expect(await a.storage.listAudit({ limit: 20 })).toContainEqual(expect.objectContaining({ actor: "alice", action: "policy.promote-shadow", target: "big-transfer" }));
  });

  it("refuses to promote a policy out of shadow or dry-run for Vigil's own identities (vigil:*)", async () => {
    const a = await open();
    const err = await a.promotePolicy("big-transfer", { id: "vigil:learner", roles: ["approver", "admin"] }, "learned it is fine").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" } });
    expect((err as Error).message).toContain("vigil:learner may not promote policy big-transfer");
    const [state] = await a.policyStates();
    expect(state).toMatchObject({ mode: "shadow", dryRun: true });
    expect(await a.decideEvent(transfer("s-3", 5000))).toMatchObject({ verdict: "allow", tier: "observe" });
    expect((await a.storage.listAudit({ limit: 20 })).filter((e) => e.action.startsWith("policy.promote"))).toEqual([]);
  });

  it("the catalog's promoteShadow refuses Vigil's own identities itself, whatever path calls it (vigil policies promote --direct)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-catalog-"));
    writeFileSync(join(dir, "p.yaml"), shadowPolicy);
    const storage = await openStorage(parseConfig({ store: { path: ":memory:" } }));
    try {
      const { policySet, load, env } = loadPolicySet([join(dir, "p.yaml")]);
      const catalog = createPolicyCatalog({ policySet, env, loadErrors: load.errors, storage, clock: createManualClock("2025-03-03T10:00:00Z") });
      await catalog.refresh();
      for (const id of ["vigil:learner", " Vigil:Escalation"]) {
        await expect(catalog.promoteShadow("big-transfer", id, "learned")).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" } });
      }
      expect(catalog.summary("big-transfer")).toMatchObject({ mode: "shadow" });
      expect(await storage.listAudit({ limit: 10 })).toEqual([]);
      expect(await catalog.promoteShadow("big-transfer", "alice", "reviewed")).toMatchObject({ mode: "enforce" });
    } finally {
      await storage.close();
    }
  });

  it("a changed policy file (new revision) starts in shadow again", async () => {
    const a = await open();
    await a.promotePolicy("big-transfer", { id: "alice", roles: ["approver"] });
    const config = a.config;
    await a.close();
    const dir = join(config.policies[0] as string, "..");
    writeFileSync(join(dir, "p.yaml"), shadowPolicy.replace("1000", "2000"));
    agent = await createAgent(config, { clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: () => undefined });
    expect((await agent.policyStates())[0]).toMatchObject({ mode: "shadow" });
  });

  it("dry-run decide requests are recorded as not enforced; feedback events with bad data are reported, not thrown", async () => {
    const problems: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), "vigil-agent-"));
    agent = await createAgent(parseConfig({ policies: [], store: { path: join(dir, "v.db") } }), { clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: (m) => problems.push(m) });
    const dry = await agent.decide({ a: 1 }, { enforced: false });
    expect(dry.enforced).toBe(false);
    expect("seq" in dry).toBe(true);
    await agent.start();
    await agent.ingest([{ specversion: "1.0", id: "fb-1", source: "/t", type: "dev.vigil.feedback", data: { decisionId: dry.id, label: "maybe", by: "x" } }]);
    await agent.ingestor.idle();
    expect(problems.join("\n")).toMatch(/feedback event fb-1 not recorded: data\.label must be one of/);
    expect(await agent.storage.listDecisions({ eventId: "fb-1" })).toHaveLength(1);
  });

  it("a feedback event naming a token holder counts only the tokens still in force, by time and not by how the expiry was written", async () => {
    const clock = createManualClock("2025-03-03T04:00:00Z");
    const dir = mkdtempSync(join(tmpdir(), "vigil-agent-"));
    writeFileSync(join(dir, "p.yaml"), shadowPolicy);
    agent = await createAgent(parseConfig({ policies: [join(dir, "p.yaml")], store: { path: join(dir, "v.db") } }), { clock, onProblem: () => undefined });
    // vic was an approver until 07:00 UTC (written with an offset) and until 10:00 UTC exactly; a viewer since.
    await agent.tokens.create({ name: "vic", roles: ["approver"], expiresAt: "2025-03-03T12:00:00+05:00" }, "admin");
    await agent.tokens.create({ name: "vic", roles: ["approver"], expiresAt: "2025-03-03T10:00:00Z" }, "admin");
    await agent.tokens.create({ name: "vic", roles: ["viewer"] }, "admin");
    const decision = await agent.decideEvent(transfer("f-1", 5000));
    const feedback = (id: string): Event => ({ specversion: "1.0", id, source: "/t", type: "dev.vigil.feedback", data: { decisionId: decision.id, label: "false_positive", by: "vic" } });
    clock.set("2025-03-03T10:00:00Z");
    await expect(agent.feedback.recordEvent(feedback("fb-1"))).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
    expect(await agent.storage.listDocs("feedback", { limit: 10 })).toEqual([]);
  });

  it("the scheduler runs one tick at a time, and close() waits for the tick in flight before closing the store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-agent-"));
    const problems: string[] = [];
    const a = await createAgent(parseConfig({ policies: [], store: { path: join(dir, "v.db") }, scheduler: { tickMs: 5 } }), { clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: (m, e) => problems.push(`${m}: ${e instanceof Error ? e.message : ""}`) });
    agent = a;
    // A tick that takes longer than the interval (a slow store, a sweep waiting for room in the queue).
    const tick = a.tick.bind(a);
    let active = 0;
    let most = 0;
    let ticks = 0;
    Object.assign(a, {
      tick: async () => {
        active++;
        ticks++;
        most = Math.max(most, active);
        try {
          await new Promise((resolve) => setTimeout(resolve, 40));
          await tick();
        } finally {
          active--;
        }
      },
    });
    await a.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await a.close();
    agent = undefined;
    expect(ticks).toBeGreaterThan(0);
    expect(most).toBe(1);
    expect(active).toBe(0);
    expect(problems).toEqual([]);
  });

  it("a start that fails on a bad setting closes what it had opened (the cluster watch, the store), so the process can exit", async () => {
    const api = await startFakeKubernetesApi({ namespaces: [{ metadata: { name: "default" } }] });
    try {
      const dir = mkdtempSync(join(tmpdir(), "vigil-agent-"));
      const config = parseConfig({ policies: [], store: { path: join(dir, "v.db") }, admission: { cluster: { server: api.url } }, learn: { settings: { agreement: 3 } } });
      await expect(createAgent(config, { clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: () => undefined })).rejects.toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "learn.settings.agreement" } });
      for (let i = 0; i < 50 && api.watching() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(api.watching()).toBe(0);
    } finally {
      await api.close();
    }
  });
});
