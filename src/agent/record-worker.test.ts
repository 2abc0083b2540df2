import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStorage, verifyRecord } from "../agent.js";
import { parseConfig } from "../config.js";
import type { DecisionDraft } from "../core/decision.js";
import { createBulkDecisionRecorder, createWorkerDecisionRecorder, workerCanRecord, type WorkerDecisionRecorder } from "./record-worker.js";

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

  it("append resolves with the position in the chain only (the webhooks do not read the decision back)", async () => {
    const position = await (recorder as WorkerDecisionRecorder).append(draft("pos-1"));
    expect(Object.keys(position).sort()).toEqual(["hash", "prevHash", "seq"]);
    expect(position.seq).toBe(22);
    expect(position.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("rejects a duplicate decision id with the store's error code", async () => {
    await expect((recorder as WorkerDecisionRecorder).record(draft("d0"))).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
  });

  it("is not used for an in-memory SQLite store (a second connection would be another database)", () => {
    expect(workerCanRecord({ store: { ...config.store, path: ":memory:" }, decisionLog: config.decisionLog })).toBe(false);
    expect(workerCanRecord({ store: config.store, decisionLog: config.decisionLog })).toBe(true);
  });
});

describe("createBulkDecisionRecorder", () => {
  const bulkConfig = parseConfig({ store: { path: join(mkdtempSync(join(tmpdir(), "vigil-bulk-")), "vigil.db") }, decisionLog: { mask: ["/input/request/object/data"] } });

  it("appends batches from a worker, in order, with backpressure, into one verifiable chain", async () => {
    const bulk = await createBulkDecisionRecorder(bulkConfig, { batchSize: 7, maxInFlight: 2, thread: "worker" });
    expect(bulk.mode).toBe("worker");
    for (let i = 0; i < 50; i++) await bulk.add(draft(`b${i}`));
    await bulk.close();
    const storage = await openStorage(bulkConfig);
    try {
      const verified = await verifyRecord(storage);
      expect(verified).toMatchObject({ ok: true, checked: 50 });
      // Order kept across batches: seq follows the order of add().
      expect((await storage.getDecision("b0"))?.seq).toBe(1);
      expect((await storage.getDecision("b49"))?.seq).toBe(50);
      expect(JSON.stringify((await storage.getDecision("b20"))?.input)).not.toContain("hunter2");
    } finally {
      await storage.close();
    }
  });

  it("reports a failed batch to the caller (a duplicate id) instead of losing it silently", async () => {
    const bulk = await createBulkDecisionRecorder(bulkConfig, { batchSize: 2, thread: "worker" });
    await bulk.add(draft("b3"));
    await bulk.add(draft("new-1")).catch(() => undefined);
    await expect(bulk.flush()).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
    await bulk.close().catch(() => undefined);
  });

  it("reports a draft the record refuses (a time that is not one) from the batch it was in, naming the field; earlier batches stay", async () => {
    const file = parseConfig({ store: { path: join(mkdtempSync(join(tmpdir(), "vigil-bulk-bad-")), "vigil.db") } });
    const bulk = await createBulkDecisionRecorder(file, { batchSize: 2, thread: "worker" });
    await bulk.add(draft("ok-1"));
    await bulk.add(draft("ok-2"));
    await bulk.add({ ...draft("bad"), time: "noon" });
    await bulk.add(draft("ok-3")).catch(() => undefined);
    await expect(bulk.flush()).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", message: expect.stringContaining("drafts[0].time") });
    await bulk.close().catch(() => undefined);
    const storage = await openStorage(file);
    try {
      expect(await verifyRecord(storage)).toMatchObject({ ok: true, checked: 2 });
      expect(await storage.getDecision("bad")).toBeUndefined();
    } finally {
      await storage.close();
    }
  });

  it("appends on the calling thread when asked (thread: caller), into the same verifiable chain", async () => {
    const file = parseConfig({ store: { path: join(mkdtempSync(join(tmpdir(), "vigil-bulk-caller-")), "vigil.db") } });
    const bulk = await createBulkDecisionRecorder(file, { batchSize: 4, thread: "caller" });
    expect(bulk.mode).toBe("thread");
    for (let i = 0; i < 10; i++) await bulk.add(draft(`c${i}`));
    await bulk.close();
    const storage = await openStorage(file);
    try {
      expect(await verifyRecord(storage)).toMatchObject({ ok: true, checked: 10 });
    } finally {
      await storage.close();
    }
  });

  it("appends on the calling thread where a worker cannot open the store (in-memory SQLite)", async () => {
    const memory = parseConfig({ store: { path: ":memory:" } });
    const bulk = await createBulkDecisionRecorder(memory, { batchSize: 3, thread: "worker" });
    expect(bulk.mode).toBe("thread");
    for (let i = 0; i < 10; i++) await bulk.add(draft(`m${i}`));
    await expect(bulk.flush()).resolves.toBeUndefined();
    await bulk.close();
  });
});

describe("createBulkDecisionRecorder: the worker records what the calling thread would", () => {
  it("writes the same chain, byte for byte, from drafts JSON text cannot carry as they are (-0, NaN, undefined, Date, bigint, __proto__, lone surrogates)", async () => {
    const odd = (id: string): DecisionDraft => {
      const input: Record<string, unknown> = { zero: -0, nan: Number.NaN, list: [undefined, 1, Infinity], at: new Date("2024-05-01T12:00:00.000Z"), text: "a\ud800b", skipped: undefined };
      Object.defineProperty(input, "__proto__", { value: { own: true }, enumerable: true, configurable: true, writable: true });
      return { ...draft(id), input };
    };
    const withBigint = (id: string): DecisionDraft => ({ ...draft(id), input: { big: 2n ** 70n, small: 7n } });
    const heads: string[] = [];
    const bodies: string[][] = [];
    for (const thread of ["caller", "worker"] as const) {
      const own = parseConfig({ store: { path: join(mkdtempSync(join(tmpdir(), `vigil-bulk-same-${thread}-`)), "vigil.db") }, decisionLog: { mask: ["/input/request/object/data"] } });
      const bulk = await createBulkDecisionRecorder(own, { batchSize: 3, thread });
      expect(bulk.mode).toBe(thread === "worker" ? "worker" : "thread");
      for (let i = 0; i < 4; i++) await bulk.add(draft(`plain-${i}`));
      for (let i = 0; i < 4; i++) await bulk.add(odd(`odd-${i}`));
      for (let i = 0; i < 3; i++) await bulk.add(withBigint(`big-${i}`));
      await bulk.close();
      const storage = await openStorage(own);
      try {
        const verified = await verifyRecord(storage);
        expect(verified).toMatchObject({ ok: true, checked: 11 });
        const listed = await storage.listDecisions({});
        // The decision time is part of the text: the drafts carry a fixed one.
        bodies.push(listed.map((d) => JSON.stringify({ id: d.id, input: d.input, prevHash: d.prevHash, hash: d.hash })));
        heads.push(listed.at(-1)?.hash ?? "");
        expect((await storage.getDecision("big-1"))?.input).toEqual({ big: "1180591620717411303424", small: 7 });
        expect(JSON.stringify((await storage.getDecision("plain-2"))?.input)).not.toContain("hunter2");
      } finally {
        await storage.close();
      }
    }
    expect(bodies[1]).toEqual(bodies[0]);
    expect(heads[1]).toBe(heads[0]);
  });
});

describe("createBulkDecisionRecorder: a failed batch", () => {
  for (const thread of ["caller", "worker"] as const) {
    it(`stops the appends: no later batch is written after it (${thread} thread)`, async () => {
      const own = parseConfig({ store: { path: join(mkdtempSync(join(tmpdir(), "vigil-bulk-fail-")), "vigil.db") } });
      const settings = { store: own.store, decisionLog: own.decisionLog };
      const seed = await openStorage(own);
      await seed.appendDecisions([draft("taken")]);
      await seed.close();
      const bulk = await createBulkDecisionRecorder(settings, { batchSize: 2, maxInFlight: 4, thread });
      expect(bulk.mode).toBe(thread === "worker" ? "worker" : "thread");
      // Batch 1 holds an id already recorded (VIGIL_CONFLICT); batch 2 would append cleanly.
      await bulk.add(draft("b1-a"));
      await bulk.add(draft("taken"));
      await bulk.add(draft("b2-a")).catch(() => undefined);
      await bulk.add(draft("b2-b")).catch(() => undefined);
      await expect(bulk.close()).rejects.toMatchObject({ code: "VIGIL_CONFLICT" });
      const storage = await openStorage(own);
      try {
        // The record holds what was written before the failure, and nothing after it.
        expect((await storage.listDecisions({})).map((d) => d.id)).toEqual(["taken"]);
      } finally {
        await storage.close();
      }
    });
  }
});
