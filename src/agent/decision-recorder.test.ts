import { describe, expect, it } from "vitest";
import type { Decision, DecisionDraft } from "../core/decision.js";
import { createDecisionRecorder } from "./decision-recorder.js";

function draft(id: string): DecisionDraft {
  return {
    id, eventId: id, eventType: "io.k8s.admission.review", time: "2024-05-01T12:00:00Z", verdict: "allow", tier: "observe",
    risk: { score: 0, factors: [] }, findings: [], actions: [], explanation: { summary: "", steps: [] }, policyRevisions: {}, enforced: true,
  };
}

/** An append that takes `ms` and remembers each batch, chaining like the decision record. */
function slowAppend(ms: number): { append: (drafts: readonly DecisionDraft[]) => Promise<Decision[]>; batches: string[][] } {
  const batches: string[][] = [];
  let seq = 0;
  return {
    batches,
    append: async (drafts) => {
      batches.push(drafts.map((d) => d.id));
      await new Promise((resolve) => setTimeout(resolve, ms));
      return drafts.map((d) => ({ ...d, seq: ++seq, prevHash: "", hash: `h${seq}` }));
    },
  };
}

describe("createDecisionRecorder", () => {
  it("appends concurrent drafts together and in call order, each caller getting its own decision", async () => {
    const { append, batches } = slowAppend(20);
    const recorder = createDecisionRecorder(append);
    const first = await Promise.all(["a", "b", "c"].map((id) => recorder.record(draft(id))));
    expect(first.map((d) => [d.id, d.seq])).toEqual([["a", 1], ["b", 2], ["c", 3]]);
    expect(batches).toEqual([["a", "b", "c"]]);
  });

  it("queues drafts that arrive during an append for the next one", async () => {
    const { append, batches } = slowAppend(30);
    const recorder = createDecisionRecorder(append);
    const early = recorder.record(draft("a"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const late = [recorder.record(draft("b")), recorder.record(draft("c"))];
    await Promise.all([early, ...late]);
    expect(batches).toEqual([["a"], ["b", "c"]]);
  });

  it("bounds a batch by maxBatch", async () => {
    const { append, batches } = slowAppend(1);
    const recorder = createDecisionRecorder(append, { maxBatch: 2 });
    await Promise.all(["a", "b", "c", "d", "e"].map((id) => recorder.record(draft(id))));
    expect(batches).toEqual([["a", "b"], ["c", "d"], ["e"]]);
  });

  it("rejects every draft of a failed append, and later drafts still go through", async () => {
    let fail = true;
    const recorder = createDecisionRecorder(async (drafts) => {
      if (fail) throw new Error("disk full");
      return drafts.map((d, i) => ({ ...d, seq: i + 1, prevHash: "", hash: "h" }));
    });
    const failed = await Promise.allSettled([recorder.record(draft("a")), recorder.record(draft("b"))]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    await expect(recorder.record(draft("c"))).resolves.toMatchObject({ id: "c" });
  });

  it("rejects a draft the record did not append (duplicate id) with VIGIL_CONFLICT", async () => {
    const recorder = createDecisionRecorder(async () => []);
    await expect(recorder.record(draft("a"))).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
    await recorder.idle();
  });
});
