import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import type { Decision } from "../core/decision.js";
import type { Event } from "../core/event.js";
import { HEAD_ID, LEARN_COLLECTION, versionId } from "../learn/index.js";
import { createManualClock, type ManualClock } from "./clock.js";
import { FEEDBACK_COLLECTION } from "./feedback.js";
import { learnerSettingsFrom } from "./learning.js";
import { createAgent, type Agent } from "./runtime.js";
import { labelledFalsePositives, nightLogin, nightLoginPolicy } from "../../test/helpers/learning.js";


const agents: Agent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.close();
});

interface Opened { readonly agent: Agent; readonly problems: string[]; readonly dir: string }

async function open(options: { dir?: string; clock?: ManualClock; learn?: Record<string, unknown> } = {}): Promise<Opened> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "vigil-learning-"));
  writeFileSync(join(dir, "p.yaml"), nightLoginPolicy);
  const problems: string[] = [];
  const agent = await createAgent(parseConfig({ policies: [join(dir, "p.yaml")], store: { path: join(dir, "v.db") }, ...(options.learn ? { learn: options.learn } : {}) }), {
    clock: options.clock ?? createManualClock("2025-03-03T10:00:00Z"), onProblem: (m) => problems.push(m),
  });
  agents.push(agent);
  return { agent, problems, dir };
}

const request = nightLogin;
const labelled = labelledFalsePositives;

describe("learner settings (learn.settings)", () => {
  it("takes known settings and refuses others, naming the key", () => {
    expect(learnerSettingsFrom({ minReviewers: 3, agreement: 0.8, prior: { alpha: 2 }, ignoreActors: ["vigil:*", "bot-*"], halfLifeDays: 0 })).toEqual({ minReviewers: 3, agreement: 0.8, prior: { alpha: 2 }, ignoreActors: ["vigil:*", "bot-*"], halfLifeDays: 0 });
    expect(() => learnerSettingsFrom({ minReviwers: 3 })).toThrow(/learn\.settings\.minReviwers is not a learner setting; use one of prior, credible/);
    // A key that names a built-in of every object (toString) is not a setting either (it was accepted).
    expect(() => learnerSettingsFrom({ toString: 1 })).toThrow(/learn\.settings\.toString is not a learner setting/);
    expect(() => learnerSettingsFrom({ minReviewers: 0 })).toThrow(expect.objectContaining({ code: "VIGIL_BAD_CONFIG", details: expect.objectContaining({ field: "learn.settings.minReviewers" }) }));
    expect(() => learnerSettingsFrom({ agreement: 1.5 })).toThrow(/learn\.settings\.agreement must be a number above 0 and at most 1/);
    expect(() => learnerSettingsFrom({ prior: { gamma: 1 } })).toThrow(/learn\.settings\.prior\.gamma is not part of the prior/);
    expect(() => learnerSettingsFrom({ calibrateDetectors: "yes" })).toThrow(/must be true or false/);
  });

  it("a bad setting stops the agent's start with the key named", async () => {
    await expect(open({ learn: { settings: { maxRiskDelta: 2 } } })).rejects.toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "learn.settings.maxRiskDelta" } });
  });
});

describe("the learner in the running agent", () => {
  it("decisions carry learning labels; an update applies at once to later decisions, with the citation", async () => {
    const { agent } = await open();
    const [first] = await labelled(agent, "svc/batch");
    expect(first?.tier).toBe("notify");
    expect(first?.labels).toMatchObject({ "learn.bucket": "any/any/normal", "learn.entity": "subject/svc/batch" });
    const { state } = await agent.learning.update({ id: "ann", roles: ["approver"] });
    expect(state.entries.find((e) => e.scope === "entity")).toMatchObject({ key: "subject/svc/batch", tierShift: -1 });
    const later = (await agent.decideEvent(request("svc/batch", 3))) as Decision;
    expect(later.tier).toBe("observe");
    expect(later.explanation.steps.find((s) => s.kind === "learning")?.text).toMatch(/risk lowered by [\d.]+, tier shifted -1 .*: 10 of 10 similar findings for subject\/svc\/batch were marked false positive by 2 reviewers/);
    await expect(agent.learning.update({ id: "vic", roles: ["viewer"] })).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN" });
  });

  it("corrupt learned state at start: reported, the agent runs on the declared tiers, the next update writes a fresh version", async () => {
    const { agent, dir } = await open();
    await labelled(agent, "svc/batch");
    await agent.learning.update({ id: "ann", roles: ["approver"] });
    expect(((await agent.decideEvent(request("svc/batch", 3))) as Decision).tier).toBe("observe");
    // Someone edits the stored version outside Vigil (its checksum no longer matches).
    const doc = await agent.storage.getDoc<{ state: { entries: { tierShift?: number }[] }; checksum: string }>(LEARN_COLLECTION, versionId(1));
    const entries = (doc?.value.state.entries ?? []).map((e) => ({ ...e, tierShift: -2 }));
    await agent.storage.putDocs([{ collection: LEARN_COLLECTION, id: versionId(1), value: { ...doc?.value, state: { ...doc?.value.state, entries } } }], "2025-03-03T12:00:00Z");
    await agent.close();
    agents.splice(agents.indexOf(agent), 1);

    const restarted = await open({ dir, clock: createManualClock("2025-03-03T13:00:00Z") });
    expect(restarted.problems.join("\n")).toMatch(/learned state is corrupt, running on the policies' declared tiers .*version 1 fails its checksum/);
    expect(restarted.agent.learner?.loaded.status).toBe("corrupt");
    expect(restarted.agent.learner?.current()).toBeUndefined();
    const declared = (await restarted.agent.decideEvent(request("svc/batch", 3))) as Decision;
    expect(declared.tier).toBe("notify");
    expect(declared.explanation.steps.some((s) => s.kind === "learning")).toBe(false);
    const { state } = await restarted.agent.learning.update({ id: "bob", roles: ["approver"] });
    expect(state).toMatchObject({ version: 2, parent: 1 });
    expect(((await restarted.agent.decideEvent(request("svc/batch", 4))) as Decision).tier).toBe("observe");
  });

  it("a missing version named by the head is reported the same way", async () => {
    const { agent, dir } = await open();
    await labelled(agent, "svc/batch");
    await agent.learning.update({ id: "ann", roles: ["approver"] });
    await agent.storage.deleteDoc(LEARN_COLLECTION, versionId(1));
    expect(await agent.storage.getDoc(LEARN_COLLECTION, HEAD_ID)).toBeDefined();
    await agent.close();
    agents.splice(agents.indexOf(agent), 1);
    const restarted = await open({ dir });
    expect(restarted.problems.join("\n")).toMatch(/learned state is corrupt.*version 1 named by the head is missing/);
    expect(((await restarted.agent.decideEvent(request("svc/batch", 3))) as Decision).tier).toBe("notify");
  });

  it("learn.enabled false: declared tiers, no learning labels, update refused", async () => {
    const { agent } = await open({ learn: { enabled: false } });
    expect(agent.learner).toBeUndefined();
    const decision = (await agent.decideEvent(request("svc/batch", 2))) as Decision;
    expect(decision.labels?.["learn.bucket"]).toBeUndefined();
    await expect(agent.learning.update({ id: "ann", roles: ["approver"] })).rejects.toMatchObject({ code: "VIGIL_CONFLICT", details: { field: "learn.enabled" } });
    expect(await agent.learning.tick()).toEqual({ refreshed: false });
  });
});

describe("the learning schedule", () => {
  it("the leader learns once the interval has passed and feedback arrived since; nothing is written otherwise", async () => {
    const clock = createManualClock("2025-03-03T10:00:00Z");
    const { agent } = await open({ clock, learn: { updateIntervalMs: 3_600_000, refreshIntervalMs: 60_000 } });
    expect(agent.learning.leader).toBe(true);
    clock.advance(3_600_000);
    expect(await agent.learning.tick()).toMatchObject({ refreshed: true, skipped: "no feedback yet" });
    expect(await agent.storage.getDoc(LEARN_COLLECTION, HEAD_ID)).toBeUndefined();
    await labelled(agent, "svc/batch");
    clock.advance(60_000);
    expect((await agent.learning.tick()).updated).toBeUndefined(); // checked a minute ago: waits a full interval
    clock.advance(3_600_000);
    expect(await agent.learning.tick()).toMatchObject({ updated: 1 });
    expect(agent.learner?.current()?.createdBy).toBe("vigil:learner");
    clock.advance(3_600_000);
    expect(await agent.learning.tick()).toMatchObject({ skipped: "no feedback since version 1" });
    await agent.feedback.record({ decisionId: (await agent.storage.listDecisions({ limit: 1 }))[0]?.id as string, label: "true_positive" }, { id: "cai", roles: ["approver"] });
    clock.advance(3_600_000);
    expect(await agent.learning.tick()).toMatchObject({ updated: 2 });
  });

  it("feedback given while (or at the instant) the leader learned a version is learned by the next scheduled update", async () => {
    const clock = createManualClock("2025-03-03T10:00:00Z");
    const { agent } = await open({ clock, learn: { updateIntervalMs: 3_600_000, refreshIntervalMs: 60_000 } });
    await labelled(agent, "svc/batch");
    clock.advance(3_600_000);
    expect(await agent.learning.tick()).toMatchObject({ updated: 1 });
    // Recorded at the version's own time, after it was written: not part of it.
    const [decision] = await agent.storage.listDecisions({ limit: 1 });
    await agent.feedback.record({ decisionId: decision?.id as string, label: "true_positive" }, { id: "cai", roles: ["approver"] });
    expect(agent.learner?.current()?.feedbackUsed).toBe(10);
    clock.advance(3_600_000);
    const next = await agent.learning.tick();
    expect(next).toMatchObject({ updated: 2 });
    expect(agent.learner?.current()?.feedbackUsed).toBe(11);
  });

  it("a process that does not lead only re-reads the version another process wrote", async () => {
    const clock = createManualClock("2025-03-03T10:00:00Z");
    const leader = await open({ clock });
    const follower = await open({ dir: leader.dir, clock, learn: { leader: "never", refreshIntervalMs: 60_000 } });
    expect(follower.agent.learning.leader).toBe(false);
    await labelled(leader.agent, "svc/batch");
    await leader.agent.learning.update({ id: "ann", roles: ["approver"] });
    expect(((await follower.agent.decideEvent(request("svc/batch", 3), { record: false })) as { tier: string }).tier).toBe("notify");
    clock.advance(60_000);
    expect(await follower.agent.learning.tick()).toEqual({ refreshed: true });
    expect(follower.agent.learner?.current()?.version).toBe(1);
    expect(((await follower.agent.decideEvent(request("svc/batch", 3), { record: false })) as { tier: string }).tier).toBe("observe");
    clock.advance(10 * 3_600_000);
    expect((await follower.agent.learning.tick()).updated).toBeUndefined();
  });
});

describe("feedback events (dev.vigil.feedback)", () => {
  const feedbackEvent = (id: string, data: Record<string, unknown>): Event => ({ specversion: "1.0", id, source: "tickets", type: "dev.vigil.feedback", data });

  it("go through the learn checks: unknown decision, unknown label, a token holder without the approver role are refused and nothing is stored", async () => {
    const { agent, problems } = await open();
    await agent.tokens.create({ name: "vic", roles: ["viewer"] }, "test");
    await agent.tokens.create({ name: "ann", roles: ["approver"] }, "test");
    const decision = (await agent.decideEvent(request("svc/batch", 2))) as Decision;
    await agent.start();
    await agent.ingest([
      feedbackEvent("f-1", { decisionId: "no-such-decision", label: "false_positive", by: "ann" }),
      feedbackEvent("f-2", { decisionId: decision.id, label: "wrong", by: "ann" }),
      feedbackEvent("f-3", { decisionId: decision.id, label: "false_positive", by: "vic" }),
    ]);
    await agent.ingestor.idle();
    expect(problems.join("\n")).toMatch(/feedback event f-1 not recorded: data\.decisionId no-such-decision is not in the decision record/);
    expect(problems.join("\n")).toMatch(/feedback event f-2 not recorded: data\.label must be one of/);
    expect(problems.join("\n")).toMatch(/feedback event f-3 not recorded: .*needs the approver or admin role; vic has viewer/);
    expect(await agent.storage.listDocs(FEEDBACK_COLLECTION)).toEqual([]);
  });

  it("are recorded with who gave them, once per event (an approver's token name, or a person the sending system names)", async () => {
    const { agent } = await open();
    await agent.tokens.create({ name: "ann", roles: ["approver"] }, "test");
    const decision = (await agent.decideEvent(request("svc/batch", 2))) as Decision;
    const first = await agent.feedback.recordEvent(feedbackEvent("f-4", { decisionId: decision.id, label: "false_positive", by: "ann", reason: "batch" }));
    expect(first).toMatchObject({ id: "event:tickets:f-4", by: "ann", via: "event", label: "false_positive", reason: "batch" });
    expect(await agent.feedback.recordEvent(feedbackEvent("f-4", { decisionId: decision.id, label: "false_positive", by: "ann" }))).toEqual(first);
    await agent.feedback.recordEvent(feedbackEvent("f-5", { decisionId: decision.id, label: "true_positive", by: "oncall-lead" }));
    const stored = (await agent.storage.listDocs<{ by: string }>(FEEDBACK_COLLECTION)).map((d) => d.value.by).sort();
    expect(stored).toEqual(["ann", "oncall-lead"]);
    expect((await agent.storage.listAudit({ limit: 10 })).filter((a) => a.action === "feedback.record")).toHaveLength(2);
  });
});
