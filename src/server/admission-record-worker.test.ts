import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStorage, verifyRecord } from "../agent.js";
import { parseConfig } from "../config.js";
import type { DecisionDraft } from "../core/decision.js";
import { createWorkerDecisionRecorder, workerCanRecord, type WorkerDecisionRecorder } from "./admission-record-worker.js";

function draft(id: string): DecisionDraft {
  return {
    id, eventId: `event-${id}`, eventType: "io.k8s.admission.review", time: "2024-05-01T12:00:00Z", verdict: "deny", tier: "block",
    risk: { score: 0.5, factors: [] }, findings: [], actions: [], explanation: { summary: `decision ${id}`, steps: [{ kind: "note", text: "n" }] },
    policyRevisions: { p: "r1" }, enforced: true, input: { request: { uid: id, object: { data: { password: "hunter2" } } } },
  };
}

const config = parseConfig({ store: { path: join(mkdtempSync(join(tmpdir(), "vigil-record-worker-")), "vigil.db") }, decisionLog: { mask: ["/input/request/object/data"] } });
let recorder: WorkerDecisionRecorder | undefined;
afterAll(async () => { await recorder?.close(); });

describe("createWorkerDecisionRecorder", () => {
  it("appends from a worker thread into the same hash chain, in call order, with the configured masking", async () => {
    recorder = await createWorkerDecisionRecorder({ store: config.store, decisionLog: config.decisionLog });
    const ids = Array.from({ length: 20 }, (_unused, i) => `d${i}`);
    const decisions = await Promise.all(ids.map((id) => (recorder as WorkerDecisionRecorder).record(draft(id))));
    expect(decisions.map((d) => d.seq)).toEqual(ids.map((_id, i) => i + 1));
    expect(decisions.every((d) => /^[0-9a-f]{64}$/.test(d.hash))).toBe(true);
    // Another writer (the agent's own connection) extends the same chain.
    const storage = await openStorage(config);
    try {
      const [mine] = await storage.appendDecisions([draft("agent-1")]);
      expect(mine?.seq).toBe(21);
      expect(mine?.prevHash).toBe(decisions[19]?.hash);
      const stored = await storage.getDecision("d3");
      expect(stored?.explanation.summary).toBe("decision d3");
      expect(JSON.stringify(stored?.input)).not.toContain("hunter2");
      expect((await verifyRecord(storage)).ok).toBe(true);
    } finally {
      await storage.close();
    }
  });

  it("rejects a duplicate decision id with the store's error code", async () => {
    await expect((recorder as WorkerDecisionRecorder).record(draft("d0"))).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
  });

  it("is not used for an in-memory SQLite store (a second connection would be another database)", () => {
    expect(workerCanRecord({ store: { ...config.store, path: ":memory:" }, decisionLog: config.decisionLog })).toBe(false);
    expect(workerCanRecord({ store: config.store, decisionLog: config.decisionLog })).toBe(true);
  });
});
