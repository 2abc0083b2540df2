import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REVIEWS_COLLECTION } from "../../review/context.js";
import type { ReviewRecord } from "../../review/index.js";
import { startTestServer, type TestServer } from "../../../test/server/support.js";

let t: TestServer;

/** A review as approvals.enqueue stores it: readable `RV-<n>` ids from a counter, n-th opened n minutes in. */
function review(n: number, status: ReviewRecord["status"]): ReviewRecord {
  const createdAt = new Date(Date.parse("2025-03-03T10:00:00.000Z") + n * 60_000).toISOString();
  return {
    id: `RV-${n}`, decisionId: `d-${n}`, policy: "no-public-bucket", actionIds: [`act-${n}`], status, createdAt, level: status === "escalated" ? 1 : 0,
    summary: `bucket b-${n} made public`, explanation: { summary: `bucket b-${n} made public`, steps: [] }, verdict: "deny", tier: "approve", severity: "high",
    escalation: [], safeDefault: "block", notifications: [],
  };
}

beforeAll(async () => {
  t = await startTestServer();
  // Twelve open reviews: RV-10..RV-12 sort before RV-2 by id, but were opened last.
  const reviews = Array.from({ length: 12 }, (_, i) => review(i + 1, i % 4 === 3 ? "escalated" : "pending"));
  await t.agent.storage.putDocs(reviews.map((r) => ({ collection: REVIEWS_COLLECTION, id: r.id, value: r })), "2025-03-03T10:30:00.000Z");
});

afterAll(async () => {
  await t.close();
});

async function pages(url: string): Promise<string[][]> {
  const out: string[][] = [];
  let cursor: string | undefined;
  do {
    const answer = await t.as("viewer", { method: "GET", url: `${url}${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}` });
    expect(answer.statusCode).toBe(200);
    out.push(answer.json().reviews.map((r: ReviewRecord) => r.id));
    cursor = answer.json().nextCursor;
  } while (cursor !== undefined && out.length < 20);
  return out;
}

describe("GET /v1/reviews (the approvals queue)", () => {
  it("shows the oldest pending reviews first, also when more are pending than the limit", async () => {
    const answer = await t.as("viewer", { method: "GET", url: "/v1/reviews?status=pending&limit=5" });
    expect(answer.statusCode).toBe(200);
    expect(answer.json().reviews.map((r: ReviewRecord) => r.id)).toEqual(["RV-1", "RV-2", "RV-3", "RV-5", "RV-6"]);
  });

  it("pages through every review with nextCursor, none skipped or repeated, none after the last page", async () => {
    expect(await pages("/v1/reviews?status=pending&limit=4")).toEqual([["RV-1", "RV-2", "RV-3", "RV-5"], ["RV-6", "RV-7", "RV-9", "RV-10"], ["RV-11"]]);
    expect(await pages("/v1/reviews?status=open&limit=5")).toEqual([["RV-1", "RV-2", "RV-3", "RV-4", "RV-5"], ["RV-6", "RV-7", "RV-8", "RV-9", "RV-10"], ["RV-11", "RV-12"]]);
    expect(await pages("/v1/reviews?limit=12")).toEqual([Array.from({ length: 12 }, (_, i) => `RV-${i + 1}`)]);
  });

  it("refuses a cursor it did not give, naming the parameter", async () => {
    const answer = await t.as("viewer", { method: "GET", url: "/v1/reviews?cursor=RV-3" });
    expect(answer.statusCode).toBe(400);
    expect(answer.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "cursor" });
    expect(answer.json().error.message).toMatch(/nextCursor of the previous page/);
  });
});
