import { afterEach, describe, expect, it } from "vitest";
import type { Feedback } from "../../src/core/feedback.js";
import { FEEDBACK_COLLECTION } from "../../src/review/context.js";
import { startTestServer, type TestServer } from "./support.js";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("GET /v1/feedback", () => {
  it("lists newest first and pages with nextCursor / cursor, skipping nothing; a cursor it did not give is a 400 naming cursor", async () => {
    t = await startTestServer({ files: {} });
    // Random fb-<uuid> ids, as the service makes them: their order is no order of time.
    const ids = ["fb-c", "fb-a", "fb-g", "fb-e", "fb-b", "fb-f", "fb-d"];
    const records: Feedback[] = ids.map((id, i) => ({ id, decisionId: `d-${i}`, label: "false_positive", by: "ann", at: new Date(Date.UTC(2026, 0, 1, 10, i)).toISOString(), via: "api" }));
    await t.agent.storage.putDocs(records.map((value) => ({ collection: FEEDBACK_COLLECTION, id: value.id, value })), "2026-01-01T12:00:00Z");
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const response = await t.as("viewer", { method: "GET", url: `/v1/feedback?limit=3${cursor === undefined ? "" : `&cursor=${cursor}`}` });
      expect(response.statusCode).toBe(200);
      const body = response.json() as { feedback: Feedback[]; nextCursor?: string };
      seen.push(...body.feedback.map((f) => f.id));
      cursor = body.nextCursor;
      if (cursor === undefined) break;
    }
    expect(seen).toEqual([...records].reverse().map((f) => f.id));
    const bad = await t.as("viewer", { method: "GET", url: "/v1/feedback?cursor=fb-a" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ field: "cursor" });
  });
});
