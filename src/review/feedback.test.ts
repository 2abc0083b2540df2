import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { Feedback } from "../core/feedback.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { FEEDBACK_COLLECTION } from "./context.js";
import { feedbackCursor } from "./feedback.js";
import { bucketPolicy, createLoop, type Loop } from "./test-support.js";

describe("feedback list", () => {
  let loop: Loop;
  afterEach(async () => { await loop.dispose(); });

  /** Twelve records as storeFeedback writes them (fb-<uuid> ids); in id order they were given a minute apart, so the first ids are the oldest. */
  async function given(): Promise<string[]> {
    loop = await createLoop(createSqliteStorage, [bucketPolicy("lock", { tier: "approve" })]);
    const ids = Array.from({ length: 12 }, () => `fb-${randomUUID()}`).sort();
    const records: Feedback[] = ids.map((id, i) => ({
      id, decisionId: `d-${i}`, label: i % 3 === 0 ? "true_positive" : "false_positive", by: "ann", via: "api",
      at: new Date(Date.parse("2025-03-03T10:00:00.000Z") + i * 60_000).toISOString(),
    }));
    await loop.storage.putDocs(records.map((f) => ({ collection: FEEDBACK_COLLECTION, id: f.id, value: f, expectVersion: 0 })), "2025-03-03T11:00:00.000Z");
    return [...ids].reverse();
  }

  it("gives the newest feedback first, also when there is more than the limit", async () => {
    const newestFirst = await given();
    expect((await loop.review.feedback.list({ limit: 5 })).map((f) => f.id)).toEqual(newestFirst.slice(0, 5));
    expect((await loop.review.feedback.list()).map((f) => f.id)).toEqual(newestFirst);
  });

  it("pages on from the cursor of the last record seen, none skipped or repeated", async () => {
    const newestFirst = await given();
    const seen: string[] = [];
    for (let page = await loop.review.feedback.list({ limit: 5 }); page.length > 0; page = await loop.review.feedback.list({ limit: 5, after: feedbackCursor(page.at(-1)!) })) seen.push(...page.map((f) => f.id));
    expect(seen).toEqual(newestFirst);
    const falsePositives = await loop.review.feedback.list({ label: "false_positive", limit: 3 });
    expect(falsePositives.map((f) => f.label)).toEqual(["false_positive", "false_positive", "false_positive"]);
    expect(falsePositives.map((f) => f.id)).toEqual(newestFirst.filter((_, i) => (11 - i) % 3 !== 0).slice(0, 3));
  });

  it("refuses a cursor it did not give, naming the field", async () => {
    const newestFirst = await given();
    await expect(loop.review.feedback.list({ after: newestFirst[0]! })).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "cursor" }, message: expect.stringMatching(/nextCursor of the previous page/) });
  });
});
