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

  it("reads the context of a batch of first-seen principals in a few storage reads, not one or two per event, and learns the same", async () => {
    const trail = (user: number, minute: number): Event => ({
      specversion: "1.0", id: `ct-${user}-${minute}`, source: "aws.s3", type: "com.amazonaws.cloudtrail", time: new Date(Date.parse("2025-03-03T09:00:00Z") + minute * 60_000).toISOString(),
      data: { eventVersion: "1.08", eventTime: new Date(Date.parse("2025-03-03T09:00:00Z") + minute * 60_000).toISOString(), eventSource: "s3.amazonaws.com", eventName: "GetObject", awsRegion: "eu-west-1", sourceIPAddress: `10.0.0.${user}`, userAgent: "aws-cli/2", userIdentity: { type: "AssumedRole", arn: `arn:aws:sts::123456789012:assumed-role/dev/user-${user}`, accountId: "123456789012" }, recipientAccountId: "123456789012" },
    });
    // Two of the 40 principals twice, so a batch also sees what an earlier event of it learned.
    const batch = [...Array.from({ length: 40 }, (_unused, user) => trail(user, user)), trail(3, 50), trail(7, 51)];
    const learned: unknown[] = [];
    const reads: number[] = [];
    for (const prefetching of [false, true]) {
      const own = await openStorage(parseConfig({ store: { path: ":memory:" } }));
      const getDocs = own.getDocs.bind(own);
      let count = 0;
      own.getDocs = (collection, ids) => {
        count++;
        return getDocs(collection, ids);
      };
      const real = createContextStage({ storage: own, clock, settings: parseConfig({}).context as never });
      const context: ContextStage = prefetching ? real : { ...real, prefetch: async () => undefined };
      const saved = storage;
      storage = own;
      try {
        const pipeline = await pipelineWith(context, []);
        await own.appendEvents(batch, clock.now().toISOString());
        count = 0;
        expect(await pipeline.processBatch(await own.pendingEvents(100))).toHaveLength(batch.length);
        reads.push(count);
        await pipeline.flushContext();
        learned.push(await own.listDocs("context.baselines", { limit: 1_000 }));
      } finally {
        storage = saved;
        await own.close();
      }
    }
    // Without prefetching: a read of records and one of baselines per first-seen principal.
    expect(reads[0]).toBeGreaterThanOrEqual(80);
    // With it: the first event's two reads, then one per collection for the rest of the batch.
    expect(reads[1]).toBeLessThanOrEqual(4);
    expect(learned[1]).toEqual(learned[0]);
  });
});

