import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import { createContextStage, type ContextStage } from "../context/index.js";
import type { Event } from "../core/event.js";
import type { Storage } from "../core/ports.js";
import { createDecider } from "../decide/index.js";
import { openStorage } from "./adapters.js";
import { createManualClock } from "./clock.js";
import { decisionIdFor } from "./decision-id.js";
import { createFeedbackService } from "./feedback.js";
import { createPipeline } from "./pipeline.js";
import { createPolicyCatalog, loadPolicySet } from "./policies.js";

const clock = createManualClock("2025-03-03T10:00:00Z");
const event = (id: string): Event => ({ specversion: "1.0", id, source: "/t", type: "com.example.unknown", subject: "widget", data: { n: 1 } });

let storage: Storage;
beforeEach(async () => {
  storage = await openStorage(parseConfig({ store: { path: ":memory:" } }));
});
afterEach(async () => {
  await storage.close();
});

async function pipelineWith(context: ContextStage, problems: string[]) {
  const { policySet, load, env } = loadPolicySet([]);
  const catalog = createPolicyCatalog({ policySet, env, loadErrors: load.errors, storage, clock });
  await catalog.refresh();
  return createPipeline({
    storage, context, catalog, decider: createDecider({ env }), clock,
    feedback: createFeedbackService(storage, clock),
    contextFlushEvents: 2,
    onProblem: (message) => problems.push(message),
  });
}

describe("pipeline", () => {
  it("a batch whose decisions are durable resolves even when writing learned baselines then fails", async () => {
    const real = createContextStage({ storage, clock, settings: parseConfig({}).context as never });
    let flushes = 0;
    const context: ContextStage = { ...real, flush: async () => { flushes++; throw new Error("baselines write failed"); } };
    const problems: string[] = [];
    const pipeline = await pipelineWith(context, problems);
    await storage.appendEvents([event("e-1"), event("e-2")], clock.now().toISOString());
    const pending = await storage.pendingEvents(10);
    const decisions = await pipeline.processBatch(pending);
    expect(decisions.map((d) => d.id)).toEqual([decisionIdFor(event("e-1")), decisionIdFor(event("e-2"))]);
    expect(await storage.pendingEvents(10)).toEqual([]);
    expect(flushes).toBe(1);
    expect(problems.some((message) => message.includes("baselines write failed"))).toBe(true);
  });

  it("a batch retried after its record failed is observed by the context stage once", async () => {
    const real = createContextStage({ storage, clock, settings: parseConfig({}).context as never });
    const observed: string[] = [];
    const context: ContextStage = { ...real, observe: (e, ctx, findings) => { observed.push(e.id); real.observe(e, ctx, findings); } };
    const problems: string[] = [];
    const pipeline = await pipelineWith(context, problems);
    await storage.appendEvents([event("r-1"), event("r-2")], clock.now().toISOString());
    const pending = await storage.pendingEvents(10);
    const append = storage.appendDecisions.bind(storage);
    let refusals = 1;
    storage.appendDecisions = async (drafts, appendOptions) => {
      if (refusals-- > 0) throw new Error("disk full");
      return append(drafts, appendOptions);
    };
    await expect(pipeline.processBatch(pending)).rejects.toThrow("disk full");
    expect(observed).toEqual(["r-1", "r-2"]);
    expect(await pipeline.processBatch(pending)).toHaveLength(2);
    expect(observed).toEqual(["r-1", "r-2"]);
    // Recorded events leave the set: the next batch is observed as any other.
    await storage.appendEvents([event("r-3")], clock.now().toISOString());
    await pipeline.processBatch(await storage.pendingEvents(10));
    expect(observed).toEqual(["r-1", "r-2", "r-3"]);
  });
});
