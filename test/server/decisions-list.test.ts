import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketPolicy, publicRequest, startTestServer, type TestServer } from "./support.js";

let t: TestServer;

const seqs = (body: { decisions: { seq: number }[] }) => body.decisions.map((decision) => decision.seq);

beforeAll(async () => {
  t = await startTestServer({ files: { "p.yaml": bucketPolicy } });
  // 30 decisions of which only the oldest 5 are denies (tier block); the newest 25 are allows.
  for (let index = 0; index < 30; index++) {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: index < 5 ? publicRequest : { action: "other" } } });
    expect(response.json()).toMatchObject({ seq: index + 1, verdict: index < 5 ? "deny" : "allow" });
  }
});

afterAll(async () => {
  await t.close();
});

describe("GET /v1/decisions filtered by verdict or tier", () => {
  it("answers a full page of the newest denies and a beforeSeq cursor that reaches the older ones (the newest 3 decisions are allows)", async () => {
    const first = (await t.as("viewer", { method: "GET", url: "/v1/decisions?verdict=deny&limit=3" })).json();
    expect(seqs(first)).toEqual([5, 4, 3]);
    expect(first.decisions.every((decision: { verdict: string }) => decision.verdict === "deny")).toBe(true);
    expect(first.nextBeforeSeq).toBe(3);
    const second = (await t.as("viewer", { method: "GET", url: `/v1/decisions?verdict=deny&limit=3&beforeSeq=${first.nextBeforeSeq}` })).json();
    expect(seqs(second)).toEqual([2, 1]);
    expect(second.nextBeforeSeq).toBeUndefined();
  });

  it("filters by tier the same way, and pages forward with afterSeq in ascending order", async () => {
    const byTier = (await t.as("viewer", { method: "GET", url: "/v1/decisions?tier=block&limit=4" })).json();
    expect(seqs(byTier)).toEqual([5, 4, 3, 2]);
    const ascending = (await t.as("viewer", { method: "GET", url: "/v1/decisions?verdict=deny&order=asc&limit=3" })).json();
    expect(seqs(ascending)).toEqual([1, 2, 3]);
    expect(ascending.nextBeforeSeq).toBeUndefined();
    const next = (await t.as("viewer", { method: "GET", url: `/v1/decisions?verdict=deny&order=asc&limit=3&afterSeq=${ascending.nextAfterSeq}` })).json();
    expect(seqs(next)).toEqual([4, 5]);
    expect(next.nextAfterSeq).toBeUndefined();
    const allows = (await t.as("viewer", { method: "GET", url: "/v1/decisions?verdict=allow&tier=observe&limit=2&beforeSeq=10" })).json();
    expect(seqs(allows)).toEqual([9, 8]);
  });

  it("refuses a beforeSeq that is not a whole number, naming it", async () => {
    const response = await t.as("viewer", { method: "GET", url: "/v1/decisions?beforeSeq=1.5" });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "beforeSeq" });
  });
});
